"""Subscriptions on one machine: a table, read each time an upload's digests are queued."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.subscriptions import PREFIX, Subscription
from stockwatch.service.subscriptions import NewSubscription
from stockwatch.sqlite.database import transaction

_SELECT = "SELECT id, channel, target, stores, kinds, owner, created_at, secret FROM subscriptions"


def _listed(values: frozenset[str] | None) -> str | None:
    return None if values is None else json.dumps(sorted(values))


def _set(text: str | None) -> frozenset[str] | None:
    return None if text is None else frozenset(json.loads(text))


def _subscription(row: tuple[Any, ...]) -> Subscription:
    return Subscription(row[0], row[1], row[2], _set(row[3]), _set(row[4]), row[5], row[6], row[7])


def all_subscriptions(conn: sqlite3.Connection) -> list[Subscription]:
    return [_subscription(r) for r in conn.execute(_SELECT + " ORDER BY id")]


def subscription_of(conn: sqlite3.Connection, channel_name: str) -> Subscription | None:
    """The subscription an outbox channel ``sub:<id>`` stands for (None: deleted)."""
    number = channel_name[len(PREFIX) :]
    if not channel_name.startswith(PREFIX) or not number.isdigit():
        return None
    row = conn.execute(_SELECT + " WHERE id = ?", (int(number),)).fetchone()
    return None if row is None else _subscription(row)


class SqliteSubscriptions:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, wanted: NewSubscription) -> Subscription:
        now = utc_now()
        stores, kinds = wanted.stores, wanted.kinds
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO subscriptions (channel, target, stores, kinds, owner, created_at,"
                " secret) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    wanted.channel,
                    wanted.target,
                    _listed(stores),
                    _listed(kinds),
                    wanted.owner,
                    now,
                    wanted.secret,
                ),
            )
        assert cursor.lastrowid is not None
        made = cursor.lastrowid
        return Subscription(
            made, wanted.channel, wanted.target, stores, kinds, wanted.owner, now, wanted.secret
        )

    def subscriptions(self) -> list[Subscription]:
        return all_subscriptions(self.conn)

    def delete(self, subscription_id: str) -> bool:
        """Gone at once, with whatever of its digests was still waiting to be sent."""
        if not subscription_id.isdigit():
            return False
        with transaction(self.conn):
            cursor = self.conn.execute(
                "DELETE FROM subscriptions WHERE id = ?", (int(subscription_id),)
            )
            self.conn.execute(
                "DELETE FROM outbox WHERE channel = ? AND status = 'pending'",
                (f"{PREFIX}{subscription_id}",),
            )
        return cursor.rowcount == 1
