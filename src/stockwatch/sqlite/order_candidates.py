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
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from stockwatch.core.demand import Demand
from stockwatch.core.figures import HALF_LIFE_DAYS
from stockwatch.core.replenishment import Estimate, Held, PolicyBounds
from stockwatch.core.transfers import KEEP_DAYS
from stockwatch.sqlite import database, figures, item_details, tiers
from stockwatch.sqlite.database import DataDirError

T = TypeVar("T")

# An item that may need an order: on hand below the highest order-up-to level its figures
# allow, or too little history to be judged. The inventory alone is filtered first, by the
# bounds that hold however long it has been since the last change (PolicyBounds.most, no
# join); the few rows kept get the time of their last count, and with it their demand as
# of that count (figures.estimated), which they must be short of under the longest horizon
# and the highest z any setting gives. What is selected is what ``_rows`` reads.
_QUIET = figures.quiet_columns(f"({figures.LATEST_BY_RECORD})")
_ESTIMATE_COLUMNS = "store, item, count, fig_at, judged, mean, sd, sba, m_span, m_counts, at_s"
_NEEDING = f"""WITH records AS MATERIALIZED ({figures.RECORD_TIMES}),
bounded AS MATERIALIZED (
  SELECT i.store, i.item, i.count, {figures.SUMS}, {_QUIET}
  FROM inventory AS i LEFT JOIN records AS r ON r.store = i.store
  WHERE {{stores}} (
     i.count < coalesce(i.fig_dmax, 0) * :horizon + coalesce(i.fig_sdmax, 0) * :zroot + 1
     OR i.fig_at IS NULL OR coalesce(i.fig_span, 0) < :min_span)
),
{figures.estimated("bounded")}
SELECT {_ESTIMATE_COLUMNS} FROM estimated
WHERE fig_at IS NULL OR NOT judged OR count < mean * :horizon + sd * :zroot + 1
ORDER BY store, item
"""  # noqa: S608 (built of this module's constants only)
# The same over the stores before ``:split`` (by the inventory's key: a range, not a scan)
# and from it on, for two connections at once.
_NEEDING_ALL = _NEEDING.format(stores="")
_NEEDING_BELOW = _NEEDING.format(stores="i.store < :split AND")
_NEEDING_FROM = _NEEDING.format(stores="i.store >= :split AND")


def needing(conn: sqlite3.Connection, bounds: PolicyBounds) -> list[tuple[Held, Estimate]]:
    """Every item that may need an order or lacks the history to say, with its estimate.

    The stores' second half is read beside the first (``_Aside``), and its rows made into
    objects in its own thread while the first is still in SQLite. The first half's rows
    are fetched only after that: Python code run here while the other thread fetched would
    hold the GIL while it waits at every row (up to the 5 ms switch interval each), which
    made the second half the slower by half."""
    params = {
        "horizon": bounds.horizon_max,
        "zroot": max(bounds.z_max, 0.0) * bounds.horizon_max**0.5,
        **figures.ESTIMATE_PARAMETERS,
    }
    split = _middle_store(conn)
    path = _file_of(conn)
    if split is None or path is None:
        return _rows(conn, conn.execute(tiers.for_scan(conn, _NEEDING_ALL), params))
    halves = {**params, "split": split}
    upper = _Aside(path, _NEEDING_FROM, halves, _rows)
    # its first step does the work
    lower = conn.execute(tiers.for_scan(conn, _NEEDING_BELOW), halves)
    theirs = upper.result(conn)
    return _rows(conn, lower) + theirs


