"""An upload's SKUs and minimums (``core.details``) kept in SQLite: only what changed is
written, so a re-upload of the same export writes nothing here."""

from __future__ import annotations

import sqlite3

from stockwatch.core.clock import utc_now
from stockwatch.core.details import ItemDetails, plan_minimums
from stockwatch.sqlite.judging import MINIMUMS_SET

# A SKU is replaced only by a newer upload than the one that set it; within one upload the
# first row of an item wins (its later repeats are rejected rows).
_SKU = (
    "INSERT INTO item_skus (store, item, sku, version) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (store, item) DO UPDATE SET sku = excluded.sku, version = excluded.version"
    " WHERE excluded.version > item_skus.version AND excluded.sku <> item_skus.sku"
)

# A file's minimum: new, or over one a file set before (an older upload's); never over a
# threshold set by hand (``file_version`` NULL).
_MINIMUM = (
    "INSERT INTO thresholds (store, item, minimum, updated_at, file_version)"
    " VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (store, item) DO UPDATE SET minimum = excluded.minimum,"
    " updated_at = excluded.updated_at, file_version = excluded.file_version"
    " WHERE thresholds.file_version IS NOT NULL"
    " AND excluded.file_version > thresholds.file_version"
)


def keep(conn: sqlite3.Connection, details: ItemDetails, version: str) -> int:
    """Write the SKUs and minimums that changed; returns how many thresholds were set."""
    if details.skus:
        conn.executemany(_SKU, [(s, i, sku, version) for (s, i), sku in details.skus.items()])
    if not details.minimums:
        return 0
    current: dict[tuple[str, str], tuple[int, bool]] = {}
    for key in details.minimums:
        found = conn.execute(
            "SELECT minimum, file_version IS NOT NULL FROM thresholds WHERE store = ? AND item = ?",
            key,
        ).fetchone()
        if found is not None:
            current[key] = (found[0], bool(found[1]))
    plan = plan_minimums(details.minimums, current)
    now = utc_now()
    cursor = conn.executemany(
        _MINIMUM, [(s, i, minimum, now, version) for s, i, minimum in plan.to_set]
    )
    conn.execute(MINIMUMS_SET)
    conn.executemany(
        "INSERT OR IGNORE INTO temp.minimums_set (store, item) VALUES (?, ?)",
        [(s, i) for s, i, _ in plan.to_set],
    )
    return max(cursor.rowcount, 0)
