"""Reading and sniffing: a file's encoding, delimiter and header row, and the tables of each
input (a CSV file, the sheets of a workbook, the tables of a database) read with ingest's
readers; a rates file among the inputs is recognised apart."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import ConfigError, UserError

_DELIMITERS = (",", ";", "\t", "|")


#: How much of a file is looked at to find its delimiter and header.
_HEAD_BYTES = 256 * 1024


SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


@dataclass
class Layout:
    """How a CSV file is written: what its source options will say, and how sure we are."""

    encoding: str = "utf-8"
    delimiter: str = ","
    header_row: int = 1
    notes: dict[str, str] = field(default_factory=dict)


def detect_encoding(data: bytes) -> tuple[str, str | None]:
    """(encoding, unsure note). UTF-8 (a BOM too) when the bytes decode as UTF-8. Otherwise a
    Western European single-byte encoding when it reads every byte as a letter or a usual
    symbol: ``latin-1`` when no byte lies in 0x80-0x9F (there latin-1 has only control
    characters), else ``cp1252``. Otherwise ``charset_normalizer``'s guess, marked unsure (it
    guesses small Western files as cp1250 or cp775, hence the Western check first)."""
    try:
        data.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError:
        pass
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte order mark
        try:
            data.decode("utf-16")
            return "utf-16", None
        except UnicodeDecodeError:
            pass
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _western(western):
        return ("cp1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"), None
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 * _HEAD_BYTES]).best()
    if best is None:
        raise UserError("the bytes are not text in any encoding charset_normalizer knows")
    guess = best.encoding
    return guess, (
        f"unsure: the bytes are neither UTF-8 nor Western European; {guess} is "
        "charset_normalizer's guess (check accented names in the report)"
    )


def _western(text: str) -> bool:
    """Whether a decoded text reads as Western European (letters with accents, no stray
    symbols)."""
    # the no-break space (0xA0) is the thousands separator of French numbers (1 234,56)
    usual = "€–—‘’“”•…°²³½¼¾\xa0«»§£¥©®±×÷¿¡ºª"
    odd = sum(1 for c in text if ord(c) > 127 and not c.isalpha() and c not in usual)
    return odd == 0


def detect_layout(data: bytes, encoding: str) -> Layout:
    """Delimiter and header line of a CSV file's first lines (see the module docstring)."""
    text = data[:_HEAD_BYTES].decode(encoding, errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines()[:200]]
    if len(data) > _HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best: tuple[float, int, str] | None = None
    for delim in _DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines if ln.strip()]
        if not counts:
            continue
        values, freq = np.unique(counts, return_counts=True)
        mode = int(values[freq.argmax()])
        if mode < 2:
            continue
        share = float(freq.max()) / len(counts)
        key = (share, mode, delim)
        if best is None or (share, mode) > (best[0], best[1]):
            best = key
    layout = Layout(encoding=encoding)
    if best is None:
        layout.notes["delimiter"] = "unsure: no delimiter splits the lines into columns"
        return layout
    _, mode, delim = best
    layout.delimiter = delim
    for i, ln in enumerate(text.splitlines()[:200]):
        if not ln.strip():
            continue
        fields = next(csv.reader([ln], delimiter=delim))
        if len(fields) == mode and sum(1 for f in fields if f.strip()) >= max(2, 0.8 * mode):
            layout.header_row = i + 1
            break
    if layout.header_row > 1:
        layout.notes["header_row"] = f"the lines above line {layout.header_row} are a title block"
    return layout


def excel_header_row(rows: Sequence[Sequence[Any]]) -> int:
    """The 1-based sheet row of the header: the first row with as many filled cells as the rows
    below it usually have (a title block above it is skipped)."""
    filled = [sum(1 for c in r if c is not None and str(c).strip() != "") for r in rows[:200]]
    nonzero = [f for f in filled if f]
    if not nonzero:
        return 1
    values, freq = np.unique(nonzero, return_counts=True)
    width = int(values[freq.argmax()])
    for i, f in enumerate(filled):
        if f >= max(2, 0.8 * width) and all(
            isinstance(c, str) or c is None or str(c).strip() == "" for c in rows[i]
        ):
            return i + 1
    return 1


