"""Thinned history on disk: one row per item per year, its points packed into a blob.

A row per point would repeat the store and the item in every one of them and cost a
B-tree cell each; packed, a year of monthly points of an item is about 350 bytes, so the
history of a year is a small part of the database (``bench/year_bench.py``).
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterable

from stockwatch.core.clock import from_epoch_ms
from stockwatch.core.retention import OldPoint

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
