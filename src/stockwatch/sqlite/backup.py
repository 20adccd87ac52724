"""Backups of a data directory while it runs, restoring one, and checking one.

Copying the folder under a live WAL database is not a backup: the copy can hold half a
transaction. So the databases are copied with SQLite's online backup API, each in one step
(a single read transaction, so an upload's transaction is wholly in the copy or wholly
out), arrivals first: an arrival moved into the main database between the two copies is
then in both, and restoring absorbs it once (``INSERT OR IGNORE``); in the other order it
would be in neither. The stored files come last: they are immutable once published, so
every file either copy refers to exists by then. Settings are copied without their
secrets, which an operator keeps elsewhere; the token file is left out for the same reason,
and webhook addresses (which often hold a key in their path) are masked in the copy.

Restoring checks the backup whole before copying anything (``backup_checks``), copies it
beside the data directory, checks the copy's files against their hashes, and only then puts
it in place: a failed check restores nothing. Settings are restored only when asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stockwatch.core.clock import utc_now
from stockwatch.core.subscriptions import mask_url
from stockwatch.sqlite.arrivals import ARRIVALS_NAME
from stockwatch.sqlite.backup_checks import (
    UnsafeBackup,
    check_arrivals,
    check_database,
    check_keys,
    check_tree,
    settings_without_secrets,
)
from stockwatch.sqlite.database import DATABASE_NAME, private_dir

MANIFEST = "stockwatch-backup.json"
SETTINGS = "stockwatch.toml"


class BackupError(Exception):
    """The backup, restore or check cannot go on; the message says why and what to do."""


@dataclass
class BackupResult:
    uploads: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)


def _copy_database(source: Path, target: Path) -> None:
    """One consistent copy through the online backup API (``pages=-1``: in one step)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


# The stored files each database refers to: fixed statements, one per table.
_FILES = {
    # A file retention removed on purpose is not missing (``sqlite/retention.py``).
    "uploads": "SELECT object_key, sha256 FROM uploads WHERE file_removed_at IS NULL",
    "arrivals": "SELECT object_key, sha256 FROM arrivals",
}


