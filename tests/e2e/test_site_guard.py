"""Cross-site writes and DNS rebinding against a real ``serve``, and a real hostile page.

The hostile page is served from ``localhost`` on another port while stockwatch listens on
``127.0.0.1``: another site, as a page on the internet would be, and Chromium sends what it
sends for those (``Origin``, ``Sec-Fetch-Site: cross-site``).
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import csv_bytes
from tests.e2e.conftest import CHROMIUM
from tests.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

BODY = csv_bytes(("Berlin", "Echo Dot", 0)).decode()


def _uploads(live: LiveServer) -> list[Any]:
    uploads: list[Any] = httpx.get(live.url + "/api/uploads").json()["uploads"]
    return uploads


def test_a_foreign_host_header_is_refused(server: LiveServer) -> None:
    """DNS rebinding: evil.example resolving to 127.0.0.1 still says Host: evil.example."""
    port = server.url.rsplit(":", 1)[1]
    refused = httpx.get(server.url + "/api/stores", headers={"Host": f"evil.example:{port}"})
    assert refused.status_code == 421
    assert "STOCKWATCH_ALLOWED_HOSTS" in refused.json()["message"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert httpx.get(server.url + "/api/stores", headers={"Host": host}).status_code == 200


def test_cross_site_writes_are_refused_and_same_origin_ones_pass(server: LiveServer) -> None:
    params = {"filename": "x.csv"}
    csv = {"Content-Type": "text/csv"}
    for headers, status in [
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Origin": "http://localhost:9"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": "http://[::1"}, 403),  # not a URL: refused, not a server error
        ({"Sec-Fetch-Site": "same-origin", "Origin": server.url}, 202),
        ({}, 202),  # not a browser: curl, the CLI
    ]:
        response = httpx.post(
            server.url + "/api/uploads", params=params, content=BODY, headers={**csv, **headers}
        )
        assert response.status_code == status, (headers, response.text)
        assert ("message" in response.json()) is (status == 403)
    thresholds = httpx.put(
        server.url + "/api/thresholds",
        json=[{"store": "Berlin", "item": "*", "minimum": 5}],
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert thresholds.status_code == 403


def test_text_plain_uploads_need_a_token(server: LiveServer) -> None:
    response = httpx.post(
        server.url + "/api/uploads",
        params={"filename": "x.csv"},
        content=BODY,
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert "text/csv" in response.json()["message"]


class _Evil(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        page = f"""<!doctype html><title>cheap echo dots</title><script>
        const body = {BODY!r};
        const done = [];
        done.push(fetch("{self.target}/api/uploads?filename=evil.csv",
            {{method: "POST", mode: "no-cors", body, headers: {{"Content-Type": "text/plain"}}}})
            .catch(e => e));
        const form = new FormData();
        form.append("file", new Blob([body], {{type: "text/csv"}}), "evil.csv");
        const opts = {{method: "POST", mode: "no-cors", body: form}};
        done.push(fetch("{self.target}/api/uploads", opts).catch(e => e));
        Promise.all(done).then(() => {{ document.title = "sent"; }});
        </script>"""
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed here (.ci/run installs it)",
)
def test_a_hostile_page_in_a_real_browser_cannot_write_stock(
    server: LiveServer, browser: Browser
) -> None:
    _Evil.target = server.url
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://localhost:{evil.server_address[1]}/")
        page.wait_for_function("document.title === 'sent'", timeout=15_000)
        page.close()
    finally:
        evil.shutdown()
        evil.server_close()
    assert _uploads(server) == []
    assert not any((server.data_dir / "objects").rglob("*.csv"))
