"""Reading a source into a raw frame: one column per source column, the frame's index the row
number a user sees in the source, values as stored (text from CSV; numbers, dates and text from
a workbook or a database).

Every reader refuses what it cannot read faithfully, with one message naming the file, the
column and the row: an empty file, a header only where data is required, two columns of the same
name, bytes that do not decode in the declared encoding. A CSV row whose number of fields differs
from the header (a file cut mid-line, an unquoted delimiter inside a value) is a *malformed row*:
it is returned apart, with its line number, so ingest can quarantine it (``malformed_row``) or
stop (``on_bad_value: error``); it is never padded or shifted into the other columns.

CSV row numbers are line numbers (the header is line 1), correct also with blank lines and with
line breaks inside quoted values. CSV files are parsed by Apache Arrow's reader; a file whose
layout the fast path cannot vouch for (a stray quote inside an unquoted value) is re-read with the
standard library's ``csv`` module.

The modules, from the bottom (each imports only those above it):

- :mod:`~arinsight.ingest.readers.base`: :class:`RawTable`, the header checks, headers repeated
  inside a file;
- :mod:`~arinsight.ingest.readers.delimited`: CSV files;
- :mod:`~arinsight.ingest.readers.excel`: Excel workbooks;
- :mod:`~arinsight.ingest.readers.sql`: SQLite and other databases, read-only;
- :mod:`~arinsight.ingest.readers.ubl`: UBL 2.1 / PEPPOL invoice XML;
- :mod:`~arinsight.ingest.readers.raw`: :func:`read_raw`, any source, each file hashed once.

Every public name below is importable from ``arinsight.ingest.readers``.
"""

from __future__ import annotations

from arinsight.ingest.readers.base import RawTable, display_path, split_repeated_headers
from arinsight.ingest.readers.delimited import guess_header_row, read_csv
from arinsight.ingest.readers.excel import read_excel
from arinsight.ingest.readers.raw import one_pass, read_raw
from arinsight.ingest.readers.sql import mask_url, read_only_engine, read_sql
from arinsight.ingest.readers.ubl import UBL_DEFAULT_COLUMNS, UBL_FIELDS, UBL_NS, read_ubl

__all__ = [
    "RawTable",
    "UBL_DEFAULT_COLUMNS",
    "UBL_FIELDS",
    "UBL_NS",
    "display_path",
    "guess_header_row",
    "mask_url",
    "one_pass",
    "read_csv",
    "read_excel",
    "read_only_engine",
    "read_raw",
    "read_sql",
    "read_ubl",
    "split_repeated_headers",
]
