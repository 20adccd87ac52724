"""The ``thresholds`` commands, through the service's threshold rules."""

from __future__ import annotations

from pathlib import Path

import click

from stockwatch.cli.context import Context, cli_actor, new_option, pass_context
from stockwatch.cli.loading import deliver_now
from stockwatch.cli.output import NAMED_PER_KIND, alert_lines, emit, formats, plural
from stockwatch.service import thresholds as rules
from stockwatch.service.commands import DeleteThreshold, SetThresholds
from stockwatch.service.reads import UnknownName


@click.group()
def thresholds() -> None:
    """Low-stock thresholds: a minimum per store and item (* matches all).

    \b
    Example: stockwatch thresholds set Berlin '*' 5 --cover-days 3
    """


@thresholds.command("list")
@formats
@pass_context
def thresholds_list(state: Context, fmt: str) -> None:
    """Show the thresholds.

    \b
    Example: stockwatch thresholds list --csv > minimums.csv
    """
    emit(
        state.runtime.reads().thresholds(),
        fmt,
        ("store", "item", "minimum", "cover days", "set by"),
        lambda r: (
            r.store,
            r.item,
            r.minimum,
            r.cover_days or "",
            "file" if r.from_file else "hand",
        ),
        "No thresholds set.",
    )


@thresholds.command("set")
@click.argument("store")
@click.argument("item")
@click.argument("minimum", type=click.IntRange(min=0))
@click.option(
    "--cover-days",
    type=click.IntRange(min=0),
    metavar="N",
    help="Also alert (running_out) when the item's days of cover falls below N; 0: never."
    " Left out: the threshold keeps the cover days it had.",
)
@new_option
@pass_context
def thresholds_set(
    state: Context, store: str, item: str, minimum: int, cover_days: int | None, new: bool
) -> None:
    """Alert when ITEM in STORE drops below MINIMUM (use * for all stores or items).

    The stock it covers is judged at once: items already below raise low_stock now.

    \b
    Example: stockwatch thresholds set Berlin '*' 5 --cover-days 3
    """
    try:
        asked = SetThresholds.of([(store, item, minimum, cover_days)], cli_actor(), new)
        change = set_thresholds(state, asked)
    except rules.ThresholdError as exc:
        raise click.UsageError(str(exc)) from None
    cover = f", running out below {cover_days} days of cover" if cover_days else ""
    click.echo(f"low-stock threshold for {store.strip()} / {item.strip()}: {minimum}{cover}")
    tell(state, change)


@thresholds.command("delete")
@click.argument("store")
@click.argument("item")
@pass_context
def thresholds_delete(state: Context, store: str, item: str) -> None:
    """Remove the threshold of STORE and ITEM; the stock it covered is judged again.

    \b
    Example: stockwatch thresholds delete Berlin '*'
    """
    try:
        asked = DeleteThreshold(store, item, cli_actor())
        change = rules.delete_threshold(state.runtime.threshold_change(), asked, state.trail())
    except rules.ThresholdError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"removed the threshold for {store} / {item}")
    tell(state, change)


@thresholds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@new_option
@pass_context
def thresholds_import(state: Context, file: Path, new: bool) -> None:
    """Set thresholds from a CSV file: store, item, minimum and optionally cover_days.

    All or nothing: a bad row imports nothing. The stock they cover is judged at once.

    \b
    Example: stockwatch thresholds import minimums.csv
    """
    try:
        with open(file, "rb") as source:
            entries = rules.read_threshold_file(source, file.name, state.limits)
    except rules.ThresholdError as exc:
        for error in exc.errors:
            click.echo(error.describe(file.name), err=True)
        raise click.ClickException(str(exc)) from None
    asked = SetThresholds.of(entries, cli_actor(), new)
    change = set_thresholds(state, asked, file.name)
    click.echo(f"imported {plural(len(entries), 'threshold')} from {file.name}")
    tell(state, change)


def set_thresholds(state: Context, asked: SetThresholds, file: str = "") -> rules.ThresholdChange:
    """The use case; an unknown store or item is an error that names the closest ones."""
    runtime = state.runtime
    try:
        return rules.set_thresholds(
            runtime.threshold_change(), asked, state.trail(), names=runtime.reads()
        )
    except UnknownName as exc:
        where = f"{file}: " if file else ""
        raise click.ClickException(f"{where}{exc} (--new if it is expected)") from None


def tell(state: Context, change: rules.ThresholdChange) -> None:
    """What the change did to the current stock, and send its digest now."""
    raised = [d.to_json() for d in change.raised]
    for line in alert_lines(raised, len(raised)):
        click.echo(f"  {line}")
    if change.resolved:
        names = ", ".join(f"{d.store} / {d.item}" for d in change.resolved[:NAMED_PER_KIND])
        more = len(change.resolved) - NAMED_PER_KIND
        click.echo(
            f"  resolved ({len(change.resolved):,}): {names}"
            + (f" and {more:,} more" if more > 0 else "")
        )
    if not raised and not change.resolved:
        click.echo("  no item's status changed")
    deliver_now(state)
