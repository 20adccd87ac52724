"""Taking an upload in never waits for one being processed.

The processing transaction is stood in for by a real second connection that holds the main
database's write lock, as a million-row upload does for as long as it loads. Arrivals go to
their own database, so the POST answers 202 all the same; once the lock is let go, the
upload is processed as usual.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx

from tests.conftest import csv_bytes
from tests.live_server import live_server


def test_an_upload_is_accepted_while_the_database_is_held(tmp_path: Path) -> None:
    with live_server(tmp_path / "data") as live:
        holder = sqlite3.connect(tmp_path / "data" / "stockwatch.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # what a long upload's transaction does
        try:
            with httpx.Client(base_url=live.url, timeout=10) as client:
                accepted = client.post(
                    "/api/uploads",
                    params={"filename": "berlin.csv"},
                    content=csv_bytes(("Berlin", "Echo Dot", 0)),
                    headers={"Content-Type": "text/csv"},
                )
                assert accepted.status_code == 202, accepted.text
                upload_id = accepted.json()["id"]
                assert client.get(f"/api/uploads/{upload_id}").json()["status"] == "queued"
                listed = client.get("/api/uploads").json()["uploads"]
                assert [u["id"] for u in listed] == [upload_id]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        with httpx.Client(base_url=live.url, timeout=10) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                report = client.get(f"/api/uploads/{upload_id}").json()
                if report["status"] == "loaded":
                    break
                time.sleep(0.05)
            assert (report["status"], report["rows_loaded"]) == ("loaded", 1)
