"""The HTTP API on a real data directory with its workers running: called in process (an
ASGI client), and over a real uvicorn socket on 127.0.0.1 where the socket is the point
(live events, the upload command, stopping the server)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockwatch import __version__
from stockwatch.core.limits import Limits
from stockwatch.notify.webhook import WebhookChannel
from stockwatch.sqlite.database import _migrations
from tests.conftest import Receiver, csv_bytes, sample
from tests.live_server import LiveServer, in_process_client, live_server, served

BERLIN = csv_bytes(
    ("Berlin", "Echo Dot", 12),
    ("Berlin", "Echo Plus", 0),
    ("Berlin", "Echo Show", 18),
    header="Store,item,count",
)


def _parts(tmp_path: Path, receiver: Receiver) -> dict[str, Any]:
    return {
        "data_dir": tmp_path / "data",
        "channels": {"webhook": WebhookChannel(receiver.url)},
        "limits": Limits(max_file_bytes=200_000),
        "inbox": tmp_path / "inbox",
    }


@pytest.fixture
def live(tmp_path: Path, receiver: Receiver) -> Iterator[LiveServer]:
    with live_server(**_parts(tmp_path, receiver)) as running:
        yield running


@pytest.fixture
def client(tmp_path: Path, receiver: Receiver) -> Iterator[httpx.Client]:
    with served(**_parts(tmp_path, receiver)) as running, in_process_client(running.app) as c:
        yield c


def wait_report(client: httpx.Client, upload_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report: dict[str, Any] = client.get(f"/api/uploads/{upload_id}").json()
        if report["status"] not in ("queued", "processing"):
            return report
        time.sleep(0.05)
    raise AssertionError(f"upload {upload_id} never finished")


def post_csv(client: httpx.Client, data: bytes, name: str = "inventory-berlin.csv") -> int:
    response = client.post(
        "/api/uploads",
        params={"filename": name},
        content=data,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["Location"] == f"/api/uploads/{body['id']}"
    return int(body["id"])


def test_upload_raw_csv_then_read_everything(client: httpx.Client, receiver: Receiver) -> None:
    report = wait_report(client, post_csv(client, BERLIN))
    assert (report["status"], report["rows_loaded"], report["file"]) == (
        "loaded",
        3,
        "inventory-berlin.csv",
    )
    (store,) = client.get("/api/stores").json()
    assert store["updated_at"].startswith(report["received_at"][:10])
    assert {k: v for k, v in store.items() if k != "updated_at"} == {
        "store": "Berlin",
        "items": 3,
        "out_of_stock": 1,
        "low_stock": 0,
    }
    stock = client.get("/api/stock", params={"store": "Berlin"}).json()
    assert [(r["item"], r["count"], r["status"]) for r in stock["rows"]] == [
        ("Echo Dot", 12, "ok"),
        ("Echo Plus", 0, "out_of_stock"),
        ("Echo Show", 18, "ok"),
    ]
    out = client.get("/api/stock", params={"status": "out_of_stock"}).json()["rows"]
    assert [r["item"] for r in out] == ["Echo Plus"]
    assert [r["item"] for r in client.get("/api/stock", params={"q": "SHOW"}).json()["rows"]] == [
        "Echo Show"
    ]
    (alert,) = client.get("/api/alerts", params={"open": "true"}).json()
    assert (alert["kind"], alert["item"], alert["resolved_at"]) == (
        "out_of_stock",
        "Echo Plus",
        None,
    )
    history = client.get("/api/stock/Berlin/Echo Plus/history").json()
    assert [(h["old_count"], h["count"]) for h in history] == [(None, 0)]
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Berlin is out of stock of Echo Plus" in receiver.received[0]["text"]


def test_multipart_upload_and_bad_rows(client: httpx.Client) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", 1), ("Berlin", "Echo Look", "twelve"))
    response = client.post("/api/uploads", files={"file": ("mixed.csv", data, "text/csv")})
    assert response.status_code == 202
    report = wait_report(client, response.json()["id"])
    assert report["status"] == "loaded_with_errors"
    assert report["errors"] == [
        {
            "line": 3,
            "field": "count",
            "message": 'count "twelve" is not a whole number',
            "item": "Echo Look",
        }
    ]


def test_uploads_are_paginated(client: httpx.Client) -> None:
    ids = [post_csv(client, csv_bytes(("S", f"I{n}", n))) for n in range(5)]
    for upload_id in ids:
        wait_report(client, upload_id)
    first = client.get("/api/uploads", params={"limit": 3}).json()
    assert [u["id"] for u in first["uploads"]] == ids[:1:-1][:3]
    rest = client.get("/api/uploads", params={"limit": 3, "before": first["next_before"]}).json()
    assert [u["id"] for u in rest["uploads"]] == ids[1::-1]
    assert rest["next_before"] is None


def test_stock_cursor_walks_every_row_once(client: httpx.Client) -> None:
    wait_report(
        client,
        post_csv(client, csv_bytes(*((f"S{s}", f"I{i}", 1) for s in range(3) for i in range(7)))),
    )
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/stock", params=params).json()
        seen += [(r["store"], r["item"]) for r in page["rows"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 21 == len(set(seen))
    assert client.get("/api/stock", params={"cursor": "not-ours"}).status_code == 422


def test_errors_are_json_with_a_message(client: httpx.Client) -> None:
    cases = [
        (client.get("/api/uploads/999"), 404),
        (client.get("/api/uploads/abc"), 422),
        (client.post("/api/uploads", content=b"x", headers={"Content-Type": "image/png"}), 415),
        (client.post("/api/uploads", files={"other": ("a.csv", b"a")}), 422),
        (client.post("/api/uploads", content=b"", headers={"Content-Type": "text/csv"}), 422),
        (client.get("/api/stock", params={"status": "bogus"}), 422),
        (client.get("/api/stock/Nowhere/Nothing/history"), 404),
        (client.put("/api/thresholds", json=[{"store": "B", "item": "E", "minimum": -1}]), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert isinstance(response.json()["message"], str) and response.json()["message"]


def test_oversize_uploads_get_413_and_are_not_kept(
    client: httpx.Client, server: LiveServer
) -> None:
    big = b"store,item,count\n" + b"Berlin,Item,1\n" * 40_000  # 560 kB > 200 kB limit
    declared = client.post(
        "/api/uploads",
        params={"filename": "big.csv"},
        content=big,
        headers={"Content-Type": "text/csv"},
    )
    assert declared.status_code == 413
    assert "larger than the limit" in declared.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for _ in range(40):
            yield big[:20_000]

    streamed = client.post(
        "/api/uploads",
        params={"filename": "big.csv"},
        content=chunks(),
        headers={"Content-Type": "text/csv"},
    )
    assert streamed.status_code == 413
    multipart = client.post("/api/uploads", files={"file": ("big.csv", big, "text/csv")})
    assert multipart.status_code == 413
    assert not [p for p in (server.data_dir / "objects").rglob("*") if p.is_file()]


def test_thresholds_round_trip_and_low_stock(client: httpx.Client) -> None:
    put = client.put(
        "/api/thresholds",
        json=[{"store": "Berlin", "item": "*", "minimum": 15}],
        params={"new": "true"},
    )
    assert put.status_code == 200
    assert [(t["store"], t["item"], t["minimum"]) for t in put.json()] == [("Berlin", "*", 15)]
    report = wait_report(client, post_csv(client, BERLIN))
    kinds = sorted((a["kind"], a["item"]) for a in report["alerts"])
    assert kinds == [("low_stock", "Echo Dot"), ("out_of_stock", "Echo Plus")]
    assert client.get("/api/stores").json()[0]["low_stock"] == 1
    low = client.get("/api/stock", params={"status": "low_stock"}).json()["rows"]
    assert [r["item"] for r in low] == ["Echo Dot"]


def test_events_stream_reports_uploads_and_stock(live: LiveServer) -> None:
    client = httpx.Client(base_url=live.url, timeout=30)
    events: list[tuple[str, dict[str, Any]]] = []
    ready = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=live.url, timeout=30) as c,
            c.stream("GET", "/api/events") as response,
        ):
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                    if kind == "hello":
                        ready.set()
                elif line.startswith("data: ") and kind != "hello":
                    events.append((kind, json.loads(line[6:])))
                    if kind == "alerts":
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    upload_id = post_csv(client, BERLIN)
    thread.join(timeout=20)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["upload", "upload"] and "stock" in kinds and kinds[-1] == "alerts"
    finished = [d for k, d in events if k == "upload" and d["status"] == "loaded"]
    assert finished[0]["id"] == upload_id
    assert ["Berlin"] in [d["stores"] for k, d in events if k == "stock"]
    client.close()


def test_inbox_folder(client: httpx.Client, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "good.csv").write_bytes(BERLIN)
    (inbox / "bad.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
    (inbox / ".hidden.csv").write_bytes(BERLIN)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = (
            sorted(p.name for p in (inbox / "processed").glob("*"))
            if (inbox / "processed").exists()
            else []
        )
        failed = (
            sorted(p.name for p in (inbox / "rejected").glob("*"))
            if (inbox / "rejected").exists()
            else []
        )
        if done and failed:
            break
        time.sleep(0.1)
    assert [n.split("-", 1)[1] for n in done] == ["good.csv"]
    assert [n.split("-", 1)[1] for n in failed] == ["bad.csv", "bad.csv.reason.txt"]
    reason = (inbox / "rejected" / f"{failed[0]}.reason.txt").read_text()
    assert "PNG image, not a CSV text file" in reason
    assert (inbox / ".hidden.csv").exists()
    assert {u["file"] for u in client.get("/api/uploads").json()["uploads"]} == {
        "good.csv",
        "bad.csv",
    }


def test_health_metrics_and_openapi(client: httpx.Client) -> None:
    wait_report(client, post_csv(client, BERLIN))
    latest = _migrations()[-1][0]
    assert client.get("/healthz").json() == {
        "status": "ok",
        "version": __version__,
        "schema": latest,
    }
    metrics = client.get("/metrics").text
    for name in (
        "stockwatch_uploads_total",
        "stockwatch_rows_total",
        "stockwatch_rejected_rows_total",
        "stockwatch_alerts_total",
        "stockwatch_notification_failures_total",
        "stockwatch_processing_seconds_bucket",
    ):
        assert name in metrics
    assert 'stockwatch_uploads_total{status="loaded"} 1.0' in metrics
    spec = client.get("/openapi.json").json()
    assert "/api/uploads" in spec["paths"] and "/api/stock/{store}/{item}/history" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_token_guards_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKWATCH_TOKEN", "s3cret-token")
    with live_server(tmp_path / "d") as live, httpx.Client(base_url=live.url) as c:
        for method, path in (
            ("GET", "/api/stores"),
            ("GET", "/api/alerts"),
            ("GET", "/metrics"),
            ("POST", "/api/uploads"),
            ("PUT", "/api/thresholds"),
            ("GET", "/api/events"),
        ):
            response = c.request(method, path)
            assert response.status_code == 401, path
            assert "token" in response.json()["message"]
        assert c.get("/api/stores", headers={"Authorization": "Bearer wrong"}).status_code == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert c.get("/api/stores", headers=good).status_code == 200
        assert c.get("/").status_code == 200  # the page loads, then asks for the token
        assert c.get("/healthz").status_code == 200
        # No credential in a URL (#26): a token there is refused; a ticket serves once.
        refused = c.get("/api/events", params={"token": "s3cret-token"})
        assert refused.status_code == 401
        ticket = c.post("/api/events/ticket", headers=good).json()["ticket"]
        with c.stream("GET", "/api/events", params={"ticket": ticket}) as events:
            assert events.status_code == 200
        assert c.get("/api/events", params={"ticket": ticket}).status_code == 401


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockwatch",
            "--data-dir",
            str(tmp_path / "d"),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "without a token" in result.stderr and "STOCKWATCH_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_upload_command_against_the_server(live: LiveServer, tmp_path: Path) -> None:
    server = live
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(BERLIN)
    bad.write_bytes(csv_bytes(("Berlin", "Echo Dot", "many")))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ok = subprocess.run(
        [sys.executable, "-m", "stockwatch", "upload", "--server", server.url, "--json", str(good)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    (report,) = json.loads(ok.stdout)
    assert (report["status"], report["rows_loaded"]) == ("loaded", 3)
    failed = subprocess.run(
        [sys.executable, "-m", "stockwatch", "upload", "--server", server.url, str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert failed.returncode == 1
    assert 'bad.csv:2: count "many" is not a whole number' in failed.stdout
    down = subprocess.run(
        [sys.executable, "-m", "stockwatch", "upload", "--server", "http://127.0.0.1:9", str(good)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert down.returncode == 1 and "cannot reach the server" in down.stderr


def test_ctrl_c_finishes_or_leaves_pending_never_half_applied(tmp_path: Path) -> None:
    import signal

    from tests.live_server import free_port

    data = tmp_path / "d"
    big = tmp_path / "big.csv"
    big.write_bytes(
        csv_bytes(*((f"S{s}", f"I{i}", (s + i) % 5) for s in range(150) for i in range(1000)))
    )
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    with httpx.Client(base_url=url, timeout=60) as c, c.stream("GET", "/api/events") as live:
        upload_id = post_csv(c, big.read_bytes(), "big.csv")
        while c.get(f"/api/uploads/{upload_id}").json()["status"] == "queued":
            time.sleep(0.02)
        server.send_signal(signal.SIGINT)  # with a dashboard still listening
        for _ in live.iter_lines():
            pass  # the server ends the stream
    _, stderr = server.communicate(timeout=120)
    assert server.returncode == 0, stderr
    assert b"Traceback" not in stderr
    import sqlite3

    db = sqlite3.connect(data / "stockwatch.db")
    (status,) = db.execute("SELECT status FROM uploads WHERE id = ?", (upload_id,)).fetchone()
    (rows,) = db.execute("SELECT count(*) FROM inventory").fetchone()
    db.close()
    assert (status, rows) in (("loaded", 150_000), ("processing", 0), ("queued", 0))
    finish = subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "process"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finish.returncode == 0, finish.stderr
    db = sqlite3.connect(data / "stockwatch.db")
    assert db.execute("SELECT status FROM uploads").fetchall() == [("loaded",)]
    assert db.execute("SELECT count(*) FROM inventory").fetchone() == (150_000,)
    assert db.execute("SELECT count(*) FROM changes").fetchone() == (150_000,)
    db.close()


def test_each_upload_and_each_day_shows_what_it_cost(client: httpx.Client) -> None:
    """On one machine: the time it took, and no dollars (nothing is billed)."""
    wait_report(client, post_csv(client, csv_bytes(("Berlin", "Echo Dot", 4))))
    wait_report(client, post_csv(client, csv_bytes(("Berlin", "Echo Dot", 5))))
    uploads = client.get("/api/uploads").json()["uploads"]
    assert all(u["cost"]["time_ms"] > 0 and u["cost"]["usd"] is None for u in uploads)
    (today,) = client.get("/api/costs", params={"days": 1}).json()
    assert today["uploads"] == 2 and today["usd"] is None
    assert today["time_ms"] == pytest.approx(sum(u["cost"]["time_ms"] for u in uploads), abs=0.2)
    assert client.get("/api/costs", params={"days": 0}).status_code == 422


def test_an_upload_may_say_when_it_was_counted(client: httpx.Client) -> None:
    wait_report(client, post_csv(client, csv_bytes(("Berlin", "Echo Dot", 5))))
    response = client.post(
        "/api/uploads",
        params={"filename": "old.csv", "as_of": "2026-11-20"},
        headers={"Content-Type": "text/csv"},
        content=csv_bytes(("Berlin", "Echo Dot", 0)),
    )
    report = wait_report(client, response.json()["id"])
    assert report["rows_superseded"] == 1
    assert client.get("/api/stock").json()["rows"][0]["count"] == 5
    (point,) = client.get("/api/history", params={"store": "Berlin", "item": "Echo Dot"}).json()
    assert point["count"] == 5 and point["as_of"] > "2026-11-20"
    bad = client.post(
        "/api/uploads",
        params={"filename": "x.csv", "as_of": "soon"},
        headers={"Content-Type": "text/csv"},
        content=b"store,item,count\n",
    )
    assert bad.status_code == 422 and "as_of" in bad.json()["message"]


def test_a_held_snapshot_is_confirmed_or_discarded_over_the_api(client: httpx.Client) -> None:
    full = csv_bytes(*(("Pusan", f"Item {n}", 5) for n in range(4)))
    wait_report(client, post_csv(client, full, "full.csv"))

    def post_snapshot(name: str) -> dict[str, Any]:
        response = client.post(
            "/api/uploads",
            params={"filename": name, "snapshot": "true"},
            headers={"Content-Type": "text/csv"},
            content=csv_bytes(("Pusan", "Item 0", 5)),
        )
        return wait_report(client, response.json()["id"])

    held = post_snapshot("truncated.csv")
    assert held["status"] == "needs_confirmation" and held["rows_zeroed"] == 3
    applied = client.post(f"/api/uploads/{held['id']}/confirm")
    assert applied.status_code == 200 and applied.json()["rows_zeroed"] == 3
    assert client.post(f"/api/uploads/{held['id']}/confirm").status_code == 409

    wait_report(client, post_csv(client, full, "full-again.csv"))
    second = post_snapshot("truncated-again.csv")
    dropped = client.post(f"/api/uploads/{second['id']}/discard")
    assert dropped.status_code == 200 and dropped.json()["status"] == "rejected"
    counts = {r["item"]: r["count"] for r in client.get("/api/stock").json()["rows"]}
    assert counts == {f"Item {n}": 5 for n in range(4)}

    assert client.put(
        "/api/store-settings", json=[{"store": "Pusan", "snapshot": True}]
    ).json() == {"changed": 1}


def test_alerts_are_filtered_acknowledged_and_muted_over_the_api(client: httpx.Client) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", 0), ("Pusan", "Echo Dot", 0))
    wait_report(client, post_csv(client, data))
    (pusan,) = client.get("/api/alerts", params={"store": "Pusan", "state": "open"}).json()
    acked = client.post(f"/api/alerts/{pusan['id']}/ack", json={"by": "maria", "note": "on it"})
    assert acked.status_code == 200
    (again,) = client.get("/api/alerts", params={"store": "Pusan"}).json()
    assert (again["acknowledged_by"], again["ack_note"]) == ("maria", "on it")
    assert client.post("/api/alerts/999999/ack").status_code == 404

    muted = client.put("/api/mutes", json=[{"store": "Berlin", "item": "*", "until": "2999-01-01"}])
    assert muted.json() == {"muted": 1}
    (berlin,) = client.get("/api/alerts", params={"store": "Berlin"}).json()
    assert berlin["muted_until"] == "2999-01-01T00:00:00.000Z"
    past = client.put("/api/mutes", json=[{"store": "Berlin", "item": "*", "until": "2001-01-01"}])
    assert past.status_code == 422
    gone = client.delete("/api/mutes", params={"store": "Berlin", "item": "*"})
    assert gone.json() == {"unmuted": 1} and client.get("/api/mutes").json() == []


def test_head_works_wherever_get_does(client: httpx.Client) -> None:
    """HEAD on the dashboard's files was 405 (#25, #27): now it answers as GET, bodiless."""
    for path in ("/", "/static/main.js", "/static/style.css", "/healthz", "/api/stores"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]


