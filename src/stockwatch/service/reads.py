"""Reading the stock, alerts, uploads and history: the read model port and its use cases.

The web API, the CLI and the dashboard read through one ``ReadModel``, whichever backend
holds the data; only how a query is answered differs (SQL on one machine, DynamoDB items
and indexes on AWS). Upload ids are opaque here: numbers on one machine, versions and S3
keys on AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from stockwatch.core.clock import utc_now
from stockwatch.core.figures import Figures
from stockwatch.core.model import RowError
from stockwatch.core.names import unknown
from stockwatch.core.paging import walk_stock
from stockwatch.core.report import UploadReport
from stockwatch.core.rows import (
    AlertRow,
    DayCost,
    HistoryPoint,
    MuteRow,
    StockQuery,
    StockRow,
    StoreSummary,
    ThresholdRow,
    UploadRow,
)
from stockwatch.service.commands import Acknowledge, Mute, Unmute
from stockwatch.service.users import AuditTrail
from stockwatch.service.users import note as audit_note

# The most rows a listing (CLI, CSV) walks when not told a limit is "all of them".
ALL = 10**9


class UploadIdError(ValueError):
    """The text is not an upload id of this backend."""


class ReadModel(Protocol):
    """The dashboard's reads, in the API's shapes. Nothing here writes: acknowledgements
    and mutes are ``AlertNotes``, thresholds a ``ThresholdUnitOfWork``."""

    def stores(self) -> list[StoreSummary]: ...

    def stock_page(self, query: StockQuery) -> list[StockRow]: ...

    def history(self, store: str, item: str) -> list[HistoryPoint]: ...

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[tuple[float, int]]]:
        """Each item's (as-of seconds, count) points of the last ``days`` days and the one
        before them, oldest first: what ``core.demand`` reads demand from."""
        ...

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
        """Each item's kept figures (``core.figures``) as of its last count: what days of
        cover and the order list's demand are read from, without the history."""
        ...

    def item_everywhere(self, item: str, limit: int) -> list[StockRow]:
        """The item's row in every store that has it, with days of cover."""
        ...

    def alerts(
        self,
        open_only: bool,
        limit: int,
        store: str | None = None,
        kind: str | None = None,
        resolved_only: bool = False,
    ) -> list[AlertRow]: ...

    def mutes(self) -> list[MuteRow]: ...

    def thresholds(self) -> list[ThresholdRow]: ...

    def upload(self, upload_id: str) -> UploadRow | None:
        """The upload's report; raises UploadIdError for text that cannot be an id."""
        ...

    def uploads(self, limit: int, before: str | None) -> list[UploadRow]: ...

    def check(self) -> int | None:
        """Raise when the store behind the model cannot be reached (for /healthz); its
        schema version where it has one."""
        ...


class AlertNotes(Protocol):
    """What people note on alerts: who is dealing with one, what is muted until when."""

    def acknowledge(self, alert_id: str, by: str, note: str | None) -> bool:
        """Record who is dealing with the alert; False when there is no such alert."""
        ...

    def set_mute(self, store: str, item: str, until: str, by: str, note: str | None) -> None: ...

    def delete_mute(self, store: str, item: str) -> bool: ...


def report_of(upload: UploadRow) -> UploadReport:
    """An upload as the read model gives it, as a report (for the CLI's text)."""
    return UploadReport(
        upload.file,
        upload.id,
        upload.status,  # type: ignore[arg-type]
        rows_loaded=upload.rows_loaded,
        rows_unchanged=upload.rows_unchanged,
        rows_superseded=upload.rows_superseded,
        rows_rejected=upload.rows_rejected,
        message=upload.message,
        errors=[RowError(e.line, e.field, e.message, e.item) for e in upload.errors],
        warnings=list(upload.warnings),
        alerts=list(upload.alerts),
        alerts_total=upload.alerts_total,
        cost=upload.cost,
        as_of=upload.as_of,
        rows_zeroed=upload.rows_zeroed,
        zeroed=list(upload.zeroed),
        held=upload.status == "needs_confirmation",
        uploaded_by=upload.uploaded_by,
        scope=upload.scope,
        layout=upload.layout,
        headers=upload.headers,
    )


def list_stock(
    model: ReadModel,
    store: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    q: str | None = None,
) -> list[StockRow]:
    """Every stock row that matches, in (store, item) order, a page at a time."""
    query = StockQuery(store, status, q)
    rows = walk_stock(lambda after, n: model.stock_page(query.page(after, n)), limit)
    return sorted(rows, key=lambda r: (r.store, r.item))


