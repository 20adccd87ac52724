"""A threshold change on one machine: one transaction, its digest queued in the outbox."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from stockwatch.core.digest import Digest
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.thresholds import WILDCARD
from stockwatch.service.subscriptions import queue_digests
from stockwatch.sqlite import queries
from stockwatch.sqlite.judging import ALERT_BATCH, SqliteAlerts, SqliteOutbox
from stockwatch.sqlite.unit_of_work import SqliteThresholds

Emit = Callable[[str, dict[str, Any]], None]

_COVERED = """
SELECT i.store, i.item, i.count FROM json_each(:scopes) AS k JOIN inventory AS i
  ON (k.value ->> 0 = '*' OR i.store = k.value ->> 0)
 AND (k.value ->> 1 = '*' OR i.item = k.value ->> 1)
WHERE i.count < :bound OR EXISTS (SELECT 1 FROM alerts AS a WHERE a.store = i.store
      AND a.item = i.item AND a.kind = 'low_stock' AND a.resolved_at IS NULL)
GROUP BY i.store, i.item
ORDER BY i.store, i.item
"""

_FIGURES = """
UPDATE store_stats SET
  out_of_stock = (SELECT count(*) FROM alerts WHERE store = :store AND kind = 'out_of_stock'
                  AND resolved_at IS NULL),
  low_stock = (SELECT count(*) FROM alerts WHERE store = :store AND kind = 'low_stock'
               AND resolved_at IS NULL)
WHERE store = :store
"""


class SqliteCoveredStock:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._stores: set[str] = set()

    def under(
        self, scopes: Sequence[tuple[str, str]], bound: int, with_cover: bool = False
    ) -> Iterator[list[StockChange]]:
        if not scopes:
            return
        # A scope of (*, *) covers everything; any other is matched as given.
        if (WILDCARD, WILDCARD) in scopes:
            scopes = [(WILDCARD, WILDCARD)]
        cursor = self.conn.execute(
            _COVERED, {"scopes": json.dumps([list(s) for s in scopes]), "bound": bound}
        )
        while batch := cursor.fetchmany(ALERT_BATCH):
            self._stores.update(s for s, _, _ in batch)
            changes = [StockChange(s, i, c, c, 0) for s, i, c in batch]
            yield queries.with_covers(self.conn, changes) if with_cover else changes

    def stores(self) -> list[str]:
        return sorted(self._stores)


class SqliteThresholdChange:
    """``BEGIN IMMEDIATE`` to ``COMMIT``: thresholds, alerts and the digest, together."""

    def __init__(self, conn: sqlite3.Connection, channel_names: Sequence[str], emit: Emit) -> None:
        self.conn = conn
        self.emit = emit
        self.thresholds = SqliteThresholds(conn)
        self.stock = SqliteCoveredStock(conn)
        self.alerts = SqliteAlerts(conn)
        self.outbox = SqliteOutbox(conn, channel_names)
        self._raised = 0
        self._stores: list[str] = []

    def __enter__(self) -> SqliteThresholdChange:
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def notify(self, digest: Digest, decisions: Sequence[AlertDecision]) -> None:
        # The outbox is keyed by upload; a threshold change has its own key instead.
        key = f"thresholds-{secrets.token_hex(6)}"
        queue_digests(self.outbox, key, digest.upload, decisions)
        self._raised = len(decisions)

    def refresh(self, stores: Sequence[str]) -> None:
        self.conn.executemany(_FIGURES, [{"store": s} for s in stores])
        self._stores = list(stores)

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        if self._stores:
            self.emit("stock", {"upload_id": None, "stores": self._stores[:100]})
        if self._raised:
            self.emit("alerts", {"upload_id": None, "raised": self._raised})
