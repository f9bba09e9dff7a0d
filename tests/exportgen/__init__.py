"""Generated ERP/accounting exports with real-world quirks, each with the figures a finance
analyst would compute by hand from its ledger (see README.md in this folder)."""

from .generate import QUIRK_CLASSES, Variant, active_classes, generate, quirks_for, variants

__all__ = ["QUIRK_CLASSES", "Variant", "active_classes", "generate", "quirks_for", "variants"]
