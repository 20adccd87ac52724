"""What a store system's export says about an item besides its count: its SKU, its minimum.

A Shopify, Square or Lightspeed export names each item's SKU, and Square and Lightspeed X
carry the minimum the store keeps (``Stock Alert Count``, ``reorder_point``). They travel
beside the rows, chunk by chunk, rather than in them: most files have neither, and the rows
are what the fast paths move. The reader collects them for the rows it loads; the backends
keep what changed (``core.details`` says what a change is, so both agree).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Key = tuple[str, str]  # (store, item)


@dataclass
class ItemDetails:
    """The SKUs and minimums of some rows of one file, by (store, item); the first row of
    an item wins, as its count does."""

    skus: dict[Key, str] = field(default_factory=dict)
    minimums: dict[Key, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.skus or self.minimums)

    def add(self, store: str, item: str, sku: str, minimum: int | None) -> None:
        key = (store, item)
        if sku:
            self.skus.setdefault(key, sku)
        if minimum is not None:
            self.minimums.setdefault(key, minimum)

    def only(self, stores: frozenset[str]) -> ItemDetails:
        """The details of these stores' rows (an uploader limited to some stores)."""
        return ItemDetails(
            {k: v for k, v in self.skus.items() if k[0] in stores},
            {k: v for k, v in self.minimums.items() if k[0] in stores},
        )


def changed_skus(wanted: dict[Key, str], kept: dict[Key, str]) -> list[tuple[str, str, str]]:
    """(store, item, sku) for each SKU that is new or differs from the one kept."""
    return [(s, i, sku) for (s, i), sku in wanted.items() if kept.get((s, i)) != sku]


@dataclass(frozen=True)
class MinimumPlan:
    """What a file's minimums do to the thresholds: set these (new, or a different value
    than the file set before), and leave alone those set by hand."""

    to_set: list[tuple[str, str, int]]
    kept_by_hand: int


def plan_minimums(wanted: dict[Key, int], current: dict[Key, tuple[int, bool]]) -> MinimumPlan:
    """``current``: the threshold on exactly (store, item) and whether a file set it.

    Hand-set wins: a minimum someone set in stockwatch for this very item is never
    overwritten by a file. A threshold set for a whole store (``*``) is not the item's own,
    so the file's minimum for the item is set beside it (the more specific one applies).
    """
    to_set: list[tuple[str, str, int]] = []
    by_hand = 0
    for (store, item), minimum in wanted.items():
        found = current.get((store, item))
        if found is None:
            to_set.append((store, item, minimum))
        elif not found[1]:
            by_hand += 1
        elif found[0] != minimum:
            to_set.append((store, item, minimum))
    return MinimumPlan(to_set, by_hand)


def merged(parts: Iterable[ItemDetails]) -> ItemDetails:
    found = ItemDetails()
    for part in parts:
        for key, sku in part.skus.items():
            found.skus.setdefault(key, sku)
        for key, minimum in part.minimums.items():
            found.minimums.setdefault(key, minimum)
    return found
