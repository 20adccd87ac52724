"""Store systems' exports read as they are (``core.layouts`` through ``core.reader``)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from stockwatch.core import layouts
from stockwatch.core.guard import FileRejected
from stockwatch.core.model import Row, RowError
from stockwatch.core.reader import InventoryFile
from tests.conftest import sample
from tests.data import spreadsheets


def read(data: bytes, **reading: str) -> tuple[list[Row], InventoryFile]:
    inventory = InventoryFile(io.BytesIO(data), reading=reading or None)
    rows = [row for chunk in inventory.chunks() for row in chunk]
    return rows, inventory


def read_example(name: str) -> tuple[list[Row], InventoryFile]:
    return read(sample(f"exports/{name}").read_bytes())


def test_shopify_one_row_per_variant_and_location() -> None:
    rows, inventory = read_example("shopify-inventory.csv")
    assert inventory.layout == "shopify" and inventory.errors == []
    assert rows == [
        (2, "Main Street", "Classic Tee - Red / M", 12),
        # line 3: "not stocked" at Harbour: no row
        (4, "Main Street", "Classic Tee - Blue / L", 0),
        (5, "Harbour", "Classic Tee - Blue / L", 4),
        (6, "Main Street", "Enamel Mug", 1204),  # "Default Title", and "1,204"
        (7, "Harbour", "Enamel Mug", 7),  # Available, not On hand
    ]


def test_square_one_row_per_location_with_a_quantity() -> None:
    rows, inventory = read_example("square-item-library.csv")
    assert inventory.layout == "square" and inventory.errors == []
    assert rows == [
        (2, "Main Street", "Coffee Beans", 5),  # Regular: the name alone; blank Harbour
        (3, "Main Street", "Green Tea - Loose", 7),  # " 7 "
        (3, "Harbour", "Green Tea - Loose", 2),  # "2.0"
        (4, "Main Street", "Filter Papers", 0),
        (4, "Harbour", "Filter Papers", 12),
    ]
    # Price Main Street, Stock Alert Count Main Street: never read as stock
    assert {r[1] for r in rows} == {"Main Street", "Harbour"}


def test_lightspeed_x_outlets_from_inventory_columns() -> None:
    rows, inventory = read_example("lightspeed-x-products.csv")
    assert inventory.layout == "lightspeed-x"
    assert rows == [
        (2, "Main Street", "Classic Tee - Red / M", 4),
        (3, "Main Street", "Enamel Mug", 0),
        (3, "Harbour", "Enamel Mug", 9),
    ]


def test_lightspeed_r_shops_from_quantity_on_hand_columns() -> None:
    rows, inventory = read_example("lightspeed-r-items.csv")
    assert inventory.layout == "lightspeed-r"
    assert rows == [
        (2, "Main Street", "Blue Vase", 3),
        (2, "Harbour", "Blue Vase", 0),
        (3, "Main Street", "Red Vase", 1),
        (3, "Harbour", "Red Vase", 5),
    ]


def test_numbers_as_store_systems_write_them() -> None:
    assert layouts.count_text(" 5 ") == (5, None)
    assert layouts.count_text("5.0") == (5, None)
    assert layouts.count_text("1,234") == (1234, None)
    assert layouts.count_text("5.5") == (None, "is not a whole number")
    assert layouts.count_text("12,34") == (None, "is not a whole number")
    assert layouts.count_text("-3") == (-3, None)  # oversold


def test_a_bad_count_rejects_its_row_with_the_column_and_line() -> None:
    data = b"Handle,Title,Location,Available\ncap,Cap,Main Street,5.5\nmug,Mug,Main Street,3\n"
    rows, inventory = read(data)
    assert rows == [(3, "Main Street", "Mug", 3)]
    assert inventory.errors == [
        RowError(2, "Available", 'Available "5.5" is not a whole number', "Cap")
    ]


def test_an_unknown_header_is_rejected_with_the_way_to_load_it() -> None:
    with pytest.raises(FileRejected) as caught:
        read(b"Branch;Article;Qty on hand\nBerlin;Echo Dot;3\n")
    message = caught.value.message
    assert '"Branch", "Article", "Qty on hand"' in message  # what it found
    assert "closest layout is stockwatch's own" in message
    assert '--columns "store=Branch,item=Article,count=Qty on hand"' in message
    rows, inventory = read(
        b"Branch;Article;Qty on hand\nBerlin;Echo Dot;3\n",
        columns="store=Branch,item=Article,count=Qty on hand",
    )
    assert rows == [(2, "Berlin", "Echo Dot", 3)] and inventory.layout == "columns"


def test_the_closest_layout_names_what_it_lacks() -> None:
    with pytest.raises(FileRejected) as caught:
        read(b"Handle,Title,Location,On hand\nmug,Mug,Main Street,3\n")
    assert "shopify" in caught.value.message and "Available" in caught.value.message


def test_a_one_store_file_with_store_given() -> None:
    data = b"Article|Qty\nEcho Dot|4\n"  # a pipe-separated file
    rows, _ = read(data, columns="item=Article,count=Qty", store="Hamburg")
    assert rows == [(2, "Hamburg", "Echo Dot", 4)]
    with pytest.raises(FileRejected, match="--store"):
        read(data, columns="item=Article,count=Qty")
    rows, _ = read(b"item,count\nEcho Dot,4\n", store="Hamburg")
    assert rows == [(2, "Hamburg", "Echo Dot", 4)]


def test_a_forced_layout_that_does_not_fit_is_refused() -> None:
    data = sample("exports/shopify-inventory.csv").read_bytes()
    with pytest.raises(FileRejected, match="not the square layout's"):
        read(data, layout="square")
    with pytest.raises(FileRejected, match="no column 'Qty'"):
        read(data, columns="store=Location,item=Title,count=Qty")


def test_bom_crlf_and_a_legacy_encoding() -> None:
    data = "\ufeffHandle,Title,Location,Available\r\nbrot,Brötchen,Köln,3\r\n"
    rows, _ = read(data.encode("utf-8"))
    assert rows == [(2, "Köln", "Brötchen", 3)]
    rows, inventory = read(data.replace("\ufeff", "").encode("cp1252"))
    assert rows == [(2, "Köln", "Brötchen", 3)] and inventory.warnings  # said how it was read


def test_the_native_layout_is_unchanged() -> None:
    rows, inventory = read(b"store,item,count\nBerlin,Echo Dot,3\n")
    assert rows == [(2, "Berlin", "Echo Dot", 3)] and inventory.layout == "stockwatch"
    with pytest.raises(layouts.LayoutError, match="unknown role"):
        layouts.parse_columns("shop=Branch,item=A,count=B")


# -- spreadsheets -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [spreadsheets.xlsx, spreadsheets.xls, spreadsheets.ods])
def test_a_workbook_is_read_from_the_sheet_a_layout_reads(make: Any) -> None:
    rows, inventory = read(make(*spreadsheets.SQUARE_BOOK))
    assert inventory.layout == "square" and inventory.sheet == "Items"
    assert {(r[1], r[2]): r[3] for r in rows} == spreadsheets.SQUARE_STOCK
    # the spreadsheet's own row numbers; 5.5 refused with its column
    assert inventory.errors == [
        RowError(
            4,
            "Current Quantity Main Street",
            'Current Quantity Main Street "5.5" is not a whole number',
            "Cap",
        )
    ]


def test_a_workbook_sheet_by_name_and_a_native_one() -> None:
    book = spreadsheets.xlsx(
        ("Counts", (("store", "item", "count"), ("Berlin", "Echo Dot", 12))),
        ("Other", (("store", "item", "count"), ("Berlin", "Echo Dot", 3))),
    )
    rows, inventory = read(book)
    assert rows == [(2, "Berlin", "Echo Dot", 12)] and inventory.layout == "stockwatch"
    rows, _ = read(book, sheet="Other")
    assert rows == [(2, "Berlin", "Echo Dot", 3)]
    with pytest.raises(FileRejected, match="no sheet 'Missing'; its sheets are 'Counts', 'Other'"):
        read(book, sheet="Missing")


def test_a_workbook_no_layout_reads_says_how_to_map_it() -> None:
    book = spreadsheets.xlsx(("Sheet1", (("Branch", "Article", "Qty"), ("Berlin", "Echo", 3))))
    with pytest.raises(FileRejected) as caught:
        read(book)
    assert "sheet 'Sheet1'" in caught.value.message
    assert '--columns "store=Branch,item=Article,count=Qty"' in caught.value.message
    rows, _ = read(book, columns="store=Branch,item=Article,count=Qty")
    assert rows == [(2, "Berlin", "Echo", 3)]


def test_a_zip_that_is_no_workbook_is_one_clear_rejection() -> None:
    with pytest.raises(FileRejected, match="ZIP archive but not a spreadsheet"):
        read(b"PK\x03\x04" + bytes(200))


def test_a_saved_mapping_is_described_however_it_was_written() -> None:
    saved = layouts.SavedLayout("till", " item = Article ,count=Qty,", "Kiel")
    layouts.check_saved(saved)
    assert saved.to_json()["needs"] == ["Article", "Qty"]
    with pytest.raises(layouts.LayoutError, match="built-in"):
        layouts.check_saved(layouts.SavedLayout("shopify", "item=A,count=B", "Kiel"))
    with pytest.raises(layouts.LayoutError, match="give the store"):
        layouts.check_saved(layouts.SavedLayout("till", "item=A,count=B"))


def test_skus_and_minimums_travel_beside_the_rows() -> None:
    """core.details: each layout's SKU and minimum, for the rows that load."""
    _, square = read_example("square-item-library.csv")
    found = square.take_details()
    assert found.skus[("Harbour", "Green Tea - Loose")] == "TEA-G"
    # A minimum only where the alert is on at that location (Green Tea's is N).
    assert found.minimums == {
        ("Main Street", "Coffee Beans"): 3,
        ("Main Street", "Filter Papers"): 5,
    }
    assert not square.take_details()  # taken: the next chunk's start empty
    _, lightspeed = read_example("lightspeed-x-products.csv")
    assert lightspeed.take_details().minimums == {
        ("Main Street", "Classic Tee - Red / M"): 2,
        ("Main Street", "Enamel Mug"): 3,
        ("Harbour", "Enamel Mug"): 3,
    }
    _, shopify = read_example("shopify-inventory.csv")
    details = shopify.take_details()
    assert details.skus[("Main Street", "Classic Tee - Red / M")] == "TEE-RED-M"
    assert ("Harbour", "Classic Tee - Red / M") not in details.skus  # not stocked: no row


