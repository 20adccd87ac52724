"""SQL that states a core rule, checked against the core: ordering and the alert candidates.

The ordering rule: newest upload wins, repeats change nothing, whatever the order."""

from __future__ import annotations

import io
import random
import sqlite3
import tempfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stockwatch.core.clock import from_epoch_ms
from stockwatch.core.figures import STORED, Figures, advance, bounds
from stockwatch.core.ordering import Outcome, decide, feeds_change, writes_row
from stockwatch.core.replenishment import estimate_at
from stockwatch.service.commands import Upload
from stockwatch.sqlite import figures as sqlite_figures
from stockwatch.sqlite import order_candidates, tiers
from stockwatch.sqlite.backend import SqliteBackend
from stockwatch.sqlite.database import connect
from stockwatch.sqlite.inventory_table import SqliteInventoryWriter
from stockwatch.sqlite.unit_of_work import sqlite_version
from tests.conftest import csv_bytes, ingest


@pytest.mark.parametrize(
    ("current", "incoming", "outcome"),
    [
        ((None, None), (5, 3), Outcome.INSERT),
        ((5, 2), (7, 3), Outcome.CHANGE),
        ((5, 2), (5, 3), Outcome.CONFIRM),
        ((5, 3), (7, 3), Outcome.REPEAT),
        ((5, 4), (7, 3), Outcome.STALE),
    ],
)
def test_decide(
    current: tuple[int | None, int | None], incoming: tuple[int, int], outcome: Outcome
) -> None:
    assert decide(*current, *incoming) is outcome


_db_dir = tempfile.TemporaryDirectory(prefix="stockwatch-ordering-")
_conn = connect(Path(_db_dir.name) / "ordering.db")
_key = iter(range(10**9))


_AS_OF = ["2026-11-01T00:00:00.000Z", "2026-11-20T08:00:00.000Z", "2026-12-01T00:00:00.000Z"]
# (as-of, upload id) as the SQLite backend composes it: an older as-of with a higher id
# (a backfill that arrived late) must lose, whatever the ids say.
_versions = st.builds(
    lambda a, u: sqlite_version(_AS_OF[a], u), st.integers(0, 2), st.integers(1, 5)
)


@settings(max_examples=300, deadline=None)
@given(
    current=st.none() | st.tuples(st.integers(0, 3), _versions),
    incoming=st.tuples(st.integers(0, 3), _versions),
)
def test_sqlite_writer_follows_the_core_rule(
    current: tuple[int, str] | None, incoming: tuple[int, str]
) -> None:
    """The set-based SQL of the SQLite backend states exactly ``core.ordering.decide``."""
    conn: sqlite3.Connection = _conn
    item = f"item-{next(_key)}"
    if current is not None:
        conn.execute(
            "INSERT INTO inventory_main (store, item, count, version, line, upload_id)"
            " VALUES ('S', ?, ?, ?, 99, 1)",
            (item, current[0], current[1]),
        )
    (before,) = conn.execute("SELECT count(*) FROM changes").fetchone()
    expected = decide(*(current or (None, None)), *incoming)  # type: ignore[call-arg]

    row = (2, "S", item, incoming[0])
    outcome = SqliteInventoryWriter(conn, 7).apply_rows([row], incoming[1])

    count, version = conn.execute(
        "SELECT count, version FROM inventory WHERE store = 'S' AND item = ?", (item,)
    ).fetchone()
    (after,) = conn.execute("SELECT count(*) FROM changes").fetchone()
    if writes_row(expected):
        assert (count, version) == incoming
    else:
        assert current is not None and (count, version) == current
    assert after - before == (1 if feeds_change(expected) else 0)
    assert outcome.loaded == (1 if feeds_change(expected) else 0)
    assert outcome.unchanged == (1 if expected is Outcome.CONFIRM else 0)
    assert outcome.superseded == (1 if expected is Outcome.STALE else 0)
    assert len(outcome.repeats) == (1 if expected is Outcome.REPEAT else 0)


ITEMS = ["Echo Dot", "Echo Show", "Echo Plus", "Echo Look"]

