"""What to order: the ordering settings, the orders placed, the order list and its backtest.

Written once over two ports: the ``ReadModel`` (the stock and each item's dated counts) and
an ``OrderBook`` (settings and orders, kept by each backend). The arithmetic is
``core.replenishment``'s.

An open order counts towards an item's position until it is received: by hand, or by
itself when a count taken after it was placed rose by at least half its quantity (a
delivery shows as a rise; sales meanwhile make it smaller than what came). That is judged
here, when the orders are read, so the rule is the same on both backends.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any, Protocol

from stockwatch.core.clock import utc_now
from stockwatch.core.digest import OrderNote
from stockwatch.core.forecast import epoch
from stockwatch.core.model import AlertDecision
from stockwatch.core.paging import walk_stock
from stockwatch.core.replenishment import (
    SETTINGS,
    WINDOW_DAYS,
    Need,
    OrderingBook,
    OrderingEntry,
    OrderingPolicy,
    Point,
    Suggestion,
    Transfer,
    backtest,
    plan_transfers,
    policy_problem,
    suggest,
    suggested,
)
from stockwatch.core.rows import StockQuery, StockRow
from stockwatch.core.thresholds import WILDCARD, Threshold, Thresholds
from stockwatch.service.reads import ReadModel, UnknownName, require_known

PAGE = 500
log = logging.getLogger("stockwatch.service")


class OrderingError(ValueError):
    """Settings or an order that cannot be taken; the message says why."""


@dataclass(frozen=True, slots=True)
class Order:
    """Units ordered for a store and not yet on its shelf (or received)."""

    id: str
    store: str
    item: str
    quantity: int
    expected: str | None  # YYYY-MM-DD
    placed_at: str
    by: str = ""
    received_at: str | None = None
    received_by: str | None = None  # who, or "count" when a count showed it arrive

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store,
            "item": self.item,
            "quantity": self.quantity,
            "expected": self.expected,
            "placed_at": self.placed_at,
            "by": self.by,
            "received_at": self.received_at,
            "received_by": self.received_by,
            "open": self.received_at is None,
        }


class OrderBook(Protocol):
    """Where a backend keeps the ordering settings and the orders."""

    def entries(self) -> list[OrderingEntry]: ...

    def put(self, entry: OrderingEntry) -> None:
        """Keep ``entry`` whole in place of the one of its (store, item)."""
        ...

    def delete(self, store: str, item: str) -> bool: ...

    def orders(self, open_only: bool) -> list[Order]:
        """Oldest first."""
        ...

    def add(self, order: Order) -> Order:
        """Keep a new order; returns it with the id the backend gave it."""
        ...

    def receive(self, order_id: str, at: str, by: str) -> bool:
        """Mark an open order received; False when there is no such open order."""
        ...


@dataclass(frozen=True, slots=True)
class ReorderLine:
    """A line of the order list, in the API's and the CSV's shape."""

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
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS = tuple(ReorderLine.__slots__)


@dataclass(frozen=True, slots=True)
class TransferLine:
    """Move before you buy: units another store can spare (``core.replenishment``)."""

    item: str
    source: str
    target: str
    quantity: int


# -- settings ----------------------------------------------------------------------------


def set_ordering(
    book: OrderBook, entry: OrderingEntry, names: ReadModel | None = None
) -> OrderingEntry:
    """Set what ``entry`` gives on its (store, item), keeping the fields it leaves out.
    ``names``: refuse a store or an item that nothing has counted (``UnknownName``)."""
    store, item = entry.store.strip(), entry.item.strip()
    if not store or not item:
        raise OrderingError("give a store and an item (* for all)")
    if not entry.given():
        raise OrderingError(
            "give at least one of --lead-days, --review-days, --service-level, --pack, --min-order"
        )
    if names is not None:
        require_known(names, [(store, item)])
    entry = replace(entry, store=store, item=item, updated_at=entry.updated_at or utc_now())
    current = next((e for e in book.entries() if (e.store, e.item) == (store, item)), None)
    merged = current.merged(entry) if current is not None else entry
    problem = _problem(merged)
    if problem:
        raise OrderingError(f"{store} / {item}: {problem}")
    book.put(merged)
    return merged


def delete_ordering(book: OrderBook, store: str, item: str) -> None:
    """Forget the settings of exactly (store, item): the broader entries apply again."""
    if not book.delete(store.strip(), item.strip()):
        raise OrderingError(f"no ordering settings for {store.strip()} / {item.strip()}")


def _problem(entry: OrderingEntry) -> str | None:
    values = entry.given()
    for name in ("pack", "min_order"):
        if name in values and values[name] != int(values[name]):
            return f"{name.replace('_', ' ')} must be a whole number"
    try:
        return policy_problem(OrderingPolicy(**values))  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)


def settings_rows(book: OrderBook) -> list[dict[str, Any]]:
    """Each entry with the fields it sets (None: inherited), store and item order."""
    return [
        {
            "store": e.store,
            "item": e.item,
            **{k: getattr(e, k) for k in SETTINGS},
            "updated_at": e.updated_at,
            "by": e.by,
        }
        for e in sorted(book.entries(), key=lambda e: (e.store, e.item))
    ]


# -- orders ------------------------------------------------------------------------------


def add_order(
    book: OrderBook,
    store: str,
    item: str,
    quantity: int,
    expected: str | None = None,
    by: str = "",
    names: ReadModel | None = None,
) -> Order:
    store, item = store.strip(), item.strip()
    if not store or not item:
        raise OrderingError("an order is for one store and one item")
    if WILDCARD in (store, item):  # no store or item is named "*": not found, as any name
        raise UnknownName(f'an order is for one store and one item; none is named "{WILDCARD}"')
    if not 1 <= quantity <= 1_000_000_000:
        raise OrderingError(f"quantity {quantity} is not between 1 and 1,000,000,000")
    if expected is not None:
        expected = _day(expected)
    if names is not None:
        require_known(names, [(store, item)])
    return book.add(Order("", store, item, quantity, expected, utc_now(), by))


def _day(text: str) -> str:
    """An expected arrival as YYYY-MM-DD: a date, or the date of an ISO 8601 time. Unlike a
    count's as-of it is usually in the future."""
    value = text.strip()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise OrderingError(f"expected date {text!r} is not a date; use YYYY-MM-DD") from None


