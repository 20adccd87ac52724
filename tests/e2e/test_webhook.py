"""The webhook channel against real HTTP servers on 127.0.0.1: only a 2xx is a delivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stockwatch.notify.webhook import WebhookChannel
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.outbox import deliver
from tests.conftest import Receiver, csv_bytes, ingest


@dataclass
class Redirector:
    """Answers every request with ``status`` and a Location; records what reached it."""

    url: str = ""
    status: int = 302
    location: str = ""
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def redirector() -> Iterator[Redirector]:
    state = Redirector()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            state.seen.append((self.command, dict(self.headers)))
            self.send_response(state.status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = _answer
        do_GET = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_delivery_and_the_secret_stays_home(
    app: SqliteBackend, receiver: Receiver, redirector: Redirector, status: int
) -> None:
    """urllib used to follow a 302 with a GET carrying the secret; the GET's 200 marked the
    digest sent and the alert never arrived."""
    redirector.status, redirector.location = status, receiver.url
    ingest(app, "a.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    channels = {"webhook": WebhookChannel(redirector.url, secret="hush")}
    result = deliver(app.conn, channels, due_only=False)
    assert (result.sent, result.failed, result.pending) == (0, 1, 1)
    assert f"HTTP {status}, a redirect to {receiver.url}" in result.errors[0]
    assert [method for method, _ in redirector.seen] == ["POST"]
    assert receiver.received == [] and receiver.headers == []  # nothing followed
    # Pointed at the final URL, the same digest goes out once.
    fixed = deliver(
        app.conn, {"webhook": WebhookChannel(receiver.url, secret="hush")}, due_only=False
    )
    assert (fixed.sent, fixed.pending) == (1, 0)
    assert receiver.headers[0]["X-Stockwatch-Secret"] == "hush"


@pytest.mark.parametrize("status", [201, 202, 204])
def test_any_2xx_is_a_delivery(app: SqliteBackend, redirector: Redirector, status: int) -> None:
    redirector.status = status
    ingest(app, "a.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
    result = deliver(app.conn, {"webhook": WebhookChannel(redirector.url)}, due_only=False)
    assert (result.sent, result.pending) == (1, 0)


def test_chat_text_is_escaped_and_the_alerts_keep_the_names(
    app: SqliteBackend, receiver: Receiver
) -> None:
    name = "<!channel> <https://evil.example/|Reorder here> & more"
    ingest(app, "a.csv", csv_bytes(("Berlin", name, 0)))
    assert deliver(app.conn, {"webhook": WebhookChannel(receiver.url)}).sent == 1
    (body,) = receiver.received
    assert "<" not in body["text"] and ">" not in body["text"]
    assert "&lt;!channel&gt; &lt;https://evil.example/|Reorder here&gt; &amp; more" in body["text"]
    assert body["alerts"][0]["item"] == name


def test_a_dripping_webhook_is_cut_off_and_delays_no_other_channel(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The review's repro (#25): a subscription webhook answering one byte every 8 s held
    the outbox, and another store's mail arrived 148 s late. Now each delivery has a total
    deadline and each channel is sent in its own thread: a real server that drips its
    answer here is cut off at the deadline, and the other channel is told at once."""
    import socketserver

    stop = threading.Event()

    class Dripping(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":  # bounded: 40 bytes
                if stop.wait(1.0):
                    return
                try:
                    self.request.sendall(bytes([byte]))
                except OSError:
                    return  # the client gave up: as it should

    slow = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Dripping)
    slow.daemon_threads = True
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    slow_url = f"http://127.0.0.1:{slow.server_address[1]}/hook"
    channels = {
        "drip": WebhookChannel(slow_url, timeout=10, deadline=6),
        "webhook": WebhookChannel(receiver.url),
    }
    backend = SqliteBackend(tmp_path / "data", channels=channels)
    try:
        ingest(backend, "berlin.csv", csv_bytes(("Berlin", "Echo Dot", 0)))
        started = time.monotonic()
        result: list[Any] = []
        worker = threading.Thread(target=lambda: result.append(backend.deliver()))
        worker.start()
        while not receiver.received and time.monotonic() - started < 10:
            time.sleep(0.05)
        told_after = time.monotonic() - started
        worker.join(timeout=30)
        took = time.monotonic() - started
    finally:
        stop.set()
        slow.shutdown()
        slow.server_close()
        backend.close()
    assert told_after < 4, told_after  # not after the dripping one's deadline
    (done,) = result
    assert (done.sent, done.failed) == (1, 1) and "within 6 s" in done.errors[0]
    assert took < 20, took  # cut off at its deadline, not when it finished dripping (40 s)
