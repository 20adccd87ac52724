"""What the read model gives: typed rows, the same from every backend.

The API's response models and the CLI's output come from these, so a field added here is
added everywhere, and a backend cannot return a shape the others do not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from operator import attrgetter
from typing import Any, Literal

StockStatus = Literal["out_of_stock", "low_stock", "running_out", "ok"]


@dataclass(frozen=True, slots=True)
class StoreSummary:
    store: str
    items: int
    out_of_stock: int
    low_stock: int
    updated_at: str | None


@dataclass(frozen=True, slots=True)
class StockQuery:
    """One page of the stock: its filters, where it starts (after a (store, item)) and how
    many rows. The API's cursor and every listing walk pages of one query."""

    store: str | None = None
    status: str | None = None  # out_of_stock, low_stock, or None for all
    q: str | None = None  # a piece of the item's name, its store's, or its SKU
    after: tuple[str, str] | None = None
    limit: int = 100
    # False: leave each row's days of cover out (a caller that reads the items' dated
    # counts itself, like the order list, would read them twice).
    forecast: bool = True

    def page(self, after: tuple[str, str] | None, limit: int) -> StockQuery:
        return replace(self, after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class StockRow:
    store: str
    item: str
    count: int
    updated_at: str | None
    status: StockStatus
    # core.forecast, from the item's history; None when it cannot support an estimate.
    daily_usage: float | None = None
    days_of_cover: float | None = None
    runs_out_on: str | None = None
    sku: str | None = None  # as the store system's export named it (``core.details``)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    seq: int
    old_count: int | None
    count: int
    upload_id: int | str
    changed_at: str | None  # when the upload that made it was loaded
    as_of: str | None = None  # when its count was taken: the time axis of a history


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int | str
    kind: str
    store: str
    item: str
    count: int
    minimum: int | None
    upload_id: int | str | None
    raised_at: str
    resolved_at: str | None
    days_of_cover: float | None = None  # running_out: the cover it was raised at
    acknowledged_at: str | None = None  # someone is dealing with it (it stays open)
    acknowledged_by: str | None = None
    ack_note: str | None = None
    muted_until: str | None = None  # its item is left out of notifications until then


@dataclass(frozen=True, slots=True)
class MuteRow:
    store: str
    item: str  # or * for the whole store
    until: str
    muted_by: str
    note: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    store: str
    item: str
    minimum: int
    updated_at: str
    cover_days: int | None = None
    from_file: bool = False  # set by an upload's minimum column; one set by hand wins


@dataclass(frozen=True, slots=True)
class RowErrorRow:
    line: int
    field: str
    message: str
    item: str | None = None


@dataclass(frozen=True, slots=True)
class UploadRow:
    """An upload and, once processed, its report."""

    id: int | str
    file: str
    status: str
    received_at: str
    finished_at: str | None = None
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_superseded: int = 0
    rows_rejected: int = 0
    message: str | None = None
    errors: list[RowErrorRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alerts_total: int = 0
    cost: dict[str, Any] | None = None  # core.cost.Cost.to_json()
    as_of: str | None = None  # when its counts were taken (known once it is processed)
    rows_zeroed: int = 0  # a snapshot's left-out items set to 0 (held: that it would set)
    zeroed: list[str] = field(default_factory=list)
    uploaded_by: str | None = None  # who sent it; None: put straight into storage
    scope: list[str] | None = None  # the stores its rows could name; None: any store
    layout: str | None = None  # how its file was read (``core.layouts``)
    headers: list[str] | None = None  # a file no layout reads: its columns, to map them
    thresholds_set: int = 0  # low-stock minimums its file set (``core.details``)

    def within(self, stores: frozenset[str] | None) -> bool:
        """Whether a reader of ``stores`` sees it: only an upload whose rows could name
        nothing but those stores, so its report shows no other store's rows."""
        return stores is None or (self.scope is not None and set(self.scope) <= stores)

    @classmethod
    def of(
        cls,
        upload_id: int | str,
        file: str,
        status: str,
        received_at: str,
        finished_at: str | None,
        report: dict[str, Any] | None,
        uploaded_by: str | None = None,
        scope: list[str] | None = None,
    ) -> UploadRow:
        """From an UploadReport's JSON (None while the upload waits: then who sent it and
        for which stores come from the backend's record of its arrival)."""
        report = report or {}
        return cls(
            upload_id,
            file,
            status,
            received_at,
            finished_at,
            rows_loaded=report.get("rows_loaded", 0),
            rows_unchanged=report.get("rows_unchanged", 0),
            rows_superseded=report.get("rows_superseded", 0),
            rows_rejected=report.get("rows_rejected", 0),
            message=report.get("message"),
            errors=[RowErrorRow(**e) for e in report.get("errors", [])],
            warnings=list(report.get("warnings", [])),
            alerts=list(report.get("alerts", [])),
            alerts_total=report.get("alerts_total", 0),
            cost=report.get("cost"),
            as_of=report.get("as_of"),
            rows_zeroed=report.get("rows_zeroed", 0),
            zeroed=list(report.get("zeroed", [])),
            uploaded_by=report.get("uploaded_by", uploaded_by),
            scope=report.get("scope", scope),
            layout=report.get("layout"),
            headers=report.get("headers"),
            thresholds_set=report.get("thresholds_set", 0),
        )


@dataclass
class DayCost:
    """What one day's uploads cost: their processing time, and dollars where billed."""

    day: str  # YYYY-MM-DD, UTC, by when the upload was received
    uploads: int = 0
    time_ms: float = 0.0
    usd: float | None = None  # None on one machine: nothing to pay


_SCALARS = (str, int, float, bool, type(None))


def to_json(row: Any) -> Any:
    """A row, or a list of them, as plain JSON values (for the CLI's --json). A row of
    plain values is read field by field: ``asdict`` deep-copies every value, and took most
    of the time of a 50,000-line order list."""
    if isinstance(row, list):
        return [to_json(r) for r in row]
    if isinstance(row, tuple) and hasattr(row, "_fields"):  # a named tuple
        pairs = dict(zip(row._fields, row, strict=True))
        if SCALAR_TYPES.issuperset(map(type, row)):
            return pairs
        return {name: _value(v) for name, v in pairs.items()}
    names = _names(type(row))
    flat = dict(zip(names, attrgetter(*names)(row), strict=True)) if len(names) > 1 else None
    if flat is None:  # attrgetter of one name gives the value, not a tuple
        flat = {f.name: getattr(row, f.name) for f in fields(row)}
    if SCALAR_TYPES.issuperset(map(type, flat.values())):
        return flat
    return asdict(row)


def _value(value: Any) -> Any:
    """A named tuple's field as JSON: rows and lists of them converted, the rest as is."""
    if isinstance(value, list):
        return [_value(v) for v in value]
    if is_dataclass(value) or (isinstance(value, tuple) and hasattr(value, "_fields")):
        return to_json(value)
    return value


# The types of a plain JSON value, exactly (a subclass is not plain): ``cli.output`` too.
SCALAR_TYPES = frozenset(_SCALARS)


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, once per class (``fields`` costs more than the row)."""
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(kind))
    return names
