"""What the web app needs from a backend, so one app serves SQLite and DynamoDB alike.

The routes, their validation and their response shapes live in ``web/api.py`` once. A
backend gives a ``ReadModel`` (the dashboard's queries, in plain dicts) and a way to take
an upload in; the embedded backend adds live events and Prometheus metrics, which a Lambda
behind API Gateway cannot offer (no long-lived responses, metrics go to CloudWatch).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Request

from stockwatch.core.limits import Limits
from stockwatch.web.events import EventBus
from stockwatch.web.metrics import Metrics


class UploadIdError(ValueError):
    """The text is not an upload id of this backend."""


class ReadModel(Protocol):
    """The dashboard's reads and the threshold writes, in the API's shapes.

    Upload ids are opaque to the API: numbers on one machine, S3 keys and versions on AWS.
    """

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

    def upload(self, upload_id: str) -> dict[str, Any] | None:
        """The upload's report; raises UploadIdError for text that cannot be an id."""
        ...

    def uploads(self, limit: int, before: str | None) -> list[dict[str, Any]]: ...

    def check(self) -> None:
        """Raise when the store behind the model cannot be reached (for /healthz)."""
        ...


class WebBackend(Protocol):
    @property
    def limits(self) -> Limits: ...

    @property
    def token(self) -> str | None: ...

    @property
    def bus(self) -> EventBus | None:
        """Live events for ``/api/events``; None where responses cannot stay open."""
        ...

    @property
    def metrics(self) -> Metrics | None:
        """Prometheus metrics for ``/metrics``; None where metrics go elsewhere."""
        ...

    def model(self) -> ReadModel: ...

    async def accept_upload(self, request: Request, strict: bool) -> str:
        """Keep the request's file and queue it; returns the upload id to poll."""
        ...


def report_fields(report: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of an UploadReport's JSON the API shows."""
    if report is None:
        return {}
    keys = (
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
    return {k: report[k] for k in keys if k in report}
