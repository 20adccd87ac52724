"""Alert rules: alerts fire on transitions between stock levels, never on states.

The level of an item is ``out`` (count 0), ``low`` (below its minimum) or ``ok``. The open
alerts of an item say which level it was last alerted at, so deciding from them (rather
than from the old count alone) makes a replayed change harmless: it finds its alert already
open and decides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import replace
from typing import Literal

from stockwatch.core.model import AlertDecision, AlertKind, StockChange
from stockwatch.core.rows import StockRow
from stockwatch.core.thresholds import Thresholds

Level = Literal["out", "low", "ok"]
OpenAlerts = MutableMapping[tuple[str, str], set[str]]


def stock_level(count: int, minimum: int | None) -> Level:
    if count <= 0:
        return "out"
    if minimum is not None and count < minimum:
        return "low"
    return "ok"


def can_change_alerts(old_count: int | None, new_count: int, bound: int) -> bool:
    """Whether a change could matter at all; see ``Thresholds.candidate_bound``."""
    return new_count <= bound or (old_count is not None and old_count <= bound)


def running_out(count: int, cover: float | None, cover_days: int | None) -> bool:
    """Still in stock, but for fewer days than wanted (out of stock is its own alert)."""
    return count > 0 and cover is not None and cover_days is not None and cover < cover_days


def shown_status(row: StockRow, cover_days: int | None) -> StockRow:
    """The row as a list shows it: an item in stock but running out says so, as its open
    ``running_out`` alert does (out of stock and low stock come first)."""
    if row.status == "ok" and running_out(row.count, row.days_of_cover, cover_days):
        return replace(row, status="running_out")
    return row


def decide_alerts(
    store: str,
    item: str,
    count: int,
    minimum: int | None,
    open_kinds: set[str],
    cover: float | None = None,
    cover_days: int | None = None,
) -> list[AlertDecision]:
    """The decisions for one item now at ``count``, given the kinds of its open alerts.

    ``cover`` is its days of cover now and ``cover_days`` the cover wanted: ``running_out``
    opens when cover falls below it, and resolves when cover recovers, the item restocks
    (its cover is then judged again from the new count) or runs out (out_of_stock says it).
    """
    level = stock_level(count, minimum)
    decisions: list[AlertDecision] = []

    def add(action: Literal["raise", "resolve"], kind: AlertKind) -> None:
        days = cover if kind == "running_out" else None
        decisions.append(AlertDecision(action, kind, store, item, count, minimum, days))

    short = running_out(count, cover, cover_days)
    if "running_out" in open_kinds and not short:
        add("resolve", "running_out")
    elif short and "running_out" not in open_kinds:
        add("raise", "running_out")
    if level == "out":
        if "low_stock" in open_kinds:
            add("resolve", "low_stock")
        if "out_of_stock" not in open_kinds:
            add("raise", "out_of_stock")
        return decisions
    if "out_of_stock" in open_kinds:
        add("resolve", "out_of_stock")
        add("raise", "back_in_stock")
    if level == "low" and "low_stock" not in open_kinds:
        add("raise", "low_stock")
    elif level == "ok" and "low_stock" in open_kinds:
        add("resolve", "low_stock")
    return decisions


def evaluate_changes(
    changes: Iterable[StockChange], thresholds: Thresholds, open_alerts: OpenAlerts
) -> list[AlertDecision]:
    """Decide the alerts for a batch of changes, in order.

    ``open_alerts`` maps (store, item) to the kinds of its open alerts; it is updated as
    decisions are made, so two changes of one item in the same batch are judged in turn.
    """
    decisions: list[AlertDecision] = []
    for change in changes:
        key = (change.store, change.item)
        open_kinds = open_alerts.setdefault(key, set())
        minimum = thresholds.minimum_for(change.store, change.item)
        cover_days = thresholds.cover_days_for(change.store, change.item)
        for decision in decide_alerts(
            change.store,
            change.item,
            change.new_count,
            minimum,
            open_kinds,
            change.cover,
            cover_days,
        ):
            decisions.append(decision)
            if decision.opens:
                open_kinds.add(decision.kind)
            elif decision.action == "resolve":
                open_kinds.discard(decision.kind)
    return decisions
