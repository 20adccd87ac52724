"""The read-ahead paths (pyarrow, or a second process) give exactly the in-process path's
results."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend
from tests.conftest import csv_bytes, ingest

TABLES = (
    # The version without its as-of: each run's uploads arrive at their own moments.
    "SELECT store, item, count, substr(version, 26), line FROM inventory ORDER BY 1, 2",
    "SELECT store, item, old_count, new_count, upload_id FROM changes ORDER BY seq",
    "SELECT kind, store, item, count, resolved_at IS NULL FROM alerts ORDER BY id",
)
# When each item was last counted: its row's version, or its store record's.
STOCK = (
    "SELECT i.store, i.item, i.count, substr(max(i.version, coalesce(r.version, '')), 26)"
    " FROM inventory AS i LEFT JOIN store_records AS r ON r.store = i.store ORDER BY 1, 2"
)


def _shown(report: Any) -> dict[str, Any]:
    """A report as JSON without what varies between runs: the times of each run's own."""
    shown: dict[str, Any] = report.to_json()
    for varying in ("timings_ms", "cost", "as_of"):
        shown.pop(varying)
    return shown


def both_ways(
    tmp_path: Path, files: list[tuple[Upload, bytes]], tables: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The files loaded in process and with read-ahead (pyarrow, or the child process):
    the reports and ``tables`` must be the same; the reports."""
    results = []
    for name, threshold in (("inline", 10**12), ("ahead", 1)):
        app = SqliteBackend(tmp_path / name, channel_names=("webhook",))
        app.read_ahead_min_bytes = threshold
        try:
            reports = []
            for upload, data in files:
                reports.append(_shown(app.process_upload(app.receive(upload, io.BytesIO(data)))))
            results.append((reports, [app.conn.execute(sql).fetchall() for sql in tables]))
        finally:
            app.close()
    assert results[0] == results[1]
    return results[1][0]


def _files() -> list[bytes]:
    first = [(f"Store {s}", f"Item {i}", (s * 3 + i) % 7) for s in range(12) for i in range(1000)]
    second: list[tuple[str, str, int | str]] = [(s, i, (c + 1) % 5) for s, i, c in first[::2]]
    second.insert(4000, ("Store 0", "Item 5", "lots"))
    second.append(("Store 0", "Item 2", 3))  # repeats a row of an earlier chunk
    return [csv_bytes(*first), csv_bytes(*second)]


@pytest.mark.parametrize("strict", [False, True])
def test_same_results_with_and_without_read_ahead(tmp_path: Path, strict: bool) -> None:
    files = [(Upload(f"f{n}.csv", strict), data) for n, data in enumerate(_files())]
    reports = both_ways(tmp_path, files, TABLES)
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


def _variants() -> list[tuple[str, bytes, str | None]]:
    """Files a chain sends day after day (#28): clean ones take the pyarrow path, the others
    the core reader; the results must not tell which."""
    stores = [f"Store {s}" for s in range(6)]
    first = [(s, f"Item {i}", (n + i) % 9) for n, s in enumerate(stores) for i in range(400)]
    same = csv_bytes(*first)
    changed = csv_bytes(*[(s, i, c + 1 if n % 20 == 0 else c) for n, (s, i, c) in enumerate(first)])
    reordered = csv_bytes(*sorted(first, key=lambda r: (r[0], r[1][::-1])))
    more = csv_bytes(
        *[(i, s, c) for s, i, c in [*first, ("Store 0", "Item new", 4)]], header="Item,STORE,count"
    )
    quoted = same.replace(b"Store 1,Item 3,", b'"Store 1","Item 3",').replace(b"\n", b"\r\n")
    spaced = same.replace(b"Store 2,Item 7,", b"Store 2, Item 7 ,")
    second_block = same + b"Store 0,Item 1,0\n"
    trailing_blank = changed + b"\n"
    return [
        ("first.csv", same, None),
        ("again.csv", same, None),
        ("changed.csv", changed, None),
        ("late.csv", same, "2026-11-01T00:00Z"),  # older than all: stale as a whole
        ("reordered.csv", reordered, None),
        ("more.csv", more, None),
        ("quoted.csv", b"\xef\xbb\xbf" + quoted, None),
        ("spaced.csv", spaced, None),
        ("second-block.csv", second_block, None),
        ("trailing-blank.csv", trailing_blank, None),
        ("back.csv", same, None),
    ]


def test_clean_files_through_pyarrow_give_the_core_reader_s_results(tmp_path: Path) -> None:
    files = [(Upload(file, as_of=as_of), data) for file, data, as_of in _variants()]
    reports = both_ways(tmp_path, files, (*TABLES[1:], STOCK))
    by_file = {r["file"]: r for r in reports}
    assert (by_file["again.csv"]["rows_loaded"], by_file["again.csv"]["rows_unchanged"]) == (
        0,
        2400,
    )
    assert by_file["changed.csv"]["rows_loaded"] == 120
    assert by_file["late.csv"]["rows_superseded"] == 2400
    assert [e["line"] for e in by_file["second-block.csv"]["errors"]] == [2402]


def test_which_files_pyarrow_reads_and_which_go_to_the_core_reader(tmp_path: Path) -> None:
    from stockwatch.core.limits import Limits
    from stockwatch.sqlite import fast_reader

    clean = {"first.csv", "again.csv", "changed.csv", "late.csv", "reordered.csv", "more.csv"}
    clean |= {"quoted.csv", "back.csv", "second-block.csv"}
    for file, data, _ in _variants():
        path = tmp_path / file
        path.write_bytes(data)
        try:
            rows = fast_reader.check(path, Limits())
        except fast_reader.NotClean:
            assert file not in clean, file
        else:
            assert file in clean, file
            runs = [run for batch, _, _ in fast_reader.read(path, Limits()) for run in batch]
            assert sum(len(r) for r in runs) == rows
            assert runs[0].first_line == 2 and runs[0].items()[0] == "Item 0"


def test_a_file_found_unclean_part_way_is_undone_and_read_again(tmp_path: Path) -> None:
    """pyarrow reads a file in one pass, batch by batch: a bad row after the first
    megabyte comes when runs were applied already. They are undone and the core reader
    reads the file from its start, so the report is the core reader's."""
    rows: list[tuple[str, str, int | str]] = [
        (f"Store {s}", f"Item {i}", (s + i) % 7) for s in range(120) for i in range(1000)
    ]
    first = csv_bytes(*rows)
    rows[-5] = ("Store 119", "Item 995", "lots")
    late_bad = csv_bytes(*rows)
    assert len(late_bad) > 2 * 1024 * 1024
    files = [(Upload("f0.csv"), first), (Upload("f1.csv"), late_bad)]
    report = both_ways(tmp_path, files, TABLES[1:])[1]
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(119_997, "count")]
    assert (report["rows_loaded"], report["rows_unchanged"]) == (0, 119_999)


SHOPIFY_HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,"
    "Option3 Value,SKU,HS Code,COO,Location,Incoming,Unavailable,Committed,Available,On hand"
)


