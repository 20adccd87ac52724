"""What a store system's export says about an item besides its count: its SKU, its minimum.

A Shopify, Square or Lightspeed export names each item's SKU, and Square and Lightspeed X
carry the minimum the store keeps (``Stock Alert Count``, ``reorder_point``). They travel
beside the rows, chunk by chunk, rather than in them: most files have neither, and the rows
are what the fast paths move. The reader collects them for the rows it loads; the backends
keep what changed (``core.details`` says what a change is, so both agree).

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

Key = tuple[str, str]  # (store, item)


@dataclass
class ItemDetails:
    """The SKUs and minimums of some rows of one file, by (store, item); the first row of
    an item wins, as its count does."""

    skus: dict[Key, str] = field(default_factory=dict)
    minimums: dict[Key, int] = field(default_factory=dict)
    # SKUs by store as packed columns, in file order (a clean export read by pyarrow)
    columns: dict[str, list[SkuColumns]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.skus or self.minimums or self.columns)

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
            {k: v for k, v in self.columns.items() if k in stores},
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


# A store's SKUs are held until its rows end in the file, unless there are more than this.
SKU_BLOCK_MAX = 200_000


@dataclass(frozen=True)
class SkuColumns:
    """Items and their SKUs as two packed text columns: each value's UTF-8 length (int32)
    and the bytes of all values one after another. A clean export read by pyarrow gives
    them as they are (no Python object per row); a store's record of SKUs is kept so."""

    item_lengths: bytes
    items: bytes
    sku_lengths: bytes
    skus: bytes

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> SkuColumns:
        names = [
            (i.encode("utf-8", "surrogatepass"), s.encode("utf-8", "surrogatepass"))
            for i, s in pairs
        ]
        return cls(
            array("i", [len(i) for i, _ in names]).tobytes(),
            b"".join(i for i, _ in names),
            array("i", [len(s) for _, s in names]).tobytes(),
            b"".join(s for _, s in names),
        )

    def __len__(self) -> int:
        return len(self.item_lengths) // 4

    def pairs(self) -> Iterator[tuple[str, str]]:
        return zip(
            _split(self.item_lengths, self.items), _split(self.sku_lengths, self.skus), strict=True
        )


def _split(lengths: bytes, data: bytes) -> Iterator[str]:
    sizes = array("i")
    sizes.frombytes(lengths)
    at = 0
    for size in sizes:
        yield data[at : at + size].decode("utf-8", "surrogatepass")
        at += size


@dataclass
class SkuBlock:
    """One store's SKUs as a file lists them, in file order; ``digest`` says whether a
    later file lists the same ones (then nothing is written)."""

    store: str
    parts: list[SkuColumns] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(map(len, self.parts))

    def digest(self) -> str:
        """Of the items and SKUs in order, however they were split into parts."""
        streams = [hashlib.blake2b(digest_size=16) for _ in range(4)]
        for part in self.parts:
            for stream, data in zip(
                streams, (part.item_lengths, part.items, part.sku_lengths, part.skus), strict=True
            ):
                stream.update(data)
        return hashlib.blake2b(b"".join(h.digest() for h in streams), digest_size=16).hexdigest()

    def skus(self) -> dict[str, str]:
        """Item -> SKU, the first of an item winning; a blank SKU is none."""
        found: dict[str, str] = {}
        for part in self.parts:
            for item, sku in part.pairs():
                if sku:
                    found.setdefault(item, sku)
        return found

    def packed(self) -> SkuColumns:
        if len(self.parts) == 1:
            return self.parts[0]
        return SkuColumns(*(b"".join(getattr(p, f) for p in self.parts) for f in _FIELDS))


_FIELDS = ("item_lengths", "items", "sku_lengths", "skus")


class SkuBlocks:
    """The SKUs of a file's chunks gathered into a block per store. A store's block is done
    when a chunk comes without it (files list a store's rows together); ``finish`` gives
    the rest. A backend keeps a store's SKUs as one record, written only when its block
    differs from the last one written, so a re-upload costs a lookup per store."""

    def __init__(self) -> None:
        self.open: dict[str, SkuBlock] = {}

    def add(self, details: ItemDetails) -> list[SkuBlock]:
        by_store: dict[str, list[tuple[str, str]]] = {}
        for (store, item), sku in details.skus.items():
            by_store.setdefault(store, []).append((item, sku))
        stores = set(by_store) | set(details.columns)
        done = [self.open.pop(s) for s in list(self.open) if s not in stores]
        for store in stores:
            block = self.open.get(store)
            if block is None:
                block = self.open[store] = SkuBlock(store)
            block.parts.extend(details.columns.get(store, ()))
            if store in by_store:
                block.parts.append(SkuColumns.of(by_store[store]))
        if sum(map(len, self.open.values())) > SKU_BLOCK_MAX:  # too many to hold: in parts
            done.extend(self.open.values())
            self.open = {}
        return done

    def finish(self) -> list[SkuBlock]:
        done, self.open = list(self.open.values()), {}
        return done


def merged_skus(kept: dict[str, str], block: SkuBlock) -> SkuColumns:
    """A store's SKUs with a file's block put in: the file's replace, the others stay
    (a file may list some of the store's items only)."""
    if not kept:
        return block.packed()
    return SkuColumns.of({**kept, **block.skus()}.items())
