"""stockwatch on one machine: the ``Backend`` over a data directory.

Loading, alerting and queueing the digest of one upload happen in one SQLite transaction
(``unit_of_work.py``). A crash therefore leaves an upload either untouched (it is still
``queued`` or ``processing`` and ``process_pending`` redoes it) or complete — never
half-applied, and never with alerts that no notification will ever mention.

One object serves the CLI, every thread of ``stockwatch serve`` (the web app's and the
workers') and the tests: each thread gets its own SQLite connection on first use.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.layouts import SavedLayout
from stockwatch.core.limits import Limits
from stockwatch.core.ports import AlertChannel, ObjectTooLarge, StoredObject
from stockwatch.core.reader import Readable
from stockwatch.core.report import UploadReport
from stockwatch.service import uploads as upload_service
from stockwatch.service.backend import Delivery, NotOnThisBackend, Progress
from stockwatch.service.commands import Confirm, Discard, SetSnapshotDefault, Upload, Validate
from stockwatch.sqlite import saved_layouts
from stockwatch.sqlite.arrivals import Arrivals
from stockwatch.sqlite.database import (
    DATABASE_NAME,
    DataDirError,
    connect,
    private_dir,
    transaction,
)
from stockwatch.sqlite.object_store import FolderObjectStore, Published, safe_filename
from stockwatch.sqlite.order_book import SqliteOrderBook
from stockwatch.sqlite.outbox import SubscribedChannel, deliver
from stockwatch.sqlite.read_model import SqliteReadModel
from stockwatch.sqlite.readahead import READ_AHEAD_MIN_BYTES, EarlyRead, clean_first
from stockwatch.sqlite.records import UploadRecord, fetch_upload, fetch_uploads
from stockwatch.sqlite.subscriptions import SqliteSubscriptions
from stockwatch.sqlite.threshold_change import SqliteThresholdChange
from stockwatch.sqlite.unit_of_work import SqliteUnitOfWork
from stockwatch.sqlite.users import SqliteUsers

Listener = Callable[[str, dict[str, Any]], None]
UPLOAD_ID_PATTERN = r"^[1-9][0-9]{0,17}$"  # ids are the upload's number here


class _Connections(threading.local):
    conn: sqlite3.Connection | None = None
    arrivals: Arrivals | None = None


def local_id(text: str) -> int:
    if not text.isdigit():
        raise NotOnThisBackend(f"{text!r} is not an upload id here: they are whole numbers")
    return int(text)


class SqliteBackend:
    """A data directory with ``stockwatch.db``, ``arrivals.db`` and ``objects/``.

    ``channels`` are where ``deliver`` sends digests; ``channel_names`` (their names unless
    given) are what each upload queues in the outbox. ``listeners`` hear of every change
    once it is committed (the live dashboard, metrics, the upload worker).
    """

    name = "sqlite"
    upload_id_pattern = UPLOAD_ID_PATTERN

    def __init__(
        self,
        data_dir: Path,
        limits: Limits | None = None,
        channels: Mapping[str, AlertChannel] | None = None,
        channel_names: Sequence[str] | None = None,
        subscribed: SubscribedChannel | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.limits = limits or Limits()
        self.channels = dict(channels or {})
        if channel_names is None:
            channel_names = tuple(self.channels) if channels is not None else ("console",)
        self.channel_names = tuple(channel_names)
        self.subscribed = subscribed
        self.read_ahead_min_bytes = READ_AHEAD_MIN_BYTES
        self.listeners: list[Listener] = []
        self._made = False
        # Told when work is queued (an upload, a confirmed snapshot's digest), so a worker
        # starts at once instead of polling.
        self.wakers: list[Callable[[], None]] = []
        self.objects = FolderObjectStore(data_dir / "objects")
        self._local = _Connections()
        self._opened: list[tuple[sqlite3.Connection, Arrivals]] = []
        self._lock = threading.Lock()

    # -- connections ------------------------------------------------------------------------

    def _make_dir(self) -> None:
        """The data directory (0700), made on first use: validating a file, or reading
        ``--help``, leaves no directory behind."""
        if self._made:
            return
        try:
            private_dir(self.data_dir)
        except OSError as exc:
            raise DataDirError(
                f"cannot create the data directory {self.data_dir}: {exc.strerror}"
            ) from None
        self._made = True

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection to ``stockwatch.db``, opened on first use."""
        conn = self._local.conn
        if conn is None:
            self._make_dir()
            conn = connect(self.data_dir / DATABASE_NAME)
            arrivals = Arrivals(self.data_dir, conn)
            self._local.conn, self._local.arrivals = conn, arrivals
            with self._lock:
                self._opened.append((conn, arrivals))
        return conn

    @property
    def arrivals(self) -> Arrivals:
        self.conn  # noqa: B018  # opens both
        assert self._local.arrivals is not None
        return self._local.arrivals

    def close(self) -> None:
        """Close every thread's connection (at the end, once the threads are done)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn, arrivals in opened:
            arrivals.close()
            conn.close()
        self._local = _Connections()

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        """Tell listeners (the live dashboard) after a change has been committed."""
        for listener in self.listeners:
            listener(kind, data)

    def _wake(self) -> None:
        for wake in self.wakers:
            wake()

    def unit_of_work(self) -> SqliteUnitOfWork:
        uow = SqliteUnitOfWork(
            self.conn, self.objects, self.limits, self.channel_names, self._emit, self.arrivals
        )
        uow.inventory.read_ahead_min_bytes = self.read_ahead_min_bytes
        return uow

    # -- reads and the writes beside them ------------------------------------------------------

    def reads(self) -> SqliteReadModel:
        return SqliteReadModel(self)

    def alert_notes(self) -> SqliteReadModel:
        return SqliteReadModel(self)

    def threshold_change(self) -> SqliteThresholdChange:
        return SqliteThresholdChange(self.conn, self.channel_names, self._emit)

    def users(self) -> SqliteUsers:
        return SqliteUsers(self.conn)

    def order_book(self) -> SqliteOrderBook:
        return SqliteOrderBook(self.conn)

    def subscriptions(self) -> SqliteSubscriptions:
        return SqliteSubscriptions(self.conn)

    def upload(self, upload_id: int) -> UploadRecord | None:
        # The arrivals first: an upload moved meanwhile is then found in the main table.
        return self.arrivals.get(upload_id) or fetch_upload(self.conn, upload_id)

    def uploads(self, limit: int = 50, before: int | None = None) -> list[UploadRecord]:
        """Newest first: those still arriving, then the main table's."""
        waiting = self.arrivals.waiting(limit, before)
        done = fetch_uploads(self.conn, limit, before)
        seen = {r.id for r in waiting}
        merged = waiting + [r for r in done if r.id not in seen]
        return sorted(merged, key=lambda r: r.id, reverse=True)[:limit]

    # -- receiving ----------------------------------------------------------------------------

    def upload_target(self, command: Upload) -> FolderObjectStore:
        self._make_dir()
        return self.objects

    def receive(
        self, command: Upload, source: Readable, on_published: Published | None = None
    ) -> int:
        """Keep the file exactly as received and queue it; the id orders it among uploads
        counted at the same time."""
        name = safe_filename(command.filename)
        self._make_dir()
        key = self.objects.new_key(name)
        stored = self.objects.put(key, source, self.limits.max_file_bytes, on_published)
        return self.submit(command, stored)

    def submit(self, command: Upload, stored: StoredObject) -> int:
        """Queue a file already kept in the object store, without waiting for any upload
        being processed (``arrivals``). Its uploader and scope go with it: the stores its
        rows may name are checked when it is read."""
        command = command.named(safe_filename(command.filename))
        upload_id = self.arrivals.add(command, stored)
        shown = None if command.scope is None else sorted(command.scope)
        event = {"id": upload_id, "file": command.filename, "status": "queued", "scope": shown}
        self._emit("upload", event)
        self._wake()
        return upload_id

    def ingest(
        self, command: Upload, source: Readable, on_progress: Progress = None
    ) -> UploadReport:
        early = self._early_read(command, source)
        try:
            try:
                upload_id = self.receive(command, source, early.start if early else None)
            except ObjectTooLarge as exc:
                return UploadReport(command.filename, None, "rejected", message=str(exc))
            uow = self.unit_of_work()
            uow.inventory.early = early
            return upload_service.process_upload(uow, upload_id, on_progress)
        finally:
            if early is not None:
                early.close()

    def _early_read(self, command: Upload, source: Readable) -> EarlyRead | None:
        """A read of the kept file begun while it is kept, when it will be read with pyarrow
        here (``SqliteInventory.read``): a large local file, any store, own columns."""
        try:
            size = os.fstat(source.fileno()).st_size  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            return None  # a stream: its size is not known before it is read
        if not clean_first(size, self.read_ahead_min_bytes, command.scope, command.reading()):
            return None
        return EarlyRead(self.limits)

    # -- processing ---------------------------------------------------------------------------

    def pending_uploads(self) -> list[int]:
        self.arrivals.absorb(self.conn)
        rows = self.conn.execute(
            "SELECT id FROM uploads WHERE status IN ('queued', 'processing') ORDER BY id"
        )
        return [r[0] for r in rows]

    def process_pending(self) -> list[UploadReport]:
        return [self.process_upload(upload_id) for upload_id in self.pending_uploads()]

    def process_upload(self, upload_id: int, on_progress: Progress = None) -> UploadReport:
        """Load one upload; doing it again once it has finished changes nothing."""
        return upload_service.process_upload(self.unit_of_work(), upload_id, on_progress)

    def confirm(self, command: Confirm) -> UploadReport:
        """Applied here and now: a held snapshot is at most ``MAX_SNAPSHOT_ITEMS`` rows."""
        report = upload_service.confirm_upload(self.unit_of_work(), local_id(command.upload_id))
        self._wake()  # its digest is in the outbox
        return report

    def discard(self, command: Discard) -> UploadReport:
        upload_id = local_id(command.upload_id)
        return upload_service.discard_upload(self.unit_of_work(), upload_id, command.by)

    def saved_layouts(self) -> dict[str, SavedLayout]:
        return saved_layouts.saved(self.conn)

    def save_layout(self, layout: SavedLayout, by: str) -> None:
        saved_layouts.save(self.conn, layout, by)

    def delete_layout(self, name: str) -> bool:
        return saved_layouts.delete(self.conn, name)

    def set_snapshot_default(self, command: SetSnapshotDefault) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO store_settings (store, snapshot, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (store) DO UPDATE SET snapshot = excluded.snapshot,"
                " updated_at = excluded.updated_at",
                (command.store, int(command.snapshot), utc_now()),
            )

    def validate(
        self, command: Validate, source: Readable, on_progress: Progress = None
    ) -> UploadReport:
        """Report what ingesting the file would do, then roll it all back; against a
        throwaway data directory while this one has no database yet."""
        if not (self.data_dir / DATABASE_NAME).exists():
            with scratch_backend(self.limits) as scratch:
                return scratch.validate(command, source, on_progress)
        uow = self.unit_of_work()
        # A large local file is read ahead like a stored one.
        uow.inventory.local_path = command.path
        return upload_service.validate(uow, command, source, on_progress)

    # -- keeping it running -------------------------------------------------------------------

    def deliver(self, due_only: bool = True) -> Delivery:
        return deliver(self.conn, self.channels, due_only=due_only, subscribed=self.subscribed)

    def replay(self, queue_url: str | None, dry_run: bool, limit: int) -> list[object]:
        raise NotOnThisBackend(
            "on one machine nothing is given up on: `stockwatch process` finishes interrupted"
            " uploads and undelivered notifications"
        )

    def backup(self, dest: Path) -> Any:
        from stockwatch.sqlite.backup import backup

        return backup(self.data_dir, dest)

    def restore(self, source: Path, settings: bool = False) -> Any:
        from stockwatch.sqlite.backup import restore

        return restore(source, self.data_dir, settings)

    def check(self) -> Any:
        from stockwatch.sqlite.backup import check

        return check(self.data_dir)

    def compact(self, vacuum: bool) -> Any:
        from stockwatch.core.retention import Retention
        from stockwatch.sqlite.retention import compact

        return compact(self.conn, self.data_dir, Retention.from_env(), vacuum=vacuum)


@contextmanager
def scratch_backend(limits: Limits | None = None) -> Iterator[SqliteBackend]:
    """A throwaway data directory, for validating files when there is no data directory yet."""
    with tempfile.TemporaryDirectory(prefix="stockwatch-validate-") as tmp:
        backend = SqliteBackend(Path(tmp), limits, channel_names=())
        backend.conn  # noqa: B018  # the database exists, so it is validated against
        try:
            yield backend
        finally:
            backend.close()


__all__ = ["ObjectTooLarge", "SqliteBackend", "UploadRecord", "scratch_backend"]
