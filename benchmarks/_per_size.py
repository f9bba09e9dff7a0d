"""The command line the per-size benchmarks share: each size runs in a fresh process of the
same script (``--one N``), so its peak memory (getrusage) is its own, and prints one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable


def main(script: str, one: Callable[[int], dict], argv: list[str], default: list[int]) -> int:
    """``script --one N`` measures N and prints its JSON; ``script [N ...]`` (default sizes
    ``default``) runs one fresh process per size and prints each one's line."""
    if argv[:1] == ["--one"]:
        print(json.dumps(one(int(argv[1]))))
        return 0
    for n in [int(a) for a in argv] or default:
        out = subprocess.run(
            [sys.executable, script, "--one", str(n)], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0
