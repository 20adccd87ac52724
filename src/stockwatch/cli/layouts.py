"""``stockwatch layouts``: the store systems' exports stockwatch reads as they are."""

from __future__ import annotations

import click
from rich.markup import escape

from stockwatch.cli.context import json_option
from stockwatch.cli.output import console, print_json
from stockwatch.core import layouts


@click.command("layouts")
@json_option
def layouts_command(as_json: bool) -> None:
    """List the file layouts an upload is read in, and the columns each one reads.

    An upload's layout is found from its header row; --layout NAME forces one, and
    --columns "store=H,item=H,count=H" maps any other file.

    \b
    Example: stockwatch layouts
             stockwatch ingest --columns "store=Branch,item=Article,count=Qty" stock.csv
    """
    if as_json:
        print_json(layouts.describe())
        return
    out = console()
    for layout in layouts.LAYOUTS:
        needs = ", ".join(layouts.shown_columns(layout.required))
        out.print(f"[bold]{layout.name}[/]  {escape(layout.system)}")
        out.print(f"  needs: {escape(needs)}")
        out.print(f"  reads: {escape(layout.reads)}")
