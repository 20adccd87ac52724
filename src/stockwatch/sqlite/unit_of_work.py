"""The service's ports on one SQLite database: one upload, one transaction.

``SqliteUnitOfWork`` holds ``BEGIN IMMEDIATE`` from the start of loading to the report, so
load, alerts, outbox rows and report commit together or not at all. The load itself runs in
a savepoint that the service may undo (a file rejected halfway, strict mode). Only storage
code lives here; what happens, and in which order, is ``service/uploads.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.cost import Cost
from stockwatch.core.details import ItemDetails
from stockwatch.core.figures import Figures
from stockwatch.core.layouts import SavedLayout
from stockwatch.core.limits import Limits
from stockwatch.core.loading import ReadSummary
from stockwatch.core.ordering import compose_version
from stockwatch.core.reader import Readable
from stockwatch.core.report import FINISHED, UploadReport
from stockwatch.core.rows import ThresholdRow
from stockwatch.core.thresholds import Threshold, ThresholdEntry, Thresholds
from stockwatch.service.commands import Upload
from stockwatch.service.ports import MissingObject, UploadJob
from stockwatch.service.uploads import FileChunks
from stockwatch.sqlite import figures, item_details, queries, saved_layouts
from stockwatch.sqlite.arrivals import Arrivals
from stockwatch.sqlite.judging import SqliteAlerts, SqliteChangeFeed, SqliteOutbox
from stockwatch.sqlite.object_store import FolderObjectStore
from stockwatch.sqlite.order_book import SqliteOrderBook
from stockwatch.sqlite.readahead import (
    READ_AHEAD_MIN_BYTES,
    ChunkWriter,
    CleanFirst,
    EarlyRead,
    ReadAhead,
    clean_first,
)
from stockwatch.sqlite.records import UploadRecord, encode_report, fetch_upload


def sqlite_version(as_of: str, upload_id: int) -> str:
    """Ordered by when the counts were taken, then by arrival (the id)."""
    return compose_version(as_of, f"{upload_id:012d}")


Emit = Callable[[str, dict[str, Any]], None]


class SqliteUploads:
    def __init__(
        self,
        conn: sqlite3.Connection,
        emit: Emit,
        later: list[tuple[str, Any]],
        arrivals: Arrivals | None = None,
    ):
        self.conn = conn
        self.emit = emit
        self.later = later  # events to tell once the unit of work commits
        self.arrivals = arrivals

    def begin(self, upload_id: int) -> UploadJob:
        record = fetch_upload(self.conn, upload_id)
        if record is None and self.arrivals is not None:
            self.arrivals.absorb(self.conn)  # arrived, not yet moved into the main table
            record = fetch_upload(self.conn, upload_id)
        if record is None:
            raise KeyError(upload_id)
        job = UploadJob(
            record.id,
            sqlite_version(record.counted_at, record.id),
            record.command,
            record.object_key,
            ref=record,
        )
        if record.status in FINISHED and record.report is not None:
            job.done = record.report
            return job
        # Only while unfinished: another process may have finished it since the read above.
        claimed = self.conn.execute(
            "UPDATE uploads SET status = 'processing', started_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND status IN ('queued', 'processing')",
            (utc_now(), upload_id),
        ).rowcount
        if not claimed:
            return self.begin(upload_id)
        scope = None if record.scope is None else sorted(record.scope)
        event = {"id": upload_id, "file": record.filename, "status": "processing", "scope": scope}
        self.emit("upload", event)
        return job

    def settled(self, job: UploadJob) -> UploadReport | None:
        """Read under the write lock the unit of work holds: ``begin`` read before it."""
        if not isinstance(job.upload_id, int):
            return None
        record = fetch_upload(self.conn, job.upload_id)
        if record is not None and record.status in FINISHED and record.report is not None:
            return record.report
        return None

    def trial(self, command: Upload) -> UploadJob:
        """The version the next upload would get: after every arrival too."""
        (next_id,) = self.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM uploads").fetchone()
        if self.arrivals is not None:
            next_id = max(next_id, self.arrivals.highest() + 1)
        counted = command.as_of or utc_now()
        return UploadJob(None, sqlite_version(counted, next_id), command, "", trial_id=next_id)

    def finish(self, job: UploadJob, report: UploadReport) -> None:
        self.conn.execute(
            "UPDATE uploads SET status = ?, finished_at = ?, report = ? WHERE id = ?",
            (report.status, utc_now(), encode_report(report), job.upload_id),
        )
        summary = {k: v for k, v in report.to_json().items() if k not in ("errors", "alerts")}
        self.later.append(("upload", {"id": job.upload_id, **summary}))
        if report.stores:
            self.later.append(
                ("stock", {"upload_id": job.upload_id, "stores": report.stores[:100]})
            )
        if report.alerts_total:
            self.later.append(
                ("alerts", {"upload_id": job.upload_id, "raised": report.alerts_total})
            )

    def cost(self, job: UploadJob, elapsed_ms: float) -> Cost:
        """No bill on one machine: only the time it took."""
        return Cost(time_ms=elapsed_ms)


class SqliteObjects:
    def __init__(self, objects: FolderObjectStore) -> None:
        self.objects = objects

    def path(self, job: UploadJob) -> Path:
        return self.objects.path_of(job.object_key)

    def open(self, job: UploadJob) -> Readable:
        try:
            return open(self.path(job), "rb")
        except FileNotFoundError:
            raise MissingObject(f"the stored file {job.object_key} is missing") from None


class _ReadAheadChunks:
    def __init__(self, ahead: ReadAhead) -> None:
        self.ahead = ahead

    def chunks(self) -> Iterator[Any]:
        return self.ahead.chunks()

    def summary(self) -> ReadSummary:
        return self.ahead.summary

    def details(self) -> ItemDetails:
        return self.ahead.take_details()


class _Savepoint:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def undo(self) -> bool:
        self.conn.execute("ROLLBACK TO load")
        return True


class SqliteInventory:
    can_undo = True

    def __init__(self, conn: sqlite3.Connection, objects: SqliteObjects, limits: Limits):
        self.conn = conn
        self.objects = objects
        self.limits = limits
        self.read_ahead_min_bytes = READ_AHEAD_MIN_BYTES
        self.local_path: Path | None = None  # the file being validated, when it has a path
        self.early: EarlyRead | None = None  # a read of the kept file begun by ``ingest``
        self._details: item_details.SqliteDetails | None = None  # the upload's SKUs so far

    def read(self, job: UploadJob, source: Readable, on_progress: Any) -> Any:
        """Large files: a clean one read with pyarrow here, any other by a child process
        (``readahead``), two cores."""
        path = self.objects.path(job) if job.object_key else self.local_path
        size = path.stat().st_size if path is not None else 0
        if path is not None and clean_first(
            size, self.read_ahead_min_bytes, job.scope, job.reading
        ):
            early = self.early.take(path) if self.early is not None else None
            return CleanFirst(path, self.limits, on_progress, early)
        if path is not None and size >= self.read_ahead_min_bytes:
            return _ReadAheadChunks(
                ReadAhead(path, self.limits, on_progress, job.scope, job.reading)
            )
        return FileChunks(source, self.limits, on_progress, stores=job.scope, reading=job.reading)

    def writer(self, job: UploadJob) -> Any:
        """Takes the chunks of any of ``read``'s sources."""
        upload = int(job.upload_id if job.upload_id is not None else job.trial_id or 0)
        return ChunkWriter(self.conn, upload)

    def items_of(self, store: str) -> Iterator[tuple[str, int]]:
        yield from self.conn.execute(
            "SELECT item, count FROM inventory WHERE store = ? ORDER BY item", (store,)
        )

    def snapshot_defaults(self) -> dict[str, bool]:
        rows = self.conn.execute("SELECT store, snapshot FROM store_settings")
        return {store: bool(flag) for store, flag in rows}

    def saved_layouts(self) -> dict[str, SavedLayout]:
        return saved_layouts.saved(self.conn)

    def keep_details(self, job: UploadJob, details: ItemDetails) -> int:
        return self._details_of(job).keep(details)

    def details_done(self, job: UploadJob) -> None:
        self._details_of(job).done()

    def _details_of(self, job: UploadJob) -> item_details.SqliteDetails:
        if self._details is None or self._details.version != job.version:
            self._details = item_details.SqliteDetails(self.conn, job.version)
        return self._details

    @contextmanager
    def attempt(self) -> Iterator[_Savepoint]:
        self.conn.execute("SAVEPOINT load")
        try:
            yield _Savepoint(self.conn)
        finally:
            self.conn.execute("RELEASE load")


