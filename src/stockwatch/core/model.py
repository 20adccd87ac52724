"""The values that flow between the core and the backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# A valid inventory row: (line, store, item, count). A plain tuple because a million of them
# pass through the hot loop and straight into the database driver.
Row = tuple[int, str, str, int]

AlertKind = Literal["out_of_stock", "back_in_stock", "low_stock", "running_out"]
OPEN_KINDS: frozenset[str] = frozenset({"out_of_stock", "low_stock", "running_out"})


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    message: str
    item: str | None = None  # the row's item, when it could be read

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"line": self.line, "field": self.field, "message": self.message}
        if self.item is not None:
            found["item"] = self.item
        return found

    def describe(self, filename: str) -> str:
        # file:line: first, as compilers do, so editors can jump to it.
        item = f" (item {self.item!r})" if self.item is not None else ""
        return f"{filename}:{self.line}: {self.message}{item}"


@dataclass(frozen=True, slots=True)
class StockChange:
    """One entry of the change feed: a count that a given upload changed."""

    store: str
    item: str
    old_count: int | None
    new_count: int
    upload_id: int | str
    # Days of cover after the change (core.forecast), when a cover threshold asked for it.
    cover: float | None = None


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What the alert rules want done: ``raise`` a new alert or ``resolve`` an open one."""

    action: Literal["raise", "resolve"]
    kind: AlertKind
    store: str
    item: str
    count: int
    minimum: int | None = None
    days_of_cover: float | None = None  # running_out: the cover it was raised at

    def to_json(self) -> dict[str, Any]:
        """The alert as reports, digests and the API list it (without the action)."""
        found: dict[str, Any] = {
            "kind": self.kind,
            "store": self.store,
            "item": self.item,
            "count": self.count,
            "minimum": self.minimum,
        }
        if self.days_of_cover is not None:
            found["days_of_cover"] = self.days_of_cover
        return found

    @property
    def opens(self) -> bool:
        """Raised out_of_stock and low_stock alerts stay open; back_in_stock is an event."""
        return self.action == "raise" and self.kind in OPEN_KINDS