# A file: stores in blocks, each block some of its items in some order, a few repeated;
# a store may come back in a second block. Each file is an upload of its own (its id is
# its place in the list) with an as-of drawn so that late, older files happen.
_block = st.tuples(
    st.sampled_from(["Berlin", "Pusan"]),
    st.lists(st.tuples(st.sampled_from(ITEMS), st.integers(0, 2)), min_size=1, max_size=6),
)
_file = st.tuples(st.integers(0, 2), st.lists(_block, min_size=1, max_size=3))


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(_file, min_size=1, max_size=6),
    chunk=st.integers(1, 7),
    share=st.sampled_from([0.0, tiers.SHARE, 1e9]),
)
# A store that matches its record, with a change still to be written, then comes back in
# a second block: the change must be written before the record is dropped.
@example(
    files=[
        (1, [("Berlin", [("Echo Dot", 1), ("Echo Show", 1)])]),
        (
            2,
            [
                ("Berlin", [("Echo Dot", 2), ("Echo Show", 1)]),
                ("Pusan", [("Echo Dot", 1)]),
                ("Berlin", [("Echo Dot", 0)]),
            ],
        ),
    ],
    chunk=2,
    share=1e9,
)
@example(
    files=[
        (2, [("Berlin", [("Echo Dot", 1), ("Echo Show", 1)])]),
        (1, [("Berlin", [("Echo Dot", 2), ("Echo Show", 1)])]),  # late and older: stale
        (2, [("Berlin", [("Echo Dot", 0), ("Echo Show", 2)])]),
    ],
    chunk=1,
    share=1e9,
)
def test_writing_only_what_changed_follows_the_core_rule(
    files: list[tuple[int, list[tuple[str, list[tuple[str, int]]]]]], chunk: int, share: float
) -> None:
    """#28: rows a store record shows unchanged are not written, and changed ones of a
    store that matched its record go to the small tier. The stock, when each item was last
    counted, the change feed and every outcome are still those of ``core.ordering.decide``
    applied row by row, whatever the files, their order, their chunking, repeats, second
    blocks of a store and when the small tier is folded (``share``: after every upload,
    when due, never); and folding changes nothing a read sees."""
    saved, tiers.SHARE = tiers.SHARE, share
    try:
        _only_what_changed(files, chunk)
    finally:
        tiers.SHARE = saved


