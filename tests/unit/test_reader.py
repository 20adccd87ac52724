"""Reading inventory files: formats people actually send, and every way they go wrong."""

from __future__ import annotations

import codecs
import io
import tracemalloc

import pytest

from stockwatch.core.limits import Limits
from stockwatch.core.model import Row
from stockwatch.core.reader import FileRejected, InventoryFile


def read(data: bytes, limits: Limits | None = None) -> tuple[list[Row], InventoryFile]:
    inventory = InventoryFile(io.BytesIO(data), limits)
    rows = [row for chunk in inventory.chunks(3) for row in chunk]
    return rows, inventory


def rejected(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(FileRejected) as caught:
        read(data, limits)
    return caught.value.message


BERLIN = b"Store,item,count\nBerlin,Echo Dot,12\nBerlin,Echo Plus,0\n"


def test_lab_format_reads_with_line_numbers() -> None:
    rows, inventory = read(BERLIN)
    assert rows == [(2, "Berlin", "Echo Dot", 12), (3, "Berlin", "Echo Plus", 0)]
    assert inventory.errors == [] and inventory.warnings == []


def test_shared_sample_file_reads() -> None:
    from tests.conftest import sample

    rows, _ = read(sample("inventory-berlin.csv").read_bytes())
    assert len(rows) == 6
    assert ("Berlin", "Echo Plus", 0) in [r[1:] for r in rows]


@pytest.mark.parametrize(
    "data",
    [
        b"COUNT , Item,STORE\n12,Echo Dot,Berlin\n",
        b"store;item;count\nBerlin;Echo Dot;12\n",
        b"store\titem\tcount\nBerlin\tEcho Dot\t12\n",
        b"store,item,count\r\nBerlin,Echo Dot,12\r\n",
        b"store,item,count\nBerlin,Echo Dot,12",
        b"\n\nstore,item,count\n\nBerlin,Echo Dot,12\n\n",
        codecs.BOM_UTF8 + b"store,item,count\nBerlin,Echo Dot,12\n",
        " Berlin ,  Echo Dot , 12 ".join(["store,item,count\n", ""]).encode(),
    ],
    ids=[
        "case-and-order",
        "semicolon",
        "tab",
        "crlf",
        "no-final-newline",
        "blank-lines",
        "utf8-bom",
        "spaces",
    ],
)
def test_accepted_variants(data: bytes) -> None:
    rows, inventory = read(data)
    assert [r[1:] for r in rows] == [("Berlin", "Echo Dot", 12)]
    assert inventory.errors == []


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom(codec: str) -> None:
    text = 'store,item,count\nMünchen,Écho "Dot",3\n'
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    rows, _ = read(data)
    assert [r[1:] for r in rows] == [("München", 'Écho "Dot"', 3)]


def test_quoted_names_with_commas_and_quotes() -> None:
    rows, _ = read(b'store,item,count\n"Berlin, Mitte","Echo ""Dot""",4\n')
    assert rows == [(2, "Berlin, Mitte", 'Echo "Dot"', 4)]


def test_an_oversold_count_loads() -> None:
    """Store systems export an item sold past zero as a negative count: out of stock."""
    rows, inventory = read(b"store,item,count\nBerlin,Echo Dot,-3\n")
    assert rows == [(2, "Berlin", "Echo Dot", -3)] and inventory.errors == []


def test_extra_columns_are_ignored_with_a_warning() -> None:
    rows, inventory = read(b"store,price,item,count,notes\nBerlin,9.99,Echo,3,x\n")
    assert rows == [(2, "Berlin", "Echo", 3)]
    assert inventory.warnings == ['line 1: ignoring extra columns: "price", "notes"']


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("Berlin,Echo Dot,twelve", "count", 'count "twelve" is not a whole number'),
        (
            "Berlin,Echo Dot,-99999999999999",
            "count",
            'count "-99999999999999" is below the minimum -1,000,000,000,000',
        ),
        ("Berlin,Echo Dot,2.5", "count", 'count "2.5" is not a whole number'),
        ("Berlin,Echo Dot,", "count", "count is empty"),
        ("Berlin,Echo Dot,+4", "count", 'count "+4" is not a whole number'),
        ("Berlin,Echo Dot,1_000", "count", 'count "1_000" is not a whole number'),
        ("Berlin,Echo Dot,٣", "count", 'count "\\u0663" is not a whole number'),
        (
            "Berlin,Echo Dot,99999999999999",
            "count",
            'count "99999999999999" is larger than the maximum 1,000,000,000,000',
        ),
        (",Echo Dot,3", "store", "store is empty"),
        ("Berlin,   ,3", "item", "item is empty"),
        ("Berlin,Echo Dot", "count", "count is missing (the line has 2 of 3 fields)"),
        ("Berlin,Echo Dot,3,surprise", "", "the line has 4 fields but the header has 3"),
    ],
)
def test_row_errors_name_line_field_and_reason(line: str, field: str, message: str) -> None:
    data = f"store,item,count\nBerlin,Echo Show,1\n{line}\nBerlin,Echo Look,2\n".encode()
    rows, inventory = read(data)
    assert [r[2] for r in rows] == ["Echo Show", "Echo Look"]
    assert len(inventory.errors) == 1
    error = inventory.errors[0]
    assert (error.line, error.field, error.message) == (3, field, message)
    assert error.describe("inventory-berlin.csv").startswith("inventory-berlin.csv:3: ")


