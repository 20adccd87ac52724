"""The inventory's two tiers, and folding the small one into the main one (#28).

A re-upload's changed counts are spread over every store. Updated in place, 100,000 of
them in 2,000,000 rows touched nearly every page of the inventory (205 MB) and of the
change feed's item index (87 MB): each page read, written to the WAL and checkpointed,
which cost 4-5 s where parsing the file costs 0.5 s. So the fast path
(``store_records``) writes the changed rows to ``inventory_recent`` and their changes under
tier 0 of the item index, both small; the view ``inventory`` reads an item's recent row in
place of its main one (migration 0023).

Folding moves the small tier into the main one: every page it touches is written once per
fold rather than once per upload. It runs

* for a few stores, before anything but the fast path writes their rows (the ordering
  rule's statements then see their current rows in the main tier);
* for all of them, when the small tier holds more than ``SHARE`` of the items the store
  records cover (checked after each upload's rows), and on ``stockwatch compact``.

The change feed's tier 0 is never folded: a change leaves the feed after a week, for the
history, whatever its tier.

The small tier never holds an item the main one lacks: the fast path writes only items of
a store record, which covers items already in the inventory, and no row is ever deleted.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Collection

MAIN, RECENT = "inventory_main", "inventory_recent"
COLUMNS = (
    "store, item, count, version, line, upload_id, fig_at, fig_counts, fig_intervals,"
    " fig_span, fig_days, fig_units, fig_units_sq, fig_cross, fig_days_sq, fig_demand_days,"
    " fig_dmax, fig_sdmax"
)
NAMES = [c.strip() for c in COLUMNS.split(",")]
_KEY = ("store", "item")
# The small tier is folded when it holds more than this share of the covered items: at
# 5 % of the counts changed a day, about every third day.
SHARE = 0.125

_SET = ", ".join(f"{c} = excluded.{c}" for c in NAMES if c not in _KEY)
_FOLD = (
    f"INSERT INTO inventory_main ({COLUMNS}) SELECT {COLUMNS} FROM inventory_recent"  # noqa: S608
    " WHERE {where} ON CONFLICT (store, item) DO UPDATE SET " + _SET
)
_FOLD_ALL = _FOLD.format(where="true")
_FOLD_STORES = _FOLD.format(where="store IN (SELECT value FROM json_each(?))")


_VIEW = re.compile(r"\binventory\b(?!_)")


@functools.lru_cache(maxsize=32)
def _on_main(sql: str) -> str:
    return _VIEW.sub(MAIN, sql)


def for_scan(conn: sqlite3.Connection, sql: str) -> str:
    """``sql``, or, when the small tier is empty, the same over the main tier alone.

    A read through the view looks up every row it scans in the small tier too: over a
    million items the order list took 1.96 s instead of 1.80 s (medians of six runs each).
    The emptiness is seen just before the statement runs, in a snapshot of its own: an
    upload that commits in between is read as if it had come a moment later, as it could
    have."""
    (empty,) = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM inventory_recent)").fetchone()
    return _on_main(sql) if empty else sql


def recent_stores(conn: sqlite3.Connection) -> set[str]:
    """The stores with rows in the small tier (at most one per store of the chain)."""
    return {s for (s,) in conn.execute("SELECT DISTINCT store FROM inventory_recent")}


def fold_stores(conn: sqlite3.Connection, stores: Collection[str]) -> None:
    """These stores' recent rows into the main tier. Their changes may stay under tier 0:
    the statements that read an item's changes ask for both tiers."""
    wanted = json.dumps(sorted(stores))
    conn.execute(_FOLD_STORES, (wanted,))
    conn.execute(
        "DELETE FROM inventory_recent WHERE store IN (SELECT value FROM json_each(?))", (wanted,)
    )


def fold_all(conn: sqlite3.Connection) -> int:
    """The whole small tier into the main one; how many rows it held.

    The change feed's tier 0 is left as it is: its changes leave the feed for the history
    after a week (``stockwatch compact``), as every change does, so it holds at most a
    week of the fast path's changes. Moving them to tier 1 would touch every page of the
    item index for nothing a read needs (reads ask for both tiers)."""
    folded = conn.execute(_FOLD_ALL).rowcount
    conn.execute("DELETE FROM inventory_recent")
    return int(folded)


def fold_if_due(conn: sqlite3.Connection) -> int:
    """Fold everything when the small tier has grown past its share (``SHARE``, read at
    each call); rows folded."""
    (recent,) = conn.execute("SELECT count(*) FROM inventory_recent").fetchone()
    if not recent:
        return 0
    (covered,) = conn.execute("SELECT coalesce(sum(items), 0) FROM store_records").fetchone()
    if recent <= covered * SHARE:
        return 0
    return fold_all(conn)
