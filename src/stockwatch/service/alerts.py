"""Judging changes: the alert rules over a batch of changes, from a change feed or a stream.

On one machine the changes of an upload are judged inside its transaction; on AWS each
stream record is judged as it comes. Both go through ``judge_changes``, so "an item alerts
when it becomes out of stock or low, once, and resolves when it comes back" is one piece of
code whatever fed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from stockwatch.core.alert_rules import evaluate_changes
from stockwatch.core.clock import utc_now
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.mutes import Mutes, audible
from stockwatch.core.report import UploadReport
from stockwatch.core.thresholds import Thresholds
from stockwatch.service.ports import Alerts, JudgingUnitOfWork, UploadJob
from stockwatch.service.replenishment import order_notes
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


def judge_upload(uow: JudgingUnitOfWork, job: UploadJob, report: UploadReport) -> None:
    """Judge what this upload changed; list the alerts on its report and queue its digest."""
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
    if job.upload_id is None:
        return  # validating: nothing is sent
    # Muted items are recorded and listed, but left out of what is sent.
    upload = {"id": job.upload_id, "file": report.file}
    notes = order_notes(uow.demand, uow.orders, heard)
    queue_digests(uow.outbox, job.upload_id, upload, heard, heard_counts, notes)


class Notice(Protocol):
    """A raised alert waiting to be told (on AWS, one per stream record it came from)."""

    @property
    def decision(self) -> AlertDecision: ...


N = TypeVar("N", bound=Notice)


class Notifier(Protocol[N]):
    def publish(self, notices: list[N]) -> dict[str, str] | None:
        """Send the notices, one message per store; the stores whose send failed, with the
        error, or None where nothing can be sent (no topic): they all stay untold."""
        ...

    def mark_notified(self, notices: Iterable[N]) -> None: ...


@dataclass
class Told(Generic[N]):
    sent: list[N] = field(default_factory=list)
    quiet: list[N] = field(default_factory=list)  # muted: recorded, marked, never sent
    failed: dict[str, str] = field(default_factory=dict)  # store -> error: retried


def tell(notifier: Notifier[N], notices: Sequence[N], mutes: Mutes) -> Told[N]:
    """Tell what was raised, once: a muted item's alerts are marked told but left out of
    what is sent; the rest go out one message per store, and a store whose send failed
    keeps its alerts untold, for the retry. CheckStock and a threshold change on AWS both
    tell through this (on one machine the outbox does, in ``judge_upload``)."""
    told: Told[N] = Told()
    heard: list[N] = []
    for notice in notices:
        (heard if audible([notice.decision], mutes) else told.quiet).append(notice)
    if told.quiet:
        notifier.mark_notified(told.quiet)
    if not heard:
        return told
    failed = notifier.publish(heard)
    if failed is None:
        return told
    told.failed = failed
    told.sent = [n for n in heard if n.decision.store not in failed]
    notifier.mark_notified(told.sent)
    return told
