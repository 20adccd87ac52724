"""An upload's SKUs and minimums (``core.details``) kept in SQLite: only what changed is
written, so a re-upload of the same export writes nothing here.

SKUs are kept per store (``store_skus``): a store's block of SKUs is compared with the
digest of the last one written, and only a store whose SKUs changed is written, as one
row. Minimums are thresholds, set as each chunk comes (before its rows are judged).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from stockwatch.core.clock import utc_now
from stockwatch.core.details import (
    ItemDetails,
    SkuBlock,
    SkuBlocks,
    SkuColumns,
    merged_skus,
    plan_minimums,
)
from stockwatch.core.rows import StockRow

# The items whose minimum the upload's file set (judged with its changes, ``judging``).
MINIMUMS_SET = (
    "CREATE TEMP TABLE IF NOT EXISTS minimums_set"
    " (store TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (store, item))"
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


class SqliteDetails:
    """One upload's SKUs and minimums; the caller holds the transaction."""

    def __init__(self, conn: sqlite3.Connection, version: str) -> None:
        self.conn = conn
        self.version = version
        self.blocks = SkuBlocks()

    def keep(self, details: ItemDetails) -> int:
        """Write what changed; returns how many thresholds were set."""
        if details.skus or details.columns or self.blocks.open:
            self._write_skus(self.blocks.add(details))
        return self._set_minimums(details.minimums) if details.minimums else 0

    def done(self) -> None:
        self._write_skus(self.blocks.finish())

    def _write_skus(self, blocks: Iterable[SkuBlock]) -> None:
        for block in blocks:
            digest = block.digest()
            found = self.conn.execute(
                "SELECT version, digest FROM store_skus WHERE store = ?", (block.store,)
            ).fetchone()
            if found is not None and (found[1] == digest or found[0] > self.version):
                continue  # the same SKUs as last time, or a newer upload's
            kept = stored_skus(self.conn, [block.store]).get(block.store, {})
            packed = merged_skus(kept, block)
            self.conn.execute(
                "INSERT OR REPLACE INTO store_skus"
                " (store, version, digest, item_lengths, items, sku_lengths, skus)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    block.store,
                    self.version,
                    digest,
                    packed.item_lengths,
                    packed.items,
                    packed.sku_lengths,
                    packed.skus,
                ),
            )

    def _set_minimums(self, wanted: dict[tuple[str, str], int]) -> int:
        current: dict[tuple[str, str], tuple[int, bool]] = {}
        for key in wanted:
            found = self.conn.execute(
                "SELECT minimum, file_version IS NOT NULL FROM thresholds"
                " WHERE store = ? AND item = ?",
                key,
            ).fetchone()
            if found is not None:
                current[key] = (found[0], bool(found[1]))
        plan = plan_minimums(wanted, current)
        now = utc_now()
        cursor = self.conn.executemany(
            _MINIMUM, [(s, i, minimum, now, self.version) for s, i, minimum in plan.to_set]
        )
        # The items judged with this upload's changes even if their counts stayed.
        self.conn.execute(MINIMUMS_SET)
        self.conn.executemany(
            "INSERT OR IGNORE INTO temp.minimums_set (store, item) VALUES (?, ?)",
            [(s, i) for s, i, _ in plan.to_set],
        )
        return max(cursor.rowcount, 0)


def stored_skus(conn: sqlite3.Connection, stores: Sequence[str]) -> dict[str, dict[str, str]]:
    """The SKUs kept for these stores, by store and item."""
    rows = conn.execute(
        "SELECT s.store, s.item_lengths, s.items, s.sku_lengths, s.skus"
        " FROM json_each(?) AS k JOIN store_skus AS s ON s.store = k.value",
        (json.dumps(list(stores)),),
    )
    return {store: _skus(SkuColumns(*columns)) for store, *columns in rows}


def _skus(columns: SkuColumns) -> dict[str, str]:
    found: dict[str, str] = {}
    for item, sku in columns.pairs():
        if sku:
            found.setdefault(item, sku)
    return found


def with_skus(conn: sqlite3.Connection, rows: list[StockRow]) -> list[StockRow]:
    """The rows with their SKUs (one record read per store among them)."""
    from dataclasses import replace

    if not rows:
        return rows
    kept = stored_skus(conn, sorted({r.store for r in rows}))
    if not kept:
        return rows
    return [replace(r, sku=kept[r.store].get(r.item)) if r.store in kept else r for r in rows]


def matching(conn: sqlite3.Connection, q: str, store: str | None) -> list[tuple[str, str]]:
    """The (store, item)s whose SKU contains ``q`` (any case): the stores whose SKUs hold
    the text are read, then their SKUs compared one by one."""
    sql = (
        "SELECT store, item_lengths, items, sku_lengths, skus FROM store_skus"
        " WHERE instr(lower(CAST(skus AS TEXT)), lower(?)) > 0"
    )
    params: list[str] = [q]
    if store is not None:
        sql += " AND store = ?"
        params.append(store)
    needle = q.lower()
    found: list[tuple[str, str]] = []
    for where, *columns in conn.execute(sql, params):
        found.extend(
            (where, item)
            for item, sku in _skus(SkuColumns(*columns)).items()
            if needle in sku.lower()
        )
    return found
