"""Spreadsheets for the tests, written when asked (openpyxl for .xlsx, xlwt for .xls, and
an .ods put together by hand: a ZIP of its mimetype, manifest and content.xml)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Any

Sheet = tuple[str, Sequence[Sequence[Any]]]


def xlsx(*sheets: Sheet) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xls(*sheets: Sheet) -> bytes:
    import xlwt

    book = xlwt.Workbook()
    for name, rows in sheets:
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if value is None:
        return "<table:table-cell/>"
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def ods(*sheets: Sheet) -> bytes:
    tables = "".join(
        f'<table:table table:name="{name}">'
        + "".join(
            "<table:table-row>" + "".join(_cell(v) for v in row) + "</table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for name, rows in sheets
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", content)
    return out.getvalue()


SQUARE_HEADER = (
    "Token",
    "Item Name",
    "Variation Name",
    "SKU",
    "Price",
    "Current Quantity Main Street",
    "Current Quantity Harbour",
    "Price Main Street",
)
SQUARE_ROWS = (
    ("T1", "Coffee Beans", "Regular", "CB-1", 10.0, 5, None, 10.0),
    ("T2", "Green Tea", "Loose", "TEA-G", 4.0, "7", "2", 4.0),
    ("T3", "Cap", "Regular", "C-1", 4.0, 5.5, "1,204", 4.0),
)
# A note sheet first: the sheet read is the first whose header a layout reads.
SQUARE_BOOK: tuple[Sheet, ...] = (
    ("Notes", (("Exported from Square",),)),
    ("Items", (SQUARE_HEADER, *SQUARE_ROWS)),
)
SQUARE_STOCK = {
    ("Main Street", "Coffee Beans"): 5,
    ("Main Street", "Green Tea - Loose"): 7,
    ("Harbour", "Green Tea - Loose"): 2,
    ("Harbour", "Cap"): 1204,
}
