"""stockwatch on one machine: the service's use cases over a data directory.

Loading, alerting and queueing the digest of one upload happen in one SQLite transaction
(``unit_of_work.py``). A crash therefore leaves an upload either untouched (it is still
``queued`` or ``processing`` and ``process_pending`` redoes it) or complete — never
half-applied, and never with alerts that no notification will ever mention.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.limits import Limits
from stockwatch.core.ports import StoredObject
from stockwatch.core.reader import Readable
from stockwatch.core.report import UploadReport
from stockwatch.service import uploads as upload_service
from stockwatch.service.uploads import ProgressCallback
from stockwatch.sqlite.arrivals import Arrivals
from stockwatch.sqlite.database import (
    DATABASE_NAME,
    DataDirError,
    connect,
    private_dir,
    transaction,
)
from stockwatch.sqlite.object_store import FolderObjectStore, ObjectTooLarge, safe_filename
from stockwatch.sqlite.readahead import READ_AHEAD_MIN_BYTES
from stockwatch.sqlite.records import UploadRecord, fetch_upload, fetch_uploads
from stockwatch.sqlite.threshold_change import SqliteThresholdChange
from stockwatch.sqlite.unit_of_work import SqliteUnitOfWork


class EmbeddedStockwatch:
    """A data directory with ``stockwatch.db`` and ``objects/``."""

    def __init__(
        self,
        data_dir: Path,
        limits: Limits | None = None,
        channel_names: Sequence[str] = ("console",),
    ) -> None:
        self.data_dir = data_dir
        self.limits = limits or Limits()
        self.channel_names = tuple(channel_names)
        self.read_ahead_min_bytes = READ_AHEAD_MIN_BYTES
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        try:
            private_dir(data_dir)
        except OSError as exc:
            raise DataDirError(
                f"cannot create the data directory {data_dir}: {exc.strerror}"
            ) from None
        self.objects = FolderObjectStore(data_dir / "objects")
        self.conn = connect(data_dir / DATABASE_NAME)
        self.arrivals = Arrivals(data_dir, self.conn)

    def close(self) -> None:
        self.arrivals.close()
        self.conn.close()

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        """Tell listeners (the live dashboard) after a change has been committed."""
        for listener in self.listeners:
            listener(kind, data)

    def unit_of_work(self) -> SqliteUnitOfWork:
        uow = SqliteUnitOfWork(
            self.conn, self.objects, self.limits, self.channel_names, self._emit, self.arrivals
        )
        uow.inventory.read_ahead_min_bytes = self.read_ahead_min_bytes
        return uow

    def threshold_change(self) -> SqliteThresholdChange:
        return SqliteThresholdChange(self.conn, self.channel_names, self._emit)

    # -- receiving -------------------------------------------------------------------------

    def receive(
        self,
        filename: str,
        source: Readable,
        strict: bool = False,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> int:
        """Keep the file exactly as received and queue it; the id orders it among uploads
        counted at the same time (``as_of``, a ``core.clock.parse_time`` string)."""
        name = safe_filename(filename)
        stored = self.objects.put(self.objects.new_key(name), source, self.limits.max_file_bytes)
        return self.register(name, stored, strict, as_of, snapshot, uploader, scope)

    def register(
        self,
        filename: str,
        stored: StoredObject,
        strict: bool = False,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> int:
        """Queue a file already kept in the object store, without waiting for any upload
        being processed (``arrivals``). ``uploader`` and ``scope`` go with it: the stores
        its rows may name are checked when it is read."""
        name = safe_filename(filename)
        upload_id = self.arrivals.add(name, stored, strict, as_of, snapshot, uploader, scope)
        shown = None if scope is None else sorted(scope)
        event = {"id": upload_id, "file": name, "status": "queued", "scope": shown}
        self._emit("upload", event)
        return upload_id

    # -- processing ------------------------------------------------------------------------

    def pending_uploads(self) -> list[int]:
        self.arrivals.absorb(self.conn)
        rows = self.conn.execute(
            "SELECT id FROM uploads WHERE status IN ('queued', 'processing') ORDER BY id"
        )
        return [r[0] for r in rows]

    def process_pending(self, on_progress: ProgressCallback | None = None) -> list[UploadReport]:
        return [self.process_upload(upload_id, on_progress) for upload_id in self.pending_uploads()]

    def process_upload(
        self, upload_id: int, on_progress: ProgressCallback | None = None
    ) -> UploadReport:
        """Load one upload; doing it again once it has finished changes nothing."""
        return upload_service.process_upload(self.unit_of_work(), upload_id, on_progress)

    def confirm_upload(self, upload_id: int) -> UploadReport:
        """Apply a snapshot held for confirmation (``service.uploads.confirm_upload``)."""
        return upload_service.confirm_upload(self.unit_of_work(), upload_id)

    def discard_upload(self, upload_id: int, by: str = "") -> UploadReport:
        return upload_service.discard_upload(self.unit_of_work(), upload_id, by)

    def set_snapshot_default(self, store: str, snapshot: bool) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO store_settings (store, snapshot, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (store) DO UPDATE SET snapshot = excluded.snapshot,"
                " updated_at = excluded.updated_at",
                (store, int(snapshot), utc_now()),
            )

    def store_settings(self) -> dict[str, bool]:
        rows = self.conn.execute("SELECT store, snapshot FROM store_settings ORDER BY store")
        return {store: bool(flag) for store, flag in rows}

    def validate(
        self,
        filename: str,
        source: Readable,
        strict: bool = False,
        on_progress: ProgressCallback | None = None,
        path: Path | None = None,
    ) -> UploadReport:
        """Report what ingesting the file would do, then roll it all back."""
        uow = self.unit_of_work()
        uow.inventory.local_path = path  # a large local file is read ahead like a stored one
        return upload_service.validate(uow, filename, source, strict, on_progress)

    # -- reading ---------------------------------------------------------------------------

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


@contextmanager
def scratch_stockwatch(limits: Limits | None = None) -> Iterator[EmbeddedStockwatch]:
    """A throwaway data directory, for validating files when there is no data directory yet."""
    with tempfile.TemporaryDirectory(prefix="stockwatch-validate-") as tmp:
        app = EmbeddedStockwatch(Path(tmp), limits, channel_names=())
        try:
            yield app
        finally:
            app.close()


__all__ = ["EmbeddedStockwatch", "ObjectTooLarge", "UploadRecord", "scratch_stockwatch"]
