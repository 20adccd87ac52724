"""Replaying an item's recorded demand under an ordering policy: the backtest.

The order-up-to policy (``core.replenishment``) is compared with the min/max rule many
shops use (min = the item's threshold, max = twice that), both with the item's lead time,
review period and pack, on the same days. Demand the shelf cannot serve is lost, as in a
shop; the figures are the fill rate, the days out of stock and the stock held.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stockwatch.core.demand import WINDOW_DAYS, daily_series, estimate
from stockwatch.core.forecast import DAY, Point
from stockwatch.core.replenishment import OrderingPolicy, order_up_to, suggested


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a policy did over a replayed demand series."""

    fill_rate: float | None  # demand served / demand (None: no demand)
    stockout_days: int
    avg_on_hand: float
    orders: int
    served: float
    asked: float


def replay(
    demand: Sequence[float],
    start: float,
    policy: OrderingPolicy,
    wanted: Callable[[float], float],
) -> Outcome:
    """Serve ``demand`` day by day from ``start`` on hand, reviewing every ``review_days``
    and ordering ``wanted(position)`` units that arrive ``lead_days`` later (rounded up to
    whole days). Demand the shelf cannot serve is lost, as in a shop."""
    lead = math.ceil(policy.lead_days)
    review = max(1, round(policy.review_days))
    arriving: dict[int, float] = {}
    on_hand = max(0.0, start)
    served = asked = 0.0
    stockouts = orders = 0
    held = 0.0
    for day, units in enumerate(demand):
        on_hand += arriving.pop(day, 0.0)
        sold = min(on_hand, units)
        on_hand -= sold
        served += sold
        asked += units
        if on_hand <= 1e-9 and units > 0:
            stockouts += 1
        if day % review == 0:
            quantity = wanted(on_hand + sum(arriving.values()))
            if quantity > 0:
                orders += 1
                arriving[day + lead] = arriving.get(day + lead, 0.0) + quantity
        held += on_hand
    return Outcome(
        served / asked if asked > 0 else None,
        stockouts,
        held / len(demand) if demand else 0.0,
        orders,
        served,
        asked,
    )


@dataclass(frozen=True, slots=True)
class Backtest:
    method: str  # the demand estimate the order-up-to level used ("mean" or "sba")
    policies: dict[str, Outcome | None]  # None: the policy does not apply (no threshold)


def backtest(
    points: Sequence[Point],
    policy: OrderingPolicy,
    minimum: int | None,
    days: int = WINDOW_DAYS,
) -> Backtest | None:
    """The item's recorded demand of the last ``days`` days replayed under the order-up-to
    policy and under a min/max rule (min = the item's threshold, max = 2 x min; None where
    it has none). Both start from the count before the window and order in the item's
    packs with its lead time and review period. None: not enough history.

    The order-up-to level is estimated from the same days it is tested on (in-sample): the
    figure says what the policy does with the demand it was sized for, not a forecast."""
    series = daily_series(points, days)
    demand = estimate(points)
    if demand is None or not series:
        return None
    start = _count_before(points, days)
    level = order_up_to(demand, policy)
    results: dict[str, Outcome | None] = {
        "order_up_to": replay(
            series, start, policy, lambda position: suggested(level, math.ceil(position), policy)
        )
    }
    if minimum:
        top = 2 * minimum
        results["min_max"] = replay(
            series,
            start,
            policy,
            lambda position: (
                suggested(top, math.ceil(position), policy) if position <= minimum else 0
            ),
        )
    else:
        results["min_max"] = None
    return Backtest(demand.method, results)


def _count_before(points: Sequence[Point], days: int) -> float:
    ordered = sorted(points)
    first = ordered[-1][0] - days * DAY
    before = [c for t, c in ordered if t <= first]
    return float(before[-1] if before else ordered[0][1])
