"""periods: the strict date check of parameters and rates files (:func:`iso_day`), shared by
``config.day_of`` (as_of) and ``fx`` (dated rates)."""

from __future__ import annotations

import datetime as dt

import pytest

from arinsight import config, fx
from arinsight.errors import ConfigError
from arinsight.periods import iso_day


def test_iso_day_takes_dates_datetimes_and_exact_iso_text():
    assert iso_day(dt.date(2026, 10, 31), "as_of") == "2026-10-31"
    assert iso_day(dt.datetime(2026, 10, 31, 17, 5), "rate") == "2026-10-31"  # its day
    assert iso_day(" 2026-02-28 ", "as_of") == "2026-02-28"


@pytest.mark.parametrize("value", ["2026-11-31", "2026-1-3", "31.10.2026", "", None, 20261031])
def test_iso_day_names_where_and_the_value(value):
    with pytest.raises(ConfigError) as exc:
        iso_day(value, "params.yaml: as_of")
    assert str(exc.value) == f"params.yaml: as_of: {value!r} is not a date (YYYY-MM-DD)"


def test_day_of_adds_the_time_of_day_rule_and_fx_uses_the_same_check():
    """as_of is an end of day: 12:30 is refused by day_of, while a dated rate keeps its day."""
    assert config.day_of(None, "as_of") is None
    assert config.day_of(dt.datetime(2026, 10, 31), "as_of") == "2026-10-31"
    with pytest.raises(ConfigError, match="has a time of day"):
        config.day_of(dt.datetime(2026, 10, 31, 12, 30), "as_of")
    with pytest.raises(ConfigError, match="'2026-10-31 12:30' has a time of day"):
        config.day_of("2026-10-31 12:30", "as_of")
    with pytest.raises(ConfigError, match=r"as_of: '2026-11-31' is not a date \(YYYY-MM-DD\)"):
        config.day_of("2026-11-31", "as_of")
    rates = fx.rates_of({"EUR": {dt.datetime(2026, 1, 2, 9, 0): 1.1, "2026-01-01": 1.0}}, "p")
    assert rates == {"EUR": {"2026-01-01": 1.0, "2026-01-02": 1.1}}
    with pytest.raises(ConfigError, match=r"p: fx_rates.EUR: '2026-02-30' is not a date"):
        fx.rates_of({"EUR": {"2026-02-30": 1.1}}, "p")
