"""Retention: old files removed, old history thinned to a point a day, reports and alerts
kept, the database smaller — on a real SQLite file, through the real CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stockwatch.core.forecast import epoch, forecast
from stockwatch.core.retention import Retention
from stockwatch.core.rows import AlertRow
from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.backup import check
from stockwatch.sqlite.queries import acknowledge, alerts, stock_page
from stockwatch.sqlite.retention import compact
from tests.conftest import csv_bytes


def test_compact_thins_old_history_removes_old_files_and_keeps_the_record(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    app = SqliteBackend(data)
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
                    app.receive(
                        Upload(f"d{day}-{hour}.csv", as_of=as_of), io.BytesIO(csv_bytes(*rows))
                    )
                )
        before_points = len(app.conn.execute("SELECT * FROM changes").fetchall())
        listings = _alert_listings(app)
        assert len(listings["all"]) == 2  # out of stock, then back in stock
        reports = app.conn.execute("SELECT id, report FROM uploads ORDER BY id").fetchall()
        history = [p.count for p in _history(app)]
        assert len(history) == 30

        # A year and a half later: the files are past their year, the history past 90 days.
        later = datetime.now(UTC) + timedelta(days=500)
        by_day = Retention(history_step="day")
        done = compact(app.conn, data, by_day, now=later)
        assert done.files_removed == 30 and done.bytes_freed > 0
        assert done.changes_moved == before_points  # all past their week: history
        assert done.changes_thinned == before_points  # all past the window: archived
        assert app.conn.execute("SELECT count(*) FROM changes").fetchone() == (0,)
        assert app.conn.execute("SELECT count(*) FROM history_archive").fetchone() == (
            201,
        )  # a row per item and year
        assert done.database_after < done.database_before
        points = _history(app)
        thinned = [p.count for p in points]
        assert len(thinned) == 10 and thinned == history[2::3]  # each day's last count
        assert [p.old_count for p in points] == [None, *thinned[:-1]]  # the point before
        assert [p.as_of[:10] for p in points] == [f"2026-01-{d:02d}" for d in range(1, 11)]
        assert done.alerts_archived == 2  # resolved long ago: packed, and still listed
        assert app.conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)
        assert _alert_listings(app) == listings
        assert app.conn.execute("SELECT id, report FROM uploads ORDER BY id").fetchall() == reports
        assert check(data).problems == []  # removed on purpose is not missing
        again = compact(app.conn, data, by_day, now=later)
        assert (again.changes_thinned, again.files_removed) == (0, 0)
    finally:
        app.close()


def test_by_default_old_history_keeps_each_months_last_count(tmp_path: Path) -> None:
    """A daily file changes each item at most once a day, so old history goes by month."""
    data = tmp_path / "data"
    app = SqliteBackend(data)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=150)
    try:
        for day in range(0, 150, 3):  # a count every third day for five months
            moment = start + timedelta(days=day)
            as_of = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = csv_bytes(("Berlin", "Item 0", 500 - day), ("Berlin", "Echo Dot", day % 2))
            app.process_upload(app.receive(Upload(f"d{day}.csv", as_of=as_of), io.BytesIO(body)))
        full = _history(app)
        cutoff = (now - timedelta(days=90)).isoformat(timespec="milliseconds")
        cutoff = cutoff.replace("+00:00", "Z")
        old = [p for p in full if p.as_of < cutoff]
        window = [p for p in full if p.as_of >= cutoff]
        month_last = {p.as_of[:7]: p for p in old}  # each month's last point, in order
        (before,) = [
            r for r in stock_page(app.conn, "Berlin", None, None, None, 10) if r.item == "Item 0"
        ]
        everything = [(epoch(p.as_of), p.count) for p in full]
        assert before.daily_usage == forecast(everything).daily_usage  # the window is exact
        done = compact(app.conn, data, Retention(), now=now)
        points = _history(app)
        assert app.conn.execute("SELECT count(*) FROM changes").fetchone() == (4,)  # a week
        assert [(p.as_of, p.count) for p in points[: len(month_last)]] == [
            (p.as_of, p.count) for p in month_last.values()
        ]
        assert points[len(month_last) :] == window  # the full-history window is untouched
        assert done.changes_thinned == 2 * len(old)
        # The forecast still has its 56 days, so the stock page still forecasts.
        rows = stock_page(app.conn, "Berlin", None, None, None, 10)
        (row,) = [r for r in rows if r.item == "Item 0"]
        assert row.daily_usage == pytest.approx(1.0, rel=0.05)
        assert (row.daily_usage, row.days_of_cover) == (before.daily_usage, before.days_of_cover)
    finally:
        app.close()


def _alert_listings(app: SqliteBackend) -> dict[str, list[AlertRow]]:
    return {
        "all": alerts(app.conn),
        "newest": alerts(app.conn, limit=1),
        "resolved": alerts(app.conn, resolved_only=True, store="Berlin"),
        "kind": alerts(app.conn, kind="back_in_stock", limit=5),
        "open": alerts(app.conn, open_only=True),
        "elsewhere": alerts(app.conn, store="Karachi"),
    }


def _history(app: SqliteBackend) -> list:  # type: ignore[type-arg]
    from stockwatch.sqlite.queries import history

    return history(app.conn, "Berlin", "Item 0")


def test_the_settings_refuse_to_thin_what_the_forecast_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_KEEP_HISTORY_DAYS", "30")
    with pytest.raises(ValueError, match="at least 62"):
        Retention.from_env()
    data = tmp_path / "data"
    SqliteBackend(data).close()
    cli = [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "compact"]
    refused = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "at least 62" in refused.stderr
    monkeypatch.delenv("STOCKWATCH_KEEP_HISTORY_DAYS")
    fine = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert fine.returncode == 0 and "thinned 0 old changes" in fine.stdout


def test_a_forecast_is_the_same_before_and_after_its_points_move(tmp_path: Path) -> None:
    """The interval from a long-ago count into the forecast's window still counts once
    that count is thinned into the archive; one from the history table too."""
    data = tmp_path / "data"
    app = SqliteBackend(data)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        counts = {  # days ago: Slow, Fast (Fast only 70 days ago: that point is in history)
            120: (400, 900),
            70: (None, 850),
            40: (300, 800),
            20: (250, 500),
            1: (240, 300),
        }
        for days_ago, (slow, fast) in counts.items():
            moment = now - timedelta(days=days_ago)
            as_of = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            rows = [("Berlin", "Fast", fast)] + ([("Berlin", "Slow", slow)] if slow else [])
            body = csv_bytes(*rows)
            app.process_upload(
                app.receive(Upload(f"{days_ago}.csv", as_of=as_of), io.BytesIO(body))
            )
        before = {r.item: r for r in stock_page(app.conn, "Berlin", None, None, None, 10)}
        compact(app.conn, data, Retention(), now=now)
        tables = {
            t: app.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("changes", "history", "history_archive")
        }
        assert tables == {"changes": 2, "history": 5, "history_archive": 2}
        after = {r.item: r for r in stock_page(app.conn, "Berlin", None, None, None, 10)}
        for item in ("Slow", "Fast"):
            assert before[item].daily_usage is not None
            assert (after[item].daily_usage, after[item].days_of_cover) == (
                before[item].daily_usage,
                before[item].days_of_cover,
            )
        # Without the archived count Slow's usage would be the last 39 days' alone.
        recent_only = forecast(
            [(epoch(p.as_of), p.count) for p in _history_of(app, "Slow")[1:]]
        ).daily_usage
        assert recent_only != before["Slow"].daily_usage
    finally:
        app.close()


def _history_of(app: SqliteBackend, item: str) -> list:  # type: ignore[type-arg]
    from stockwatch.sqlite.queries import history

    return history(app.conn, "Berlin", item)


def test_archived_alerts_are_listed_in_order_with_the_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = SqliteBackend(data)
    now = datetime.now(UTC).replace(microsecond=0)
    files = {  # days ago: rows
        200: [("Berlin", "X", 0), ("Karachi", "Y", 0)],  # alerts 1 and 2 open
        150: [("Berlin", "X", 5)],  # 1 resolved, 3 back in stock
        100: [("Berlin", "Z", 0), ("Karachi", "Y", 3)],  # 4 open; 2 resolved, 5 back
        10: [("Berlin", "Z", 4)],  # 4 resolved, 6 back: both recent
    }
    try:
        for days_ago, rows in files.items():
            moment = now - timedelta(days=days_ago)
            as_of = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = io.BytesIO(csv_bytes(*rows))
            app.process_upload(app.receive(Upload(f"{days_ago}.csv", as_of=as_of), body))

        def listings() -> list[list[tuple[int | str, str]]]:
            found = []
            for limit in (None, 1, 2, 3, 4, 5, 6, 7):
                for store in (None, "Berlin", "Karachi"):
                    for kind in (None, "back_in_stock"):
                        rows = alerts(app.conn, limit=limit, store=store, kind=kind)
                        found.append([(a.id, a.kind) for a in rows])
            return found

        before = listings()
        assert [a.id for a in alerts(app.conn)] == [6, 5, 4, 3, 2, 1]
        done = compact(app.conn, data, Retention(), now=now)
        assert done.alerts_archived == 4
        assert [r[0] for r in app.conn.execute("SELECT id FROM alerts ORDER BY id")] == [4, 6]
        assert listings() == before  # archived 5 still comes between 6 and 4
        assert not acknowledge(app.conn, 5, "ana", None)  # archived: no longer acknowledged
        assert check(data).problems == []
    finally:
        app.close()


def test_serve_runs_retention_once_a_day_across_restarts(tmp_path: Path) -> None:
    """The day is counted from the last run recorded in the data directory: a server that
    restarts every night still runs it, and a restart does not run it twice."""
    from stockwatch.core.limits import Limits
    from stockwatch.server.runner import build
    from stockwatch.server.workers import RetentionWorker
    from stockwatch.sqlite.retention import last_run

    data = tmp_path / "data"

    def retention_worker() -> tuple[RetentionWorker, SqliteBackend]:
        backend, _, workers = build(data, "127.0.0.1", Limits(), {}, None)
        (worker,) = [w for w in workers if isinstance(w, RetentionWorker)]
        return worker, backend

    worker, ctx = retention_worker()
    try:
        worker.step()  # at start-up: never, uploads may be waiting
        assert last_run(worker.db.conn) is None
        worker.step()  # ten minutes later: never run here, so due
        first = last_run(worker.db.conn)
        assert first is not None
        worker.step()
        assert last_run(worker.db.conn) == first  # not again the same day
    finally:
        ctx.close()
    # A day later, after a restart: the recorded run says it is due.
    app = SqliteBackend(data)
    yesterday = (datetime.now(UTC) - timedelta(days=1, minutes=1)).isoformat()
    app.conn.execute("UPDATE maintenance SET last_run = ?", (yesterday.replace("+00:00", "Z"),))
    app.close()
    worker, ctx = retention_worker()
    try:
        worker.step()
        worker.step()
        assert last_run(worker.db.conn) > first  # type: ignore[operator]
    finally:
        ctx.close()
