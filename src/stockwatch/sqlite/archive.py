"""Thinned history on disk: one row per item per year, its points packed into a blob.

A row per point would repeat the store and the item in every one of them and cost a
B-tree cell each; packed, a year of monthly points of an item is about 350 bytes, so the
history of a year is a small part of the database (``bench/year_bench.py``).
"""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from collections import defaultdict
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from stockwatch.core.clock import from_epoch_ms
from stockwatch.core.retention import OldPoint
from stockwatch.core.rows import AlertRow

_POINT = struct.Struct("<qqqi")  # counted ms, seq, count, upload id


def pack(points: Iterable[OldPoint]) -> bytes:
    return b"".join(_POINT.pack(*point) for point in points)


def unpack(blob: bytes) -> list[OldPoint]:
    return [OldPoint(*fields) for fields in _POINT.iter_unpack(blob)]


def year_of(point: OldPoint) -> int:
    return int(from_epoch_ms(point.counted)[:4])


def item_points(conn: sqlite3.Connection, store: str, item: str) -> list[OldPoint]:
    """Every thinned point of one item, oldest first."""
    rows = conn.execute(
        "SELECT points FROM history_archive WHERE store = ? AND item = ? ORDER BY year",
        (store, item),
    )
    return sorted(point for (blob,) in rows for point in unpack(blob))


_OF_ITEMS = """
SELECT a.store, a.item, a.points FROM json_each(?) AS k
JOIN history_archive AS a ON a.store = k.value ->> 0 AND a.item = k.value ->> 1
"""


def latest_before(
    conn: sqlite3.Connection, before: dict[tuple[str, str], int]
) -> dict[tuple[str, str], OldPoint]:
    """Each item's last thinned point counted before its time in ``before`` (ms)."""
    if not before:
        return {}
    found: dict[tuple[str, str], OldPoint] = {}
    keys = json.dumps([list(key) for key in before])
    for store, item, blob in conn.execute(_OF_ITEMS, (keys,)):
        key = (store, item)
        older = [p for p in unpack(blob) if p.counted < before[key]]
        if older and (key not in found or max(older) > found[key]):
            found[key] = max(older)
    return found


# Alerts: every column of an AlertRow but the mute, which is read when it is listed.
_ALERT_COLUMNS = (
    "a.id, a.kind, a.store, a.item, a.count, a.minimum, a.upload_id, a.raised_at,"
    " a.resolved_at, a.days_of_cover, a.acknowledged_at, a.acknowledged_by, a.ack_note"
)
# Resolved by an upload counted before the cutoff: the same clock as the history's.
_OLD_ALERTS = f"""
SELECT {_ALERT_COLUMNS}, u.id
FROM alerts AS a JOIN uploads AS u ON u.id = a.resolved_by_upload
WHERE a.resolved_at IS NOT NULL AND coalesce(u.as_of, u.received_at) < ?
ORDER BY a.store, a.id
"""  # noqa: S608 - fixed column names, no input


def archive_alerts(conn: sqlite3.Connection, cutoff: str) -> int:
    """Move alerts resolved by uploads counted before ``cutoff`` into ``alerts_archive``."""
    old = conn.execute(_OLD_ALERTS, (cutoff,)).fetchall()
    for store, group in groupby(old, key=lambda row: row[2]):
        by_year: dict[int, list[list[Any]]] = defaultdict(list)
        for row in group:
            by_year[int(row[7][:4])].append(list(row[:13]))
        for year, rows in by_year.items():
            found = conn.execute(
                "SELECT alerts FROM alerts_archive WHERE store = ? AND year = ?", (store, year)
            ).fetchone()
            if found is not None:
                rows = _unpack_alerts(found[0]) + rows
            rows.sort(key=lambda row: row[0])
            conn.execute(
                "INSERT INTO alerts_archive (store, year, max_id, alerts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (store, year) DO UPDATE SET max_id = excluded.max_id,"
                " alerts = excluded.alerts",
                (store, year, rows[-1][0], _pack_alerts(rows)),
            )
    conn.executemany("DELETE FROM alerts WHERE id = ?", [(row[0],) for row in old])
    return len(old)


def _pack_alerts(rows: list[list[Any]]) -> bytes:
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)


def _unpack_alerts(blob: bytes) -> list[list[Any]]:
    return list(json.loads(zlib.decompress(blob)))


def archived_alerts(
    conn: sqlite3.Connection,
    above: int | None,
    limit: int | None,
    store: str | None,
    kind: str | None,
) -> list[AlertRow]:
    """Archived alerts newest first, only those with an id over ``above`` when it is given
    (a listing that already has ``limit`` newer ones needs nothing older)."""
    sql = "SELECT max_id, alerts FROM alerts_archive"
    where: list[str] = []
    params: list[Any] = []
    if store is not None:
        where.append("store = ?")
        params.append(store)
    if above is not None:
        where.append("max_id > ?")
        params.append(above)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY max_id DESC"
    found: list[AlertRow] = []
    for max_id, blob in conn.execute(sql, params).fetchall():
        if limit is not None and len(found) >= limit:
            found.sort(key=lambda alert: int(alert.id), reverse=True)
            del found[limit:]
            if max_id < int(found[-1].id):  # nothing in this blob or later ones would rank
                break
        for row in _unpack_alerts(blob):
            if (kind is None or row[1] == kind) and (above is None or row[0] > above):
                found.append(AlertRow(*row))
    found.sort(key=lambda alert: int(alert.id), reverse=True)
    return found if limit is None else found[:limit]
