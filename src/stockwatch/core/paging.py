"""Walking the stock a page at a time, for listings and exports of any length."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from stockwatch.core.rows import StockRow

# A backend's stock page: the rows after a (store, item) cursor, at most the given number.
StockPage = Callable[[tuple[str, str] | None, int], list[StockRow]]


def walk_stock(page: StockPage, limit: int | None = None, size: int = 500) -> Iterator[StockRow]:
    """Every row (at most ``limit``), following each page's last (store, item) as cursor."""
    taken = 0
    after: tuple[str, str] | None = None
    while limit is None or taken < limit:
        want = size if limit is None else min(size, limit - taken)
        rows = page(after, want)
        yield from rows
        taken += len(rows)
        if len(rows) < want:
            return
        after = (rows[-1].store, rows[-1].item)
