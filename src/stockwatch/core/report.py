"""The report every upload gets: what was loaded, what was rejected and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stockwatch.core.model import RowError

Status = Literal[
    "queued", "processing", "loaded", "loaded_with_errors", "rejected", "needs_confirmation"
]
# An upload in one of these has its report; processing it again changes nothing (a held
# snapshot waits for someone to confirm or discard it: ``service.uploads.confirm_upload``).
FINISHED: tuple[Status, ...] = ("loaded", "loaded_with_errors", "rejected", "needs_confirmation")


@dataclass
class UploadReport:
    file: str
    upload_id: int | str | None = None
    status: Status = "queued"
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_superseded: int = 0
    rows_rejected: int = 0
    message: str | None = None
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alerts_total: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    stores: list[str] = field(default_factory=list)  # stores whose stock changed; not stored
    cost: dict[str, Any] | None = None  # core.cost.Cost.to_json(): requests, time, dollars
    as_of: str | None = None  # when its counts were taken (its arrival unless it said)
    rows_zeroed: int = 0  # a snapshot's known items it left out, set to 0
    zeroed: list[str] = field(default_factory=list)  # "store / item", the first 1,000
    held: bool = False  # a snapshot held for confirmation (``message`` says why)
    uploaded_by: str | None = None  # who sent it; None: unknown (put straight into storage)
    scope: list[str] | None = None  # the stores its rows could name; None: any store
    layout: str | None = None  # how its file was read (``core.layouts``); None: not read
    headers: list[str] | None = None  # a file no layout reads: its columns, to map them
    thresholds_set: int = 0  # low-stock minimums its file set (``core.details``)

    def settle_status(self) -> None:
        """Derive the final status from the counts, so no backend can disagree."""
        accepted = self.rows_loaded + self.rows_unchanged + self.rows_superseded
        if self.held:
            self.status = "needs_confirmation"
        elif self.message is not None or (accepted == 0 and self.rows_rejected > 0):
            self.status = "rejected"
        elif self.rows_rejected:
            self.status = "loaded_with_errors"
        else:
            self.status = "loaded"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "upload_id": self.upload_id,
            "status": self.status,
            "rows_loaded": self.rows_loaded,
            "rows_unchanged": self.rows_unchanged,
            "rows_superseded": self.rows_superseded,
            "rows_rejected": self.rows_rejected,
            "message": self.message,
            "errors": [e.to_json() for e in self.errors],
            "warnings": self.warnings,
            "alerts": self.alerts,
            "alerts_total": self.alerts_total,
            "timings_ms": self.timings_ms,
            "cost": self.cost,
            "as_of": self.as_of,
            "rows_zeroed": self.rows_zeroed,
            "zeroed": self.zeroed,
            "uploaded_by": self.uploaded_by,
            "scope": self.scope,
            "layout": self.layout,
            "headers": self.headers,
            "thresholds_set": self.thresholds_set,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadReport:
        report = cls(
            file=data["file"],
            upload_id=data.get("upload_id"),
            status=data.get("status", "queued"),
            rows_loaded=data.get("rows_loaded", 0),
            rows_unchanged=data.get("rows_unchanged", 0),
            rows_superseded=data.get("rows_superseded", 0),
            rows_rejected=data.get("rows_rejected", 0),
            message=data.get("message"),
            warnings=list(data.get("warnings", [])),
            alerts=list(data.get("alerts", [])),
            alerts_total=data.get("alerts_total", 0),
            timings_ms=dict(data.get("timings_ms", {})),
            cost=data.get("cost"),
            as_of=data.get("as_of"),
            rows_zeroed=data.get("rows_zeroed", 0),
            zeroed=list(data.get("zeroed", [])),
            held=data.get("status") == "needs_confirmation",
            uploaded_by=data.get("uploaded_by"),
            scope=data.get("scope"),
            layout=data.get("layout"),
            headers=data.get("headers"),
            thresholds_set=data.get("thresholds_set", 0),
        )
        report.errors = [
            RowError(e["line"], e["field"], e["message"], e.get("item"))
            for e in data.get("errors", [])
        ]
        return report

    def reject_for_strict(self) -> None:
        """Strict mode: one invalid row rejects the whole file, so nothing of it is loaded."""
        self.rows_loaded = self.rows_unchanged = self.rows_superseded = 0
        self.thresholds_set = 0
        self.message = (
            f"strict mode: the whole file was rejected because {self.rows_rejected:,} "
            f"row{'s are' if self.rows_rejected != 1 else ' is'} invalid"
        )

    def is_failure(self) -> bool:
        return self.rows_rejected > 0 or self.status in ("rejected", "needs_confirmation")
