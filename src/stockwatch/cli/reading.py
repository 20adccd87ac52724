"""Commands that read: stock, uploads, report, history — the same on every backend.

Each takes --json, --csv and --nl (``output.formats``); a table fits the terminal without
cutting a number or a status.
"""

from __future__ import annotations

import click

from stockwatch.cli.context import Context, pass_context
from stockwatch.cli.output import describe_report, emit, formats, print_json, short_time
from stockwatch.core.export import stock_csv
from stockwatch.core.rows import StockRow, to_json
from stockwatch.service.reads import (
    UnknownName,
    UploadIdError,
    known_item,
    known_store,
    list_stock,
    report_of,
)


def _cover(row: StockRow) -> str:
    return "" if row.days_of_cover is None else f"{row.days_of_cover:g} d"


@click.command()
@click.option("--store", help="Only this store (its exact name; a near miss is suggested).")
@click.option("--out-of-stock", is_flag=True, help="Only items with a count of 0.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@formats
@pass_context
def stock(
    state: Context, store: str | None, out_of_stock: bool, limit: int | None, fmt: str
) -> None:
    """Current stock levels, with each item's status and days of cover.

    Cover is how many days the count lasts at the item's recent usage (blank until its
    history has three counts over two days).

    \b
    Example: stockwatch stock --store Berlin
             stockwatch stock --out-of-stock --csv > empty-shelves.csv
    """
    model = state.runtime.reads()
    if store is not None:
        try:
            known_store(model, store)
        except UnknownName as exc:
            raise click.ClickException(str(exc)) from None
    status = "out_of_stock" if out_of_stock else None
    rows = list_stock(model, store, status, limit)
    if fmt == "csv":
        for text in stock_csv(rows):
            click.echo(text, nl=False)
        return
    # A SKU column only where a store system's export gave some (most files have none).
    skus = any(r.sku for r in rows)
    emit(
        rows,
        fmt,
        ("store", "item", *(("sku",) if skus else ()), "count", "status", "cover", "updated"),
        lambda r: (
            r.store,
            r.item,
            *((r.sku or "",) if skus else ()),
            r.count,
            r.status,
            _cover(r),
            short_time(r.updated_at),
        ),
        "No stock rows yet; load a file with `stockwatch ingest FILE`.",
    )


@click.command()
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many."
)
@formats
@pass_context
def uploads(state: Context, limit: int, fmt: str) -> None:
    """Recent uploads and their status, newest first.

    \b
    Example: stockwatch uploads --limit 10
    """
    found = state.runtime.reads().uploads(limit, None)
    emit(
        found,
        fmt,
        ("id", "file", "status", "loaded", "rejected", "received", "from"),
        lambda u: (
            u.id,
            u.file,
            u.status,
            u.rows_loaded,
            u.rows_rejected,
            short_time(u.received_at),
            u.uploaded_by or "",
        ),
        "No uploads yet.",
    )


@click.command()
@click.argument("upload_id")
@formats
@pass_context
def report(state: Context, upload_id: str, fmt: str) -> None:
    """The full report of one upload (its id from `stockwatch uploads`).

    --csv lists its rejected rows.

    \b
    Example: stockwatch report 3
    """
    try:
        found = state.runtime.reads().upload(upload_id)
    except UploadIdError as exc:
        raise click.UsageError(str(exc)) from None
    if found is None:
        raise click.ClickException(f"there is no upload {upload_id}; see `stockwatch uploads`")
    result = report_of(found)
    if fmt == "json":
        print_json(result.to_json())
    elif fmt == "nl":
        import json

        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    elif fmt == "csv":
        emit(found.errors, "csv", ("line", "field", "message", "item"), lambda e: (), "")
    else:
        describe_report(result)


@click.command()
@click.argument("store")
@click.argument("item")
@formats
@pass_context
def history(state: Context, store: str, item: str, fmt: str) -> None:
    """How the count of ITEM in STORE changed, dated by when each count was taken.

    On AWS: the item's last eight changes.

    \b
    Example: stockwatch history Berlin "Echo Dot"
    """
    model = state.runtime.reads()
    rows = model.history(store, item)
    if not rows:
        try:
            known_item(model, store, item)
        except UnknownName as exc:
            raise click.ClickException(str(exc)) from None
    emit(
        rows,
        fmt,
        ("when", "from", "to", "upload"),
        lambda r: (short_time(r.as_of or r.changed_at), r.old_count, r.count, r.upload_id),
        f"No history for {item!r} in {store!r}.",
    )


__all__ = ["history", "report", "stock", "to_json", "uploads"]
