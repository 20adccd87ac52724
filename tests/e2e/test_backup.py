"""Backups taken while uploads run, restored, and checked: real SQLite files, real threads."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.backup import BackupError, backup, check, restore
from tests.conftest import csv_bytes


def day_file(n: int) -> bytes:
    """Counts that change every upload, with some at 0, so alerts come and go."""
    return csv_bytes(
        *((f"S{s}", f"I{i}", (n * 7 + s * 3 + i) % 5) for s in range(4) for i in range(300))
    )


def state(app: SqliteBackend) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "stock": "SELECT store, item, count FROM inventory ORDER BY 1, 2",
        "alerts": "SELECT kind, store, item, count, resolved_at IS NULL FROM alerts ORDER BY id",
        "outbox": "SELECT upload_id, channel, status FROM outbox ORDER BY id",
        "uploads": "SELECT id, filename, status FROM uploads ORDER BY id",
    }
    return {name: [tuple(r) for r in app.conn.execute(sql)] for name, sql in queries.items()}


def test_a_backup_taken_while_uploads_run_restores_a_consistent_state(tmp_path: Path) -> None:
    source = tmp_path / "live"
    stop = threading.Event()
    done: list[int] = []

    def uploads() -> None:
        app = SqliteBackend(source, channel_names=("webhook",))
        try:
            n = 0
            while not stop.is_set() and n < 200:
                upload_id = app.receive(Upload(f"day-{n}.csv"), io.BytesIO(day_file(n)))
                app.process_upload(upload_id)
                done.append(n)
                n += 1
        finally:
            app.close()

    SqliteBackend(source, channel_names=("webhook",)).close()
    worker = threading.Thread(target=uploads)
    worker.start()
    while len(done) < 3:
        time.sleep(0.01)
    taken = backup(source, tmp_path / "backup")  # while uploads keep coming
    while len(done) < taken.uploads + 3 and worker.is_alive():
        time.sleep(0.01)
    stop.set()
    worker.join()
    assert taken.problems == [] and taken.files >= 3
    assert len(done) > taken.uploads  # the source went on after the backup

    result = restore(tmp_path / "backup", tmp_path / "restored")
    assert result.problems == []
    restored = SqliteBackend(tmp_path / "restored", channel_names=("webhook",))
    try:
        restored.process_pending()  # an upload caught mid-way finishes now
        got = state(restored)
    finally:
        restored.close()
    # The same uploads loaded in order from scratch give the very same state: the backup
    # holds whole uploads only, and their alerts and pending notifications with them.
    loaded = [row for row in got["uploads"] if row[2] == "loaded"]
    replay = SqliteBackend(tmp_path / "replay", channel_names=("webhook",))
    try:
        for _, named, _ in loaded:
            name = str(named)
            n = int(name.removeprefix("day-").removesuffix(".csv"))
            replay.process_upload(replay.receive(Upload(name), io.BytesIO(day_file(n))))
        expected = state(replay)
    finally:
        replay.close()
    assert len(loaded) == len(got["uploads"]) >= 3
    assert got == expected


def test_check_names_missing_and_altered_files_and_restore_needs_an_empty_folder(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    app = SqliteBackend(data)
    try:
        for n in range(3):
            app.process_upload(app.receive(Upload(f"f{n}.csv"), io.BytesIO(day_file(n))))
        keys = [r[0] for r in app.conn.execute("SELECT object_key FROM uploads ORDER BY id")]
    finally:
        app.close()
    (data / "stockwatch.toml").write_text(
        'webhook_url = "http://127.0.0.1:9/x"\nwebhook_secret = "s3cret"\n'
    )
    (data / "stockwatch.toml").chmod(0o600)  # it holds a secret: its owner's alone
    taken = backup(data, tmp_path / "backup")
    assert (taken.uploads, taken.files, taken.problems) == (3, 3, [])
    settings = (tmp_path / "backup" / "stockwatch.toml").read_text()
    assert "webhook_url" in settings and "s3cret" not in settings
    assert check(data).problems == []

    (data / "objects" / keys[0]).write_bytes(b"store,item,count\nX,Y,1\n")
    (data / "objects" / keys[1]).unlink()
    problems = check(data).problems
    assert problems == [
        f"the stored file {keys[0]} does not match its recorded hash",
        f"the stored file {keys[1]} is missing",
    ]
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "backup", data)

    cli = [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "check"]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "does not match its recorded hash" in result.stderr
    fresh = [sys.executable, "-m", "stockwatch", "--data-dir", str(tmp_path / "fresh")]
    restored = subprocess.run(
        [*fresh, "restore", str(tmp_path / "backup")], capture_output=True, text=True, timeout=60
    )
    assert restored.returncode == 0, restored.stderr
    assert "3 uploads, 3 stored files" in restored.stdout
