"""The embedded web backend: what the app shares with the workers of one ``stockwatch serve``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from stockwatch.core.access import Principal
from stockwatch.core.limits import Limits
from stockwatch.service.users import authenticate
from stockwatch.sqlite.app import EmbeddedStockwatch
from stockwatch.sqlite.read_model import SqliteReadModel
from stockwatch.sqlite.subscriptions import SqliteSubscriptions
from stockwatch.sqlite.users import SqliteUsers
from stockwatch.web.events import EventBus
from stockwatch.web.metrics import Metrics
from stockwatch.web.uploads import receive_upload


@dataclass
class ServerContext:
    data_dir: Path
    limits: Limits = field(default_factory=Limits)
    channel_names: tuple[str, ...] = ("console",)
    token: str | None = None
    allowed_hosts: frozenset[str] | None = None  # Host names answered for; None: any
    upload_id_pattern: str = r"^[1-9][0-9]{0,17}$"  # ids are the upload's number here
    bus: EventBus = field(default_factory=EventBus)
    metrics: Metrics = field(default_factory=Metrics)
    # Called after an upload is queued, so the worker starts at once instead of polling.
    wake_worker: Callable[[], None] = lambda: None
    _local: threading.local = field(default_factory=threading.local)
    _opened: list[EmbeddedStockwatch] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def listen(self, kind: str, data: dict[str, Any]) -> None:
        self.bus.publish(kind, data)
        self.metrics.observe(kind, data)

    def open(self) -> EmbeddedStockwatch:
        """A pipeline with its own SQLite connection, for the calling thread."""
        instance = EmbeddedStockwatch(self.data_dir, self.limits, self.channel_names)
        instance.listeners.append(self.listen)
        with self._lock:
            self._opened.append(instance)
        return instance

    def db(self) -> EmbeddedStockwatch:
        instance: EmbeddedStockwatch | None = getattr(self._local, "instance", None)
        if instance is None:
            instance = self.open()
            self._local.instance = instance
        return instance

    def model(self) -> SqliteReadModel:
        return SqliteReadModel(self.db())

    def directory(self) -> SqliteUsers:
        return SqliteUsers(self.db().conn)

    def subscriptions(self) -> SqliteSubscriptions:
        return SqliteSubscriptions(self.db().conn)

    async def open_access(self) -> bool:
        if self.token is not None:
            return False
        return not await run_in_threadpool(lambda: SqliteUsers(self.db().conn).any())

    async def authenticate(self, given: str | None) -> Principal | None:
        def lookup() -> Principal | None:
            return authenticate(SqliteUsers(self.db().conn), self.token, given)

        return await run_in_threadpool(lookup)

    async def confirm(self, upload_id: str) -> dict[str, Any]:
        """Applied here and now: a held snapshot is at most ``MAX_SNAPSHOT_ITEMS`` rows."""
        report = await run_in_threadpool(lambda: self.db().confirm_upload(int(upload_id)))
        self.wake_worker()  # its digest is in the outbox
        return report.to_json()

    async def discard(self, upload_id: str, by: str) -> dict[str, Any]:
        report = await run_in_threadpool(lambda: self.db().discard_upload(int(upload_id), by))
        return report.to_json()

    async def set_snapshot_default(self, store: str, snapshot: bool) -> None:
        await run_in_threadpool(lambda: self.db().set_snapshot_default(store, snapshot))

    async def accept_upload(
        self,
        request: Request,
        strict: bool,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> str:
        name, stored = await receive_upload(request, self.db().objects, self.limits.max_file_bytes)
        upload_id = await run_in_threadpool(
            lambda: self.db().register(name, stored, strict, as_of, snapshot, uploader, scope)
        )
        self.wake_worker()
        return str(upload_id)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for instance in opened:
            instance.close()
