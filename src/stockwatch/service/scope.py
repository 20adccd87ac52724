"""Reads limited to a person's stores: one wrapper over any backend's ``ReadModel``.

A user limited to stores (a store user, or a manager or viewer given a list) reads through
``ScopedReadModel``, so every route, the CSV export and the CLI get the same filter without
each backend writing it again. A store outside the scope is answered as if it did not exist
(``OutOfScope``, a ``LookupError``), which tells nobody what the other stores hold.

Uploads are shown to a scoped reader only when the uploader's own scope lies within the
reader's stores: an upload by someone with every store may name any store, and its report
(rows, rejected lines, alerts) would show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, TypeVar

from stockwatch.core.figures import Figures
from stockwatch.core.rows import (
    AlertRow,
    HistoryPoint,
    MuteRow,
    StockQuery,
    StockRow,
    StoreSummary,
    ThresholdRow,
    UploadRow,
)
from stockwatch.service.reads import ALL, AlertNotes, ReadModel

T = TypeVar("T")
# Uploads read per page while looking for those a scoped reader may see.
UPLOAD_PAGE = 200
# The most uploads looked through for one page of a scoped reader's list.
UPLOAD_WALK = 5000


class OutOfScope(LookupError):
    """A store the reader may not see: answered like an unknown store."""


def _alert_order(row: AlertRow) -> tuple[str, int, str]:
    key = str(row.id)
    return (row.raised_at, int(key) if key.isdigit() else 0, key)


class ScopedReadModel:
    """``ReadModel`` for someone who sees only ``stores``; the rest passes through."""

    def __init__(self, inner: ReadModel, stores: frozenset[str]) -> None:
        self.inner = inner
        self.scope = stores

    def require(self, store: str) -> None:
        if store not in self.scope:
            raise OutOfScope(f"store {store!r} is not one of yours")

    def _mine(self, rows: Iterable[T]) -> list[T]:
        return [r for r in rows if getattr(r, "store") in self.scope]  # noqa: B009

    def stores(self) -> list[StoreSummary]:
        return self._mine(self.inner.stores())

    def stock_page(self, query: StockQuery) -> list[StockRow]:
        """One store's page, or the reader's stores in (store, item) order, paged across."""
        if query.store is not None:
            self.require(query.store)
            return self.inner.stock_page(query)
        after, limit = query.after, query.limit
        found: list[StockRow] = []
        for name in sorted(self.scope):
            if after is not None and name < after[0]:
                continue
            start = after if after is not None and after[0] == name else None
            page = replace(query, store=name, after=start, limit=limit - len(found))
            found += self.inner.stock_page(page)
            if len(found) >= limit:
                break
        return found[:limit]

    def history(self, store: str, item: str) -> list[HistoryPoint]:
        self.require(store)
        return self.inner.history(store, item)

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[tuple[float, int]]]:
        return self.inner.points_of([k for k in keys if k[0] in self.scope], days)

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
        return self.inner.figures_of([k for k in keys if k[0] in self.scope])

    def item_everywhere(self, item: str, limit: int) -> list[StockRow]:
        return self._mine(self.inner.item_everywhere(item, max(limit, ALL)))[:limit]

    def alerts(
        self,
        open_only: bool,
        limit: int,
        store: str | None = None,
        kind: str | None = None,
        resolved_only: bool = False,
    ) -> list[AlertRow]:
        """Each of the reader's stores asked on its own, merged newest first."""
        if store is not None:
            self.require(store)
            return self.inner.alerts(open_only, limit, store, kind, resolved_only)
        found: list[AlertRow] = []
        for name in sorted(self.scope):
            found += self.inner.alerts(open_only, limit, name, kind, resolved_only)
        return sorted(found, key=_alert_order, reverse=True)[:limit]

    def mutes(self) -> list[MuteRow]:
        return self._mine(self.inner.mutes())

    def thresholds(self) -> list[ThresholdRow]:
        return self._mine(self.inner.thresholds())

    def upload(self, upload_id: str) -> UploadRow | None:
        found = self.inner.upload(upload_id)
        return found if found is not None and found.within(self.scope) else None

    def uploads(self, limit: int, before: str | None) -> list[UploadRow]:
        """Pages of the full list, kept to those the reader may see, until one is full."""
        found: list[UploadRow] = []
        looked = 0
        while len(found) < limit and looked < UPLOAD_WALK:
            page = self.inner.uploads(UPLOAD_PAGE, before)
            looked += len(page)
            for upload in page:
                if upload.within(self.scope):
                    found.append(upload)
                    if len(found) == limit:
                        return found
            if len(page) < UPLOAD_PAGE:
                break
            before = str(page[-1].id)
        return found

    def check(self) -> int | None:
        return self.inner.check()


# A stock event names at most this many stores; a full list may have left some out.
EVENT_STORES = 100


def event_view(stores: frozenset[str]) -> Callable[[str, dict[str, Any]], dict[str, Any] | None]:
    """What someone limited to ``stores`` is shown of a live event: an upload only if they
    could read it, a stock change only for their stores, anything else as a bare nudge to
    read again (through their scoped reads)."""

    def view(kind: str, data: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "upload":
            scope = data.get("scope")
            return data if scope is not None and set(scope) <= stores else None
        if kind == "stock":
            named = list(data.get("stores") or [])
            mine = [s for s in named if s in stores]
            if not mine and len(named) < EVENT_STORES:
                return None
            return {"upload_id": data.get("upload_id"), "stores": mine}
        return {}

    return view


class ScopedNotes:
    """Acknowledgements and mutes for someone limited to some stores: only theirs."""

    def __init__(self, inner: AlertNotes, reads: ScopedReadModel) -> None:
        self.inner = inner
        self.reads = reads

    def acknowledge(self, alert_id: str, by: str, note: str | None) -> bool:
        """Only an open alert of the reader's stores: any other is 'no such alert'."""
        if not any(str(a.id) == alert_id for a in self.reads.alerts(True, ALL)):
            return False
        return self.inner.acknowledge(alert_id, by, note)

    def set_mute(self, store: str, item: str, until: str, by: str, note: str | None) -> None:
        self.reads.require(store)
        self.inner.set_mute(store, item, until, by, note)

    def delete_mute(self, store: str, item: str) -> bool:
        self.reads.require(store)
        return self.inner.delete_mute(store, item)


def scoped_notes(notes: AlertNotes, model: ReadModel, stores: frozenset[str] | None) -> AlertNotes:
    """The notes as someone limited to ``stores`` may write them (None: every store)."""
    if stores is None:
        return notes
    return ScopedNotes(notes, ScopedReadModel(model, stores))


def scoped(model: ReadModel, stores: frozenset[str] | None) -> ReadModel:
    """The model as someone with ``stores`` reads it (None: every store, unchanged)."""
    return model if stores is None else ScopedReadModel(model, stores)


__all__ = ["OutOfScope", "ScopedReadModel", "event_view", "scoped"]
