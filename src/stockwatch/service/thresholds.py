"""Setting low-stock thresholds, from the CLI, the API or a file: one set of rules.

A threshold is a minimum for (store, item), either of which may be ``*``; a minimum of 0
switches low-stock alerts off. Blank names are refused rather than read as wildcards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.digest import compose_digest
from stockwatch.core.limits import Limits
from stockwatch.core.model import AlertDecision, RowError
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.service.alerts import judge_changes
from stockwatch.service.ports import ThresholdUnitOfWork
from stockwatch.service.reads import ReadModel

Entry = tuple[str, str, int]


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


@dataclass
class ThresholdChange:
    """What a threshold change did: how many it set, and the alerts it raised and resolved."""

    changed: int
    raised: list[AlertDecision] = field(default_factory=list)
    resolved: list[AlertDecision] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "raised": [d.to_json() for d in self.raised],
            "resolved": [d.to_json() for d in self.resolved],
        }


def set_thresholds(model: ReadModel, entries: Iterable[Entry]) -> ThresholdChange:
    """Set thresholds, then judge at once the stock they cover (see ``change_thresholds``)."""
    cleaned = clean(entries)
    return change_thresholds(model.threshold_change(), cleaned, [])


def delete_threshold(model: ReadModel, store: str, item: str) -> ThresholdChange:
    return change_thresholds(model.threshold_change(), [], [(store, item)])


def _describe(entries: Sequence[Entry], deleted: Sequence[tuple[str, str]]) -> str:
    parts = [f"{s} / {i} → {m}" for s, i, m in entries[:3]]
    parts += [f"{s} / {i} removed" for s, i in deleted[:3]]
    more = len(entries) + len(deleted) - len(parts)
    return "the threshold change " + ", ".join(parts) + (f" and {more} more" if more else "")


def change_thresholds(
    uow: ThresholdUnitOfWork, entries: Sequence[Entry], deleted: Sequence[tuple[str, str]]
) -> ThresholdChange:
    """Change thresholds and judge the current stock they cover again, at once.

    A manager who sets a minimum expects to see what is below it now, not after the next
    changed count: items newly below raise ``low_stock``, items no longer below resolve, in
    one digest for the change, and the stores' figures follow. The same alert rules judge
    it, with each covered item as a change from its count to itself.
    """
    now = utc_now()
    with uow:
        for store, item in deleted:
            if not uow.thresholds.delete(store, item):
                raise ThresholdError(f"there is no threshold for {store} / {item}")
        if entries:
            uow.thresholds.set(entries, now)
        thresholds = uow.thresholds.load()
        # Below the highest minimum that was or is now in force in these scopes, or with an
        # open low-stock alert (which a lower or deleted minimum may resolve).
        bound = max([thresholds.candidate_bound() + 1, *(m for _, _, m in entries)])
        scopes = [(s, i) for s, i, _ in entries] + list(deleted)
        outcome = ThresholdChange(len(entries) + len(deleted))
        for batch in uow.stock.under(scopes, bound):
            for d in judge_changes(uow.alerts, thresholds, batch, None, now):
                (outcome.raised if d.action == "raise" else outcome.resolved).append(d)
        digest = compose_digest({"id": None, "file": _describe(entries, deleted)}, outcome.raised)
        if digest is not None:
            uow.notify(digest, outcome.raised)
        uow.refresh(uow.stock.stores())
        uow.commit()
    return outcome


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
