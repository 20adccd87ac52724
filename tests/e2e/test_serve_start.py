"""``stockwatch serve`` tells where it listens only once it does, and sends its headers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_server import LiveServer, live_server


def test_a_port_in_use_is_an_error_with_no_dashboard_url(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "stockwatch",
                "--data-dir",
                str(tmp_path / "d"),
                "serve",
                "--demo",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    assert result.returncode == 1
    assert "stockwatch dashboard" not in result.stderr
    # One line, naming what to change (#27), said before the demo loads anything.
    (line,) = result.stderr.strip().splitlines()
    assert "address already in use" in line.lower() and "make run PORT=N" in line
    assert "Traceback" not in result.stderr and not (tmp_path / "d" / "inbox").exists()


def test_the_url_printed_is_the_port_listened_on(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockwatch",
            "--data-dir",
            str(tmp_path / "d"),
            "serve",
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        url = ""
        while time.monotonic() < deadline and not url:
            line = process.stderr.readline()
            if line.startswith("stockwatch dashboard: "):
                url = line.split()[2]
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        assert httpx.get(url + "healthz").json()["status"] == "ok"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    with live_server(tmp_path / "d") as live:
        check(live)


def check(live: LiveServer) -> None:
    for path in ("/", "/api/stores", "/api/nothing", "/docs"):
        headers = httpx.get(live.url + path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff", path
