"""Backtest of the "runs out in N days" estimator on histories whose true usage is known.

    python bench/forecast_bench.py                 # 400 items per kind of history
    python bench/forecast_bench.py --items 100 --json

Each item's history is simulated: a true daily demand rate, Poisson (or overdispersed)
sales every day, counts taken at some times, restocks that make the count jump up. The
truth is the item's days of cover at its last count: that count over the expected usage of
the next fourteen days. The estimate is ``core.forecast``'s exponentially weighted ratio;
beside it, in the same run, the naive estimate: the drop between the last two counts that
dropped, over the time between them. Printed: the median and 90th-percentile relative error
of days of cover, per kind of history and over all of them.

Targets: the estimator's median error at most 15 %, and its 90th percentile at most half of
the naive estimate's. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stockwatch.core.forecast import DAY, cover, naive_usage, weighted_usage

MEDIAN_TARGET = 0.15
P90_RATIO_TARGET = 0.5
HISTORY_DAYS = 42
HORIZON_DAYS = 14

Rate = Callable[[float], float]  # true demand per day at day t


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation, fast and close enough here
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def simulate(
    rng: random.Random,
    rate: Rate,
    count_times: list[float],
    overdispersed: bool = False,
    restock: bool = False,
) -> tuple[list[tuple[float, int]], float]:
    """The counts seen at ``count_times`` (days) and the true days of cover at the last."""
    base = rate(0.0)
    stock = int(base * (HISTORY_DAYS + 10)) + rng.randint(20, 60) if not restock else 0
    if restock:
        stock = int(base * rng.uniform(6, 12)) + 10
    points: list[tuple[float, int]] = []
    times = iter(sorted(count_times))
    next_count = next(times, None)
    day = 0.0
    step = 0.25  # sales happen in quarter days, so counts can fall mid-day
    while next_count is not None:
        while next_count is not None and next_count <= day:
            points.append((next_count * DAY, stock))
            next_count = next(times, None)
        mean = rate(day) * step
        if overdispersed:
            mean *= rng.gammavariate(2.0, 0.5)  # same mean, twice the variance or more
        stock = max(0, stock - _poisson(rng, mean))
        if restock and stock < base * 3:
            stock += int(base * rng.uniform(8, 14))
        day += step
    last_time, last_count = points[-1][0] / DAY, points[-1][1]
    expected = statistics.fmean(rate(last_time + h / 4) for h in range(HORIZON_DAYS * 4))
    return points, last_count / expected


def daily(rng: random.Random) -> list[float]:
    start = rng.uniform(0, 0.9)
    return [start + d + rng.uniform(-0.05, 0.05) for d in range(HISTORY_DAYS)]


def irregular(rng: random.Random) -> list[float]:
    times, t = [], rng.uniform(0, 1)
    while t < HISTORY_DAYS:
        times.append(t)
        t += rng.choice([0.3, 0.5, 1, 1, 2, 3, 4, 7]) * rng.uniform(0.8, 1.2)
    return times


def kinds(rng: random.Random) -> dict[str, Callable[[], tuple[list[tuple[float, int]], float]]]:
    def steady() -> tuple[list[tuple[float, int]], float]:
        r = rng.uniform(2, 50)
        return simulate(rng, lambda t: r, daily(rng))

    def noisy() -> tuple[list[tuple[float, int]], float]:
        r = rng.uniform(2, 50)
        return simulate(rng, lambda t: r, daily(rng), overdispersed=True)

    def weekly() -> tuple[list[tuple[float, int]], float]:
        r, phase = rng.uniform(2, 50), rng.randrange(7)

        def rate(t: float) -> float:
            return r * (1.9 if (int(t) + phase) % 7 in (5, 6) else 0.64)

        return simulate(rng, rate, daily(rng))

    def restocks() -> tuple[list[tuple[float, int]], float]:
        r = rng.uniform(2, 50)
        return simulate(rng, lambda t: r, daily(rng), restock=True)

    def irregular_intervals() -> tuple[list[tuple[float, int]], float]:
        r = rng.uniform(2, 50)
        return simulate(rng, lambda t: r, irregular(rng), overdispersed=True)

    return {
        "steady": steady,
        "noisy": noisy,
        "weekly seasonality": weekly,
        "restocks": restocks,
        "irregular intervals": irregular_intervals,
    }


def _naive_days(points: list[tuple[float, int]]) -> float | None:
    """The naive estimate, as generous as it can be: the last two counts that dropped."""
    for end in range(len(points), 1, -1):
        usage = naive_usage(points[:end])
        if usage is not None:
            return cover(points[-1][1], usage, points[-1][0]).days_of_cover
    return None


def _error(estimate: float | None, truth: float) -> float:
    if estimate is None:
        return 1.0  # no estimate at all counts as 100 % off
    return abs(estimate - truth) / truth


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def backtest(items: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    table: dict[str, dict[str, float]] = {}
    every: dict[str, list[float]] = {"ewma": [], "naive": []}
    for name, make in kinds(rng).items():
        errors: dict[str, list[float]] = {"ewma": [], "naive": []}
        for _ in range(items):
            points, truth = make()
            while truth <= 0:  # sold out by its last count: nothing left to forecast
                points, truth = make()
            ours = cover(points[-1][1], weighted_usage(points), points[-1][0]).days_of_cover
            errors["ewma"].append(_error(ours, truth))
            errors["naive"].append(_error(_naive_days(points), truth))
        for key in every:
            every[key] += errors[key]
        table[name] = _row(errors)
    table["all"] = _row(every)
    return table


def _row(errors: dict[str, list[float]]) -> dict[str, float]:
    return {
        "median": statistics.median(errors["ewma"]),
        "p90": _p90(errors["ewma"]),
        "naive_median": statistics.median(errors["naive"]),
        "naive_p90": _p90(errors["naive"]),
        "items": len(errors["ewma"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400, help="items per kind of history")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()
    table = backtest(args.items, args.seed)
    overall = table["all"]
    passed = (
        overall["median"] <= MEDIAN_TARGET
        and overall["p90"] <= P90_RATIO_TARGET * overall["naive_p90"]
    )
    if args.json:
        print(json.dumps({"table": table, "passed": passed}, indent=2))
        return 0 if passed else 1
    print(f"days-of-cover error, {args.items} items per kind (seed {args.seed})")
    print(f"{'history':<22}{'median':>9}{'p90':>9}{'naive med':>11}{'naive p90':>11}")
    for name, row in table.items():
        print(
            f"{name:<22}{row['median']:>8.1%}{row['p90']:>9.1%}"
            f"{row['naive_median']:>11.1%}{row['naive_p90']:>11.1%}"
        )
    print(
        f"targets: median <= {MEDIAN_TARGET:.0%} ({overall['median']:.1%}); p90 <= "
        f"{P90_RATIO_TARGET:.0%} of naive p90 ({overall['p90']:.1%} vs "
        f"{P90_RATIO_TARGET * overall['naive_p90']:.1%}): {'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
