"""Judging changes: the alert rules over a batch of changes, from a change feed or a stream.

On one machine the changes of an upload are judged inside its transaction; on AWS each
stream record is judged as it comes. Both go through ``judge_changes``, so "an item alerts
when it becomes out of stock or low, once, and resolves when it comes back" is one piece of
code whatever fed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from stockwatch.core.alert_rules import evaluate_changes
from stockwatch.core.clock import utc_now
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.mutes import audible
from stockwatch.core.report import UploadReport
from stockwatch.core.thresholds import Thresholds
from stockwatch.service.ports import Alerts, UploadJob, UploadUnitOfWork
from stockwatch.service.subscriptions import queue_digests

REPORTED_ALERTS = 1000  # alerts listed in a report and a digest; all are counted


def judge_changes(
    alerts: Alerts,
    thresholds: Thresholds,
    changes: Sequence[StockChange],
    upload: Any,
    now: str | None = None,
) -> list[AlertDecision]:
    """Decide and record; returns the decisions that took effect."""
    if not changes:
        return []
    decisions = evaluate_changes(changes, thresholds, alerts.open_alerts(changes))
    return alerts.record(decisions, upload, now or utc_now())


def judge_upload(uow: UploadUnitOfWork, job: UploadJob, report: UploadReport) -> None:
    """Judge what this upload changed; list the alerts on its report and queue its digest."""
    assert uow.feed is not None and uow.alerts is not None
    thresholds = uow.thresholds.load()
    now = utc_now()
    mutes = uow.alerts.mutes(now)
    kept: list[AlertDecision] = []
    heard: list[AlertDecision] = []
    counts: Counter[str] = Counter()
    heard_counts: Counter[str] = Counter()
    for batch in uow.feed.candidates(thresholds.candidate_bound(), thresholds.has_cover):
        for d in judge_changes(uow.alerts, thresholds, batch, job.upload_id, now):
            if d.action != "raise":
                continue
            counts[d.kind] += 1
            if len(kept) < REPORTED_ALERTS:
                kept.append(d)
            if audible([d], mutes):
                heard_counts[d.kind] += 1
                if len(heard) < REPORTED_ALERTS:
                    heard.append(d)
    report.alerts = [d.to_json() for d in kept]
    report.alerts_total = sum(counts.values())
    if job.upload_id is None or uow.outbox is None:
        return  # validating: nothing is sent
    # Muted items are recorded and listed, but left out of what is sent.
    upload = {"id": job.upload_id, "file": report.file}
    queue_digests(uow.outbox, job.upload_id, upload, heard, heard_counts)
