"""The inventory table and its change feed in SQLite.

``SqliteInventoryWriter.apply`` is ``core.ordering.decide`` stated set-based: a chunk of rows
is staged in a temporary table, then one statement feeds the INSERT and CHANGE outcomes and
one upsert writes INSERT, CHANGE and CONFIRM. Doing it in SQL rather than row by row in
Python is what keeps loading within reach of a bare ``executemany`` upsert.

It writes the main tier of the inventory; the changed rows of stores that matched their
records are written to the small one by the same rule in one pass (``_RECENT``, see
``sqlite.tiers``).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from itertools import chain

from stockwatch.core.clock import epoch_ms
from stockwatch.core.loading import ChunkOutcome, Repeat, first_of_each
from stockwatch.core.model import Row
from stockwatch.core.ordering import as_of_of
from stockwatch.sqlite import figures, tiers
from stockwatch.sqlite.fast_reader import Run
from stockwatch.sqlite.store_records import Block, RecordingWriter
from stockwatch.sqlite.tiers import COLUMNS, MAIN, RECENT

# The rows being written, staged in a temporary table for the set-based statements, in
# file order (a wide export's line gives a row per location, so a line is not a key).
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS stage (seq INTEGER PRIMARY KEY, line INTEGER NOT NULL,"
    " store TEXT NOT NULL, item TEXT NOT NULL, count INTEGER NOT NULL, old INTEGER)"
)

# Outcomes INSERT and CHANGE: a new item, or a newer upload with a different count. A change
# written to the small tier enters the item index under tier 0 (migration 0023).
_FEED = """
INSERT INTO changes (store, item, old_count, new_count, upload_id, counted, tier)
SELECT s.store, s.item, i.count, s.count, :upload, :counted, {tier}
FROM temp.stage AS s LEFT JOIN {table} AS i ON i.store = s.store AND i.item = s.item
WHERE i.store IS NULL OR (i.version < :version AND i.count <> s.count)
ORDER BY s.seq
"""

# Outcomes INSERT, CHANGE and CONFIRM: the version moves on; the count and its upload only
# when it differs. The WHERE clause leaves STALE and REPEAT rows untouched. A change moves
# the item's kept figures on (sqlite.figures); a first count only says when it was taken.
_UPSERT = (
    """
INSERT INTO {table} (store, item, count, version, line, upload_id, fig_at)
SELECT store, item, count, :version, line, :upload, :counted FROM temp.stage WHERE true
ON CONFLICT (store, item) DO UPDATE SET
    version = excluded.version,
    line = excluded.line,
    upload_id = CASE WHEN count <> excluded.count THEN excluded.upload_id ELSE upload_id END,
    count = excluded.count,
"""
    + figures.MOVED_ON.replace("{", "{{").replace("}", "}}")
    + """
