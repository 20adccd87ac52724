"""How the CLI shows things: JSON for scripts, tables and sentences for people."""

from __future__ import annotations

import csv
import functools
import io
import json
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING, Any

import click

from stockwatch.cli.tables import layout
from stockwatch.core.export import spreadsheet_safe
from stockwatch.core.report import UploadReport
from stockwatch.core.rows import SCALAR_TYPES, to_json

if TYPE_CHECKING:
    from rich.console import Console

PROGRESS_MIN_BYTES = 1024 * 1024


def print_json(value: Any) -> None:
    click.echo(_indented(value))


def _indented(value: Any) -> str:
    """``json.dumps(value, indent=2)``. Python's C encoder cannot indent, so a long list of
    flat objects (a stock list, an order list) is written by it in one call, with
    separators that make the same layout once the objects' braces are indented."""
    if not (isinstance(value, list) and value and all(map(_flat, value))):
        return json.dumps(value, indent=2, ensure_ascii=False)
    # One call for the whole list: every comma is then followed by a new line and four
    # spaces, and only the ones between two objects are told apart and indented less. A
    # new line inside a string is escaped, so "},\n    {" occurs only there.
    text = json.dumps(value, ensure_ascii=False, separators=(",\n    ", ": "))
    body = text[2:-2].replace("},\n    {", "\n  },\n  {\n    ")
    return "[\n  {\n    " + body + "\n  }\n]"


def _tuples_indented(rows: Sequence[Any]) -> str | None:
    """``json.dumps(to_json(rows), indent=2)`` for named tuples of one kind and plain
    values (an order list), with no object made per row: every value of every row is
    written by the C encoder in one call, a NUL between two (a NUL in a string is escaped,
    so it occurs only there), and the keys and the layout are put between them by slices
    and one join. None for anything else."""
    kinds = set(map(type, rows))
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    names: tuple[str, ...] = getattr(kind, "_fields", ())
    if not (names and issubclass(kind, tuple)):
        return None
    values = list(chain.from_iterable(rows))
    if not SCALAR_TYPES.issuperset(map(type, values)):
        return None
    text = json.dumps(values, ensure_ascii=False, separators=("\x00", ": "))
    pieces = text[1:-1].split("\x00")
    keys = [json.dumps(name, ensure_ascii=False) + ": " for name in names]
    prefixes = ["\n  },\n  {\n    " + keys[0], *[",\n    " + key for key in keys[1:]]]
    laid = [""] * (2 * len(pieces))
    laid[0::2] = prefixes * len(rows)
    laid[1::2] = pieces
    laid[0] = "[\n  {\n    " + keys[0]
    return "".join(laid) + "\n  }\n]"


def _flat(value: Any) -> bool:
    """A non-empty object of plain values (subclasses go the slow way, which is right
    for all of them)."""
    return (
        type(value) is dict and bool(value) and SCALAR_TYPES.issuperset(map(type, value.values()))
    )


def console() -> Console:
    # rich is imported where it is used: a twentieth of the start of a command that only
    # prints JSON or a table.
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def short_time(iso: str | None) -> str:
    """``2026-12-02T01:46:51.212Z`` as ``2026-12-02 01:46``: a table has no room for more."""
    if not iso:
        return ""
    return iso[:16].replace("T", " ")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> None:
    """A table that fits the terminal (``cli.tables``): nothing is cut or wrapped."""
    if not rows:
        click.echo(empty)
        return
    width = shutil.get_terminal_size((100, 24)).columns
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    for line in layout(columns, cells, width).lines:
        click.echo(line)


