"""The web API's read model over the embedded database."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Protocol

from stockwatch.core.figures import Figures
from stockwatch.core.replenishment import Estimate, Held, PolicyBounds
from stockwatch.core.rows import (
    AlertRow,
    HistoryPoint,
    MuteRow,
    StockQuery,
    StockRow,
    StoreSummary,
    ThresholdRow,
    UploadRow,
)
from stockwatch.service.reads import UploadIdError
from stockwatch.sqlite import figures, order_candidates, queries
from stockwatch.sqlite.records import UploadRecord

MAX_ID = 2**62


def _upload_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise UploadIdError(f"{text[:40]!r} is not an upload id: they are whole numbers")
    return int(text)


def _report(record: UploadRecord) -> UploadRow:
    return UploadRow.of(
        record.id,
        record.filename,
        record.status,
        record.received_at,
        record.finished_at,
        record.report.to_json() if record.report else None,
        record.uploader or None,
        None if record.scope is None else sorted(record.scope),
    )


class Database(Protocol):
    """What the reads need of the backend: its connection and its upload listing (which
    merges the uploads still arriving)."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def upload(self, upload_id: int) -> UploadRecord | None: ...

    def uploads(self, limit: int = 50, before: int | None = None) -> list[UploadRecord]: ...


class SqliteReadModel:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._highest: order_candidates.HighestOfAll | None = None

    def stores(self) -> list[StoreSummary]:
        return queries.stores(self.db.conn)

    def stock_page(self, query: StockQuery) -> list[StockRow]:
        conn, (store, status, q) = self.db.conn, (query.store, query.status, query.q)
        return queries.stock_page(conn, store, status, q, query.after, query.limit, query.forecast)

    def item_everywhere(self, item: str, limit: int) -> list[StockRow]:
        return queries.item_everywhere(self.db.conn, item, limit)

    def history(self, store: str, item: str) -> list[HistoryPoint]:
        return queries.history(self.db.conn, store, item)

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[tuple[float, int]]]:
        return queries.forecast_points(self.db.conn, keys, days)

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
        return figures.figures_of(self.db.conn, keys)

    # service.candidates.CandidateReads: the order list's candidates, picked out in SQL.
    def needing(self, bounds: PolicyBounds) -> list[tuple[Held, Estimate]]:
        with order_candidates.mapped(self.db.conn):
            found = order_candidates.needing(self.db.conn, bounds)
        # Read beside the judging of these rows, in Python, rather than beside the two
        # halves of this read, which have the two cores already.
        self._highest = order_candidates.HighestOfAll(self.db.conn)
        return found

    def givers(
        self, wanted: Mapping[str, int], floor: int, bounds: PolicyBounds, latest: int
    ) -> list[tuple[Held, Estimate]]:
        with order_candidates.mapped(self.db.conn):
            return order_candidates.givers(self.db.conn, wanted, floor, bounds, latest)

    def highest_count(self, items: Sequence[str]) -> int:
        started, self._highest = self._highest, None
        if started is None:
            return order_candidates.highest(self.db.conn, items)
        return started.result(self.db.conn)

    def latest_count_ms(self) -> int:
        return order_candidates.latest(self.db.conn)

    def alerts(
        self,
        open_only: bool,
        limit: int,
        store: str | None = None,
        kind: str | None = None,
        resolved_only: bool = False,
    ) -> list[AlertRow]:
        return queries.alerts(self.db.conn, open_only, limit, store, kind, resolved_only)

    def acknowledge(self, alert_id: str, by: str, note: str | None) -> bool:
        if not (alert_id.isascii() and alert_id.isdigit()) or int(alert_id) > MAX_ID:
            return False  # no such alert: 404, never an integer SQLite cannot hold
        return queries.acknowledge(self.db.conn, int(alert_id), by, note)

    def mutes(self) -> list[MuteRow]:
        return queries.mutes(self.db.conn)

    def set_mute(self, store: str, item: str, until: str, by: str, note: str | None) -> None:
        queries.set_mute(self.db.conn, store, item, until, by, note)

    def delete_mute(self, store: str, item: str) -> bool:
        return queries.delete_mute(self.db.conn, store, item)

    def thresholds(self) -> list[ThresholdRow]:
        return queries.thresholds(self.db.conn)

    def upload(self, upload_id: str) -> UploadRow | None:
        record = self.db.upload(_upload_id(upload_id))
        return None if record is None else _report(record)

    def uploads(self, limit: int, before: str | None) -> list[UploadRow]:
        start = _upload_id(before) if before is not None else None
        return [_report(r) for r in self.db.uploads(limit, start)]

    def check(self) -> int | None:
        (schema,) = self.db.conn.execute("PRAGMA user_version").fetchone()
        return int(schema)
