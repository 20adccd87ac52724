"""What the web app needs beside the backend, made by ``bootstrap`` for each runtime.

The routes are written once over the ``service.backend.Backend``; what differs between
``stockwatch serve`` and the API behind API Gateway is stated here, as data, instead of
being probed on the backend: live events and Prometheus metrics exist only where responses
can stay open, signed S3 forms only where there is a bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stockwatch.service.commands import Upload
from stockwatch.web.events import EventBus
from stockwatch.web.metrics import Metrics


def _never() -> bool:
    return False


@dataclass
class WebCapabilities:
    # The shared token (signs in as the admin); None: only users' own tokens.
    token: str | None
    # The largest upload body taken (the backend's limit, or less behind API Gateway).
    max_body_bytes: int
    # What an upload id looks like, so a bad one is 422 before any lookup.
    upload_id_pattern: str
    # Host names answered for; None: any (behind API Gateway, which checks them).
    allowed_hosts: frozenset[str] | None = None
    # Live events for ``/api/events``; None where responses cannot stay open.
    bus: EventBus | None = None
    # Prometheus metrics for ``/metrics``; None where metrics go elsewhere.
    metrics: Metrics | None = None
    # A signed form to send a file straight to storage (``POST /api/uploads/form``).
    presign: Callable[[Upload], dict[str, Any]] | None = None
    # True while nobody signs in: loopback, with no token and no users.
    open_access: Callable[[], bool] = _never
