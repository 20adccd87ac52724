"""A real stockwatch server (uvicorn and its workers) on 127.0.0.1, for tests and benches."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from stockwatch.bootstrap import web_app
from stockwatch.core.limits import Limits
from stockwatch.core.ports import AlertChannel
from stockwatch.server.runner import build, server_config
from stockwatch.sqlite.backend import SqliteBackend


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    backend: SqliteBackend  # the server's own: calls from a test use the test's connection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(
    data_dir: Path,
    channels: Mapping[str, AlertChannel] | None = None,
    limits: Limits | None = None,
    inbox: Path | None = None,
    trusted_proxies: str | None = None,
) -> Iterator[LiveServer]:
    with served(data_dir, channels, limits, inbox) as running:
        port = free_port()
        config = server_config(
            running.app, "127.0.0.1", port, log_level="warning", trusted_proxies=trusted_proxies
        )
        config.timeout_graceful_shutdown = 1
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", data_dir, running.backend)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@dataclass
class Served:
    """The app and its workers in this process, with no socket: for an in-process client."""

    data_dir: Path
    backend: SqliteBackend
    app: Any


@contextmanager
def served(
    data_dir: Path,
    channels: Mapping[str, AlertChannel] | None = None,
    limits: Limits | None = None,
    inbox: Path | None = None,
) -> Iterator[Served]:
    """What ``live_server`` runs, less uvicorn: the same backend, workers and app."""
    data_dir.mkdir(parents=True, exist_ok=True)
    backend, web, workers = build(data_dir, "127.0.0.1", limits or Limits(), channels or {}, inbox)
    for worker in workers:
        worker.start()
    try:
        yield Served(data_dir, backend, web_app(backend, web))
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(timeout=30)
        backend.close()


@contextmanager
def in_process_client(app: Any) -> Iterator[httpx.Client]:
    """An HTTP client that calls the ASGI app directly (Starlette's TestClient, an httpx
    client); its Host is the loopback name the server answers for."""
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client
