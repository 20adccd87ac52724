"""Snapshot uploads: confirming or discarding a held one, and each store's own setting."""

from __future__ import annotations

import getpass

import click

from stockwatch.cli.context import Context, cli_actor, json_option, new_option, pass_context
from stockwatch.cli.loading import deliver_now, finish
from stockwatch.service.commands import Confirm, Discard, SetSnapshotDefault
from stockwatch.service.reads import UnknownName
from stockwatch.service.snapshots import set_default
from stockwatch.service.uploads import NotHeld


@click.command()
@click.argument("upload_id")
@json_option
@pass_context
def confirm(state: Context, upload_id: str, as_json: bool) -> None:
    """Apply a snapshot held for confirmation, zeroing what it leaves out.

    A snapshot that would set more than half of a store's items to 0 is held (status
    needs_confirmation): check the file, then confirm or discard it.

    Example: stockwatch confirm 12
    """
    try:
        report = state.runtime.confirm(Confirm(upload_id, cli_actor()))
    except NotHeld as exc:
        raise click.UsageError(str(exc)) from None
    deliver_now(state)
    finish([report], as_json, "loaded")


@click.command()
@click.argument("upload_id")
@json_option
@pass_context
def discard(state: Context, upload_id: str, as_json: bool) -> None:
    """Drop a snapshot held for confirmation: nothing of it is applied; its file is kept.

    Example: stockwatch discard 12
    """
    try:
        report = state.runtime.discard(Discard(upload_id, getpass.getuser()))
    except NotHeld as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        finish([report], True, "loaded")
    click.echo(f"upload {upload_id}: {report.message}")


@click.command("snapshot-default")
@click.argument("store")
@click.option(
    "--on/--off",
    "snapshot",
    required=True,
    help="Treat the store's files as full snapshots unless an upload says otherwise.",
)
@new_option
@pass_context
def snapshot_default(state: Context, store: str, snapshot: bool, new: bool) -> None:
    """Whether STORE's files list every item it stocks (so what they leave out is 0).

    Example: stockwatch snapshot-default Berlin --on
    """
    asked = SetSnapshotDefault(store, snapshot, cli_actor(), new)
    runtime = state.runtime
    try:
        set_default(runtime.set_snapshot_default, asked, names=runtime.reads())
    except UnknownName as exc:
        raise click.ClickException(f"{exc} (--new if it is expected)") from None
    verb = "are full snapshots" if snapshot else "list only what they list"
    click.echo(f"files of {store} {verb} unless an upload says otherwise")
