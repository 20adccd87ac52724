"""Counts with a date: uploads ordered by (as-of, arrival), on SQLite and on AWS (moto)."""

from __future__ import annotations

from stockwatch.core.rows import StockQuery
from tests.conftest import csv_bytes
from tests.contract.conftest import only_on
from tests.contract.drivers import Backend

NOV = "2026-11-{:02d}T08:00:00.000Z"


def test_a_backfill_arriving_after_newer_uploads_never_overwrites_them(backend: Backend) -> None:
    today = backend.process(backend.receive("today.csv", csv_bytes(("Berlin", "Echo Dot", 5))))
    assert today["rows_loaded"] == 1
    backend.notified_lines()

    # Last month's file, loaded today: it arrives last but was counted first.
    old = csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 7))
    report = backend.process(backend.receive("november.csv", old, as_of=NOV.format(1)))
    assert report["status"] == "loaded"
    assert report["as_of"] == NOV.format(1)
    assert (report["rows_loaded"], report["rows_superseded"]) == (1, 1)  # Echo Show is new
    assert backend.stock() == {("Berlin", "Echo Dot"): 5, ("Berlin", "Echo Show"): 7}
    assert backend.notified_lines() == []  # the old zero is history, not news
    assert backend.open_alerts() == set()


def test_old_files_loaded_in_order_give_a_history_dated_by_their_counts(
    backend: Backend,
) -> None:
    for day, count in ((1, 30), (3, 22), (6, 10)):
        data = csv_bytes(("Pusan", "Echo Dot", count))
        report = backend.process(backend.receive(f"pusan-{day}.csv", data, as_of=NOV.format(day)))
        assert report["rows_loaded"] == 1
    # Loaded today with no date: newer than all of them.
    backend.process(backend.receive("pusan-today.csv", csv_bytes(("Pusan", "Echo Dot", 4))))
    points = backend.model().history("Pusan", "Echo Dot")
    assert [p.count for p in points] == [30, 22, 10, 4]
    assert [p.as_of for p in points[:3]] == [NOV.format(d) for d in (1, 3, 6)]
    assert points[3].as_of is not None and points[3].as_of > NOV.format(30)


def test_uploads_counted_at_the_same_moment_order_by_arrival(backend: Backend) -> None:
    moment = NOV.format(20)
    first = backend.receive("a.csv", csv_bytes(("Karachi", "Echo Dot", 3)), as_of=moment)
    second = backend.receive("b.csv", csv_bytes(("Karachi", "Echo Dot", 8)), as_of=moment)
    backend.process(second)
    report = backend.process(first)  # the earlier arrival, processed late
    assert report["rows_superseded"] == 1
    assert backend.stock() == {("Karachi", "Echo Dot"): 8}


def test_a_bad_as_of_in_s3_metadata_rejects_the_upload_with_its_reason(backend: Backend) -> None:
    only_on(backend, "aws", "on one machine an as-of is checked before the file is taken in")
    report = backend.process(
        backend.receive("x.csv", csv_bytes(("Berlin", "Echo Dot", 1)), as_of="last tuesday")
    )
    assert report["status"] == "rejected"
    assert "stockwatch-as-of" in report["message"] and "not a time" in report["message"]
    assert backend.stock() == {}


def test_each_stock_row_says_when_it_runs_out(backend: Backend) -> None:
    for day, dot in ((1, 30), (2, 27), (3, 24), (4, 21)):
        rows = [("Berlin", "Echo Dot", dot)]
        if day == 4:
            rows.append(("Berlin", "Echo Show", 9))  # seen once: nothing to go on
        backend.process(backend.receive(f"b{day}.csv", csv_bytes(*rows), as_of=NOV.format(day)))
    by_item = {r.item: r for r in backend.model().stock_page(StockQuery("Berlin", limit=10))}
    dot = by_item["Echo Dot"]
    assert (dot.daily_usage, dot.days_of_cover, dot.runs_out_on) == (3.0, 7.0, "2026-11-11")
    show = by_item["Echo Show"]
    assert (show.daily_usage, show.days_of_cover, show.runs_out_on) == (None, None, None)
