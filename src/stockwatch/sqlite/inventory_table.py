"""The inventory table and its change feed in SQLite.

``SqliteInventoryWriter.apply`` is ``core.ordering.decide`` stated set-based: a chunk of rows
is staged in a temporary table, then one statement feeds the INSERT and CHANGE outcomes and
one upsert writes INSERT, CHANGE and CONFIRM. Doing it in SQL rather than row by row in
Python is what keeps loading within reach of a bare ``executemany`` upsert.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from stockwatch.core.loading import ChunkOutcome
from stockwatch.core.model import Row

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage (
    line INTEGER PRIMARY KEY, store TEXT NOT NULL, item TEXT NOT NULL, count INTEGER NOT NULL
)
"""

# Outcomes INSERT and CHANGE: a new item, or a newer upload with a different count.
_FEED = """
INSERT INTO changes (store, item, old_count, new_count, upload_id)
SELECT s.store, s.item, i.count, s.count, :version
FROM temp.stage AS s LEFT JOIN inventory AS i ON i.store = s.store AND i.item = s.item
WHERE i.store IS NULL OR (i.version < :version AND i.count <> s.count)
ORDER BY s.line
"""

# Outcomes INSERT, CHANGE and CONFIRM: the version moves on; the count and its upload only
# when it differs. The WHERE clause leaves STALE and REPEAT rows untouched.
_UPSERT = """
INSERT INTO inventory (store, item, count, version, line, upload_id)
SELECT store, item, count, :version, line, :version FROM temp.stage WHERE true
ON CONFLICT (store, item) DO UPDATE SET
    version = excluded.version,
    line = excluded.line,
    upload_id = CASE WHEN count <> excluded.count THEN excluded.upload_id ELSE upload_id END,
    count = excluded.count
WHERE excluded.version > inventory.version
"""

# Only asked when some staged rows were not written: tells REPEAT from STALE.
_NOT_WRITTEN = """
SELECT s.line, i.line, i.version = :version
FROM temp.stage AS s JOIN inventory AS i ON i.store = s.store AND i.item = s.item
WHERE i.version > :version OR (i.version = :version AND i.line <> s.line)
"""


class SqliteInventoryWriter:
    """Applies chunks of one upload; the caller holds the transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.execute(_STAGE)
        conn.execute("DELETE FROM temp.stage")

    def apply(self, rows: Sequence[Row], version: int) -> ChunkOutcome:
        conn = self._conn
        params = {"version": version}
        conn.executemany("INSERT INTO temp.stage VALUES (?, ?, ?, ?)", rows)
        fed = conn.execute(_FEED, params).rowcount
        written = conn.execute(_UPSERT, params).rowcount
        outcome = ChunkOutcome(loaded=fed, unchanged=written - fed)
        if written < len(rows):
            for line, first_line, repeat in conn.execute(_NOT_WRITTEN, params):
                if repeat:
                    outcome.repeats.append((line, first_line))
                else:
                    outcome.superseded += 1
        conn.execute("DELETE FROM temp.stage")
        return outcome
