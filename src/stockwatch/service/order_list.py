"""The order list (with transfers between stores first) and the backtest, per store or for
all the stores the reader may see; over the read model and the ``OrderBook``
(``service.replenishment``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple

from stockwatch.core.backtest import backtest
from stockwatch.core.demand import WINDOW_DAYS
from stockwatch.core.figures import Figures
from stockwatch.core.forecast import Point
from stockwatch.core.paging import walk_stock
from stockwatch.core.replenishment import (
    Estimate,
    Held,
    OrderingBook,
    OrderingPolicy,
    Suggestion,
    estimate_at,
    suggest_from,
    suggested,
)
from stockwatch.core.rows import StockQuery, StockRow
from stockwatch.core.thresholds import Threshold, Thresholds
from stockwatch.core.transfers import Need, Transfer, plan_transfers
from stockwatch.service import candidates
from stockwatch.service.candidates import CandidateReads
from stockwatch.service.reads import ReadModel, require_known
from stockwatch.service.replenishment import OrderBook, open_orders

PAGE = 500


class ReorderLine(NamedTuple):
    """A line of the order list, in the API's and the CSV's shape (a named tuple: a list
    over a million items has tens of thousands of them, made in a third of a dataclass's
    time)."""

    store: str
    item: str
    sku: str | None
    on_hand: int
    on_order: int
    daily_demand: float | None
    demand_sd: float | None
    method: str | None  # "mean", or "sba" for a slow mover
    order_up_to: int | None
    suggested: int | None  # None: not enough history; what to order after any transfer
    runs_out: str | None
    reason: str
    transfer: int = 0  # units to move in from other stores first
    transfer_from: str | None = None  # "6 from Karachi, 2 from Pusan"

    def to_json(self) -> dict[str, Any]:
        return dict(zip(COLUMNS, self, strict=True))


COLUMNS = ReorderLine._fields


@dataclass(frozen=True, slots=True)
class TransferLine:
    """Move before you buy: units another store can spare (``core.transfers``)."""

    item: str
    source: str
    target: str
    quantity: int


# -- the order list ----------------------------------------------------------------------


def _pages(reads: ReadModel, store: str | None) -> Iterator[list[StockRow]]:
    query = StockQuery(store, forecast=False)
    rows = walk_stock(lambda after, n: reads.stock_page(query.page(after, n)), size=PAGE)
    while page := list(islice(rows, PAGE)):
        yield page


def _histories(
    reads: ReadModel, store: str | None, days: int
) -> Iterator[tuple[StockRow, list[Point]]]:
    """Each item of the store (or all) with its recorded counts of the last ``days`` days:
    the backtest replays them."""
    for page in _pages(reads, store):
        points = reads.points_of([(r.store, r.item) for r in page], days)
        for row in page:
            yield row, points.get((row.store, row.item), [])


def _items(reads: ReadModel, store: str | None) -> Iterator[tuple[Held, Figures | None]]:
    """Each item of the store (or all) with its kept figures, a page at a time."""
    for page in _pages(reads, store):
        kept = reads.figures_of([(r.store, r.item) for r in page])
        for row in page:
            yield Held(row.store, row.item, row.count, row.sku), kept.get((row.store, row.item))


def reorder(
    reads: ReadModel, book: OrderBook, store: str | None = None, everything: bool = False
) -> list[ReorderLine]:
    """The order list: each item with something to move in or order, or too little history
    to say (``everything``: every item). Store and item order."""
    return plan(reads, book, store, everything)[0]


def transfers(reads: ReadModel, book: OrderBook, store: str | None = None) -> list[TransferLine]:
    """The transfers alone: into ``store`` or out of it (None: all)."""
    return [TransferLine(*move) for move in plan(reads, book, store, False)[1]]


def plan(
    reads: ReadModel, book: OrderBook, store: str | None, everything: bool
) -> tuple[list[ReorderLine], list[Transfer]]:
    """Every visible store's items are judged, so that a store short of an item can be
    sent what another holds beyond its own needs before anything is bought."""
    if store is not None:
        require_known(reads, [(store, None)])
    settings = OrderingBook(book.entries())
    on_order: dict[tuple[str, str], int] = defaultdict(int)
    for order in open_orders(book, reads):
        on_order[(order.store, order.item)] += order.quantity

    def judge(row: Held, estimate: Estimate) -> tuple[Held, Suggestion, OrderingPolicy]:
        policy = settings.policy(row.store, row.item)
        ordered = on_order.get((row.store, row.item), 0) if on_order else 0
        return row, suggest_from(row.on_hand, ordered, estimate, policy), policy

    if isinstance(reads, CandidateReads) and not everything:
        judged = candidates.to_judge(reads, settings, judge)
    else:
        judged = [judge(row, estimate_at(kept)) for row, kept in _items(reads, None)]
    moves = plan_transfers(
        Need(
            row.store,
            row.item,
            row.on_hand,
            line.demand.mean if line.demand else None,
            line.order_up_to,
            line.short,
        )
        for row, line, _ in judged
    )
    incoming: dict[tuple[str, str], list[Transfer]] = defaultdict(list)
    for move in moves:
        incoming[(move.target, move.item)].append(move)
    lines: list[ReorderLine] = []
    for row, line, policy in judged:
        if store is not None and row.store != store:
            continue
        moved = incoming.get((row.store, row.item), ())
        if not (everything or moved or line.suggested != 0):
            continue  # nothing to move in or order: no line (a giver, most often)
        result = _line(row, line, policy, moved)
        if everything or result.suggested != 0 or result.transfer:
            lines.append(result)
    shown = [m for m in moves if store is None or store in (m.source, m.target)]
    return lines, shown


def _line(
    row: Held, line: Suggestion, policy: OrderingPolicy, moved: Sequence[Transfer]
) -> ReorderLine:
    demand, quantity, reason = line.demand, line.suggested, line.reason
    units, source = 0, None
    if len(moved) == 1:  # most often
        units = moved[0].quantity
        source = f"{units} from {moved[0].source}"
    elif moved:
        units = sum([m.quantity for m in moved])
        source = ", ".join([f"{m.quantity} from {m.source}" for m in moved])
    if units and line.order_up_to is not None:
        quantity = suggested(line.order_up_to, row.on_hand + line.on_order + units, policy)
        reason = f"move {source}" + (f"; then order {quantity}: {reason}" if quantity else "")
    return ReorderLine(
        row.store,
        row.item,
        row.sku,
        row.on_hand,
        line.on_order,
        round(demand.mean, 3) if demand else None,
        round(demand.sd, 3) if demand else None,
        demand.method if demand else None,
        line.order_up_to,
        quantity,
        line.runs_out,
        reason,
        units,
        source,
    )


# -- the backtest ------------------------------------------------------------------------


def run_backtest(
    reads: ReadModel, book: OrderBook, store: str | None = None, days: int = WINDOW_DAYS
) -> dict[str, Any]:
    """Each item's recorded demand of the last ``days`` days replayed under the order-up-to
    policy and under min/max (``core.backtest``), and the totals per policy:
    demand-weighted fill rate, days out of stock, average units on hand."""
    if store is not None:
        require_known(reads, [(store, None)])
    settings = OrderingBook(book.entries())
    thresholds = Thresholds(
        Threshold(t.store, t.item, t.minimum, t.cover_days) for t in reads.thresholds()
    )
    items: list[dict[str, Any]] = []
    totals: dict[str, dict[str, float]] = {}
    for row, history in _histories(reads, store, days):
        key = (row.store, row.item)
        result = backtest(history, settings.policy(*key), thresholds.minimum_for(*key), days)
        if result is None:
            continue
        line: dict[str, Any] = {
            "store": row.store,
            "item": row.item,
            "method": result.method,
            "policies": {},
        }
        for name, outcome in result.policies.items():
            if outcome is None:
                continue
            line["policies"][name] = {
                "fill_rate": _rate(outcome.fill_rate),
                "stockout_days": outcome.stockout_days,
                "avg_on_hand": round(outcome.avg_on_hand, 1),
            }
            total = totals.setdefault(name, defaultdict(float))
            total["items"] += 1
            total["stockout_days"] += outcome.stockout_days
            total["avg_on_hand"] += outcome.avg_on_hand
            total["served"] += outcome.served
            total["asked"] += outcome.asked
        items.append(line)
    policies = {
        name: {
            "items": int(t["items"]),
            "fill_rate": _rate(t["served"] / t["asked"] if t["asked"] else None),
            "stockout_days": int(t["stockout_days"]),
            "avg_on_hand": round(t["avg_on_hand"] / t["items"], 1) if t["items"] else 0.0,
        }
        for name, t in totals.items()
    }
    return {"days": days, "store": store, "policies": policies, "items": items}


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
