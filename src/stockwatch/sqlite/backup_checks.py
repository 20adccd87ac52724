"""What a backup must be before any of it is restored, and what it keeps out of a copy.

A backup is a folder anyone could have written: restoring a crafted one must not reach
outside the data directory, plant a trigger that undoes later revocations, follow a link,
open with a schema this stockwatch does not know, or send the operator's secrets to an
address the backup names. So, before a byte is copied:

* its databases hold exactly the schema objects stockwatch makes (no extra trigger, view,
  table or index, and each trigger and view as stockwatch writes it), at a schema version
  this stockwatch knows;
* every stored file's key is a plain relative path inside ``objects/``;
* nothing in it is a link or a special file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import tempfile
import tomllib
from pathlib import Path, PurePosixPath

from stockwatch import __version__
from stockwatch.core.subscriptions import mask_url
from stockwatch.sqlite.database import DATABASE_NAME, _math_functions, _migrations, migrate

SECRET_WORDS = ("password", "secret", "token", "key")


class UnsafeBackup(Exception):
    """The backup is not one stockwatch would have written; nothing was restored."""


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """(type, name) -> SQL of every schema object but SQLite's own."""
    rows = conn.execute(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    )
    return {(kind, name): " ".join(sql.split()) for kind, name, sql in rows}


def _expected(version: int) -> dict[tuple[str, str], str]:
    """The schema this stockwatch's migrations make up to ``version``: a backup taken by
    an older stockwatch holds what its schema had (say, a table a later migration renamed),
    and is migrated when it is opened."""
    with tempfile.TemporaryDirectory(prefix="stockwatch-schema-") as tmp:
        conn = sqlite3.connect(Path(tmp) / DATABASE_NAME, isolation_level=None)
        _math_functions(conn)  # the figures' backfill (schema 22) uses them
        try:
            migrate(conn, upto=version)
            return _objects(conn)
        finally:
            conn.close()


def _readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def check_database(path: Path) -> None:
    """The main database: a known schema version, and nothing stockwatch does not make."""
    known = _migrations()[-1][0]
    conn = _readonly(path)
    try:
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            found = _objects(conn)
        except sqlite3.DatabaseError as exc:
            raise UnsafeBackup(f"{path.name} is not a readable database: {exc}") from None
    finally:
        conn.close()
    if version > known:
        raise UnsafeBackup(
            f"{path.name} was written by a newer stockwatch (schema {version}; this stockwatch"
            f" {__version__} knows up to {known}); restore it with that version or newer"
        )
    expected = _expected(version)
    for (kind, name), sql in sorted(found.items()):
        if (kind, name) not in expected:
            raise UnsafeBackup(
                f"{path.name} holds a {kind} {name!r} that stockwatch never makes; a backup"
                " taken by stockwatch has none"
            )
        if kind in ("trigger", "view") and sql != expected[(kind, name)]:
            raise UnsafeBackup(f"{path.name}: the {kind} {name!r} is not stockwatch's own")


def check_arrivals(path: Path) -> None:
    """The arrivals database: its one table, nothing else."""
    conn = _readonly(path)
    try:
        try:
            found = _objects(conn)
        except sqlite3.DatabaseError as exc:
            raise UnsafeBackup(f"{path.name} is not a readable database: {exc}") from None
    finally:
        conn.close()
    extra = sorted(name for kind, name in found if (kind, name) != ("table", "arrivals"))
    if extra:
        raise UnsafeBackup(f"{path.name} holds {', '.join(extra)}, which stockwatch never makes")


def safe_key(key: str) -> bool:
    """A stored file's key: relative, no ``..``, no backslash or NUL, inside ``objects/``."""
    if not key or "\\" in key or "\x00" in key or key.startswith("/"):
        return False
    parts = PurePosixPath(key).parts
    return bool(parts) and all(p not in ("", ".", "..") for p in parts)


def check_keys(database: Path, statement: str) -> list[tuple[str, str]]:
    """Every (key, sha256) a database refers to, each key checked."""
    conn = _readonly(database)
    try:
        rows = list(conn.execute(statement))
    finally:
        conn.close()
    for key, _ in rows:
        if not safe_key(str(key)):
            raise UnsafeBackup(
                f"{database.name} refers to a stored file {str(key)[:200]!r}, which is not a"
                " path inside objects/"
            )
    return [(str(k), str(s)) for k, s in rows]


def check_tree(folder: Path) -> None:
    """No link and no special file anywhere in the backup (they are never followed)."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            mode = os.lstat(Path(root) / name).st_mode
            if stat.S_ISLNK(mode):
                raise UnsafeBackup(f"{Path(root, name)} is a link; a backup holds none")
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise UnsafeBackup(f"{Path(root, name)} is not a regular file")


# -- settings and addresses -------------------------------------------------------------------


def _toml_value(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "[" + ", ".join(_toml_value(v) or "" for v in value) + "]"
    return None  # tables and the like are not settings stockwatch reads


def settings_without_secrets(text: str) -> str:
    """The settings file for a backup: parsed (so a multi-line secret goes whole), secret
    keys left out, URLs masked, written back as valid TOML."""
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnsafeBackup(f"the settings file is not valid TOML ({exc}); fix it first") from None
    lines = ["# stockwatch settings, copied by `stockwatch backup` without their secrets"]
    for name, value in settings.items():
        if any(word in name.lower() for word in SECRET_WORDS):
            continue
        if isinstance(value, str) and "://" in value:
            value = mask_url(value)
        shown = _toml_value(value)
        if shown is not None:
            lines.append(f"{name} = {shown}")
    return "\n".join(lines) + "\n"