def test_trailing_empty_fields_are_fine() -> None:
    rows, inventory = read(b"store,item,count\nBerlin,Echo,3,,\n,,\n")
    assert rows == [(2, "Berlin", "Echo", 3)]
    assert inventory.errors == []


def test_names_longer_than_the_limit_are_rejected() -> None:
    rows, inventory = read(
        b"store,item,count\nBerlin," + b"x" * 30 + b",1\n", Limits(max_field_chars=20)
    )
    assert rows == []
    assert inventory.errors[0].message == "item is 30 characters long; at most 20 are allowed"


def test_quoted_line_break_is_an_error_and_later_lines_keep_their_numbers() -> None:
    data = b'store,item,count\nBerlin,"Echo\nDot",1\nBerlin,Echo Show,2\nBerlin,Tap,x\n'
    rows, inventory = read(data)
    assert rows == [(4, "Berlin", "Echo Show", 2)]
    assert [(e.line, e.field) for e in inventory.errors] == [(2, "item"), (5, "count")]
    assert "line break" in inventory.errors[0].message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"store,item,count\n", "has a header but no inventory rows"),
        (b"store,item,count\n\n\n", "has a header but no inventory rows"),
        (b"shop,product,qty\nBerlin,Echo,1\n", "missing store, item, count"),
        (b"store,item\nBerlin,Echo\n", "missing count"),
        (b"store,item,count,count\nB,E,1,2\n", "names the column count twice"),
        (b"PK\x03\x04" + b"\x00" * 40, "ZIP archive"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "gzip"),
        (b"%PDF-1.7\n", "PDF document"),
        ("store,item,count\nB,E,1\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        (b"\xff\xfe\x00\x00s\x00\x00\x00", "UTF-32"),
        (b"store,item,count\nBerlin,Ec\x00ho,1\n", "line 2 contains a NUL byte"),
        (b"\x00\x01\x02\x03binary", "binary data"),
    ],
)
def test_whole_file_rejections_say_what_to_fix(data: bytes, expected: str) -> None:
    assert expected in rejected(data)


def test_line_too_long_is_a_clear_error() -> None:
    data = b"store,item,count\nBerlin,Echo," + b"1" * 5000 + b"\n"
    assert "longer than the limit of 1,000 bytes" in rejected(data, Limits(max_line_bytes=1000))


def test_unterminated_quote_cannot_swallow_the_rest_unbounded() -> None:
    data = b'store,item,count\nBerlin,"Echo,1\n' + b"Berlin,Echo Dot,1\n" * 20000
    message = rejected(data, Limits(max_line_bytes=4096))
    assert "field larger than field limit" in message or "longer than the limit" in message


def test_header_with_too_many_columns() -> None:
    header = ",".join(["store", "item", "count", *(f"c{i}" for i in range(100))])
    assert "103 columns; at most 50" in rejected(f"{header}\nB,E,1\n".encode())


def test_too_many_rows_and_too_many_bytes() -> None:
    data = b"store,item,count\n" + b"".join(b"B,E%d,1\n" % i for i in range(50))
    assert "more than 10 rows" in rejected(data, Limits(max_rows=10))
    assert "larger than the limit of 100 bytes" in rejected(data, Limits(max_file_bytes=100))


def test_error_list_is_capped_but_every_bad_row_is_counted() -> None:
    data = b"store,item,count\n" + b"B,E,x\n" * 50 + b"B,F,1\n"
    rows, inventory = read(data, Limits(max_errors_reported=5))
    assert len(rows) == 1
    assert inventory.rows_rejected == 50
    assert len(inventory.errors) == 5


def test_thresholds_files_use_the_same_reader() -> None:
    inventory = InventoryFile(
        io.BytesIO(b"store,item,minimum\n*,Echo,5\nB,E,-1\n"), value_column="minimum"
    )
    rows = [row for chunk in inventory.chunks() for row in chunk]
    assert rows == [(2, "*", "Echo", 5)]
    assert inventory.errors[0].message == 'minimum "-1" is negative'


