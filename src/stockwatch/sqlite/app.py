"""The embedded pipeline: receive a file, load it, raise its alerts, queue its digest.

Loading, alerting and queueing the digest of one upload happen in one SQLite transaction.
A crash therefore leaves an upload either untouched (it is still ``queued`` or
``processing`` and ``process_pending`` redoes it) or complete — never half-applied, and
never with alerts that no notification will ever mention.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockwatch.core.alert_rules import evaluate_changes
from stockwatch.core.digest import compose_digest
from stockwatch.core.limits import Limits
from stockwatch.core.loading import ReadSummary, finish_report, load_chunks, unique_chunks
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.ports import StoredObject
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.core.report import UploadReport
from stockwatch.core.thresholds import Threshold, Thresholds
from stockwatch.sqlite.database import DATABASE_NAME, DataDirError, connect, transaction, utc_now
from stockwatch.sqlite.inventory_table import SqliteInventoryWriter
from stockwatch.sqlite.object_store import FolderObjectStore, ObjectTooLarge, safe_filename
from stockwatch.sqlite.readahead import READ_AHEAD_MIN_BYTES, ReadAhead, StagedChunkWriter

FINISHED = ("loaded", "loaded_with_errors", "rejected")
REPORTED_ALERTS = 1000
ALERT_BATCH = 2000

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class UploadRecord:
    id: int
    filename: str
    object_key: str
    size: int
    sha256: str
    strict: bool
    status: str
    received_at: str
    finished_at: str | None
    report: UploadReport | None

    def to_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "id": self.id,
            "file": self.filename,
            "status": self.status,
            "size": self.size,
            "sha256": self.sha256,
            "received_at": self.received_at,
            "finished_at": self.finished_at,
        }
        if self.report is not None:
            summary.update(
                {k: v for k, v in self.report.to_json().items() if k.startswith("rows_")}
            )
        return summary


def load_thresholds(conn: sqlite3.Connection) -> Thresholds:
    return Thresholds(
        Threshold(s, i, m)
        for s, i, m in conn.execute("SELECT store, item, minimum FROM thresholds")
    )


class EmbeddedStockwatch:
    """stockwatch on one machine: a data directory with ``stockwatch.db`` and ``objects/``."""

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
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataDirError(
                f"cannot create the data directory {data_dir}: {exc.strerror}"
            ) from None
        self.objects = FolderObjectStore(data_dir / "objects")
        self.conn = connect(data_dir / DATABASE_NAME)

    def close(self) -> None:
        self.conn.close()

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        """Tell listeners (the live dashboard) after a change has been committed."""
        for listener in self.listeners:
            listener(kind, data)

    # -- receiving -------------------------------------------------------------------------

    def receive(self, filename: str, source: Readable, strict: bool = False) -> int:
        """Keep the file exactly as received and queue it; the id is its version."""
        name = safe_filename(filename)
        stored = self.objects.put(self.objects.new_key(name), source, self.limits.max_file_bytes)
        return self.register(name, stored, strict)

    def register(self, filename: str, stored: StoredObject, strict: bool = False) -> int:
        """Queue a file already kept in the object store."""
        name = safe_filename(filename)
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO uploads (filename, object_key, size, sha256, strict, status,"
                " received_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                (name, stored.key, stored.size, stored.sha256, int(strict), utc_now()),
            )
        assert cursor.lastrowid is not None
        self._emit("upload", {"id": cursor.lastrowid, "file": name, "status": "queued"})
        return cursor.lastrowid

    # -- processing ------------------------------------------------------------------------

    def pending_uploads(self) -> list[int]:
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
        record = self.upload(upload_id)
        if record is None:
            raise KeyError(upload_id)
        if record.status in FINISHED and record.report is not None:
            return record.report
        self.conn.execute(
            "UPDATE uploads SET status = 'processing', started_at = ?, attempts = attempts + 1"
            " WHERE id = ?",
            (utc_now(), upload_id),
        )
        self._emit("upload", {"id": upload_id, "file": record.filename, "status": "processing"})
        started = time.perf_counter()
        with transaction(self.conn):
            path = self.objects.path_of(record.object_key)
            try:
                source = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                report = UploadReport(record.filename, upload_id)
                report.message = f"the stored file {record.object_key} is missing"
            else:
                with source:
                    report = self._load_and_alert(
                        source, record.filename, upload_id, record.strict, on_progress, path=path
                    )
            report.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
            report.settle_status()
            self.conn.execute(
                "UPDATE uploads SET status = ?, finished_at = ?, report = ? WHERE id = ?",
                (report.status, utc_now(), json.dumps(report.to_json()), upload_id),
            )
        summary = {k: v for k, v in report.to_json().items() if k not in ("errors", "alerts")}
        self._emit("upload", {"id": upload_id, **summary})
        if report.stores:
            self._emit("stock", {"upload_id": upload_id, "stores": report.stores[:100]})
        if report.alerts_total:
            self._emit("alerts", {"upload_id": upload_id, "raised": report.alerts_total})
        return report

    def validate(
        self,
        filename: str,
        source: Readable,
        strict: bool = False,
        on_progress: ProgressCallback | None = None,
        path: Path | None = None,
    ) -> UploadReport:
        """Report what ingesting the file would do, then roll it all back."""
        started = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = self.conn.execute(
                "SELECT coalesce(max(id), 0) + 1 FROM uploads"
            ).fetchone()
            report = self._load_and_alert(
                source, filename, None, strict, on_progress, version, path
            )
        finally:
            self.conn.execute("ROLLBACK")
        report.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        report.settle_status()
        return report

    def _load_and_alert(
        self,
        source: Readable,
        filename: str,
        upload_id: int | None,
        strict: bool,
        on_progress: ProgressCallback | None,
        version: int | None = None,
        path: Path | None = None,
    ) -> UploadReport:
        conn = self.conn
        version = upload_id if version is None else version
        assert version is not None
        report = UploadReport(filename, upload_id)
        now = utc_now()
        (start_seq,) = conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()
        loading = time.perf_counter()
        conn.execute("SAVEPOINT load")
        try:
            self._load(source, path, version, report, on_progress)
        except FileRejected as exc:
            conn.execute("ROLLBACK TO load")
            report = UploadReport(filename, upload_id, message=exc.message)
        else:
            if strict and report.rows_rejected:
                conn.execute("ROLLBACK TO load")
                report.reject_for_strict()
        finally:
            conn.execute("RELEASE load")
        report.timings_ms["load"] = round((time.perf_counter() - loading) * 1000, 1)
        alerting = time.perf_counter()
        if report.message is None:
            self._raise_alerts(report, version, start_seq, now)
            if upload_id is not None:
                report.stores = self._refresh_store_stats(start_seq, upload_id)
        report.timings_ms["alerts"] = round((time.perf_counter() - alerting) * 1000, 1)
        return report

    def _load(
        self,
        source: Readable,
        path: Path | None,
        version: int,
        report: UploadReport,
        on_progress: ProgressCallback | None,
    ) -> None:
        """Load in this process, or with a read-ahead process when the file is large."""
        if path is not None and path.stat().st_size >= self.read_ahead_min_bytes:
            ahead = ReadAhead(path, self.limits, on_progress)
            repeats = load_chunks(ahead.chunks(), StagedChunkWriter(self.conn), version, report)
            summary = ahead.summary
        else:
            inventory = InventoryFile(source, self.limits, on_progress)
            writer = SqliteInventoryWriter(self.conn)
            repeats = load_chunks(unique_chunks(inventory), writer, version, report)
            summary = ReadSummary.of(inventory)
        finish_report(report, summary, repeats, self.limits.max_errors_reported)

    def _raise_alerts(self, report: UploadReport, version: int, start_seq: int, now: str) -> None:
        conn = self.conn
        thresholds = load_thresholds(conn)
        bound = thresholds.candidate_bound()
        if bound == 0:  # no thresholds: only changes to or from zero matter
            cursor = conn.execute(
                "SELECT store, item, old_count, new_count FROM changes"
                " WHERE seq > ? AND (new_count = 0 OR old_count = 0) ORDER BY seq",
                (start_seq,),
            )
        else:
            cursor = conn.execute(
                "SELECT store, item, old_count, new_count FROM changes"
                " WHERE seq > ? AND (new_count <= ? OR old_count <= ?) ORDER BY seq",
                (start_seq, bound, bound),
            )
        kept: list[AlertDecision] = []
        counts: dict[str, int] = {}
        while batch := cursor.fetchmany(ALERT_BATCH):
            changes = [StockChange(s, i, old, new, version) for s, i, old, new in batch]
            decisions = evaluate_changes(changes, thresholds, self._open_alerts(changes))
            self._record_alerts(decisions, version, now)
            for d in decisions:
                if d.action == "raise":
                    counts[d.kind] = counts.get(d.kind, 0) + 1
                    if len(kept) < REPORTED_ALERTS:
                        kept.append(d)
        report.alerts = [
            {
                "kind": d.kind,
                "store": d.store,
                "item": d.item,
                "count": d.count,
                "minimum": d.minimum,
            }
            for d in kept
        ]
        report.alerts_total = sum(counts.values())
        if report.upload_id is None:
            return
        digest = compose_digest(
            {"id": report.upload_id, "file": report.file}, kept, kind_counts=counts
        )
        if digest is None:
            return
        conn.executemany(
            "INSERT OR IGNORE INTO outbox (upload_id, channel, payload, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (report.upload_id, name, json.dumps(digest.to_json()), now, now)
                for name in self.channel_names
            ],
        )

    def _refresh_store_stats(self, start_seq: int, upload_id: int) -> list[str]:
        """Recount the stores this upload changed; returns their names."""
        stores = [
            s
            for (s,) in self.conn.execute(
                "SELECT DISTINCT store FROM changes WHERE seq > ?", (start_seq,)
            )
        ]
        self.conn.executemany(
            "INSERT INTO store_stats (store, items, out_of_stock, low_stock, upload_id)"
            " SELECT :store,"
            " (SELECT count(*) FROM inventory WHERE store = :store),"
            " (SELECT count(*) FROM alerts WHERE store = :store AND kind = 'out_of_stock'"
            "  AND resolved_at IS NULL),"
            " (SELECT count(*) FROM alerts WHERE store = :store AND kind = 'low_stock'"
            "  AND resolved_at IS NULL),"
            " :upload"
            " ON CONFLICT (store) DO UPDATE SET items = excluded.items,"
            " out_of_stock = excluded.out_of_stock, low_stock = excluded.low_stock,"
            " upload_id = excluded.upload_id",
            [{"store": store, "upload": upload_id} for store in stores],
        )
        return stores

    def _open_alerts(self, changes: Sequence[StockChange]) -> dict[tuple[str, str], set[str]]:
        keys = json.dumps([[c.store, c.item] for c in changes])
        found: dict[tuple[str, str], set[str]] = {}
        for store, item, kind in self.conn.execute(
            "SELECT a.store, a.item, a.kind FROM json_each(?) AS k JOIN alerts AS a"
            " ON a.store = k.value ->> 0 AND a.item = k.value ->> 1 AND a.resolved_at IS NULL",
            (keys,),
        ):
            found.setdefault((store, item), set()).add(kind)
        return found

    def _record_alerts(self, decisions: Sequence[AlertDecision], version: int, now: str) -> None:
        raised = [
            (
                d.kind,
                d.store,
                d.item,
                d.count,
                d.minimum,
                version,
                now,
                None if d.opens else now,
                None if d.opens else version,
            )
            for d in decisions
            if d.action == "raise"
        ]
        resolved = [
            (now, version, d.store, d.item, d.kind) for d in decisions if d.action == "resolve"
        ]
        self.conn.executemany(
            "UPDATE alerts SET resolved_at = ?, resolved_by_upload = ?"
            " WHERE store = ? AND item = ? AND kind = ? AND resolved_at IS NULL",
            resolved,
        )
        self.conn.executemany(
            "INSERT INTO alerts (kind, store, item, count, minimum, upload_id, raised_at,"
            " resolved_at, resolved_by_upload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            raised,
        )

    # -- reading ---------------------------------------------------------------------------

    def upload(self, upload_id: int) -> UploadRecord | None:
        row = self.conn.execute(
            "SELECT id, filename, object_key, size, sha256, strict, status, received_at,"
            " finished_at, report FROM uploads WHERE id = ?",
            (upload_id,),
        ).fetchone()
        return None if row is None else _record(row)

    def uploads(self, limit: int = 50, before: int | None = None) -> list[UploadRecord]:
        rows = self.conn.execute(
            "SELECT id, filename, object_key, size, sha256, strict, status, received_at,"
            " finished_at, report FROM uploads WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
        return [_record(r) for r in rows]


def _record(row: tuple[Any, ...]) -> UploadRecord:
    report = UploadReport.from_json(json.loads(row[9])) if row[9] else None
    return UploadRecord(
        row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7], row[8], report
    )


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
