"""Move before you buy: what one store can spare of an item for another that needs it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# A store gives only what it holds beyond its own order-up-to level and this many days of
# its demand: a transfer must not leave the giver ordering next week.
KEEP_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class Need:
    """One store's position in an item, as the order list sees it."""

    store: str
    item: str
    on_hand: int
    daily: float | None  # None: too little history (such a store neither gives nor asks)
    level: int | None  # order-up-to level
    short: int  # level - (on hand + on order), or 0


@dataclass(frozen=True, slots=True)
class Transfer:
    item: str
    source: str
    target: str
    quantity: int


def spare(need: Need) -> int:
    """What a store can give of the item: its stock beyond level plus a week of demand."""
    if need.level is None or need.daily is None:
        return 0
    return max(0, need.on_hand - need.level - math.ceil(KEEP_DAYS * need.daily))


def plan_transfers(needs: Iterable[Need]) -> list[Transfer]:
    """Transfers that cover what stores are short of from what others can spare, before
    anything is ordered: the largest need is served first, from the largest spare."""
    by_item: dict[str, list[Need]] = {}
    for need in needs:
        by_item.setdefault(need.item, []).append(need)
    moves: list[Transfer] = []
    for item in sorted(by_item):
        stores = by_item[item]
        left = {n.store: spare(n) for n in stores}
        if not any(left.values()):
            continue
        for need in sorted(stores, key=lambda n: (-n.short, n.store)):
            wanted = need.short
            while wanted > 0:
                givers = [s for s, n in left.items() if n > 0 and s != need.store]
                if not givers:
                    break
                source = min(givers, key=lambda s: (-left[s], s))
                quantity = min(wanted, left[source])
                moves.append(Transfer(item, source, need.store, quantity))
                left[source] -= quantity
                wanted -= quantity
    return moves
