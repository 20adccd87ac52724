"""``stockwatch layouts``: the store systems' exports stockwatch reads as they are, and the
column mappings kept under a name."""

from __future__ import annotations

import click

from stockwatch.cli.context import Context, cli_actor, json_option, pass_context
from stockwatch.cli.output import console, print_json
from stockwatch.core import layouts
from stockwatch.service.layouts import save_layout


@click.group("layouts", invoke_without_command=True)
@json_option
@pass_context
@click.pass_context
def layouts_command(ctx: click.Context, state: Context, as_json: bool) -> None:
    """List the file layouts an upload is read in, and the columns each one reads.

    An upload's layout is found from its header row; --layout NAME forces one (a built-in
    one or a saved mapping), and --columns "store=H,item=H,count=H" maps any other file.

    \b
    Example: stockwatch layouts
             stockwatch layouts save till --columns "item=Article,count=Qty" --store Hamburg
             stockwatch ingest --layout till till-export.csv
    """
    if ctx.invoked_subcommand is not None:
        return
    saved = sorted(state.runtime.saved_layouts().values(), key=lambda s: s.name)
    found = layouts.describe(saved)
    if as_json:
        print_json(found)
        return
    from rich.markup import escape  # where it is used: see cli.output.console

    out = console()
    for layout in found:
        needs = ", ".join(str(n) for n in layout["needs"])  # type: ignore[attr-defined]
        out.print(f"[bold]{escape(str(layout['name']))}[/]  {escape(str(layout['system']))}")
        out.print(f"  needs: {escape(needs)}")
        out.print(f"  reads: {escape(str(layout['reads']))}")


@layouts_command.command("save")
@click.argument("name")
@click.option("--columns", required=True, metavar="MAPPING", help='"store=H,item=H,count=H"')
@click.option(
    "--store",
    "store_name",
    metavar="NAME",
    help="The store of files with no store column; an upload naming this store with --store"
    " and no layout uses the mapping.",
)
@pass_context
def save(state: Context, name: str, columns: str, store_name: str | None) -> None:
    """Keep a column mapping under NAME, for --layout NAME (and as STORE's own).

    Example: stockwatch layouts save till --columns "item=Article,count=Qty" --store Hamburg
    """
    layout = layouts.SavedLayout(name, columns, store_name)
    try:
        save_layout(state.runtime.save_layout, layout, cli_actor())
    except layouts.LayoutError as exc:
        raise click.UsageError(str(exc).removeprefix("--columns: ")) from None
    click.echo(
        f"saved layout {name}: --columns {columns!r}"
        + (f" --store {store_name!r}" if store_name else "")
    )


@layouts_command.command("delete")
@click.argument("name")
@pass_context
def delete(state: Context, name: str) -> None:
    """Forget the saved mapping NAME (files already loaded keep their counts).

    Example: stockwatch layouts delete till
    """
    if not state.runtime.delete_layout(name):
        raise click.ClickException(f"there is no saved layout {name!r}")
    click.echo(f"deleted layout {name}")
