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

from stockwatch.core.demand import INTERMITTENT_ADI, MIN_SPAN_DAYS, SBA_ALPHA, TINY_VARIANCE
from stockwatch.core.figures import HALF_LIFE_DAYS, Figures, as_of

# core.figures.advance stated in SQL, for the SET clause of the upsert that writes a changed
# count (sqlite.inventory_table): every right-hand side reads the row as it was, the
# ``excluded`` row is the new count and ``:counted`` its time in milliseconds. The twin test
# (tests/contract/test_sqlite_twins.py) checks it against the Python fold.
_PARTS = {
    # usable: from a count above zero, not a rise, later than the last
    "ok": "(count > 0 AND excluded.count <= count AND :counted > coalesce(fig_at, :counted))",
    "e": "((:counted - coalesce(fig_at, :counted)) / 86400000.0)",
    "d": "(count - excluded.count)",
    "f": f"pow(2.0, -((:counted - coalesce(fig_at, :counted)) / 86400000.0) / {HALF_LIFE_DAYS})",
}
_SUMS = {
    "at": "max(coalesce(fig_at, :counted), :counted)",
    "counts": "coalesce(fig_counts, 1) + (:counted > coalesce(fig_at, :counted))",
    "intervals": "coalesce(fig_intervals, 0) + {ok}",
    "span": "coalesce(fig_span, 0) + {ok} * {e}",
    "days": "coalesce(fig_days, 0) * {f} + {ok} * {e}",
    "units": "coalesce(fig_units, 0) * {f} + {ok} * {d}",
    "units_sq": "coalesce(fig_units_sq, 0) * {f} + {ok} * {d} * {d}",
    "cross": "coalesce(fig_cross, 0) * {f} + {ok} * {d} * {e}",
    "days_sq": "coalesce(fig_days_sq, 0) * {f} + {ok} * {e} * {e}",
    "demand_days": "coalesce(fig_demand_days, 0) * {f} + {ok} * ({d} > 0) * {e}",
}
_NEW = {name: expression.format(**_PARTS) for name, expression in _SUMS.items()}


def _bounds(v: dict[str, str]) -> dict[str, str]:
    """core.figures.bounds in SQL, over the sums ``v`` names (expressions or columns)."""
    days, units_sq = f"({v['days']})", f"({v['units_sq']})"
    mean = f"(({v['units']}) / {days})"
    spread = f"({units_sq} - 2 * {mean} * ({v['cross']}) + {mean} * {mean} * ({v['days_sq']}))"
    variance = f"(max({units_sq}, {spread}) / {days} + 4.0 / 27.0 * {mean} * {mean} * {days})"
    return {
        "dmax": f"CASE WHEN {days} > 0 THEN {mean} ELSE 0 END",
        "sdmax": f"CASE WHEN {days} > 0 THEN sqrt(max(0, {variance})) ELSE 0 END",
    }


MOVED_ON = ",\n".join(
    f"    fig_{name} = CASE WHEN count <> excluded.count THEN {moved} ELSE fig_{name} END"
    for name, moved in {**_NEW, **_bounds(_NEW)}.items()
)


def moved_on_select(source: str) -> tuple[str, list[str]]:
    """``MOVED_ON`` for a statement that selects the new rows rather than updating them
    (the small tier's write, ``sqlite.inventory_table``): a common table expression
    ``parts`` over ``source`` (a table expression with the old row's ``count`` and
    ``fig_*`` columns and the new count as ``new``), and the select-list items of the
    figures' new values over it, in the columns' order.

    ``parts`` holds each row's shared terms, computed once: written out in every sum that
    uses them, as the upsert does, the half-life's ``pow`` alone ran 15 times a row."""
    parts = {name: value.replace("excluded.count", "new") for name, value in _PARTS.items()}
    cte = (
        "parts AS MATERIALIZED (SELECT *, "  # noqa: S608 (constants and the caller's table)
        + ", ".join(f"{value} AS p_{name}" for name, value in parts.items())
        + f" FROM {source})"
    )
    terms = {name: f"p_{name}" for name in _PARTS}
    sums = {name: f"({template.format(**terms)})" for name, template in _SUMS.items()}
    moved = {**sums, **_bounds(sums)}
    return cte, [
        f"CASE WHEN count <> new THEN {value} ELSE fig_{name} END" for name, value in moved.items()
    ]


def quiet_columns(latest: str) -> str:
    """Select-list items for a row ``i`` whose last count was at ``latest`` (an SQL
    expression in milliseconds): ``latest_ms``, the quiet days since its last change
    ``q``, their decay ``f`` and whether they are a usable interval; ``estimated`` reads
    them."""
    q = (
        f"(CASE WHEN {latest} > i.fig_at"
        f" THEN ({latest} / 1000.0 - i.fig_at / 1000.0) / 86400.0 ELSE 0 END)"
    )
    return (
        f"{latest} AS latest_ms, {q} AS q, pow(2.0, -{q} / {HALF_LIFE_DAYS}) AS f,"
        f" (i.count > 0 AND {q} > 0) AS usable"
    )


