"""Move before you buy: what one store can spare of an item for another that needs it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

# A store gives only what it holds beyond its own order-up-to level and this many days of
# its demand: a transfer must not leave the giver ordering next week.
KEEP_DAYS = 7.0


class Need(NamedTuple):
    """One store's position in an item, as the order list sees it."""

    store: str
    item: str
    on_hand: int
    daily: float | None  # None: too little history (such a store neither gives nor asks)
    level: int | None  # order-up-to level
    short: int  # level - (on hand + on order), or 0


class Transfer(NamedTuple):
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
    anything is ordered: the largest need is served first, and the store that can spare
    the most gives first, until it has nothing left to spare, then the next.

    Using the givers in one fixed order (largest spare first) keeps the stores that ship
    few, and means the givers used are always the top of that order: a backend can look at
    those alone (``service.order_list``) rather than at every store."""
    by_item: dict[str, list[Need]] = {}
    for need in needs:
        by_item.setdefault(need.item, []).append(need)
    moves: list[Transfer] = []
    for item in sorted(by_item):
        stores = by_item[item]
        givers = sorted(
            [(-given, n.store) for n in stores if (given := spare(n)) > 0]
        )  # largest spare first, then by store
        if not givers:
            continue
        left = [-negative for negative, _ in givers]
        first = 0  # the first giver with anything left
        for need in sorted([n for n in stores if n.short > 0], key=_most_short):
            wanted = need.short
            while wanted > 0 and first < len(givers):
                quantity = min(wanted, left[first])
                moves.append(Transfer(item, givers[first][1], need.store, quantity))
                left[first] -= quantity
                wanted -= quantity
                if left[first] == 0:
                    first += 1
    return moves


def _most_short(need: Need) -> tuple[int, str]:
    return -need.short, need.store
