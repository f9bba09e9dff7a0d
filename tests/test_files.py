"""The one JSON writer and file hash every output goes through."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arinsight.files import json_safe, sha256_file, write_json


def test_write_json_sorted_and_null_for_undefined(tmp_path):
    """NaN, inf and NaT become null; numpy numbers plain; dates ISO; keys sorted; no temp left."""
    path = write_json(
        tmp_path / "sub" / "part.json",
        {
            "b": float("nan"),
            "a": pd.Timestamp("2026-10-31"),
            "c": np.int64(3),
            "d": None,
            "e": [np.float64("inf"), pd.NaT, dt.date(2026, 1, 2)],
            "f": Path("/x/y.csv"),
            "g": pd.DataFrame({"k": [1, 2]}),
        },
    )
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == {
        "a": "2026-10-31",
        "b": None,
        "c": 3,
        "d": None,
        "e": [None, None, "2026-01-02"],
        "f": "/x/y.csv",
        "g": [{"k": 1}, {"k": 2}],
    }
    assert text.index('"a"') < text.index('"b"') < text.index('"c"')
    assert [p.name for p in path.parent.iterdir()] == ["part.json"]


def test_write_json_refuses_unknown_objects(tmp_path):
    with pytest.raises(TypeError):
        write_json(tmp_path / "x.json", {"x": object()})


def test_json_safe_keeps_timestamps_with_time():
    assert json_safe(pd.Timestamp("2026-10-31 10:00:00")) == "2026-10-31T10:00:00"


def test_sha256_file(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"arinsight" * 1000)
    assert sha256_file(f) == hashlib.sha256(b"arinsight" * 1000).hexdigest()
