"""A data directory from before counts had a date still loads, orders and reads right."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from stockwatch.service.commands import Upload
from stockwatch.sqlite import tiers
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.backup_checks import check_database
from stockwatch.sqlite.database import _math_functions, _migrations, migrate
from stockwatch.sqlite.queries import history
from tests.conftest import Receiver, csv_bytes

LATEST_SCHEMA = _migrations()[-1][0]


def _schema_at(path: Path, schema: int) -> sqlite3.Connection:
    """A database as migrations 1 to ``schema`` left it, with upload 7 loaded."""
    conn = sqlite3.connect(path, isolation_level=None)
    _math_functions(conn)  # the figures' backfill (schema 22) uses them
    migrate(conn, upto=schema)
    conn.execute(
        "INSERT INTO uploads (id, filename, object_key, size, sha256, status, received_at)"
        " VALUES (7, 'old.csv', 'k', 1, 'x', 'loaded', '2026-11-30T10:00:00.000Z')"
    )
    return conn


def _old_database(path: Path) -> None:
    """The schema as migrations 1-3 left it, with one upload loaded the old way."""
    conn = _schema_at(path, 3)
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
    app = SqliteBackend(data)
    try:
        (version,) = app.conn.execute("SELECT version FROM inventory").fetchone()
        assert version == "2026-11-30T10:00:00.000Z#000000000007"
        # A file counted before the old upload arrived loses to it; one loaded now wins.
        older = app.receive(
            Upload("older.csv", as_of="2026-11-29T00:00:00.000Z"),
            io.BytesIO(csv_bytes(("Berlin", "Echo Dot", 1))),
        )
        assert app.process_upload(older).rows_superseded == 1
        newer = app.receive(Upload("newer.csv"), io.BytesIO(csv_bytes(("Berlin", "Echo Dot", 4))))
        assert app.process_upload(newer).rows_loaded == 1
        assert app.conn.execute("SELECT count FROM inventory").fetchone() == (4,)
    finally:
        app.close()


def test_a_data_directory_from_a_newer_stockwatch_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"
    made = SqliteBackend(data)
    made.conn  # noqa: B018  # the database is made on first use
    made.close()
    conn = sqlite3.connect(data / "stockwatch.db")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    cli = [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "stock"]
    result = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "written by a newer stockwatch (schema 99" in result.stderr
    assert "upgrade stockwatch to open it" in result.stderr


V0_1_0 = "716ab3b"  # CHANGELOG.md: the commit v0.1.0 was made from


def test_a_data_directory_made_by_the_previous_release_opens_and_finishes_its_work(
    tmp_path: Path, receiver: Receiver
) -> None:
    """v0.1.0, checked out of this repository's own history, makes a data directory with
    uploads, alerts, thresholds, a pending notification and an upload still queued; the
    current code opens it, migrates it once, and finishes the pending work."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    known = subprocess.run(
        ["git", "-C", str(root), "cat-file", "-e", f"{V0_1_0}^{{commit}}"], capture_output=True
    )
    assert known.returncode == 0, f"this checkout lacks {V0_1_0} (v0.1.0): clone with history"
    old = tmp_path / "v0.1.0"
    subprocess.run(
        ["git", "-C", str(root), "worktree", "add", "--detach", str(old), V0_1_0],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        data = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
        dead = {
            **env,
            "PYTHONPATH": str(old / "src"),
            "STOCKWATCH_WEBHOOK_URL": "http://127.0.0.1:9/",
        }

        def old_cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "stockwatch", "--data-dir", str(data), *args],
                capture_output=True,
                text=True,
                env=dead,
                timeout=120,
                cwd=tmp_path,
            )

        first = tmp_path / "berlin.csv"
        first.write_bytes(csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 3)))
        assert old_cli("thresholds", "set", "Berlin", "*", "5").returncode == 0
        old_cli("ingest", str(first))  # the webhook is down: its digest stays pending
        queued = tmp_path / "later.csv"
        queued.write_bytes(csv_bytes(("Berlin", "Echo Dot", 7)))
        script = (
            "import io, sys; from pathlib import Path; from stockwatch.sqlite.app import"
            " EmbeddedStockwatch as E; a = E(Path(sys.argv[1]));"
            " a.receive('later.csv', open(sys.argv[2], 'rb')); a.close()"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(data), str(queued)],
            check=True,
            env=dead,
            timeout=60,
            cwd=tmp_path,
        )
        version = old_cli("--version").stdout
        assert "0.1.0" in version, version

        # The current code, with the webhook back.
        app = SqliteBackend(data, channel_names=("webhook",))
        try:
            (schema,) = app.conn.execute("PRAGMA user_version").fetchone()
            assert schema == LATEST_SCHEMA
            # 0008 dated the old changes by their uploads, so their history keeps its order.
            assert app.conn.execute(
                "SELECT count(*) FROM changes WHERE counted IS NULL"
            ).fetchone() == (0,)
            assert [p.count for p in history(app.conn, "Berlin", "Echo Dot")] == [0]
            (version_text,) = app.conn.execute(
                "SELECT version FROM inventory WHERE item = 'Echo Show'"
            ).fetchone()
            assert version_text.endswith("#000000000001")  # dated by its arrival
        finally:
            app.close()
        now = {**env, "STOCKWATCH_WEBHOOK_URL": receiver.url}
        done = subprocess.run(
            [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "process", "--json"],
            capture_output=True,
            text=True,
            env=now,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        texts = [d["text"] for d in receiver.received]
        assert any("Berlin is out of stock of Echo Dot" in t for t in texts)  # the old one
        app = SqliteBackend(data)
        try:
            stock = dict(app.conn.execute("SELECT item, count FROM inventory"))
            assert stock == {"Echo Dot": 7, "Echo Show": 3}  # the queued upload loaded
            thresholds = list(app.conn.execute("SELECT store, item, minimum FROM thresholds"))
            assert thresholds == [("Berlin", "*", 5)]
            kinds = [r[0] for r in app.conn.execute("SELECT kind FROM alerts ORDER BY id")]
            assert kinds == ["out_of_stock", "low_stock", "back_in_stock"]
            assert app.conn.execute("PRAGMA user_version").fetchone() == (LATEST_SCHEMA,)
            assert [p.count for p in history(app.conn, "Berlin", "Echo Dot")] == [0, 7]
        finally:
            app.close()
    finally:
        subprocess.run(
            ["git", "-C", str(root), "worktree", "remove", "--force", str(old)],
            capture_output=True,
            timeout=120,
        )


def test_a_schema_22_directory_gets_two_tiers_and_a_backup_of_it_still_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0023 renames the inventory table and puts a view in its place (#28): the
    rows are read as before, a re-upload's changes go to the small tier, and a backup
    taken before the upgrade (a table named inventory) is still one stockwatch made."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "stockwatch.db"
    conn = _schema_at(db, 22)
    conn.executemany(
        "INSERT INTO inventory (store, item, count, version, line, upload_id)"
        " VALUES ('Berlin', ?, ?, '2026-11-30T10:00:00.000Z#000000000007', ?, 7)",
        [("Echo Dot", 9, 2), ("Echo Show", 3, 3)],
    )
    conn.commit()
    conn.close()
    check_database(db)  # a schema-22 backup: its table inventory is stockwatch's own

    monkeypatch.setattr(tiers, "SHARE", 1e9)  # a store of two items: never folded here
    app = SqliteBackend(data)
    try:
        stock = "SELECT store, item, count FROM inventory ORDER BY item"
        assert app.conn.execute(stock).fetchall() == [
            ("Berlin", "Echo Dot", 9),
            ("Berlin", "Echo Show", 3),
        ]
        same = csv_bytes(("Berlin", "Echo Dot", 9), ("Berlin", "Echo Show", 3))
        assert (
            app.process_upload(app.receive(Upload("a.csv"), io.BytesIO(same))).rows_unchanged == 2
        )
        gone = csv_bytes(("Berlin", "Echo Dot", 9), ("Berlin", "Echo Show", 0))
        report = app.process_upload(app.receive(Upload("b.csv"), io.BytesIO(gone)))
        assert (report.rows_loaded, report.rows_unchanged) == (1, 1)
        assert app.conn.execute("SELECT store, item, count FROM inventory_recent").fetchall() == [
            ("Berlin", "Echo Show", 0)
        ]
        assert app.conn.execute(stock).fetchall()[1] == ("Berlin", "Echo Show", 0)
        assert [p.count for p in history(app.conn, "Berlin", "Echo Show")][-1] == 0
        (kind,) = app.conn.execute(
            "SELECT kind FROM alerts WHERE item = 'Echo Show' AND resolved_at IS NULL"
        ).fetchone()
        assert kind == "out_of_stock"
        scan = "SELECT count FROM inventory AS i JOIN store_records AS r USING (store)"
        assert tiers.for_scan(app.conn, scan) == scan  # the view, while the tier has rows
        app.compact(vacuum=False)  # the day's maintenance folds the small tier
        assert not app.conn.execute("SELECT 1 FROM inventory_recent").fetchall()
        assert tiers.for_scan(app.conn, scan) == scan.replace("inventory", "inventory_main")
        assert app.conn.execute(stock).fetchall()[1] == ("Berlin", "Echo Show", 0)
    finally:
        app.close()
    check_database(db)
