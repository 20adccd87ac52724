"""Users and the audit trail in SQLite (``service.users.UserDirectory``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from stockwatch.core.clock import utc_now
from stockwatch.service.users import AuditRow, NewUser, UserRow
from stockwatch.sqlite.database import transaction


class SqliteUsers:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, new: NewUser) -> bool:
        listed = None if new.stores is None else json.dumps(list(new.stores))
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO users (name, role, stores, token_hash, created_at, email)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (new.name, new.role, listed, new.digest, utc_now(), new.email),
            )
        return cursor.rowcount == 1

    def any(self) -> bool:
        """Whether a user was ever made (revoked ones count): from then on everyone signs
        in, for good, so revoking the last one never opens the server."""
        found = self.conn.execute("SELECT 1 FROM users LIMIT 1")
        return found.fetchone() is not None

    def by_hash(self, digest: str) -> tuple[str, str, list[str] | None] | None:
        row = self.conn.execute(
            "SELECT name, role, stores FROM users WHERE token_hash = ? AND revoked_at IS NULL",
            (digest,),
        ).fetchone()
        if row is None:
            return None
        return row[0], row[1], None if row[2] is None else list(json.loads(row[2]))

    def users(self) -> list[UserRow]:
        return [
            UserRow(name, role, None if stores is None else json.loads(stores), c, r, v, e)
            for name, role, stores, c, r, v, e in self.conn.execute(
                "SELECT name, role, stores, created_at, rotated_at, revoked_at, email FROM users"
                " ORDER BY name"
            )
        ]

    def revoke(self, name: str) -> bool:
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (utc_now(), name),
            )
        return cursor.rowcount == 1

    def replace_token(self, name: str, digest: str) -> bool:
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE users SET token_hash = ?, rotated_at = ? WHERE name = ?"
                " AND revoked_at IS NULL",
                (digest, utc_now(), name),
            )
        return cursor.rowcount == 1

    def record(self, actor: str, action: str, subject: str, detail: str | None) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                (utc_now(), actor, action, subject, detail),
            )

    def audit(self, since: str | None, limit: int) -> list[AuditRow]:
        return [
            AuditRow(*row)
            for row in self.conn.execute(
                "SELECT id, at, actor, action, subject, detail FROM audit WHERE at >= ?"
                " ORDER BY id LIMIT ?",
                (since or "", limit),
            )
        ]


def _listed(stores: Sequence[str] | None) -> str | None:
    return None if stores is None else json.dumps(list(stores))
