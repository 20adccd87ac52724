"""The ``stockwatch`` command: global options first, then a command.

stockwatch --data-dir ./data ingest --json inventory-berlin.csv
"""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
import sys
from pathlib import Path

import click

from stockwatch import __version__
from stockwatch.cli.alerts import alerts, mute, mutes, unmute
from stockwatch.cli.context import Context
from stockwatch.cli.demo import demo_command
from stockwatch.cli.layouts import layouts_command
from stockwatch.cli.loading import ingest, process, replay, upload, validate
from stockwatch.cli.operations import backup, check, compact, restore
from stockwatch.cli.ordering import backtest, ordering, orders, reorder
from stockwatch.cli.reading import history, report, stock, uploads
from stockwatch.cli.snapshots import confirm, discard, snapshot_default
from stockwatch.cli.subscriptions import subscriptions
from stockwatch.cli.thresholds import thresholds
from stockwatch.cli.users import audit, users
from stockwatch.sqlite.database import DataDirError


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stockwatch"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stockwatch")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOCKWATCH_DATA_DIR",
    default=default_data_dir,
    show_default="$XDG_DATA_HOME/stockwatch or ~/.local/share/stockwatch",
    help="Where the database and the uploaded files live (env STOCKWATCH_DATA_DIR).",
)
@click.option(
    "--backend",
    type=click.Choice(["sqlite", "aws"]),
    envvar="STOCKWATCH_BACKEND",
    default="sqlite",
    show_default=True,
    help="sqlite: the data directory; aws: the bucket and DynamoDB tables named by "
    "STOCKWATCH_BUCKET, STOCKWATCH_TABLE and STOCKWATCH_STATE_TABLE.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, backend: str) -> None:
    """Inventory files in; stock levels and out-of-stock alerts out.

    \b
    Example: stockwatch --data-dir ./data ingest inventory-berlin.csv
             stockwatch --data-dir ./data stock --store Berlin
    """
    state = Context(data_dir, backend)
    ctx.obj = state
    ctx.call_on_close(state.close)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    envvar="STOCKWATCH_PORT",
    type=click.IntRange(0, 65535),
    help="The TCP port to listen on (0: any free one; env STOCKWATCH_PORT).",
)
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder watched for dropped files [default: <data-dir>/inbox].",
)
@click.option("--demo", is_flag=True, help="Load the sample data of six stores first.")
@click.option(
    "--trusted-proxies",
    envvar="STOCKWATCH_TRUSTED_PROXIES",
    metavar="ADDRESSES",
    help="Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses;"
    " env STOCKWATCH_TRUSTED_PROXIES). Default: none, the peer's own address counts.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    inbox: Path | None,
    demo: bool,
    trusted_proxies: str | None,
) -> None:
    """Run the dashboard, the HTTP API, the workers and the inbox folder in one process.

    \b
    Example: stockwatch serve --demo
             STOCKWATCH_TOKEN=... stockwatch serve --host 0.0.0.0
    """
    from stockwatch.server.runner import PortTaken, TokenRequired, listen
    from stockwatch.server.runner import serve as run_server

    state = ctx.find_object(Context)
    assert state is not None
    if state.backend != "sqlite":
        raise click.UsageError("serve runs the embedded backend; on AWS, API Gateway serves")
    try:
        sock = listen(host, port)
    except PortTaken as exc:
        raise click.ClickException(str(exc)) from None
    if demo:
        ctx.invoke(demo_command)
        state.close()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def listening(url: str) -> None:
        click.echo(f"stockwatch dashboard: {url}  (data in {state.data_dir})", err=True)

    try:
        run_server(
            state.data_dir,
            sock,
            state.limits,
            state.channels,
            inbox or state.data_dir / "inbox",
            listening,
            trusted_proxies,
        )
    except TokenRequired as exc:
        raise click.UsageError(str(exc)) from None


for command in (ingest, validate, process, demo_command, upload, replay, layouts_command):
    cli.add_command(command)
for command in (confirm, discard, snapshot_default, alerts, mute, unmute, mutes):
    cli.add_command(command)
for command in (reorder, orders, ordering, backtest):
    cli.add_command(command)
for command in (backup, restore, check, compact):
    cli.add_command(command)
for command in (stock, uploads, report, history, thresholds, users, audit, subscriptions):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning environment problems into messages instead of tracebacks.

    ``argv``: the arguments (default: the process's), so the tests can run it in process.
    """
    if argv is None:  # the process is this command's alone
        _collect_less()
    try:
        cli.main(args=argv, prog_name="stockwatch", standalone_mode=True)
    except DataDirError as exc:
        click.echo(f"stockwatch: {exc}", err=True)
        sys.exit(2)
    except sqlite3.OperationalError as exc:
        click.echo(
            f"stockwatch: the database cannot be written: {exc}{_advice(str(exc))}", err=True
        )
        sys.exit(1)
    except OSError as exc:
        advice = _advice(exc.strerror or "")
        click.echo(
            f"stockwatch: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}{advice}",
            err=True,
        )
        sys.exit(1)


def _collect_less() -> None:
    """A command makes many objects that live until it ends (an order list over a million
    items keeps a few hundred thousand), and Python's collector, tuned for programs that
    live long, walks them again and again: a tenth of such a command's time. What was
    imported to start is taken out of collection for good, and the youngest objects are
    looked at every 50,000 allocations rather than 700; cycles are still collected."""
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    gc.enable()  # off while the commands were imported (``cli.entry``)


def _advice(error: str) -> str:
    """What to do next, for the errors a full or read-only disk gives."""
    lowered = error.lower()
    if "full" in lowered or "no space" in lowered or "too large" in lowered:
        return (
            ". Nothing of the interrupted work was applied (each upload is one transaction);"
            " free some space, then run `stockwatch process` to finish what is queued"
        )
    if "read-only" in lowered or "readonly" in lowered:
        return ". The data directory is read-only; reading commands still work"
    return ""
