"""Every limit holds against a real ``serve``, driven with raw sockets where clients cheat."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stockwatch.core.limits import Limits
from tests.live_server import LiveServer, live_server

LIMIT = 1_000_000


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", limits=Limits(max_file_bytes=LIMIT)) as live:
        yield live


def _exchange(live: LiveServer, head: bytes, chunks: list[bytes], pause: float = 0) -> str:
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break  # the server answered and closed early
            if pause:
                time.sleep(pause)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while block := sock.recv(65536):
            answer += block
    return answer.decode("latin-1")


def _chunked(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]


def _nothing_kept(live: LiveServer) -> None:
    assert httpx.get(live.url + "/api/uploads").json()["uploads"] == []
    assert [p for p in (live.data_dir / "objects").rglob("*") if p.is_file()] == []


def test_a_huge_field_before_the_file_counts_against_the_limit(limited: LiveServer) -> None:
    boundary = b"xyz"
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
        + b"n" * (2 * LIMIT)
        + b'\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\nstore,item,count\nBerlin,Echo,1\n\r\n--xyz--\r\n"
    )
    head = (
        b"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n\r\n"
    )
    answer = _exchange(limited, head, _chunked(body))
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    _nothing_kept(limited)


def test_a_multipart_body_without_its_closing_boundary_is_not_loaded(limited: LiveServer) -> None:
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\nstore,item,count\nBerlin,Echo,1\n"
    )
    response = httpx.post(
        limited.url + "/api/uploads",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 422
    assert "closing boundary" in response.json()["message"]
    _nothing_kept(limited)


def test_json_bodies_have_a_small_limit_of_their_own(limited: LiveServer) -> None:
    entries = [{"store": f"S{n}", "item": "*", "minimum": 1} for n in range(60_000)]
    big = json.dumps(entries).encode()
    assert len(big) > 2_000_000
    declared = httpx.put(
        limited.url + "/api/thresholds", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and "message" in declared.json()
    head = (
        b"PUT /api/thresholds HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
    )
    assert _exchange(limited, head, _chunked(big)).startswith("HTTP/1.1 413")
    assert httpx.get(limited.url + "/api/thresholds").json() == []
    assert httpx.get(limited.url + "/healthz").status_code == 200


def test_a_client_that_stops_sending_is_cut_off(
    limited: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stockwatch.web.uploads.BODY_READ_TIMEOUT", 1.0)
    head = (
        b"POST /api/uploads?filename=slow.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\nstore,item,count\n"
    )
    host, port = limited.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        started = time.monotonic()
        answer = sock.recv(65536).decode("latin-1")
        waited = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 408"), answer[:200]
    assert waited < 20
    _nothing_kept(limited)


def test_a_client_that_disconnects_mid_body_is_one_info_line(
    limited: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    head = (
        b"POST /api/uploads?filename=gone.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\nstore,item,count\n"
    )
    host, port = limited.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "went away" not in caplog.text:
        time.sleep(0.05)
    assert "the client went away during an upload" in caplog.text
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    _nothing_kept(limited)


def test_a_client_that_sends_its_headers_too_slowly_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stockwatch.server.runner.HEADER_TIMEOUT", 1.0)
    with live_server(tmp_path / "slow") as live:
        host, port = live.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # and then nothing more
            started = time.monotonic()
            assert sock.recv(1024) == b""  # the server closed the connection
            assert time.monotonic() - started < 20
        assert httpx.get(live.url + "/healthz").status_code == 200


def test_the_next_request_on_a_kept_connection_has_a_header_deadline_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review (#25): after one quick request, a client dripping the next request's
    headers a byte at a time held its connection past 75 s."""
    monkeypatch.setattr("stockwatch.server.runner.HEADER_TIMEOUT", 1.0)
    with live_server(tmp_path / "kept") as live:
        host, port = live.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert b"200 OK" in sock.recv(4096)
            started = time.monotonic()
            closed = False
            for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n":  # one every 0.3 s
                try:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.3)
                except OSError:
                    closed = True
                    break
            if not closed:
                closed = sock.recv(1024) == b""
            assert closed and time.monotonic() - started < 15


def test_a_body_sent_a_byte_now_and_then_is_cut_off(
    limited: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,500 uploads sending a byte every 50 s all stayed open (#25)."""
    monkeypatch.setattr("stockwatch.web.uploads.RATE_GRACE_S", 1.0)
    head = (
        b"POST /api/uploads?filename=drip.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: text/csv\r\nContent-Length: 5000\r\n\r\n"
    )
    answer = _exchange(limited, head, [b"s" for _ in range(12)], pause=0.3)
    assert "408" in answer.split("\r\n", 1)[0] and "bytes a second" in answer
    _nothing_kept(limited)


def test_connections_beyond_the_cap_get_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKWATCH_MAX_CONNECTIONS", "4")
    with live_server(tmp_path / "capped") as live:
        host, port = live.url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(4)]
        try:
            time.sleep(0.3)
            with socket.create_connection((host, int(port)), timeout=10) as extra:
                answer = extra.recv(4096).decode()
            assert answer.startswith("HTTP/1.1 503") and "Retry-After: 5" in answer
            assert "connections" in answer
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.3)
        assert httpx.get(live.url + "/healthz").status_code == 200  # freed again


def test_live_streams_are_capped_per_signer_and_in_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3,000 event streams were all accepted (#25)."""
    monkeypatch.setenv("STOCKWATCH_MAX_EVENT_STREAMS_PER_USER", "2")
    with live_server(tmp_path / "streams") as live, httpx.Client(base_url=live.url) as client:
        first = client.stream("GET", "/api/events")
        second = client.stream("GET", "/api/events")
        with first as one, second as two:
            assert one.status_code == two.status_code == 200
            refused = client.get("/api/events")
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "15"
            assert "2 live streams open already" in refused.json()["message"]
        deadline = time.monotonic() + 10  # a closed stream is released within a second or so
        while True:
            with client.stream("GET", "/api/events") as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.2)
