"""A store system's export against the same rows in stockwatch's own layout (#29).

    python bench/layouts_bench.py              # 1,000,000 rows (100 stores x 10,000 items)
    python bench/layouts_bench.py --rows 200000

Then a 100,000-row ``.xlsx`` (Square's item library: 50,000 lines of two locations, with
SKUs and alert counts) is loaded the same way and its rate printed.

The same counts are written twice: as ``store,item,count`` and as Shopify's inventory export
(17 columns, the item's name built from Title and its option values). Each is loaded by
``stockwatch ingest`` into a fresh data directory, as a whole process, twice; the best
time of each is kept. The target: the Shopify file loads at >= 0.8x the native rate.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.8
ROUNDS = 2
SHOPIFY_HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,"
    "Option3 Value,SKU,HS Code,COO,Location,Incoming,Unavailable,Committed,Available,On hand\n"
)


def write_files(folder: Path, stores: int, items: int) -> tuple[Path, Path]:
    native, shopify = folder / "native.csv", folder / "shopify.csv"
    rng = random.Random(1)
    with native.open("w") as a, shopify.open("w") as b:
        a.write("store,item,count\n")
        b.write(SHOPIFY_HEADER)
        for s in range(stores):
            for i in range(items):
                count = rng.randint(0, 50)
                a.write(f"Store {s:03d},Item {i:05d} - Red / M,{count}\n")
                b.write(
                    f"item-{i:05d},Item {i:05d},Color,Red,Size,M,,,SKU-{i:05d},,,"
                    f"Store {s:03d},0,0,0,{count},{count}\n"
                )
    return native, shopify


def load(path: Path, data: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one whole ``stockwatch ingest`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), "ingest", str(path)],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(before, after) / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the .xlsx")
    args = parser.parse_args()
    stores = 100
    items = max(1, args.rows // stores)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        native, shopify = write_files(folder, stores, items)
        rows = stores * items
        best: dict[str, float] = {}
        for round_ in range(ROUNDS):
            for name, path in (("native", native), ("shopify", shopify)):
                seconds, peak = load(path, folder / f"{name}-{round_}")
                best[name] = min(best.get(name, seconds), seconds)
                print(f"round {round_ + 1}, {name:<8} {seconds:6.2f} s  peak RSS {peak:.0f} MB")
        ratio = best["native"] / best["shopify"]
        print(
            f"{rows:,} rows: stockwatch layout {rows / best['native']:,.0f} rows/s,"
            f" shopify export {rows / best['shopify']:,.0f} rows/s: {ratio:.2f}x"
            f" (target >= {TARGET}x): {'PASS' if ratio >= TARGET else 'BELOW TARGET'}"
        )
        book, book_rows = write_workbook(folder, args.xlsx_rows)
        seconds, peak = load(book, folder / "xlsx")
        print(
            f"{book_rows:,}-row .xlsx (Square's item library, {book.stat().st_size / 1e6:.1f} MB):"
            f" {seconds:.2f} s, {book_rows / seconds:,.0f} rows/s, peak RSS {peak:.0f} MB"
        )
        return 0 if ratio >= TARGET else 1


def write_workbook(folder: Path, rows: int) -> tuple[Path, int]:
    """Square's item library as an .xlsx: two locations per line, counts and alert counts
    stored as text, as Square writes them (openpyxl, a test-only dependency)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Items")
    sheet.append(
        [
            "Token",
            "Item Name",
            "Variation Name",
            "SKU",
            "Price",
            "Current Quantity Main Street",
            "Current Quantity Harbour",
            "Stock Alert Enabled Main Street",
            "Stock Alert Count Main Street",
        ]
    )
    rng = random.Random(2)
    for i in range(rows // 2):
        sheet.append(
            [
                f"T{i}",
                f"Item {i:06d}",
                "Regular",
                f"SKU-{i:06d}",
                "9.99",
                str(rng.randint(0, 50)),
                str(rng.randint(0, 50)),
                "Y",
                "3",
            ]
        )
    path = folder / "square.xlsx"
    book.save(path)
    return path, (rows // 2) * 2


if __name__ == "__main__":
    sys.exit(main())
