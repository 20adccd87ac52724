"""Snapshot files: an export that lists only what is in stock, so what it leaves out is 0.

Many point-of-sale exports drop an item once it sells out; without being told, stockwatch
would never learn that it is at 0. An upload may say it is a full snapshot of the stores it
names. Then every known item of those stores that it does not list is set to 0 at the
upload's version, through the ordering rule like any row (a newer count still wins), and
fed and alerted like any other change.

A truncated export would empty a store, so a snapshot that would zero more than half of a
store's items is held (``needs_confirmation``) until someone confirms or discards it.

Which items a file lists is held in memory while it loads, so a snapshot is bounded:
``MAX_SNAPSHOT_ITEMS`` listed items per file (a store's export, not a chain's million rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from stockwatch.core.model import Row

MAX_SNAPSHOT_ITEMS = 500_000
# Rows the snapshot adds are numbered after any line a file can have, so they never repeat
# a listed row's line.
ZERO_LINE_BASE = 10**12
HOLD_SHARE = 0.5  # more than this share of a store's items zeroed: held for confirmation
NAMED_ZEROED = 1000  # zeroed items the report names; all are counted


class SnapshotTooBig(Exception):
    """More listed items than a snapshot may hold; the message says what to do."""


@dataclass
class Listing:
    """The items a file lists, by store (for the stores it is a snapshot of)."""

    items: dict[str, set[str]] = field(default_factory=dict)
    size: int = 0
    limit: int = MAX_SNAPSHOT_ITEMS

    def add(self, rows: Iterable[Row]) -> None:
        for _, store, item, _ in rows:
            listed = self.items.setdefault(store, set())
            if item not in listed:
                listed.add(item)
                self.size += 1
        if self.size > self.limit:
            raise SnapshotTooBig(
                f"a snapshot may list at most {self.limit:,} items; this file lists more."
                " Send it without snapshot, or one file per store"
            )


def snapshot_stores(
    listing: Listing, requested: bool | None, defaults: Mapping[str, bool]
) -> list[str]:
    """The stores this upload is a snapshot of: all it names when asked, none when told
    not, else those whose own setting says their files are snapshots."""
    if requested is False:
        return []
    if requested:
        return sorted(listing.items)
    return sorted(store for store in listing.items if defaults.get(store))


def missing(known: Iterable[tuple[str, int]], listed: set[str]) -> list[str]:
    """The items of a store (``known``: item and count) the file leaves out and that are
    not at 0 already."""
    return [item for item, count in known if count > 0 and item not in listed]


def would_hold(known_items: int, zeroed: int) -> bool:
    return known_items > 0 and zeroed > HOLD_SHARE * known_items


def zero_rows(store: str, items: Iterable[str], start: int) -> list[Row]:
    return [(ZERO_LINE_BASE + start + n, store, item, 0) for n, item in enumerate(items)]


def hold_message(holds: Mapping[str, tuple[int, int]]) -> str:
    """Why a snapshot was held: per store, how many of its items it would zero."""
    parts = [
        f"{zeroed:,} of {known:,} items of {store}" for store, (zeroed, known) in holds.items()
    ]
    return (
        "held: as a snapshot it would set to 0 "
        + "; ".join(parts)
        + " (more than half: a truncated export?). Confirm it to apply, or discard it"
    )
