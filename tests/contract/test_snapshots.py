"""Snapshot files: what a full export leaves out is 0, on SQLite and on AWS (moto)."""

from __future__ import annotations

from tests.conftest import csv_bytes
from tests.contract.drivers import Backend

FULL = csv_bytes(
    ("Pusan", "Echo Dot", 9),
    ("Pusan", "Echo Show", 4),
    ("Pusan", "Echo Plus", 7),
    ("Pusan", "Amazon Tap", 3),
    ("Berlin", "Echo Dot", 5),
)


def test_a_snapshot_zeroes_what_it_leaves_out_and_alerts_on_it(backend: Backend) -> None:
    backend.process(backend.receive("day1.csv", FULL))
    backend.notified_lines()
    # Echo Plus sold out, so the export no longer lists it; Berlin is not named at all.
    later = csv_bytes(
        ("Pusan", "Echo Dot", 8), ("Pusan", "Echo Show", 4), ("Pusan", "Amazon Tap", 3)
    )
    report = backend.process(backend.receive("day2.csv", later, snapshot=True))
    assert report["status"] == "loaded"
    assert (report["rows_loaded"], report["rows_unchanged"], report["rows_zeroed"]) == (1, 2, 1)
    assert report["zeroed"] == ["Pusan / Echo Plus"]
    assert backend.stock()[("Pusan", "Echo Plus")] == 0
    assert backend.stock()[("Berlin", "Echo Dot")] == 5
    assert backend.notified_lines() == ["Pusan is out of stock of Echo Plus"]

    again = backend.process(backend.receive("day2-again.csv", later, snapshot=True))
    assert (again["rows_loaded"], again["rows_zeroed"]) == (0, 0)  # already at 0
    assert backend.notified_lines() == []


def test_without_snapshot_a_missing_item_keeps_its_count(backend: Backend) -> None:
    backend.process(backend.receive("day1.csv", FULL))
    report = backend.process(backend.receive("day2.csv", csv_bytes(("Pusan", "Echo Dot", 8))))
    assert report["rows_zeroed"] == 0
    assert backend.stock()[("Pusan", "Echo Plus")] == 7


def test_a_store_setting_makes_its_files_snapshots(backend: Backend) -> None:
    backend.process(backend.receive("day1.csv", FULL))
    backend.snapshot_default("Pusan", True)
    day2 = csv_bytes(("Pusan", "Echo Dot", 9), ("Pusan", "Echo Show", 4), ("Pusan", "Echo Plus", 7))
    report = backend.process(backend.receive("day2.csv", day2))
    assert report["zeroed"] == ["Pusan / Amazon Tap"]
    told_not = backend.process(
        backend.receive("day3.csv", csv_bytes(("Pusan", "Echo Dot", 9)), snapshot=False)
    )
    assert told_not["rows_zeroed"] == 0


def test_a_snapshot_that_would_empty_a_store_is_held_until_confirmed(backend: Backend) -> None:
    backend.process(backend.receive("day1.csv", FULL))
    backend.notified_lines()
    truncated = csv_bytes(("Pusan", "Echo Dot", 2))  # 3 of 4 items left out
    held = backend.process(backend.receive("truncated.csv", truncated, snapshot=True))
    assert held["status"] == "needs_confirmation"
    assert "3 of 4 items of Pusan" in held["message"]
    assert held["rows_loaded"] == 0 and held["rows_zeroed"] == 3
    assert backend.stock()[("Pusan", "Echo Dot")] == 9  # nothing applied
    assert backend.notified_lines() == []

    applied = backend.confirm(held["upload_id"])
    assert applied["status"] == "loaded"
    assert (applied["rows_loaded"], applied["rows_zeroed"]) == (1, 3)
    assert backend.stock()[("Pusan", "Echo Show")] == 0
    assert sorted(backend.notified_lines()) == [
        "Pusan is out of stock of Amazon Tap",
        "Pusan is out of stock of Echo Plus",
        "Pusan is out of stock of Echo Show",
    ]


def test_a_held_snapshot_can_be_discarded(backend: Backend) -> None:
    backend.process(backend.receive("day1.csv", FULL))
    held = backend.process(
        backend.receive("truncated.csv", csv_bytes(("Pusan", "Echo Dot", 2)), snapshot=True)
    )
    dropped = backend.discard(held["upload_id"])
    assert dropped["status"] == "rejected" and "discarded" in dropped["message"]
    assert backend.stock()[("Pusan", "Echo Dot")] == 9
