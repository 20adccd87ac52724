"""An item's kept demand figures: a few running sums that stand for its whole count history.

Reading an item's history back on every stock page or order list costs more the longer the
history is. The estimates stockwatch makes from counts (days of cover in ``core.forecast``,
the order list's demand in ``core.demand``) only need these sums, which are moved on by
one step each time the count changes (``advance``) and read in constant time
(``core.demand.estimate_of``). Both backends keep them beside the count and update them in
the same write; a read costs the same with a day of history as with a year.

An interval between two consecutive counts is *usable* when it is a decrease, or no change,
from a count above zero: the drop is demand over the interval's days. An increase is a
delivery and an interval from zero or below is stock-out time; both are left out (what sold
there is unknown). Each usable interval is weighted by how recent its end is, halving every
``HALF_LIFE_DAYS`` days. That weighting is what makes the figures keepable: moving on to a
later count multiplies every sum by the same factor, where a fixed window of the last N days
would need the history to know what falls out of it.

The sums, each over the usable intervals i with weight wᵢ, drop Dᵢ and length Δᵢ in days::

    days = Σ wᵢΔᵢ   units = Σ wᵢDᵢ   units_sq = Σ wᵢDᵢ²   cross = Σ wᵢDᵢΔᵢ   days_sq = Σ wᵢΔᵢ²

so the mean daily demand is ``units / days`` and the variance of a day's demand is
``Σ wᵢ(Dᵢ − mean·Δᵢ)² / days`` (demand's variance grows with the time it is sold over, as
the order-up-to formula assumes), expanded into the sums above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

DAY = 86400.0
HALF_LIFE_DAYS = 14.0

Point = tuple[float, int]  # (seconds since the epoch of the count's as-of time, count)


class Figures(NamedTuple):
    """The sums of an item's history up to its count at ``at``.

    A named tuple, not a frozen dataclass: an order list makes two per item it judges, and
    a frozen dataclass takes four times as long to make."""

    at: float  # seconds since the epoch: when the last count folded in was taken
    count: int  # type: ignore[assignment]  # that count (hides tuple.count, never used here)
    counts: int = 1  # counts folded in
    intervals: int = 0  # usable intervals
    span: float = 0.0  # days of usable intervals, unweighted
    days: float = 0.0
    units: float = 0.0
    units_sq: float = 0.0
    cross: float = 0.0
    days_sq: float = 0.0
    demand_days: float = 0.0  # Σ wᵢΔᵢ over intervals with a drop: how often it sells

    def as_row(self) -> tuple[float, ...]:
        """The sums as stored (``at`` and ``count`` live in the item's own columns)."""
        return (
            self.counts, self.intervals, self.span, self.days, self.units,
            self.units_sq, self.cross, self.days_sq, self.demand_days,
        )  # fmt: skip


STORED = (
    "counts", "intervals", "span", "days", "units", "units_sq", "cross", "days_sq",
    "demand_days",
)  # fmt: skip


def decay(elapsed_days: float) -> float:
    """The factor every sum is multiplied by when the latest count moves on this far."""
    return float(2.0 ** (-elapsed_days / HALF_LIFE_DAYS))


def advance(figures: Figures, at: float, count: int) -> Figures:
    """The figures once the item was counted ``count`` at ``at`` (seconds). A count at or
    before the last one's time replaces it without an interval: uploads are applied in
    version order, so this is a correction of the same moment."""
    if at <= figures.at:
        return figures._replace(count=count)
    elapsed = (at - figures.at) / DAY
    factor = decay(elapsed)
    drop = figures.count - count
    usable = figures.count > 0 and drop >= 0
    d = float(drop) if usable else 0.0
    e = elapsed if usable else 0.0
    return Figures(
        at,
        count,
        figures.counts + 1,
        figures.intervals + (1 if usable else 0),
        figures.span + e,
        figures.days * factor + e,
        figures.units * factor + d,
        figures.units_sq * factor + d * d,
        figures.cross * factor + d * e,
        figures.days_sq * factor + e * e,
        figures.demand_days * factor + (e if d > 0 else 0.0),
    )


def figures_of(points: Iterable[Point]) -> Figures | None:
    """The figures of a history given as points (any order); None for no points."""
    ordered = sorted(points)
    if not ordered:
        return None
    at, count = ordered[0]
    figures = Figures(at, count)
    for at, count in ordered[1:]:
        figures = advance(figures, at, count)
    return figures


def as_of(figures: Figures, latest: float) -> Figures:
    """The figures at ``latest``, the last time the item was counted: a re-upload that
    confirmed the count adds a quiet interval without being written (sqlite.store_records)."""
    return advance(figures, latest, figures.count) if latest > figures.at else figures


def encode(figures: Figures) -> str:
    """The figures as one short text (a DynamoDB attribute): the time in milliseconds, then
    the sums (exact: ``repr`` of a float reads back as the same float). A first count is
    its time alone."""
    at = str(round(figures.at * 1000))
    if figures.counts == 1 and not any(figures.as_row()[1:]):
        return at
    return ",".join([at, *(repr(v) for v in figures.as_row())])


def decode(text: str | None, count: int) -> Figures | None:
    """The figures ``encode`` wrote, with the item's count (kept beside them); None for
    none, or for text this version cannot read (the caller falls back to the history)."""
    if not text:
        return None
    try:
        at, *rest = text.split(",")
        if not rest:
            return Figures(int(at) / 1000, count)
        counts, intervals, *sums = rest
        if len(sums) != len(STORED) - 2:
            return None
        return Figures(int(at) / 1000, count, int(counts), int(intervals), *map(float, sums))
    except ValueError:
        return None


def bounds(figures: Figures) -> tuple[float, float]:
    """Upper bounds of the daily demand and of its deviation (``core.demand.estimate_of``)
    however long the count then stays as it is: what lets a backend pick out, without the
    time of each item's last count, the items that may need an order.

    A quiet interval of ``e`` days after the last change lowers the mean (units decay, days
    grow). The variance is then ``[f·g(m') + m'²e²] / (W·f + e)``, with ``f`` the decay,
    ``m' <= m`` the new mean and ``g(c) = Σw(D − cΔ)²``, a convex quadratic in ``c``: on
    ``[0, m]`` it is at most ``G = max(g(0), g(m))``, so the first term is at most ``G/W``;
    the second is ``m²·x²e²/(x + e)³`` with ``x = W·f <= W``, largest at ``e = 2x``, where
    it is ``4/27·m²·x``."""
    if figures.days <= 0:
        return 0.0, 0.0
    mean = figures.units / figures.days
    spread = figures.units_sq - 2 * mean * figures.cross + mean * mean * figures.days_sq
    most = max(figures.units_sq, spread)
    variance = most / figures.days + 4.0 / 27.0 * mean * mean * figures.days
    return mean, math.sqrt(max(0.0, variance))
