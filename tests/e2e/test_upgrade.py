"""A data directory from before counts had a date still loads, orders and reads right."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from stockwatch.sqlite.app import EmbeddedStockwatch
from stockwatch.sqlite.database import _migrations
from tests.conftest import csv_bytes


def _old_database(path: Path) -> None:
    """The schema as migrations 1-3 left it, with one upload loaded the old way."""
    conn = sqlite3.connect(path)
    for number, script in _migrations():
        if number > 3:
            break
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute(
        "INSERT INTO uploads (id, filename, object_key, size, sha256, status, received_at)"
        " VALUES (7, 'old.csv', 'k', 1, 'x', 'loaded', '2026-11-30T10:00:00.000Z')"
    )
    conn.execute(
        "INSERT INTO inventory (store, item, count, version, line, upload_id)"
        " VALUES ('Berlin', 'Echo Dot', 9, 7, 2, 7)"
    )
    conn.commit()
    conn.close()


def test_old_versions_become_dated_versions_and_keep_their_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _old_database(data / "stockwatch.db")
    app = EmbeddedStockwatch(data)
    try:
        (version,) = app.conn.execute("SELECT version FROM inventory").fetchone()
        assert version == "2026-11-30T10:00:00.000Z#000000000007"
        # A file counted before the old upload arrived loses to it; one loaded now wins.
        older = app.receive(
            "older.csv",
            io.BytesIO(csv_bytes(("Berlin", "Echo Dot", 1))),
            False,
            "2026-11-29T00:00:00.000Z",
        )
        assert app.process_upload(older).rows_superseded == 1
        newer = app.receive("newer.csv", io.BytesIO(csv_bytes(("Berlin", "Echo Dot", 4))))
        assert app.process_upload(newer).rows_loaded == 1
        assert app.conn.execute("SELECT count FROM inventory").fetchone() == (4,)
    finally:
        app.close()


def test_a_data_directory_from_a_newer_stockwatch_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"
    EmbeddedStockwatch(data).close()
    conn = sqlite3.connect(data / "stockwatch.db")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    cli = [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "stock"]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "written by a newer stockwatch (schema 99" in result.stderr
    assert "upgrade stockwatch to open it" in result.stderr
