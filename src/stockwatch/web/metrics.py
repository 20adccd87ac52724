"""Prometheus metrics, all prefixed ``stockwatch_``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.uploads = Counter(
            "stockwatch_uploads",
            "Uploads processed, by final status",
            ["status"],
            registry=self.registry,
        )
        self.rows = Counter(
            "stockwatch_rows", "Rows processed, by outcome", ["outcome"], registry=self.registry
        )
        self.rejected_rows = Counter(
            "stockwatch_rejected_rows", "Rows rejected as invalid", registry=self.registry
        )
        self.alerts = Counter("stockwatch_alerts", "Alerts raised", registry=self.registry)
        self.notification_failures = Counter(
            "stockwatch_notification_failures",
            "Failed notification deliveries",
            ["channel"],
            registry=self.registry,
        )
        self.signins_throttled = Counter(
            "stockwatch_signins_throttled",
            "Failed sign-ins answered 429 (a client trying bad tokens)",
            registry=self.registry,
        )
        self.processing = Histogram(
            "stockwatch_processing_seconds",
            "Time to process one upload",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )

    def observe(self, kind: str, data: dict[str, Any]) -> None:
        """A pipeline listener: counts finished uploads."""
        if kind != "upload" or data.get("status") in ("queued", "processing"):
            return
        self.uploads.labels(data["status"]).inc()
        self.rows.labels("loaded").inc(data.get("rows_loaded", 0))
        self.rows.labels("unchanged").inc(data.get("rows_unchanged", 0))
        self.rows.labels("superseded").inc(data.get("rows_superseded", 0))
        self.rejected_rows.inc(data.get("rows_rejected", 0))
        self.alerts.inc(data.get("alerts_total", 0))
        total_ms = data.get("timings_ms", {}).get("total")
        if total_ms is not None:
            self.processing.observe(total_ms / 1000)
