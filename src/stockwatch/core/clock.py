"""The one clock: UTC, milliseconds, ``Z`` — sortable as text, the same on both backends."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
