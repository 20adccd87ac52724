"""Setting low-stock thresholds, from the CLI, the API or a file: one set of rules.

A threshold is a minimum for (store, item), either of which may be ``*``; a minimum of 0
switches low-stock alerts off. Blank names are refused rather than read as wildcards.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stockwatch.core.clock import utc_now
from stockwatch.core.digest import compose_digest
from stockwatch.core.limits import Limits
from stockwatch.core.model import AlertDecision, RowError
from stockwatch.core.mutes import audible
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.core.thresholds import ThresholdEntry
from stockwatch.service.alerts import judge_changes
from stockwatch.service.commands import DeleteThreshold, SetThresholds
from stockwatch.service.ports import ThresholdUnitOfWork
from stockwatch.service.reads import ReadModel, require_known
from stockwatch.service.users import AuditTrail
from stockwatch.service.users import note as audit_note

# A big threshold file is named line by line up to here, then as a count.
AUDIT_LINES = 100
Entry = ThresholdEntry  # (store, item, minimum, cover_days or None)


class ThresholdError(ValueError):
    """Thresholds that cannot be set; the message says what to fix."""

    def __init__(self, message: str, errors: list[RowError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def clean(entries: Iterable[Sequence[Any]]) -> list[Entry]:
    """(store, item, minimum) or (store, item, minimum, cover_days), checked."""
    cleaned: list[Entry] = []
    for entry in entries:
        store, item, minimum = entry[0], entry[1], entry[2]
        cover_days = entry[3] if len(entry) > 3 else None
        store, item = store.strip(), item.strip()
        if not store or not item:
            raise ThresholdError("store and item must not be blank; use * to mean all")
        if not _whole(minimum):
            raise ThresholdError(f"the minimum for {store} / {item} must be a whole number >= 0")
        if cover_days is not None and not _whole(cover_days):
            raise ThresholdError(
                f"cover_days for {store} / {item} must be a whole number of days >= 0"
            )
        cleaned.append((store, item, minimum, cover_days))
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


def set_thresholds(
    uow: ThresholdUnitOfWork,
    command: SetThresholds,
    trail: AuditTrail | None,
    *,
    names: ReadModel,
) -> ThresholdChange:
    """Set thresholds, then judge at once the stock they cover (see ``change_thresholds``).
    The stores and items must exist (``names``, the signer's view) unless ``command.new``."""
    cleaned = clean(command.entries)
    if not command.new:
        require_known(names, [(e[0], e[1]) for e in cleaned])
    by = command.by
    change = change_thresholds(uow, cleaned, [])
    for store, item, minimum, cover in cleaned[:AUDIT_LINES]:
        detail = f"minimum {minimum}" + (f", cover {cover} days" if cover is not None else "")
        audit_note(trail, by, "threshold.set", f"{store} / {item}", detail)
    if len(cleaned) > AUDIT_LINES:
        more = f"{len(cleaned) - AUDIT_LINES:,} more thresholds in the same change"
        audit_note(trail, by, "threshold.set", "…", more)
    return change


def delete_threshold(
    uow: ThresholdUnitOfWork, command: DeleteThreshold, trail: AuditTrail | None = None
) -> ThresholdChange:
    store, item = command.store, command.item
    change = change_thresholds(uow, [], [(store, item)])
    audit_note(trail, command.by, "threshold.delete", f"{store} / {item}")
    return change


def _describe(entries: Sequence[Entry], deleted: Sequence[tuple[str, str]]) -> str:
    parts = [f"{s} / {i} → {m}" for s, i, m, _ in entries[:3]]
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
            entries = uow.thresholds.load().keeping_cover(entries)
            uow.thresholds.set(entries, now)
        scopes = [(e[0], e[1]) for e in entries] + list(deleted)
        outcome = _judge_covered(
            uow, scopes, [e[2] for e in entries], _describe(entries, deleted), now
        )
        outcome.changed = len(entries) + len(deleted)
        uow.commit()
    return outcome


def judge_minimums(uow: ThresholdUnitOfWork, keys: Sequence[tuple[str, str]], file: str) -> None:
    """After an upload whose file set minimums (``core.details``), where its changes are
    judged one by one as they stream (AWS): the items whose minimum it set are judged at
    once, as a threshold change's, so one whose count stayed is not left unjudged. Judging
    one the stream judges too raises nothing twice: an alert is raised once per item."""
    with uow:
        _judge_covered(uow, keys, [], f"the minimums in {file}", utc_now())
        uow.commit()


def _judge_covered(
    uow: ThresholdUnitOfWork,
    scopes: Sequence[tuple[str, str]],
    minimums: Sequence[int],
    label: str,
    now: str,
) -> ThresholdChange:
    thresholds = uow.thresholds.load()
    # Below the highest minimum that was or is now in force in these scopes, or with an
    # open low-stock alert (which a lower or deleted minimum may resolve).
    bound = max([thresholds.candidate_bound() + 1, *minimums])
    outcome = ThresholdChange(0)
    for batch in uow.stock.under(scopes, bound, thresholds.has_cover):
        for d in judge_changes(uow.alerts, thresholds, batch, None, now):
            (outcome.raised if d.action == "raise" else outcome.resolved).append(d)
    heard = audible(outcome.raised, uow.alerts.mutes(now))
    digest = compose_digest({"id": None, "file": label}, heard)
    if digest is not None:
        uow.notify(digest, heard)
    uow.refresh(uow.stock.stores())
    return outcome


def read_threshold_file(source: Readable, name: str, limits: Limits) -> list[Entry]:
    """A CSV of store, item, minimum and, optionally, cover_days; all or nothing, so a
    typo never half-applies. Threshold files are small: it is read whole (at most 1 MiB).
    """
    data = source.read(THRESHOLD_FILE_BYTES + 1)
    if len(data) > THRESHOLD_FILE_BYTES:
        raise ThresholdError(f"{name}: over {THRESHOLD_FILE_BYTES // 1024} KiB; split it")
    reader = InventoryFile(io.BytesIO(data), limits, value_column="minimum")
    entries: list[tuple[int, str, str, int]] = []
    try:
        for chunk in reader.chunks():
            entries.extend(chunk)
    except FileRejected as exc:
        raise ThresholdError(f"{name}: {exc.message}") from None
    covers, errors = _cover_column(data, reader.encoding, reader.delimiter)
    errors = sorted([*reader.errors, *errors], key=lambda e: e.line)
    if errors:
        raise ThresholdError(
            f"{name}: {len(errors)} bad row{'s' if len(errors) != 1 else ''}; nothing imported,"
            " fix them first",
            errors,
        )
    return clean((s, i, m, covers.get(line)) for line, s, i, m in entries)


THRESHOLD_FILE_BYTES = 1024 * 1024


def _cover_column(
    data: bytes, encoding: str, delimiter: str
) -> tuple[dict[int, int], list[RowError]]:
    """The optional cover_days column by line: blank means none."""
    text = data.decode(encoding or "utf-8-sig", errors="replace")
    rows = csv.reader(io.StringIO(text), delimiter=delimiter or ",")
    header = [h.strip().lower() for h in next(rows, [])]
    if "cover_days" not in header:
        return {}, []
    column = header.index("cover_days")
    covers: dict[int, int] = {}
    errors: list[RowError] = []
    for line, row in enumerate(rows, start=2):
        value = row[column].strip() if column < len(row) else ""
        if not value:
            continue
        if not value.isdigit():
            errors.append(
                RowError(line, "cover_days", f"cover_days {value!r} is not a whole number")
            )
            continue
        covers[line] = int(value)
    return covers, errors
