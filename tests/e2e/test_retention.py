"""Retention: old files removed, old history thinned to a point a day, reports and alerts
kept, the database smaller — on a real SQLite file, through the real CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stockwatch.core.retention import Retention
from stockwatch.sqlite.app import EmbeddedStockwatch
from stockwatch.sqlite.backup import check
from stockwatch.sqlite.retention import compact
from tests.conftest import csv_bytes


def test_compact_thins_old_history_removes_old_files_and_keeps_the_record(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    app = EmbeddedStockwatch(data)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        for day in range(10):
            for hour in (8, 12, 18):  # three counts a day, each a change
                moment = start + timedelta(days=day, hours=hour)
                count = 200 - 3 * (day * 3 + hour // 6)
                rows = [("Berlin", f"Item {i}", count + i) for i in range(200)]
                rows.append(("Berlin", "Echo Dot", 0 if (day, hour) == (4, 12) else count))
                as_of = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                app.process_upload(
                    app.receive(f"d{day}-{hour}.csv", io.BytesIO(csv_bytes(*rows)), False, as_of)
                )
        before_points = len(app.conn.execute("SELECT * FROM changes").fetchall())
        alerts_sql = "SELECT kind, item, resolved_at IS NULL FROM alerts"
        alerts = app.conn.execute(alerts_sql).fetchall()
        reports = app.conn.execute("SELECT id, report FROM uploads ORDER BY id").fetchall()
        history = [p.count for p in _history(app)]
        assert len(history) == 30

        # A year and a half later: the files are past their year, the history past 90 days.
        later = datetime.now(UTC) + timedelta(days=500)
        done = compact(app.conn, data, Retention(), now=later)
        assert done.files_removed == 30 and done.bytes_freed > 0
        assert done.changes_thinned == before_points - 201 * 10  # one point a day is kept
        assert done.database_after < done.database_before
        thinned = [p.count for p in _history(app)]
        assert len(thinned) == 10 and thinned == history[2::3]  # each day's last count
        assert (
            app.conn.execute("SELECT kind, item, resolved_at IS NULL FROM alerts").fetchall()
            == alerts
        )
        assert app.conn.execute("SELECT id, report FROM uploads ORDER BY id").fetchall() == reports
        assert check(data).problems == []  # removed on purpose is not missing
        again = compact(app.conn, data, Retention(), now=later)
        assert (again.changes_thinned, again.files_removed) == (0, 0)
    finally:
        app.close()


def _history(app: EmbeddedStockwatch) -> list:  # type: ignore[type-arg]
    from stockwatch.sqlite.queries import history

    return history(app.conn, "Berlin", "Item 0")


def test_the_settings_refuse_to_thin_what_the_forecast_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_KEEP_HISTORY_DAYS", "30")
    with pytest.raises(ValueError, match="at least 90"):
        Retention.from_env()
    data = tmp_path / "data"
    EmbeddedStockwatch(data).close()
    cli = [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "compact"]
    refused = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "at least 90" in refused.stderr
    monkeypatch.delenv("STOCKWATCH_KEEP_HISTORY_DAYS")
    fine = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert fine.returncode == 0 and "thinned 0 old history points" in fine.stdout
