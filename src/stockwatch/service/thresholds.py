"""Setting low-stock thresholds, from the CLI, the API or a file: one set of rules.

A threshold is a minimum for (store, item), either of which may be ``*``; a minimum of 0
switches low-stock alerts off. Blank names are refused rather than read as wildcards.
"""

from __future__ import annotations

from collections.abc import Iterable

from stockwatch.core.limits import Limits
from stockwatch.core.model import RowError
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.service.reads import ReadModel


class ThresholdError(ValueError):
    """Thresholds that cannot be set; the message says what to fix."""

    def __init__(self, message: str, errors: list[RowError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def clean(entries: Iterable[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    cleaned = []
    for store, item, minimum in entries:
        store, item = store.strip(), item.strip()
        if not store or not item:
            raise ThresholdError("store and item must not be blank; use * to mean all")
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
            raise ThresholdError(f"the minimum for {store} / {item} must be a whole number >= 0")
        cleaned.append((store, item, minimum))
    return cleaned


def set_thresholds(model: ReadModel, entries: Iterable[tuple[str, str, int]]) -> int:
    cleaned = clean(entries)
    model.set_thresholds(cleaned)
    return len(cleaned)


def delete_threshold(model: ReadModel, store: str, item: str) -> None:
    if not model.delete_threshold(store, item):
        raise ThresholdError(f"there is no threshold for {store} / {item}")


def read_threshold_file(source: Readable, name: str, limits: Limits) -> list[tuple[str, str, int]]:
    """A CSV of store, item, minimum; all or nothing, so a typo never half-applies."""
    reader = InventoryFile(source, limits, value_column="minimum")
    entries: list[tuple[str, str, int]] = []
    try:
        for chunk in reader.chunks():
            entries.extend((s, i, m) for _, s, i, m in chunk)
    except FileRejected as exc:
        raise ThresholdError(f"{name}: {exc.message}") from None
    if reader.rows_rejected:
        raise ThresholdError(
            f"{name}: {reader.rows_rejected} bad rows; nothing imported, fix them first",
            list(reader.errors),
        )
    return clean(entries)
