"""Read models over the embedded database: stock, alerts, history, thresholds."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.figures import Figures
from stockwatch.core.forecast import MAX_AGE_DAYS, with_cover, with_forecast
from stockwatch.core.model import StockChange
from stockwatch.core.paging import walk_stock
from stockwatch.core.rows import (
    AlertRow,
    HistoryPoint,
    MuteRow,
    StockRow,
    StoreSummary,
    ThresholdRow,
)
from stockwatch.core.thresholds import WILDCARD
from stockwatch.sqlite import archive, figures, item_details
from stockwatch.sqlite.database import transaction


def stock(
    conn: sqlite3.Connection,
    store: str | None = None,
    out_of_stock: bool = False,
    limit: int | None = None,
) -> list[StockRow]:
    """Stock rows with the keys store, item, count, updated_at, status, walking ``stock_page``."""
    status = "out_of_stock" if out_of_stock else None
    return list(
        walk_stock(
            lambda after, n: stock_page(conn, store, status, None, after, n), limit, size=1000
        )
    )


def alerts(
    conn: sqlite3.Connection,
    open_only: bool = False,
    limit: int | None = None,
    store: str | None = None,
    kind: str | None = None,
    resolved_only: bool = False,
) -> list[AlertRow]:
    """Newest first; each with its item's mute when one is in force."""
    sql = (
        "SELECT a.id, a.kind, a.store, a.item, a.count, a.minimum, a.upload_id, a.raised_at,"
        " a.resolved_at, a.days_of_cover, a.acknowledged_at, a.acknowledged_by, a.ack_note,"
        " (SELECT max(m.until) FROM mutes AS m WHERE m.store = a.store"
        "  AND m.item IN (a.item, '*') AND m.until > :now)"
        " FROM alerts AS a"
    )
    where = []
    params: dict[str, Any] = {"now": utc_now()}
    if open_only:
        where.append("a.resolved_at IS NULL")
    if resolved_only:
        where.append("a.resolved_at IS NOT NULL")
    if store is not None:
        where.append("a.store = :store")
        params["store"] = store
    if kind is not None:
        where.append("a.kind = :kind")
        params["kind"] = kind
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY a.id DESC"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    found = [AlertRow(*row) for row in conn.execute(sql, params)]
    if open_only:
        return found
    # Alerts resolved long ago are in the archive (retention): merged in by id, and only
    # those newer than the last of a full page are read from it.
    full = limit is not None and len(found) >= limit
    above = int(found[-1].id) if full else None
    old = archive.archived_alerts(conn, above, limit, store, kind)
    if not old:
        return found
    merged = sorted([*found, *old], key=lambda alert: int(alert.id), reverse=True)
    return merged if limit is None else merged[:limit]


def acknowledge(conn: sqlite3.Connection, alert_id: int, by: str, note: str | None) -> bool:
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ? WHERE id = ?",
            (utc_now(), by, note, alert_id),
        )
    return cursor.rowcount > 0


def mutes(conn: sqlite3.Connection) -> list[MuteRow]:
    rows = conn.execute(
        "SELECT store, item, until, muted_by, note, created_at FROM mutes ORDER BY store, item"
    )
    return [MuteRow(*row) for row in rows]


def set_mute(
    conn: sqlite3.Connection, store: str, item: str, until: str, by: str, note: str | None
) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO mutes (store, item, until, muted_by, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store, item) DO UPDATE SET"
            " until = excluded.until, muted_by = excluded.muted_by, note = excluded.note,"
            " created_at = excluded.created_at",
            (store, item, until, by, note, utc_now()),
        )


def delete_mute(conn: sqlite3.Connection, store: str, item: str) -> bool:
    with transaction(conn):
        cursor = conn.execute("DELETE FROM mutes WHERE store = ? AND item = ?", (store, item))
    return cursor.rowcount > 0


# The full history (a week of changes and the history table), then the thinned past
# (``sqlite.archive``) merged in by when the counts were taken.
_HISTORY = """
SELECT h.counted, h.seq, h.old_count, h.count, h.upload_id, u.started_at,
       coalesce(u.as_of, u.received_at)
FROM history AS h JOIN uploads AS u ON u.id = h.upload_id
WHERE h.store = :store AND h.item = :item
UNION ALL
SELECT c.counted, c.seq, c.old_count, c.new_count, c.upload_id, u.started_at,
       coalesce(u.as_of, u.received_at)
FROM changes AS c JOIN uploads AS u ON u.id = c.upload_id
WHERE c.tier IN (0, 1) AND c.store = :store AND c.item = :item
"""
_UPLOAD_TIMES = (
    "SELECT id, started_at, coalesce(as_of, received_at) FROM uploads"
    " WHERE id IN (SELECT value FROM json_each(?))"
)


