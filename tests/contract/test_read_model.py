"""The read model, the same on SQLite and on AWS: what the dashboard, API and CLI show."""

from __future__ import annotations

from stockwatch.core.rows import StockQuery, StockRow, UploadRow
from stockwatch.service.reads import list_alerts, list_stock
from tests.conftest import csv_bytes
from tests.contract.drivers import Backend

BERLIN = csv_bytes(
    ("Berlin", "Echo Dot", 12), ("Berlin", "Echo Plus", 0), ("Berlin", "Echo Show", 3)
)
PUSAN = csv_bytes(("Pusan", "Echo Dot", 0), ("Pusan", "Echo Look", 7))


def _loaded(backend: Backend) -> list[dict[str, object]]:
    backend.set_threshold("Berlin", "*", 5)
    return [
        backend.process(backend.receive(n, d)) for n, d in (("b.csv", BERLIN), ("p.csv", PUSAN))
    ]


def test_stores_lead_with_the_emptiest(backend: Backend) -> None:
    _loaded(backend)
    stores = backend.model().stores()
    assert [(s.store, s.items, s.out_of_stock) for s in stores] == [
        ("Berlin", 3, 1),
        ("Pusan", 2, 1),
    ]
    assert stores[0].low_stock == 1  # Echo Show: 3 < 5


def test_stock_pages_with_filters(backend: Backend) -> None:
    _loaded(backend)
    model = backend.model()
    everything = list_stock(model)
    assert [(r.store, r.item, r.count, r.status) for r in everything] == [
        ("Berlin", "Echo Dot", 12, "ok"),
        ("Berlin", "Echo Plus", 0, "out_of_stock"),
        ("Berlin", "Echo Show", 3, "low_stock"),
        ("Pusan", "Echo Dot", 0, "out_of_stock"),
        ("Pusan", "Echo Look", 7, "ok"),
    ]
    assert all(isinstance(r, StockRow) for r in everything)
    out = list_stock(model, status="out_of_stock")
    assert [(r.store, r.item) for r in out] == [("Berlin", "Echo Plus"), ("Pusan", "Echo Dot")]
    assert [r.item for r in list_stock(model, store="Pusan")] == ["Echo Dot", "Echo Look"]
    assert [(r.store, r.item) for r in list_stock(model, q="look")] == [("Pusan", "Echo Look")]
    first = model.stock_page(StockQuery("Berlin", limit=2))
    rest = model.stock_page(StockQuery("Berlin", after=(first[-1].store, first[-1].item), limit=2))
    assert [r.item for r in first + rest] == ["Echo Dot", "Echo Plus", "Echo Show"]


def test_alerts_newest_first_and_open_ones(backend: Backend) -> None:
    _loaded(backend)
    backend.process(backend.receive("b2.csv", csv_bytes(("Berlin", "Echo Plus", 9))))
    model = backend.model()
    opened = {(a.kind, a.store, a.item) for a in list_alerts(model, True, None)}
    assert opened == {("low_stock", "Berlin", "Echo Show"), ("out_of_stock", "Pusan", "Echo Dot")}
    every = {
        (a.kind, a.store, a.item, a.resolved_at is None) for a in list_alerts(model, False, None)
    }
    assert ("out_of_stock", "Berlin", "Echo Plus", False) in every
    assert ("back_in_stock", "Berlin", "Echo Plus", False) in every  # an event: born resolved
    newest = list_alerts(model, False, 1)
    assert [(a.kind, a.item) for a in newest] == [("back_in_stock", "Echo Plus")]


def test_uploads_and_their_reports(backend: Backend) -> None:
    reports = _loaded(backend)
    model = backend.model()
    listed = model.uploads(10, None)
    assert all(isinstance(u, UploadRow) for u in listed)
    assert [u.file for u in listed] == ["p.csv", "b.csv"]  # newest first
    assert [u.rows_loaded for u in listed] == [2, 3]
    one = model.upload(str(listed[1].id))
    assert one is not None and (one.file, one.status) == ("b.csv", "loaded")
    assert str(reports[0]["upload_id"]).replace("#", "~") == str(listed[1].id)
    assert model.uploads(1, str(listed[0].id))[0].file == "b.csv"  # the next page


def test_history_of_an_item(backend: Backend) -> None:
    backend.process(backend.receive("a.csv", csv_bytes(("Berlin", "Echo Dot", 9))))
    backend.process(backend.receive("b.csv", csv_bytes(("Berlin", "Echo Dot", 2))))
    backend.process(backend.receive("c.csv", csv_bytes(("Berlin", "Echo Dot", 2))))  # no change
    points = backend.model().history("Berlin", "Echo Dot")
    assert [(p.old_count, p.count) for p in points] == [(None, 9), (9, 2)]
    assert backend.model().history("Berlin", "Nothing") == []


def test_thresholds_set_listed_and_deleted(backend: Backend) -> None:
    from stockwatch.service.commands import DeleteThreshold, SetThresholds
    from stockwatch.service.thresholds import delete_threshold, set_thresholds

    model = backend.model()
    wanted = [(" Berlin ", "*", 5, None), ("*", "Echo Dot", 2, None)]
    set_thresholds(
        backend.threshold_change(), SetThresholds.of(wanted, new=True), None, names=backend.model()
    )
    assert [(t.store, t.item, t.minimum) for t in model.thresholds()] == [
        ("*", "Echo Dot", 2),
        ("Berlin", "*", 5),
    ]
    delete_threshold(backend.threshold_change(), DeleteThreshold("*", "Echo Dot"))
    assert [(t.store, t.item) for t in model.thresholds()] == [("Berlin", "*")]


def test_low_stock_is_one_rule_in_alerts_stock_and_store_figures(backend: Backend) -> None:
    """Below its minimum and above zero: low_stock alert, low_stock row, counted as low in
    the store's figures; at zero it is out of stock instead, and never both."""
    backend.set_threshold("Berlin", "*", 5)
    backend.set_threshold("Berlin", "Echo Dot", 2)  # the item's own minimum wins
    data = csv_bytes(
        ("Berlin", "Echo Dot", 3), ("Berlin", "Echo Show", 3), ("Berlin", "Echo Plus", 0)
    )
    backend.process(backend.receive("b.csv", data))
    model = backend.model()
    statuses = {r.item: r.status for r in list_stock(model)}
    assert statuses == {"Echo Dot": "ok", "Echo Show": "low_stock", "Echo Plus": "out_of_stock"}
    assert backend.open_alerts() == {
        ("low_stock", "Berlin", "Echo Show"),
        ("out_of_stock", "Berlin", "Echo Plus"),
    }
    (berlin,) = model.stores()
    assert (berlin.items, berlin.out_of_stock, berlin.low_stock) == (3, 1, 1)