def test_a_form_with_two_files_is_refused_and_keeps_nothing(client: httpx.Client) -> None:
    """The second file part was dropped without a word (#25): one upload is one file."""
    files = [("file", ("a.csv", BERLIN, "text/csv")), ("file", ("b.csv", BERLIN, "text/csv"))]
    answer = client.post("/api/uploads", files=files)
    assert answer.status_code == 422 and "one file per upload" in answer.json()["message"]
    assert client.get("/api/uploads").json()["uploads"] == []


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/a b", "https://hooks.example.com:99999/x", "ftp://x/y"]
)
def test_a_webhook_url_is_checked_when_it_is_set(client: httpx.Client, url: str) -> None:
    """URLs with spaces or a port that is no port were taken and failed only at delivery."""
    answer = client.post("/api/subscriptions", json={"webhook": url})
    assert answer.status_code in (409, 422), answer.text
    assert client.get("/api/subscriptions").json() == []


def test_the_api_answers_as_the_cli_does(client: httpx.Client) -> None:
    """#27: an unknown store was a 200 with no rows, a mute for "7d" was refused, a typo
    in a threshold was taken and never applied, and a "/" in a path name could not be
    written; an upload from a script said "from the dashboard"."""
    report = wait_report(client, post_csv(client, BERLIN + b"Berlin,Echo/Dot,4\n"))
    assert report["uploaded_by"] == "api"  # curl, a script: not the dashboard
    page = client.post(
        "/api/uploads",
        params={"filename": "b.csv"},
        content=BERLIN,
        headers={"Content-Type": "text/csv", "Sec-Fetch-Site": "same-origin"},
    )
    assert wait_report(client, page.json()["id"])["uploaded_by"] == "the dashboard"
    for path in ("/api/stock", "/api/stock.csv"):
        wrong = client.get(path, params={"store": "berlin"})
        assert wrong.status_code == 404 and 'did you mean "Berlin"' in wrong.json()["message"]
    typo = client.put("/api/thresholds", json=[{"store": "Berln", "item": "*", "minimum": 5}])
    assert typo.status_code == 404 and 'did you mean "Berlin"' in typo.json()["message"]
    csv_typo = client.put(
        "/api/thresholds.csv",
        content=b"store,item,minimum\nBerlin,Echo Dto,5\n",
        headers={"Content-Type": "text/csv"},
    )
    assert csv_typo.status_code == 404 and '"Echo Dot"' in csv_typo.json()["message"]
    setting = client.put("/api/store-settings", json=[{"store": "Berln", "snapshot": True}])
    assert setting.status_code == 404
    assert client.get("/api/thresholds").json() == []
    expected = client.put(
        "/api/thresholds",
        params={"new": "true"},
        json=[{"store": "Hamburg", "item": "*", "minimum": 5}],
    )
    assert expected.status_code == 200 and expected.json()[0]["store"] == "Hamburg"
    muted = client.put("/api/mutes", json=[{"store": "Berlin", "item": "Echo Dot", "until": "7d"}])
    assert muted.status_code == 200, muted.text
    mute_typo = client.put(
        "/api/mutes", json=[{"store": "Berlin", "item": "Echo Dto", "until": "7d"}]
    )
    assert mute_typo.status_code == 404
    slashed = client.get("/api/stock/Berlin/Echo%2FDot/history")
    assert slashed.status_code == 200 and slashed.json()[0]["count"] == 4
    plain = client.get("/api/stock/Berlin/Echo%20Dot/history")
    assert plain.status_code == 200
    missing = client.get("/api/stock/Berlin/Echo%20Dto/history")
    assert missing.status_code == 404 and '"Echo Dot"' in missing.json()["message"]
    for path in ("/api/stock", "/api/alerts", "/api/uploads", "/api/thresholds", "/metrics"):
        assert client.head(path).status_code == client.get(path).status_code == 200, path


