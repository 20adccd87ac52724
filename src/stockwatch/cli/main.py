"""The ``stockwatch`` command: global options first, then a command.

stockwatch --data-dir ./data ingest --json inventory-berlin.csv
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from functools import update_wrapper
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click

from stockwatch import __version__
from stockwatch.cli.output import describe_report, print_json, print_table, progress_bar
from stockwatch.core.export import stock_csv
from stockwatch.core.limits import Limits
from stockwatch.core.reader import FileRejected, InventoryFile
from stockwatch.core.report import UploadReport
from stockwatch.notify.config import channels_from_env
from stockwatch.sqlite import queries
from stockwatch.sqlite.app import EmbeddedStockwatch, scratch_stockwatch
from stockwatch.sqlite.database import DATABASE_NAME, DataDirError
from stockwatch.sqlite.object_store import ObjectTooLarge
from stockwatch.sqlite.outbox import DeliveryResult, deliver

F = TypeVar("F", bound=Callable[..., Any])


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stockwatch"


class Context:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._app: EmbeddedStockwatch | None = None
        try:
            self.limits = Limits.from_env()
            self.channels = channels_from_env(data_dir=data_dir)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    backend = "sqlite"

    def aws(self) -> Any:
        """The AWS settings, or a usage error saying which variables to set."""
        from stockwatch.aws.settings import AwsSettings

        try:
            return AwsSettings.from_env()
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    @property
    def app(self) -> EmbeddedStockwatch:
        if self.backend == "aws":
            command = click.get_current_context().info_name
            raise click.UsageError(f"`{command}` works on the sqlite backend only, so far")
        if self._app is None:
            self._app = EmbeddedStockwatch(self.data_dir, self.limits, list(self.channels))
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def pass_context(f: F) -> F:
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(f, ctx.find_object(Context), *args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
strict_option = click.option(
    "--strict/--lenient",
    default=lambda: os.environ.get("STOCKWATCH_STRICT", "").lower() in ("1", "true", "yes"),
    help="Reject the whole file when any row is bad (default: STOCKWATCH_STRICT, else lenient).",
)


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
    help="sqlite: the data directory; aws: the DynamoDB tables named by STOCKWATCH_TABLE and "
    "STOCKWATCH_STATE_TABLE (for ingest, validate, stock, alerts, uploads).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, backend: str) -> None:
    """Inventory files in; stock levels and out-of-stock alerts out."""
    state = Context(data_dir)
    state.backend = backend
    ctx.obj = state
    ctx.call_on_close(state.close)


def _deliver(state: Context, due_only: bool = True) -> DeliveryResult:
    result = deliver(state.app.conn, state.channels, due_only=due_only)
    for error in result.errors:
        click.echo(f"notification not delivered yet, will retry: {error}", err=True)
    return result


def _ingest_one(state: Context, path: Path, strict: bool) -> UploadReport:
    try:
        with open(path, "rb") as source:
            upload_id = state.app.receive(path.name, source, strict)
    except ObjectTooLarge as exc:
        return UploadReport(path.name, None, "rejected", message=str(exc))
    with progress_bar(f"loading {path.name}", path.stat().st_size) as on_progress:
        return state.app.process_upload(upload_id, on_progress)


@cli.command()
@files_argument
@strict_option
@json_option
@pass_context
def ingest(state: Context, files: tuple[Path, ...], strict: bool, as_json: bool) -> None:
    """Keep each FILE as an upload and load it now; print a report per file.

    Exit status: 0 when everything loaded, 1 when any row or file was rejected.
    """
    if state.backend == "aws":
        _finish([_backfill(state, path) for path in files], as_json, "loaded")
        return
    reports = [_ingest_one(state, path, strict) for path in files]
    _deliver(state)
    _finish(reports, as_json, "loaded")


def _backfill(state: Context, path: Path) -> UploadReport:
    from stockwatch.aws.loader import AwsLoader

    loader = AwsLoader.from_settings(state.aws(), state.limits)
    with open(path, "rb") as source:
        return loader.backfill(path.name, source)


@cli.command()
@files_argument
@strict_option
@json_option
@pass_context
def validate(state: Context, files: tuple[Path, ...], strict: bool, as_json: bool) -> None:
    """Report what ingesting each FILE would do, without writing anything."""
    reports = []
    if state.backend == "sqlite" and (state.data_dir / DATABASE_NAME).exists():
        reports = [_validate_one(state.app, path, strict) for path in files]
    else:
        with scratch_stockwatch(state.limits) as scratch:
            reports = [_validate_one(scratch, path, strict) for path in files]
    _finish(reports, as_json, "would load")


def _validate_one(app: EmbeddedStockwatch, path: Path, strict: bool) -> UploadReport:
    with (
        open(path, "rb") as source,
        progress_bar(f"checking {path.name}", path.stat().st_size) as on_progress,
    ):
        return app.validate(path.name, source, strict, on_progress, path)


def _finish(reports: list[UploadReport], as_json: bool, verb: str) -> None:
    if as_json:
        print_json([r.to_json() for r in reports])
    else:
        for report in reports:
            describe_report(report, verb)
    if any(r.is_failure() for r in reports):
        sys.exit(1)


@cli.command()
@click.option("--store", help="Only this store.")
@click.option("--out-of-stock", is_flag=True, help="Only items with a count of 0.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@json_option
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print CSV for a spreadsheet (formulas neutralised)."
)
@pass_context
def stock(
    state: Context,
    store: str | None,
    out_of_stock: bool,
    limit: int | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Current stock levels."""
    if state.backend == "aws":
        from stockwatch.aws import queries as aws_queries

        rows = aws_queries.stock(state.aws(), store, out_of_stock, limit)
    else:
        rows = queries.stock(state.app.conn, store, out_of_stock, limit)
    if as_csv:
        for text in stock_csv(rows):
            click.echo(text, nl=False)
    elif as_json:
        print_json(rows)
    else:
        print_table(
            ("store", "item", "count", "updated"),
            [(r["store"], r["item"], r["count"], r["updated_at"]) for r in rows],
            "No stock rows yet; load a file with `stockwatch ingest FILE`.",
        )


