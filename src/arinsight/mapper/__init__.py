"""``arinsight map FILE...``: a sources file proposed from raw exports.

A user with an ERP export they have never described does not have to write the mapping from a
blank page: ``map`` reads each file (CSV, Excel, a SQLite file or a database table) with the same
readers as ingest (:mod:`arinsight.ingest.readers`) and proposes

* the file's layout: encoding (UTF-8 when the bytes decode as UTF-8, otherwise the guess of
  ``charset_normalizer``), delimiter (the one that splits the most lines into the same number of
  fields), the header row (the first line or sheet row with that number of filled fields: a title
  block above it is skipped);
* the table each file provides (invoices, payments, customers), from its name and its columns;
* each column's canonical field, by its **name** (English, German, French, Spanish and SAP field
  names, :data:`~arinsight.mapper.names.CONCEPTS`; a near miss of a known name, by ``rapidfuzz``) checked against its
  **content** (a "date" column must hold dates, an amount numbers);
* the number convention (``decimal``/``thousands``) that reads the most values, and the date
  format(s) of every date column, per column when they differ (:func:`~arinsight.mapper.formats.date_formats_of`);
* status words (paid / unpaid, in the four languages), ids written as floats, ids whose leading
  zeros differ between rows or files (``normalize: {customer_id: {zeros: strip}}``);
* every column it could not place, listed with what it holds (never an error).

Every guess it is not sure of carries a YAML comment starting ``unsure:`` that says why, so the
user reviews those lines, then runs ``arinsight check``. Nothing is written but the proposed
file. The guesses are deliberately conservative: a column is only mapped when its name says what
it is (or, for a required field nothing else provides, when its content does, marked unsure).

The modules, in the order a proposal is made (each imports only those before it, and the last):

- :mod:`~arinsight.mapper.names`: naming by name: what a column's name means and which
  canonical field it fills in each table; status words; the table a file provides;
- :mod:`~arinsight.mapper.read`: reading and sniffing: encoding, delimiter, header row, the
  tables of each input, a rates file;
- :mod:`~arinsight.mapper.formats`: dates and decimals: date formats, Excel serial dates, the
  number convention;
- :mod:`~arinsight.mapper.content`: naming by content: what each column holds, and its name
  checked against it;
- :mod:`~arinsight.mapper.proposal`: :func:`propose`, one source per table and the passes over
  the whole proposal;
- :mod:`~arinsight.mapper.sources_file`: the YAML text with its ``unsure:`` comments, the summary,
  and the file written.
"""

from __future__ import annotations

from arinsight.mapper.content import Guess, Profile, profile_column
from arinsight.mapper.formats import date_formats_of, number_convention
from arinsight.mapper.names import CONCEPTS, concept_of, table_of, words
from arinsight.mapper.proposal import Proposal, SourceProposal, propose
from arinsight.mapper.read import Layout, detect_encoding, detect_layout
from arinsight.mapper.sources_file import render, summary, write

__all__ = [
    "CONCEPTS",
    "Guess",
    "Layout",
    "Profile",
    "Proposal",
    "SourceProposal",
    "concept_of",
    "date_formats_of",
    "detect_encoding",
    "detect_layout",
    "number_convention",
    "profile_column",
    "propose",
    "render",
    "summary",
    "table_of",
    "words",
    "write",
]
