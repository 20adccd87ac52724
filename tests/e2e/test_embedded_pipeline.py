"""The embedded pipeline end to end on a real data directory."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

from stockwatch.core.limits import Limits
from stockwatch.notify.webhook import WebhookChannel
from stockwatch.service.commands import Upload
from stockwatch.sqlite import queries
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.outbox import deliver
from tests.conftest import Receiver, csv_bytes, ingest


def lab_files() -> list[tuple[str, bytes]]:
    folder = resources.files("stockwatch") / "demo_data"
    return sorted(
        (entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.startswith("inventory-")
    )


def test_the_six_lab_files_give_36_rows_and_6_alerts_and_twice_changes_nothing(
    app: SqliteBackend, receiver: Receiver
) -> None:
    channels = {"webhook": WebhookChannel(receiver.url)}
    files = lab_files()
    assert len(files) == 6
    for name, data in files:
        assert ingest(app, name, data).status == "loaded"
    deliver(app.conn, channels)
    assert len(queries.stock(app.conn)) == 36
    open_alerts = queries.alerts(app.conn, open_only=True)
    assert len(open_alerts) == 6
    assert {a.kind for a in open_alerts} == {"out_of_stock"}
    assert len(receiver.received) == 6
    assert "Berlin is out of stock of Echo Plus" in receiver.received[0]["text"]

    changes = app.conn.execute("SELECT count(*) FROM changes").fetchone()
    for name, data in files:
        report = ingest(app, name, data)
        assert (report.rows_loaded, report.rows_unchanged, report.alerts_total) == (0, 6, 0)
    deliver(app.conn, channels)
    assert app.conn.execute("SELECT count(*) FROM changes").fetchone() == changes
    assert len(queries.alerts(app.conn)) == 6
    assert len(receiver.received) == 6


def test_the_uploaded_file_is_kept_exactly_as_received(app: SqliteBackend) -> None:
    data = b"\xef\xbb\xbfStore;Item;Count\r\nBerlin;Echo;1\r\n"
    report = ingest(app, "../../etc/passwd", data)
    record = app.upload(int(report.upload_id or 0))
    assert record is not None
    assert record.filename == "passwd"
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    with app.objects.open(record.object_key) as stored:
        assert stored.read() == data
    assert (app.data_dir / "objects").resolve() in (
        app.data_dir / "objects" / record.object_key
    ).resolve().parents


def test_a_mixed_file_loads_its_good_rows(app: SqliteBackend) -> None:
    data = csv_bytes(
        ("Berlin", "Echo Dot", 3), ("Berlin", "Echo Show", "twelve"), ("Berlin", "Echo Plus", 0)
    )
    report = ingest(app, "mixed.csv", data)
    assert report.status == "loaded_with_errors"
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    assert [e.to_json() for e in report.errors] == [
        {
            "line": 3,
            "field": "count",
            "message": 'count "twelve" is not a whole number',
            "item": "Echo Show",
        }
    ]
    assert report.alerts == [
        {
            "kind": "out_of_stock",
            "store": "Berlin",
            "item": "Echo Plus",
            "count": 0,
            "minimum": None,
        }
    ]
    stored = app.upload(int(report.upload_id or 0))
    assert stored is not None and stored.report is not None
    assert stored.report.to_json() == report.to_json()


def test_strict_mode_rejects_the_whole_file(app: SqliteBackend) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", "none"))
    report = ingest(app, "strict.csv", data, strict=True)
    assert report.status == "rejected"
    assert report.rows_loaded == 0 and report.rows_rejected == 1
    assert report.message and "strict mode" in report.message
    assert queries.stock(app.conn) == [] and queries.alerts(app.conn) == []


def test_a_file_that_is_not_inventory_is_rejected_whole(app: SqliteBackend) -> None:
    report = ingest(app, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert report.status == "rejected"
    assert (
        report.message
        == "this is a PNG image, not a CSV text file; export it as CSV and upload that"
    )
    assert queries.stock(app.conn) == []


def test_a_file_over_the_limit_is_rejected_before_it_is_kept(tmp_path: Path) -> None:
    small = SqliteBackend(tmp_path / "d", Limits(max_file_bytes=50))
    try:
        data = csv_bytes(*(("Berlin", f"Item {i}", 1) for i in range(10)))
        try:
            small.receive(Upload("big.csv"), io.BytesIO(data))
        except Exception as exc:
            assert "larger than the limit of 50 bytes" in str(exc)
        else:
            raise AssertionError("a file over the limit was accepted")
        assert small.uploads() == []
        assert not any(p.is_file() for p in (tmp_path / "d" / "objects").rglob("*"))
    finally:
        small.close()


def test_back_in_stock_and_low_stock(app: SqliteBackend) -> None:
    queries.upsert_thresholds(app.conn, [("Berlin", "*", 5)])
    first = ingest(app, "1.csv", csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 9)))
    assert [(a["kind"], a["item"]) for a in first.alerts] == [("out_of_stock", "Echo Dot")]
    second = ingest(app, "2.csv", csv_bytes(("Berlin", "Echo Dot", 6), ("Berlin", "Echo Show", 2)))
    assert sorted((a["kind"], a["item"]) for a in second.alerts) == [
        ("back_in_stock", "Echo Dot"),
        ("low_stock", "Echo Show"),
    ]
    third = ingest(app, "3.csv", csv_bytes(("Berlin", "Echo Show", 5)))
    assert third.alerts == []
    alerts = {(a.kind, a.item): a for a in queries.alerts(app.conn)}
    assert alerts[("out_of_stock", "Echo Dot")].resolved_at is not None
    assert alerts[("back_in_stock", "Echo Dot")].resolved_at is not None
    assert alerts[("low_stock", "Echo Show")].resolved_at is not None
    assert queries.alerts(app.conn, open_only=True) == []
    history = queries.history(app.conn, "Berlin", "Echo Show")
    assert [(h.old_count, h.count) for h in history] == [(None, 9), (9, 2), (2, 5)]


def test_one_digest_per_upload_listing_all_its_items(
    app: SqliteBackend, receiver: Receiver
) -> None:
    rows = [(store, f"Item {i}", 0) for store in ("Berlin", "Pusan") for i in range(40)]
    ingest(app, "many.csv", csv_bytes(*rows))
    result = deliver(app.conn, {"webhook": WebhookChannel(receiver.url)})
    assert (result.sent, result.pending) == (1, 0)
    (body,) = receiver.received
    assert body["total"] == 80 and len(body["alerts"]) == 80
    lines = body["text"].splitlines()
    assert lines.index("Berlin:") < lines.index("Pusan:")
    assert "- Pusan is out of stock of Item 39" in lines
    assert receiver.headers[0]["Idempotency-Key"] == "stockwatch-upload-1-webhook"


def test_a_failed_delivery_is_retried_later_and_sent_once(
    app: SqliteBackend, receiver: Receiver
) -> None:
    channels = {"webhook": WebhookChannel(receiver.url)}
    ingest(app, "a.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    receiver.fail_with = 503
    failed = deliver(app.conn, channels)
    assert (failed.sent, failed.failed, failed.pending) == (0, 1, 1)
    assert "HTTP 503" in failed.errors[0]
    assert deliver(app.conn, channels).failed == 0  # backing off: not due yet
    receiver.fail_with = None
    sent = deliver(app.conn, channels, due_only=False)
    assert (sent.sent, sent.pending) == (1, 0)
    assert deliver(app.conn, channels, due_only=False).sent == 0
    assert len(receiver.received) == 1


def test_a_receiver_that_is_down_does_not_lose_the_notification(
    tmp_path: Path, receiver: Receiver
) -> None:
    first = SqliteBackend(tmp_path / "d", channel_names=("webhook",))
    ingest(first, "a.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    down = deliver(first.conn, {"webhook": WebhookChannel("http://127.0.0.1:9/nothing")})
    assert down.pending == 1 and "could not be reached" in down.errors[0]
    first.close()
    second = SqliteBackend(tmp_path / "d", channel_names=("webhook",))
    try:
        assert (
            deliver(second.conn, {"webhook": WebhookChannel(receiver.url)}, due_only=False).sent
            == 1
        )
        assert len(receiver.received) == 1
    finally:
        second.close()


_KILLABLE = """
import sys
from pathlib import Path
from stockwatch.sqlite.backend import SqliteBackend
app = SqliteBackend(Path(sys.argv[1]), channel_names=("webhook",))
app.process_upload(int(sys.argv[2]))
"""


def test_a_crash_mid_upload_is_finished_by_the_next_process(tmp_path: Path) -> None:
    rows = [(f"Store {s}", f"Item {i}", (s + i) % 9) for s in range(60) for i in range(1000)]
    data = csv_bytes(*rows)
    reference = SqliteBackend(tmp_path / "reference", channel_names=("webhook",))
    ingest(reference, "big.csv", data)

    crashed = SqliteBackend(tmp_path / "crashed", channel_names=("webhook",))
    upload_id = crashed.receive(Upload("big.csv"), io.BytesIO(data))
    crashed.close()
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE, str(tmp_path / "crashed"), str(upload_id)]
    )
    watcher = sqlite3.connect(tmp_path / "crashed" / "stockwatch.db")
    deadline = time.monotonic() + 30
    while watcher.execute("SELECT status FROM uploads").fetchone() == ("queued",):
        assert time.monotonic() < deadline, "the child never started processing"
        time.sleep(0.01)
    watcher.close()
    time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    recovered = SqliteBackend(tmp_path / "crashed", channel_names=("webhook",))
    try:
        assert recovered.pending_uploads() in ([upload_id], [])
        recovered.process_pending()
        for sql in (
            "SELECT store, item, count FROM inventory ORDER BY 1, 2",
            "SELECT store, item, old_count, new_count FROM changes ORDER BY seq",
            "SELECT kind, store, item, count FROM alerts ORDER BY id",
            "SELECT channel, payload FROM outbox ORDER BY id",
        ):
            assert recovered.conn.execute(sql).fetchall() == reference.conn.execute(sql).fetchall()
    finally:
        recovered.close()
        reference.close()


def test_the_webhook_secret_is_sent(app: SqliteBackend, receiver: Receiver) -> None:
    ingest(app, "a.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    deliver(app.conn, {"webhook": WebhookChannel(receiver.url, secret="hush")})
    assert receiver.headers[0]["X-Stockwatch-Secret"] == "hush"


def test_settings_from_a_toml_file_and_the_environment(tmp_path: Path) -> None:
    from stockwatch.bootstrap import alert_channels

    (tmp_path / "stockwatch.toml").write_text(
        'webhook_url = "http://127.0.0.1:9/from-file"\nsmtp_host = "127.0.0.1"\n'
        'email_from = "a@example.test"\nemail_to = ["b@example.test", "c@example.test"]\n'
    )
    channels = alert_channels(tmp_path, {})
    assert set(channels) == {"console", "webhook", "email"}
    webhook = channels["webhook"]
    assert isinstance(webhook, WebhookChannel) and webhook.url.endswith("/from-file")
    override = alert_channels(tmp_path, {"STOCKWATCH_WEBHOOK_URL": "http://127.0.0.1:9/env"})
    webhook = override["webhook"]
    assert isinstance(webhook, WebhookChannel) and webhook.url.endswith("/env")


def test_a_receiver_that_answers_garbage_is_a_failed_delivery() -> None:
    """Not HTTP at all (or cut off mid-answer): retried later like any failed delivery,
    never an exception that escapes the outbox."""
    import socket
    import threading

    import pytest

    from stockwatch.core.digest import Digest
    from stockwatch.core.ports import DeliveryError

    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"this is not HTTP\r\n\r\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    channel = WebhookChannel(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    with pytest.raises(DeliveryError, match="no proper HTTP answer"):
        channel.send(Digest("s", "t", {"id": 1, "file": "a.csv"}), "key-1")
    listener.close()


def test_an_upload_finished_by_another_process_meanwhile_keeps_its_report(
    tmp_path: Path,
) -> None:
    """#27: `stockwatch ingest` while `serve` runs: both took the same upload, and the one
    that came second loaded nothing and overwrote the report with "loaded 0 rows"."""
    from stockwatch.service import uploads as upload_service

    cli, worker = SqliteBackend(tmp_path / "d"), SqliteBackend(tmp_path / "d")
    try:
        data = csv_bytes(("Berlin", "Echo Dot", 3), ("Berlin", "Echo Show", 0))
        upload_id = cli.receive(Upload("b.csv"), io.BytesIO(data))
        uow = cli.unit_of_work()
        job = uow.uploads.begin(upload_id)  # read before the other process took it
        first = worker.process_upload(upload_id)
        assert first.rows_loaded == 2 and first.alerts_total == 1
        second = upload_service.run(uow, job)
        assert (second.rows_loaded, second.alerts_total) == (2, 1)
        stored = cli.upload(upload_id)
        assert stored is not None and stored.report is not None
        assert stored.report.rows_loaded == 2
    finally:
        cli.close()
        worker.close()


def test_the_demo_loaded_while_serve_runs_keeps_every_report(tmp_path: Path) -> None:
    """The same race as it was met (#27): uploads ingested while serve's worker runs. Which
    process takes each upload varies; every report must count all of its rows."""
    from stockwatch.cli.demo import load_demo
    from tests.live_server import live_server

    with live_server(tmp_path / "d") as live:
        reports = load_demo(live.backend, None)
        for report in reports:
            stored = live.backend.upload(int(report.upload_id or 0))
            assert stored is not None and stored.report is not None
            for seen in (report, stored.report):
                assert seen.rows_loaded + seen.rows_unchanged == 36 or seen.file.startswith(
                    "inventory-"
                ), seen.to_json()