@cli.command()
@click.option("--open", "open_only", is_flag=True, help="Only alerts not yet resolved.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many, newest first.")
@json_option
@pass_context
def alerts(state: Context, open_only: bool, limit: int | None, as_json: bool) -> None:
    """Alerts, newest first."""
    if state.backend == "aws":
        from stockwatch.aws import queries as aws_queries

        rows = aws_queries.alerts(state.aws(), open_only, limit)
    else:
        rows = queries.alerts(state.app.conn, open_only, limit)
    if as_json:
        print_json(rows)
    else:
        print_table(
            ("id", "kind", "store", "item", "count", "raised", "resolved"),
            [
                (
                    a["id"],
                    a["kind"],
                    a["store"],
                    a["item"],
                    a["count"],
                    a["raised_at"],
                    a["resolved_at"] or "open",
                )
                for a in rows
            ],
            "No alerts.",
        )


@cli.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@pass_context
def uploads(state: Context, limit: int, as_json: bool) -> None:
    """Recent uploads and their status."""
    if state.backend == "aws":
        from stockwatch.aws import queries as aws_queries

        found = aws_queries.uploads(state.aws(), limit)
        if as_json:
            print_json(found)
        else:
            print_table(
                ("id", "file", "status", "loaded", "rejected"),
                [
                    (
                        u["id"],
                        u["file"],
                        u["status"],
                        u.get("rows_loaded", ""),
                        u.get("rows_rejected", ""),
                    )
                    for u in found
                ],
                "No uploads yet.",
            )
        return
    records = state.app.uploads(limit)
    if as_json:
        print_json([r.to_json() for r in records])
    else:
        print_table(
            ("id", "file", "status", "loaded", "rejected", "received"),
            [
                (
                    r.id,
                    r.filename,
                    r.status,
                    r.report.rows_loaded if r.report else "",
                    r.report.rows_rejected if r.report else "",
                    r.received_at,
                )
                for r in records
            ],
            "No uploads yet.",
        )


@cli.command()
@click.argument("upload_id", type=int)
@json_option
@pass_context
def report(state: Context, upload_id: int, as_json: bool) -> None:
    """The full report of one upload."""
    record = state.app.upload(upload_id)
    if record is None:
        raise click.UsageError(f"there is no upload {upload_id}; see `stockwatch uploads`")
    result = record.report or UploadReport(record.filename, record.id, record.status)  # type: ignore[arg-type]
    if as_json:
        print_json(result.to_json())
    else:
        describe_report(result)


@cli.command()
@click.argument("store")
@click.argument("item")
@json_option
@pass_context
def history(state: Context, store: str, item: str, as_json: bool) -> None:
    """How the count of ITEM in STORE changed over time (on AWS: the last eight changes)."""
    if state.backend == "aws":
        from stockwatch.aws import queries as aws_queries

        rows = aws_queries.history(state.aws(), store, item)
    else:
        rows = queries.history(state.app.conn, store, item)
    if as_json:
        print_json(rows)
    else:
        print_table(
            ("when", "from", "to", "upload"),
            [(r["changed_at"], r["old_count"], r["count"], r["upload_id"]) for r in rows],
            f"No history for {item!r} in {store!r}.",
        )


