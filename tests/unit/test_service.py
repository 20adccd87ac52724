"""The use cases on in-memory fakes: what happens, and in which order, whatever the backend."""

from __future__ import annotations

import io

import pytest

from stockwatch.core.limits import Limits
from stockwatch.core.model import StockChange
from stockwatch.core.thresholds import Threshold, Thresholds
from stockwatch.service.alerts import judge_changes
from stockwatch.service.commands import Upload, Validate
from stockwatch.service.uploads import process_upload, validate
from tests.unit.fakes import FakeUnitOfWork, fake_uow

GOOD = b"store,item,count\nBerlin,Echo Dot,4\nBerlin,Echo Plus,0\nBerlin,Echo Show,9\n"
ONE_BAD = b"store,item,count\nBerlin,Echo Dot,4\nBerlin,Echo Plus,none\nBerlin,Echo Show,9\n"


def test_an_upload_is_loaded_judged_and_queued_once() -> None:
    uow = fake_uow()
    upload = uow.add("berlin.csv", GOOD)
    report = process_upload(uow, upload)
    assert (report.status, report.rows_loaded, report.alerts_total) == ("loaded", 3, 1)
    assert report.stores == ["Berlin"]
    assert {"load", "alerts", "total"} <= report.timings_ms.keys()
    ((queued_for, digest),) = uow.state.outbox
    assert queued_for == upload and "Berlin is out of stock of Echo Plus" in digest.text
    assert uow.commits == 1

    again = process_upload(uow, upload)
    assert again is uow.state.uploads[upload]["report"]
    assert (len(uow.state.outbox), uow.commits, len(uow.state.raised)) == (1, 1, 1)


def test_bad_rows_are_reported_and_the_others_load() -> None:
    uow = fake_uow()
    report = process_upload(uow, uow.add("bad.csv", ONE_BAD))
    assert (report.status, report.rows_loaded, report.rows_rejected) == (
        "loaded_with_errors",
        2,
        1,
    )
    assert [(e.line, e.field) for e in report.errors] == [(3, "count")]


@pytest.mark.parametrize("can_undo", [True, False])
def test_strict_mode_rejects_the_file_and_writes_nothing(can_undo: bool) -> None:
    """With transactions the load is undone; without, a read-only pass comes first and the
    writer is never called."""
    uow = fake_uow(can_undo=can_undo)
    report = process_upload(uow, uow.add("bad.csv", ONE_BAD, strict=True))
    assert (report.status, report.rows_loaded, report.rows_rejected) == ("rejected", 0, 1)
    assert "strict mode" in (report.message or "")
    assert uow.state.rows == {}
    assert ("apply" in uow.calls) is can_undo


@pytest.mark.parametrize("can_undo", [True, False])
def test_a_file_rejected_halfway(can_undo: bool) -> None:
    """Undone where the backend can; otherwise the report says how many rows stayed."""
    uow = fake_uow(can_undo=can_undo, limits=Limits(max_line_bytes=80))
    rows = b"".join(b"Berlin,Item %05d,4\n" % n for n in range(6000))  # past one 64 KiB block
    data = b"store,item,count\n" + rows + b"Berlin,Echo Spot," + b"9" * 100 + b"\n"
    report = process_upload(uow, uow.add("long.csv", data))
    assert report.status == "rejected"
    assert "longer than the limit" in (report.message or "")
    if can_undo:
        assert uow.state.rows == {}
        assert "rows before that point" not in (report.message or "")
    else:
        written = len(uow.state.rows)
        assert 0 < written < 6000
        assert f"{written:,} rows before that point were loaded" in (report.message or "")


def test_a_missing_stored_file_is_a_rejected_upload_with_a_reason() -> None:
    uow = fake_uow()
    upload = uow.add("gone.csv", GOOD)
    uow.files.clear()
    report = process_upload(uow, upload)
    assert report.status == "rejected"
    assert "is missing" in (report.message or "")


def test_a_refused_upload_is_reported_and_loads_nothing() -> None:
    uow = fake_uow()
    upload = uow.add("old.csv", GOOD)
    uow.state.uploads[upload]["refuse"] = "a newer upload of this key was processed already"
    report = process_upload(uow, upload)
    assert (report.status, report.message) == (
        "rejected",
        "a newer upload of this key was processed already",
    )
    assert uow.state.rows == {} and "read" not in uow.calls


def test_validate_reports_what_would_happen_and_keeps_nothing() -> None:
    uow = FakeUnitOfWork()
    report = validate(uow, Validate(Upload("berlin.csv")), io.BytesIO(GOOD))
    assert (report.upload_id, report.rows_loaded, report.alerts_total) == (None, 3, 1)
    assert (uow.state.rows, uow.state.outbox, uow.commits) == ({}, [], 0)


def test_a_backend_without_transactions_leaves_judging_to_its_stream() -> None:
    uow = fake_uow(can_undo=False)
    report = process_upload(uow, uow.add("berlin.csv", GOOD))
    assert (report.rows_loaded, report.alerts_total, uow.state.outbox) == (3, 0, [])
    assert len(uow.state.changes) == 3  # what a stream would carry to judge_changes


def test_judging_the_same_change_twice_alerts_once() -> None:
    uow = fake_uow()
    thresholds = Thresholds([Threshold("Berlin", "*", 5)])
    change = StockChange("Berlin", "Echo Dot", 9, 3, 1)
    first = judge_changes(uow, thresholds, [change], 1)
    assert [(d.action, d.kind) for d in first] == [("raise", "low_stock")]
    assert judge_changes(uow, thresholds, [change], 1) == []
    assert judge_changes(uow, thresholds, [], 1) == []


MIXED = (
    b"store,item,count\n"
    + b"".join(f"Berlin,Item {n},{n % 4}\n".encode() for n in range(9))
    + b"Berlin,Item 2,7\nBerlin,Broken,many\nHamburg,Item 1,0\nBerlin,Item 5,1\n"
)


def _comparable(report: object) -> dict[str, object]:
    data = dict(report.to_json())  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k not in ("timings_ms", "cost", "upload_id")}


def test_a_paused_load_carries_on_and_ends_as_one_run() -> None:
    """Paused every two chunks (as a Lambda running out of time would be), the upload goes
    on run after run; the rows, the changes and the report are those of one long run."""
    whole = fake_uow(can_undo=False)
    expected = process_upload(whole, whole.add("mixed.csv", MIXED))

    uow = fake_uow(can_undo=False)
    uow.pause_every = 2
    upload = uow.add("mixed.csv", MIXED)
    runs = [process_upload(uow, upload) for _ in range(10)]
    statuses = [r.status for r in runs]
    assert statuses[:3] == ["processing"] * 3 and statuses[3] == expected.status
    assert all(r is runs[3] for r in runs[4:])  # finished: processing again is a no-op
    assert uow.paused == 3
    assert _comparable(runs[3]) == _comparable(expected)
    assert (runs[3].rows_rejected, [e.line for e in runs[3].errors]) == (3, [11, 12, 14])
    assert uow.state.rows == whole.state.rows
    assert uow.state.changes == whole.state.changes
    assert runs[0].rows_loaded == 4 and runs[3].cost and runs[3].cost["time_ms"] >= 0


def test_where_changes_are_judged_in_the_unit_of_work_a_load_never_pauses() -> None:
    uow = fake_uow(can_undo=True)
    uow.pause_every = 1
    report = process_upload(uow, uow.add("mixed.csv", MIXED))
    assert (report.status, uow.paused, report.alerts_total) == ("loaded_with_errors", 0, 4)
