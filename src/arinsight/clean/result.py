"""What a clean run returns: the clean tables, the quarantine and the counts, and the
conservation check every run passes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from arinsight.errors import ConservationError
from arinsight.schemas import (
    REASONS,
)


@dataclass
class CleanResult:
    """Clean tables, the quarantine, exact duplicates dropped and the counts of the run."""

    tables: Mapping[str, pd.DataFrame]
    quarantine: pd.DataFrame
    summary: dict[str, Any]

    def summary_table(self) -> pd.DataFrame:
        """Counts by table and rule (quarantined, dropped or flagged rows), for the notebook."""
        rows = [
            {
                "table": table,
                "reason": reason,
                "action": REASONS[reason]["action"],
                "rows": n,
                "meaning": REASONS[reason]["text"],
            }
            for table, counts in self.summary["reasons"].items()
            for reason, n in counts.items()
        ]
        return pd.DataFrame(rows, columns=["table", "reason", "action", "rows", "meaning"])

    def conservation_table(self) -> pd.DataFrame:
        """Rows read, kept, quarantined and dropped per table, with the balance check."""
        df = pd.DataFrame.from_dict(self.summary["tables"], orient="index")
        df.index.name = "table"
        df["balanced"] = df["read"] == df["kept"] + df["quarantined"] + df["duplicates_dropped"]
        df["balanced"] = df["balanced"].map({True: "yes", False: "NO"})
        return df.reset_index().rename(
            columns={"read": "rows read", "duplicates_dropped": "duplicates dropped"}
        )


def check_conservation(result: CleanResult) -> None:
    """Assert rows read = kept + quarantined + duplicates dropped for every table."""
    for table, c in result.summary["tables"].items():
        if c["read"] != c["kept"] + c["quarantined"] + c["duplicates_dropped"]:
            raise ConservationError(
                f"{table}: {c['read']} rows read but {c['kept']} kept + {c['quarantined']} "
                f"quarantined + {c['duplicates_dropped']} duplicates dropped"
            )
    result.summary["conservation_ok"] = True