def _only_what_changed(
    files: list[tuple[int, list[tuple[str, list[tuple[str, int]]]]]], chunk: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn = connect(Path(tmp) / "t.db")
        plain = connect(Path(tmp) / "plain.db")  # every row through the ordering rule's SQL
        model: dict[tuple[str, str], tuple[int, str]] = {}
        for n, (as_of, blocks) in enumerate(files):
            version = sqlite_version(_AS_OF[as_of], n + 1)
            listed = [(s, i, c) for s, items in blocks for i, c in items]
            rows = [(line, s, i, c) for line, (s, i, c) in enumerate(listed, start=2)]
            want = {"loaded": 0, "unchanged": 0, "superseded": 0, "repeats": 0}
            feed: list[tuple[str, str, int | None, int]] = []
            # A (store, item) listed twice in one store's block is a repeat of its first line,
            # whatever became of that line; across blocks, the rule decides (an earlier
            # line written by this upload makes it a repeat).
            seen: set[tuple[str, str]] = set()
            for index, (_, store, item, count) in enumerate(rows):
                if index and rows[index - 1][1] != store:
                    seen = set()
                key = (store, item)
                if key in seen:
                    want["repeats"] += 1
                    continue
                seen.add(key)
                before = model.get(key)
                outcome = decide(*(before or (None, None)), count, version)  # type: ignore[call-arg]
                if feeds_change(outcome):
                    want["loaded"] += 1
                    feed.append((store, item, before[0] if before else None, count))
                elif outcome is Outcome.CONFIRM:
                    want["unchanged"] += 1
                elif outcome is Outcome.STALE:
                    want["superseded"] += 1
                else:
                    want["repeats"] += 1
                if writes_row(outcome):
                    model[key] = (count, version)
            (fed_before,) = conn.execute("SELECT count(*) FROM changes").fetchone()
            conn.execute("BEGIN")
            writer = SqliteInventoryWriter(conn, n + 1)
            got = {"loaded": 0, "unchanged": 0, "superseded": 0, "repeats": 0}
            parts = [writer.apply(rows[i : i + chunk], version) for i in range(0, len(rows), chunk)]
            for part in [*parts, writer.flush(version)]:
                got["loaded"] += part.loaded
                got["unchanged"] += part.unchanged
                got["superseded"] += part.superseded
                got["repeats"] += len(part.repeats)
            conn.execute("COMMIT")
            (fed_after,) = conn.execute("SELECT count(*) FROM changes").fetchone()
            assert got == want, (n, rows)
            assert fed_after - fed_before == want["loaded"]
            fed = conn.execute(
                "SELECT store, item, old_count, new_count FROM changes WHERE seq > ? ORDER BY seq",
                (fed_before,),
            ).fetchall()
            assert sorted(fed, key=str) == sorted(feed, key=str), n
            stock = {
                (s, i): (c, v)
                for s, i, c, v in conn.execute(
                    "SELECT i.store, i.item, i.count, max(i.version, coalesce(r.version, ''))"
                    " FROM inventory AS i LEFT JOIN store_records AS r ON r.store = i.store"
                )
            }
            assert stock == model, n
            # What a change moves on (its upload, the kept figures) is what the rule's
            # upsert in the main tier gives, bit for bit, from either tier.
            plain.execute("BEGIN")
            SqliteInventoryWriter(plain, n + 1).apply_rows(rows, version)
            plain.execute("COMMIT")
            moved = (
                "SELECT store, item, count, upload_id, fig_at, fig_counts, fig_intervals,"
                " fig_span, fig_days, fig_units, fig_units_sq, fig_cross, fig_days_sq,"
                " fig_demand_days, fig_dmax, fig_sdmax FROM inventory ORDER BY store, item"
            )
            assert conn.execute(moved).fetchall() == plain.execute(moved).fetchall(), n
        plain.close()
        whole = "SELECT * FROM inventory ORDER BY store, item"
        read = conn.execute(whole).fetchall()
        conn.execute("BEGIN")
        tiers.fold_all(conn)
        conn.execute("COMMIT")
        assert conn.execute(whole).fetchall() == read
        assert not conn.execute("SELECT 1 FROM inventory_recent").fetchall()
        conn.close()


@settings(max_examples=40, deadline=None)
@given(
    uploads=st.lists(
        st.dictionaries(st.sampled_from(ITEMS), st.integers(0, 2), min_size=1),
        min_size=2,
        max_size=5,
    ),
    seed=st.integers(0, 2**32),
)
def test_any_order_with_repeats_converges_to_the_newest_upload(
    uploads: list[dict[str, int]], seed: int
) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        app = SqliteBackend(Path(tmp), channel_names=("webhook",))
        try:
            ids = [
                app.receive(
                    Upload(f"u{n}.csv"),
                    _stream(csv_bytes(*(("Berlin", i, c) for i, c in u.items()))),
                )
                for n, u in enumerate(uploads)
            ]
            order = ids + rng.choices(ids, k=len(ids))
            rng.shuffle(order)
            for upload_id in order:
                app.process_upload(upload_id)
            newest: dict[str, int] = {}
            for u in uploads:
                newest.update(u)
            stock = dict(app.conn.execute("SELECT item, count FROM inventory"))
            assert stock == newest
            open_out = [
                item
                for (item,) in app.conn.execute(
                    "SELECT item FROM alerts WHERE kind = 'out_of_stock' AND resolved_at IS NULL"
                )
            ]
            assert sorted(open_out) == sorted(i for i, c in newest.items() if c == 0)
            (notified,) = app.conn.execute("SELECT count(*) FROM outbox").fetchone()
            (raising,) = app.conn.execute("SELECT count(DISTINCT upload_id) FROM alerts").fetchone()
            assert notified == raising  # one digest per upload that raised something
        finally:
            app.close()


def _stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_same_upload_twice_changes_nothing_and_alerts_nobody(app: SqliteBackend) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", 0))
    upload_id = app.receive(Upload("a.csv"), _stream(data))
    first = app.process_upload(upload_id)
    changes = app.conn.execute("SELECT count(*) FROM changes").fetchone()
    second = app.process_upload(upload_id)
    assert second.to_json() == first.to_json()
    assert app.conn.execute("SELECT count(*) FROM changes").fetchone() == changes
    assert app.conn.execute("SELECT count(*) FROM alerts").fetchone() == (1,)
    assert app.conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)


def test_an_older_upload_processed_late_does_not_overwrite(app: SqliteBackend) -> None:
    old = app.receive(Upload("old.csv"), _stream(csv_bytes(("Berlin", "Echo Dot", 0))))
    new = app.receive(Upload("new.csv"), _stream(csv_bytes(("Berlin", "Echo Dot", 7))))
    assert app.process_upload(new).rows_loaded == 1
    late = app.process_upload(old)
    assert (late.rows_loaded, late.rows_superseded) == (0, 1)
    assert app.conn.execute("SELECT count FROM inventory").fetchone() == (7,)
    assert app.conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)


