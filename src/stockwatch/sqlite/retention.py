"""Applying the retention settings to a data directory (``stockwatch compact``).

One transaction thins the old history and marks the expired files removed; the files are
deleted after it commits (a crash in between leaves a file that the next run deletes), and
``VACUUM`` then gives the space back to the disk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stockwatch.core.clock import utc_now
from stockwatch.core.retention import Retention
from stockwatch.sqlite.database import DATABASE_NAME, transaction

# Old changes, all but the last of each item's day (by when the count was taken).
_THIN = """
DELETE FROM changes WHERE seq IN (
  SELECT c.seq FROM changes AS c JOIN uploads AS u ON u.id = c.upload_id
  WHERE coalesce(u.as_of, u.received_at) < :cutoff
    AND c.seq <> (
      SELECT max(c2.seq) FROM changes AS c2 JOIN uploads AS u2 ON u2.id = c2.upload_id
      WHERE c2.store = c.store AND c2.item = c.item
        AND substr(coalesce(u2.as_of, u2.received_at), 1, 10)
          = substr(coalesce(u.as_of, u.received_at), 1, 10)))
"""
_EXPIRED = (
    "SELECT id, object_key FROM uploads WHERE received_at < :cutoff"
    " AND file_removed_at IS NULL AND status NOT IN ('queued', 'processing', 'needs_confirmation')"
)


@dataclass
class Compacted:
    changes_thinned: int = 0
    files_removed: int = 0
    bytes_freed: int = 0
    database_before: int = 0
    database_after: int = 0


def compact(
    conn: sqlite3.Connection,
    data_dir: Path,
    retention: Retention,
    now: datetime | None = None,
    vacuum: bool = True,
) -> Compacted:
    moment = now or datetime.now(UTC)
    files_cutoff, history_cutoff = retention.cutoffs(moment)
    database = data_dir / DATABASE_NAME
    result = Compacted(database_before=database.stat().st_size)
    with transaction(conn):
        result.changes_thinned = conn.execute(_THIN, {"cutoff": history_cutoff}).rowcount
        expired = conn.execute(_EXPIRED, {"cutoff": files_cutoff}).fetchall()
        conn.executemany(
            "UPDATE uploads SET file_removed_at = ? WHERE id = ?",
            [(utc_now(), upload_id) for upload_id, _ in expired],
        )
    for _, key in expired:
        path = data_dir / "objects" / key
        if path.exists():
            result.bytes_freed += path.stat().st_size
            path.unlink()
            result.files_removed += 1
    if vacuum:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result.database_after = database.stat().st_size
    return result
