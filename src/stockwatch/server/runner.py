"""Running ``stockwatch serve``: workers first, then uvicorn; Ctrl-C stops both cleanly."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from stockwatch import bootstrap
from stockwatch.core.limits import Limits
from stockwatch.core.ports import AlertChannel
from stockwatch.server.inbox import InboxWatcher
from stockwatch.server.workers import (
    OutboxWorker,
    RetentionWorker,
    UploadWorker,
    Worker,
)
from stockwatch.web.auth import LOOPBACK, TokenError, check_strength, load_token
from stockwatch.web.events import EventBus
from stockwatch.web.guard import allowed_hosts

if TYPE_CHECKING:
    from stockwatch.sqlite.backend import SqliteBackend
    from stockwatch.web.capabilities import WebCapabilities

log = logging.getLogger("stockwatch.server")


class TokenRequired(Exception):
    pass


HEADER_TIMEOUT = 30.0  # seconds for each request's line and headers to arrive
RETRY_AFTER_S = 5


def max_connections() -> int:
    """Connections served at once (STOCKWATCH_MAX_CONNECTIONS); beyond them, 503. The
    default stays well under the usual limit of 1,024 open files."""
    return int(os.environ.get("STOCKWATCH_MAX_CONNECTIONS", "500"))


def _busy_response() -> bytes:
    body = json.dumps(
        {"message": "the server has as many connections as it takes; try again shortly"}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Retry-After: {RETRY_AFTER_S}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for every request's headers and a cap on
    connections.

    uvicorn times out idle keep-alive connections, but not one that sends a request's
    headers a byte at a time (the first, or the next on a kept-alive connection): each such
    client would hold a descriptor for as long as it liked, and enough of them would use up
    the process's files for everyone. Beyond ``max_connections`` a new connection is
    answered 503 with Retry-After and closed at once.
    """

    open_connections = 0  # in this process (one server per process)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._counted = False
        if TimedH11Protocol.open_connections >= max_connections():
            log.warning("refused a connection: %d open already", TimedH11Protocol.open_connections)
            transport.write(_busy_response())
            transport.close()
            return
        TimedH11Protocol.open_connections += 1
        self._counted = True
        self._arm(None)

    def _arm(self, after: object) -> None:
        """The request after ``after`` (None: the first) must have all its headers within
        ``HEADER_TIMEOUT``: until then ``self.cycle`` stays ``after``."""
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        self._waiting_after = after
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        if self.cycle is self._waiting_after and not self.transport.is_closing():
            log.info("closed a connection that sent no complete request in %.0f s", HEADER_TIMEOUT)
            self.transport.close()

    def on_response_complete(self) -> None:
        done = self.cycle  # taken first: a pipelined request may start in the call below
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(done)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        if self._counted:
            TimedH11Protocol.open_connections -= 1
            self._counted = False
        super().connection_lost(exc)


def server_config(
    app: Any,
    host: str,
    port: int,
    log_level: str = "info",
    trusted_proxies: str | None = None,
) -> uvicorn.Config:
    """The one uvicorn configuration, for ``serve`` and the tests' live servers.

    ``X-Forwarded-For`` is read only from ``trusted_proxies`` (addresses, comma-separated;
    STOCKWATCH_TRUSTED_PROXIES): otherwise any local client could pick the address a
    failed sign-in is counted against, and so escape the throttle or lock out another.
    """
    trusted = (trusted_proxies or "").strip()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        http=TimedH11Protocol,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


class _Server(uvicorn.Server):
    """Ends the live event streams as soon as a stop is asked for."""

    def __init__(
        self,
        config: uvicorn.Config,
        bus: EventBus | None,
        on_listening: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.bus = bus
        self.on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Say where the dashboard is only once the port is really ours."""
        await super().startup(sockets)
        if self.started and self.on_listening is not None:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            self.on_listening(f"http://{shown}:{port}/")

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.bus is not None:
            self.bus.close()
        super().handle_exit(sig, frame)


def build(
    data_dir: Path,
    host: str,
    limits: Limits,
    channels: Mapping[str, AlertChannel],
    inbox: Path | None,
) -> tuple[SqliteBackend, WebCapabilities, list[Worker]]:
    try:
        token = load_token(data_dir)
    except TokenError as exc:
        raise TokenRequired(str(exc)) from None
    backend, web = bootstrap.serve_backend(
        data_dir, limits, channels, token, allowed_hosts(host), loopback=host in LOOPBACK
    )
    try:
        if not backend.users().any():  # users' own tokens are long and random already
            check_strength(token, host)
    except TokenError as exc:
        backend.close()
        raise TokenRequired(str(exc)) from None
    outbox = OutboxWorker(backend, web.metrics)
    uploads = UploadWorker(backend, outbox)
    backend.wakers.append(uploads.wake)
    workers: list[Worker] = [uploads, outbox, RetentionWorker(backend)]
    if inbox is not None:
        inbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        workers.append(InboxWatcher(backend, inbox, uploads))
    return backend, web, workers


class PortTaken(Exception):
    """The address to listen on is not free; the message says how to choose another."""


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts, so that a taken port is
    one clear sentence at once rather than uvicorn's error after the demo has loaded."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortTaken(
            f"cannot listen on {host} port {port}: {exc.strerror}; choose another port with"
            f" --port N (make run PORT=N)"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(
    data_dir: Path,
    sock: socket.socket,
    limits: Limits,
    channels: Mapping[str, AlertChannel],
    inbox: Path | None,
    on_listening: Callable[[str], None] | None = None,
    trusted_proxies: str | None = None,
) -> None:
    """Serve on ``sock`` (from ``listen``) until stopped."""
    host, port = sock.getsockname()[:2]
    backend, web, workers = build(data_dir, host, limits, channels, inbox)
    for worker in workers:
        worker.start()
    app = bootstrap.web_app(backend, web)
    config = server_config(app, host, port, trusted_proxies=trusted_proxies)
    try:
        _Server(config, web.bus, on_listening).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has shut down cleanly and passes the signal on; so do we, quietly
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(timeout=60)  # the upload in hand finishes, or rolls back on exit
        backend.close()
