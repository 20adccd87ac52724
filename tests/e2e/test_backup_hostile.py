"""Crafted backups (#25, items 5 and 8): each is a real backup taken by stockwatch, then
changed on disk the way an attacker (or an accident) would. Restoring any of them restores
nothing and says why; secrets never reach a backup, in settings or in addresses."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from stockwatch.service.commands import Subscribe, Upload
from stockwatch.service.subscriptions import add_subscription
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.backup import BackupError, backup, restore
from stockwatch.sqlite.retention import compact
from tests.conftest import csv_bytes

SLACK = "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/abcdefghijklmnopqrstuvwx"


@pytest.fixture
def taken(tmp_path: Path) -> Path:
    """A data directory with an upload, a webhook subscription and settings, backed up."""
    data = tmp_path / "data"
    app = SqliteBackend(data)
    try:
        app.process_upload(app.receive(Upload("a.csv"), io.BytesIO(csv_bytes(("B", "I", 1)))))
        add_subscription(app.subscriptions(), app.users(), Subscribe("root", webhook=SLACK))
    finally:
        app.close()
    (data / "stockwatch.toml").write_text(
        'smtp_host = "mail.example.com"\n'
        'smtp_password = """line one\nline two"""\n'
        f'webhook_url = "{SLACK}"\n'
        "keep_files_days = 30\n"
    )
    backup(data, tmp_path / "backup")
    return tmp_path / "backup"


def _sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(statement)
    conn.close()


def refused(taken: Path, tmp_path: Path, why: str) -> None:
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=why):
        restore(taken, target)
    assert not target.exists() or not any(target.iterdir())  # nothing restored
    assert not [p for p in tmp_path.iterdir() if "restoring" in p.name]  # no staging left


CRAFTED: dict[str, tuple[Callable[[Path], object], str]] = {
    "a key up and out": (
        lambda b: _sql(b / "stockwatch.db", "UPDATE uploads SET object_key = '../../victim'"),
        "not a path inside objects",
    ),
    "an absolute key": (
        lambda b: _sql(b / "stockwatch.db", "UPDATE uploads SET object_key = '/etc/passwd'"),
        "not a path inside objects",
    ),
    "a trigger that undoes revocations": (
        lambda b: _sql(
            b / "stockwatch.db",
            "CREATE TRIGGER undo AFTER UPDATE ON users BEGIN"
            " UPDATE users SET revoked_at = NULL; END",
        ),
        "trigger 'undo' that stockwatch never makes",
    ),
    "a newer schema": (
        lambda b: _sql(b / "stockwatch.db", "PRAGMA user_version = 999"),
        "written by a newer stockwatch",
    ),
    "a link in objects": (
        lambda b: (
            next(p for p in (b / "objects").rglob("*") if p.is_file())
            .with_name("extra")
            .symlink_to("/etc/passwd")
        ),
        "is a link",
    ),
    "a file that does not match its hash": (
        lambda b: next(p for p in (b / "objects").rglob("*") if p.is_file()).write_bytes(b"x"),
        "does not match its recorded hash",
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_backup_restores_nothing(taken: Path, tmp_path: Path, case: str) -> None:
    craft, why = CRAFTED[case]
    craft(taken)
    refused(taken, tmp_path, why)


def test_a_good_backup_restores_private_files_and_settings_only_when_asked(
    taken: Path, tmp_path: Path
) -> None:
    for path in taken.rglob("*"):  # a backup copied around with loose modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    plain = tmp_path / "plain"
    restore(taken, plain)
    assert not (plain / "stockwatch.toml").exists()
    modes = {stat.S_IMODE(p.stat().st_mode) for p in plain.rglob("*")}
    assert modes <= {0o600, 0o700}, modes
    assert stat.S_IMODE(plain.stat().st_mode) == 0o700
    with_settings = tmp_path / "with-settings"
    restore(taken, with_settings, settings=True)
    assert (with_settings / "stockwatch.toml").exists()


def test_a_backup_holds_no_secret(taken: Path) -> None:
    """A multi-line password went into the backup line by line, leaving invalid TOML; a
    webhook's key went in whole, in settings, subscriptions and the audit trail."""
    settings = tomllib.loads((taken / "stockwatch.toml").read_text())
    assert settings["smtp_host"] == "mail.example.com" and settings["keep_files_days"] == 30
    assert not any("password" in name for name in settings)
    everything = (taken / "stockwatch.toml").read_text() + "".join(
        str(row)
        for table in ("subscriptions", "audit")
        for row in sqlite3.connect(taken / "stockwatch.db").execute(
            f"SELECT * FROM {table}"  # noqa: S608  # two fixed names
        )
    )
    assert "abcdefghijklmnopqrstuvwx" not in everything and "line two" not in everything
    assert "https://hooks.slack.com/services/…/…/…" in everything


def test_retention_never_deletes_outside_the_objects_folder(tmp_path: Path) -> None:
    from stockwatch.core.retention import Retention

    victim = tmp_path / "victim"
    victim.write_text("keep me")
    data = tmp_path / "data"
    app = SqliteBackend(data)
    try:
        app.process_upload(app.receive(Upload("a.csv"), io.BytesIO(csv_bytes(("B", "I", 1)))))
        with app.conn:
            app.conn.execute(
                "UPDATE uploads SET object_key = '../../victim', received_at = '2001-01-01'"
            )
        compact(app.conn, data, Retention(keep_files_days=1), vacuum=False)
    finally:
        app.close()
    assert victim.read_text() == "keep me"
    assert os.path.exists(victim)