def receive_order(book: OrderBook, order_id: str, by: str = "") -> None:
    order_id = order_id.strip()
    # No backend has an empty id or one this long (a DynamoDB key refuses them outright).
    if (
        not order_id
        or len(order_id) > 200
        or not book.receive(order_id, utc_now(), by or "someone")
    ):
        raise OrderingError(f"no open order {order_id}")


class DemandSource(Protocol):
    """Where items' dated counts come from (a ``ReadModel``, or the judging transaction)."""

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[Point]]: ...


# The alerts whose items a digest says what to order of.
NEEDS_ORDER = frozenset({"out_of_stock", "low_stock", "running_out"})


def order_notes(
    source: DemandSource, book: OrderBook, decisions: Sequence[AlertDecision]
) -> dict[tuple[str, str], OrderNote]:
    """What to order of each item an upload alerted about, for its digest. Nothing here
    writes (it runs inside the upload's transaction on one machine): an order that the
    counts show arrived is left out of the position, not marked received.

    The notes are an extra: reading what they need may fail (a throttled table, a
    timeout) and the alerts must go out all the same, so a failure leaves them out."""
    try:
        return _order_notes(source, book, decisions)
    except Exception:  # the digest is sent without them; the log says why
        log.warning("the digest goes out without what to order", exc_info=True)
        return {}


def _order_notes(
    source: DemandSource, book: OrderBook, decisions: Sequence[AlertDecision]
) -> dict[tuple[str, str], OrderNote]:
    counts = {
        (d.store, d.item): d.count
        for d in decisions
        if d.action == "raise" and d.kind in NEEDS_ORDER and d.count is not None
    }
    if not counts:
        return {}
    keys = sorted(counts)
    points = source.points_of(keys, WINDOW_DAYS * 2)
    on_order: dict[tuple[str, str], int] = defaultdict(int)
    for order in book.orders(open_only=True):
        key = (order.store, order.item)
        if key in counts and _arrival(order, points.get(key, [])) is None:
            on_order[key] += order.quantity
    settings = OrderingBook(book.entries())
    notes: dict[tuple[str, str], OrderNote] = {}
    for key in keys:
        history = points.get(key, [])
        moment = history[-1][0] if history else 0.0
        line = suggest(counts[key], on_order[key], moment, history, settings.policy(*key))
        if line.suggested:
            notes[key] = OrderNote(key[0], key[1], line.suggested, line.reason)
    return notes


