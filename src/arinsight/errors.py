"""Errors a user can act on: each names the file, the column and, where it applies, the row.

The bottom of the package: this module imports nothing of arinsight's, so every module can raise
these (:class:`ConfigError` is re-exported by :mod:`arinsight.config`, where it used to live).
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A parameter file is missing, unreadable or holds a value of the wrong kind."""


class UserError(Exception):
    """Base for errors printed to the user as one line (the CLI exits 2)."""


class SourceError(UserError):
    """A source file or database cannot be read as described in the sources file.

    The message always starts with the file (or database URL) and names the column and the
    1-based data row where that applies, e.g.
    ``invoices.csv: column 'invoice_date' (source 'Datum'), row 17: cannot parse '31.02.2024' as a date``.
    """

    def __init__(
        self, source: str, message: str, column: str | None = None, row: int | None = None
    ):
        self.source, self.column, self.row, self.message = source, column, row, message
        where = [str(source)]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(": ".join([", ".join(where), message]))


class ParamsError(UserError, ConfigError):
    """Parameters that do not fit a notebook or a command (unknown key, bad value)."""


class CleaningError(UserError):
    """A kept row breaks the clean tables' schema: a rule is missing (a bug, reported in one line
    naming the table, the column and the value instead of a schema dump)."""


class ConservationError(UserError):
    """Rows read != rows kept + rows quarantined + duplicates dropped."""


class ProcessedDataError(UserError, ValueError):
    """A processed folder that is not what clean wrote: a table changed since (its fingerprint in
    ``data_quality.json`` differs), a column missing, or a value clean never keeps (an amount
    <= 0, a repeated key, an empty required field). The message names the file, and the fix is to
    clean again."""
