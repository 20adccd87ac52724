"""A file and its spreadsheet twin load the same (#29): the same rows, the same rejected
lines with the same reasons, the same SKUs and minimums, whatever the cells hold.

The twin is written by openpyxl (test-only) with each cell as the store system would leave
it: a count as a number where it is one, as text where it is not (" 5 ", "1,234", "5.5").
"""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockwatch.core.reader import InventoryFile
from tests.data import spreadsheets

NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s.strip() and not s.startswith(("=", "'")))
COUNT = st.one_of(
    st.integers(min_value=-50, max_value=5000),
    st.sampled_from([" 5 ", "1,234", "5.0", "5.5", "", "x", "-3"]),
)
LINES = st.lists(
    st.tuples(NAMES, NAMES, COUNT, st.sampled_from(["", "SKU-1", "SKU-2"])), min_size=1, max_size=15
)


def _text(value: Any) -> str:
    return str(value)


def _read(data: bytes, **reading: str) -> tuple[list[Any], list[Any], dict[str, Any]]:
    inventory = InventoryFile(io.BytesIO(data), reading=reading or None)
    try:
        rows = [row for chunk in inventory.chunks() for row in chunk]
    except Exception as exc:
        return [type(exc).__name__], [], {}
    errors = [(e.line, e.message) for e in inventory.errors]
    details = inventory.take_details()
    return rows, errors, {"skus": details.skus, "minimums": details.minimums}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_a_mapped_csv_and_its_xlsx_twin_load_the_same(
    lines: list[tuple[str, str, Any, str]],
) -> None:
    header = ("Shop", "Article", "On hand", "Code", "Reorder")
    body = [(store, item, count, sku, 3 if sku else "") for store, item, count, sku in lines]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(
        [header, *[[_text(v) for v in row] for row in body]]
    )
    book = spreadsheets.xlsx(
        ("Stock", [header, *[[v if v != "" else None for v in row] for row in body]])
    )
    columns = "store=Shop,item=Article,count=On hand,sku=Code,min=Reorder"
    assert _read(text.getvalue().encode(), columns=columns) == _read(book, columns=columns)