def _shopify(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    """Location, Title, option values (up to two), Available."""
    lines = [SHOPIFY_HEADER]
    for where, title, first, second, available in rows:
        lines.append(f'h,"{title}",Color,{first},Size,{second},,,S,,,{where},0,0,0,{available},0')
    return ("\n".join(lines) + "\n").encode()


def test_a_shopify_export_through_pyarrow_gives_the_core_reader_s_results(
    tmp_path: Path,
) -> None:
    """Read clean with pyarrow (the item's name built from Title and its options in
    columns) or by the core reader (a "not stocked" or a "1,204" sends it there): the
    same reports and rows."""
    from stockwatch.core.limits import Limits
    from stockwatch.sqlite import fast_reader

    rows = [
        (f"Store {s}", f"Tee, {i}", "Red" if i % 3 else "", "M" if i % 2 else "", str(i % 7))
        for s in range(3)
        for i in range(400)
    ]
    rows[10] = ("Store 0", "Mug", "Default Title", "", "5")
    clean = _shopify(rows)
    unclean = _shopify([*rows[:500], ("Store 1", "Cap", "Blue", "", "not stocked"), *rows[500:]])
    path = tmp_path / "clean.csv"
    path.write_bytes(clean)
    assert fast_reader.check(path, Limits()) == 1200
    path.write_bytes(unclean)
    with pytest.raises(fast_reader.NotClean):
        fast_reader.check(path, Limits())
    files = [(Upload("clean.csv"), clean), (Upload("unclean.csv"), unclean)]
    reports = both_ways(tmp_path, files, (*TABLES[1:], STOCK))
    assert [r["layout"] for r in reports] == ["shopify", "shopify"]
    app = SqliteBackend(tmp_path / "ahead")
    try:
        stock = {
            (s, i): c for s, i, c in app.conn.execute("SELECT store, item, count FROM inventory")
        }
    finally:
        app.close()
    assert stock[("Store 0", "Tee, 1 - Red / M")] == 1
    assert stock[("Store 0", "Tee, 3 - M")] == 3
    assert stock[("Store 0", "Mug")] == 5


def _shopify_skus(rows: list[tuple[str, str, str, str]]) -> bytes:
    """Location, Title, SKU, Available."""
    lines = [SHOPIFY_HEADER]
    for where, title, sku, available in rows:
        lines.append(f"h,{title},,,,,,,{sku},,,{where},0,0,0,{available},0")
    return ("\n".join(lines) + "\n").encode()


def test_skus_through_pyarrow_and_the_core_reader_are_kept_alike_and_once(
    tmp_path: Path,
) -> None:
    """#29: a store's SKUs are one record, the same whichever reader read the file; the
    same SKUs again write nothing, a changed one rewrites its store's record only."""
    from stockwatch.sqlite.item_details import stored_skus

    rows = [
        (f"Store {s}", f"Item {i}", f"SKU-{s}-{i}" if i % 5 else "", str(i % 9))
        for s in range(3)
        for i in range(400)
    ]
    first = _shopify_skus(rows)
    changed = _shopify_skus(
        [(w, t, "NEW-1" if (w, t) == ("Store 1", "Item 7") else k, c) for w, t, k, c in rows]
    )
    files = [(Upload("a.csv"), first), (Upload("b.csv"), first), (Upload("c.csv"), changed)]
    both_ways(tmp_path, files, TABLES[1:])
    found = []
    for name in ("inline", "ahead"):
        app = SqliteBackend(tmp_path / name)
        try:
            skus = stored_skus(app.conn, ["Store 0", "Store 1", "Store 2"])
            versions = dict(app.conn.execute("SELECT store, substr(version, 26) FROM store_skus"))
            found.append(skus)
        finally:
            app.close()
        # Upload 2 listed the same SKUs: nothing written; upload 3 changed Store 1's only.
        assert {s: int(v) for s, v in versions.items()} == {
            "Store 0": 1,
            "Store 1": 3,
            "Store 2": 1,
        }, name
    assert found[0] == found[1]
    assert found[0]["Store 1"]["Item 7"] == "NEW-1"
    assert found[0]["Store 2"]["Item 3"] == "SKU-2-3" and "Item 5" not in found[0]["Store 2"]


@pytest.mark.parametrize(
    ("name", "count", "clean"),
    [
        ("Echo Dot", "5", True),
        ("Crème £5 – Ünïcode ✓", "5", True),  # lead bytes C2 and E2: the expression decides
        ("Tab\there", "5", False),
        ("Del\x7f", "5", False),
        ("C1\x85control", "5", False),
        ("Line\u2028sep", "5", False),
        ("Bad\ufffdbyte", "5", False),
        ("Echo Dot", "+5", False),
        ("Echo Dot", "-5", False),
        ("Echo Dot", "5.0", False),
        ("Echo Dot", "1234567890123", False),
    ],
)
def test_the_byte_checks_of_clean_names_and_counts(
    tmp_path: Path, name: str, count: str, clean: bool
) -> None:
    """Names and counts are looked at as bytes before any regular expression: a file is
    read by pyarrow only when the core reader would take every value as it is."""
    from stockwatch.core.limits import Limits
    from stockwatch.sqlite import fast_reader

    rows = "".join(f"Store {s},Item {s},{s}\n" for s in range(50))
    path = tmp_path / "f.csv"
    path.write_text(f"store,item,count\n{rows}Berlin,{name},{count}\n{rows}", encoding="utf-8")
    if clean:
        assert fast_reader.check(path, Limits()) == 101
    else:
        with pytest.raises(fast_reader.NotClean):
            fast_reader.check(path, Limits())


def test_batches_read_in_a_thread_come_in_order_with_their_errors() -> None:
    """``in_a_thread`` hands on what it reads ahead in order, then the error that ended
    it; a consumer that stops early stops the reading thread."""
    import threading

    from stockwatch.sqlite.readahead import in_a_thread

    def source(n: int, fail: bool) -> Iterator[int]:
        yield from range(n)
        if fail:
            raise ValueError("not clean at the end")

    assert list(in_a_thread(source(50, False))) == list(range(50))
    got: list[int] = []
    with pytest.raises(ValueError, match="not clean at the end"):
        for item in in_a_thread(source(10, True)):
            got.append(item)
    assert got == list(range(10))
    early = in_a_thread(source(10_000, False))
    assert [next(early) for _ in range(3)] == [0, 1, 2]
    early.close()  # type: ignore[attr-defined]
    assert not any(t.name == "stockwatch-parse" for t in threading.enumerate())


def _threads_of_ours() -> list[str]:
    import threading

    names = ("stockwatch-parse", "stockwatch-sha256")
    return [t.name for t in threading.enumerate() if t.name in names]


def test_an_ingest_reads_the_kept_file_while_it_is_being_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ingest`` of a large local file begins reading the kept copy as soon as it is
    published (``EarlyRead``), beside the hash, ``fsync`` and the upload's registration. The
    results are those of reading it after (``receive`` then ``process_upload``), for a clean
    file, one found unclean part-way and a snapshot; the kept file's hash is its bytes'; no
    thread is left behind."""
    import hashlib

    from stockwatch.sqlite import readahead

    taken: list[Path] = []
    real_take = readahead.EarlyRead.take

    def take(self: readahead.EarlyRead, path: Path) -> Any:  # observes; the real one runs
        batches = real_take(self, path)
        if batches is not None:
            taken.append(path)
        return batches

    monkeypatch.setattr(readahead.EarlyRead, "take", take)
    # The snapshot lists Store 0 but for five items, which it sets to 0.
    files = [*_files(), csv_bytes(*[("Store 0", f"Item {i}", 2) for i in range(5, 1000)])]
    uploads = [Upload("day1.csv"), Upload("day2.csv"), Upload("only.csv", snapshot=True)]
    results = []
    for way in ("after", "early"):
        app = SqliteBackend(tmp_path / way, channel_names=("webhook",))
        app.read_ahead_min_bytes = 1
        try:
            reports = []
            for number, (upload, data) in enumerate(zip(uploads, files, strict=True)):
                path = tmp_path / f"{way}-{number}.csv"
                path.write_bytes(data)
                if way == "early":
                    with open(path, "rb") as source:
                        report = app.ingest(upload, source)
                    kept = app.upload(report.upload_id)  # type: ignore[arg-type]
                    assert kept is not None
                    assert kept.sha256 == hashlib.sha256(data).hexdigest()
                else:
                    report = app.process_upload(app.receive(upload, io.BytesIO(data)))
                reports.append(_shown(report))
            results.append((reports, [app.conn.execute(sql).fetchall() for sql in TABLES]))
        finally:
            app.close()
    assert results[0] == results[1]
    assert len(taken) == 3  # each file was read early: clean, unclean part-way, snapshot
    assert results[1][0][1]["rows_rejected"] == 2  # read by the core reader: "lots", a repeat
    assert results[1][0][2]["rows_zeroed"] == 4  # the fifth left out was 0 already
    assert _threads_of_ours() == []


def test_an_early_read_not_used_stops(tmp_path: Path) -> None:
    """A file over the size limit is refused before anything reads it, and a file for some
    stores only is read by the core reader: the early read is stopped either way."""
    app = SqliteBackend(tmp_path / "data", channel_names=("webhook",))
    app.read_ahead_min_bytes = 1
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(*[("Store 1", f"Item {i}", i) for i in range(200)]))
    try:
        app.limits = replace(app.limits, max_file_bytes=100)
        with open(path, "rb") as source:
            report = app.ingest(Upload("big.csv"), source)
        assert report.status == "rejected" and "larger than the limit" in (report.message or "")
        assert not list((tmp_path / "data" / "objects").rglob("*.part"))
        assert _threads_of_ours() == []
        app.limits = replace(app.limits, max_file_bytes=10**9)
        with open(path, "rb") as source:
            report = app.ingest(Upload("big.csv", scope=frozenset({"Store 1"})), source)
        assert report.rows_loaded == 200
        assert _threads_of_ours() == []
    finally:
        app.close()


def test_an_early_read_closed_before_its_file_is_kept_stops() -> None:
    """``close`` before ``start`` (the copy failed): the thread waiting for a path ends."""
    from stockwatch.core.limits import Limits
    from stockwatch.sqlite.readahead import EarlyRead

    early = EarlyRead(Limits())
    early.close()
    assert early.take(Path("anything.csv")) is None
    assert _threads_of_ours() == []


@pytest.mark.parametrize(
    ("row", "clean"),
    [
        ("Store 1,Item 1,5", True),
        ("Store 1,Item 1, 5", False),  # spaces around a count: not plain digits
        ("Store 1,Item 1,5 ", False),
        ("Store 1,Item 1,", False),
        ("Store 1,,5", False),
        ("Store 1," + "é" * 10 + ",5", True),  # 20 bytes, 10 characters: at the limit
        ("Store 1," + "é" * 11 + ",5", False),
        ("Store 1," + "x" * 10 + ",5", True),
        ("Store 1," + "x" * 11 + ",5", False),
        ("Store 1," + "\u3000Item" + ",5", False),  # an ideographic space around a name
    ],
)
def test_the_fast_checks_refuse_what_they_refused_by_characters(row: str, clean: bool) -> None:
    """Lengths are bounded by bytes first and characters counted only past the limit; a
    count's spaces are refused by the digits check: the same files are clean as before."""
    import tempfile

    from stockwatch.core.limits import Limits
    from stockwatch.sqlite import fast_reader

    limits = Limits(max_field_chars=10)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_text(f"store,item,count\n{row}\nStore 1,Other,3\n", encoding="utf-8")
        try:
            fast_reader.check(path, limits)
        except fast_reader.NotClean:
            assert not clean
        else:
            assert clean


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_line_near_the_length_limit_goes_to_the_core_reader(extra: int) -> None:
    """The longest store, item and count together bound a line of stockwatch's own layout;
    the lines are added up only when that bound is near the limit."""
    import tempfile

    from stockwatch.core.limits import Limits
    from stockwatch.sqlite import fast_reader

    limits = Limits(max_line_bytes=100, max_field_chars=200)
    room = 100 - 3 - 8  # as before: the line's bytes, its columns and 8 more
    # The longest store and the longest item are on different lines: their sum is over.
    item = "i" * (room - len("Store 1") - 1 + extra)
    rows = f"Store 1,{item},5\n{'S' * 60},Short,5\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_text("store,item,count\n" + rows, encoding="utf-8")
        try:
            fast_reader.check(path, limits)
        except fast_reader.NotClean:
            assert extra > 0
        else:
            assert extra <= 0