@dataclass
class Input:
    """One table read from an input (a CSV file, a sheet, a database table)."""

    label: str
    stem: str  # name that hints at the table (file stem, sheet, table)
    options: dict[str, Any]
    notes: dict[str, str]
    frame: pd.DataFrame


def read_inputs(path_text: str, out_dir: Path, tables: Sequence[str]) -> list[Input]:
    """The tables of one input argument, read with ingest's readers and the layout found."""
    from arinsight.ingest import readers

    if "://" in path_text:
        return _read_database(path_text, path_text, out_dir, tables)
    path = Path(path_text).expanduser()
    if not path.exists():
        raise UserError(f"{path_text}: file not found")
    if path.is_dir():
        raise UserError(f"{path_text}: a folder; name the export files (e.g. {path_text}/*.csv)")
    rel = _relative(path, out_dir)
    suffix = path.suffix.lower()
    if suffix in SQLITE_SUFFIXES or path.read_bytes()[:16] == b"SQLite format 3\x00":
        return _read_database(
            f"sqlite:///{{here}}/{rel}" if not Path(rel).is_absolute() else f"sqlite:///{rel}",
            path_text,
            out_dir,
            tables,
            path,
        )
    if suffix in EXCEL_SUFFIXES:
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as exc:
            raise UserError(f"{path_text}: cannot open as an Excel workbook: {exc}") from exc
        out = []
        for index, sheet in enumerate(wb.sheet_names):
            rows = wb.get_sheet_by_index(index).to_python(skip_empty_area=False)
            if not any(any(str(c).strip() for c in r) for r in rows):
                continue
            header = excel_header_row(rows)
            options: dict[str, Any] = {"kind": "excel", "path": rel, "sheet": sheet}
            notes = {}
            if header > 1:
                options["header_row"] = header
                notes["header_row"] = f"rows above row {header} are a title block"
            frame = readers.read_excel(path, options)
            # the file's name and the sheet's both hint at the table (customers.xlsx[AR]: the
            # customer table, though "AR" alone would say invoices)
            stem = f"{path.stem} {sheet}"
            out.append(Input(f"{path.name}[{sheet}]", stem, options, notes, frame))
        if not out:
            raise UserError(f"{path_text}: every sheet is empty")
        if len(out) > 1:
            out[0].notes["sheet"] = "unsure: the workbook has other sheets: " + ", ".join(
                repr(i.options["sheet"]) for i in out[1:]
            )
        return out
    data = path.read_bytes()
    if not data.strip():
        raise UserError(f"{path_text}: file is empty")
    if b"\x00" in data[:_HEAD_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path_text}: not a text (CSV) file (it holds NUL bytes)")
    try:
        encoding, enc_note = detect_encoding(data)
    except UserError as exc:
        raise UserError(f"{path_text}: not a text (CSV) file: {exc}") from None
    layout = detect_layout(data, encoding)
    options = {"kind": "csv", "path": rel}
    notes = dict(layout.notes)
    if layout.delimiter != ",":
        options["delimiter"] = layout.delimiter
    if encoding != "utf-8":
        options["encoding"] = encoding
        if enc_note:
            notes["encoding"] = enc_note
    if layout.header_row > 1:
        options["header_row"] = layout.header_row
    frame, malformed = readers.read_csv(path, options)
    if malformed:
        notes["path"] = (
            f"unsure: {len(malformed)} line(s) do not have the header's number of fields, "
            f"e.g. line {malformed[0]['row']}"
        )
    return [Input(path.name, path.stem, options, notes, frame)]


