"""What to order: ``ordering`` (settings), ``reorder`` (the list), ``orders`` and ``backtest``,
through ``service.replenishment``."""

from __future__ import annotations

from typing import Any

import click

from stockwatch.cli.context import (
    Context,
    cli_actor,
    collector_paused,
    json_option,
    pass_context,
)
from stockwatch.cli.output import emit, formats, print_json, print_table
from stockwatch.core.demand import WINDOW_DAYS
from stockwatch.core.replenishment import OrderingEntry, OrderingPolicy
from stockwatch.service import order_list
from stockwatch.service import replenishment as service
from stockwatch.service.reads import UnknownName

DEFAULTS = OrderingPolicy()


def _checked(call: Any) -> Any:
    try:
        return call()
    except (service.OrderingError, UnknownName) as exc:
        raise click.ClickException(str(exc)) from None


@click.group("ordering", invoke_without_command=True)
@json_option
@pass_context
@click.pass_context
def ordering(ctx: click.Context, state: Context, as_json: bool) -> None:
    """How each store orders: lead time, review period, service level, pack, minimum order.

    Set per store and item, * for all; a setting left out comes from the broader entries,
    then the defaults (lead 7 days, review 7 days, service level 95 %, pack 1).

    \b
    Example: stockwatch ordering set Berlin '*' --lead-days 3 --review-days 7
             stockwatch ordering set Berlin 'Echo Dot' --pack 12
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = service.settings_rows(state.runtime.order_book())
    if as_json:
        print_json(rows)
        return
    print_table(
        ("store", "item", "lead days", "review days", "service level", "pack", "min order"),
        [
            [r["store"], r["item"]]
            + [
                "" if r[k] is None else f"{r[k]:g}"
                for k in ("lead_days", "review_days", "service_level", "pack", "min_order")
            ]
            for r in rows
        ],
        f"No ordering settings: every item orders with lead {DEFAULTS.lead_days:g} days,"
        f" review {DEFAULTS.review_days:g} days, service level {DEFAULTS.service_level:g} %.",
    )


@ordering.command("set")
@click.argument("store")
@click.argument("item")
@click.option("--lead-days", type=click.FloatRange(0, 365), help="Days from order to shelf.")
@click.option("--review-days", type=click.FloatRange(1, 365), help="Days between orders.")
@click.option(
    "--service-level",
    type=click.FloatRange(50, 99.9),
    metavar="PCT",
    help="Share of demand to serve from the shelf, in percent.",
)
@click.option("--pack", type=click.IntRange(1), help="Order in multiples of this.")
@click.option("--min-order", type=click.IntRange(0), help="Order at least this much.")
@pass_context
def ordering_set(
    state: Context,
    store: str,
    item: str,
    lead_days: float | None,
    review_days: float | None,
    service_level: float | None,
    pack: int | None,
    min_order: int | None,
) -> None:
    """Set how ITEM in STORE is ordered (use * for all stores or items).

    \b
    Example: stockwatch ordering set '*' '*' --service-level 97.5
    """
    runtime = state.runtime
    entry = OrderingEntry(
        store, item, lead_days, review_days, service_level, pack, min_order, by=cli_actor()
    )
    done = _checked(
        lambda: service.set_ordering(runtime.order_book(), entry, names=runtime.reads())
    )
    given = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in done.given().items())
    click.echo(f"ordering for {done.store} / {done.item}: {given}")


@ordering.command("delete")
@click.argument("store")
@click.argument("item")
@pass_context
def ordering_delete(state: Context, store: str, item: str) -> None:
    """Remove the settings set on STORE and ITEM: the broader ones apply again.

    \b
    Example: stockwatch ordering delete Berlin 'Echo Dot'
    """
    _checked(lambda: service.delete_ordering(state.runtime.order_book(), store, item))
    click.echo(f"removed the ordering settings of {store.strip()} / {item.strip()}")


@click.command("reorder")
@click.option("--store", help="Only this store.")
@click.option("--all", "everything", is_flag=True, help="Every item, with nothing to order too.")
@click.option(
    "--transfers", "only_transfers", is_flag=True,
    help="Only the transfers between stores (into or out of --store).",
)  # fmt: skip
@formats
@pass_context
def reorder(
    state: Context, store: str | None, everything: bool, only_transfers: bool, fmt: str
) -> None:
    """What to order now, per store and item, and why.

    Each item's order-up-to level comes from its recent daily demand (weighted to the last
    few weeks; deliveries and days at zero left out) and its ordering settings; the
    suggestion brings on hand plus on order up to it, in packs. Where another store holds
    more than its own level plus a week of demand, the shortfall is moved from there first.

    \b
    Example: stockwatch reorder --store Berlin --csv > berlin-order.csv
             stockwatch reorder --transfers
    """
    with collector_paused():
        _show_order_list(state, store, everything, only_transfers, fmt)


def _show_order_list(
    state: Context, store: str | None, everything: bool, only_transfers: bool, fmt: str
) -> None:
    runtime = state.runtime
    reads, book = runtime.reads(), runtime.order_book()
    if only_transfers:
        moves = _checked(lambda: order_list.transfers(reads, book, store))
        emit(
            moves,
            fmt,
            ("item", "from", "to", "quantity"),
            lambda m: (m.item, m.source, m.target, m.quantity),
            "No store can spare what another needs.",
        )
        return
    lines = _checked(lambda: order_list.reorder(reads, book, store, everything))
    emit(
        lines,
        fmt,
        ("store", "item", "sku", "on hand", "on order", "per day", "up to", "move", "order",
         "reason"),
        lambda r: (
            r.store,
            r.item,
            r.sku or "",
            r.on_hand,
            r.on_order,
            "" if r.daily_demand is None else f"{r.daily_demand:g}",
            "" if r.order_up_to is None else r.order_up_to,
            r.transfer or "",
            "?" if r.suggested is None else r.suggested,
            r.reason,
        ),
        "Nothing to order.",
    )  # fmt: skip


@click.group("orders", invoke_without_command=True)
@click.option("--all", "everything", is_flag=True, help="Received orders too.")
@json_option
@pass_context
@click.pass_context
def orders(ctx: click.Context, state: Context, everything: bool, as_json: bool) -> None:
    """Orders placed and not yet on the shelf: they count towards what to order.

    An order is received by itself when a later count rises by at least half its
    quantity, or by hand with `orders receive ID`.

    \b
    Example: stockwatch orders add Berlin 'Echo Dot' 24 --expected 2026-12-10
    """
    if ctx.invoked_subcommand is not None:
        return
    runtime = state.runtime
    book = runtime.order_book()
    service.open_orders(book, runtime.reads())  # receive what the counts show arrived
    found = book.orders(open_only=not everything)
    if as_json:
        print_json([o.to_json() for o in found])
        return
    print_table(
        ("id", "store", "item", "quantity", "expected", "placed", "received"),
        [
            (
                o.id,
                o.store,
                o.item,
                o.quantity,
                o.expected or "",
                o.placed_at[:16],
                f"{o.received_at[:16]} ({o.received_by})" if o.received_at else "",
            )
            for o in found
        ],
        "No open orders." if not everything else "No orders.",
    )


@orders.command("add")
@click.argument("store")
@click.argument("item")
@click.argument("quantity", type=click.IntRange(1))
@click.option("--expected", metavar="DATE", help="When it should arrive (YYYY-MM-DD).")
@pass_context
def orders_add(state: Context, store: str, item: str, quantity: int, expected: str | None) -> None:
    """Record an order of QUANTITY of ITEM for STORE: it counts as on order until received.

    \b
    Example: stockwatch orders add Berlin 'Echo Dot' 24 --expected 2026-12-10
    """
    runtime = state.runtime
    order = _checked(
        lambda: service.add_order(
            runtime.order_book(), store, item, quantity, expected, cli_actor(), runtime.reads()
        )
    )
    click.echo(f"order {order.id}: {order.quantity} x {order.item} for {order.store}")


@orders.command("receive")
@click.argument("order_id", metavar="ID")
@pass_context
def orders_receive(state: Context, order_id: str) -> None:
    """Mark order ID as on the shelf: it no longer counts as on order.

    \b
    Example: stockwatch orders receive 12
    """
    _checked(lambda: service.receive_order(state.runtime.order_book(), order_id, cli_actor()))
    click.echo(f"order {order_id} received")


@click.command("backtest")
@click.option("--store", help="Only this store.")
@click.option(
    "--days", type=click.IntRange(7, 365), default=WINDOW_DAYS, show_default=True,
    help="Replay this many days of recorded demand.",
)  # fmt: skip
@json_option
@pass_context
def backtest(state: Context, store: str | None, days: int, as_json: bool) -> None:
    """Replay each item's recorded demand under the order-up-to policy and under min/max
    (min = the item's threshold, max = 2 x min): fill rate, days out, stock on hand.

    \b
    Example: stockwatch backtest --store Berlin --days 56
    """
    runtime = state.runtime
    result = _checked(
        lambda: order_list.run_backtest(runtime.reads(), runtime.order_book(), store, days)
    )
    if as_json:
        print_json(result)
        return
    print_table(
        ("policy", "items", "fill rate", "days out of stock", "avg on hand"),
        [
            (
                name.replace("_", "-"),
                p["items"],
                "" if p["fill_rate"] is None else f"{p['fill_rate']:.1%}",
                p["stockout_days"],
                p["avg_on_hand"],
            )
            for name, p in result["policies"].items()
        ],
        "No item has enough history to replay.",
    )
