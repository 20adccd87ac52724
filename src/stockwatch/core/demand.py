"""Daily demand from an item's counts: what the order list sizes its orders from.

The counts stockwatch keeps are the only data it has, so demand is read off them:

* a **decrease** between two consecutive counts is demand, spread evenly over the time
  between them;
* an **increase** is a delivery. What sold meanwhile is unknown, so the interval is left out
  (never counted as negative, nor as zero demand, which would pull the estimate down on
  every delivery day);
* an interval that **starts at zero or below** is left out too: nothing could be sold, and
  the sales lost there are unknown.

The mean and standard deviation of a day's demand come from the item's kept figures
(``core.figures``): running sums over the usable intervals, each weighted by its age with a
half-life of 14 days, so the last 28 days carry three quarters of the weight. The sums are
updated when the count changes, so the order list never reads the history back. A steady
decline has a deviation of 0 whatever the spacing of the counts; the variance of a longer
interval counts in proportion to its length, as the order-up-to formula assumes.

Slow movers, with most days at zero, get the Syntetos-Boylan correction of Croston's
estimate (SBA). Croston's estimate is the smoothed demand size over the smoothed interval
between demands; over the kept sums that ratio is the weighted units over the weighted
days, the mean itself, so what sets a slow mover apart is SBA's factor ``1 - alpha/2``,
which removes the bias Croston's ratio has on intermittent series.

``daily_series`` lays the recorded demand out day by day: the backtest replays it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from stockwatch.core.figures import DAY, Figures, Point, figures_of

WINDOW_DAYS = 28
# Fewer counts than this is "not enough history". Only changes are kept (and the last
# count), so an item counted daily that never changed has two points: two points that many
# days apart say as much as three counts, and are enough.
MIN_COUNTS = 3
MIN_SPAN_DAYS = 2.0
# The share of a day usable intervals must cover for the day to count.
MIN_DAY_SHARE = 0.25
# SBA: the smoothing constant its correction is for, and when an item is intermittent
# (average interval between demands above 1.32 days, the Syntetos-Boylan cut-off).
SBA_ALPHA = 0.1
INTERMITTENT_ADI = 1.32
# A variance this small against the mean's square is rounding left over from the sums.
TINY_VARIANCE = 1e-9


class Demand(NamedTuple):
    """Daily demand, and how it was estimated."""

    mean: float  # units per day
    sd: float
    days: int  # days of usable intervals in the history
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


def enough_history(figures: Figures | None) -> bool:
    """Two counts or more (only changes are kept, and the last count: an item counted
    daily that never changed has two points) over at least two days of usable intervals:
    counts taken minutes apart say nothing of a daily rate."""
    return figures is not None and figures.counts >= 2 and figures.span >= MIN_SPAN_DAYS


def estimate(points: Sequence[Point]) -> Demand | None:
    """The daily demand of a history given as points (the kept figures' estimate)."""
    return estimate_of(figures_of(points))


def estimate_of(figures: Figures | None) -> Demand | None:
    """The item's daily demand from its kept figures (``as_of`` its last count), or None
    when its history is too short to say."""
    if figures is None or not enough_history(figures) or figures.days <= 0:
        return None
    mean = figures.units / figures.days
    spread = figures.units_sq - 2 * mean * figures.cross + mean * mean * figures.days_sq
    variance = spread / figures.days
    # The sums cancel for a steady decline: what is left is rounding, not deviation.
    if variance <= TINY_VARIANCE * max(mean * mean, TINY_VARIANCE):
        variance = 0.0
    sd = math.sqrt(variance)
    days = round(figures.span)
    if figures.demand_days > 0 and figures.days / figures.demand_days > INTERMITTENT_ADI:
        return Demand((1 - SBA_ALPHA / 2) * mean, sd, days, "sba", figures.counts)
    return Demand(mean, sd, days, "mean", figures.counts)
