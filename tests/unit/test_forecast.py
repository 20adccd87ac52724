"""The "runs out in N days" estimator: what it needs, what it ignores, how well it does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stockwatch.core.forecast import DAY, epoch, forecast, naive_usage, weighted_usage

T0 = epoch("2026-11-01T00:00:00.000Z")


def days(*counts: int, every: float = 1.0) -> list[tuple[float, int]]:
    return [(T0 + i * every * DAY, c) for i, c in enumerate(counts)]


def test_too_little_history_gives_no_estimate() -> None:
    assert forecast([]).daily_usage is None
    assert weighted_usage(days(10, 8)) is None  # two counts: one interval
    assert weighted_usage(days(10, 8, 6, every=0.5)) is None  # three counts, one day
    assert forecast(days(10, 8, 6)).days_of_cover == 3.0  # three counts over two days


def test_steady_usage_gives_days_of_cover_and_a_date() -> None:
    result = forecast(days(30, 27, 24, 21))
    assert result.daily_usage == 3.0
    assert result.days_of_cover == 7.0
    assert result.runs_out_on == "2026-11-11"  # last count on the 4th, plus 7 days


def test_restocks_and_empty_shelves_are_not_usage() -> None:
    # 20 -> 18 -> (restock) 50 -> 48 -> 46: usage 2 a day, not negative
    assert weighted_usage(days(20, 18, 50, 48, 46)) == 2.0
    # at 0 nothing can be sold; the days at zero do not dilute the rate
    assert weighted_usage(days(6, 3, 0, 0, 0, 30, 27)) == pytest.approx(3.0)


def test_nothing_used_means_no_run_out_date() -> None:
    result = forecast(days(9, 9, 9))
    assert (result.daily_usage, result.days_of_cover, result.runs_out_on) == (0.0, None, None)


def test_irregular_intervals_weigh_by_the_days_they_span() -> None:
    points = [(T0, 100), (T0 + 0.1 * DAY, 95), (T0 + 5 * DAY, 50), (T0 + 6 * DAY, 40)]
    usage = weighted_usage(points)
    assert usage is not None and 9 < usage < 11  # about 60 units over 6 days
    assert naive_usage(points) == 10.0


def test_the_backtest_meets_its_targets() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench" / "forecast_bench.py"
    result = subprocess.run(
        [sys.executable, str(bench), "--items", "100", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    table = json.loads(result.stdout)
    assert table["passed"], table
