"""A year of daily files on one machine, retention on: does it stay small and fast?

    python bench/year_bench.py                         # 200 stores x 2,000 items (hours)
    python bench/year_bench.py --stores 20 --items 500 # a scaled run (minutes)

Every simulated day, one file per day lists every item of every store, dated with its
as-of time; a fifth of the counts change each day. Retention runs each day as `serve`
would (``sqlite.retention.compact`` with the simulated date as now; VACUUM at the report
days). At days 30, 90, 180 and 365 it prints the database size, the stored files' size,
the ingest rate over the last ten days, and p95 of the reads behind `/api/stores`, a store's
stock page and an item's history (the read model, without HTTP).

Targets: size at day 365 at most 1.5x day 90; p95 at day 365 at most 2x day 30; ingest
rate steady within 20 % (day 365 against day 30). Runs on demand, not in CI.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stockwatch.core.retention import Retention
from stockwatch.sqlite.app import EmbeddedStockwatch
from stockwatch.sqlite.read_model import SqliteReadModel
from stockwatch.sqlite.retention import compact

REPORT_DAYS = (30, 90, 180, 365)
SAMPLES = 200  # reads of each kind per report day: p95 of 40 was too noisy to compare


def day_file(counts: dict[tuple[str, str], int]) -> bytes:
    lines = ["store,item,count"]
    lines += [f"{s},{i},{c}" for (s, i), c in counts.items()]
    return ("\n".join(lines) + "\n").encode()


def next_count(rng: random.Random, count: int) -> int:
    """Sales bring a count down until it runs out or is restocked: the same mix of changes,
    zeroes and restocks on day 365 as on day 30, so the days can be compared."""
    if count == 0 or (count < 30 and rng.random() < 0.5):
        return rng.randint(100, 200)
    return max(0, count - rng.randint(1, 30))


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[int(0.95 * (len(ordered) - 1))]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200, help="stores (default 200)")
    parser.add_argument("--items", type=int, default=2000, help="items per store (default 2000)")
    parser.add_argument("--days", type=int, default=365, help="days to simulate (default 365)")
    args = parser.parse_args()
    rng = random.Random(365)
    stores = [f"Store {n:03d}" for n in range(args.stores)]
    items = [f"Item {n:04d}" for n in range(args.items)]
    counts = {(s, i): rng.randint(20, 200) for s in stores for i in items}
    keys = list(counts)
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    rows_per_day = len(counts)
    print(
        f"{args.stores} stores x {args.items} items = {rows_per_day:,} rows a day, "
        f"{args.days} days; a fifth change daily; retention on"
    )
    print(
        f"{'day':>4} {'db MB':>8} {'files MB':>9} {'rows/s':>9} "
        f"{'stores p95':>11} {'stock p95':>10} {'history p95':>12}"
    )
    rates: list[float] = []
    table: dict[int, tuple[float, ...]] = {}
    with tempfile.TemporaryDirectory(prefix="stockwatch-year-") as tmp:
        data = Path(tmp) / "data"
        app = EmbeddedStockwatch(data, channel_names=())
        model = SqliteReadModel(app)
        try:
            for day in range(1, args.days + 1):
                for key in rng.sample(keys, len(keys) // 5):
                    counts[key] = next_count(rng, counts[key])
                moment = start + timedelta(days=day)
                as_of = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                began = time.perf_counter()
                upload = app.receive(
                    f"day-{day:03d}.csv", io.BytesIO(day_file(counts)), False, as_of
                )
                app.process_upload(upload)
                rates.append(rows_per_day / (time.perf_counter() - began))
                report_day = day in REPORT_DAYS or day == args.days
                compact(app.conn, data, Retention(), now=moment, vacuum=report_day)
                if not report_day:
                    continue
                timings: dict[str, list[float]] = {"stores": [], "stock": [], "history": []}
                for _ in range(SAMPLES):
                    store, item = rng.choice(stores), rng.choice(items)
                    reads = (
                        ("stores", model.stores, ()),
                        ("stock", model.stock_page, (store, None, None, None, 100)),
                        ("history", model.history, (store, item)),
                    )
                    for name, read, arguments in reads:
                        t = time.perf_counter()
                        read(*arguments)  # type: ignore[operator]
                        timings[name].append((time.perf_counter() - t) * 1000)
                db_mb = (data / "stockwatch.db").stat().st_size / 1e6
                files_mb = folder_size(data / "objects") / 1e6
                rate = statistics.fmean(rates[-10:])
                row = (
                    db_mb,
                    files_mb,
                    rate,
                    *(p95(timings[k]) for k in ("stores", "stock", "history")),
                )
                table[day] = row
                print(
                    f"{day:>4} {row[0]:>8.1f} {row[1]:>9.1f} {row[2]:>9,.0f} "
                    f"{row[3]:>9.2f}ms {row[4]:>8.2f}ms {row[5]:>10.2f}ms",
                    flush=True,
                )
        finally:
            app.close()
    if not all(d in table for d in (30, 90, args.days)) or args.days < 365:
        print("(the targets need the whole year: --days 365)")
        return 0
    size_ok = table[365][0] <= 1.5 * table[90][0]
    p95_ok = all(table[365][k] <= 2 * table[30][k] for k in (3, 4, 5))
    rate_ok = abs(table[365][2] - table[30][2]) <= 0.2 * table[30][2]
    print(
        f"size 365/90: {table[365][0] / table[90][0]:.2f}x (<= 1.5x) "
        f"{'PASS' if size_ok else 'FAIL'}"
    )
    print(
        f"p95 365/30: {max(table[365][k] / table[30][k] for k in (3, 4, 5)):.2f}x (<= 2x) "
        f"{'PASS' if p95_ok else 'FAIL'}"
    )
    print(
        f"ingest 365/30: {table[365][2] / table[30][2]:.2f}x (within 20 %) "
        f"{'PASS' if rate_ok else 'FAIL'}"
    )
    return 0 if size_ok and p95_ok and rate_ok else 1


if __name__ == "__main__":
    sys.exit(main())