def test_a_newer_upload_with_the_same_count_still_outranks_a_late_one(
    app: SqliteBackend,
) -> None:
    ingest(app, "a.csv", csv_bytes(("Berlin", "Echo Dot", 5)))
    late = app.receive(Upload("b.csv"), _stream(csv_bytes(("Berlin", "Echo Dot", 9))))
    confirm = ingest(app, "c.csv", csv_bytes(("Berlin", "Echo Dot", 5)))
    assert (confirm.rows_loaded, confirm.rows_unchanged) == (0, 1)
    assert app.process_upload(late).rows_superseded == 1
    assert app.conn.execute("SELECT count FROM inventory").fetchone() == (5,)


def test_a_repeated_row_in_one_file_is_an_error_on_the_later_line(
    app: SqliteBackend,
) -> None:
    rows = [("Berlin", f"Item {i}", 1) for i in range(6000)]
    rows.insert(2, ("Berlin", "Item 1", 9))  # same chunk
    rows.append(("Berlin", "Item 0", 4))  # a later chunk
    report = ingest(app, "dup.csv", csv_bytes(*rows))
    assert report.status == "loaded_with_errors"
    assert [(e.line, e.message) for e in report.errors] == [
        (4, 'store "Berlin", item "Item 1" appears again; first on line 3'),
        (6003, 'store "Berlin", item "Item 0" appears again; first on line 2'),
    ]
    assert app.conn.execute(
        "SELECT count FROM inventory WHERE item IN ('Item 0', 'Item 1') ORDER BY item"
    ).fetchall() == [(1,), (1,)]


@settings(max_examples=60, deadline=None)
@given(
    changes=st.lists(
        st.tuples(st.none() | st.integers(0, 12), st.integers(0, 12)), min_size=0, max_size=40
    ),
    bound=st.integers(0, 10),
)
def test_the_candidate_filter_sql_is_the_core_rule(
    changes: list[tuple[int | None, int]], bound: int
) -> None:
    """The change feed's candidate query keeps exactly the changes the core says can matter."""
    from stockwatch.core.alert_rules import can_change_alerts
    from stockwatch.sqlite.judging import SqliteChangeFeed

    with tempfile.TemporaryDirectory() as tmp:
        conn = connect(Path(tmp) / "twin.db")
        conn.execute(
            "INSERT INTO changes (store, item, old_count, new_count, upload_id)"
            " VALUES ('before', 'x', 0, 0, 1)"
        )  # fed before the unit of work began
        feed = SqliteChangeFeed(conn)
        feed.begin()
        conn.executemany(
            "INSERT INTO changes (store, item, old_count, new_count, upload_id)"
            " VALUES ('S', ?, ?, ?, 2)",
            [(f"item {n}", old, new) for n, (old, new) in enumerate(changes)],
        )
        found = [(c.item, c.old_count, c.new_count) for b in feed.candidates(bound) for c in b]
        conn.close()
    expected = [
        (f"item {n}", old, new)
        for n, (old, new) in enumerate(changes)
        if can_change_alerts(old, new, bound)
    ]
    assert found == expected


_T0 = 1_793_491_200_000  # 2026-11-01T00:00:00Z, in milliseconds


