"""Reading the stock, alerts, uploads and history: the read model port and its use cases.

The web API, the CLI and the dashboard read through one ``ReadModel``, whichever backend
holds the data; only how a query is answered differs (SQL on one machine, DynamoDB items
and indexes on AWS). Upload ids are opaque here: numbers on one machine, versions and S3
keys on AWS.
"""

from __future__ import annotations

from typing import Any, Protocol

from stockwatch.core.model import RowError
from stockwatch.core.paging import walk_stock
from stockwatch.core.report import UploadReport

# The most rows a listing (CLI, CSV) walks when not told a limit is "all of them".
ALL = 10**9


class UploadIdError(ValueError):
    """The text is not an upload id of this backend."""


class ReadModel(Protocol):
    """The dashboard's reads and the threshold writes, in the API's shapes."""

    def stores(self) -> list[dict[str, Any]]: ...

    def stock_page(
        self,
        store: str | None,
        status: str | None,
        q: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]: ...

    def history(self, store: str, item: str) -> list[dict[str, Any]]: ...

    def alerts(self, open_only: bool, limit: int) -> list[dict[str, Any]]: ...

    def thresholds(self) -> list[dict[str, Any]]: ...

    def set_thresholds(self, entries: list[tuple[str, str, int]]) -> None: ...

    def delete_threshold(self, store: str, item: str) -> bool: ...

    def upload(self, upload_id: str) -> dict[str, Any] | None:
        """The upload's report; raises UploadIdError for text that cannot be an id."""
        ...

    def uploads(self, limit: int, before: str | None) -> list[dict[str, Any]]: ...

    def check(self) -> None:
        """Raise when the store behind the model cannot be reached (for /healthz)."""
        ...


REPORT_KEYS = (
    "rows_loaded",
    "rows_unchanged",
    "rows_superseded",
    "rows_rejected",
    "message",
    "errors",
    "warnings",
    "alerts",
    "alerts_total",
)


def report_fields(report: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of an UploadReport's JSON that the read model shows."""
    if report is None:
        return {}
    return {k: report[k] for k in REPORT_KEYS if k in report}


def report_of(upload: dict[str, Any]) -> UploadReport:
    """An upload as the read model gives it, as a report (for the CLI's text)."""
    return UploadReport(
        upload["file"],
        upload["id"],
        upload["status"],
        rows_loaded=upload.get("rows_loaded", 0),
        rows_unchanged=upload.get("rows_unchanged", 0),
        rows_superseded=upload.get("rows_superseded", 0),
        rows_rejected=upload.get("rows_rejected", 0),
        message=upload.get("message"),
        errors=[RowError(e["line"], e["field"], e["message"]) for e in upload.get("errors", [])],
        warnings=list(upload.get("warnings", [])),
        alerts=list(upload.get("alerts", [])),
        alerts_total=upload.get("alerts_total", 0),
    )


def list_stock(
    model: ReadModel,
    store: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """Every stock row that matches, in (store, item) order, a page at a time."""
    rows = walk_stock(lambda after, n: model.stock_page(store, status, q, after, n), limit)
    return sorted(rows, key=lambda r: (r["store"], r["item"]))


def list_alerts(model: ReadModel, open_only: bool, limit: int | None) -> list[dict[str, Any]]:
    return model.alerts(open_only, limit or ALL)
