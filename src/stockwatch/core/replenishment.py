"""What to order: daily demand from an item's counts, and a periodic-review order-up-to policy.

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

The policy is the textbook periodic review (R, S): every ``review_days`` the position (on
hand plus on order) is raised to ``S = d(R+L) + z·sd·√(R+L)``, where ``L`` is the lead time
and ``z`` the service level's quantile of the normal distribution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from statistics import NormalDist, fmean

from stockwatch.core.thresholds import WILDCARD

WINDOW_DAYS = 28
# Fewer counts than this is "not enough history". Only changes are kept (and the last
# count), so an item counted daily that never changed has two points: two points that many
# days apart say as much as three counts, and are enough.
MIN_COUNTS = 3
MIN_SPAN_DAYS = 2.0
# The share of a day usable intervals must cover for the day to count.
MIN_DAY_SHARE = 0.25
DAY = 86400.0
# Croston/SBA: the smoothing constant of sizes and intervals, and when a series is
# intermittent (average inter-demand interval above 1.32 days, the Syntetos-Boylan cut-off).
SBA_ALPHA = 0.1
INTERMITTENT_ADI = 1.32

Point = tuple[float, int]  # (seconds since the epoch of the count's as-of time, count)


@dataclass(frozen=True, slots=True)
class OrderingPolicy:
    """How a store orders an item: the settings of ``stockwatch ordering set``."""

    lead_days: float = 7.0
    review_days: float = 7.0
    service_level: float = 95.0  # percent of demand served from the shelf
    pack: int = 1
    min_order: int = 0

    def __post_init__(self) -> None:
        problem = policy_problem(self)
        if problem:
            raise ValueError(problem)

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(self.service_level / 100)

    @property
    def horizon(self) -> float:
        """R + L: the days an order placed now has to last."""
        return self.review_days + self.lead_days


def policy_problem(policy: OrderingPolicy) -> str | None:
    """What makes these settings unusable, in words, or None."""
    if not 0 <= policy.lead_days <= 365:
        return f"lead time {policy.lead_days:g} days is not between 0 and 365"
    if not 1 <= policy.review_days <= 365:
        return f"review period {policy.review_days:g} days is not between 1 and 365"
    if not 50 <= policy.service_level < 100:
        return f"service level {policy.service_level:g}% is not between 50 and 99.9"
    if not 1 <= policy.pack <= 1_000_000:
        return f"pack size {policy.pack} is not between 1 and 1,000,000"
    if not 0 <= policy.min_order <= 1_000_000_000:
        return f"minimum order {policy.min_order} is not between 0 and 1,000,000,000"
    return None


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
    series = daily_series(points, window_days)
    if not series:
        return None
    sd = _deviation(series)
    if is_intermittent(series):
        return Demand(sba(series), sd, len(series), "sba", len(points))
    return Demand(fmean(series), sd, len(series), "mean", len(points))


def order_up_to(demand: Demand, policy: OrderingPolicy) -> int:
    """S, rounded up to whole units; never below zero."""
    horizon = policy.horizon
    level = demand.mean * horizon + policy.z * demand.sd * math.sqrt(horizon)
    return max(0, math.ceil(level - 1e-9))


def suggested(level: int, position: int, policy: OrderingPolicy) -> int:
    """What to order to bring ``position`` up to ``level``: a multiple of the pack, at least
    the minimum order when anything is needed, nothing when the position reaches it."""
    short = level - position
    if short <= 0:
        return 0
    quantity = max(short, policy.min_order)
    return math.ceil(quantity / policy.pack) * policy.pack


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One item's line of the order list."""

    on_hand: int
    on_order: int
    demand: Demand | None
    order_up_to: int | None
    suggested: int | None  # None: not enough history to say
    runs_out: str | None  # YYYY-MM-DD, or None when it does not within a year
    reason: str


def suggest(
    on_hand: int,
    on_order: int,
    counted_at: float,
    points: Sequence[Point],
    policy: OrderingPolicy,
) -> Suggestion:
    """The suggestion for one item whose counts (with the last one) are ``points``."""
    demand = estimate(points)
    if demand is None:
        return Suggestion(
            on_hand, on_order, None, None, None, None,
            _too_little(points),
        )  # fmt: skip
    level = order_up_to(demand, policy)
    position = on_hand + on_order
    quantity = suggested(level, position, policy)
    runs_out = _runs_out(on_hand, demand.mean, counted_at)
    return Suggestion(
        on_hand, on_order, demand, level, quantity, runs_out,
        reason(on_hand, on_order, level, quantity, runs_out, policy),
    )  # fmt: skip


def _too_little(points: Sequence[Point]) -> str:
    if len(points) < MIN_COUNTS:
        return f"not enough history ({len(points)} of {MIN_COUNTS} counts)"
    return f"not enough history (counts over less than {MIN_SPAN_DAYS:g} days)"