def test_a_bad_minimum_is_left_out_with_a_warning_and_the_count_still_loads() -> None:
    data = (
        b"Shop,Name,Qty,Reorder,Code\n"
        b"Kiel,Tap,2,5,T-1\n"
        b"Kiel,Sink,4,lots,S-1\n"
        b"Kiel,Hose,1,-2,\n"
        b"Kiel,Pipe,3,,P\x01\n"
    )
    rows, inventory = read(data, columns="store=Shop,item=Name,count=Qty,min=Reorder,sku=Code")
    assert [r[2] for r in rows] == ["Tap", "Sink", "Hose", "Pipe"] and inventory.errors == []
    details = inventory.take_details()
    assert details.minimums == {("Kiel", "Tap"): 5}
    assert details.skus == {("Kiel", "Tap"): "T-1", ("Kiel", "Sink"): "S-1"}
    assert inventory.warnings == [
        'line 3: Reorder "lots" is not a whole number; not set',
        'line 4: Reorder "-2" is negative; not set',
        'line 5: sku "P\\x01" cannot be kept',
    ]


def test_an_uploader_limited_to_some_stores_gives_only_their_details() -> None:
    data = sample("exports/lightspeed-x-products.csv").read_bytes()
    inventory = InventoryFile(io.BytesIO(data), stores=frozenset({"Harbour"}))
    for _ in inventory.chunks():
        pass
    assert inventory.take_details().minimums == {("Harbour", "Enamel Mug"): 3}


def test_plan_minimums_never_overwrites_a_hand_set_threshold() -> None:
    from stockwatch.core.details import changed_skus, plan_minimums

    wanted = {("A", "x"): 3, ("A", "y"): 4, ("A", "z"): 5, ("A", "w"): 6}
    current = {("A", "x"): (9, False), ("A", "y"): (4, True), ("A", "z"): (2, True)}
    plan = plan_minimums(wanted, current)
    assert plan.to_set == [("A", "z", 5), ("A", "w", 6)] and plan.kept_by_hand == 1
    assert changed_skus({("A", "x"): "1", ("A", "y"): "2"}, {("A", "x"): "1"}) == [("A", "y", "2")]
