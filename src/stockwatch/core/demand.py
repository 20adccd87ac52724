"""Daily demand from an item's counts: what the order list sizes its orders from.

The counts stockwatch keeps are the only data it has, so demand is read off them:

* a **decrease** between two consecutive counts is demand, spread evenly over the time
  between them and shared out to the days it covers;
* an **increase** is a delivery. What sold meanwhile is unknown, so the interval is left out
  (never counted as negative, nor as zero demand, which would pull the estimate down on
  every delivery day);
* an interval that **starts at zero or below** is left out too: nothing could be sold, and
  the sales lost there are unknown.

Days are counted back from the item's last count, so counts taken at the same hour every
day fall one to a day. Only the last ``WINDOW_DAYS`` days count. A day partly covered by
usable intervals is scaled to a whole day, so a steady decline gives the same rate every
day (a standard deviation of 0) whatever the spacing of the counts. Spreading a multi-day
drop evenly smooths it: the deviation of sparse counts is understated, which the backtest
shows as a lower fill rate than asked.

Slow movers, with most days at zero, get Croston's estimate with the Syntetos-Boylan
correction (SBA) instead of the plain mean: the mean of such a series is dominated by when
the window happens to start and end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import fmean

from stockwatch.core.forecast import DAY, Point

WINDOW_DAYS = 28
# Fewer counts than this is "not enough history". Only changes are kept (and the last
# count), so an item counted daily that never changed has two points: two points that many
# days apart say as much as three counts, and are enough.
MIN_COUNTS = 3
MIN_SPAN_DAYS = 2.0
# The share of a day usable intervals must cover for the day to count.
MIN_DAY_SHARE = 0.25
# Croston/SBA: the smoothing constant of sizes and intervals, and when a series is
# intermittent (average inter-demand interval above 1.32 days, the Syntetos-Boylan cut-off).
SBA_ALPHA = 0.1
INTERMITTENT_ADI = 1.32


@dataclass(frozen=True, slots=True)
class Demand:
    """Daily demand over the window, and how it was estimated."""

    mean: float  # units per day
    sd: float
    days: int  # days of the window with usable intervals
    method: str  # "mean", or "sba" for an intermittent item
    counts: int  # counts the estimate was read from


def daily_series(points: Sequence[Point], window_days: int = WINDOW_DAYS) -> list[float]:
    """Demand of each day of the window that usable intervals cover, oldest first."""
    points = sorted(points)
    if len(points) < 2:
        return []
    latest = points[-1][0]
    demand = [0.0] * window_days
    covered = [0.0] * window_days
    start_of_window = latest - window_days * DAY
    for (t0, c0), (t1, c1) in pairwise(points):
        elapsed = t1 - t0
        if elapsed <= 0 or c1 > c0 or c0 <= 0 or t1 <= start_of_window:
            continue
        rate = (c0 - c1) / elapsed  # units per second, spread evenly
        begin = max(t0, start_of_window)
        while begin < t1:
            # day 0 is the oldest: the one that ends window_days - 1 days before the latest
            back = int((latest - begin) // DAY)
            if (latest - begin) % DAY == 0:
                back -= 1  # a moment on a day's boundary belongs to the day after it
            index = window_days - 1 - back
            day_start = latest - (back + 1) * DAY
            end = min(t1, day_start + DAY)
            if 0 <= index < window_days:
                demand[index] += rate * (end - begin)
                covered[index] += end - begin
            begin = end
    # A day known for a sliver of it is left out rather than scaled up to a whole day: five
    # units sold between two uploads a minute apart are not 7,200 a day.
    return [d * DAY / c for d, c in zip(demand, covered, strict=True) if c >= DAY * MIN_DAY_SHARE]


def _deviation(series: Sequence[float]) -> float:
    """The population standard deviation, in floats: ``statistics.pstdev`` is exact (with
    fractions) and took 40 % of an order list's time."""
    if len(series) < 2:
        return 0.0
    mean = math.fsum(series) / len(series)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in series) / len(series))


def sba(series: Sequence[float], alpha: float = SBA_ALPHA) -> float:
    """Croston's estimate of demand per day with the Syntetos-Boylan correction."""
    size = interval = None
    since = 1
    for value in series:
        if value > 0:
            if size is None or interval is None:
                size, interval = value, float(since)
            else:
                size += alpha * (value - size)
                interval += alpha * (since - interval)
            since = 1
        else:
            since += 1
    if size is None or interval is None:
        return 0.0
    return (1 - alpha / 2) * size / interval


def is_intermittent(series: Sequence[float]) -> bool:
    """Most days without demand: the average interval between demands is above 1.32 days."""
    nonzero = sum(1 for v in series if v > 0)
    return nonzero > 0 and len(series) / nonzero > INTERMITTENT_ADI


def enough_history(points: Sequence[Point]) -> bool:
    """Three counts, or two (see ``MIN_COUNTS``), over at least two days: counts taken
    minutes apart say nothing of a daily rate."""
    if len(points) < 2:
        return False
    moments = [t for t, _ in points]
    return max(moments) - min(moments) >= MIN_SPAN_DAYS * DAY


def estimate(points: Sequence[Point], window_days: int = WINDOW_DAYS) -> Demand | None:
    """The item's daily demand, or None when its history is too short to say."""
    if not enough_history(points):
        return None
    return from_series(daily_series(points, window_days), len(points))


def from_series(series: Sequence[float], counts: int) -> Demand | None:
    """The estimate of a daily series (``daily_series``) read from ``counts`` counts."""
    if not series:
        return None
    sd = _deviation(series)
    if is_intermittent(series):
        return Demand(sba(series), sd, len(series), "sba", counts)
    return Demand(fmean(series), sd, len(series), "mean", counts)
