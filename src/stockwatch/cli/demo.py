"""``stockwatch demo``: six stores with three weeks of dated counts and thresholds.

One count per item shows a table, not the product: no "runs out in N days", nothing low,
no history with a shape. So the demo replays a chain's last three weeks: one file a day
for all six stores (dated by ``as_of``, so the points sit on their days), then each
store's own file of today (the bundled ``demo_data/inventory-*.csv``, the same bytes as
``examples/``). Counts fall by each item's daily sales and jump at deliveries; the
thresholds (``demo_data/minimums.csv``) are set first, so low stock is raised and resolved
along the way. Every series is fixed by a seed: the same demo every time, ending today.

It loads only into a data directory with no uploads yet: running it again adds nothing.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import click

from stockwatch.cli.context import Context, json_option, pass_context
from stockwatch.cli.loading import deliver_now
from stockwatch.cli.output import describe_report, plural, print_json
from stockwatch.core.clock import parse_time
from stockwatch.core.report import UploadReport
from stockwatch.service.backend import Backend
from stockwatch.service.commands import SetThresholds, Upload
from stockwatch.service.reads import list_stock
from stockwatch.service.thresholds import read_threshold_file, set_thresholds
from stockwatch.service.users import AuditTrail

DAYS = 20  # days of history before today's files
CLOSING_HOUR = 18  # each past day's count is taken at closing time, UTC
# Items that sell fast enough to run out within the thresholds' cover days: the demo
# shows "running out" on these, whatever the seed gives the others.
FAST = {
    ("Berlin", "Echo Dot"): 4.5,
    ("Berlin", "Echo Look"): 4.0,
    ("Calcutta", "Echo Dot"): 5.0,
    ("Pusan", "Echo (2nd Gen)"): 3.0,
    ("Shanghai", "Amazon Tap"): 3.5,
}


@dataclass(frozen=True)
class Series:
    """One item's counts, oldest first, the last one today's."""

    store: str
    item: str
    counts: list[int]


def today_files() -> list[tuple[str, bytes]]:
    folder = resources.files("stockwatch") / "demo_data"
    found = [e for e in folder.iterdir() if e.name.startswith("inventory-")]
    return [(e.name, e.read_bytes()) for e in sorted(found, key=lambda e: e.name)]


def series_of(files: list[tuple[str, bytes]], days: int = DAYS) -> list[Series]:
    """Walk back from today's counts: each day before had what was sold since on top,
    less a delivery whenever that would exceed what the shelf holds."""
    found = []
    for _, data in files:
        rows = csv.reader(io.StringIO(data.decode("utf-8")))
        next(rows)
        for store, item, count in rows:
            rng = random.Random(f"{store}/{item}")  # noqa: S311  # a demo, not a secret
            usage = FAST.get((store, item)) or rng.uniform(0.4, 1.8)
            shelf = rng.randint(30, 45)
            counts = [int(count)]
            # An item out of stock today ran out a day or two ago.
            idle = rng.randint(1, 2) if int(count) == 0 else 0
            for back in range(1, days + 1):
                previous = counts[-1]
                if back <= idle:
                    counts.append(0)
                    continue
                sold = max(0, round(rng.gauss(usage, usage * 0.4)))
                earlier = previous + sold
                if earlier > shelf:
                    earlier -= rng.randint(shelf // 2, shelf - 5)  # the delivery
                counts.append(max(earlier, 0))
            found.append(Series(store, item, counts[::-1]))
    return found


def day_file(series: list[Series], day: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["store", "item", "count"])
    for s in series:
        writer.writerow([s.store, s.item, s.counts[day]])
    return out.getvalue().encode()


def load_demo(
    runtime: Backend, trail: AuditTrail | None, step: Callable[[], None] = lambda: None
) -> list[UploadReport]:
    """The thresholds, then the chain's days, then today's files: the uploads' reports."""
    folder = resources.files("stockwatch") / "demo_data"
    with (folder / "minimums.csv").open("rb") as source:
        entries = read_threshold_file(source, "minimums.csv", runtime.limits)
    asked = SetThresholds.of(entries, "demo")
    set_thresholds(runtime.threshold_change(), asked, trail, names=runtime.reads())
    files = today_files()
    series = series_of(files)
    today = datetime.now(UTC).replace(hour=CLOSING_HOUR, minute=0, second=0, microsecond=0)
    reports: list[UploadReport] = []
    for day in range(DAYS):
        when = today - timedelta(days=DAYS - day)
        name = f"chain-{when:%Y-%m-%d}.csv"
        upload = Upload(name, as_of=parse_time(when.isoformat()), uploader="demo")
        reports.append(runtime.ingest(upload, io.BytesIO(day_file(series, day))))
        step()
    for name, data in files:
        reports.append(runtime.ingest(Upload(name, uploader="demo"), io.BytesIO(data)))
        step()
    return reports


@click.command("demo")
@json_option
@pass_context
def demo_command(state: Context, as_json: bool = False) -> None:
    """Load six sample stores with three weeks of history and thresholds, ending today.

    Only into a data directory with no uploads yet: run again, it adds nothing.

    \b
    Example: stockwatch --data-dir ./demo-data demo
    """
    runtime = state.runtime
    existing = runtime.reads().uploads(1, None)
    if existing:
        message = f"the data in {state.data_dir} has uploads already; the demo added nothing"
        print_json([]) if as_json else click.echo(message)
        return
    with click.progressbar(length=DAYS + len(today_files()), label="loading the demo") as bar:
        reports = load_demo(runtime, state.trail(), lambda: bar.update(1))
    deliver_now(state)
    if as_json:
        print_json([r.to_json() for r in reports])
        return
    for rep in reports[DAYS:]:
        describe_report(rep)
    rows = list_stock(runtime.reads())
    out = sum(r.status == "out_of_stock" for r in rows)
    low = sum(r.status == "low_stock" for r in rows)
    short = sum(r.status == "running_out" for r in rows)
    click.echo(
        f"\n{plural(len(reports), 'upload')} over {DAYS + 1} days: {plural(out, 'item')} out of"
        f" stock, {low} low, {short} running out; data in {state.data_dir}"
    )
