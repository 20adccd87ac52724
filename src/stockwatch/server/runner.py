"""Running ``stockwatch serve``: workers first, then uvicorn; Ctrl-C stops both cleanly."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from stockwatch.bootstrap import subscription_channels
from stockwatch.core.limits import Limits
from stockwatch.core.ports import AlertChannel
from stockwatch.server.workers import (
    InboxWatcher,
    OutboxWorker,
    RetentionWorker,
    UploadWorker,
    Worker,
)
from stockwatch.sqlite.app import EmbeddedStockwatch
from stockwatch.sqlite.database import DATABASE_NAME, private_dir
from stockwatch.sqlite.users import SqliteUsers
from stockwatch.web.app import create_app
from stockwatch.web.auth import TokenError, check_strength, load_token
from stockwatch.web.context import ServerContext
from stockwatch.web.guard import allowed_hosts

log = logging.getLogger("stockwatch.server")


class TokenRequired(Exception):
    pass


HEADER_TIMEOUT = 30.0  # seconds for a new connection to send its request line and headers


class TimedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the first request's headers.

    uvicorn times out idle keep-alive connections but not a new one that sends its headers a
    byte at a time; each such client would hold a descriptor for as long as it liked.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            log.info("closed a connection that sent no complete request in %.0f s", HEADER_TIMEOUT)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_deadline.cancel()
        super().connection_lost(exc)


def server_config(app: Any, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """The one uvicorn configuration, for ``serve`` and the tests' live servers."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        http=TimedH11Protocol,
    )


class _Server(uvicorn.Server):
    """Ends the live event streams as soon as a stop is asked for."""

    def __init__(
        self,
        config: uvicorn.Config,
        ctx: ServerContext,
        on_listening: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.ctx = ctx
        self.on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Say where the dashboard is only once the port is really ours."""
        await super().startup(sockets)
        if self.started and self.on_listening is not None:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            self.on_listening(f"http://{shown}:{port}/")

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.ctx.bus.close()
        super().handle_exit(sig, frame)


def has_users(data_dir: Path) -> bool:
    """Whether anyone but the bootstrap token can sign in to this data directory."""
    if not (data_dir / DATABASE_NAME).exists():
        return False
    app = EmbeddedStockwatch(data_dir)
    try:
        return SqliteUsers(app.conn).any()
    finally:
        app.close()


def build(
    data_dir: Path,
    host: str,
    limits: Limits,
    channels: Mapping[str, AlertChannel],
    inbox: Path | None,
) -> tuple[ServerContext, list[Worker]]:
    try:
        token = load_token(data_dir)
        if not has_users(data_dir):  # users' own tokens are long and random already
            check_strength(token, host)
    except TokenError as exc:
        raise TokenRequired(str(exc)) from None
    ctx = ServerContext(data_dir, limits, tuple(channels), token, allowed_hosts(host))
    outbox = OutboxWorker(ctx, channels, subscription_channels(data_dir))
    uploads = UploadWorker(ctx, outbox)
    ctx.wake_worker = uploads.wake
    workers: list[Worker] = [uploads, outbox, RetentionWorker(ctx)]
    if inbox is not None:
        inbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        workers.append(InboxWatcher(ctx, inbox, uploads))
    return ctx, workers


def serve(
    data_dir: Path,
    host: str,
    port: int,
    limits: Limits,
    channels: Mapping[str, AlertChannel],
    inbox: Path | None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    private_dir(data_dir)
    ctx, workers = build(data_dir, host, limits, channels, inbox)
    for worker in workers:
        worker.start()
    config = server_config(create_app(ctx), host, port)
    try:
        _Server(config, ctx, on_listening).run()
    except KeyboardInterrupt:
        pass  # uvicorn has shut down cleanly and passes the signal on; so do we, quietly
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(timeout=60)  # the upload in hand finishes, or rolls back on exit
        ctx.close()
