"""Commands that read: stock, alerts, uploads, report, history — the same on every backend."""

from __future__ import annotations

import click

from stockwatch.cli.context import Context, json_option, pass_context
from stockwatch.cli.output import describe_report, print_json, print_table
from stockwatch.core.export import stock_csv
from stockwatch.core.rows import to_json
from stockwatch.service.reads import UploadIdError, list_stock, report_of


@click.command()
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
    status = "out_of_stock" if out_of_stock else None
    rows = list_stock(state.runtime.model(), store, status, limit)
    if as_csv:
        for text in stock_csv(rows):
            click.echo(text, nl=False)
    elif as_json:
        print_json(to_json(rows))
    else:
        print_table(
            ("store", "item", "count", "updated"),
            [(r.store, r.item, r.count, r.updated_at) for r in rows],
            "No stock rows yet; load a file with `stockwatch ingest FILE`.",
        )


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@pass_context
def uploads(state: Context, limit: int, as_json: bool) -> None:
    """Recent uploads and their status."""
    found = state.runtime.model().uploads(limit, None)
    if as_json:
        print_json(to_json(found))
    else:
        print_table(
            ("id", "file", "status", "loaded", "rejected", "received"),
            [
                (u.id, u.file, u.status, u.rows_loaded, u.rows_rejected, u.received_at)
                for u in found
            ],
            "No uploads yet.",
        )


@click.command()
@click.argument("upload_id")
@json_option
@pass_context
def report(state: Context, upload_id: str, as_json: bool) -> None:
    """The full report of one upload (its id from `stockwatch uploads`)."""
    try:
        found = state.runtime.model().upload(upload_id)
    except UploadIdError as exc:
        raise click.UsageError(str(exc)) from None
    if found is None:
        raise click.UsageError(f"there is no upload {upload_id}; see `stockwatch uploads`")
    result = report_of(found)
    if as_json:
        print_json(result.to_json())
    else:
        describe_report(result)


@click.command()
@click.argument("store")
@click.argument("item")
@json_option
@pass_context
def history(state: Context, store: str, item: str, as_json: bool) -> None:
    """How the count of ITEM in STORE changed over time (on AWS: the last eight changes)."""
    rows = state.runtime.model().history(store, item)
    if as_json:
        print_json(to_json(rows))
    else:
        print_table(
            ("when", "from", "to", "upload"),
            [(r.changed_at, r.old_count, r.count, r.upload_id) for r in rows],
            f"No history for {item!r} in {store!r}.",
        )
