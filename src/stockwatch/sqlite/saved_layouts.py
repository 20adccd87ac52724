"""Saved column mappings (``core.layouts.SavedLayout``) in the ``saved_layouts`` table."""

from __future__ import annotations

import sqlite3

from stockwatch.core.clock import utc_now
from stockwatch.core.layouts import SavedLayout
from stockwatch.sqlite.database import transaction


def saved(conn: sqlite3.Connection) -> dict[str, SavedLayout]:
    rows = conn.execute("SELECT name, columns, store FROM saved_layouts ORDER BY name")
    return {name: SavedLayout(name, columns, store) for name, columns, store in rows}


def save(conn: sqlite3.Connection, layout: SavedLayout, by: str) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO saved_layouts (name, columns, store, saved_at, saved_by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET columns = excluded.columns,"
            " store = excluded.store, saved_at = excluded.saved_at, saved_by = excluded.saved_by",
            (layout.name, layout.columns, layout.store, utc_now(), by),
        )


def delete(conn: sqlite3.Connection, name: str) -> bool:
    with transaction(conn):
        return conn.execute("DELETE FROM saved_layouts WHERE name = ?", (name,)).rowcount > 0
