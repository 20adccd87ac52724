"""What makes the SQLite unit of work a judging one (``service.ports.JudgingUnitOfWork``):
the change feed of this upload, the alerts and the outbox, all in its transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from stockwatch.core.alert_rules import OpenAlerts
from stockwatch.core.clock import utc_now
from stockwatch.core.digest import Digest
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.mutes import Mutes, active
from stockwatch.core.subscriptions import Subscription
from stockwatch.sqlite import queries
from stockwatch.sqlite.item_details import MINIMUMS_SET
from stockwatch.sqlite.subscriptions import all_subscriptions

ALERT_BATCH = 2000  # changes judged together


class SqliteChangeFeed:
    """The ``changes`` rows written since the unit of work began."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.start_seq = 0

    def begin(self) -> None:
        (self.start_seq,) = self.conn.execute(
            "SELECT coalesce(max(seq), 0) FROM changes"
        ).fetchone()
        self.conn.execute(MINIMUMS_SET)
        self.conn.execute("DELETE FROM temp.minimums_set")

    def candidates(self, bound: int, with_cover: bool = False) -> Iterator[list[StockChange]]:
        # The SQL twin of core.alert_rules.is_candidate (tests/unit checks they agree). With
        # no thresholds the bound is 0, and "<= 0" (oversold counts are out of stock too)
        # lets SQLite use the partial index on counts at or below zero (migration 0019).
        if bound == 0:
            cursor = self.conn.execute(
                "SELECT store, item, old_count, new_count, upload_id FROM changes"
                " WHERE seq > ? AND (new_count <= 0 OR old_count <= 0) ORDER BY seq",
                (self.start_seq,),
            )
        else:
            cursor = self.conn.execute(
                "SELECT store, item, old_count, new_count, upload_id FROM changes"
                " WHERE seq > ? AND (new_count <= ? OR old_count <= ?) ORDER BY seq",
                (self.start_seq, bound, bound),
            )
        yield from self._batches(cursor, with_cover)
        # Items whose minimum this upload's file set while their count stayed: each judged
        # as a change from its count to itself, as a threshold change judges what it covers.
        cursor = self.conn.execute(
            "SELECT m.store, m.item, i.count, i.count, i.upload_id FROM temp.minimums_set AS m"
            " JOIN inventory AS i ON i.store = m.store AND i.item = m.item"
            " WHERE NOT EXISTS (SELECT 1 FROM changes AS c WHERE c.tier IN (0, 1)"
            " AND c.store = m.store AND c.item = m.item AND c.seq > ?)",
            (self.start_seq,),
        )
        yield from self._batches(cursor, with_cover)

    def _batches(self, cursor: sqlite3.Cursor, with_cover: bool) -> Iterator[list[StockChange]]:
        while batch := cursor.fetchmany(ALERT_BATCH):
            changes = [StockChange(s, i, old, new, u) for s, i, old, new, u in batch]
            yield queries.with_covers(self.conn, changes) if with_cover else changes

    def stores(self) -> list[str]:
        # NOT INDEXED: a walk of this upload's rows by seq, not of the whole item index.
        rows = self.conn.execute(
            "SELECT DISTINCT store FROM changes NOT INDEXED WHERE seq > ?"
            " UNION SELECT store FROM temp.minimums_set",
            (self.start_seq,),
        )
        return [s for (s,) in rows]


class SqliteAlerts:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def open_alerts(self, changes: Sequence[StockChange]) -> OpenAlerts:
        keys = json.dumps([[c.store, c.item] for c in changes])
        found: dict[tuple[str, str], set[str]] = {}
        for store, item, kind in self.conn.execute(
            "SELECT a.store, a.item, a.kind FROM json_each(?) AS k JOIN alerts AS a"
            " ON a.store = k.value ->> 0 AND a.item = k.value ->> 1 AND a.resolved_at IS NULL",
            (keys,),
        ):
            found.setdefault((store, item), set()).add(kind)
        return found

    def mutes(self, now: str) -> Mutes:
        rows = self.conn.execute("SELECT store, item, until FROM mutes WHERE until > ?", (now,))
        return active(list(rows), now)

    def record(
        self, decisions: Sequence[AlertDecision], upload: Any, now: str
    ) -> list[AlertDecision]:
        """Within the upload's transaction every decision takes effect."""
        raised = [
            (
                d.kind,
                d.store,
                d.item,
                d.count,
                d.minimum,
                upload,
                now,
                None if d.opens else now,
                None if d.opens else upload,
                d.days_of_cover,
            )
            for d in decisions
            if d.action == "raise"
        ]
        resolved = [
            (now, upload, d.store, d.item, d.kind) for d in decisions if d.action == "resolve"
        ]
        self.conn.executemany(
            "UPDATE alerts SET resolved_at = ?, resolved_by_upload = ?"
            " WHERE store = ? AND item = ? AND kind = ? AND resolved_at IS NULL",
            resolved,
        )
        self.conn.executemany(
            "INSERT INTO alerts (kind, store, item, count, minimum, upload_id, raised_at,"
            " resolved_at, resolved_by_upload, days_of_cover)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            raised,
        )
        return list(decisions)


class SqliteOutbox:
    def __init__(self, conn: sqlite3.Connection, channel_names: Sequence[str]) -> None:
        self.conn = conn
        self.channel_names = tuple(channel_names)

    def queue(self, upload_id: int | str, digest: Digest) -> None:
        now = utc_now()
        self.conn.executemany(
            "INSERT OR IGNORE INTO outbox (upload_id, channel, payload, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (upload_id, name, json.dumps(digest.to_json()), now, now)
                for name in self.channel_names
            ],
        )

    def subscriptions(self) -> list[Subscription]:
        return all_subscriptions(self.conn)

    def queue_to(self, upload_id: int | str, subscription: Subscription, digest: Digest) -> None:
        now = utc_now()
        self.conn.execute(
            "INSERT OR IGNORE INTO outbox (upload_id, channel, payload, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            (upload_id, subscription.channel_name, json.dumps(digest.to_json()), now, now),
        )