@settings(max_examples=150, deadline=None)
@given(
    uploads=st.lists(
        st.tuples(st.integers(0, 40 * 24), st.integers(-2, 30)), min_size=1, max_size=12
    )
)
def test_kept_figures_follow_the_core_fold(uploads: list[tuple[int, int]]) -> None:
    """The upsert that moves an item's kept figures on states ``core.figures.advance``:
    after uploads of its count at random hours, applied in any order (late ones lose), the
    stored sums are the core's fold of the changes the feed recorded; and the migration's
    backfill computes the same sums from the feed."""
    conn: sqlite3.Connection = _conn
    item = f"fig-{next(_key)}"
    for n, (hour, count) in enumerate(uploads):
        version = sqlite_version(from_epoch_ms(_T0 + hour * 3_600_000), n + 1)
        SqliteInventoryWriter(conn, 7).apply_rows([(2, "F", item, count)], version)
    points = conn.execute(
        "SELECT counted, new_count FROM changes WHERE store = 'F' AND item = ? ORDER BY seq",
        (item,),
    ).fetchall()
    (at, first), *rest = points
    want = Figures(at / 1000, first)
    for counted, count in rest:
        want = advance(want, counted / 1000, count)
    # a first count writes no sums: NULL is 1 count and 0 of the rest
    read = ", ".join(f"coalesce(fig_{name}, {int(name == 'counts')})" for name in STORED)

    columns = f"fig_at, count, {read}, coalesce(fig_dmax, 0), coalesce(fig_sdmax, 0)"
    sql = f"SELECT {columns} FROM inventory WHERE store = 'F' AND item = ?"  # noqa: S608

    def stored() -> tuple[float, ...]:
        return tuple(conn.execute(sql, (item,)).fetchone())

    expected = (want.at * 1000, want.count, *want.as_row(), *bounds(want))
    assert stored() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    migration = resources.files("stockwatch.sqlite") / "migrations" / "0022_figures.sql"
    # Run on the table the view now reads (migration 0023 renamed it).
    backfill = [
        statement.replace("inventory", tiers.MAIN)
        for statement in migration.read_text().split(";\n")
        if statement.strip() and "ALTER TABLE" not in statement
    ]
    nulls = ", ".join(f"fig_{name} = NULL" for name in [*STORED, "at", "dmax", "sdmax"])
    conn.execute(f"UPDATE {tiers.MAIN} SET {nulls}")  # noqa: S608
    for statement in backfill:
        conn.execute(statement)
    assert stored() == pytest.approx(expected, rel=1e-9, abs=1e-9)


# Sums as counts can make them: drops of up to 10^9 units, intervals from a millisecond
# (10^-8 days) up; no mean or variance overflows a double there.
_SUM = st.just(0.0) | st.floats(1e-8, 1e9) | st.sampled_from([3.0, 0.1, 1e-8])


@settings(max_examples=300, deadline=None)
@given(
    count=st.integers(-3, 400),
    first=st.booleans(),
    counts=st.integers(1, 60),
    sums=st.tuples(*[_SUM] * 7),
    at_hours=st.integers(0, 2000),
    quiet_ms=st.integers(-5_000_000, 60 * 86_400_000),
)
def test_the_estimate_in_sql_is_the_cores_to_the_last_bit(
    count: int,
    first: bool,
    counts: int,
    sums: tuple[float, ...],
    at_hours: int,
    quiet_ms: int,
) -> None:
    """``sqlite.figures.estimated`` (what the order list's candidates are judged by) gives
    the core's ``estimate_at`` of the figures ``as_of`` the last count, exactly: the
    same demand, deviation, method, time and counts, as the same doubles."""
    conn: sqlite3.Connection = _conn
    at = None if first else _T0 + at_hours * 3_600_000
    latest = _T0 + at_hours * 3_600_000 + quiet_ms
    span, days, units, units_sq, cross, days_sq, demand_days = sums
    values = (at, counts, 0, span, days, units, units_sq, cross, days_sq, demand_days)
    conn.execute("DROP TABLE IF EXISTS temp.kept")
    conn.execute(
        "CREATE TEMP TABLE kept (store TEXT, item TEXT, count INTEGER, fig_at INTEGER,"
        " fig_counts INTEGER, fig_intervals INTEGER, fig_span REAL, fig_days REAL,"
        " fig_units REAL, fig_units_sq REAL, fig_cross REAL, fig_days_sq REAL,"
        " fig_demand_days REAL)"
    )
    conn.execute("INSERT INTO temp.kept VALUES ('S', 'I', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (count, *values))  # fmt: skip
    sql = (
        "WITH rowset AS MATERIALIZED (SELECT i.store, i.item, i.count, "  # noqa: S608
        + sqlite_figures.SUMS + ", " + sqlite_figures.quiet_columns(":latest")
        + " FROM temp.kept AS i), " + sqlite_figures.estimated("rowset")
        + " SELECT " + order_candidates._ESTIMATE_COLUMNS + " FROM estimated"
    )  # fmt: skip
    params = {"latest": latest, **sqlite_figures.ESTIMATE_PARAMETERS}
    ((_, got),) = order_candidates._rows(conn, conn.execute(sql, params))
    want = estimate_at(sqlite_figures.figures(count, (*values, latest)))
    if want.demand is None:
        assert got.demand is None and got.counts == want.counts
    else:
        assert got == want
