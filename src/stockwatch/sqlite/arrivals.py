"""Uploads as they arrive, in a small database of their own (``arrivals.db``).

Processing an upload holds the main database's write lock for its whole transaction (one
upload, one transaction), which can be a minute for a file of millions of rows. Taking an
upload in must not wait for that, so an arrival is written here: a short write on a
database nothing else holds. Its id comes from here too, in arrival order, so it is still
the upload's version. Before uploads are processed, arrivals are moved into the main
``uploads`` table (``absorb``: an ``INSERT OR IGNORE`` then a delete, so a crash in between
moves nothing twice), and until then the reads show them as queued.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from stockwatch.core.clock import utc_now
from stockwatch.core.ports import StoredObject
from stockwatch.service.commands import Upload
from stockwatch.sqlite.database import ensure_wal, private_file, transaction
from stockwatch.sqlite.records import UploadRecord, reading_text, record_of, scope_text

ARRIVALS_NAME = "arrivals.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS arrivals (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " filename TEXT NOT NULL, object_key TEXT NOT NULL, size INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL, strict INTEGER NOT NULL, received_at TEXT NOT NULL, as_of TEXT,"
    " snapshot INTEGER, uploader TEXT, scope TEXT, reading TEXT)"
)
# Columns an arrivals.db from before them lacks, and the statement that adds each.
_ADDED = {
    "as_of": "ALTER TABLE arrivals ADD COLUMN as_of TEXT",
    "snapshot": "ALTER TABLE arrivals ADD COLUMN snapshot INTEGER",
    "uploader": "ALTER TABLE arrivals ADD COLUMN uploader TEXT",
    "scope": "ALTER TABLE arrivals ADD COLUMN scope TEXT",
    "reading": "ALTER TABLE arrivals ADD COLUMN reading TEXT",
}
# As the main table's rows (``records.record_of``): queued, not finished, no report yet.
_SELECT = (
    "SELECT id, filename, object_key, size, sha256, strict, 'queued', received_at, NULL, NULL,"
    " as_of, snapshot, uploader, scope, reading FROM arrivals"
)
_MOVED = (
    "SELECT id, filename, object_key, size, sha256, strict, received_at, as_of, snapshot,"
    " uploader, scope, reading FROM arrivals"
)


def _mounted_read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _add_columns(conn: sqlite3.Connection) -> None:
    """An older arrivals.db gets the new columns; a server's workers race to it."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(arrivals)")}
    for name, statement in _ADDED.items():
        if name in columns:
            continue
        try:
            conn.execute(statement)
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise


class Arrivals:
    def __init__(self, data_dir: Path, main: sqlite3.Connection) -> None:
        path = data_dir / ARRIVALS_NAME
        self.conn: sqlite3.Connection | None = None
        self.unavailable = ""
        try:
            private_file(path)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            ensure_wal(conn)
            # FULL: once the client has its 202, a power cut must not lose the arrival.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(_SCHEMA)
            _add_columns(conn)
            self.conn = conn
            self._start_after(main)
        except sqlite3.OperationalError as exc:
            # A read-only data directory (or a full disk): reading still works, and taking
            # an upload in says why it cannot.
            self.conn = None
            readonly = not os.access(data_dir, os.W_OK) or _mounted_read_only(data_dir)
            self.unavailable = (
                f"attempt to write a readonly database ({ARRIVALS_NAME})" if readonly else str(exc)
            )

    def _db(self) -> sqlite3.Connection:
        if self.conn is None:
            raise sqlite3.OperationalError(self.unavailable)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _start_after(self, main: sqlite3.Connection) -> None:
        """New ids continue after every upload already in the main database."""
        (highest,) = main.execute("SELECT coalesce(max(id), 0) FROM uploads").fetchone()
        conn = self._db()
        with transaction(conn):
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'arrivals'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('arrivals', ?)", (highest,)
                )
            elif row[0] < highest:
                conn.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = 'arrivals'", (highest,)
                )

    def add(self, command: Upload, stored: StoredObject) -> int:
        conn = self._db()
        flag = None if command.snapshot is None else int(command.snapshot)
        with transaction(conn):
            cursor = conn.execute(
                "INSERT INTO arrivals (filename, object_key, size, sha256, strict, received_at,"
                " as_of, snapshot, uploader, scope, reading)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    command.filename,
                    stored.key,
                    stored.size,
                    stored.sha256,
                    int(command.strict),
                    utc_now(),
                    command.as_of,
                    flag,
                    command.uploader or None,
                    scope_text(command.scope),
                    reading_text(command),
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def get(self, upload_id: int) -> UploadRecord | None:
        if self.conn is None:
            return None
        row = self.conn.execute(_SELECT + " WHERE id = ?", (upload_id,)).fetchone()
        return None if row is None else record_of(row)

    def waiting(self, limit: int = 10**9, before: int | None = None) -> list[UploadRecord]:
        if self.conn is None:
            return []
        rows = self.conn.execute(
            _SELECT + " WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
        return [record_of(r) for r in rows]

    def highest(self) -> int:
        if self.conn is None:
            return 0
        (seq,) = self.conn.execute(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'arrivals'"
        ).fetchone()
        return int(seq)

    def absorb(self, main: sqlite3.Connection) -> int:
        """Move the arrivals into the main ``uploads`` table; returns how many."""
        if self.conn is None:
            return 0
        rows = self.conn.execute(_MOVED + " ORDER BY id").fetchall()
        if not rows:
            return 0
        with transaction(main):
            main.executemany(
                "INSERT OR IGNORE INTO uploads (id, filename, object_key, size, sha256, strict,"
                " status, received_at, as_of, snapshot, uploader, scope, reading)"
                " VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                rows,
            )
        with transaction(self.conn):
            self.conn.execute("DELETE FROM arrivals WHERE id <= ?", (rows[-1][0],))
        return len(rows)
