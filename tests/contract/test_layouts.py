"""Store systems' exports load as they are, and any other file after mapping its columns,
on SQLite and on AWS (moto); the S3 object's metadata carries the mapping there."""

from __future__ import annotations

from tests.conftest import csv_bytes, sample
from tests.contract.drivers import Backend
from tests.data import spreadsheets


def test_a_shopify_export_loads_and_reloads_unchanged(backend: Backend) -> None:
    data = sample("exports/shopify-inventory.csv").read_bytes()
    report = backend.process(backend.receive("shopify.csv", data))
    assert (report["status"], report["rows_loaded"], report["layout"]) == ("loaded", 5, "shopify")
    assert backend.stock() == {
        ("Main Street", "Classic Tee - Red / M"): 12,
        ("Main Street", "Classic Tee - Blue / L"): 0,
        ("Harbour", "Classic Tee - Blue / L"): 4,
        ("Main Street", "Enamel Mug"): 1204,
        ("Harbour", "Enamel Mug"): 7,
    }
    assert backend.notified_lines() == ["Main Street is out of stock of Classic Tee - Blue / L"]
    again = backend.process(backend.receive("shopify-again.csv", data))
    assert (again["rows_loaded"], again["rows_unchanged"]) == (0, 5)


def test_wide_exports_give_a_row_per_location(backend: Backend) -> None:
    for name in ("square-item-library.csv", "lightspeed-x-products.csv"):
        report = backend.process(backend.receive(name, sample(f"exports/{name}").read_bytes()))
        assert report["status"] == "loaded", report
    stock = backend.stock()
    assert stock[("Harbour", "Green Tea - Loose")] == 2
    assert stock[("Harbour", "Enamel Mug")] == 9
    assert ("Harbour", "Coffee Beans") not in stock  # blank: not stocked there


def test_a_mapped_file_of_one_store(backend: Backend) -> None:
    data = b"Article;Qty on hand\nEcho Dot;4\nEcho Show;0\n"
    refused = backend.process(backend.receive("till.csv", data))
    assert refused["status"] == "rejected" and refused["rows_loaded"] == 0
    assert '--columns "item=Article,count=Qty on hand"' in refused["message"]
    report = backend.process(
        backend.receive(
            "till-mapped.csv", data, columns="item=Article,count=Qty on hand", store="Hamburg"
        )
    )
    assert (report["status"], report["rows_loaded"], report["layout"]) == ("loaded", 2, "columns")
    assert backend.stock() == {("Hamburg", "Echo Dot"): 4, ("Hamburg", "Echo Show"): 0}


def test_a_forced_layout_that_does_not_fit_loads_nothing(backend: Backend) -> None:
    data = sample("exports/shopify-inventory.csv").read_bytes()
    report = backend.process(backend.receive("forced.csv", data, layout="square"))
    assert report["status"] == "rejected" and "not the square layout's" in report["message"]
    assert backend.stock() == {}


def test_a_workbook_loads_from_the_sheet_a_layout_reads(backend: Backend) -> None:
    data = spreadsheets.xlsx(*spreadsheets.SQUARE_BOOK)
    report = backend.process(backend.receive("square.xlsx", data))
    assert (report["status"], report["layout"], report["rows_loaded"]) == (
        "loaded_with_errors",
        "square",
        4,
    )
    assert backend.stock() == spreadsheets.SQUARE_STOCK
    named = backend.process(
        backend.receive(
            "counts.ods",
            spreadsheets.ods(
                ("Notes", (("x",),)),
                ("Counts", (("store", "item", "count"), ("Berlin", "Echo Dot", 3))),
            ),
            sheet="Counts",
        )
    )
    assert named["rows_loaded"] == 1 and backend.stock()[("Berlin", "Echo Dot")] == 3