def formats(f: Any) -> Any:
    """--json, --csv and --nl for a reading command; they exclude each other.

    The command gets ``fmt``: "table", "json", "csv" or "nl".
    """

    @functools.wraps(f)
    def wrapper(*args: Any, as_json: bool, as_csv: bool, as_nl: bool, **kwargs: Any) -> Any:
        chosen = [n for n, on in (("--json", as_json), ("--csv", as_csv), ("--nl", as_nl)) if on]
        if len(chosen) > 1:
            raise click.UsageError(f"{' and '.join(chosen)} exclude each other; choose one")
        fmt = chosen[0][2:] if chosen else "table"
        return f(*args, fmt=fmt, **kwargs)

    for option in (
        click.option("--nl", "as_nl", is_flag=True, help="Print one JSON object per line."),
        click.option(
            "--csv",
            "as_csv",
            is_flag=True,
            help="Print CSV for a spreadsheet (formulas neutralised).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
    ):
        wrapper = option(wrapper)
    return wrapper


def emit(
    rows: Sequence[Any],
    fmt: str,
    columns: Sequence[str],
    cells: Callable[[Any], Sequence[Any]],
    empty: str,
) -> None:
    """Rows (``core.rows`` dataclasses) in the chosen format; a table shows ``columns``."""
    if fmt == "json":
        text = _tuples_indented(rows) if rows else None
        click.echo(_indented(to_json(list(rows))) if text is None else text)
    elif fmt == "nl":
        for row in rows:
            click.echo(json.dumps(to_json(row), ensure_ascii=False))
    elif fmt == "csv":
        data = [to_json(row) for row in rows]
        fields = list(data[0]) if data else [c.replace(" ", "_") for c in columns]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(fields)
        for item in data:
            writer.writerow([spreadsheet_safe(_cell(item.get(name))) for name in fields])
        click.echo(buffer.getvalue(), nl=False)
    else:
        print_table(columns, [cells(row) for row in rows], empty)


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# The order and the words of the alert kinds in the CLI's sentences.
KIND_WORDS = {
    "out_of_stock": "out of stock",
    "low_stock": "low on stock",
    "running_out": "running out",
    "back_in_stock": "back in stock",
}
NAMED_PER_KIND = 5


def alert_lines(alerts: Sequence[dict[str, Any]], total: int, would: bool = False) -> list[str]:
    """The alerted items, grouped by kind, each kind capped with "and N more".

    back_in_stock is news, not an alert to act on, so it is never counted as raised.
    """
    by_kind: dict[str, list[str]] = {}
    for alert in alerts:
        by_kind.setdefault(alert["kind"], []).append(f"{alert['store']} / {alert['item']}")
    lines = []
    for kind, word in KIND_WORDS.items():
        names = by_kind.get(kind, [])
        if not names:
            continue
        shown = ", ".join(names[:NAMED_PER_KIND])
        if len(names) > NAMED_PER_KIND:
            shown += f" and {len(names) - NAMED_PER_KIND:,} more"
        if kind == "back_in_stock":
            verb = "would be back in stock" if would else "back in stock"
        else:
            verb = f"{'would raise' if would else 'raised'} {word}"
        lines.append(f"{verb} ({len(names):,}): {shown}")
    if total > len(alerts):
        lines.append(f"… and {plural(total - len(alerts), 'more alert')} not listed")
    return lines


def describe_report(report: UploadReport, verb: str = "loaded") -> None:
    """A report as sentences, naming every rejected row with file and line."""
    from rich.markup import escape

    out = console()
    name = escape(report.file)
    where = f" (upload {report.upload_id})" if report.upload_id is not None else ""
    if report.uploaded_by:
        where += f" from {escape(report.uploaded_by)}"
    if report.held:
        out.print(
            f"[bold yellow]{name}: needs confirmation[/]{where}: {escape(report.message or '')}"
        )
        if report.upload_id is not None:
            out.print(
                f"  run `stockwatch confirm {report.upload_id}` to apply it, or"
                f" `stockwatch discard {report.upload_id}`"
            )
    elif report.message is not None:
        out.print(f"[bold red]{name}: rejected[/]{where}: {escape(report.message)}")
    else:
        parts = []
        if report.rows_loaded or not report.rows_unchanged:
            parts.append(f"{verb} {plural(report.rows_loaded, 'row')}")
        if report.rows_unchanged:
            parts.append(f"{plural(report.rows_unchanged, 'row')} unchanged")
        if report.rows_superseded:
            parts.append(f"{report.rows_superseded:,} superseded by newer uploads")
        if report.rows_rejected:
            parts.append(f"[red]rejected {report.rows_rejected:,}[/]")
        style = "yellow" if report.rows_rejected else "green"
        out.print(f"[bold {style}]{name}[/]: {', '.join(parts)}{where}")
    would = verb.startswith("would")
    if report.layout and report.layout != "stockwatch":
        out.print(f"  read as: {escape(report.layout)} layout")
    if report.thresholds_set:
        minimums = plural(report.thresholds_set, "low-stock minimum")
        out.print(f"  {minimums} {'would be ' if would else ''}set from the file")
    if report.rows_zeroed:
        verb = "would set" if report.held or would else "set"
        shown = ", ".join(report.zeroed[:NAMED_PER_KIND])
        more = report.rows_zeroed - min(len(report.zeroed), NAMED_PER_KIND)
        tail = f" and {more:,} more" if more > 0 else ""
        out.print(
            f"  snapshot: {verb} {plural(report.rows_zeroed, 'left-out item')} to 0:"
            f" {escape(shown)}{tail}"
        )
    for warning in report.warnings:
        out.print(f"  [yellow]warning[/] {name}: {escape(warning)}")
    for error in report.errors:
        out.print(f"  {escape(error.describe(report.file))}")
    if report.rows_rejected > len(report.errors):
        more = report.rows_rejected - len(report.errors)
        out.print(f"  … and {plural(more, 'more rejected row')}")
    for line in alert_lines(report.alerts, report.alerts_total, would=would):
        out.print(f"  {escape(line)}")
    if report.cost:
        out.print(f"  [dim]cost: {escape(describe_cost(report.cost))}[/]")


def describe_cost(cost: dict[str, Any]) -> str:
    """One line: time, and on AWS the requests, units and the dollar estimate."""
    parts = [f"{cost.get('time_ms', 0) / 1000:.2f} s"]
    dynamodb = cost.get("dynamodb") or {}
    requests = sum((dynamodb.get("requests") or {}).values())
    if requests:
        estimated = " (estimated)" if dynamodb.get("units_estimated") else ""
        parts.append(
            f"DynamoDB {requests:,} requests, {dynamodb.get('write_units', 0):,.0f} write and "
            f"{dynamodb.get('read_units', 0):,.0f} read units{estimated}"
        )
    s3 = sum(((cost.get("s3") or {}).get("requests") or {}).values())
    if s3:
        parts.append(f"S3 {s3:,} requests")
    publishes = (cost.get("sns") or {}).get("publishes") or 0
    if publishes:
        parts.append(f"SNS {publishes:,} publishes")
    function = cost.get("lambda") or {}
    if function.get("invocations"):
        parts.append(f"Lambda {function['invocations']} x, {function.get('ms', 0):,.0f} ms")
    if cost.get("usd") is not None:
        parts.append(f"about ${cost['usd']:.6f} on demand")
    return "; ".join(parts)


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A byte progress bar on stderr, only for big files and only on a terminal."""
    if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)
