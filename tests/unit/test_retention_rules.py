"""core.retention: the settings, the steps old history is thinned into, and thinning."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockwatch.core.clock import epoch_ms, from_epoch_ms
from stockwatch.core.forecast import MAX_AGE_DAYS
from stockwatch.core.retention import (
    MIN_HISTORY_DAYS,
    RECENT_DAYS,
    OldPoint,
    Retention,
    due,
    thin,
)


def test_the_full_history_covers_the_forecast() -> None:
    assert MIN_HISTORY_DAYS >= MAX_AGE_DAYS
    assert Retention().keep_history_days == 90 and Retention().history_step == "month"
    assert RECENT_DAYS < MIN_HISTORY_DAYS


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STOCKWATCH_KEEP_HISTORY_DAYS": "30"}, "at least 62"),
        ({"STOCKWATCH_KEEP_FILES_DAYS": "0"}, "at least 1 day"),
        ({"STOCKWATCH_HISTORY_STEP": "year"}, "one of day, week, month"),
        ({"STOCKWATCH_KEEP_FILES_DAYS": "a year"}, "whole numbers"),
    ],
)
def test_bad_settings_say_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Retention.from_env()


def test_steps() -> None:
    at = "2026-03-01T23:59:59.999Z"
    assert Retention(history_step="month").step_of(at) == "2026-03"
    assert Retention(history_step="day").step_of(at) == "2026-03-01"
    assert Retention(history_step="week").step_of(at) == "2026-W09"  # ISO week, Monday first
    assert Retention(history_step="week").step_of("2027-01-01T00:00:00.000Z") == "2026-W53"


def test_cutoffs_in_order() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    cutoffs = Retention().cutoffs(now)
    assert cutoffs.files < cutoffs.history < cutoffs.recent
    assert cutoffs.history == "2026-09-02T00:00:00.000Z"


def test_epoch_ms_round_trips() -> None:
    for text in ("1970-01-01T00:00:00.000Z", "2026-02-28T13:45:01.123Z"):
        assert from_epoch_ms(epoch_ms(text)) == text


def _points(draw_counts: list[int], start: datetime) -> list[OldPoint]:
    rng = random.Random(len(draw_counts))
    points = []
    for seq, count in enumerate(draw_counts):
        moment = start + timedelta(hours=rng.randint(0, 24 * 120))
        ms = epoch_ms(moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        points.append(OldPoint(ms, seq, count, seq % 7))
    return points


@given(st.lists(st.integers(0, 500), max_size=60), st.sampled_from(["day", "week", "month"]))
def test_thin_keeps_each_steps_last_point(counts: list[int], step: str) -> None:
    retention = Retention(history_step=step)
    points = _points(counts, datetime(2026, 1, 1, tzinfo=UTC))
    kept = thin(retention, points)
    assert kept == sorted(kept)
    steps = [retention.step_of(from_epoch_ms(p.counted)) for p in kept]
    assert len(steps) == len(set(steps))  # one point per step
    for point in points:  # nothing later in its step was dropped for it
        step_of = retention.step_of(from_epoch_ms(point.counted))
        (last,) = [k for k, s in zip(kept, steps, strict=True) if s == step_of]
        assert (last.counted, last.seq) >= (point.counted, point.seq)
    assert thin(retention, kept) == kept  # thinning again changes nothing
    half = len(points) // 2  # and it can be done a day at a time
    assert thin(retention, [*thin(retention, points[:half]), *points[half:]]) == kept


def test_due_once_a_day_from_the_last_run() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert due(None, now)
    assert not due("2026-11-30T12:00:00.001Z", now)
    assert due("2026-11-30T12:00:00.000Z", now)