def test_a_mapping_saved_once_reads_the_stores_files(backend: Backend) -> None:
    from stockwatch.core.layouts import SavedLayout
    from stockwatch.service.layouts import save_layout

    runtime = backend.backend  # type: ignore[attr-defined]
    save_layout(runtime.save_layout, SavedLayout("till", "item=Article,count=Qty", "Kiel"), "t")
    by_name = backend.process(
        backend.receive("till.csv", b"Article,Qty\nEcho Dot,9\n", layout="till")
    )
    assert (by_name["rows_loaded"], by_name["layout"]) == (1, "till")
    by_store = backend.process(backend.receive("kiel.csv", b"Article,Qty\nTap,2\n", store="Kiel"))
    assert (by_store["rows_loaded"], by_store["layout"]) == (1, "till")
    assert backend.stock() == {("Kiel", "Echo Dot"): 9, ("Kiel", "Tap"): 2}
    # A file a layout reads is read by it, whatever mapping the store has.
    native = backend.process(
        backend.receive("kiel-own.csv", csv_bytes(("Kiel", "Tap", 5)), store="Kiel")
    )
    assert (native["rows_loaded"], native["layout"]) == (1, "stockwatch")
    assert runtime.delete_layout("till") and "till" not in runtime.saved_layouts()


def test_an_oversold_count_is_out_of_stock_until_it_comes_back(backend: Backend) -> None:
    from stockwatch.core.rows import StockQuery

    backend.process(backend.receive("a.csv", csv_bytes(("Berlin", "Echo Dot", 4))))
    backend.notified_lines()
    report = backend.process(backend.receive("b.csv", csv_bytes(("Berlin", "Echo Dot", -3))))
    assert (report["status"], report["rows_loaded"]) == ("loaded", 1)
    assert backend.stock() == {("Berlin", "Echo Dot"): -3}
    assert backend.notified_lines() == ["Berlin is out of stock of Echo Dot"]
    (row,) = backend.model().stock_page(StockQuery("Berlin", limit=10))
    assert (row.count, row.status) == (-3, "out_of_stock")
    backend.process(backend.receive("c.csv", csv_bytes(("Berlin", "Echo Dot", -1))))
    assert backend.notified_lines() == []  # still out: no second alert
    backend.process(backend.receive("d.csv", csv_bytes(("Berlin", "Echo Dot", 6))))
    assert backend.open_alerts() == set()


def test_an_items_sku_is_kept_and_found(backend: Backend) -> None:
    from stockwatch.core.rows import StockQuery

    for name in ("shopify-inventory.csv", "lightspeed-r-items.csv"):
        report = backend.process(backend.receive(name, sample(f"exports/{name}").read_bytes()))
        assert report["status"] == "loaded", report
    model = backend.model()
    rows = {(r.store, r.item): r.sku for r in model.stock_page(StockQuery(limit=100))}
    assert rows[("Main Street", "Classic Tee - Red / M")] == "TEE-RED-M"
    assert rows[("Harbour", "Blue Vase")] == "VASE-BLU"
    assert rows[("Main Street", "Red Vase")] == "210000000002"  # no Custom SKU: System ID
    found = model.stock_page(StockQuery(q="vase-b", limit=10))
    assert {(r.store, r.item) for r in found} == {
        ("Main Street", "Blue Vase"),
        ("Harbour", "Blue Vase"),
    }
    # A re-upload with the same SKUs writes none; a changed one replaces the old.
    data = sample("exports/lightspeed-r-items.csv").read_bytes().replace(b"VASE-BLU", b"VASE-B2")
    backend.process(backend.receive("again.csv", data))
    (row, *_) = model.stock_page(StockQuery(q="VASE-B2", limit=10))
    assert (row.item, row.sku) == ("Blue Vase", "VASE-B2")
    assert model.stock_page(StockQuery(q="VASE-BLU", limit=10)) == []


