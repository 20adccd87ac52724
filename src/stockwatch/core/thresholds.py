"""Low-stock thresholds: a minimum per (store, item), with ``*`` as a wildcard.

The most specific threshold wins: (store, item), then (store, *), then (*, item), then
(*, *). A minimum of 0 switches low-stock alerts off for that scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Threshold:
    store: str
    item: str
    minimum: int


class Thresholds:
    def __init__(self, entries: Iterable[Threshold] = ()) -> None:
        self._by_key = {(t.store, t.item): t.minimum for t in entries}

    def __len__(self) -> int:
        return len(self._by_key)

    def minimum_for(self, store: str, item: str) -> int | None:
        by_key = self._by_key
        for key in ((store, item), (store, WILDCARD), (WILDCARD, item), (WILDCARD, WILDCARD)):
            minimum = by_key.get(key)
            if minimum is not None:
                return minimum or None
        return None

    def candidate_bound(self) -> int:
        """The highest count at which any change could matter to an alert.

        A change whose old and new counts are both above this bound can neither raise nor
        resolve anything, so backends may skip it before asking ``evaluate_changes``
        (it is the local twin of the stream's FilterCriteria).
        """
        return max([0, *(m - 1 for m in self._by_key.values())])
