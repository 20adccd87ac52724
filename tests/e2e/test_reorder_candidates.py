"""The order list from its candidates (``service.candidates``) is the order list from every
item: on SQLite the read model picks out the items that may need an order and the stores
that may spare the most, from the kept figures' bounds; here random chains of stores are
planned both ways and must give the same lines and the same transfers."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stockwatch.core.replenishment import OrderingEntry
from stockwatch.service import order_list
from stockwatch.service.candidates import CandidateReads
from stockwatch.service.commands import Upload
from stockwatch.sqlite import order_candidates
from stockwatch.sqlite.backend import SqliteBackend


class EveryItem:
    """The read model without ``CandidateReads``: the order list judges every item."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in {"needing", "givers", "highest_count", "latest_count_ms"}:
            raise AttributeError(name)
        return getattr(self.inner, name)


def _chain(data: Path, seed: int) -> SqliteBackend:
    rng = random.Random(seed)
    stores = [f"Store {n}" for n in range(rng.randint(3, 9))]
    items = [f"Item {n}" for n in range(rng.randint(2, 7))]
    counts = {(s, i): rng.choice([0, 3, 12, 40, 90, 200]) for s in stores for i in items}
    rate = {key: rng.choice([0.0, 0.3, 1.0, 4.0]) for key in counts}
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    backend = SqliteBackend(data, channel_names=())
    for day in range(rng.randint(1, 25)):
        for key in counts:
            if rng.random() < 0.7:
                counts[key] = max(-2, counts[key] - round(rng.expovariate(1) * rate[key] * 2))
            if counts[key] <= 2 and rng.random() < 0.3:
                counts[key] += rng.choice([20, 100, 400])
        # some stores skip a day: their last counts are older than the rest
        sent = [key for key in counts if rng.random() < 0.9 or day == 0]
        body = "store,item,count\n" + "".join(f"{s},{i},{counts[(s, i)]}\n" for s, i in sent)
        as_of = (start + timedelta(days=day, hours=rng.random())).isoformat(timespec="milliseconds")
        upload = Upload(f"d{day}.csv", as_of=as_of.replace("+00:00", "Z"))
        backend.process_upload(backend.receive(upload, io.BytesIO(body.encode())))
    book = backend.order_book()
    for _ in range(rng.randint(0, 4)):
        store = rng.choice([*stores, "*"])
        item = rng.choice([*items, "*"])
        book.put(
            OrderingEntry(
                store,
                item,
                lead_days=rng.choice([None, 1.0, 3.0, 14.0]),
                review_days=rng.choice([None, 1.0, 7.0]),
                service_level=rng.choice([None, 50.0, 90.0, 99.5]),
                pack=rng.choice([None, 1, 6]),
                min_order=rng.choice([None, 0, 10]),
                updated_at="2026-11-01T00:00:00.000Z",
            )
        )
    return backend


# How the read model reads (sqlite.order_candidates): "scan", each read in one statement,
# the givers' band by a scan; "halves", each read in two at once on two connections
# (_Aside), as a large chain is; "seek", the givers' band looked up store by store, as for
# a few items. A small chain would take the last way alone.
_WAYS = {"scan": (10**9, 0), "halves": (2, 0), "seek": (10**9, 10**9)}


@pytest.mark.parametrize("way", list(_WAYS))
@pytest.mark.parametrize("seed", range(12))
def test_the_candidates_give_the_order_list_of_every_item(
    tmp_path: Path, seed: int, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    halved_from, seek_items = _WAYS[way]
    monkeypatch.setattr(order_candidates, "_HALVED_FROM", halved_from)
    monkeypatch.setattr(order_candidates, "_SEEK_ITEMS", seek_items)
    backend = _chain(tmp_path / "data", seed)
    try:
        reads, book = backend.reads(), backend.order_book()
        assert isinstance(reads, CandidateReads)
        assert not isinstance(EveryItem(reads), CandidateReads)
        for store in (None, "Store 1"):
            fast = order_list.plan(reads, book, store, False)
            full = order_list.plan(EveryItem(reads), book, store, False)
            assert fast == full
    finally:
        backend.close()


def test_the_memory_map_is_only_for_the_order_lists_reads(tmp_path: Path) -> None:
    # The loads keep their RSS small; a mapped page counts in it (sqlite.order_candidates).
    backend = _chain(tmp_path / "data", 3)
    try:
        conn = backend.reads().db.conn
        (before,) = conn.execute("PRAGMA mmap_size").fetchone()
        with order_candidates.mapped(conn):
            (during,) = conn.execute("PRAGMA mmap_size").fetchone()
        (after,) = conn.execute("PRAGMA mmap_size").fetchone()
        assert (before, after) == (0, 0)
        assert during > 0  # MAP_BYTES, or the most this SQLite maps
        order_list.plan(backend.reads(), backend.order_book(), None, False)
        assert conn.execute("PRAGMA mmap_size").fetchone() == (0,)
    finally:
        backend.close()