class SqliteThresholds:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def load(self) -> Thresholds:
        return Thresholds(
            Threshold(s, i, m, c)
            for s, i, m, c in self.conn.execute(
                "SELECT store, item, minimum, cover_days FROM thresholds"
            )
        )

    def entries(self) -> list[ThresholdRow]:
        return queries.thresholds(self.conn)

    def set(self, entries: Sequence[ThresholdEntry], now: str) -> None:
        queries.upsert_thresholds(self.conn, list(entries))

    def delete(self, store: str, item: str) -> bool:
        return queries.delete_threshold(self.conn, store, item)


class SqliteStoreFigures:
    def __init__(self, conn: sqlite3.Connection, feed: SqliteChangeFeed) -> None:
        self.conn = conn
        self.feed = feed

    def refresh(self, job: UploadJob) -> list[str]:
        """Recount the stores this upload changed."""
        if job.upload_id is None:
            return []
        stores = self.feed.stores()
        self.conn.executemany(
            "INSERT INTO store_stats (store, items, out_of_stock, low_stock, upload_id)"
            " SELECT :store,"
            # A store record covers every item of its store: no walk of its rows.
            " coalesce((SELECT items FROM store_records WHERE store = :store),"
            "  (SELECT count(*) FROM inventory_main WHERE store = :store)),"
            " (SELECT count(*) FROM alerts WHERE store = :store AND kind = 'out_of_stock'"
            "  AND resolved_at IS NULL),"
            " (SELECT count(*) FROM alerts WHERE store = :store AND kind = 'low_stock'"
            "  AND resolved_at IS NULL),"
            " :upload"
            " ON CONFLICT (store) DO UPDATE SET items = excluded.items,"
            " out_of_stock = excluded.out_of_stock, low_stock = excluded.low_stock,"
            " upload_id = excluded.upload_id",
            [{"store": store, "upload": job.upload_id} for store in stores],
        )
        return stores


