"""How a rule moves rows to the quarantine: :class:`Rules` holds one table's rows read, the
rows kept so far and the quarantined copies with their reason, file and row."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from arinsight.schemas import (
    CANONICAL,
    KEYS,
    PARSE_ERRORS,
    PARSE_REASON,
    PROVENANCE,
)

QUARANTINE_COLUMNS = ["table", "source_file", "source_row", "key", "reason", "detail", "record"]


def _record_json(df: pd.DataFrame) -> pd.Series:
    """Each row's canonical values as a JSON object (text), for the quarantine file: missing
    values as null, dates as YYYY-MM-DD, keys sorted."""
    cols = [c for c in df.columns if not c.startswith("_")]
    values = []
    for c in cols:
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            col = col.dt.strftime("%Y-%m-%d")
        items = col.astype(object).tolist()  # Python values (numbers, text, booleans)
        for i in np.flatnonzero(df[c].isna().to_numpy()):
            items[i] = None
        values.append(items)
    rows = zip(*values, strict=True) if cols else [()] * len(df)
    return pd.Series(
        [
            json.dumps(dict(zip(cols, row, strict=True)), sort_keys=True, default=str)
            for row in rows
        ],
        index=df.index,
        dtype=str,
    )


class Rules:
    """Applies the rules to one table, moving rows to the quarantine as they fail.

    The rows read stay in ``frame`` (in the order read); ``alive`` marks the rows kept so far, so a
    rule looks at every row at once and only the few rows it quarantines are copied. ``df`` is the
    kept rows as a frame (built when asked for)."""

    def __init__(self, table: str, df: pd.DataFrame):
        self.table = table
        self.read = len(df)
        self.counts: dict[str, int] = {}
        self.amounts: dict[str, float] = {}  # money held back per reason (tables with amounts)
        self.quarantined: list[pd.DataFrame] = []
        self.dropped = 0
        #: positions of the kept rows in a parent table, when a rule computed them
        self.customer_at: np.ndarray | None = None
        self.invoice_at: np.ndarray | None = None
        #: invoice ids set aside as other_company_code (their payments and commissions follow)
        self.set_aside: pd.Series | None = None
        self.df = df

    @property
    def df(self) -> pd.DataFrame:
        """The rows kept so far, in the order read."""
        if self._kept is None:
            self._kept = self.frame.take(np.flatnonzero(self.alive)).reset_index(drop=True)
        return self._kept

    def release(self) -> None:
        """Let go of the rows (the counts and the quarantine stay)."""
        self.frame = self._kept = None  # type: ignore[assignment]

    def settle(self) -> pd.DataFrame:
        """The kept rows, once every rule has run, without what only the rules read (parse
        errors, source file and row): the rows read are let go (the quarantine already holds
        copies of those it needs), so a large table is not held twice."""
        done_with = [c for c in (PARSE_ERRORS, PARSE_REASON, *PROVENANCE) if c in self.frame]
        kept = self.frame.drop(columns=done_with)
        if not self.alive.all():
            kept = kept.take(np.flatnonzero(self.alive)).reset_index(drop=True)
        self.df = kept
        return kept

    @df.setter
    def df(self, value: pd.DataFrame) -> None:
        self.frame = value.reset_index(drop=True)
        self.alive = np.ones(len(self.frame), dtype=bool)
        self._kept: pd.DataFrame | None = self.frame

    def quarantine(
        self,
        reason: str,
        mask: pd.Series | np.ndarray,
        detail: str | Callable[[pd.DataFrame], pd.Series] = "",
    ) -> None:
        """Quarantine the kept rows where ``mask`` (one value per row of ``frame``) is true;
        ``detail`` is a text, or a function giving the text of each row of the quarantined
        frame."""
        mask = as_bools(mask) & self.alive
        n = int(mask.sum())
        if n == 0:
            return
        bad = self.frame[mask]
        detail = (
            pd.Series(detail(bad), index=bad.index)
            if callable(detail)
            else pd.Series(detail, index=bad.index)
        )
        self.quarantined.append(
            pd.DataFrame(
                {
                    "table": self.table,
                    "source_file": bad["_source_file"].astype(str),
                    "source_row": bad["_source_row"].astype("int64"),
                    "key": bad[KEYS[self.table]]
                    .astype(str)
                    .where(bad[KEYS[self.table]].notna(), ""),
                    "reason": reason,
                    "detail": detail.astype(str),
                    "record": _record_json(bad),
                }
            )
        )
        self.counts[reason] = self.counts.get(reason, 0) + n
        money = (
            "amount"
            if "amount" in bad
            else "commission_amount"
            if "commission_amount" in bad
            else None
        )
        if money:
            total = float(pd.to_numeric(bad[money], errors="coerce").fillna(0.0).sum())
            self.amounts[reason] = round(self.amounts.get(reason, 0.0) + total, 2)
        self.alive &= ~mask
        self._kept = None

    def duplicates(self) -> None:
        """duplicate_exact (dropped, the first copy kept) then duplicate_key_conflict (every
        version quarantined) among the kept rows.

        Rows that are exact copies share their key, so only rows whose key is repeated are
        compared on every column."""
        key = KEYS[self.table]
        cols = CANONICAL[self.table] + [c for c in self.frame.columns if c.startswith("_cents_")]
        codes = pd.factorize(self.frame[key])[0]  # one hash pass over the key, no copy of it
        kept = np.flatnonzero(self.alive)
        repeated = kept[_repeated(codes[kept])]
        dup = self.frame[cols].take(repeated).duplicated(keep="first").to_numpy()
        n = int(dup.sum())
        if n:
            self.counts["duplicate_exact"] = n
            self.dropped = n
            self.alive[repeated[dup]] = False
            self._kept = None
        # a key is still repeated only among the rows that repeated it before
        left = repeated[~dup]
        conflict = np.zeros(len(self.frame), dtype=bool)
        conflict[left[_repeated(codes[left])]] = True
        self.quarantine(
            "duplicate_key_conflict",
            conflict,
            f"{key} appears more than once with different content",
        )

    def flag(self, reason: str, n: int) -> None:
        if n:
            self.counts[reason] = self.counts.get(reason, 0) + int(n)

    def quarantine_frame(self) -> pd.DataFrame:
        if not self.quarantined:
            return pd.DataFrame({c: pd.Series(dtype=str) for c in QUARANTINE_COLUMNS}).astype(
                {"source_row": "int64"}
            )
        return pd.concat(self.quarantined, ignore_index=True)


def _repeated(codes: np.ndarray) -> np.ndarray:
    """``values.duplicated(keep=False)`` of the values with these :func:`pandas.factorize`
    codes (-1: missing; missing values equal each other), as a numpy array."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    counts = np.bincount(codes + 1)  # slot 0: missing values
    return counts[codes + 1] > 1


def as_bools(mask: pd.Series | np.ndarray) -> np.ndarray:
    """A rule's mask as a numpy boolean array (missing = False)."""
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        return mask
    return pd.Series(mask).fillna(False).astype(bool).to_numpy()
