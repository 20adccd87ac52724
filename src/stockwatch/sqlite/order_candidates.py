"""The order list's candidates on one machine: the few items ``service.order_list`` needs
to judge, picked out in SQL from the kept figures' bounds (``core.figures.bounds``), so a
list over a million items reads the rows that may need an order and the stores that may
spare the most, not every row.

Everything here is a superset: the service judges each row it gets exactly, with the core's
rules, so a bound only has to be on the right side, never exact.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from stockwatch.core.demand import MIN_SPAN_DAYS, SBA_ALPHA
from stockwatch.core.figures import HALF_LIFE_DAYS, Figures
from stockwatch.core.replenishment import PolicyBounds
from stockwatch.core.rows import StockRow
from stockwatch.core.transfers import KEEP_DAYS, SpareRange
from stockwatch.sqlite import figures, item_details

# An item that may need an order: on hand below the highest order-up-to level its figures
# allow, or too little history to be judged. The inventory alone is filtered first, by the
# bounds that hold however long it has been since the last change (PolicyBounds.most, no
# join); the few rows kept get the time of their last count, and with it their demand as
# of that count (figures.estimate_at), which they must be short of under the longest
# horizon and the highest z any setting gives.
_QUIET = figures.quiet_columns(f"({figures.LATEST_BY_RECORD})")
_NEEDING = f"""WITH records AS MATERIALIZED ({figures.RECORD_TIMES}),
bounded AS MATERIALIZED (
  SELECT i.store, i.item, i.count, {figures.SUMS}, {_QUIET}
  FROM inventory AS i LEFT JOIN records AS r ON r.store = i.store
  WHERE i.count < coalesce(i.fig_dmax, 0) * :horizon + coalesce(i.fig_sdmax, 0) * :zroot + 1
     OR i.fig_at IS NULL OR coalesce(i.fig_span, 0) < :span
),
{figures.estimated("bounded")}
SELECT store, item, count, {figures.SUMS.replace("i.", "")}, latest_ms FROM estimated
WHERE fig_at IS NULL OR NOT judged OR count < mean * :horizon + sd * :zroot + 1
ORDER BY store, item
"""  # noqa: S608 (built of this module's constants only)


def needing(
    conn: sqlite3.Connection, bounds: PolicyBounds
) -> list[tuple[StockRow, Figures | None]]:
    """Every item that may need an order or lacks the history to say, with its figures."""
    params = {
        "horizon": bounds.horizon_max,
        "zroot": max(bounds.z_max, 0.0) * bounds.horizon_max**0.5,
        "span": MIN_SPAN_DAYS,
    }
    return _rows(conn, conn.execute(_NEEDING, params))


def _light(rows: str) -> str:
    """An item's count and figures, all the order list reads of the rows ``rows`` picks."""
    return (
        "SELECT i.store, i.item, i.count, " + figures.COLUMNS + " FROM (" + rows + ") AS i"  # noqa: S608
        " LEFT JOIN store_records AS r ON r.store = i.store"
    )


def _rows(
    conn: sqlite3.Connection, cursor: Iterable[Sequence[Any]]
) -> list[tuple[StockRow, Figures | None]]:
    """Stock rows without a status or a forecast (the order list needs neither), with
    their SKUs, and each one's figures."""
    found = [
        (StockRow(store, item, count, None, "ok"), figures.figures(count, values))
        for store, item, count, *values in cursor
    ]
    skus = item_details.with_skus(conn, [row for row, _ in found])
    return [(row, kept) for row, (_, kept) in zip(skus, found, strict=True)]


# What a store can spare of an item (core.transfers.spare: on hand - S - ceil(7 d)), from
# below and from above. Below: S and d at their bounds (fig_dmax, fig_sdmax), or nothing
# for an item that may have too little history to judge (it gives nothing). Above: d no
# lower than its value after the longest quiet interval any item can have had (to the
# newest count of all, :latest), less SBA's correction, and S no lower than d over the
# shortest horizon. One unit more each way covers rounding.
_SPARES = """
SELECT store, item, count,
       CASE WHEN judged THEN count - ceil(dmax * :horizon + sdmax * :zroot)
                             - ceil(:keep * dmax) - 1 ELSE 0 END,
       count - floor(low * :shortest) - floor(:keep * low) + 1
FROM (
  SELECT i.store, i.item, i.count,
         coalesce(i.fig_counts, 1) >= 2 AND coalesce(i.fig_span, 0) >= :span
             AND coalesce(i.fig_days, 0) > 0 AS judged,
         coalesce(i.fig_dmax, 0) AS dmax, coalesce(i.fig_sdmax, 0) AS sdmax,
         CASE WHEN coalesce(i.fig_days, 0) <= 0 THEN 0
              ELSE :sba * i.fig_units * pow(2.0, -q / :half_life)
                   / (i.fig_days * pow(2.0, -q / :half_life) + q) END AS low
  FROM (SELECT *, max(0, (:latest - coalesce(fig_at, :latest)) / 86400000.0) AS q
        FROM inventory
        WHERE item IN (SELECT value FROM json_each(:items))
          AND count >= :floor AND count < :below) AS i
)
"""


def spares(
    conn: sqlite3.Connection,
    items: Sequence[str],
    floor: int,
    below: int,
    bounds: PolicyBounds,
    latest: int,
) -> list[SpareRange]:
    """The stores holding ``floor`` or more and less than ``below`` of each of ``items``,
    with the range what each can spare lies in."""
    params = {
        "items": json.dumps(list(items)),
        "floor": floor,
        "below": below,
        "horizon": bounds.horizon_max,
        "zroot": max(bounds.z_max, 0.0) * bounds.horizon_max**0.5,
        "shortest": bounds.horizon_min,
        "keep": KEEP_DAYS,
        "sba": 1 - SBA_ALPHA / 2,
        "half_life": HALF_LIFE_DAYS,
        "latest": latest,
        "span": MIN_SPAN_DAYS,
    }
    return [SpareRange(*row) for row in conn.execute(_SPARES, params)]


def highest(conn: sqlite3.Connection, items: Sequence[str]) -> int:
    """The largest count any store holds of these items (0 for none)."""
    (top,) = conn.execute(
        "SELECT coalesce(max(count), 0) FROM inventory"
        " WHERE item IN (SELECT value FROM json_each(?))",
        (json.dumps(list(items)),),
    ).fetchone()
    return int(top)


def latest(conn: sqlite3.Connection) -> int:
    """The time of the newest count of all, in milliseconds."""
    (row_version,) = conn.execute("SELECT max(version) FROM inventory").fetchone()
    (store_version,) = conn.execute("SELECT max(version) FROM store_records").fetchone()
    newest = max(row_version or "", store_version or "")
    if not newest:
        return 0
    (ms,) = conn.execute(
        "SELECT CAST(round((julianday(substr(?, 1, 24)) - 2440587.5) * 86400000) AS INTEGER)",
        (newest,),
    ).fetchone()
    return int(ms or 0)


def rows_of(
    conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]
) -> list[tuple[StockRow, Figures | None]]:
    """These items' stock rows with their figures, in store and item order."""
    picked = (
        "SELECT i.* FROM json_each(?) AS k JOIN inventory AS i"
        " ON i.store = k.value ->> 0 AND i.item = k.value ->> 1"
    )
    sql = _light(picked) + " ORDER BY i.store, i.item"
    return _rows(conn, conn.execute(sql, (json.dumps([list(k) for k in keys]),)))
