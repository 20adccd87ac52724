"""Shared parts of the reliability harnesses: receivers, inventory files, state dumps."""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WebhookLog:
    """A webhook receiver on 127.0.0.1 that can be taken down and brought back on its port."""

    port: int = 0
    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookLog:
        log = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with log.lock:
                    log.deliveries.append((self.headers["Idempotency-Key"], json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def keys(self) -> Counter[str]:
        with self.lock:
            return Counter(key for key, _ in self.deliveries)

    def clear(self) -> None:
        with self.lock:
            self.deliveries.clear()


def inventory_csv(path: Path, stores: int, items: int, seed: int, zero_every: int = 50) -> Path:
    """A file of stores x items rows; about one count in ``zero_every`` is 0."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("store,item,count\n")
        for s in range(stores):
            block = []
            for i in range(items):
                count = 0 if rng.randrange(zero_every) == 0 else rng.randrange(1, 500)
                block.append(f"Store {s:04d},Item {i:05d},{count}\n")
            out.write("".join(block))
    return path


def stockwatch(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def _digest(rows: Any) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for row in rows:
        h.update(repr(tuple(row)).encode())
        n += 1
    return n, h.hexdigest()[:16]


def dump(data_dir: Path) -> dict[str, tuple[int, str]]:
    """Fingerprints of what must come out the same however the work was interrupted."""
    conn = sqlite3.connect(f"file:{data_dir / 'stockwatch.db'}?mode=ro", uri=True)
    try:
        return {
            "stock": _digest(
                conn.execute("SELECT store, item, count FROM inventory ORDER BY store, item")
            ),
            "changes": _digest(
                conn.execute(
                    "SELECT store, item, old_count, new_count, upload_id FROM changes ORDER BY seq"
                )
            ),
            "alerts": _digest(
                conn.execute(
                    "SELECT kind, store, item, count, minimum, upload_id, resolved_at IS NULL"
                    " FROM alerts ORDER BY id"
                )
            ),
            "outbox": _digest(
                conn.execute(
                    "SELECT upload_id, channel, payload, status FROM outbox ORDER BY upload_id,"
                    " channel"
                )
            ),
            "integrity": (0, conn.execute("PRAGMA integrity_check").fetchone()[0]),
        }
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(
    data_dir: Path, env: dict[str, str] | None = None, stderr: int | IO[str] = subprocess.DEVNULL
) -> tuple[subprocess.Popen[str], int]:
    """`stockwatch serve` in a process (and session) of its own, once /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "stockwatch", "--data-dir", str(data_dir), "serve"]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        start_new_session=True,
    )
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("stockwatch serve exited at start")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError("stockwatch serve did not start")
