"""What to order: the ordering settings, the orders placed, and the digest's notes.

Written once over two ports: the ``ReadModel`` (the stock and each item's dated counts) and
an ``OrderBook`` (settings and orders, kept by each backend). The arithmetic is
``core.replenishment``'s; the order list and the backtest are ``service.order_list``.

An open order counts towards an item's position until it is received: by hand, or by
itself when a count taken after it was placed rose by at least half its quantity (a
delivery shows as a rise; sales meanwhile make it smaller than what came). That is judged
here, when the orders are read, so the rule is the same on both backends.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import pairwise
from typing import Any, Protocol

from stockwatch.core.clock import from_epoch_ms, utc_now
from stockwatch.core.demand import WINDOW_DAYS
from stockwatch.core.digest import OrderNote
from stockwatch.core.figures import Figures
from stockwatch.core.forecast import Point, epoch
from stockwatch.core.model import AlertDecision
from stockwatch.core.replenishment import (
    SETTINGS,
    OrderingBook,
    OrderingEntry,
    OrderingPolicy,
    policy_problem,
    suggest,
)
from stockwatch.core.thresholds import WILDCARD
from stockwatch.service.reads import ReadModel, UnknownName, require_known

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
    current = _kept(book, store, item)
    merged = current.merged(entry) if current is not None else entry
    problem = _problem(merged)
    if problem:
        raise OrderingError(f"{store} / {item}: {problem}")
    book.put(merged)
    return merged


def ordering_of(
    book: OrderBook, store: str, item: str, names: ReadModel | None = None
) -> OrderingEntry:
    """The settings set on exactly (store, item), none when nothing is: what a request
    that sets nothing answers (an API's PUT, which changes nothing)."""
    store, item = store.strip(), item.strip()
    if names is not None:
        require_known(names, [(store, item)])
    return _kept(book, store, item) or OrderingEntry(store, item)


def _kept(book: OrderBook, store: str, item: str) -> OrderingEntry | None:
    return next((e for e in book.entries() if (e.store, e.item) == (store, item)), None)


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
    """Where items' kept figures and dated counts come from (a ``ReadModel``, or the
    judging transaction)."""

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[Point]]: ...

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]: ...


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
    pending = [o for o in book.orders(open_only=True) if (o.store, o.item) in counts]
    points = source.points_of(sorted({(o.store, o.item) for o in pending}), WINDOW_DAYS * 2)
    on_order: dict[tuple[str, str], int] = defaultdict(int)
    for order in pending:
        key = (order.store, order.item)
        if _arrival(order, points.get(key, [])) is None:
            on_order[key] += order.quantity
    kept = source.figures_of(keys)
    settings = OrderingBook(book.entries())
    notes: dict[tuple[str, str], OrderNote] = {}
    for key in keys:
        line = suggest(counts[key], on_order[key], kept.get(key), settings.policy(*key))
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
            return from_epoch_ms(round(t1 * 1000))
    return None