def test_minimums_from_the_file_set_thresholds_but_never_over_a_hand_set_one(
    backend: Backend,
) -> None:
    backend.set_threshold("Main Street", "Coffee Beans", 9)  # by hand: it wins
    square = sample("exports/square-item-library.csv").read_bytes()
    report = backend.process(backend.receive("square.csv", square))
    assert (report["status"], report["thresholds_set"]) == ("loaded", 1), report
    lightspeed = sample("exports/lightspeed-x-products.csv").read_bytes()
    report = backend.process(backend.receive("ls.csv", lightspeed))
    assert report["thresholds_set"] == 3
    found = {(t.store, t.item): (t.minimum, t.from_file) for t in backend.model().thresholds()}
    assert found == {
        ("Main Street", "Coffee Beans"): (9, False),  # Square says 3: the hand-set 9 stays
        ("Main Street", "Filter Papers"): (5, True),
        ("Main Street", "Classic Tee - Red / M"): (2, True),
        ("Main Street", "Enamel Mug"): (3, True),
        ("Harbour", "Enamel Mug"): (3, True),
    }
    # Coffee Beans: 5 below the hand-set 9, judged by it on the same upload.
    assert ("low_stock", "Main Street", "Coffee Beans") in backend.open_alerts()
    # The same file again sets nothing; a changed reorder point is set, and judged by.
    again = backend.process(backend.receive("ls-again.csv", lightspeed))
    assert again["thresholds_set"] == 0
    raised = lightspeed.replace(
        b"Classic Tee,Color,Red,Size,M,8.00,25.00,4,2,",
        b"Classic Tee,Color,Red,Size,M,8.00,25.00,3,6,",
    )
    changed = backend.process(backend.receive("ls-raised.csv", raised))
    assert (changed["thresholds_set"], changed["rows_loaded"]) == (1, 1)
    assert ("low_stock", "Main Street", "Classic Tee - Red / M") in backend.open_alerts()
    # Set by hand over a file's minimum: the manager's from then on.
    backend.set_threshold("Main Street", "Filter Papers", 7)
    again = backend.process(backend.receive("square-again.csv", square))
    assert again["thresholds_set"] == 0
    found = {(t.store, t.item): (t.minimum, t.from_file) for t in backend.model().thresholds()}
    assert found[("Main Street", "Filter Papers")] == (7, False)


def test_a_minimum_raised_over_an_unchanged_count_alerts_once(backend: Backend) -> None:
    lightspeed = sample("exports/lightspeed-x-products.csv").read_bytes()
    backend.process(backend.receive("ls.csv", lightspeed))
    backend.notified_lines()
    # Classic Tee stays at 4; its reorder point goes from 2 to 5.
    raised = lightspeed.replace(b",4,2,10,", b",4,5,10,")
    report = backend.process(backend.receive("ls-raised.csv", raised))
    assert (report["rows_loaded"], report["thresholds_set"]) == (0, 1)
    assert ("low_stock", "Main Street", "Classic Tee - Red / M") in backend.open_alerts()
    assert backend.notified_lines() == [
        "Main Street is low on Classic Tee - Red / M: 4 left (minimum 5)"
    ]
    again = backend.process(backend.receive("ls-again.csv", raised))
    assert again["thresholds_set"] == 0 and backend.notified_lines() == []


def test_a_file_of_some_items_leaves_the_other_items_skus_alone(backend: Backend) -> None:
    from stockwatch.core.rows import StockQuery

    columns = "store=Shop,item=Name,count=Qty,sku=Code"
    backend.process(
        backend.receive(
            "all.csv", b"Shop,Name,Qty,Code\nKiel,Tap,2,T-1\nKiel,Sink,4,S-1\n", columns=columns
        )
    )
    backend.process(
        backend.receive("some.csv", b"Shop,Name,Qty,Code\nKiel,Sink,5,S-2\n", columns=columns)
    )
    rows = backend.model().stock_page(StockQuery("Kiel", limit=10))
    assert {(r.item, r.sku) for r in rows} == {("Tap", "T-1"), ("Sink", "S-2")}
