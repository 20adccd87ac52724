"""Which items the order list must judge, where the read model can pick them out.

Judging every item of a chain (a million of them) costs seconds in Python, though only the
few that may need an order and the stores that may spare the most for them matter. A read
model that implements ``CandidateReads`` (SQLite) answers for those from each item's kept
figures' bounds; the order list then judges them exactly, with the same rules, and gets
the same lines as from every item (``tests/e2e/test_reorder_candidates.py`` compares).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from stockwatch.core.figures import Figures
from stockwatch.core.replenishment import OrderingBook, PolicyBounds, Suggestion
from stockwatch.core.rows import StockRow
from stockwatch.core.transfers import SpareRange

Judged = TypeVar("Judged")


@runtime_checkable
class CandidateReads(Protocol):
    def needing(self, bounds: PolicyBounds) -> list[tuple[StockRow, Figures | None]]:
        """Every item that may be short under any settings within ``bounds``, or lacks
        the history to say (more is fine), in store and item order."""
        ...

    def spares(
        self, items: Sequence[str], floor: int, below: int, bounds: PolicyBounds, latest: int
    ) -> list[SpareRange]:
        """The stores holding from ``floor`` to below ``below`` of each item, with the
        range what each can spare lies in."""
        ...

    def highest_count(self, items: Sequence[str]) -> int: ...

    def latest_count_ms(self) -> int:
        """When the newest count of all was taken."""
        ...

    def rows_of(self, keys: Sequence[tuple[str, str]]) -> list[tuple[StockRow, Figures | None]]: ...


def to_judge(
    reads: CandidateReads,
    settings: OrderingBook,
    judge: Callable[[StockRow, Figures | None], tuple[StockRow, Suggestion, Judged]],
) -> list[tuple[StockRow, Suggestion, Judged]]:
    """The items that may need an order, and the stores that may give them the most,
    judged by ``judge``, in store and item order."""
    bounds = settings.bounds()
    judged = [judge(row, kept) for row, kept in reads.needing(bounds)]
    short: dict[str, int] = defaultdict(int)
    for row, line, _ in judged:
        if line.order_up_to is not None:
            short[row.item] += max(0, line.order_up_to - row.count - line.on_order)
    needed = {item: units for item, units in short.items() if units > 0}
    if not needed:
        return judged
    seen = {(row.store, row.item) for row, _, _ in judged}
    givers = sorted(_givers(reads, needed, bounds) - seen)
    judged += [judge(row, kept) for row, kept in reads.rows_of(givers)]
    return sorted(judged, key=lambda j: (j[0].store, j[0].item))


def _givers(
    reads: CandidateReads, needed: dict[str, int], bounds: PolicyBounds
) -> set[tuple[str, str]]:
    """The stores a transfer plan may take each needed item from.

    ``core.transfers`` takes from the largest spare first, each giver until it has none
    left. Read from the highest counts down, a band at a time: once the stores whose
    spare is surely at least some level ``t`` can give all that is short, no store that
    cannot reach ``t`` is ever asked, and every store that might reach it is returned."""
    wanted = dict(needed)
    ranges: dict[str, list[SpareRange]] = defaultdict(list)
    chosen: set[tuple[str, str]] = set()
    latest = reads.latest_count_ms()
    below = reads.highest_count(sorted(wanted)) + 1
    while wanted and below > 1:
        floor = below * 3 // 4 if below > 8 else 1
        for found in reads.spares(sorted(wanted), floor, below, bounds, latest):
            ranges[found.item].append(found)
        for item in list(wanted):
            level = _covering(ranges[item], wanted[item])
            if level is not None and level >= floor:
                chosen |= {(r.store, item) for r in ranges[item] if r.high >= level}
                del wanted[item]
        below = floor
    for item in wanted:  # more is short than all can spare: every possible giver
        chosen |= {(r.store, item) for r in ranges[item] if r.high > 0}
    return chosen


def _covering(ranges: list[SpareRange], units: int) -> float | None:
    """The highest level ``t`` at which the stores sure to spare ``t`` or more can give
    ``units`` between them; None if they cannot."""
    total = 0.0
    for low in sorted((r.low for r in ranges if r.low > 0), reverse=True):
        total += low
        if total >= units:
            return low
    return None