def drop_non_data_rows(inp: Input) -> None:
    """Profile the data rows only: the header repeated inside the data (a page break; ingest
    quarantines it as ``repeated_header``) and rows with less than half the filled cells of a
    usual row (a ``----`` separator, a totals row, a ``12 rows`` footer) would make a date or
    amount column look like text. Separators and totals make ingest stop at them, so the
    proposal sets ``on_bad_value: quarantine`` (each quarantined with its line) and says why."""
    from arinsight.ingest.readers import split_repeated_headers

    frame, repeated = split_repeated_headers(inp.frame, inp.label)
    cols = [c for c in frame.columns if c != "__file"]
    if len(frame) >= 3 and len(cols) >= 4:
        filled = frame[cols].map(lambda v: v is not None and str(v).strip() not in ("", "nan"))
        count = filled.sum(axis=1)
        sparse = count < max(2, 0.5 * float(count.median()))
        if sparse.any():
            rows = frame.index[sparse].tolist()
            inp.options["on_bad_value"] = "quarantine"
            inp.notes["on_bad_value"] = (
                f"unsure: {len(rows)} row(s) hold much less than a data row (a separator, a "
                f"totals or footer line), e.g. row(s) {', '.join(map(str, rows[:3]))}: each is "
                "quarantined with its line; remove this line to stop at the first"
            )
            frame = frame[~sparse]
    if repeated:
        inp.notes.setdefault(
            "header_row",
            f"the header is repeated inside the data ({len(repeated)} time(s), e.g. row "
            f"{repeated[0]['row']}): those rows are quarantined as repeated_header",
        )
    inp.frame = frame


def _read_database(
    url: str, shown: str, out_dir: Path, tables: Sequence[str], path: Path | None = None
) -> list[Input]:
    """Every table of a database (or those named with ``--table``), read as ingest reads a
    ``table:`` (read-only)."""
    import sqlalchemy as sa

    from arinsight.ingest import readers

    real = url.replace("{here}", out_dir.as_posix())
    try:
        engine = readers.read_only_engine(real)
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names() + sa.inspect(conn).get_view_names()
        engine.dispose()
    except Exception as exc:
        raise UserError(f"{readers.mask_url(shown)}: cannot list its tables: {exc}") from exc
    if tables:
        missing = [t for t in tables if t not in names]
        if missing:
            raise UserError(
                f"{readers.mask_url(shown)}: no table {missing[0]!r}; tables: {', '.join(names)}"
            )
        names = list(tables)
    out = []
    masked = readers.mask_url(url)
    notes = {}
    if masked != url:  # a password given on the command line is not written into a file
        notes["url"] = (
            "the password is left out of this file (***): put it back, or use the database's "
            "own password file (PostgreSQL: ~/.pgpass)"
        )
    for name in names:
        options = {"kind": "sql", "url": masked, "table": name}
        frame, _ = readers.read_sql(real, {"table": name}, out_dir)
        label = f"{path.name if path else masked}[{name}]"
        out.append(Input(label, name, options, dict(notes), frame))
    if not out:
        raise UserError(f"{readers.mask_url(shown)}: the database has no tables")
    return out


def _relative(path: Path, out_dir: Path) -> str:
    """``path`` relative to the proposed file's folder when it is inside it, else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def rates_file(path_text: str, out_dir: Path) -> tuple[str, list[str]] | None:
    """(path relative to ``out_dir``, its currencies) when ``path_text`` is a rates file that
    ``fx_rates:`` reads (a CSV with the columns currency, date, rate: :func:`arinsight.fx.
    read_rates_file`), else None."""
    from arinsight import fx

    path = Path(path_text).expanduser()
    if "://" in path_text or path.suffix.lower() not in (".csv", ".txt") or not path.is_file():
        return None
    try:
        head = path.read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0].lower()
        if not all(c in re.split(r"[,;]", head.replace(" ", "")) for c in fx.RATE_COLUMNS):
            return None
        found = fx.read_rates_file(path)
    except (ConfigError, OSError, UnicodeError):
        return None
    return (_relative(path.resolve(), out_dir), sorted(found)) if found else None
