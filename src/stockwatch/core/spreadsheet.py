"""Spreadsheets (.xlsx, .xls, .ods) as lines of text fields, for the layouts to read.

Square exports an .xlsx, and a manager who keeps stock in Excel or LibreOffice saves a
workbook, not a CSV. python-calamine reads all three formats (it is Rust's calamine: fast,
kept up, no LibreOffice needed); openpyxl only writes the test files. A workbook is a ZIP
(or OLE) container whose index is at its end, so it cannot be read as a stream: it is
spooled, in memory up to ``SPOOL_MEMORY`` and then in a temporary file, under the same size
limit as any upload. Its rows then come one by one, as text, like a CSV's lines.

Cells become the text a CSV export would hold: whole numbers without ".0" (Excel keeps every
number as a float), other numbers as written, dates in ISO form.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from stockwatch.core.guard import FileRejected, Readable
from stockwatch.core.limits import Limits

SPOOL_MEMORY = 8 * 1024 * 1024
ZIP, OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


def is_workbook(head: bytes) -> bool:
    return head.startswith((ZIP, OLE))


def spool(head: bytes, source: Readable, limits: Limits) -> IO[bytes]:
    """The whole file, seekable: in memory while small, else in a temporary file."""
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    size = 0
    block = head
    while block:
        size += len(block)
        if size > limits.max_file_bytes:
            spooled.close()
            raise FileRejected(
                f"the file is larger than the limit of {limits.max_file_bytes:,} bytes "
                "(STOCKWATCH_MAX_FILE_BYTES); split it into smaller files"
            )
        spooled.write(block)
        block = source.read(1024 * 1024)
    spooled.seek(0)
    return spooled


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


class Workbook:
    """The sheets of one workbook; ``rows`` yields (spreadsheet row number, fields)."""

    def __init__(self, data: IO[bytes], head: bytes) -> None:
        try:
            from python_calamine import CalamineWorkbook
        except ImportError:  # pragma: no cover - a dependency; said plainly if missing
            raise FileRejected(
                "this is a spreadsheet, and python-calamine (which reads them) is not installed"
            ) from None
        self._data = data
        kind = "a ZIP archive" if head.startswith(ZIP) else "an old Excel .xls workbook"
        try:
            self._book = CalamineWorkbook.from_filelike(data)
        except Exception as exc:  # calamine's own errors; the file is not a workbook
            raise FileRejected(
                f"this is {kind} but not a spreadsheet stockwatch can read (.xlsx, .xls or"
                f" .ods): {str(exc)[:200]}; export it as CSV and upload that"
            ) from None
        self.sheet_names: list[str] = list(self._book.sheet_names)

    def close(self) -> None:
        self._book.close()
        self._data.close()

    def rows(self, sheet: str) -> Iterator[tuple[int, list[str]]]:
        found = self._book.get_sheet_by_name(sheet)
        first = found.start[0] if found.start else 0
        for index, row in enumerate(found.iter_rows()):
            yield first + index + 1, [cell_text(v) for v in row]

    def header(self, sheet: str) -> tuple[int, list[str]] | None:
        """The sheet's first non-empty row, and its row number."""
        for number, fields in self.rows(sheet):
            if any(f.strip() for f in fields):
                return number, fields
        return None

    def choose(
        self, wanted: str | None, recognised: Callable[[Sequence[str]], bool]
    ) -> tuple[str, int, list[str]]:
        """The sheet to read: ``wanted``, or the first whose header row ``recognised``."""
        if wanted is not None:
            if wanted not in self.sheet_names:
                raise FileRejected(
                    f"the workbook has no sheet {wanted!r}; its sheets are "
                    + ", ".join(repr(s) for s in self.sheet_names)
                )
            found = self.header(wanted)
            if found is None:
                raise FileRejected(f"the sheet {wanted!r} is empty")
            return wanted, *found
        first: tuple[str, int, list[str]] | None = None
        for name in self.sheet_names:
            found = self.header(name)
            if found is None:
                continue
            if recognised(found[1]):
                return name, *found
            first = first or (name, *found)
        if first is None:
            raise FileRejected("the workbook's sheets are all empty")
        return first  # no header recognised: the first sheet's, to explain what it lacks
