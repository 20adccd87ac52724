"""Opening the SQLite database of a data directory, with its pragmas and migrations."""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from stockwatch import __version__

DATABASE_NAME = "stockwatch.db"


class DataDirError(Exception):
    """The data directory cannot be used; the message says why and what to do."""


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("stockwatch.sqlite") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def private_dir(path: Path) -> None:
    """Create the data directory 0700 (an existing one is left as its owner set it)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode passes through the umask


def private_file(path: Path) -> None:
    """Create a database file 0600 before SQLite opens it; its -wal and -shm follow it."""
    if not path.exists():
        # On failure SQLite says what is wrong (read-only, full) when it opens the file.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def ensure_wal(conn: sqlite3.Connection, tries: int = 200) -> None:
    """Put the database in WAL mode, once, even when several connections open it at once.

    Switching to WAL needs the database to itself, and SQLite answers "database is locked"
    at once (the busy timeout does not apply) while another connection has it open; a
    server's workers open theirs together on a new data directory. So: look first, and
    retry the switch for a few seconds.
    """
    for attempt in range(tries):
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.02)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the database in WAL mode, migrating it to the current schema.

    ``isolation_level=None`` leaves transactions to us: every write path says BEGIN
    IMMEDIATE itself, so concurrent writers queue on the busy timeout instead of failing
    with "database is locked" halfway through.
    """
    try:
        if readonly:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=30,
            )
        else:
            private_file(path)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            ensure_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # 32 MiB: with pyarrow reading a re-upload in this process, 64 MiB took its peak RSS
        # over 200 MB (2,000,000 rows, 5 % changed: 210-225 MB; 190 MB now, #28).
        conn.execute("PRAGMA cache_size = -32768")
        # On disk, not in memory: an upload's savepoint keeps the first image of every page
        # it changes there, and a re-upload changing 5 % of 2,000,000 rows spread over every
        # store touched all pages (620 MB of RSS in memory; 99 MB with a file, #28).
        conn.execute("PRAGMA temp_store = FILE")
        _math_functions(conn)
        if not readonly:
            migrate(conn)
    except sqlite3.OperationalError as exc:
        raise DataDirError(f"cannot open the database {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise DataDirError(f"{path} is not a stockwatch database ({exc})") from None
    return conn


def _math_functions(conn: sqlite3.Connection) -> None:
    """``pow``, ``sqrt``, ``ceil`` and ``floor``, which the kept figures' statements use,
    where this SQLite was built without its math functions (optional on some builds)."""
    try:
        conn.execute("SELECT pow(2.0, 0.5), sqrt(2.0), ceil(0.5), floor(0.5)").fetchone()
    except sqlite3.OperationalError:
        conn.create_function("pow", 2, math.pow, deterministic=True)
        conn.create_function("sqrt", 1, math.sqrt, deterministic=True)
        conn.create_function("ceil", 1, math.ceil, deterministic=True)
        conn.create_function("floor", 1, math.floor, deterministic=True)


def migrate(conn: sqlite3.Connection, upto: int | None = None) -> None:
    """Apply the migrations this database lacks, all in one write transaction; with
    ``upto``, only those up to that schema (what an older stockwatch made: a backup's
    check compares with it).

    Reading the schema version inside the transaction matters: several connections of one
    server start at once, and only the first may migrate.
    """
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    migrations = _migrations()
    known = migrations[-1][0] if migrations else 0
    if current > known:
        # Opening it would let this older code write rows the newer schema does not expect.
        raise DataDirError(
            f"this data directory was written by a newer stockwatch (schema {current}; this"
            f" stockwatch {__version__} knows up to {known}); upgrade stockwatch to open it"
        )
    pending = [m for m in migrations if m[0] > current and (upto is None or m[0] <= upto)]
    if not pending:
        return
    with transaction(conn):
        (current,) = conn.execute("PRAGMA user_version").fetchone()
        for number, script in pending:
            if number <= current:
                continue
            for statement in script.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(number)}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
