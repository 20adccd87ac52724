"""Applying the retention settings to a data directory (``stockwatch compact``).

History moves down three tables as it ages (``core.retention``): ``changes``, which every
upload writes to, keeps a week; ``history`` keeps every point until the full-history window
ends; ``history_archive`` keeps one point per item per step (a month by default), the
step's last count. Alerts resolved before the window ends move to ``alerts_archive``,
packed per store and year, and are listed from there. One transaction moves them all and
marks the expired files removed; the files are deleted after it commits (a crash in
between leaves a file that the next run deletes), and ``VACUUM`` then gives the space back
to the disk.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from stockwatch.core.clock import epoch_ms, utc_now
from stockwatch.core.retention import OldPoint, Retention, thin
from stockwatch.sqlite import tiers
from stockwatch.sqlite.archive import archive_alerts, pack, unpack, year_of
from stockwatch.sqlite.backup_checks import safe_key
from stockwatch.sqlite.database import DATABASE_NAME, transaction

BATCH = 10_000
_TO_HISTORY = (
    "INSERT INTO history (store, item, counted, seq, old_count, count, upload_id)"
    " SELECT store, item, counted, seq, old_count, new_count, upload_id FROM changes"
    " WHERE counted < ?"
)
# A full pass over the history, once a day, in item order: an index on the time alone
# would cost more to keep than this read.
_OLD_HISTORY = (
    "SELECT store, item, counted, seq, count, upload_id FROM history"
    " WHERE counted < ? ORDER BY store, item"
)
_ARCHIVED = "SELECT points FROM history_archive WHERE store = ? AND item = ? AND year = ?"
_ARCHIVE = (
    "INSERT INTO history_archive (store, item, year, points) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (store, item, year) DO UPDATE SET points = excluded.points"
)
_EXPIRED = (
    "SELECT id, object_key FROM uploads WHERE received_at < :cutoff"
    " AND file_removed_at IS NULL AND status NOT IN ('queued', 'processing', 'needs_confirmation')"
)


@dataclass
class Compacted:
    changes_moved: int = 0  # changes past their week, now in the history
    changes_thinned: int = 0  # history points past the full-history window, now archived
    alerts_archived: int = 0  # resolved before the window: kept, packed, still listed
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
    cutoffs = retention.cutoffs(moment)
    database = data_dir / DATABASE_NAME
    result = Compacted(database_before=database.stat().st_size)
    with transaction(conn):
        tiers.fold_all(conn)  # the day's maintenance: the inventory's small tier, folded
        recent = epoch_ms(cutoffs.recent)
        result.changes_moved = conn.execute(_TO_HISTORY, (recent,)).rowcount
        conn.execute("DELETE FROM changes WHERE counted < ?", (recent,))
        _thin_history(conn, retention, cutoffs.history, result)
        result.alerts_archived = archive_alerts(conn, cutoffs.history)
        expired = conn.execute(_EXPIRED, {"cutoff": cutoffs.files}).fetchall()
        conn.execute(
            "INSERT INTO maintenance (name, last_run) VALUES ('retention', ?)"
            " ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run",
            (utc_now(),),
        )
        conn.executemany(
            "UPDATE uploads SET file_removed_at = ? WHERE id = ?",
            [(utc_now(), upload_id) for upload_id, _ in expired],
        )
    for _, key in expired:
        if not safe_key(key):  # never delete outside objects/, whatever the database says
            continue
        path = data_dir / "objects" / key
        if path.is_file() and not path.is_symlink():
            result.bytes_freed += path.stat().st_size
            path.unlink()
            result.files_removed += 1
    if vacuum:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result.database_after = database.stat().st_size
    return result


def _thin_history(
    conn: sqlite3.Connection, retention: Retention, cutoff: str, result: Compacted
) -> None:
    before = epoch_ms(cutoff)
    rows = conn.execute(_OLD_HISTORY, (before,))
    for (store, item), group in groupby(rows, key=lambda row: (row[0], row[1])):
        by_year: dict[int, list[OldPoint]] = defaultdict(list)
        for _, _, *fields in group:
            point = OldPoint(*fields)
            by_year[year_of(point)].append(point)
            result.changes_thinned += 1
        for year, points in by_year.items():
            archived = conn.execute(_ARCHIVED, (store, item, year)).fetchone()
            if archived is not None:
                points.extend(unpack(archived[0]))
            conn.execute(_ARCHIVE, (store, item, year, pack(thin(retention, points))))
    conn.execute("DELETE FROM history WHERE counted < ?", (before,))


def last_run(conn: sqlite3.Connection) -> str | None:
    """When retention last ran on this data directory (by ``compact`` or by ``serve``)."""
    row = conn.execute("SELECT last_run FROM maintenance WHERE name = 'retention'").fetchone()
    return None if row is None else str(row[0])