def daily_costs(model: ReadModel, since: str, max_uploads: int = 5000) -> list[DayCost]:
    """Each day's total since ``since`` (a date), newest first, from the uploads' reports.

    Walks the upload list a page at a time, so it needs nothing of a backend but its
    listing; ``max_uploads`` bounds the walk (and its reads, on AWS).
    """
    days: dict[str, DayCost] = {}
    before: str | None = None
    seen = 0
    while seen < max_uploads:
        page = model.uploads(200, before)
        for upload in page:
            day = upload.received_at[:10]
            if day < since:
                return list(days.values())
            seen += 1
            total = days.setdefault(day, DayCost(day))
            total.uploads += 1
            cost = upload.cost or {}
            total.time_ms = round(total.time_ms + float(cost.get("time_ms") or 0), 1)
            if cost.get("usd") is not None:
                total.usd = (total.usd or 0.0) + float(cost["usd"])
        if len(page) < 200:
            break
        before = str(page[-1].id)
    return list(days.values())


def list_alerts(
    model: ReadModel,
    open_only: bool,
    limit: int | None,
    store: str | None = None,
    kind: str | None = None,
    resolved_only: bool = False,
) -> list[AlertRow]:
    return model.alerts(open_only, limit or ALL, store, kind, resolved_only)


class UnknownName(LookupError):
    """A store or item that is not known; the message suggests the closest names."""


def known_store(model: ReadModel, store: str) -> None:
    require_known(model, [(store, None)])


def known_item(model: ReadModel, store: str, item: str) -> None:
    require_known(model, [(store, item)])


# Writes that name a store or an item must name one that exists: a threshold for "Berln"
# or a mute of "Echo Dto" accepted silently never applies, and the manager believes the
# alert handled. So reads and writes alike refuse an unknown name with the closest ones,
# unless a write says the name is expected (``new``: a store opening next week); ``*``
# always stands for all.
WILDCARD = "*"
# A store's items are read once per check; a store bigger than this is not listed whole.
ITEMS_READ = 200_000


def require_known(model: ReadModel, names: Iterable[tuple[str, str | None]]) -> None:
    """Raise ``UnknownName`` for the first (store, item) that names nothing known; an item
    of None checks the store alone, and a store of ``*`` takes an item of any store."""
    stores: list[str] | None = None
    items: dict[str, set[str]] = {}
    for store, item in names:
        store, item = store.strip(), (item.strip() if item is not None else None)
        if store != WILDCARD:
            if stores is None:
                stores = [s.store for s in model.stores()]
            if store not in stores:
                raise UnknownName(unknown("store", store, stores))
        if item is None or item == WILDCARD:
            continue
        if store == WILDCARD:
            if not model.item_everywhere(item, 1):
                every = {r.item for r in list_stock(model, limit=ITEMS_READ)}
                raise UnknownName(unknown("item in any store", item, every))
            continue
        if store not in items:
            items[store] = {r.item for r in list_stock(model, store, limit=ITEMS_READ)}
        if item not in items[store]:
            raise UnknownName(unknown(f"item in {store}", item, items[store]))


class AlertError(ValueError):
    """An acknowledgement or a mute that cannot be done; the message says why."""


def acknowledge(notes: AlertNotes, command: Acknowledge, trail: AuditTrail | None = None) -> None:
    """Someone is dealing with it: recorded with who and when; it stays open until resolved."""
    who, text = command.by.strip() or "someone", (command.note or "").strip() or None
    if not notes.acknowledge(command.alert_id, who, text):
        raise AlertError(f"there is no alert {command.alert_id}")
    audit_note(trail, who, "alert.ack", f"alert {command.alert_id}", text)


def mute(notes: AlertNotes, command: Mute, trail: AuditTrail | None, *, names: ReadModel) -> None:
    """Leave the item (``*``: the whole store) out of notifications until ``until``; the
    store and item must exist (``names``) unless ``command.new``."""
    store, item, until = command.store.strip(), command.item.strip(), command.until
    if not store or not item:
        raise AlertError("store and item must not be blank; use * for every item of a store")
    if not command.new:
        require_known(names, [(store, item)])
    if until <= utc_now():
        raise AlertError(f"{until} is already past: a mute needs a time to come")
    who, text = command.by.strip() or "someone", (command.note or "").strip() or None
    notes.set_mute(store, item, until, who, text)
    audit_note(
        trail, who, "mute", f"{store} / {item}", f"until {until}" + (f": {text}" if text else "")
    )


def unmute(notes: AlertNotes, command: Unmute, trail: AuditTrail | None = None) -> None:
    store, item = command.store.strip(), command.item.strip()
    if not notes.delete_mute(store, item):
        raise AlertError(f"{command.store} / {command.item} is not muted")
    audit_note(trail, command.by, "unmute", f"{store} / {item}")