WHERE excluded.version > {table}.version
"""
)

# Only asked when some staged rows were not written: tells REPEAT from STALE.
_NOT_WRITTEN = """
SELECT s.line, i.line, i.version = :version, s.store, s.item
FROM temp.stage AS s JOIN {table} AS i ON i.store = s.store AND i.item = s.item
WHERE i.version > :version OR (i.version = :version AND i.line <> s.line)
"""

# The fast path's changes: every staged row is a change of an item in the table, older.
# Their old counts are staged with them, from the store records (which are exact), so
# the change feed is written without reading the inventory.
_RECENT_FEED = """
INSERT INTO changes (store, item, old_count, new_count, upload_id, counted, tier)
SELECT store, item, old, count, :upload, :counted, 0 FROM temp.stage
WHERE old <> count ORDER BY seq
"""

# The fast path's write to the small tier: the staged rows are changes of items whose
# current rows are all older, so each new row is selected from its old one, moved on as
# ``_UPSERT`` moves it, and put in the small tier in one pass. Each old row is read from
# the tier that holds it, not through the view (which would look in both): from the main
# tier alone when none of the stores has a row in the small one; else first the rows the
# small tier holds, then from the main tier the others.
_FIGURES_CTE, _FIGURES = figures.moved_on_select(
    "(SELECT"
    " s.store, s.item, s.line, s.count AS new, i.count, i.upload_id, "
    + ", ".join(f"i.{c}" for c in tiers.NAMES if c.startswith("fig_"))
    + " FROM temp.stage AS s JOIN {source} AS i ON i.store = s.store AND i.item = s.item"
    " WHERE :version > i.version{also})"
)
_RECENT = (
    # INSERT first: Python's sqlite3 counts the rows of a statement that begins with it
    f"INSERT INTO inventory_recent ({COLUMNS}) WITH {_FIGURES_CTE}"  # noqa: S608 (constants)
    " SELECT store, item, new, :version, line,"
    " CASE WHEN count <> new THEN :upload ELSE upload_id END, "
    + ", ".join(_FIGURES)
    + " FROM parts WHERE true ON CONFLICT (store, item) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in tiers.NAMES if c not in ("store", "item"))
)
_NOT_RECENT = (
    " AND NOT EXISTS (SELECT 1 FROM inventory_recent AS r"
    " WHERE r.store = s.store AND r.item = s.item)"
)
# The small tier, written from rows read in the main one only.
RECENT_FROM_MAIN = RECENT + " from " + MAIN


@functools.lru_cache(maxsize=4)
def _statements(table: str) -> tuple[str, tuple[str, ...], str]:
    """The feed, the writes and the look for rows not written, of a tier."""
    if table == RECENT_FROM_MAIN:
        return (
            _RECENT_FEED,
            (_RECENT.format(source=MAIN, also=""),),
            _NOT_WRITTEN.format(table=MAIN),
        )
    if table == RECENT:
        writes = (
            _RECENT.format(source=RECENT, also=""),
            _RECENT.format(source=MAIN, also=_NOT_RECENT),
        )
        return _RECENT_FEED, writes, _NOT_WRITTEN.format(table="inventory")
    return (
        _FEED.format(table=table, tier=1),
        (_UPSERT.format(table=table),),
        _NOT_WRITTEN.format(table=table),
    )


# The staged rows of stores none of whose items is in the table (a first load): every row
# is an INSERT, so they go straight in, with no join and no conflict to look for: the
# ordering rule has nothing to decide but the file's own repeats (``first_of_each``).
_FRESH_FEED = """
INSERT INTO changes (store, item, old_count, new_count, upload_id, counted)
SELECT store, item, NULL, count, :upload, :counted FROM temp.stage ORDER BY seq
"""
_FRESH_ROWS = """
INSERT INTO inventory_main (store, item, count, version, line, upload_id, fig_at)
SELECT store, item, count, :version, line, :upload, :counted FROM temp.stage
"""


def is_fresh(conn: sqlite3.Connection, store: str) -> bool:
    """No item of the store is in the table yet."""
    found = conn.execute(
        "SELECT 1 FROM inventory_main WHERE store = ? LIMIT 1", (store,)
    ).fetchone()
    return found is None


# Rows staged per statement: four parameters each, under SQLite's limit on a statement's
# parameters (32,766 since 3.32, 999 before).
STAGED_PER_STATEMENT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 249
_STAGE_ROWS = "INSERT INTO temp.stage (line, store, item, count) VALUES "
_STAGE_CHANGED = "INSERT INTO temp.stage (line, store, item, count, old) VALUES "


def stage(conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
    """The rows into ``temp.stage``, in order, many to a statement: ``executemany`` runs
    one statement per row, which cost nearly twice as much (400,000 rows: 0.40 s against
    0.22 s). A first load stages every row of the file."""
    for start in range(0, len(rows), STAGED_PER_STATEMENT):
        part = rows[start : start + STAGED_PER_STATEMENT]
        conn.execute(_staging(len(part)), tuple(chain.from_iterable(part)))


def stage_columns(
    conn: sqlite3.Connection, store: str, lines: list[int], items: list[str], counts: list[int]
) -> None:
    """One store's rows into ``temp.stage`` from its columns, with no tuple made per row:
    each statement's parameters are the columns' slices laid side by side."""
    for start in range(0, len(items), STAGED_PER_STATEMENT):
        end = min(start + STAGED_PER_STATEMENT, len(items))
        values: list[object] = [store] * (4 * (end - start))
        values[0::4] = lines[start:end]
        values[2::4] = items[start:end]
        values[3::4] = counts[start:end]
        conn.execute(_staging(end - start), values)


def stage_changed(conn: sqlite3.Connection, rows: Sequence[Row], olds: Sequence[int]) -> None:
    """Changed rows with their old counts (the fast path), the same way."""
    size = STAGED_PER_STATEMENT * 4 // 5
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        values = [
            v
            for row, old in zip(part, olds[start : start + size], strict=True)
            for v in (*row, old)
        ]
        conn.execute(_staging(len(part), True), values)


@functools.lru_cache(maxsize=8)
def _staging(rows: int, old: bool = False) -> str:
    if old:
        return _STAGE_CHANGED + ", ".join(["(?, ?, ?, ?, ?)"] * rows)
    return _STAGE_ROWS + ", ".join(["(?, ?, ?, ?)"] * rows)


def counted_ms(version: str) -> int:
    """When the counts of an upload of this version were taken, for ``changes.counted``."""
    return epoch_ms(as_of_of(version))


def apply_staged(
    conn: sqlite3.Connection, staged: int, version: str, upload: int, table: str = MAIN
) -> ChunkOutcome:
    """Apply the ``staged`` rows of ``temp.stage`` to one tier of the inventory.

    ``version`` orders the rows (``core.ordering.compose_version``); ``upload`` is the id
    the inventory and the change feed point to. The main tier is written once the small
    one is folded into it for the staged rows' stores; the small one only with changes of
    items whose rows are all older (the fast path, ``_RECENT``).
    """
    feed, writes, not_written = _statements(table)
    params = {"version": version, "upload": upload, "counted": counted_ms(version)}
    fed = conn.execute(feed, params).rowcount
    written = sum(conn.execute(write, params).rowcount for write in writes)
    outcome = ChunkOutcome(loaded=fed, unchanged=written - fed)
    if written < staged:
        for line, first_line, repeat, store, item in conn.execute(not_written, params):
            if repeat:
                outcome.repeats.append((line, first_line, store, item))
            else:
                outcome.superseded += 1
    return outcome


class SqliteInventoryWriter:
    """Applies chunks of rows read in this process, writing only the rows that changed
    (``store_records``); the caller holds the transaction."""

    def __init__(self, conn: sqlite3.Connection, upload: int) -> None:
        self._conn = conn
        self._upload = upload
        conn.execute(_STAGE)
        conn.execute("DELETE FROM temp.stage")
        self._records = RecordingWriter(conn, self)
        self._recent: set[str] | None = None  # stores with rows in the small tier

    def apply(self, chunk: Sequence[Row], version: str) -> ChunkOutcome:
        return self._records.apply(chunk, version)

    def apply_runs(self, runs: Sequence[Run], version: str) -> ChunkOutcome:
        return self._records.apply_runs(runs, version)

    def flush(self, version: str) -> ChunkOutcome:
        outcome = self._records.flush(version)
        if tiers.fold_if_due(self._conn):
            self._recent = set()
        return outcome

    def is_fresh(self, store: str) -> bool:
        return is_fresh(self._conn, store)

    def insert_fresh(self, block: Block, version: str) -> ChunkOutcome:
        """The block of a store none of whose items is in the table: the first line of each
        item is an INSERT, a later one a repeat of it."""
        lines, items, counts = block.columns()
        repeats: list[Repeat] = []
        if len(set(items)) == len(items):
            stage_columns(self._conn, block.store, lines, items, counts)
            staged = len(items)
        else:  # an item listed twice
            rows, repeats = first_of_each(block.rows())
            stage(self._conn, rows)
            staged = len(rows)
        params = {"version": version, "upload": self._upload, "counted": counted_ms(version)}
        self._conn.execute(_FRESH_FEED, params)
        self._conn.execute(_FRESH_ROWS, params)
        self._conn.execute("DELETE FROM temp.stage")
        outcome = ChunkOutcome(loaded=staged)
        outcome.repeats.extend(repeats)
        return outcome

    def apply_rows(self, rows: list[Row], version: str) -> ChunkOutcome:
        """The ordering rule over these rows, set-based, in the main tier; a (store, item)
        repeated among them is a repeat of its first line, as across chunks."""
        self.fold({r[1] for r in rows})
        return self._apply(rows, version, MAIN)

    def apply_changed(self, rows: list[Row], olds: list[int], version: str) -> ChunkOutcome:
        """Changed counts of stores that matched their records, with their old counts, to
        the small tier: what they write grows with them, not with the table (``tiers``).
        Such a store lists each item once (or it would have no record)."""
        recent, stores = self._recent_stores(), {r[1] for r in rows}
        table = RECENT if stores & recent else RECENT_FROM_MAIN
        recent.update(stores)
        stage_changed(self._conn, rows, olds)
        outcome = apply_staged(self._conn, len(rows), version, self._upload, table)
        self._conn.execute("DELETE FROM temp.stage")
        return outcome

    def fold(self, stores: set[str]) -> None:
        """Before the main tier is written for these stores: their recent rows into it."""
        recent = self._recent_stores()
        if due := stores & recent:
            tiers.fold_stores(self._conn, due)
            recent -= due

    def _recent_stores(self) -> set[str]:
        if self._recent is None:
            self._recent = tiers.recent_stores(self._conn)
        return self._recent

    def _apply(self, rows: list[Row], version: str, table: str) -> ChunkOutcome:
        rows, repeats = first_of_each(rows)
        stage(self._conn, rows)
        outcome = apply_staged(self._conn, len(rows), version, self._upload, table)
        self._conn.execute("DELETE FROM temp.stage")
        outcome.repeats.extend(repeats)
        return outcome
