"""The ordering settings and the orders (``service.replenishment.OrderBook``) in SQLite."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from stockwatch.core.replenishment import SETTINGS, OrderingEntry
from stockwatch.service.replenishment import Order
from stockwatch.sqlite.database import transaction


class SqliteOrderBook:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def entries(self) -> list[OrderingEntry]:
        rows = self.conn.execute(
            "SELECT store, item, lead_days, review_days, service_level, pack, min_order,"
            " updated_at, updated_by FROM ordering_settings"
        )
        return [OrderingEntry(*row) for row in rows]

    def put(self, entry: OrderingEntry) -> None:
        values = [getattr(entry, k) for k in SETTINGS]
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO ordering_settings (store, item, lead_days,"
                " review_days, service_level, pack, min_order, updated_at, updated_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.store, entry.item, *values, entry.updated_at, entry.by),
            )

    def delete(self, store: str, item: str) -> bool:
        with transaction(self.conn):
            gone = self.conn.execute(
                "DELETE FROM ordering_settings WHERE store = ? AND item = ?", (store, item)
            )
            return gone.rowcount > 0

    def orders(self, open_only: bool) -> list[Order]:
        rows = self.conn.execute(
            "SELECT id, store, item, quantity, expected, placed_at, placed_by, received_at,"
            " received_by FROM orders WHERE NOT (? AND received_at IS NOT NULL) ORDER BY id",
            (open_only,),
        )
        return [Order(str(row[0]), *row[1:]) for row in rows]

    def add(self, order: Order) -> Order:
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO orders (store, item, quantity, expected, placed_at, placed_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (order.store, order.item, order.quantity, order.expected, order.placed_at,
                 order.by),
            )  # fmt: skip
        return replace(order, id=str(cursor.lastrowid))

    def receive(self, order_id: str, at: str, by: str) -> bool:
        if not (order_id.isascii() and order_id.isdigit() and len(order_id) < 19):
            return False  # no such id: ours are SQLite's row numbers
        with transaction(self.conn):
            done = self.conn.execute(
                "UPDATE orders SET received_at = ?, received_by = ?"
                " WHERE id = ? AND received_at IS NULL",
                (at, by, int(order_id)),
            )
            return done.rowcount > 0
