"""Reading the kept figures (``core.figures``) off the inventory rows.

They are written by the upsert that writes a changed count (``sqlite.inventory_table``);
here they are read back with the time each item was last counted: its row's version, or
its store record's when a re-upload confirmed the whole store without writing its rows
(``sqlite.store_records``). ``core.figures.as_of`` adds the quiet interval since the last
change, so nothing here reads the history.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from stockwatch.core.figures import Figures, as_of

# Selected after a row's own columns, with ``inventory AS i`` and ``store_records AS r``
# (LEFT JOIN on the store) in the FROM clause. The last count's time comes as milliseconds
# (julianday keeps whole milliseconds).
COLUMNS = (
    "i.fig_at, i.fig_counts, i.fig_intervals, i.fig_span, i.fig_days, i.fig_units,"
    " i.fig_units_sq, i.fig_cross, i.fig_days_sq, i.fig_demand_days,"
    " CAST(round((julianday(substr(max(i.version, coalesce(r.version, '')), 1, 24))"
    " - 2440587.5) * 86400000) AS INTEGER)"
)
WIDTH = 11  # the values COLUMNS selects


def figures(count: int, values: Sequence[Any]) -> Figures | None:
    """An item's figures ``as_of`` its last count, from the values ``COLUMNS`` selected."""
    at, counts, intervals, span, days, units, units_sq, cross, days_sq, demand, latest = values
    if latest is None:
        return None
    latest_s = latest / 1000
    if at is None:
        return Figures(latest_s, count)
    kept = Figures(
        at / 1000, count, counts or 1, intervals or 0, span or 0.0, days or 0.0,
        units or 0.0, units_sq or 0.0, cross or 0.0, days_sq or 0.0, demand or 0.0,
    )  # fmt: skip
    return as_of(kept, latest_s)


_BY_KEY = (
    "SELECT i.store, i.item, i.count, "
    + COLUMNS
    + """
FROM json_each(:keys) AS k
JOIN inventory AS i ON i.store = k.value ->> 0 AND i.item = k.value ->> 1
LEFT JOIN store_records AS r ON r.store = i.store
"""
)


def figures_of(
    conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Figures]:
    """Each item's figures ``as_of`` its last count, from one query (unknown items left out)."""
    found: dict[tuple[str, str], Figures] = {}
    wanted = json.dumps([list(k) for k in keys])
    for store, item, count, *values in conn.execute(_BY_KEY, {"keys": wanted}):
        kept = figures(count, values)
        if kept is not None:
            found[(store, item)] = kept
    return found
