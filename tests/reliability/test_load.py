"""Load: 200 concurrent uploads to a real `stockwatch serve` process.

Every upload must be accepted, processed and reported right (its good rows loaded, its bad
row rejected with the line number), the stock of each store must be its upload's, and no
"database is locked" (or any 5xx) may reach a client or the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.common import start_serve

UPLOADS = int(os.environ.get("STOCKWATCH_LOAD_UPLOADS", "200"))
ITEMS = 50


def body(n: int) -> bytes:
    lines = ["store,item,count"]
    lines += [f"Store {n:03d},Item {i:02d},{(n + i) % 7}" for i in range(ITEMS)]
    lines.append(f"Store {n:03d},Broken,many")  # one bad row, line ITEMS + 2
    return ("\n".join(lines) + "\n").encode()


def test_200_concurrent_uploads_all_processed_and_right(tmp_path: Path) -> None:
    server, port = start_serve(tmp_path / "data", stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        limits = httpx.Limits(max_connections=UPLOADS)
        with httpx.Client(base_url=base, timeout=120, limits=limits) as client:

            def send(n: int) -> httpx.Response:
                return client.post(
                    "/api/uploads",
                    params={"filename": f"store-{n:03d}.csv"},
                    content=body(n),
                    headers={"Content-Type": "text/csv"},
                )

            with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
                responses = list(pool.map(send, range(UPLOADS)))
            assert [r.status_code for r in responses] == [202] * UPLOADS, {
                r.status_code: r.text for r in responses if r.status_code != 202
            }
            ids = [r.json()["id"] for r in responses]
            assert len(set(ids)) == UPLOADS
            deadline = time.monotonic() + 300
            reports: dict[int, dict[str, Any]] = {}
            while len(reports) < UPLOADS and time.monotonic() < deadline:
                for n, upload_id in enumerate(ids):
                    if n in reports:
                        continue
                    got = client.get(f"/api/uploads/{upload_id}")
                    assert got.status_code == 200, got.text
                    if got.json()["status"] not in ("queued", "processing"):
                        reports[n] = got.json()
                time.sleep(0.2)
            assert len(reports) == UPLOADS
            for report in reports.values():
                assert report["status"] == "loaded_with_errors", report
                assert (report["rows_loaded"], report["rows_rejected"]) == (ITEMS, 1), report
                (error,) = report["errors"]
                assert error["line"] == ITEMS + 2 and error["field"] == "count"
            stores = {s["store"]: s for s in client.get("/api/stores").json()}
            assert len(stores) == UPLOADS
            for n in range(UPLOADS):
                zeros = sum(1 for i in range(ITEMS) if (n + i) % 7 == 0)
                assert stores[f"Store {n:03d}"]["items"] == ITEMS
                assert stores[f"Store {n:03d}"]["out_of_stock"] == zeros
    finally:
        server.send_signal(signal.SIGINT)
        _, log = server.communicate(timeout=60)
    assert "locked" not in log.lower()
    assert "Traceback" not in log