def _keys(database: Path, table: str) -> Iterator[tuple[str, str]]:
    """The (key, sha256) of every stored file the table refers to; a key that is not a plain
    path inside ``objects/`` raises ``UnsafeBackup`` (``backup_checks.safe_key``)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    if table in tables:
        yield from check_keys(database, _FILES[table])


def _settings_without_secrets(source: Path, target: Path) -> None:
    text = settings_without_secrets(source.read_text(encoding="utf-8"))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _mask_addresses(database: Path) -> None:
    """Webhook addresses in the copy, masked: a key in a URL's path is a secret."""
    conn = sqlite3.connect(database)
    try:
        conn.create_function("mask_url", 1, mask_url, deterministic=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with conn:
            if "subscriptions" in tables:
                columns = {r[1] for r in conn.execute("PRAGMA table_info(subscriptions)")}
                conn.execute(
                    "UPDATE subscriptions SET target = mask_url(target) WHERE channel = 'webhook'"
                )
                if "secret" in columns:
                    conn.execute("UPDATE subscriptions SET secret = NULL")
            if "audit" in tables:
                conn.execute(
                    "UPDATE audit SET subject = 'webhook ' || mask_url(substr(subject, 9))"
                    " WHERE subject LIKE 'webhook %://%'"
                )
    finally:
        conn.close()


def _empty_or_new(folder: Path, what: str) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty; {what} needs an empty or new folder")


def backup(data_dir: Path, dest: Path) -> BackupResult:
    """A consistent copy of a data directory that may be in use."""
    main = data_dir / DATABASE_NAME
    if not main.exists():
        raise BackupError(f"{data_dir} has no stockwatch database to back up")
    _empty_or_new(dest, "a backup")
    private_dir(dest)
    result = BackupResult()
    arrivals = data_dir / ARRIVALS_NAME
    if arrivals.exists():
        _copy_database(arrivals, dest / ARRIVALS_NAME)  # first: see the module's docstring
    _copy_database(main, dest / DATABASE_NAME)
    _mask_addresses(dest / DATABASE_NAME)
    keys = list(_keys(dest / DATABASE_NAME, "uploads"))
    if (dest / ARRIVALS_NAME).exists():
        keys += list(_keys(dest / ARRIVALS_NAME, "arrivals"))
    result.uploads = len(keys)
    for key, _ in dict(keys).items():
        source = data_dir / "objects" / key
        if not source.exists():
            result.problems.append(f"the stored file {key} is missing from {data_dir}")
            continue
        target = dest / "objects" / key
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(source, target)
        result.files += 1
        result.bytes += target.stat().st_size
    if (data_dir / SETTINGS).exists():
        _settings_without_secrets(data_dir / SETTINGS, dest / SETTINGS)
    (dest / MANIFEST).write_text(
        json.dumps(
            {
                "stockwatch_backup": 1,
                "taken_at": utc_now(),
                "schema": _schema(dest / DATABASE_NAME),
                "uploads": result.uploads,
                "files": result.files,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return result


def _schema(database: Path) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def restore(source: Path, data_dir: Path, settings: bool = False) -> BackupResult:
    """Restore a backup into an empty (or new) data directory, checked before and after;
    nothing is restored unless every check passes. ``settings``: restore its settings file
    too (it never holds secrets, but its addresses are the backup's, not this server's)."""
    if not (source / MANIFEST).exists():
        raise BackupError(f"{source} is not a stockwatch backup (no {MANIFEST})")
    _empty_or_new(data_dir, "a restore")
    try:
        check_tree(source)
        if not (source / DATABASE_NAME).is_file():
            raise UnsafeBackup(f"{source} has no {DATABASE_NAME}")
        check_database(source / DATABASE_NAME)
        list(_keys(source / DATABASE_NAME, "uploads"))
        if (source / ARRIVALS_NAME).exists():
            check_arrivals(source / ARRIVALS_NAME)
            list(_keys(source / ARRIVALS_NAME, "arrivals"))
    except UnsafeBackup as exc:
        raise BackupError(f"{source}: {exc}; nothing was restored") from None
    parent = data_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}-restoring-", dir=parent))
    try:
        staging.chmod(0o700)
        names = [DATABASE_NAME, ARRIVALS_NAME] + ([SETTINGS] if settings else [])
        for name in names:
            if (source / name).is_file():
                _copy_private(source / name, staging / name)
        if (source / "objects").is_dir():
            _copy_tree_private(source / "objects", staging / "objects")
        result = check(staging)
        if result.problems:
            shown = "; ".join(result.problems[:10])
            raise BackupError(f"{source} does not check out ({shown}); nothing was restored")
        if data_dir.exists():
            data_dir.rmdir()  # empty: checked above
        staging.rename(data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _copy_private(source: Path, target: Path) -> None:
    """A regular file copied without following a link, 0600 whatever the source's mode."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src:
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)


def _copy_tree_private(source: Path, target: Path) -> None:
    """Folders 0700 and files 0600 (the tree was checked to hold nothing else)."""
    target.mkdir(mode=0o700)
    for entry in sorted(source.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            _copy_tree_private(entry, target / entry.name)
        else:
            _copy_private(entry, target / entry.name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def check(data_dir: Path) -> BackupResult:
    """Each database's integrity, and every stored file against its recorded hash."""
    result = BackupResult()
    main = data_dir / DATABASE_NAME
    if not main.exists():
        raise BackupError(f"{data_dir} has no stockwatch database")
    keys: list[tuple[str, str]] = []
    for name, table in ((DATABASE_NAME, "uploads"), (ARRIVALS_NAME, "arrivals")):
        path = data_dir / name
        if not path.exists():
            continue
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            verdict = [str(exc)]
        finally:
            conn.close()
        if verdict != ["ok"]:
            result.problems += [f"{name}: {v}" for v in verdict[:20]]
            continue
        try:
            keys += list(_keys(path, table))
        except UnsafeBackup as exc:
            result.problems.append(f"{name}: {exc}")
    for key, sha256 in dict(keys).items():
        result.uploads += 1
        path = data_dir / "objects" / key  # a plain relative path: checked by _keys
        if not path.exists():
            result.problems.append(f"the stored file {key} is missing")
            continue
        result.files += 1
        result.bytes += path.stat().st_size
        if _sha256(path) != sha256:
            result.problems.append(f"the stored file {key} does not match its recorded hash")
    return result
