"""Which items the order list must judge, where the read model can pick them out.

Judging every item of a chain (a million of them) costs seconds in Python, though only the
few that may need an order and the stores that may spare the most for them matter. A read
model that implements ``CandidateReads`` (SQLite) answers for those from each item's kept
figures' bounds; the order list then judges them exactly, with the same rules, and gets
the same lines as from every item (``tests/e2e/test_reorder_candidates.py`` compares).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from stockwatch.core.replenishment import (
    Estimate,
    Held,
    OrderingBook,
    PolicyBounds,
    Suggestion,
)

Judged = TypeVar("Judged")


@runtime_checkable
class CandidateReads(Protocol):
    def needing(self, bounds: PolicyBounds) -> list[tuple[Held, Estimate]]:
        """Every item that may be short under any settings within ``bounds``, or lacks
        the history to say (more is fine), in store and item order."""
        ...

    def givers(
        self, wanted: Mapping[str, int], floor: int, bounds: PolicyBounds, latest: int
    ) -> list[tuple[Held, Estimate]]:
        """The stores' rows, with their estimates, that may give the items ``wanted``
        (units short of each) under ``core.transfers``' rule, for the items the stores
        holding ``floor`` or more are sure to cover; with ``floor`` 1, for every item,
        every store that may spare any."""
        ...

    def highest_count(self, items: Sequence[str]) -> int:
        """Where to start looking for givers: the largest count any store holds of these
        items, or more."""
        ...

    def latest_count_ms(self) -> int:
        """A time no count was taken after (the newest count's, or later)."""
        ...


def to_judge(
    reads: CandidateReads,
    settings: OrderingBook,
    judge: Callable[[Held, Estimate], tuple[Held, Suggestion, Judged]],
) -> list[tuple[Held, Suggestion, Judged]]:
    """The items that may need an order, and the stores that may give them the most,
    judged by ``judge``, in store and item order."""
    bounds = settings.bounds()
    judged = [judge(row, estimate) for row, estimate in reads.needing(bounds)]
    short: dict[str, int] = defaultdict(int)
    for row, line, _ in judged:
        short[row.item] += line.short
    needed = {item: units for item, units in short.items() if units > 0}
    if not needed:
        return judged
    seen = {(row.store, row.item) for row, _, _ in judged}
    givers = _givers(reads, needed, bounds)
    judged += [judge(*givers[key]) for key in sorted(givers.keys() - seen)]
    return sorted(judged, key=lambda j: (j[0].store, j[0].item))


def _givers(
    reads: CandidateReads, needed: dict[str, int], bounds: PolicyBounds
) -> dict[tuple[str, str], tuple[Held, Estimate]]:
    """The stores a transfer plan may take each needed item from.

    ``core.transfers`` takes from the largest spare first, each giver until it has none
    left: once the stores sure to spare some level ``t`` or more can give all that is
    short, no store that cannot reach ``t`` is ever asked. The read model finds that level
    among the stores holding the most, a band of counts at a time from the highest down
    (a store holding less than ``t`` cannot spare ``t``), and returns every store that
    might reach it."""
    wanted = dict(needed)
    chosen: dict[tuple[str, str], tuple[Held, Estimate]] = {}
    latest = reads.latest_count_ms()
    floor = reads.highest_count(sorted(wanted)) + 1
    covering = True  # the last band covered some item (the first step is a quarter too)
    while wanted:
        # A quarter lower each time; by half while nothing is covered (the start may be
        # far above the counts of the items short).
        floor = (floor * 3 // 4 if covering else floor // 2) if floor > 8 else 1
        found = reads.givers(wanted, floor, bounds, latest)
        covering = bool(found)
        chosen.update(((row.store, row.item), (row, estimate)) for row, estimate in found)
        if floor <= 1:
            break
        for row, _ in found:
            wanted.pop(row.item, None)
    return chosen