def estimated(source: str) -> str:
    """``core.demand.estimate_of(core.figures.as_of(figures, latest))`` in SQL: common
    table expressions over ``source`` (a table expression with a row's ``store``, ``item``,
    ``count``, the columns of ``SUMS`` and of ``quiet_columns``), the last of them,
    ``estimated``, adding ``judged`` (the item has the history to be judged), its demand's
    ``mean`` (SBA's correction applied, ``sba`` saying so) and ``sd``, and the figures'
    ``m_counts``, ``m_span`` and ``at_s`` (the time they are as of, in seconds). The
    statement's parameters must include ``ESTIMATE_PARAMETERS``.

    Every operation is the core's, in the core's order, on the same doubles (the
    constants are bound, not written out): the values are the core's to the last bit,
    which the twin test checks, so a backend may judge from them. The moved-on sums are
    materialised: SQLite would otherwise write every use of them out in full."""
    return f"""moved AS MATERIALIZED (
  SELECT *,
    coalesce(fig_counts, 1) + (latest_ms > fig_at) AS m_counts,
    coalesce(fig_span, 0) + usable * q AS m_span,
    coalesce(fig_days, 0) * f + usable * q AS m_days,
    coalesce(fig_units, 0) * f AS m_units,
    coalesce(fig_units_sq, 0) * f AS m_units_sq,
    coalesce(fig_cross, 0) * f AS m_cross,
    coalesce(fig_days_sq, 0) * f + usable * q * q AS m_days_sq,
    coalesce(fig_demand_days, 0) * f AS m_demand_days,
    CASE WHEN latest_ms > fig_at THEN latest_ms ELSE fig_at END / 1000.0 AS at_s
  FROM {source}
),
averaged AS (
  SELECT *,
    m_counts >= 2 AND m_span >= :min_span AND m_days > 0 AS judged,
    m_units / m_days AS m_mean,
    (m_units_sq - 2 * (m_units / m_days) * m_cross
     + (m_units / m_days) * (m_units / m_days) * m_days_sq) / m_days AS m_variance
  FROM moved
),
estimated AS (
  SELECT *,
    m_demand_days > 0 AND m_days / m_demand_days > :intermittent AS sba,
    CASE WHEN m_demand_days > 0 AND m_days / m_demand_days > :intermittent
         THEN :sba_factor * m_mean ELSE m_mean END AS mean,
    CASE WHEN m_variance <= :tiny * max(m_mean * m_mean, :tiny) THEN 0.0
         ELSE sqrt(m_variance) END AS sd
  FROM averaged
)"""  # noqa: S608 (constants only)


# The constants ``estimated`` reads, bound as the core's doubles.
ESTIMATE_PARAMETERS = {
    "min_span": MIN_SPAN_DAYS,
    "intermittent": INTERMITTENT_ADI,
    "sba_factor": 1 - SBA_ALPHA / 2,
    "tiny": TINY_VARIANCE,
}


# Selected after a row's own columns, with ``inventory AS i`` and ``store_records AS r``
# (LEFT JOIN on the store) in the FROM clause. The last count's time comes as milliseconds
# (julianday keeps whole milliseconds).
def latest_of(store_version: str) -> str:
    """The time of row ``i``'s last count in milliseconds: the later of its version and
    ``store_version`` (its store record's, as an SQL expression)."""
    return ms_of(f"max(i.version, coalesce({store_version}, ''))")


def ms_of(version: str) -> str:
    """The time a version (an SQL expression) was counted at, in milliseconds."""
    return f"CAST(round((julianday(substr({version}, 1, 24)) - 2440587.5) * 86400000) AS INTEGER)"


# The same for a scan of many rows, where parsing each row's version costs more than the
# rest of the row: each store record's time is worked out once (``records AS r``, selected
# by RECORD_TIMES), and only a row newer than its record parses its own.
RECORD_TIMES = "SELECT store, version, " + ms_of("version") + " AS ms FROM store_records"  # noqa: S608
LATEST_BY_RECORD = "CASE WHEN r.version >= i.version THEN r.ms ELSE " + ms_of("i.version") + " END"


SUMS = (
    "i.fig_at, i.fig_counts, i.fig_intervals, i.fig_span, i.fig_days, i.fig_units,"
    " i.fig_units_sq, i.fig_cross, i.fig_days_sq, i.fig_demand_days"
)
COLUMNS = SUMS + ", " + latest_of("r.version") + " AS latest"


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
