"""Delivering queued digests: claimed, sent, and retried with backoff until they arrive.

A row is claimed for a short lease before it is sent, so two processes never send the same
notification at once; it is marked sent only after the channel accepted it. A crash between
the two sends it again later, which is why every delivery carries an idempotency key.

That window is kept to one small write: the moment a channel accepts, a receipt goes into
``deliveries.db`` beside the main database. Marking the outbox row sent needs the main
database's write lock, which an upload being processed can hold for seconds; the receipt
does not wait for it, and a later run folds receipts into the outbox without sending again.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stockwatch.core.clock import utc_now
from stockwatch.core.digest import Digest
from stockwatch.core.ports import AlertChannel, DeliveryError
from stockwatch.core.retry import retry_delay_seconds
from stockwatch.core.subscriptions import PREFIX, Subscription
from stockwatch.service.backend import Delivery
from stockwatch.sqlite.database import ensure_wal, private_file
from stockwatch.sqlite.subscriptions import subscription_of

log = logging.getLogger("stockwatch.outbox")
LEASE = timedelta(seconds=60)


_CLAIM = (
    "UPDATE outbox SET claimed_until = ?, claimed_by = ? WHERE id = ? AND status = 'pending'"
    " AND (claimed_until IS NULL OR claimed_until < ?)"
)
_MARK_SENT = (
    "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
    " last_error = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'"
)
_TAKE_OVER = (
    "UPDATE outbox SET claimed_until = ?, claimed_by = ? WHERE id = ? AND status = 'pending'"
    " AND claimed_by = ?"
)


def _at(delta: timedelta) -> str:
    moment = datetime.now(UTC) + delta
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def max_retry_delay() -> float:
    """STOCKWATCH_RETRY_MAX_SECONDS: the longest wait between tries (default five minutes)."""
    try:
        return max(1.0, float(os.environ.get("STOCKWATCH_RETRY_MAX_SECONDS", "300")))
    except ValueError:
        return 300.0


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _is_dead(claimed_by: str | None) -> bool:
    """True when the lease holder was a process on this machine that no longer runs."""
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # another thread of this process may be sending it now
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Receipts:
    """Deliveries the channels accepted, in their own small database (see above)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        main = next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main")
        self.conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        if main:  # an in-memory main database keeps no receipts
            path = os.path.join(os.path.dirname(main), "deliveries.db")
            private_file(Path(path))
            # Written from the sending threads, each add under the lock.
            self.conn = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            self.conn.execute("PRAGMA busy_timeout = 30000")
            ensure_wal(self.conn)
            # NORMAL survives a killed process (the case this exists for); a power cut
            # could lose the last receipt, and then the idempotency key covers the repeat.
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS receipts (key TEXT PRIMARY KEY, sent_at TEXT NOT NULL)"
            )

    def keys(self) -> set[str]:
        if self.conn is None:
            return set()
        return {key for (key,) in self.conn.execute("SELECT key FROM receipts")}

    def add(self, key: str) -> None:
        if self.conn is not None:
            with self._lock:
                self.conn.execute(
                    "INSERT OR IGNORE INTO receipts (key, sent_at) VALUES (?, ?)",
                    (key, utc_now()),
                )

    def remove(self, key: str) -> None:
        if self.conn is not None:
            with self._lock:
                self.conn.execute("DELETE FROM receipts WHERE key = ?", (key,))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def idempotency_key(upload_id: int, channel: str) -> str:
    return f"stockwatch-upload-{upload_id}-{channel}"


SubscribedChannel = Callable[[Subscription], AlertChannel]


def _channel(
    conn: sqlite3.Connection,
    channels: Mapping[str, AlertChannel],
    name: str,
    subscribed: SubscribedChannel | None,
) -> AlertChannel | None:
    if not name.startswith(PREFIX):
        return channels.get(name)
    subscription = subscription_of(conn, name)
    if subscription is None:
        raise DeliveryError(f"subscription {name[len(PREFIX) :]} was deleted")
    if subscribed is None:
        raise DeliveryError("subscriptions are not delivered here")
    return subscribed(subscription)