def history(conn: sqlite3.Connection, store: str, item: str) -> list[HistoryPoint]:
    """A thinned point's old count is the point before it: what a chart of it shows."""
    rows = conn.execute(_HISTORY, {"store": store, "item": item}).fetchall()
    old = archive.item_points(conn, store, item)
    if old:
        ids = json.dumps(sorted({p.upload_id for p in old}))
        times = {
            u: (started, counted) for u, started, counted in conn.execute(_UPLOAD_TIMES, (ids,))
        }
        rows += [(p.counted, p.seq, None, p.amount, p.upload_id, *times[p.upload_id]) for p in old]
        archived = {p.seq for p in old}
    else:
        archived = set()
    points: list[HistoryPoint] = []
    for _, seq, old_count, count, upload_id, changed_at, as_of in sorted(rows, key=lambda r: r[:2]):
        if seq in archived:
            old_count = points[-1].count if points else None
        points.append(HistoryPoint(seq, old_count, count, upload_id, changed_at, as_of))
    return points


def thresholds(conn: sqlite3.Connection) -> list[ThresholdRow]:
    return [
        ThresholdRow(store, item, minimum, at, cover, bool(from_file))
        for store, item, minimum, at, cover, from_file in conn.execute(
            "SELECT store, item, minimum, updated_at, cover_days, file_version IS NOT NULL"
            " FROM thresholds ORDER BY store, item"
        )
    ]


def upsert_thresholds(conn: sqlite3.Connection, entries: Sequence[Sequence[Any]]) -> int:
    """(store, item, minimum[, cover_days]) within the caller's transaction."""
    now = utc_now()
    conn.executemany(
        "INSERT INTO thresholds (store, item, minimum, cover_days, updated_at)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (store, item) DO UPDATE SET minimum = excluded.minimum,"
        " cover_days = excluded.cover_days, updated_at = excluded.updated_at,"
        " file_version = NULL",  # set by hand now: a file no longer changes it
        [
            (e[0] or WILDCARD, e[1] or WILDCARD, e[2], e[3] if len(e) > 3 else None, now)
            for e in entries
        ],
    )
    return len(entries)


def delete_threshold(conn: sqlite3.Connection, store: str, item: str) -> bool:
    cursor = conn.execute("DELETE FROM thresholds WHERE store = ? AND item = ?", (store, item))
    return cursor.rowcount > 0


def stores(conn: sqlite3.Connection) -> list[StoreSummary]:
    return [
        StoreSummary(*row)
        for row in conn.execute(
            "SELECT st.store, st.items, st.out_of_stock, st.low_stock, up.started_at"
            " FROM store_stats AS st LEFT JOIN uploads AS up ON up.id = st.upload_id"
            " ORDER BY st.out_of_stock DESC, st.low_stock DESC, st.store"
        )
    ]


_STOCK_COLUMNS = """
SELECT i.store, i.item, i.count, u.started_at,
    CASE WHEN i.count <= 0 THEN 'out_of_stock'
         WHEN EXISTS (SELECT 1 FROM alerts AS a WHERE a.store = i.store AND a.item = i.item
                      AND a.kind = 'low_stock' AND a.resolved_at IS NULL) THEN 'low_stock'
         WHEN EXISTS (SELECT 1 FROM alerts AS a WHERE a.store = i.store AND a.item = i.item
                      AND a.kind = 'running_out' AND a.resolved_at IS NULL) THEN 'running_out'
         ELSE 'ok' END AS stock_status"""
_STOCK_FROM = """
FROM inventory AS i JOIN uploads AS u ON u.id = i.upload_id"""
_STOCK_PAGE = _STOCK_COLUMNS + _STOCK_FROM
# With the kept figures, for the forecast fields (sqlite.figures).
STOCK_FORECAST = (
    _STOCK_COLUMNS + ", " + figures.COLUMNS + _STOCK_FROM
    + " LEFT JOIN store_records AS r ON r.store = i.store"
)  # fmt: skip


def stock_page(
    conn: sqlite3.Connection,
    store: str | None = None,
    status: str | None = None,
    q: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int = 100,
    forecast: bool = True,
) -> list[StockRow]:
    """A page of stock rows in (store, item) order, after the (store, item) ``after``."""
    where: list[str] = []
    params: list[Any] = []
    if store is not None:
        where.append("i.store = ?")
        params.append(store)
    if q:
        where.append(
            "(instr(lower(i.item), lower(?)) > 0 OR instr(lower(i.store), lower(?)) > 0"
            " OR (i.store, i.item) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?)))"
        )
        params.extend([q, q, json.dumps(item_details.matching(conn, q, store))])
    if after is not None:
        where.append("(i.store, i.item) > (?, ?)")
        params.extend(after)
    sql = STOCK_FORECAST if forecast else _STOCK_PAGE
    if status is not None:
        where.append("stock_status = ?")
        params.append(status)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY i.store, i.item LIMIT ?"
    params.append(limit)
    return item_details.with_skus(conn, _rows(conn.execute(sql, params), forecast))


