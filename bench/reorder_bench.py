"""What reading the stock and the order list costs as history grows (#30), on one machine.

    python bench/reorder_bench.py                          # 100 stores x 1,000 items
    python bench/reorder_bench.py --stores 1000 --items 1000 --days 60   # the issue's size

Two data directories hold the same stores and items: one loaded once (one day of history),
one loaded every day for ``--days`` days (a fifth of the counts change daily: sales, and a
restock when low). For each it times, as whole processes (best of three):

- ``stockwatch stock --json``: every row with its days of cover;
- ``stockwatch reorder --json``: the order list.

It prints both times, ``stock`` with history over ``stock`` with one day (target: at most
1.5x, the figures kept rather than replayed), and ``reorder`` over ``stock`` on the same
data (target: at most 3x); at 1,000 stores x 1,000 items x 60 days, ``reorder``'s own
time (target: under 2 s). On demand, not in CI.
"""

from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from compiled import compile_package
from stockwatch.service.commands import Upload
from stockwatch.sqlite.backend import SqliteBackend


def day_file(counts: dict[tuple[str, str], int]) -> bytes:
    lines = ["store,item,count"] + [f"{s},{i},{c}" for (s, i), c in counts.items()]
    return ("\n".join(lines) + "\n").encode()


def load(data: Path, stores: int, items: int, days: int) -> None:
    rng = random.Random(30)
    counts = {
        (f"Store {s:04d}", f"Item {i:04d}"): rng.randint(20, 200)
        for s in range(stores)
        for i in range(items)
    }
    keys = list(counts)
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    app = SqliteBackend(data, channel_names=())
    try:
        for day in range(days):
            if day:
                for key in rng.sample(keys, len(keys) // 5):
                    count = counts[key] - rng.randint(1, 6)
                    counts[key] = count if count > 5 else count + 100
            moment = start + timedelta(days=day)
            as_of = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            upload = app.receive(Upload(f"d{day}.csv", as_of=as_of), io.BytesIO(day_file(counts)))
            app.process_upload(upload)
    finally:
        app.close()


def timed(data: Path, *command: str) -> float:
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "stockwatch", "--data-dir", str(data), *command],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        best = min(best, time.perf_counter() - began)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--data", type=Path, help="keep the data here and load it only once (to profile)"
    )
    args = parser.parse_args()
    compile_package()
    rows = args.stores * args.items
    print(f"{args.stores} stores x {args.items} items = {rows:,} items; {args.days} days")
    with tempfile.TemporaryDirectory(prefix="stockwatch-reorder-") as tmp:
        where = args.data or Path(tmp)
        one, many = where / "one", where / "many"
        began = time.perf_counter()
        for data, days in ((one, 1), (many, args.days)):
            if not (data / "stockwatch.db").exists():
                load(data, args.stores, args.items, days)
        print(f"loaded in {time.perf_counter() - began:.0f} s")
        stock_one = timed(one, "stock", "--json")
        stock_many = timed(many, "stock", "--json")
        reorder_many = timed(many, "reorder", "--json")
        print(f"stock --json, 1 day of history:     {stock_one:7.2f} s")
        print(f"stock --json, {args.days} days of history:  {stock_many:7.2f} s")
        print(f"reorder --json, {args.days} days of history: {reorder_many:7.2f} s")
        ratio, cost = stock_many / stock_one, reorder_many / stock_many
        print(f"stock with history / with one day: {ratio:.2f}x (target <= 1.5x)")
        print(f"reorder / stock:                   {cost:.2f}x (target <= 3x)")
        if (args.stores, args.items, args.days) == (1000, 1000, 60):
            print(f"reorder at the issue's size:       {reorder_many:.2f} s (target < 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
