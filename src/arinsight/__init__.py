"""arinsight: reproducible accounts-receivable analysis (ingest, clean, KPIs, risk, site)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("arinsight")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
