"""People limited to stores, the same on SQLite and on AWS: what they may load and read.

The scope travels with the file (an upload column on one machine, S3 object metadata on
AWS) and is checked where the file is read, so no path loads around it.
"""

from __future__ import annotations

from stockwatch.core.rows import StockQuery
from stockwatch.service.reads import list_alerts, list_stock
from stockwatch.service.scope import OutOfScope, scoped, scoped_notes
from tests.conftest import csv_bytes
from tests.contract.drivers import Backend

BERLIN = frozenset({"Berlin"})
MIXED = csv_bytes(
    ("Berlin", "Echo Dot", 4),
    ("Karachi", "Echo Dot", 0),
    ("Berlin", "Echo Plus", 0),
    ("Karachi", "Tap", 9),
)


def test_a_store_users_mixed_upload_loads_its_own_rows_and_rejects_the_others(
    backend: Backend,
) -> None:
    report = backend.process(backend.receive("mixed.csv", MIXED, uploader="shop", scope=BERLIN))
    assert report["status"] == "loaded_with_errors"
    assert report["rows_loaded"] == 2 and report["rows_rejected"] == 2
    assert [(e["line"], e["field"], e["message"]) for e in report["errors"]] == [
        (3, "store", 'store "Karachi" is not one of yours'),
        (5, "store", 'store "Karachi" is not one of yours'),
    ]
    assert report["uploaded_by"] == "shop" and report["scope"] == ["Berlin"]
    assert backend.stock() == {("Berlin", "Echo Dot"): 4, ("Berlin", "Echo Plus"): 0}
    assert [(s, i) for _, s, i in backend.raised()] == [("Berlin", "Echo Plus")]
    upload = backend.model().uploads(10, None)[0]
    assert upload.uploaded_by == "shop" and upload.rows_rejected == 2


def test_in_strict_mode_a_row_of_another_store_rejects_the_whole_file(backend: Backend) -> None:
    handle = backend.receive("mixed.csv", MIXED, strict=True, uploader="shop", scope=BERLIN)
    report = backend.process(handle)
    assert report["status"] == "rejected" and report["rows_loaded"] == 0
    assert "strict mode" in report["message"]
    assert backend.stock() == {}


def test_an_unscoped_upload_loads_every_store(backend: Backend) -> None:
    report = backend.process(backend.receive("all.csv", MIXED, uploader="hq"))
    assert report["rows_loaded"] == 4 and report["uploaded_by"] == "hq"
    assert report["scope"] is None


def test_scoped_reads_show_only_the_readers_stores(backend: Backend) -> None:
    backend.process(backend.receive("all.csv", MIXED, uploader="hq"))
    backend.process(
        backend.receive(
            "b.csv", csv_bytes(("Berlin", "Echo Show", 0)), uploader="shop", scope=BERLIN
        )
    )
    everything = backend.model()
    mine = scoped(everything, BERLIN)
    assert [s.store for s in mine.stores()] == ["Berlin"]
    assert {r.store for r in list_stock(mine)} == {"Berlin"}
    assert len(list_stock(mine)) == 3 and len(list_stock(everything)) == 5
    assert {a.store for a in list_alerts(mine, open_only=True, limit=None)} == {"Berlin"}
    assert [r.store for r in mine.item_everywhere("Echo Dot", 10)] == ["Berlin"]
    # Only the uploads whose rows could name nothing but Berlin: hq's named every store.
    assert [u.uploaded_by for u in mine.uploads(10, None)] == ["shop"]
    assert [u.uploaded_by for u in everything.uploads(10, None)] == ["shop", "hq"]
    hq_upload = everything.uploads(10, None)[1]
    assert mine.upload(str(hq_upload.id)) is None
    karachi = next(a for a in list_alerts(everything, True, None) if a.store == "Karachi")
    notes = scoped_notes(backend.notes(), everything, BERLIN)
    assert notes.acknowledge(str(karachi.id), "shop", None) is False
    for read in (
        lambda: mine.history("Karachi", "Tap"),
        lambda: mine.stock_page(StockQuery("Karachi", limit=10)),
        lambda: mine.alerts(False, 10, "Karachi"),
    ):
        try:
            read()
        except OutOfScope as exc:
            assert "'Karachi' is not one of yours" in str(exc)
        else:
            raise AssertionError("a read of Karachi was answered")


def test_scoped_stock_pages_across_the_readers_stores(backend: Backend) -> None:
    rows = [(store, f"item {n:02}", n) for store in ("Athens", "Berlin", "Cairo") for n in range(7)]
    backend.process(backend.receive("all.csv", csv_bytes(*rows)))
    mine = scoped(backend.model(), frozenset({"Athens", "Cairo"}))
    seen = []
    after = None
    while True:
        page = mine.stock_page(StockQuery(after=after, limit=4))
        seen += [(r.store, r.item) for r in page]
        if len(page) < 4:
            break
        after = (page[-1].store, page[-1].item)
    assert seen == [(s, f"item {n:02}") for s in ("Athens", "Cairo") for n in range(7)]