def deliver(
    conn: sqlite3.Connection,
    channels: Mapping[str, AlertChannel],
    *,
    due_only: bool = True,
    subscribed: SubscribedChannel | None = None,
) -> Delivery:
    """Try every pending notification once (only those due, unless ``due_only`` is False).

    A row for a subscription (channel ``sub:<id>``) is sent through ``subscribed``, which
    makes that subscription's channel; the guarantees are the same as for any channel."""
    result = Delivery()
    now = utc_now()
    sql = (
        "SELECT id, upload_id, channel, payload, attempts, claimed_by, created_at FROM outbox"
        " WHERE status = 'pending'"
    )
    if due_only:
        sql += " AND next_attempt_at <= :now"
    rows = conn.execute(sql + " ORDER BY id", {"now": now}).fetchall()
    if rows:  # the workers poll often; most polls find nothing and open nothing
        receipts = Receipts(conn)
        try:
            _deliver_rows(conn, channels, rows, receipts, owner(), result, subscribed)
        finally:
            receipts.close()
    (result.pending,) = conn.execute(
        "SELECT count(*) FROM outbox WHERE status = 'pending'"
    ).fetchone()
    return result


def _deliver_rows(
    conn: sqlite3.Connection,
    channels: Mapping[str, AlertChannel],
    rows: list[tuple[int, int, str, str, int, str | None, str]],
    receipts: Receipts,
    me: str,
    result: Delivery,
    subscribed: SubscribedChannel | None = None,
) -> None:
    """Claim the rows here, send them one thread per channel (so a slow or dead target never
    delays another), then record each outcome here: the database is this thread's."""
    accepted = receipts.keys()
    by_channel: dict[str, list[_Claimed]] = {}
    for outbox_id, upload_id, channel_name, payload, attempts, claimed_by, created in rows:
        key = idempotency_key(upload_id, channel_name)
        receipt = f"{key} {created}"  # the creation time: a database made anew reuses ids
        if receipt in accepted:  # sent before, by a process stopped before it could mark it
            conn.execute(_MARK_SENT, (utc_now(), outbox_id))
            receipts.remove(receipt)
            result.sent += 1
            continue
        if _is_dead(claimed_by):
            claimed = conn.execute(_TAKE_OVER, (_at(LEASE), me, outbox_id, claimed_by))
        else:
            claimed = conn.execute(_CLAIM, (_at(LEASE), me, outbox_id, utc_now()))
        if not claimed.rowcount:
            continue
        problem = f"the channel {channel_name!r} is not configured"
        try:
            channel: AlertChannel | None = _channel(conn, channels, channel_name, subscribed)
        except DeliveryError as exc:
            channel, problem = None, str(exc)
        by_channel.setdefault(channel_name, []).append(
            _Claimed(outbox_id, channel_name, payload, key, receipt, attempts, channel, problem)
        )
    if not by_channel:
        return
    with ThreadPoolExecutor(max_workers=min(len(by_channel), MAX_PARALLEL)) as pool:
        outcomes = [o for done in pool.map(_send_all(receipts), by_channel.values()) for o in done]
    for claimed_row, error in outcomes:
        if error is None:
            conn.execute(_MARK_SENT, (utc_now(), claimed_row.outbox_id))
            receipts.remove(claimed_row.receipt)  # the outbox says it now
            result.sent += 1
            continue
        delay = retry_delay_seconds(claimed_row.attempts + 1, cap=max_retry_delay())
        conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_until = NULL,"
            " next_attempt_at = ? WHERE id = ?",
            (error, _at(timedelta(seconds=delay)), claimed_row.outbox_id),
        )
        result.failed += 1
        result.errors.append(f"{claimed_row.channel_name}: {error}")
        log.warning(
            "delivery to %s failed, retrying in %.0fs: %s", claimed_row.channel_name, delay, error
        )


# Targets sent to at once; the rest of a pass waits for a free one.
MAX_PARALLEL = 8


@dataclass
class _Claimed:
    outbox_id: int
    channel_name: str
    payload: str
    key: str
    receipt: str
    attempts: int
    channel: AlertChannel | None
    problem: str | None  # why it cannot be sent at all (no such channel, a deleted one)


def _send_all(
    receipts: Receipts,
) -> Callable[[list[_Claimed]], list[tuple[_Claimed, str | None]]]:
    def send_all(claimed: list[_Claimed]) -> list[tuple[_Claimed, str | None]]:
        """One channel's rows in order; each outcome is None (accepted) or the error."""
        done: list[tuple[_Claimed, str | None]] = []
        for row in claimed:
            if row.channel is None:
                done.append((row, row.problem or "no channel"))
                continue
            try:
                row.channel.send(Digest.from_json(json.loads(row.payload)), row.key)
            except Exception as exc:  # any failure of one channel is that delivery's, retried
                if not isinstance(exc, DeliveryError):
                    log.exception("channel %s failed on a digest", row.channel_name)
                done.append((row, str(exc) or type(exc).__name__))
            else:
                receipts.add(row.receipt)  # the moment it was accepted, before anything else
                done.append((row, None))
        return done

    return send_all
