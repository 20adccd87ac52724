"""When will it run out: daily usage from an item's counts, and the days of cover left.

Counts arrive at irregular times, sales are noisy, weekends sell more, and restocks make a
count jump up. The estimator is an exponentially weighted *ratio*: the units consumed over
the days elapsed, summed over the intervals between consecutive counts, each interval
weighted by how recent it is (a half-life of ``HALF_LIFE_DAYS``)::

    usage = Σ wᵢ · (cᵢ₋₁ − cᵢ)  /  Σ wᵢ · (tᵢ − tᵢ₋₁)       wᵢ = 2^(−ageᵢ / half-life)

Summing units and days separately (rather than averaging per-interval rates) lets a long
interval count for as many days as it spans, so irregular intervals need no special care
and one short, noisy interval cannot swing the estimate; the weights let it follow a change
in demand within a few weeks. Intervals where the count went up (a restock: what was sold
meanwhile is unknown) or that start at zero (nothing could be sold) are left out.

The sums are kept with each item and moved on when its count changes (``core.figures``), so
a forecast costs the same with a year of history as with a day.

The naive estimate it is measured against (``naive_usage``, in ``bench/forecast_bench.py``)
is the drop between the last two counts over the time between them.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stockwatch.core.figures import DAY, HALF_LIFE_DAYS, Figures, Point, figures_of
from stockwatch.core.model import StockChange
from stockwatch.core.rows import StockRow

__all__ = ["DAY", "HALF_LIFE_DAYS", "Point"]

# What the history must hold for an estimate: this many usable intervals, spanning this
# many days in all (three counts over two days, at least). Less says too little.
MIN_INTERVALS = 2
MIN_SPAN_DAYS = 2.0
# How far back the history thinning (core.retention) keeps every point: past four
# half-lives an interval weighs under 1/16. The estimate itself reads the kept figures
# (core.figures), which hold the whole history.
MAX_AGE_DAYS = 4 * HALF_LIFE_DAYS


@dataclass(frozen=True, slots=True)
class Forecast:
    daily_usage: float | None  # units per day; 0.0 when nothing was used
    days_of_cover: float | None  # count / daily_usage, from the last count
    runs_out_on: str | None  # YYYY-MM-DD, UTC

    @classmethod
    def unknown(cls) -> Forecast:
        return cls(None, None, None)


def usage_of(figures: Figures | None) -> float | None:
    """Units per day from kept figures (already ``as_of`` the last count), or None when
    the history cannot support an estimate."""
    if figures is None:
        return None
    if figures.intervals < MIN_INTERVALS or figures.span < MIN_SPAN_DAYS or figures.days <= 0:
        return None
    return figures.units / figures.days


def weighted_usage(points: Sequence[Point]) -> float | None:
    """Units per day of a history given as points (the kept figures' estimate)."""
    return usage_of(figures_of(points))


def naive_usage(points: Sequence[Point]) -> float | None:
    """The drop between the last two counts per day: the baseline of the backtest."""
    if len(points) < 2:
        return None
    (t0, c0), (t1, c1) = points[-2], points[-1]
    if t1 <= t0 or c1 > c0:
        return None
    return (c0 - c1) / ((t1 - t0) / DAY)


def cover(count: int, usage: float | None, counted_at: float) -> Forecast:
    """Days of cover and the run-out date, from the last count's time."""
    if usage is None:
        return Forecast.unknown()
    usage = round(usage, 3)
    if usage <= 0 or count <= 0:
        days = 0.0 if count <= 0 else None
        day = day_of(counted_at) if count <= 0 else None
        return Forecast(usage, days, day)
    days = count / usage
    if not math.isfinite(days) or days > 36500:
        return Forecast(usage, None, None)
    return Forecast(usage, round(days, 1), day_of(counted_at + days * DAY))


def day_of(seconds: float) -> str:
    """The UTC date (YYYY-MM-DD) of a moment in seconds since the epoch."""
    day = seconds // DAY
    if seconds - day * DAY < DAY - 0.001:  # not where rounding to microseconds moves the day
        return _date(int(day))
    return (datetime(1970, 1, 1) + timedelta(seconds=seconds)).date().isoformat()


@functools.lru_cache(maxsize=4096)
def _date(day: int) -> str:
    """Day ``day`` after the epoch as YYYY-MM-DD: an order list names a few hundred days
    for a million items."""
    return (datetime(1970, 1, 1) + timedelta(days=day)).date().isoformat()


def forecast(points: Sequence[Point]) -> Forecast:
    """The forecast for an item whose counts are ``points``."""
    return forecast_of(figures_of(points))


def forecast_of(figures: Figures | None) -> Forecast:
    """The forecast from an item's kept figures, ``as_of`` its last count."""
    if figures is None:
        return Forecast.unknown()
    return cover(figures.count, usage_of(figures), figures.at)


def with_cover(change: StockChange, figures: Figures | None) -> StockChange:
    """The change with the item's days of cover after it, for the running_out rule."""
    return replace(change, cover=forecast_of(figures).days_of_cover)


def with_forecast(row: StockRow, figures: Figures | None) -> StockRow:
    """The stock row with its forecast fields filled in from its kept figures. Built
    directly: ``dataclasses.replace`` cost a page of stock a third of its Python time."""
    result = forecast_of(figures)
    return StockRow(
        row.store,
        row.item,
        row.count,
        row.updated_at,
        row.status,
        result.daily_usage,
        result.days_of_cover,
        result.runs_out_on,
        row.sku,
    )


def history_points(history: str | None) -> list[Point]:
    """An AWS item's ``History`` ([old, new, version] as JSON) as points."""
    if not history:
        return []
    return [(epoch(version[:24]), new) for _, new, version in json.loads(history)]


def epoch(as_of: str) -> float:
    """``core.clock``'s time text as seconds since the epoch (no time zone library)."""
    moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    return moment.timestamp()
