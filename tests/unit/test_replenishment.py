"""The demand estimate, the order-up-to suggestion and the backtest (core.replenishment)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.backtest import backtest, replay
from stockwatch.core.demand import daily_series, estimate
from stockwatch.core.figures import advance, as_of, bounds, figures_of
from stockwatch.core.forecast import DAY, weighted_usage
from stockwatch.core.replenishment import (
    OrderingBook,
    OrderingEntry,
    OrderingPolicy,
    order_up_to,
    suggest,
    suggested,
)
from stockwatch.core.transfers import Need, Transfer, plan_transfers, spare

T0 = 1_800_000_000.0  # Fri 15 Jan 2027, 08:00 UTC


def daily(counts: list[int], start: float = T0) -> list[tuple[float, int]]:
    return [(start + i * DAY, c) for i, c in enumerate(counts)]


def test_a_steady_decline_is_its_rate_with_no_deviation() -> None:
    demand = estimate(daily([100, 95, 90, 85, 80]))
    assert demand is not None
    assert (demand.mean, demand.sd, demand.days, demand.method) == (5.0, 0.0, 4, "mean")


def test_a_drop_over_several_days_is_spread_over_them() -> None:
    # counted on days 0, 1 and 4: the drop of 9 between day 1 and day 4 is 3 a day
    points = [(T0, 20), (T0 + DAY, 17), (T0 + 4 * DAY, 8)]
    assert daily_series(points) == pytest.approx([3.0, 3.0, 3.0, 3.0])


def test_deliveries_and_days_at_zero_are_left_out() -> None:
    #           sold 4, delivery, sold 6, sold 10 to 0, at 0, at 0 then delivery
    points = daily([10, 6, 30, 24, 14, 0, 0, 40])
    assert daily_series(points) == pytest.approx([4.0, 6.0, 10.0, 14.0])


def test_fewer_than_three_counts_is_not_enough_history() -> None:
    line = suggest(4, 0, figures_of(daily([10, 4])), OrderingPolicy())
    assert line.suggested is None and line.order_up_to is None
    assert line.reason == "not enough history (2 of 3 counts)"
    # only changes are kept: two counts days apart say the count held between them
    unchanged = suggest(9, 0, figures_of([(T0, 9), (T0 + 4 * DAY, 9)]), OrderingPolicy())
    assert (unchanged.suggested, unchanged.order_up_to) == (0, 0)


def test_the_suggestion_of_an_item_running_out() -> None:
    # 5 a day, no deviation: S = 5 x (7 + 7) = 70; 20 on hand and 12 on order -> 38, packs of 12
    points = daily([40, 35, 30, 25, 20])
    line = suggest(20, 12, figures_of(points), OrderingPolicy(pack=12))
    assert (line.order_up_to, line.suggested) == (70, 48)
    assert line.runs_out == "2027-01-23"
    assert line.reason == "runs out Sat 23 Jan; 7-day lead time"


def test_nothing_is_suggested_once_the_position_reaches_the_level() -> None:
    points = daily([40, 35, 30, 25, 20])
    line = suggest(20, 60, figures_of(points), OrderingPolicy())
    assert line.suggested == 0 and line.reason == "60 on order brings it to 80 of 70"


def test_a_slow_mover_gets_the_sba_estimate() -> None:
    # one unit every fourth day
    counts = [20]
    for day in range(1, 25):
        counts.append(counts[-1] - (1 if day % 4 == 0 else 0))
    demand = estimate(daily(counts))
    assert demand is not None and demand.method == "sba"
    # SBA's factor on the weighted rate (a recent sale weighs more than one a week back)
    assert demand.mean == pytest.approx(0.95 * (weighted_usage(daily(counts)) or 0))
    assert 0.2 < demand.mean < 0.3


_counts = st.lists(st.integers(-5, 500), min_size=3, max_size=40)
_gaps = st.lists(st.floats(0.1, 5.0), min_size=40, max_size=40)


def _points(counts: list[int], gaps: list[float]) -> list[tuple[float, int]]:
    moments = [T0]
    for gap in gaps[: len(counts) - 1]:
        moments.append(moments[-1] + gap * DAY)
    return list(zip(moments, counts, strict=True))


@given(_counts, _gaps)
def test_demand_is_never_negative(counts: list[int], gaps: list[float]) -> None:
    assert all(v >= 0 for v in daily_series(_points(counts, gaps)))


@given(_counts, _gaps)
def test_deliveries_never_count_as_demand(counts: list[int], gaps: list[float]) -> None:
    """Kept figures: a history of rises and flat stretches has a demand of 0, and adding a
    delivery between two counts never raises the estimate."""
    demand = estimate(_points(sorted(counts), gaps))
    assert demand is None or (demand.mean, demand.sd) == (0.0, 0.0)


@given(st.integers(1, 20), st.lists(st.integers(50, 500), min_size=4, max_size=12))
def test_a_constant_decline_has_no_deviation(rate: int, hundredths: list[int]) -> None:
    """Whatever the spacing of the counts, units sold in proportion to the time give sd 0
    (counts ``rate`` x 100 a day apart, over gaps of whole hundredths of a day)."""
    points = [(T0, 100_000)]
    for gap in hundredths:
        points.append((points[-1][0] + gap * DAY / 100, points[-1][1] - rate * gap))
    demand = estimate(points)
    assert demand is not None
    assert demand.sd == pytest.approx(0.0, abs=1e-6 * rate * 100)
    assert demand.mean == pytest.approx(rate * 100, rel=1e-3)


@given(_counts, _gaps)
def test_kept_figures_are_the_history_folded(counts: list[int], gaps: list[float]) -> None:
    """Moving the figures on one count at a time gives what the whole history gives, and
    reading them later (a re-upload that confirmed the count) is one more quiet interval."""
    points = _points(counts, gaps)
    kept = figures_of(points[:1])
    assert kept is not None
    for at, count in points[1:]:
        kept = advance(kept, at, count)
    assert kept == figures_of(points)
    later = points[-1][0] + 3 * DAY
    assert as_of(kept, later) == figures_of([*points, (later, points[-1][1])])


@given(_counts, _gaps)
def test_counts_that_only_rise_show_no_demand(counts: list[int], gaps: list[float]) -> None:
    """Deliveries are never demand: a history of rises and flat days sells nothing."""
    rising = sorted(counts)
    assert sum(daily_series(_points(rising, gaps))) == 0


@given(st.integers(1, 50), st.lists(st.integers(1, 4), min_size=2, max_size=20))
def test_a_constant_decline_gives_no_deviation(rate: int, gaps: list[int]) -> None:
    """Counted every few days (whole days, so the counts are whole units), a steady
    decline is the same demand every day."""
    days = [0]
    for gap in gaps:
        days.append(days[-1] + gap)
    points = [(T0 + d * DAY, 100_000 - rate * d) for d in days]
    demand = estimate(points)
    assert demand is not None
    assert demand.sd == pytest.approx(0.0, abs=1e-9) and demand.mean == pytest.approx(rate)


_policy = st.builds(
    OrderingPolicy,
    lead_days=st.integers(0, 30),
    review_days=st.integers(1, 30),
    service_level=st.floats(50, 99.9),
    pack=st.integers(1, 48),
    min_order=st.integers(0, 100),
)


@settings(max_examples=200)
@given(_counts, _gaps, _policy, st.integers(-20, 400), st.integers(0, 200))
def test_the_suggestion_is_a_multiple_of_the_pack_and_at_least_the_minimum(
    counts: list[int], gaps: list[float], policy: OrderingPolicy, on_hand: int, on_order: int
) -> None:
    points = _points(counts, gaps)
    line = suggest(on_hand, on_order, figures_of(points), policy)
    if line.suggested is None:
        return
    assert line.suggested % policy.pack == 0
    assert line.suggested == 0 or line.suggested >= policy.min_order
    assert line.order_up_to is not None
    assert (line.suggested == 0) == (on_hand + on_order >= line.order_up_to)


@given(_counts, _gaps, _policy, st.floats(50, 99.9), st.integers(0, 30))
def test_more_service_or_a_longer_lead_never_orders_less(
    counts: list[int], gaps: list[float], policy: OrderingPolicy, level: float, more: int
) -> None:
    demand = estimate(_points(counts, gaps))
    if demand is None:
        return
    low, high = sorted([policy.service_level, level])
    base = OrderingPolicy(policy.lead_days, policy.review_days, low, policy.pack)
    safer = OrderingPolicy(policy.lead_days, policy.review_days, high, policy.pack)
    longer = OrderingPolicy(policy.lead_days + more, policy.review_days, low, policy.pack)
    assert order_up_to(demand, safer) >= order_up_to(demand, base)
    assert order_up_to(demand, longer) >= order_up_to(demand, base)
    for position in (-5, 0, 10, 100):
        assert suggested(order_up_to(demand, safer), position, safer) >= suggested(
            order_up_to(demand, base), position, base
        )


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@pytest.mark.parametrize("level", [90.0, 95.0, 99.0])
def test_the_policy_reaches_its_service_level_on_poisson_demand(level: float) -> None:
    """Sized from 28 days of daily counts, the policy serves at least the service level of
    a long run of fresh Poisson demand (the level is a cycle service level, so the fill
    rate it gives is higher still)."""
    rng = random.Random(7)
    counts = [10_000]
    for _ in range(28):
        counts.append(counts[-1] - _poisson(rng, 6.0))
    policy = OrderingPolicy(lead_days=3, review_days=7, service_level=level)
    demand = estimate(daily(counts))
    assert demand is not None and demand.mean == pytest.approx(6.0, rel=0.25)
    level_s = order_up_to(demand, policy)
    future = [float(_poisson(rng, 6.0)) for _ in range(3000)]
    outcome = replay(
        future, level_s, policy, lambda position: suggested(level_s, math.ceil(position), policy)
    )
    assert outcome.fill_rate is not None and outcome.fill_rate >= level / 100


def test_the_backtest_compares_with_min_max() -> None:
    rng = random.Random(3)
    counts = [200]
    for _ in range(60):
        counts.append(max(0, counts[-1] - _poisson(rng, 4.0)))
        if counts[-1] < 30:
            counts[-1] += 120  # a delivery
    result = backtest(daily(counts), OrderingPolicy(lead_days=2, review_days=7), 10, days=60)
    assert result is not None
    ours, theirs = result.policies["order_up_to"], result.policies["min_max"]
    assert ours is not None and theirs is not None
    assert ours.fill_rate is not None and theirs.fill_rate is not None
    assert ours.fill_rate > theirs.fill_rate and ours.stockout_days < theirs.stockout_days
    plain = backtest(daily(counts), OrderingPolicy(), None)
    assert plain is not None and plain.policies["min_max"] is None


def test_settings_out_of_range_say_which() -> None:
    with pytest.raises(ValueError, match=r"service level 100% is not between 50 and 99\.9"):
        OrderingPolicy(service_level=100)
    with pytest.raises(ValueError, match="pack size 0"):
        OrderingPolicy(pack=0)


def test_a_store_short_of_an_item_is_sent_what_another_can_spare_first() -> None:
    needs = [
        Need("Berlin", "Dot", 2, 5.0, 70, 68),
        # Karachi: level 20, a week of demand 14 -> it can spare 100 - 34 = 66
        Need("Karachi", "Dot", 100, 2.0, 20, 0),
        Need("Pusan", "Dot", 30, 1.0, 10, 0),  # spares 30 - 17 = 13
        Need("Lima", "Dot", 500, None, None, 0),  # no history: gives nothing
    ]
    assert plan_transfers(needs) == [
        Transfer("Dot", "Karachi", "Berlin", 66),
        Transfer("Dot", "Pusan", "Berlin", 2),
    ]
    assert spare(needs[0]) == 0


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.floats(0, 20), st.integers(0, 200), st.integers(0, 200)),
        min_size=1,
        max_size=8,
    )
)
def test_transfers_never_take_more_than_a_store_spares_nor_give_more_than_is_short(
    stores: list[tuple[int, float, int, int]],
) -> None:
    needs = [
        Need(f"S{i}", "X", on_hand, daily, level, max(0, level - on_hand - on_order))
        for i, (on_hand, daily, level, on_order) in enumerate(stores)
    ]
    moves = plan_transfers(needs)
    for need in needs:
        given_away = sum(m.quantity for m in moves if m.source == need.store)
        received = sum(m.quantity for m in moves if m.target == need.store)
        assert given_away <= spare(need) and received <= need.short
        assert not (given_away and received)
    assert all(m.quantity > 0 and m.source != m.target for m in moves)


def test_counts_minutes_apart_say_nothing_of_a_daily_rate() -> None:
    minutes = [(T0, 40), (T0 + 60, 35), (T0 + 120, 30)]
    line = suggest(30, 0, figures_of(minutes), OrderingPolicy())
    assert line.suggested is None
    assert line.reason == "not enough history (under 2 days of counts with stock on the shelf)"
    # a day known for a sliver of it is left out, not scaled up to a whole day: here the
    # last day holds only the minute after a delivery, in which 10 sold
    points = [(T0, 40), (T0 + DAY, 35), (T0 + 3 * DAY, 100), (T0 + 3 * DAY + 60, 90)]
    assert daily_series(points) == pytest.approx([5.0])


@given(_counts, _gaps, st.floats(0.0, 200.0))
def test_the_bounds_hold_however_long_the_count_stays(
    counts: list[int], gaps: list[float], quiet: float
) -> None:
    """What a backend filters the order list with: the demand and deviation an item's
    figures give after any quiet interval never exceed ``bounds`` of its last change."""
    kept = figures_of(_points(counts, gaps))
    assert kept is not None
    top_mean, top_sd = bounds(kept)
    demand = estimate([*_points(counts, gaps), (kept.at + quiet * DAY, kept.count)])
    if demand is not None:
        assert demand.mean <= top_mean * (1 + 1e-9) + 1e-12
        assert demand.sd <= top_sd * (1 + 1e-9) + 1e-9


_NAMES = st.sampled_from(["*", "Berlin", "Pusan", "Dot", "Tap"])


@given(
    st.lists(
        st.tuples(
            _NAMES,
            _NAMES,
            st.sampled_from([None, 1.0, 3.0]),
            st.sampled_from([None, 90.0, 99.0]),
            st.sampled_from([None, 6]),
        ),
        max_size=6,
    ),
    st.lists(st.tuples(_NAMES.filter(lambda n: n != "*"), _NAMES), min_size=1, max_size=8),
)
def test_each_item_takes_each_setting_from_the_most_specific_entry(
    entries: list[tuple[str, str, float | None, float | None, int | None]],
    asked: list[tuple[str, str]],
) -> None:
    """The shortcut for items no entry names gives what resolving field by field gives."""
    book = OrderingBook(
        OrderingEntry(store, item, lead_days=lead, service_level=level, pack=pack)
        for store, item, lead, level, pack in entries
    )
    by_key = {(e[0], e[1]): e for e in entries}
    for store, item in asked:
        want: dict[str, float | int] = {}
        for key in (("*", "*"), ("*", item), (store, "*"), (store, item)):
            if key in by_key:
                _, _, lead, level, pack = by_key[key]
                given_ = {"lead_days": lead, "service_level": level, "pack": pack}
                want.update({k: v for k, v in given_.items() if v is not None})
        assert book.policy(store, item) == OrderingPolicy(**want)  # type: ignore[arg-type]