class _GeneratedFile:
    """A large inventory file produced on the fly, so the test itself holds no copy of it."""

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._next = 0
        self._pending = b"store,item,count\n"

    def read(self, size: int = -1) -> bytes:
        if len(self._pending) < size and self._next < self._rows:
            start, self._next = self._next, min(self._rows, self._next + 2000)
            self._pending += b"".join(
                b"Store %05d,Item %05d,%d\n" % (i // 1000, i % 1000, i % 7)
                for i in range(start, self._next)
            )
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def test_memory_does_not_grow_with_the_file() -> None:
    def peak(rows: int) -> int:
        tracemalloc.start()
        inventory = InventoryFile(_GeneratedFile(rows))
        total = sum(len(chunk) for chunk in inventory.chunks(1000))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert total == rows
        return top

    small, large = peak(10_000), peak(100_000)
    assert large < small * 1.5, (small, large)


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1f", "\t"])
def test_a_name_holding_a_control_or_line_separator_is_refused_by_line(char: str) -> None:
    """Such a name broke every mail that mentioned it (#25): the row is rejected, with why."""
    data = f'store,item,count\nBerlin,Echo Dot,3\nBerlin,"Echo{char}Plus",0\n'.encode()
    reader = InventoryFile(io.BytesIO(data), Limits())
    rows = [row for chunk in reader.chunks() for row in chunk]
    assert [r[2] for r in rows] == ["Echo Dot"]
    (error,) = reader.errors
    assert (error.line, error.field) == (3, "item")
    assert f"U+{ord(char):04X}" in error.message


def test_a_subject_is_made_one_line_and_ascii_where_asked() -> None:
    from stockwatch.core.digest import header_text

    assert header_text("Berlin: Echo\u2028Dot\r\nBcc: x") == "Berlin: Echo Dot Bcc: x"
    assert header_text("München \u2028 out", 9, ascii_only=True) == "M?nchen o"


def test_a_row_wider_than_any_header_is_refused_as_it_is_read() -> None:
    """Rows of 60,000 empty fields, each under the line limit, made a 48 MB file peak at
    400 MB (#25): such a row is rejected by line, and memory stays that of a plain file."""
    wide = "Berlin,Echo Dot,3" + "," * 60_000 + "\n"
    body = "".join(wide if n % 2 else f"Berlin,Item {n},{n}\n" for n in range(400))

    def peak(data: bytes) -> tuple[int, InventoryFile, int]:
        tracemalloc.start()
        inventory = InventoryFile(io.BytesIO(data), Limits())
        loaded = sum(len(chunk) for chunk in inventory.chunks(5000))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top, inventory, loaded

    top, inventory, loaded = peak(("store,item,count\n" + body).encode())
    assert loaded == 200 and inventory.rows_rejected == 200
    first = inventory.errors[0]
    assert first.line == 3 and "60,003 fields; at most 50" in first.message
    plain, _, _ = peak(("store,item,count\n" + "Berlin,Dot,1\n" * 400).encode())
    assert top < plain + 20 * 1024 * 1024, (top, plain)  # the file itself is 24 MB


def test_excel_csv_on_windows_reads_as_windows_1252_and_says_so() -> None:
    """Excel on Windows saves CSV as Windows-1252: "München" on line 2 had the whole file
    rejected (#27). It reads now, byte by byte where UTF-8 fails, and the report says so."""
    data = "store,item,count\nMünchen,Café “Echo”,3\nBerlin,Echo,1\n".encode("cp1252")
    rows, inventory = read(data)
    assert rows == [(2, "München", "Café “Echo”", 3), (3, "Berlin", "Echo", 1)]
    (warning,) = inventory.warnings
    assert warning.startswith("line 2: the file is not valid UTF-8; it was read as Windows-1252")
    utf8, plain = read("store,item,count\nMünchen,Café,3\n".encode())
    assert utf8 == [(2, "München", "Café", 3)] and plain.warnings == []


def test_a_byte_that_is_neither_utf8_nor_windows_1252_is_rejected_at_its_exact_line() -> None:
    """Reported "near line 10,940" for line 11,002 (#25): the decoder reads ahead. A row
    whose bytes are not text in either encoding is rejected by its own line, and only it."""
    rows = [f"Berlin,Item {n},{n}\n".encode() for n in range(2, 20_000)]
    rows[11_002 - 2] = b"Berlin,Caf\xe9 \x81\x8d,3\n"  # line 11,002 holds the bad bytes
    rows[15_000 - 2] = b"M\xfcnchen,Item,4\n"
    loaded, inventory = read(b"store,item,count\n" + b"".join(rows))
    assert len(loaded) == 20_000 - 3 and (15_000, "München", "Item", 4) in loaded
    (error,) = inventory.errors
    assert error.line == 11_002 and "neither UTF-8 nor Windows-1252" in error.message
    assert inventory.warnings[0].startswith("line 11002: the file is not valid UTF-8")


def test_the_examples_are_the_demo_s_files_of_today() -> None:
    """examples/ (what the README and the tests use) and the package's demo files (what
    `make run` loads when installed) are the same bytes: one can never drift from the other."""
    from importlib import resources

    from tests.conftest import EXAMPLES

    folder = resources.files("stockwatch") / "demo_data"
    shipped = {e.name: e.read_bytes() for e in folder.iterdir() if e.name.startswith("inventory-")}
    assert len(shipped) == 6
    for name, data in shipped.items():
        assert (EXAMPLES / name).read_bytes() == data, name
