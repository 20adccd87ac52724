"""Real-shaped exports of each store system (``tests/data/exports``), read as they are.

Written for these tests in the shape each system exports: every column it writes, in its
order, with the cells a till leaves (counts as text, ``1,020``, ``12.0``, `` 31 ``, an
oversold ``-2``, ``not stocked``, blank locations). Besides the counts, each checks what
must never be read as stock (``New Quantity``, ``Price <location>``, ``Enabled``,
reorder levels), the SKUs and the minimums; and that each file and its ``.xlsx`` twin load
the same.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from stockwatch.core.reader import InventoryFile
from tests.data import spreadsheets

EXPORTS = Path(__file__).parents[1] / "data" / "exports"

EXPECTED: dict[str, dict[str, Any]] = {
    "shopify-inventory.csv": {
        "layout": "shopify",
        "stock": {
            ("Old Town", "Harbour Hoodie - S / Navy"): 6,
            ("Waterfront", "Harbour Hoodie - S / Navy"): 0,
            ("Old Town", "Harbour Hoodie - M / Navy"): -2,
            ("Old Town", "Beeswax Candle"): 1204,
            ("Waterfront", "Beeswax Candle"): 31,
            ("Old Town", "Linen Tea Towel, Striped - Blue stripe"): 9,
        },
        "skus": {
            ("Waterfront", "Beeswax Candle"): "BC-01",
            ("Old Town", "Harbour Hoodie - M / Navy"): "HH-M-NVY",
        },
        "minimums": {},
    },
    "square-item-library.csv": {
        "layout": "square",
        "stock": {
            ("Old Town", "Cold Brew"): 24,
            ("Waterfront", "Cold Brew"): 3,
            ("Old Town", "Oat Cookie - Single"): 12,
            ("Old Town", "Oat Cookie - Box of 6"): 1020,
            ("Waterfront", "Oat Cookie - Box of 6"): 0,
        },
        "skus": {
            ("Waterfront", "Cold Brew"): "CB-330",
            ("Old Town", "Oat Cookie - Box of 6"): "OC-6",
        },
        "minimums": {
            ("Old Town", "Cold Brew"): 10,
            ("Waterfront", "Cold Brew"): 6,
            ("Old Town", "Oat Cookie - Box of 6"): 200,
            ("Waterfront", "Oat Cookie - Box of 6"): 4,
        },
    },
    "lightspeed-x-products.csv": {
        "layout": "lightspeed-x",
        "stock": {
            ("Old Town", "Trail Sock - 42 / Green"): 15,
            ("Water Front", "Trail Sock - 42 / Green"): 2,
            ("Old Town", "Trail Sock - 44 / Green"): 0,
            ("Old Town", "Enamel Flask"): -1,
            ("Water Front", "Enamel Flask"): 7,
        },
        "skus": {("Water Front", "Enamel Flask"): "EF-1"},
        "minimums": {
            ("Old Town", "Trail Sock - 42 / Green"): 5,
            ("Water Front", "Trail Sock - 42 / Green"): 5,
            ("Old Town", "Trail Sock - 44 / Green"): 5,
            ("Water Front", "Enamel Flask"): 2,
        },
    },
    "lightspeed-r-items.csv": {
        "layout": "lightspeed-r",
        "stock": {
            ("Old Town", "Blue Bowl"): 3,
            ("Waterfront", "Blue Bowl"): 0,
            ("Old Town", "Red Bowl"): 1,
            ("Waterfront", "Red Bowl"): 5,
        },
        "skus": {("Old Town", "Blue Bowl"): "BV-07", ("Waterfront", "Red Bowl"): "210000000102"},
        "minimums": {},
    },
}


def _read(data: bytes) -> dict[str, Any]:
    inventory = InventoryFile(io.BytesIO(data))
    rows = [row for chunk in inventory.chunks() for row in chunk]
    details = inventory.take_details()
    return {
        "layout": inventory.layout,
        "stock": {(s, i): c for _, s, i, c in rows},
        "errors": inventory.errors,
        "skus": details.skus,
        "minimums": details.minimums,
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_loads_as_it_is(name: str) -> None:
    found = _read((EXPORTS / name).read_bytes())
    expected = EXPECTED[name]
    assert (found["layout"], found["errors"]) == (expected["layout"], [])
    assert found["stock"] == expected["stock"]  # no other column was read as stock
    assert expected["skus"].items() <= found["skus"].items()
    assert found["minimums"] == expected["minimums"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_and_its_xlsx_twin_load_the_same(name: str) -> None:
    text = (EXPORTS / name).read_text(encoding="utf-8")
    cells = list(csv.reader(io.StringIO(text)))
    book = spreadsheets.xlsx(("Export", [[c if c != "" else None for c in row] for row in cells]))
    assert _read(book) == _read(text.encode())