@cli.command()
@json_option
@pass_context
def process(state: Context, as_json: bool) -> None:
    """Finish all pending work (interrupted uploads, undelivered notifications) and exit."""
    reports = state.app.process_pending()
    result = _deliver(state, due_only=False)
    if as_json:
        print_json(
            {
                "uploads": [r.to_json() for r in reports],
                "notifications": {
                    "sent": result.sent,
                    "failed": result.failed,
                    "pending": result.pending,
                },
            }
        )
    else:
        for rep in reports:
            describe_report(rep)
        click.echo(
            f"uploads processed: {len(reports)}; notifications sent: {result.sent}, "
            f"still pending: {result.pending}"
        )
    if result.pending:
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--inbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder watched for dropped files [default: <data-dir>/inbox].",
)
@click.option("--demo", is_flag=True, help="Load the sample data of six stores first.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, inbox: Path | None, demo: bool) -> None:
    """Run the dashboard, the HTTP API, the workers and the inbox folder in one process."""
    from stockwatch.server.runner import TokenRequired
    from stockwatch.server.runner import serve as run_server

    state = ctx.find_object(Context)
    assert state is not None
    if demo:
        ctx.invoke(demo_command)
        state.close()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    click.echo(f"stockwatch dashboard: http://{host}:{port}/  (data in {state.data_dir})", err=True)
    try:
        run_server(
            state.data_dir,
            host,
            port,
            state.limits,
            state.channels,
            inbox or state.data_dir / "inbox",
        )
    except TokenRequired as exc:
        raise click.UsageError(str(exc)) from None


@cli.command()
@files_argument
@click.option(
    "--server",
    envvar="STOCKWATCH_SERVER",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The stockwatch server (env STOCKWATCH_SERVER).",
)
@click.option("--token", envvar="STOCKWATCH_TOKEN", help="Its token (env STOCKWATCH_TOKEN).")
@strict_option
@json_option
def upload(
    files: tuple[Path, ...], server: str, token: str | None, strict: bool, as_json: bool
) -> None:
    """Send each FILE to a running server, wait for its report and print it."""
    import httpx

    from stockwatch.cli.remote import RemoteError, upload_file

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reports = []
    with httpx.Client(base_url=server, headers=headers, timeout=60) as client:
        for path in files:
            with progress_bar(f"sending {path.name}", path.stat().st_size) as on_progress:
                try:
                    reports.append(upload_file(client, path, strict, on_progress))
                except RemoteError as exc:
                    raise click.ClickException(str(exc)) from None
    _finish(reports, as_json, "loaded")


@cli.group()
def thresholds() -> None:
    """Low-stock thresholds: a minimum per store and item (``*`` matches all)."""


@thresholds.command("list")
@json_option
@pass_context
def thresholds_list(state: Context, as_json: bool) -> None:
    """Show the thresholds."""
    rows = queries.thresholds(state.app.conn)
    if as_json:
        print_json(rows)
    else:
        print_table(
            ("store", "item", "minimum"),
            [(r["store"], r["item"], r["minimum"]) for r in rows],
            "No thresholds set.",
        )


@thresholds.command("set")
@click.argument("store")
@click.argument("item")
@click.argument("minimum", type=click.IntRange(min=0))
@pass_context
def thresholds_set(state: Context, store: str, item: str, minimum: int) -> None:
    """Alert when ITEM in STORE drops below MINIMUM (use * for all stores or items)."""
    store, item = store.strip(), item.strip()
    if not store or not item:
        raise click.UsageError("STORE and ITEM must not be empty; use * to mean all")
    queries.set_thresholds(state.app.conn, [(store, item, minimum)])
    click.echo(f"low-stock threshold for {store} / {item}: {minimum}")


@thresholds.command("delete")
@click.argument("store")
@click.argument("item")
@pass_context
def thresholds_delete(state: Context, store: str, item: str) -> None:
    """Remove the threshold of STORE and ITEM."""
    if not queries.delete_threshold(state.app.conn, store, item):
        raise click.UsageError(f"there is no threshold for {store} / {item}")
    click.echo(f"removed the threshold for {store} / {item}")


@thresholds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def thresholds_import(state: Context, file: Path) -> None:
    """Set thresholds from a CSV file with the columns store, item, minimum."""
    entries: list[tuple[str, str, int]] = []
    with open(file, "rb") as source:
        reader = InventoryFile(source, state.limits, value_column="minimum")
        try:
            for chunk in reader.chunks():
                entries.extend((s, i, m) for _, s, i, m in chunk)
        except FileRejected as exc:
            raise click.ClickException(f"{file.name}: {exc.message}") from None
    for error in reader.errors:
        click.echo(error.describe(file.name), err=True)
    if reader.rows_rejected:
        raise click.ClickException(
            f"{file.name}: {reader.rows_rejected} bad rows; nothing imported, fix them first"
        )
    queries.set_thresholds(state.app.conn, entries)
    click.echo(f"imported {len(entries)} thresholds from {file.name}")


@cli.command("demo")
@json_option
@pass_context
def demo_command(state: Context, as_json: bool = False) -> None:
    """Load the bundled sample files of six stores (safe to run again: nothing changes)."""
    folder = resources.files("stockwatch") / "demo_data"
    reports = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".csv"):
            with entry.open("rb") as source:
                upload_id = state.app.receive(entry.name, source)
            reports.append(state.app.process_upload(upload_id))
    _deliver(state)
    if as_json:
        print_json([r.to_json() for r in reports])
        return
    for rep in reports:
        describe_report(rep)
    rows = queries.stock(state.app.conn, out_of_stock=True)
    click.echo(f"\n{len(rows)} items out of stock; data in {state.data_dir}")


def main() -> None:
    """Run the CLI, turning environment problems into messages instead of tracebacks."""
    try:
        cli.main(prog_name="stockwatch", standalone_mode=True)
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
