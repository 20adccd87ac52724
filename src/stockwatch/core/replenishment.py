"""What to order: the periodic-review order-up-to policy, and the settings that size it.

Every ``review_days`` the position (on hand plus on order) is raised to
``S = d(R+L) + z·sd·√(R+L)``, where ``d`` and ``sd`` are the item's daily demand
(``core.demand``), ``L`` the lead time, ``R`` the review period and ``z`` the service level's
quantile of the normal distribution. The suggestion is rounded up to the pack and is at
least the minimum order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from stockwatch.core.demand import MIN_COUNTS, MIN_SPAN_DAYS, Demand, estimate_of
from stockwatch.core.figures import DAY, Figures
from stockwatch.core.forecast import day_of
from stockwatch.core.thresholds import WILDCARD


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
        return _z(self.service_level)

    @property
    def horizon(self) -> float:
        """R + L: the days an order placed now has to last."""
        return self.review_days + self.lead_days


@functools.lru_cache(maxsize=256)
def _z(service_level: float) -> float:
    # statistics is imported here: it was a twentieth of `stockwatch ingest`'s start-up.
    from statistics import NormalDist

    return NormalDist().inv_cdf(service_level / 100)


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


class Suggestion(NamedTuple):
    """One item's line of the order list."""

    on_hand: int
    on_order: int
    demand: Demand | None
    order_up_to: int | None
    suggested: int | None  # None: not enough history to say
    runs_out: str | None  # YYYY-MM-DD, or None when it does not within a year
    reason: str
    # Units below the order-up-to level, on order counted (0 without a level): what a
    # transfer may bring in.
    short: int = 0


class Held(NamedTuple):
    """An item's stock as the order list reads it. (A stock row has more, which the list
    needs not, and a named tuple is made in a fifth of its time: the list over a million
    items reads tens of thousands.)"""

    store: str
    item: str
    on_hand: int
    sku: str | None = None


class Estimate(NamedTuple):
    """What the order list judges an item by: its demand (None: too little history), when
    the count its figures are as of was taken (seconds), and how many counts they hold."""

    demand: Demand | None
    counted_at: float
    counts: int


def estimate_at(figures: Figures | None) -> Estimate:
    """The estimate of an item whose kept figures, ``as_of`` its last count, are
    ``figures``. A backend that estimates in its own query (``sqlite.figures.estimated``)
    makes the same values there."""
    if figures is None:
        return Estimate(None, 0.0, 0)
    return Estimate(estimate_of(figures), figures.at, figures.counts)


def suggest(
    on_hand: int,
    on_order: int,
    figures: Figures | None,
    policy: OrderingPolicy,
) -> Suggestion:
    """The suggestion for one item whose kept figures, ``as_of`` its last count (when
    ``on_hand`` was counted), are ``figures``."""
    return suggest_from(on_hand, on_order, estimate_at(figures), policy)


def suggest_from(
    on_hand: int, on_order: int, estimate: Estimate, policy: OrderingPolicy
) -> Suggestion:
    """``suggest`` for an item already estimated."""
    demand = estimate.demand
    if demand is None:
        return Suggestion(
            on_hand, on_order, None, None, None, None,
            _too_little(estimate.counts),
        )  # fmt: skip
    level = order_up_to(demand, policy)
    position = on_hand + on_order
    quantity = suggested(level, position, policy)
    runs_out = _runs_out(on_hand, demand.mean, estimate.counted_at)
    return Suggestion(
        on_hand, on_order, demand, level, quantity, runs_out,
        reason(on_hand, on_order, level, quantity, runs_out, policy),
        level - position if level > position else 0,
    )  # fmt: skip


def _too_little(counts: int) -> str:
    if counts < MIN_COUNTS:
        return f"not enough history ({counts} of {MIN_COUNTS} counts)"
    return f"not enough history (under {MIN_SPAN_DAYS:g} days of counts with stock on the shelf)"


def _runs_out(on_hand: int, daily: float, counted_at: float) -> str | None:
    if on_hand <= 0:
        return day_of(counted_at)
    if daily <= 0 or on_hand / daily > 365:
        return None
    return day_of(counted_at + on_hand / daily * DAY)


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
        return f"runs out {_day_words(runs_out)}; {lead}"
    return f"below {level} (on hand {on_hand}, on order {on_order}); {lead}"


@functools.lru_cache(maxsize=4096)
def _day_words(day: str) -> str:
    """YYYY-MM-DD as "Tue 8 Dec"."""
    moment = datetime.fromisoformat(day)
    return f"{moment:%a} {moment.day} {moment:%b}"


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


@dataclass(frozen=True, slots=True)
class PolicyBounds:
    """The longest and shortest horizon (R + L) and the highest and lowest z any item's
    settings can give: with ``core.figures.bounds`` they bound every item's order-up-to
    level, which lets a backend pick out the items that may need an order or have some to
    spare without resolving each one's settings."""

    horizon_max: float
    z_max: float
    horizon_min: float
    z_min: float

    def most(self, mean_max: float, sd_max: float) -> float:
        """Above the order-up-to level of an item whose demand and deviation are at most
        these, whatever its settings (within one unit of rounding)."""
        return (
            mean_max * self.horizon_max
            + max(self.z_max, 0.0) * sd_max * math.sqrt(self.horizon_max)
            + 1
        )


class OrderingBook:
    """Each item's settings: every field from the most specific entry that sets it,
    (store, item), then (store, *), then (*, item), then (*, *), then the defaults."""

    def __init__(self, entries: Iterable[OrderingEntry] = ()) -> None:
        self._by_key = {(e.store, e.item): e for e in entries}
        # Most items resolve from the same few entries: the policy of each combination.
        # (Keyed by the entries' identities: hashing their fields cost more than resolving.)
        self._resolved: dict[tuple[int, ...], OrderingPolicy] = {}
        # A store and an item that no entry names take the (*, *) entry or the defaults:
        # most of a chain's items, answered without resolving.
        self._stores = {e.store for e in self._by_key.values() if e.store != WILDCARD}
        self._items = {e.item for e in self._by_key.values() if e.item != WILDCARD}
        self._everywhere: OrderingPolicy | None = None

    def policy(self, store: str, item: str) -> OrderingPolicy:
        if store not in self._stores and item not in self._items:
            if self._everywhere is None:
                self._everywhere = self._resolve(store, item)
            return self._everywhere
        return self._resolve(store, item)

    def _resolve(self, store: str, item: str) -> OrderingPolicy:
        by_key = self._by_key
        found = (
            by_key.get((WILDCARD, WILDCARD)), by_key.get((WILDCARD, item)),
            by_key.get((store, WILDCARD)), by_key.get((store, item)),
        )  # fmt: skip
        ids = tuple(map(id, found))
        policy = self._resolved.get(ids)
        if policy is None:
            values: dict[str, float | int] = {}
            for entry in found:
                if entry is not None:
                    values.update(entry.given())
            policy = OrderingPolicy(**values)  # type: ignore[arg-type]
            self._resolved[ids] = policy
        return policy

    def bounds(self) -> PolicyBounds:
        """Each setting may come from any entry, or the default: the extremes of each."""
        default = OrderingPolicy()
        entries = self._by_key.values()

        def values(name: str) -> list[float]:
            found = [getattr(e, name) for e in entries if getattr(e, name) is not None]
            return [float(getattr(default, name)), *found]

        leads, reviews, levels = values("lead_days"), values("review_days"), values("service_level")
        return PolicyBounds(
            max(leads) + max(reviews), _z(max(levels)), min(leads) + min(reviews), _z(min(levels))
        )