def _runs_out(on_hand: int, daily: float, counted_at: float) -> str | None:
    if on_hand <= 0:
        return _date(counted_at)
    if daily <= 0 or on_hand / daily > 365:
        return None
    return _date(counted_at + on_hand / daily * DAY)


def _date(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def reason(
    on_hand: int,
    on_order: int,
    level: int,
    quantity: int,
    runs_out: str | None,
    policy: OrderingPolicy,
) -> str:
    """One line a manager reads beside the number."""
    lead = f"{policy.lead_days:g}-day lead time"
    if quantity == 0:
        if on_order:
            return f"{on_order} on order brings it to {on_hand + on_order} of {level}"
        return f"enough: {on_hand} on hand of {level}"
    if on_hand <= 0:
        state = "out of stock" if on_hand == 0 else f"oversold by {-on_hand}"
        return f"{state}; {lead}"
    if runs_out is not None:
        day = datetime.fromisoformat(runs_out)
        return f"runs out {day:%a} {day.day} {day:%b}; {lead}"
    return f"below {level} (on hand {on_hand}, on order {on_order}); {lead}"


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
    demand = estimate(points, days)
    if demand is None:
        return None
    series = daily_series(points, days)
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


# The settings of ``stockwatch ordering set``, field by field: None leaves a field to the
# broader entries, as thresholds do (``core.thresholds``).
SETTINGS = ("lead_days", "review_days", "service_level", "pack", "min_order")


@dataclass(frozen=True, slots=True)
class OrderingEntry:
    """The ordering settings set on one (store, item); ``*`` matches all."""

    store: str
    item: str
    lead_days: float | None = None
    review_days: float | None = None
    service_level: float | None = None
    pack: int | None = None
    min_order: int | None = None
    updated_at: str = ""
    by: str = ""

    def given(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in SETTINGS if getattr(self, k) is not None}

    def merged(self, newer: OrderingEntry) -> OrderingEntry:
        """This entry with what ``newer`` sets: a field left out keeps its value."""
        return OrderingEntry(
            self.store, self.item, **{**self.given(), **newer.given()},  # type: ignore[arg-type]
            updated_at=newer.updated_at, by=newer.by,
        )  # fmt: skip


class OrderingBook:
    """Each item's settings: every field from the most specific entry that sets it,
    (store, item), then (store, *), then (*, item), then (*, *), then the defaults."""

    def __init__(self, entries: Iterable[OrderingEntry] = ()) -> None:
        self._by_key = {(e.store, e.item): e for e in entries}

    def policy(self, store: str, item: str) -> OrderingPolicy:
        values: dict[str, float | int] = {}
        by_key = self._by_key
        for key in ((WILDCARD, WILDCARD), (WILDCARD, item), (store, WILDCARD), (store, item)):
            entry = by_key.get(key)
            if entry is not None:
                values.update(entry.given())
        return OrderingPolicy(**values)  # type: ignore[arg-type]


# -- move before you buy -----------------------------------------------------------------

# A store gives only what it holds beyond its own order-up-to level and this many days of
# its demand: a transfer must not leave the giver ordering next week.
KEEP_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class Need:
    """One store's position in an item, as the order list sees it."""

    store: str
    item: str
    on_hand: int
    daily: float | None  # None: too little history (such a store neither gives nor asks)
    level: int | None  # order-up-to level
    short: int  # level - (on hand + on order), or 0


@dataclass(frozen=True, slots=True)
class Transfer:
    item: str
    source: str
    target: str
    quantity: int


def spare(need: Need) -> int:
    """What a store can give of the item: its stock beyond level plus a week of demand."""
    if need.level is None or need.daily is None:
        return 0
    return max(0, need.on_hand - need.level - math.ceil(KEEP_DAYS * need.daily))


def plan_transfers(needs: Iterable[Need]) -> list[Transfer]:
    """Transfers that cover what stores are short of from what others can spare, before
    anything is ordered: the largest need is served first, from the largest spare."""
    by_item: dict[str, list[Need]] = {}
    for need in needs:
        by_item.setdefault(need.item, []).append(need)
    moves: list[Transfer] = []
    for item in sorted(by_item):
        stores = by_item[item]
        left = {n.store: spare(n) for n in stores}
        if not any(left.values()):
            continue
        for need in sorted(stores, key=lambda n: (-n.short, n.store)):
            wanted = need.short
            while wanted > 0:
                givers = [s for s, n in left.items() if n > 0 and s != need.store]
                if not givers:
                    break
                source = min(givers, key=lambda s: (-left[s], s))
                quantity = min(wanted, left[source])
                moves.append(Transfer(item, source, need.store, quantity))
                left[source] -= quantity
                wanted -= quantity
    return moves