def _middle_store(conn: sqlite3.Connection) -> str | None:
    """A store name about half the stores sort before (None for too few to halve): where
    the halves of a read over every store meet. Any name would be right; the middle one
    gives each half about the same work."""
    (count,) = conn.execute("SELECT count(*) FROM store_records").fetchone()
    if count < _HALVED_FROM:
        return None
    row = conn.execute(
        "SELECT store FROM store_records ORDER BY store LIMIT 1 OFFSET ?",
        (count // 2,),
    ).fetchone()
    return row[0] if row is not None else None


# Fewer stores (or items) than this are read in one statement: a thread and a connection
# cost more than half of so small a read saves.
_HALVED_FROM = 32


def _file_of(conn: sqlite3.Connection) -> Path | None:
    """The database file behind ``conn`` (None in memory: no other connection sees it)."""
    files = [row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"]
    return Path(files[0]) if files and files[0] else None


class _Aside(Generic[T]):
    """One statement run on a read-only connection of its own, in a thread, while the
    caller's connection does another part of the same read: sqlite3 lets go of the GIL
    while a statement runs, so on two cores the two parts take the time of one (the order
    list over a million items, 0.69 s of SQL, took 0.42-0.50 s so). Each statement here
    already has a snapshot of its own (autocommit), so one more changes nothing: a store's
    rows all come from one. Should the connection fail, the caller runs it itself.

    ``made`` turns its cursor into the result (``_all``: its rows) in the thread: where the
    caller's own part is still in SQLite (without the GIL), that Python runs meanwhile
    rather than after."""

    def __init__(
        self,
        path: Path,
        sql: str,
        params: Mapping[str, Any],
        made: Callable[[sqlite3.Connection, sqlite3.Cursor], T],
    ) -> None:
        self._path, self._sql, self._params, self._made = path, sql, params, made
        self._found: T | None = None
        self._done = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            conn = database.connect(self._path, readonly=True)
        except DataDirError:
            return
        try:
            conn.execute(f"PRAGMA mmap_size = {MAP_BYTES}")
            sql = tiers.for_scan(conn, self._sql)
            self._found = self._made(conn, conn.execute(sql, self._params))
            self._done = True
        except sqlite3.Error:
            pass  # run again by the caller, whose error it will then be
        finally:
            conn.close()

    def result(self, conn: sqlite3.Connection) -> T:
        """Its result, once made; made on ``conn`` where the thread could not."""
        self._thread.join()
        if not self._done:
            sql = tiers.for_scan(conn, self._sql)
            return self._made(conn, conn.execute(sql, self._params))
        return self._found  # type: ignore[return-value]


def _all(conn: sqlite3.Connection, cursor: sqlite3.Cursor) -> list[Any]:
    return cursor.fetchall()


# The order list's scans read the database file through a memory map rather than a read()
# per page: at a million items its four scans made 150,000 calls, half a second of the
# kernel's time (0.65 s to 0.33 s of it, 2.31 s to 2.13 s in all, A/B). Only for these
# reads: a mapped page counts in the process's RSS, which the loads keep small.
MAP_BYTES = 1 << 31


@contextmanager
def mapped(conn: sqlite3.Connection) -> Iterator[None]:
    """``conn`` reads through a memory map while this lasts (as before after)."""
    (before,) = conn.execute("PRAGMA mmap_size").fetchone()
    conn.execute(f"PRAGMA mmap_size = {MAP_BYTES}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA mmap_size = {int(before)}")


def _rows(conn: sqlite3.Connection, cursor: Iterable[Sequence[Any]]) -> list[tuple[Held, Estimate]]:
    """Each row's stock, with its SKU, and its estimate (``core.replenishment.estimate_at``,
    made in SQL)."""
    rows = list(cursor)
    skus = item_details.stored_skus(conn, sorted({row[0] for row in rows})) if rows else {}
    found: list[tuple[Held, Estimate]] = []
    for store, item, count, at, judged, mean, sd, sba, span, counts, at_s in rows:
        held = Held(store, item, count, skus[store].get(item) if store in skus else None)
        if at is None:  # a first count
            found.append((held, Estimate(None, 0.0, 1)))
        elif not judged:
            found.append((held, Estimate(None, at_s, counts)))
        else:
            method = "sba" if sba else "mean"
            demand = Demand(mean, sd, round(span), method, counts)
            found.append((held, Estimate(demand, at_s, counts)))
    return found


# The stores that may give an item under the transfer rule (core.transfers: the largest
# spare first, each giver until it has none left), read from the stores holding ``:floor``
# or more of it. What a store can spare (on hand - S - ceil(7 d)) is bounded twice:
#
# - coarsely, for every store of the band, by the figures' bounds (fig_dmax, fig_sdmax)
#   and a time no count was taken after (:latest);
# - exactly but for rounding, for the few stores the coarse bounds leave, by their demand
#   as of their last count (figures.estimated).
#
# An item is covered at level t when the stores sure to spare t or more (low >= t) can give
# all it is short of (``:wanted``, item -> units) between them; then no store that cannot
# reach t is ever asked, and every store that might (high >= t) is returned. A band covers
# an item only at a level of at least ``:floor``: a store outside it holds less, and so
# spares less. With ``:last``, an item no band covers gets every store that may spare any.
# A first count, or too little history, spares nothing. Two units each way cover rounding.
# A store of the band that cannot spare ``:floor`` (high < :floor) is left out at once: the
# levels an item may be covered or given at are ``:floor`` or more, and its own sure spare,
# below that, would only come after every store's above it in the running sums.
_COARSE_LOW = (
    "CASE WHEN coalesce(i.fig_counts, 1) >= 2 AND coalesce(i.fig_span, 0) >= :min_span"
    " AND coalesce(i.fig_days, 0) > 0"
    " THEN i.count - ceil(coalesce(i.fig_dmax, 0) * :horizon + coalesce(i.fig_sdmax, 0) * :zroot)"
    " - ceil(:keep * coalesce(i.fig_dmax, 0)) - 1 ELSE 0 END"
)
_QUIET_DAYS = "max(0, (:latest - coalesce(i.fig_at, :latest)) / 86400000.0)"
_QUIET_AT = f"pow(2.0, -{_QUIET_DAYS} / :half_life)"
_LOW_MEAN = (
    f"CASE WHEN coalesce(i.fig_days, 0) <= 0 THEN 0 ELSE :sba_factor * i.fig_units * {_QUIET_AT}"
    f" / (i.fig_days * {_QUIET_AT} + {_QUIET_DAYS}) END"
)


def _covering(spares: str, only: str) -> str:
    """Each item's covering level ``t`` over the rows of ``spares`` (store, item, low) that
    pass ``only``: the largest sure spare at which the running sum of the sure spares,
    largest first, reaches what is short of the item (``wanted``)."""
    return f"""
  SELECT item, max(low) AS t FROM (
    SELECT g.item, g.low, w.units,
           sum(g.low) OVER (PARTITION BY g.item ORDER BY g.low DESC ROWS UNBOUNDED PRECEDING)
             AS total
    FROM {spares} AS g JOIN wanted AS w ON w.item = g.item
    WHERE g.low > 0 AND {only}
  )
  WHERE total >= units
  GROUP BY item
"""  # noqa: S608 (built of this module's constants only)


_GIVEN_COLUMNS = ", ".join(f"g.{name.strip()}" for name in _ESTIMATE_COLUMNS.split(","))
_GIVERS = f"""WITH RECURSIVE wanted AS MATERIALIZED (
  SELECT key AS item, value AS units FROM json_each(:wanted)
),
band AS MATERIALIZED (
  SELECT * FROM (
    SELECT store, item, low, count - floor(low_mean * :shortest) - floor(:keep * low_mean) + 1
           AS high
    FROM (
      SELECT i.store, i.item, i.count, {_COARSE_LOW} AS low, {_LOW_MEAN} AS low_mean
      FROM {{holding}}
    )
  )
  -- A store that cannot spare :floor cannot cover an item at a level of :floor or more,
  -- nor give at one: only the band's top is kept (58 % of it at a million items).
  WHERE high >= :floor
),
coarse AS MATERIALIZED ({_covering("band", "true")}),
possible AS MATERIALIZED (
  SELECT b.store, b.item, c.t FROM band AS b LEFT JOIN coarse AS c ON c.item = b.item
  WHERE (c.t >= :floor AND b.high >= c.t) OR (:last AND c.t IS NULL AND b.high > 0)
),
records AS MATERIALIZED ({figures.RECORD_TIMES}),
picked AS MATERIALIZED (
  SELECT i.store, i.item, i.count, p.t, {figures.SUMS}, {_QUIET}
  FROM possible AS p
  JOIN inventory AS i ON i.store = p.store AND i.item = p.item
  LEFT JOIN records AS r ON r.store = i.store
),
{figures.estimated("picked")},
ranged AS MATERIALIZED (
  SELECT {_ESTIMATE_COLUMNS}, t,
         CASE WHEN fig_at IS NOT NULL AND judged
              THEN count - ceil(mean * :horizon + sd * :zroot) - ceil(:keep * mean) - 2
              ELSE 0 END AS low,
         CASE WHEN fig_at IS NOT NULL AND judged
              THEN count - floor(mean * :shortest + sd * :zroot_min) - floor(:keep * mean) + 2
              ELSE 0 END AS high
  FROM estimated
),
exact AS MATERIALIZED ({_covering("ranged", "g.t IS NOT NULL")})
SELECT {_GIVEN_COLUMNS} FROM ranged AS g LEFT JOIN exact AS e ON e.item = g.item
WHERE CASE WHEN g.t IS NULL THEN g.high > 0 ELSE g.high >= max(g.t, coalesce(e.t, g.t)) END
ORDER BY g.item, g.store
"""  # noqa: S608 (built of this module's constants only)
# The band's rows: a scan of every row, or, for a few items, a look-up of each in every
# store (the stores found by skipping along the inventory's key), a scan's tenth or less.
_GIVERS_SCAN = _GIVERS.format(
    holding="inventory AS i WHERE i.count >= :floor AND i.item IN (SELECT item FROM wanted)"
)
_GIVERS_SEEK = _GIVERS.format(
    holding="""stores CROSS JOIN wanted AS w
    CROSS JOIN inventory AS i ON i.store = stores.store AND i.item = w.item
    WHERE i.count >= :floor"""
).replace(
    "band AS MATERIALIZED (",
    """stores(store) AS (
  SELECT min(store) FROM inventory
  UNION ALL
  SELECT (SELECT min(n.store) FROM inventory AS n WHERE n.store > stores.store) FROM stores
  WHERE stores.store IS NOT NULL
),
band AS MATERIALIZED (""",
)
# Up to this many items are looked up store by store rather than scanned for.
_SEEK_ITEMS = 16


def givers(
    conn: sqlite3.Connection,
    wanted: Mapping[str, int],
    floor: int,
    bounds: PolicyBounds,
    latest: int,
) -> list[tuple[Held, Estimate]]:
    """The stores' rows that may give the items ``wanted`` (units short of each), with
    their estimates, for the items the stores holding ``floor`` or more can cover; with
    ``floor`` 1, every item's. Each item's givers depend on that item's rows alone, so
    the second half of the items is read beside the first (``_Aside``)."""
    params = {
        "floor": floor,
        "last": floor <= 1,
        "horizon": bounds.horizon_max,
        "zroot": max(bounds.z_max, 0.0) * bounds.horizon_max**0.5,
        "shortest": bounds.horizon_min,
        "zroot_min": bounds.z_min * bounds.horizon_min**0.5,
        "keep": KEEP_DAYS,
        "half_life": HALF_LIFE_DAYS,
        "latest": latest,
        **figures.ESTIMATE_PARAMETERS,
    }
    items = sorted(wanted)
    if len(items) <= _SEEK_ITEMS:
        seek = tiers.for_scan(conn, _GIVERS_SEEK)
        return _rows(conn, conn.execute(seek, {**params, "wanted": _units(wanted, items)}))
    half = len(items) // 2
    path = _file_of(conn) if len(items) >= _HALVED_FROM else None
    if path is None:
        scan = tiers.for_scan(conn, _GIVERS_SCAN)
        return _rows(conn, conn.execute(scan, {**params, "wanted": _units(wanted, items)}))
    upper = _Aside(path, _GIVERS_SCAN, {**params, "wanted": _units(wanted, items[half:])}, _rows)
    scan = tiers.for_scan(conn, _GIVERS_SCAN)
    mine = conn.execute(scan, {**params, "wanted": _units(wanted, items[:half])})
    theirs = upper.result(conn)
    return _rows(conn, mine) + theirs


def _units(wanted: Mapping[str, int], items: Sequence[str]) -> str:
    return json.dumps({item: wanted[item] for item in items})


def highest(conn: sqlite3.Connection, items: Sequence[str]) -> int:
    """The largest count any store holds of these items (0 for none)."""
    (top,) = conn.execute(
        "SELECT coalesce(max(count), 0) FROM inventory"
        " WHERE item IN (SELECT value FROM json_each(?))",
        (json.dumps(list(items)),),
    ).fetchone()
    return int(top)


class HighestOfAll:
    """The largest count of all, read on a connection of its own in a thread while the
    order list judges the items that may need an order (a scan of every row, hidden so on
    a machine with two cores). Only where to start looking for givers, so
    the snapshot it reads need not be the list's; None where the database has no file."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        path = _file_of(conn)
        self._read = _Aside(path, _HIGHEST, {}, _all) if path is not None else None

    def result(self, conn: sqlite3.Connection) -> int:
        if self._read is None:
            return highest_of_all(conn)
        ((top,),) = self._read.result(conn)
        return int(top)


_HIGHEST = "SELECT coalesce(max(count), 0) FROM inventory"


def highest_of_all(conn: sqlite3.Connection) -> int:
    (top,) = conn.execute(_HIGHEST).fetchone()
    return int(top)


def latest(conn: sqlite3.Connection) -> int:
    """A time no count was taken after, in milliseconds: the latest any upload says it was
    counted at (the uploads are few beside the rows, and every row's version is an
    upload's)."""
    (newest,) = conn.execute("SELECT max(coalesce(as_of, received_at)) FROM uploads").fetchone()
    if not newest:
        return 0
    (ms,) = conn.execute(
        "SELECT " + figures.ms_of("?"),
        (newest,),
    ).fetchone()
    return int(ms or 0)
