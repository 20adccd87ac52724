"""Stock as CSV for spreadsheets, safe to open: no cell is ever taken for a formula.

A store or item name such as ``=HYPERLINK(...)`` or ``@SUM(...)`` came from an uploaded
file; Excel, LibreOffice and Google Sheets would run it. Any text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with an apostrophe,
which the spreadsheet shows as text (the OWASP advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from stockwatch.core.rows import StockRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "store",
    "item",
    "sku",
    "count",
    "status",
    "updated_at",
    "daily_usage",
    "days_of_cover",
    "runs_out_on",
)


def spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def stock_csv(rows: Iterable[StockRow]) -> Iterator[str]:
    """The header, then one CSV line per row, produced as the rows are read."""
    return rows_csv(COLUMNS, rows)


def rows_csv(columns: Sequence[str], rows: Iterable[Any]) -> Iterator[str]:
    """The header, then one CSV line per row (its attributes ``columns``; None is an empty
    cell), produced as the rows are read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(getattr(row, column)) for column in columns])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
