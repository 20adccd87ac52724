"""The read-ahead path (a second process) gives exactly the in-process path's results."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockwatch.sqlite.backend import SqliteBackend
from tests.conftest import csv_bytes, ingest

TABLES = (
    # The version without its as-of: each run's uploads arrive at their own moments.
    "SELECT store, item, count, substr(version, 26), line FROM inventory ORDER BY 1, 2",
    "SELECT store, item, old_count, new_count, upload_id FROM changes ORDER BY seq",
    "SELECT kind, store, item, count, resolved_at IS NULL FROM alerts ORDER BY id",
)


def _files() -> list[bytes]:
    first = [(f"Store {s}", f"Item {i}", (s * 3 + i) % 7) for s in range(12) for i in range(1000)]
    second: list[tuple[str, str, int | str]] = [(s, i, (c + 1) % 5) for s, i, c in first[::2]]
    second.insert(4000, ("Store 0", "Item 5", "lots"))
    second.append(("Store 0", "Item 2", 3))  # repeats a row of an earlier chunk
    return [csv_bytes(*first), csv_bytes(*second)]


@pytest.mark.parametrize("strict", [False, True])
def test_same_results_with_and_without_read_ahead(tmp_path: Path, strict: bool) -> None:
    results = []
    for name, threshold in (("inline", 10**12), ("ahead", 1)):
        app = SqliteBackend(tmp_path / name, channel_names=("webhook",))
        app.read_ahead_min_bytes = threshold
        try:
            reports = [
                ingest(app, f"f{n}.csv", data, strict).to_json() for n, data in enumerate(_files())
            ]
            for report in reports:
                report.pop("timings_ms")
                report.pop("cost")  # its time differs, as the timings do
                report.pop("as_of")  # and so does when it arrived
            results.append((reports, [app.conn.execute(sql).fetchall() for sql in TABLES]))
        finally:
            app.close()
    assert results[0] == results[1]
    reports = results[1][0]
    assert [(e["line"], e["field"]) for e in reports[1]["errors"]] == [
        (4002, "count"),
        (6003, "item"),
    ]


def test_a_rejected_file_through_read_ahead(tmp_path: Path) -> None:
    app = SqliteBackend(tmp_path / "d")
    app.read_ahead_min_bytes = 1
    try:
        report = ingest(app, "x.csv", b"store,item,count\nB,E,1\n" + b"B,E\x00x,2\n")
        assert report.status == "rejected"
        assert report.message is not None and "line 3 contains a NUL byte" in report.message
        assert app.conn.execute("SELECT count(*) FROM inventory").fetchone() == (0,)
    finally:
        app.close()