class SqliteDemand:
    """Items' dated counts as the upload's transaction sees them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[tuple[float, int]]]:
        return queries.forecast_points(self.conn, keys, days)

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
        return figures.figures_of(self.conn, keys)


class SqliteUnitOfWork:
    """One ``BEGIN IMMEDIATE`` transaction; events are told to listeners after COMMIT."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        objects: FolderObjectStore,
        limits: Limits,
        channel_names: Sequence[str],
        emit: Emit,
        arrivals: Arrivals | None = None,
    ) -> None:
        self.conn = conn
        self.limits = limits
        self.emit = emit
        self.later: list[tuple[str, Any]] = []
        self.uploads = SqliteUploads(conn, emit, self.later, arrivals)
        self.objects = SqliteObjects(objects)
        self.inventory = SqliteInventory(conn, self.objects, limits)
        self.feed = SqliteChangeFeed(conn)
        self.figures = SqliteStoreFigures(conn, self.feed)
        self.thresholds = SqliteThresholds(conn)
        self.alerts = SqliteAlerts(conn)
        self.outbox = SqliteOutbox(conn, channel_names)
        self.demand = SqliteDemand(conn)
        self.orders = SqliteOrderBook(conn)  # read only here: inside the upload's transaction
        self._open = False

    def __enter__(self) -> SqliteUnitOfWork:
        self.conn.execute("BEGIN IMMEDIATE")
        self._open = True
        self.later.clear()
        self.feed.begin()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._open:
            self.rollback()

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self._open = False
        events, self.later[:] = list(self.later), []
        for kind, data in events:
            self.emit(kind, data)

    def rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (a full disk): nothing to undo.
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self._open = False
        self.later.clear()


__all__ = ["SqliteUnitOfWork", "UploadRecord"]