def open_orders(book: OrderBook, reads: ReadModel) -> list[Order]:
    """The orders still open once the counts have had their say: one whose item was
    counted up by at least half its quantity after it was placed is received here."""
    pending = book.orders(open_only=True)
    if not pending:
        return []
    keys = sorted({(o.store, o.item) for o in pending})
    points = reads.points_of(keys, WINDOW_DAYS * 2)
    still: list[Order] = []
    for order in pending:
        at = _arrival(order, points.get((order.store, order.item), []))
        if at is not None and book.receive(order.id, at, "count"):
            continue
        still.append(order)
    return still


def _arrival(order: Order, points: Sequence[Point]) -> str | None:
    placed = epoch(order.placed_at)
    for (_, c0), (t1, c1) in pairwise(sorted(points)):
        if t1 > placed and c1 - c0 >= math.ceil(order.quantity / 2):
            return _text(t1)
    return None


def _text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- the order list ----------------------------------------------------------------------


def _items(
    reads: ReadModel, store: str | None, days: int
) -> Iterator[tuple[StockRow, list[Point]]]:
    """Each item of the store (or all) with its points and last count, a page at a time."""
    query = StockQuery(store, forecast=False)
    rows = walk_stock(lambda after, n: reads.stock_page(query.page(after, n)), size=PAGE)
    page: list[StockRow] = []
    for row in [*rows, None]:
        if row is not None:
            page.append(row)
        if page and (row is None or len(page) == PAGE):
            points = reads.points_of([(r.store, r.item) for r in page], days)
            for each in page:
                yield each, points.get((each.store, each.item), [])
            page = []


def reorder(
    reads: ReadModel, book: OrderBook, store: str | None = None, everything: bool = False
) -> list[ReorderLine]:
    """The order list: each item with something to move in or order, or too little history
    to say (``everything``: every item). Store and item order."""
    return plan(reads, book, store, everything)[0]


def transfers(reads: ReadModel, book: OrderBook, store: str | None = None) -> list[TransferLine]:
    """The transfers alone: into ``store`` or out of it (None: all)."""
    return plan(reads, book, store, False)[1]


def plan(
    reads: ReadModel, book: OrderBook, store: str | None, everything: bool
) -> tuple[list[ReorderLine], list[TransferLine]]:
    """Every visible store's items are judged, so that a store short of an item can be
    sent what another holds beyond its own needs before anything is bought."""
    if store is not None:
        require_known(reads, [(store, None)])
    settings = OrderingBook(book.entries())
    on_order: dict[tuple[str, str], int] = defaultdict(int)
    for order in open_orders(book, reads):
        on_order[(order.store, order.item)] += order.quantity
    judged: list[tuple[StockRow, Suggestion, OrderingPolicy]] = []
    for row, history in _items(reads, None, WINDOW_DAYS):
        key = (row.store, row.item)
        moment = history[-1][0] if history else 0.0
        policy = settings.policy(*key)
        judged.append((row, suggest(row.count, on_order[key], moment, history, policy), policy))
    moves = plan_transfers(
        Need(
            row.store,
            row.item,
            row.count,
            line.demand.mean if line.demand else None,
            line.order_up_to,
            max(0, line.order_up_to - row.count - line.on_order)
            if line.order_up_to is not None
            else 0,
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
        moved = incoming.get((row.store, row.item), [])
        result = _line(row, line, policy, moved)
        if everything or result.suggested != 0 or result.transfer:
            lines.append(result)
    shown = [
        TransferLine(m.item, m.source, m.target, m.quantity)
        for m in moves
        if store is None or store in (m.source, m.target)
    ]
    return lines, shown


def _line(
    row: StockRow, line: Suggestion, policy: OrderingPolicy, moved: list[Transfer]
) -> ReorderLine:
    demand, quantity, reason = line.demand, line.suggested, line.reason
    units = sum(m.quantity for m in moved)
    source = ", ".join(f"{m.quantity} from {m.source}" for m in moved) or None
    if units and line.order_up_to is not None:
        quantity = suggested(line.order_up_to, row.count + line.on_order + units, policy)
        reason = f"move {source}" + (f"; then order {quantity}: {reason}" if quantity else "")
    return ReorderLine(
        row.store,
        row.item,
        row.sku,
        row.count,
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
    policy and under min/max (``core.replenishment.backtest``), and the totals per policy:
    demand-weighted fill rate, days out of stock, average units on hand."""
    if store is not None:
        require_known(reads, [(store, None)])
    settings = OrderingBook(book.entries())
    thresholds = Thresholds(
        Threshold(t.store, t.item, t.minimum, t.cover_days) for t in reads.thresholds()
    )
    items: list[dict[str, Any]] = []
    totals: dict[str, dict[str, float]] = {}
    for row, history in _items(reads, store, days):
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
