"""Reading the published reports: ``reports/<period>/manifest.json`` and each region's folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arinsight import config
from arinsight.ledger import ALL_REGIONS, period_bounds


@dataclass
class RegionReport:
    """One published region of a period: its folder, kpis.json and provenance record."""

    name: str
    dir: str
    folder: Path
    kpis: dict[str, Any] | None
    record: dict[str, Any]

    def has(self, notebook: str) -> bool:
        return (self.folder / notebook).is_file()

    def page(self, notebook: str) -> dict[str, Any]:
        """The run's record of one page: status, published ("this run", "previous", "none"),
        error (empty for reports written before pages were recorded)."""
        return dict((self.record.get("pages") or {}).get(notebook) or {})

    def failed_note(self, notebook: str) -> str | None:
        """Why a page is missing or older than the rest of the region (None when it is not)."""
        page = self.page(notebook)
        if page.get("published") == "none":
            return f"not produced: {page.get('error') or 'the page failed'}"
        if page.get("published") == "previous":
            return f"the last run failed ({page.get('error')}); showing the previous version"
        return None

    def json(self, name: str) -> Any:
        """A JSON file of the region's folder (None when missing or unreadable)."""
        return _load_json(self.folder / name)

    def history(self) -> dict[str, dict[str, Any]]:
        """KPI -> {month: value} from every ``history_*.json`` the notebooks wrote here."""
        out: dict[str, dict[str, Any]] = {}
        for path in sorted(self.folder.glob("history_*.json")):
            data = _load_json(path)
            if isinstance(data, dict):
                for key, series in data.items():
                    if isinstance(series, dict):
                        out.setdefault(str(key), {}).update(series)
        return out


@dataclass
class PeriodReport:
    """A period folder under reports/ with its manifest and published regions."""

    label: str
    folder: Path
    manifest: dict[str, Any]
    regions: list[RegionReport] = field(default_factory=list)

    def region(self, name: str) -> RegionReport | None:
        return next((r for r in self.regions if r.name == name), None)

    @property
    def all(self) -> RegionReport | None:
        return self.region(ALL_REGIONS)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def collect_reports(reports_dir: str | os.PathLike[str] | None = None) -> list[PeriodReport]:
    """Every published period (a folder with a manifest.json), newest first."""
    root = Path(reports_dir) if reports_dir else config.REPORTS_DIR
    found: list[tuple[Any, PeriodReport]] = []
    if not root.is_dir():
        return []
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith((".", "_")):
            continue
        try:
            period = period_bounds(folder.name)
        except ValueError:
            continue
        manifest = _load_json(folder / "manifest.json")
        if not isinstance(manifest, dict):
            continue
        report = PeriodReport(folder.name, folder, manifest)
        records = manifest.get("reports") or {}
        for name in manifest.get("regions") or list(records):
            record = records.get(name) or {}
            rdir = record.get("dir") or name
            if record.get("published") == "none" or not (folder / rdir).is_dir():
                continue
            kpis = _load_json(folder / rdir / "kpis.json")
            report.regions.append(
                RegionReport(
                    name, rdir, folder / rdir, kpis if isinstance(kpis, dict) else None, record
                )
            )
        found.append(((period.end, period.start), report))
    found.sort(key=lambda item: item[0], reverse=True)
    return [r for _, r in found]
