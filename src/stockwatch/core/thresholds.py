"""Low-stock thresholds: a minimum per (store, item), with ``*`` as a wildcard.

The most specific threshold wins: (store, item), then (store, *), then (*, item), then
(*, *). A minimum of 0 switches low-stock alerts off for that scope. A threshold may also
carry ``cover_days``: raise ``running_out`` when the item's days of cover falls below it.
It is looked up on its own, along the same chain, so an item's own minimum does not switch
off its store's cover; a ``cover_days`` of 0 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WILDCARD = "*"


# What a threshold change sets: (store, item, minimum, cover_days or None).
ThresholdEntry = tuple[str, str, int, int | None]

# Any count can matter once days of cover can: the bound of "every change".
EVERY_COUNT = 2**62


@dataclass(frozen=True, slots=True)
class Threshold:
    store: str
    item: str
    minimum: int
    cover_days: int | None = None


class Thresholds:
    def __init__(self, entries: Iterable[Threshold] = ()) -> None:
        entries = list(entries)
        self._by_key = {(t.store, t.item): t.minimum for t in entries}
        self._cover = {(t.store, t.item): t.cover_days for t in entries if t.cover_days is not None}

    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def has_cover(self) -> bool:
        return any(self._cover.values())

    def cover_days_for(self, store: str, item: str) -> int | None:
        cover = self._cover
        if not cover:
            return None
        for key in ((store, item), (store, WILDCARD), (WILDCARD, item), (WILDCARD, WILDCARD)):
            days = cover.get(key)
            if days is not None:
                return days or None
        return None

    def own_cover(self, store: str, item: str) -> int | None:
        """The cover days set on exactly this (store, item), none inherited."""
        return self._cover.get((store, item))

    def keeping_cover(self, entries: Iterable[ThresholdEntry]) -> list[ThresholdEntry]:
        """Entries that leave cover days out keep the ones their threshold has: changing a
        minimum must not drop what nobody asked to change (0 switches cover off)."""
        return [
            (s, i, m, self.own_cover(s, i) if cover is None else cover)
            for s, i, m, cover in entries
        ]

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
        (it is the local twin of the stream's FilterCriteria). With a cover threshold, any
        change can matter: days of cover move with every count.
        """
        if self.has_cover:
            return EVERY_COUNT
        return max([0, *(m - 1 for m in self._by_key.values())])
