"""The palette every figure and e-mail shares (no plotting library imported here)."""

from __future__ import annotations

PALETTE = ["#1f4e79", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bbf", "#7f8c8d", "#d4ac0d"]
GOOD = "#3a9d5d"
BAD = "#c0392b"
NEUTRAL = "#7f8c8d"
