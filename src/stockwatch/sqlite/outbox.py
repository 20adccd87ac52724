"""Delivering queued digests: claimed, sent, and retried with backoff until they arrive.

A row is claimed for a short lease before it is sent, so two processes never send the same
notification at once; it is marked sent only after the channel accepted it. A crash between
the two sends it again later, which is why every delivery carries an idempotency key.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stockwatch.core.digest import Digest
from stockwatch.core.ports import AlertChannel, DeliveryError
from stockwatch.core.retry import retry_delay_seconds
from stockwatch.sqlite.database import utc_now

log = logging.getLogger("stockwatch.outbox")
LEASE = timedelta(seconds=60)


def _at(delta: timedelta) -> str:
    moment = datetime.now(UTC) + delta
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


def idempotency_key(upload_id: int, channel: str) -> str:
    return f"stockwatch-upload-{upload_id}-{channel}"


def deliver(
    conn: sqlite3.Connection,
    channels: Mapping[str, AlertChannel],
    *,
    due_only: bool = True,
) -> DeliveryResult:
    """Try every pending notification once (only those due, unless ``due_only`` is False)."""
    result = DeliveryResult()
    now = utc_now()
    sql = "SELECT id, upload_id, channel, payload, attempts FROM outbox WHERE status = 'pending'"
    if due_only:
        sql += " AND next_attempt_at <= :now"
    rows = conn.execute(sql + " ORDER BY id", {"now": now}).fetchall()
    for outbox_id, upload_id, channel_name, payload, attempts in rows:
        claimed = conn.execute(
            "UPDATE outbox SET claimed_until = ? WHERE id = ? AND status = 'pending'"
            " AND (claimed_until IS NULL OR claimed_until < ?)",
            (_at(LEASE), outbox_id, utc_now()),
        ).rowcount
        if not claimed:
            continue
        channel = channels.get(channel_name)
        try:
            if channel is None:
                raise DeliveryError(f"the channel {channel_name!r} is not configured")
            channel.send(
                Digest.from_json(json.loads(payload)), idempotency_key(upload_id, channel_name)
            )
        except DeliveryError as exc:
            delay = retry_delay_seconds(attempts + 1)
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_until = NULL,"
                " next_attempt_at = ? WHERE id = ?",
                (str(exc), _at(timedelta(seconds=delay)), outbox_id),
            )
            result.failed += 1
            result.errors.append(f"{channel_name}: {exc}")
            log.warning("delivery to %s failed, retrying in %.0fs: %s", channel_name, delay, exc)
        else:
            conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL, claimed_until = NULL WHERE id = ?",
                (utc_now(), outbox_id),
            )
            result.sent += 1
    (result.pending,) = conn.execute(
        "SELECT count(*) FROM outbox WHERE status = 'pending'"
    ).fetchone()
    return result