def _rows(cursor: Iterable[Sequence[Any]], forecast: bool) -> list[StockRow]:
    if not forecast:
        return [StockRow(*row) for row in cursor]
    return [row for row, _ in with_figures(cursor)]


def with_figures(cursor: Iterable[Sequence[Any]]) -> list[tuple[StockRow, Figures | None]]:
    """Rows of ``STOCK_FORECAST``: each stock row with its forecast, and its figures."""
    found = []
    for row in cursor:
        kept = figures.figures(row[2], row[5:])
        found.append((with_forecast(StockRow(*row[:5]), kept), kept))
    return found


def item_everywhere(conn: sqlite3.Connection, item: str, limit: int) -> list[StockRow]:
    cursor = conn.execute(
        STOCK_FORECAST + " WHERE i.item = ? ORDER BY i.store LIMIT ?", (item, limit)
    )
    return item_details.with_skus(conn, _rows(cursor, True))


# Each item's counts: its points of the last MAX_AGE_DAYS before its latest count (in the
# week of changes and in the history), the latest point before them in each of the three
# tables (the interval that ends inside the window counts; older ones are ignored by
# core.forecast), and the newest upload that asserted its count (a confirmation moves the
# version on without a change: the row's, or its store record's, see sqlite.store_records).
# Every read is a range of an item index, so a year of history does not make a stock page
# slower.
_POINTS = """
WITH asserted AS (
  SELECT i.store, i.item, i.count, max(i.version, coalesce(r.version, '')) AS version
  FROM json_each(:keys) AS k
  JOIN inventory AS i ON i.store = k.value ->> 0 AND i.item = k.value ->> 1
  LEFT JOIN store_records AS r ON r.store = i.store
),
items AS (
  SELECT store, item, count, substr(version, 1, 24) AS as_of,
         (julianday(substr(version, 1, 24)) - 2440587.5) * 86400000 - :window AS since
  FROM asserted
)
SELECT t.store, t.item, c.new_count, c.counted, 0
FROM items AS t JOIN changes AS c
  ON c.tier IN (0, 1) AND c.store = t.store AND c.item = t.item AND c.counted >= t.since
UNION ALL
SELECT t.store, t.item, h.count, h.counted, 0
FROM items AS t JOIN history AS h
  ON h.store = t.store AND h.item = t.item AND h.counted >= t.since
UNION ALL
SELECT t.store, t.item, c.new_count, c.counted, 0
FROM items AS t JOIN changes AS c
  ON c.tier IN (0, 1) AND c.store = t.store AND c.item = t.item AND c.counted = (
  SELECT max(b.counted) FROM changes AS b
  WHERE b.tier IN (0, 1) AND b.store = t.store AND b.item = t.item AND b.counted < t.since)
UNION ALL
SELECT t.store, t.item, h.count, h.counted, 0
FROM items AS t JOIN history AS h ON h.store = t.store AND h.item = t.item AND h.counted = (
  SELECT max(b.counted) FROM history AS b
  WHERE b.store = t.store AND b.item = t.item AND b.counted < t.since)
UNION ALL
SELECT t.store, t.item, t.count, CAST(round(t.since + :window) AS INTEGER), 1 FROM items AS t
"""


def forecast_points(
    conn: sqlite3.Connection, keys: Iterable[tuple[str, str]], days: float = MAX_AGE_DAYS
) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """Each item's (as-of, count) points of the last ``days`` days and the one before
    them, oldest first, from one query."""
    window = round(days * 86_400_000)
    wanted = {"keys": json.dumps([list(k) for k in keys]), "window": window}
    found: dict[tuple[str, str], set[tuple[int, int]]] = defaultdict(set)
    latest: dict[tuple[str, str], int] = {}
    # The last count's time comes as milliseconds from SQL (julianday keeps whole
    # milliseconds, so rounding gives ``epoch_ms``'s value exactly).
    for store, item, count, counted, last in conn.execute(_POINTS, wanted):
        key = (store, item)
        if last:
            latest[key] = counted
        found[key].add((counted, count))
    # An item with no point before its window in the full history may have one thinned:
    # the interval from it into the window still counts.
    bare = {
        key: latest[key] - window
        for key, values in found.items()
        if key in latest and min(values)[0] >= latest[key] - window
    }
    for key, point in archive.latest_before(conn, bare).items():
        found[key].add((point.counted, point.amount))
    return {key: sorted((ms / 1000, n) for ms, n in values) for key, values in found.items()}


def with_covers(conn: sqlite3.Connection, changes: list[StockChange]) -> list[StockChange]:
    """Each change with its item's days of cover after it (in the change's transaction),
    from the kept figures the change's own write moved on."""
    kept = figures.figures_of(conn, [(c.store, c.item) for c in changes])
    return [with_cover(c, kept.get((c.store, c.item))) for c in changes]
