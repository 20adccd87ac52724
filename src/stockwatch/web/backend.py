"""What the web app needs from a backend, so one app serves SQLite and DynamoDB alike.

The routes, their validation and their response shapes live in ``web/api.py`` once. A
backend gives a ``ReadModel`` (the dashboard's queries, in plain dicts) and a way to take
an upload in; the embedded backend adds live events and Prometheus metrics, which a Lambda
behind API Gateway cannot offer (no long-lived responses, metrics go to CloudWatch).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Request

from stockwatch.core.access import Principal
from stockwatch.core.limits import Limits
from stockwatch.service.reads import ReadModel, UploadIdError
from stockwatch.service.subscriptions import SubscriptionStore
from stockwatch.service.users import UserDirectory
from stockwatch.web.events import EventBus
from stockwatch.web.metrics import Metrics


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

    async def open_access(self) -> bool:
        """True where nobody signs in: loopback, with no token and no users."""
        ...

    def directory(self) -> UserDirectory:
        """Users and the audit trail."""
        ...

    def subscriptions(self) -> SubscriptionStore:
        """Who hears about which alerts (``service.subscriptions``)."""
        ...

    async def authenticate(self, given: str | None) -> Principal | None:
        """Who the token signs in as (``service.users.authenticate``), or None."""
        ...

    async def confirm(self, upload_id: str) -> dict[str, Any]:
        """Apply a held snapshot: its report, or ``processing`` where it is handed on."""
        ...

    async def discard(self, upload_id: str, by: str) -> dict[str, Any]: ...

    async def set_snapshot_default(self, store: str, snapshot: bool) -> None: ...

    async def accept_upload(
        self,
        request: Request,
        strict: bool,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> str:
        """Keep the request's file and queue it; returns the upload id to poll. The
        uploader and the stores its rows may name go with it, to be checked as it is read."""
        ...


__all__ = ["ReadModel", "UploadIdError", "WebBackend"]
