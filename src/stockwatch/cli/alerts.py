"""The alerts to work from: listing them by store, acknowledging them, muting items."""

from __future__ import annotations

import getpass

import click

from stockwatch.cli.context import Context, cli_actor, new_option, pass_context
from stockwatch.cli.output import console, emit, formats, print_table, short_time
from stockwatch.core.clock import BadTime, parse_until
from stockwatch.core.rows import AlertRow
from stockwatch.service import reads
from stockwatch.service.commands import Acknowledge, Mute, Unmute

KINDS = ("out_of_stock", "low_stock", "running_out", "back_in_stock")


@click.group(invoke_without_command=True)
@click.option("--open", "open_only", is_flag=True, help="Only alerts not yet resolved.")
@click.option("--resolved", "resolved_only", is_flag=True, help="Only resolved alerts.")
@click.option("--store", help="Only this store's alerts.")
@click.option("--kind", type=click.Choice(KINDS), help="Only alerts of this kind.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many, newest first.")
@formats
@pass_context
def alerts(
    state: Context,
    open_only: bool,
    resolved_only: bool,
    store: str | None,
    kind: str | None,
    limit: int | None,
    fmt: str,
) -> None:
    """Alerts, newest first, grouped by store; `alerts ack ID` says someone is on it.

    \b
    Example: stockwatch alerts --open --store Berlin
             stockwatch alerts ack 12 --note "20 ordered"
    """
    context = click.get_current_context()
    if context.invoked_subcommand is not None:
        return
    if open_only and resolved_only:
        raise click.UsageError("--open and --resolved exclude each other")
    model = state.runtime.reads()
    if store is not None:
        try:
            reads.known_store(model, store)
        except reads.UnknownName as exc:
            raise click.ClickException(str(exc)) from None
    rows = reads.list_alerts(model, open_only, limit, store, kind, resolved_only)
    if fmt != "table":
        emit(rows, fmt, (), lambda a: (), "")
        return
    if not rows:
        click.echo("No alerts.")
        return
    by_store: dict[str, list[AlertRow]] = {}
    for row in rows:
        by_store.setdefault(row.store, []).append(row)
    out = console()
    for name, found in sorted(by_store.items()):
        out.print(f"[bold]{name}[/]")
        print_table(
            ("id", "kind", "item", "count", "raised", "state"),
            [(a.id, a.kind, a.item, a.count, short_time(a.raised_at), _state(a)) for a in found],
            "",
        )


def _state(alert: AlertRow) -> str:
    parts = ["resolved" if alert.resolved_at else "open"]
    if alert.acknowledged_by:
        parts.append(f"ack by {alert.acknowledged_by}")
    if alert.muted_until:
        parts.append(f"muted until {short_time(alert.muted_until)}")
    return ", ".join(parts)


@alerts.command("ack")
@click.argument("alert_id")
@click.option("--note", help="What is being done about it.")
@click.option("--by", default=getpass.getuser, help="Who is on it [default: you].")
@pass_context
def ack(state: Context, alert_id: str, note: str | None, by: str) -> None:
    """Record that someone is dealing with alert ALERT_ID; it stays open until resolved.

    \b
    Example: stockwatch alerts ack 12 --note "20 ordered, due Friday"
    """
    try:
        reads.acknowledge(
            state.runtime.alert_notes(), Acknowledge(alert_id, by, note), state.trail()
        )
    except reads.AlertError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"alert {alert_id} acknowledged by {by}")


@click.command()
@click.argument("store")
@click.argument("item")
@click.option(
    "--until",
    required=True,
    metavar="TIME",
    help="Until when: ISO 8601 (2026-12-09T18:00Z; a date alone is midnight UTC), or a"
    " span from now such as 7d or 12h.",
)
@click.option("--note", help="Why (shown on the dashboard).")
@click.option("--by", default=getpass.getuser, help="Who muted it [default: you].")
@new_option
@pass_context
def mute(
    state: Context, store: str, item: str, until: str, note: str | None, by: str, new: bool
) -> None:
    """Leave ITEM of STORE (* for the whole store) out of notifications until a time.

    Its alerts are still raised, recorded and shown (marked muted); no digest mentions it.

    \b
    Example: stockwatch mute Berlin "Echo Dot" --until 2026-12-09 --note restocking
    """
    try:
        asked = Mute(store, item, _future(until), by, note, new)
        runtime = state.runtime
        reads.mute(runtime.alert_notes(), asked, state.trail(), names=runtime.reads())
    except reads.AlertError as exc:
        raise click.UsageError(str(exc)) from None
    except reads.UnknownName as exc:
        raise click.ClickException(f"{exc} (--new if it is expected)") from None
    click.echo(f"{store} / {item} muted until {_future(until)}")


@click.command()
@click.argument("store")
@click.argument("item")
@pass_context
def unmute(state: Context, store: str, item: str) -> None:
    """Notify about ITEM of STORE again.

    \b
    Example: stockwatch unmute Berlin "Echo Dot"
    """
    try:
        asked = Unmute(store, item, cli_actor())
        reads.unmute(state.runtime.alert_notes(), asked, state.trail())
    except reads.AlertError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{store} / {item} is no longer muted")


@click.command()
@formats
@pass_context
def mutes(state: Context, fmt: str) -> None:
    """Items left out of notifications, and until when.

    \b
    Example: stockwatch mutes --json
    """
    emit(
        state.runtime.reads().mutes(),
        fmt,
        ("store", "item", "until", "by", "note"),
        lambda m: (m.store, m.item, short_time(m.until), m.muted_by, m.note or ""),
        "Nothing is muted.",
    )


def _future(text: str) -> str:
    try:
        return parse_until(text)
    except BadTime as exc:
        raise click.BadParameter(str(exc), param_hint="--until") from None
