"""Upload rows as records: what ``uploads`` holds for one upload, its report decoded."""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from typing import Any

from stockwatch.core.report import UploadReport
from stockwatch.service.commands import Upload

# The one column order an upload row is read in (``record_of``).
SELECT_COLUMNS = (
    "id, filename, object_key, size, sha256, strict, status, received_at, finished_at, report,"
    " as_of, snapshot, uploader, scope, reading"
)
_SELECT = "SELECT " + SELECT_COLUMNS + " FROM uploads"  # noqa: S608  # constants only


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
    as_of: str | None = None  # when the counts were taken; None: when it arrived
    snapshot: bool | None = None  # a full snapshot of its stores; None: as each store says
    uploader: str = ""  # who sent it; "" for uploads from before anyone signed in
    scope: frozenset[str] | None = None  # the stores its rows may name; None: any
    reading: dict[str, str] | None = None  # layout, columns, store (``Upload.reading``)

    @property
    def counted_at(self) -> str:
        return self.as_of or self.received_at

    @property
    def command(self) -> Upload:
        """What was asked for when it arrived: the columns mapped back, here only."""
        return Upload(
            self.filename,
            self.strict,
            self.as_of,
            self.snapshot,
            self.uploader,
            self.scope,
            **(self.reading or {}),
        )

    def to_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "id": self.id,
            "file": self.filename,
            "status": self.status,
            "size": self.size,
            "sha256": self.sha256,
            "received_at": self.received_at,
            "as_of": self.counted_at,
            "finished_at": self.finished_at,
            "uploaded_by": self.uploader or None,
            "scope": None if self.scope is None else sorted(self.scope),
        }
        if self.report is not None:
            summary.update(
                {k: v for k, v in self.report.to_json().items() if k.startswith("rows_")}
            )
        return summary


def encode_report(report: UploadReport) -> bytes:
    """A report as stored: JSON, compressed. Most of a big upload's report is its list of
    alerts, which repeats its keys for every one; a year of daily reports shrinks about
    eightfold, and a report is read whole or not at all."""
    return zlib.compress(json.dumps(report.to_json(), separators=(",", ":")).encode(), 6)


def scope_text(scope: frozenset[str] | None) -> str | None:
    return None if scope is None else json.dumps(sorted(scope))


def scope_of(text: str | None) -> frozenset[str] | None:
    return None if text is None else frozenset(json.loads(text))


def reading_text(command: Upload) -> str | None:
    reading = command.reading()
    return json.dumps(reading, sort_keys=True) if reading else None


def reading_of(text: str | None) -> dict[str, str] | None:
    return None if not text else {str(k): str(v) for k, v in json.loads(text).items()}


def decode_report(stored: bytes | str | None) -> UploadReport | None:
    """Compressed, or plain JSON text as versions before 0.3 stored it."""
    if not stored:
        return None
    text = zlib.decompress(stored) if isinstance(stored, bytes) else stored
    return UploadReport.from_json(json.loads(text))


def record_of(row: tuple[Any, ...]) -> UploadRecord:
    """A row of ``SELECT_COLUMNS`` (from ``uploads``, or ``arrivals`` shown as queued)."""
    report = decode_report(row[9])
    return UploadRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        bool(row[5]),
        row[6],
        row[7],
        row[8],
        report,
        row[10],
        None if row[11] is None else bool(row[11]),
        row[12] or "",
        scope_of(row[13]),
        reading_of(row[14]),
    )


def fetch_upload(conn: sqlite3.Connection, upload_id: int) -> UploadRecord | None:
    row = conn.execute(_SELECT + " WHERE id = ?", (upload_id,)).fetchone()
    return None if row is None else record_of(row)


def fetch_uploads(
    conn: sqlite3.Connection, limit: int = 50, before: int | None = None
) -> list[UploadRecord]:
    rows = conn.execute(
        _SELECT + " WHERE id < ? ORDER BY id DESC LIMIT ?",
        (before if before is not None else 2**62, limit),
    )
    return [record_of(r) for r in rows]
