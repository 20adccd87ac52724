"""Writes the hostile-input corpus in tests/data/hostile/ and its expected messages.

    python tests/data/make_hostile.py

Each file is a way an inventory file goes wrong; ``expected.json`` names, for each, the
report status and a piece of the message a user must see (a whole-file message, or the
first row error as ``<line>: <message>``). ``tests/test_hostile_input.py`` checks them.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "hostile"
GOOD = b"store,item,count\nBerlin,Echo Dot,12\n"


def zipped() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inventory.csv", GOOD)
    return out.getvalue()


def tarred() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("inventory.csv")
        info.size = len(GOOD)
        archive.addfile(info, io.BytesIO(GOOD))
    return out.getvalue()


def row_file(*lines: str, header: str = "store,item,count") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


# name: (content, status, expected text)
CASES: dict[str, tuple[bytes, str, str]] = {
    "empty.csv": (b"", "rejected", "the file is empty"),
    "only-blank-lines.csv": (b"\n\r\n  \n", "rejected", "the file is empty"),
    "header-only.csv": (b"store,item,count\n", "rejected", "no inventory rows"),
    "no-header.csv": (b"Berlin,Echo Dot,12\n", "rejected", "no usable header"),
    "wrong-column-names.csv": (
        b"shop,product,qty\nBerlin,Echo,1\n",
        "rejected",
        "missing store, item, count",
    ),
    "missing-count-column.csv": (b"store,item\nBerlin,Echo\n", "rejected", "missing count"),
    "duplicate-column.csv": (
        b"store,item,count,Count\nB,E,1,2\n",
        "rejected",
        "names the column count twice",
    ),
    "100000-columns.csv": (
        (
            ",".join(["store", "item", "count", *(f"c{i}" for i in range(100_000))]) + "\nB,E,1\n"
        ).encode(),
        "rejected",
        "longer than the limit",
    ),
    "zip-archive.csv": (zipped(), "rejected", "ZIP archive"),
    "xlsx-renamed.csv": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(100), "rejected", "ZIP archive"),
    "gzip.csv": (gzip.compress(GOOD), "rejected", "gzip-compressed"),
    "bzip2.csv": (bz2.compress(GOOD), "rejected", "bzip2-compressed"),
    "tar-archive.csv": (tarred(), "rejected", "tar archive"),
    "pdf.csv": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "rejected", "PDF document"),
    "png.csv": (b"\x89PNG\r\n\x1a\n" + bytes(64), "rejected", "PNG image"),
    "old-excel.csv": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
        "rejected",
        "old Excel .xls",
    ),
    "sqlite-database.csv": (b"SQLite format 3\x00" + bytes(84), "rejected", "SQLite database"),
    "random-binary.csv": (bytes(range(256)) * 4, "rejected", "NUL byte"),
    "mostly-nul.csv": (bytes(1000) + GOOD, "rejected", "binary data"),
    "utf16-without-bom.csv": (
        GOOD.decode().encode("utf-16-le"),
        "rejected",
        "UTF-16 text without a byte-order mark",
    ),
    "utf32.csv": (GOOD.decode().encode("utf-32"), "rejected", "UTF-32"),
    "latin1.csv": (
        "store,item,count\nMünchen,Echo Dot,12\n".encode("latin-1"),
        "loaded",
        "line 2: the file is not valid UTF-8; it was read as Windows-1252",
    ),
    "windows-1252-quotes.csv": (
        b"store,item,count\nBerlin,\x93Echo\x94,1\n",
        "loaded",
        "it was read as Windows-1252",
    ),
    "neither-utf8-nor-windows-1252.csv": (
        b"store,item,count\nBerlin,Echo,1\nBerlin,Ec\x81ho,2\n",
        "loaded_with_errors",
        "neither UTF-8 nor Windows-1252",
    ),
    "nul-in-row.csv": (
        b"store,item,count\nBerlin,Echo\x00Dot,12\n",
        "rejected",
        "line 2 contains a NUL byte",
    ),
    "huge-line.csv": (
        b"store,item,count\nBerlin,Echo," + b"9" * 100_000 + b"\n",
        "rejected",
        "longer than the limit",
    ),
    "unterminated-quote.csv": (
        b'store,item,count\nBerlin,"Echo Dot,12\n' + b"Berlin,Echo Show,3\n" * 5000,
        "rejected",
        "line 2: a quote opened on this line is never closed",
    ),
    "unterminated-quote-short.csv": (
        b'store,item,count\nBerlin,"Echo Dot,12\nBerlin,Tap,3\n',
        "rejected",
        '2: item "Echo Dot,12\\nBerlin,Tap,3\\n" contains a line break',
    ),
    "huge-field.csv": (
        row_file("Berlin," + "x" * 5000 + ",1"),
        "rejected",
        "2: item is 5,000 characters long",
    ),
    # Oversold, as store systems export it: loads, and the item is out of stock.
    "negative-count.csv": (row_file("Berlin,Echo Dot,-3"), "loaded", ""),
    "hugely-negative-count.csv": (
        row_file("Berlin,Echo Dot,-99999999999999"),
        "rejected",
        'count "-99999999999999" is below the minimum',
    ),
    "fractional-count.csv": (
        row_file("Berlin,Echo Dot,2.5"),
        "rejected",
        '2: count "2.5" is not a whole number',
    ),
    "huge-count.csv": (
        row_file("Berlin,Echo Dot,99999999999999999999999"),
        "rejected",
        "larger than the maximum",
    ),
    "word-count.csv": (
        row_file("Berlin,Echo Dot,twelve"),
        "rejected",
        '2: count "twelve" is not a whole number',
    ),
    "exponent-count.csv": (
        row_file("Berlin,Echo Dot,1e3"),
        "rejected",
        '2: count "1e3" is not a whole number',
    ),
    "thousands-separator.csv": (
        row_file('Berlin,Echo Dot,"1,200"'),
        "rejected",
        '2: count "1,200" is not a whole number',
    ),
    "plus-sign.csv": (
        row_file("Berlin,Echo Dot,+5"),
        "rejected",
        '2: count "+5" is not a whole number',
    ),
    "arabic-digits.csv": (row_file("Berlin,Echo Dot,١٢"), "rejected", "2: count"),
    "empty-count.csv": (row_file("Berlin,Echo Dot,"), "rejected", "2: count is empty"),
    "empty-store.csv": (row_file(",Echo Dot,3"), "rejected", "2: store is empty"),
    "blank-item.csv": (row_file("Berlin,   ,3"), "rejected", "2: item is empty"),
    "missing-field.csv": (row_file("Berlin,Echo Dot"), "rejected", "2: count is missing"),
    "extra-fields.csv": (
        row_file("Berlin,Echo Dot,3,4,5"),
        "rejected",
        "2: the line has 5 fields but the header has 3",
    ),
    "duplicated-row.csv": (
        row_file("Berlin,Echo Dot,3", "Berlin,Echo Dot,4"),
        "loaded_with_errors",
        '3: store "Berlin", item "Echo Dot" appears again',
    ),
    "mixed-good-and-bad.csv": (
        row_file("Berlin,Echo Dot,3", "Berlin,Echo Show,x", "Berlin,Echo Look,4"),
        "loaded_with_errors",
        '3: count "x" is not a whole number',
    ),
    "formula-injection.csv": (
        row_file('=HYPERLINK("http://x"),Echo,1', "Berlin,@SUM(A1),2"),
        "loaded",
        "",
    ),
    "html-in-names.csv": (
        row_file("<script>alert(1)</script>,<img src=x onerror=alert(1)>,0"),
        "loaded",
        "",
    ),
    "sql-in-names.csv": (row_file("Berlin'; DROP TABLE inventory; --,Echo,1"), "loaded", ""),
}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    expected = {}
    for name, (content, status, text) in CASES.items():
        (HERE / name).write_bytes(content)
        expected[name] = {"status": status, "expect": text}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    print(f"{len(CASES)} files in {HERE}")


if __name__ == "__main__":
    main()