def test_store_system_exports_and_mapped_columns(client: httpx.Client) -> None:
    """A Shopify export as it is; any other file with ?columns= and ?store=."""
    names = [x["name"] for x in client.get("/api/layouts").json()]
    assert names == ["stockwatch", "shopify", "square", "lightspeed-x", "lightspeed-r"]
    shopify = sample("exports/shopify-inventory.csv").read_bytes()
    report = wait_report(client, post_csv(client, shopify, "shopify.csv"))
    assert (report["status"], report["rows_loaded"], report["layout"]) == ("loaded", 5, "shopify")
    # Its SKUs are on the stock rows, and the search finds an item by its SKU.
    found = client.get("/api/stock", params={"q": "tee-red"}).json()["rows"]
    assert [(r["store"], r["item"], r["sku"]) for r in found] == [
        ("Main Street", "Classic Tee - Red / M", "TEE-RED-M")
    ]
    assert "sku" in client.get("/api/stock.csv").text.splitlines()[0].split(",")
    # A mapped min column sets the item's low-stock minimum; the report counts them.
    response = client.post(
        "/api/uploads",
        params={"filename": "mins.csv", "columns": "store=Shop,item=Name,count=Qty,min=Reorder"},
        content=b"Shop,Name,Qty,Reorder\nHamburg,Tap,2,5\n",
        headers={"Content-Type": "text/csv"},
    )
    report = wait_report(client, response.json()["id"])
    assert (report["rows_loaded"], report["thresholds_set"]) == (1, 1)
    mins = client.get("/api/thresholds").json()
    (tap,) = [t for t in mins if t["item"] == "Tap"]
    assert (tap["store"], tap["minimum"], tap["from_file"]) == ("Hamburg", 5, True)
    response = client.post(
        "/api/uploads",
        params={"filename": "till.csv", "columns": "item=Article,count=Qty", "store": "Hamburg"},
        content=b"Article,Qty\nEcho Dot,4\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    report = wait_report(client, response.json()["id"])
    assert (report["rows_loaded"], report["layout"]) == (1, "columns")
    stock = client.get("/api/stock", params={"store": "Hamburg"}).json()
    assert [(r["item"], r["count"]) for r in stock["rows"]] == [("Echo Dot", 4), ("Tap", 2)]
    bad = client.post(
        "/api/uploads",
        params={"layout": "no such/layout"},
        content=shopify,
        headers={"Content-Type": "text/csv"},
    )
    assert bad.status_code == 422 and "not a layout name" in bad.json()["message"]
    unknown = client.post(
        "/api/uploads",
        params={"layout": "bogus", "filename": "u.csv"},
        content=shopify,
        headers={"Content-Type": "text/csv"},
    )
    report = wait_report(client, unknown.json()["id"])
    assert report["status"] == "rejected" and "the layouts are stockwatch" in report["message"]
    # A mapping saved once, then used by name and as the store's own.
    saved = client.put(
        "/api/layouts/till", json={"columns": "item=Article,count=Qty", "store": "Kiel"}
    )
    assert saved.status_code == 200, saved.text
    assert "till" in [x["name"] for x in client.get("/api/layouts").json()]
    response = client.post(
        "/api/uploads",
        params={"filename": "kiel.csv", "store": "Kiel"},
        content=b"Article,Qty\nEcho Dot,9\n",
        headers={"Content-Type": "text/csv"},
    )
    report = wait_report(client, response.json()["id"])
    assert (report["rows_loaded"], report["layout"]) == (1, "till")
    refused = client.put("/api/layouts/shopify", json={"columns": "item=A,count=B"})
    assert refused.status_code == 422 and "built-in" in refused.json()["message"]
    assert client.delete("/api/layouts/till").status_code == 204
    assert client.delete("/api/layouts/till").status_code == 404


def test_a_spreadsheet_uploads_raw_or_as_a_form(client: httpx.Client) -> None:
    from tests.data import spreadsheets

    book = spreadsheets.xlsx(*spreadsheets.SQUARE_BOOK)
    raw = client.post(
        "/api/uploads",
        params={"filename": "square.xlsx"},
        content=book,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
    assert raw.status_code == 202, raw.text
    report = wait_report(client, raw.json()["id"])
    assert (report["layout"], report["rows_loaded"]) == ("square", 4)
    form = client.post(
        "/api/uploads",
        params={"sheet": "Counts"},
        files={
            "file": (
                "counts.ods",
                spreadsheets.ods(
                    ("Notes", (("x",),)),
                    ("Counts", (("store", "item", "count"), ("Kiel", "Tap", 3))),
                ),
                "application/vnd.oasis.opendocument.spreadsheet",
            )
        },
    )
    assert wait_report(client, form.json()["id"])["rows_loaded"] == 1


def test_what_to_order_over_the_api(client: httpx.Client) -> None:
    for day, count in enumerate((40, 35, 30, 25, 20), start=1):
        upload_id = client.post(
            "/api/uploads",
            params={"filename": f"b{day}.csv", "as_of": f"2026-11-0{day}T08:00:00Z"},
            content=csv_bytes(("Berlin", "Echo Dot", count), ("Berlin", "Kindle", 9)),
            headers={"Content-Type": "text/csv"},
        ).json()["id"]
        assert wait_report(client, upload_id)["status"] == "loaded"

    put = client.put("/api/ordering", json={"store": "Berlin", "item": "*", "pack": 6})
    assert put.status_code == 200 and put.json() == {"store": "Berlin", "item": "*", "pack": 6}
    wrong = client.put("/api/ordering", json={"store": "Berln", "item": "*", "pack": 6})
    assert wrong.status_code == 404 and 'did you mean "Berlin"' in wrong.json()["message"]
    assert client.put("/api/ordering", json={"store": "Berlin", "item": "*"}).status_code == 200
    assert client.get("/api/ordering").json()[0]["pack"] == 6
    client.put("/api/ordering", json={"store": "Berlin", "item": "Kindle", "pack": 4})
    gone = client.delete("/api/ordering", params={"store": "Berlin", "item": "Kindle"})
    assert gone.status_code == 200
    again = client.delete("/api/ordering", params={"store": "Berlin", "item": "Kindle"})
    assert again.status_code == 404

    (line,) = client.get("/api/reorder", params={"store": "Berlin"}).json()
    assert (line["item"], line["order_up_to"], line["suggested"]) == ("Echo Dot", 70, 54)
    assert line["reason"] == "runs out Mon 9 Nov; 7-day lead time"
    assert len(client.get("/api/reorder", params={"all": "true"}).json()) == 2
    csv_text = client.get("/api/reorder.csv", params={"store": "Berlin"}).text
    assert csv_text.startswith("store,item,sku,on_hand,on_order,daily_demand")
    assert "Berlin,Echo Dot,,20,0,5.0" in csv_text

    placed = client.post(
        "/api/orders", json=[{"store": "Berlin", "item": "Echo Dot", "quantity": 48}]
    )
    assert placed.status_code == 201
    order_id = placed.json()[0]["id"]
    (line,) = client.get("/api/reorder").json()
    assert (line["on_order"], line["suggested"]) == (48, 6)
    assert client.post(f"/api/orders/{order_id}/receive").status_code == 200
    assert client.post(f"/api/orders/{order_id}/receive").status_code == 404
    assert client.get("/api/orders").json() == []
    assert client.get("/api/orders", params={"all": "true"}).json()[0]["received_by"]

    result = client.get("/api/backtest", params={"store": "Berlin"}).json()
    assert result["policies"]["order_up_to"]["items"] == 2
    assert client.get("/api/transfers").json() == []  # one store: nobody to move from


def test_ordering_requests_the_schema_allows_are_taken(client: httpx.Client) -> None:
    """What schemathesis found: a PUT that sets nothing, a future expected date, "*"."""
    client.post(
        "/api/uploads",
        params={"filename": "b.csv"},
        content=csv_bytes(("Berlin", "Echo Dot", 3)),
        headers={"Content-Type": "text/csv"},
    )
    deadline = time.monotonic() + 30
    while not client.get("/api/stores").json() and time.monotonic() < deadline:
        time.sleep(0.05)
    same = client.put("/api/ordering", json={"store": "Berlin", "item": "*"})
    assert same.status_code == 200 and same.json() == {"store": "Berlin", "item": "*"}
    future = {"store": "Berlin", "item": "Echo Dot", "quantity": 5, "expected": "2099-01-31"}
    placed = client.post("/api/orders", json=[future])
    assert placed.status_code == 201 and placed.json()[0]["expected"] == "2099-01-31"
    every = client.post("/api/orders", json=[{"store": " *", "item": "Echo Dot", "quantity": 1}])
    assert every.status_code == 404 and 'none is named "*"' in every.json()["message"]
