"""A snapshot upload: find what the file leaves out, hold it if that empties a store, zero it.

Written once for both backends: the first pass only reads (so a backend that cannot undo
a load decides before writing anything), the zero rows go through the same writer, at the
same version, as the file's own rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stockwatch.core.loading import ChunkOutcome, InventoryWriter, ReadSummary
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.core.report import UploadReport
from stockwatch.core.snapshot import (
    NAMED_ZEROED,
    Listing,
    hold_message,
    missing,
    snapshot_stores,
    would_hold,
    zero_rows,
)
from stockwatch.service.commands import SetSnapshotDefault
from stockwatch.service.ports import UploadJob, UploadUnitOfWork
from stockwatch.service.reads import ReadModel, require_known

ZERO_CHUNK = 1000


@dataclass
class SnapshotPlan:
    zero: dict[str, list[str]] = field(default_factory=dict)  # store -> items to set to 0
    holds: dict[str, tuple[int, int]] = field(default_factory=dict)  # store -> (zeroed, known)
    read: ReadSummary | None = None  # the bad rows the first pass found (a held report lists them)


def wanted(uow: UploadUnitOfWork, job: UploadJob) -> dict[str, bool] | None:
    """The stores' own settings when this upload may be a snapshot, else None."""
    if job.snapshot is False:
        return None
    defaults = uow.inventory.snapshot_defaults()
    if job.snapshot is None and not any(defaults.values()):
        return None
    return defaults


def plan(
    uow: UploadUnitOfWork, job: UploadJob, source: Readable, defaults: dict[str, bool]
) -> SnapshotPlan:
    """Read the file once (writing nothing) and work out what it would zero.

    A file the reader rejects plans nothing: the load that follows reports why.
    """
    listing = Listing()
    reader = InventoryFile(source, uow.limits, stores=job.scope, reading=job.reading)
    try:
        for chunk in reader.chunks():
            listing.add(chunk)
    except FileRejected:
        return SnapshotPlan()
    result = SnapshotPlan(read=ReadSummary.of(reader))
    for store in snapshot_stores(listing, job.snapshot, defaults):
        known = list(uow.inventory.items_of(store))
        gone = missing(known, listing.items[store])
        if gone:
            result.zero[store] = gone
        if would_hold(len(known), len(gone)):
            result.holds[store] = (len(gone), len(known))
    return result


def held_report(job: UploadJob, snapshot: SnapshotPlan) -> UploadReport:
    report = UploadReport(job.filename, job.upload_id)
    report.held = True
    report.message = hold_message(snapshot.holds)
    report.rows_zeroed = sum(len(items) for items in snapshot.zero.values())
    report.zeroed = _names(snapshot)
    if snapshot.read is not None:
        report.rows_rejected = snapshot.read.rows_rejected
        report.errors = list(snapshot.read.errors)
        report.warnings = list(snapshot.read.warnings)
    return report


def _names(snapshot: SnapshotPlan) -> list[str]:
    names: list[str] = []
    for store, items in sorted(snapshot.zero.items()):
        for item in sorted(items):
            if len(names) == NAMED_ZEROED:
                return names
            names.append(f"{store} / {item}")
    return names


def apply_zeroes(
    writer: InventoryWriter[Any, Any], version: Any, snapshot: SnapshotPlan, report: UploadReport
) -> None:
    """Set what the snapshot leaves out to 0, through the ordering rule (a newer count wins)."""
    apply = writer.apply
    start = 0
    zeroed: set[tuple[str, str]] = set()
    for store, items in sorted(snapshot.zero.items()):
        for first in range(0, len(items), ZERO_CHUNK):
            rows = zero_rows(store, items[first : first + ZERO_CHUNK], start)
            start += len(rows)
            outcome: ChunkOutcome = apply(rows, version)
            report.rows_zeroed += outcome.loaded
            if outcome.loaded == len(rows):  # else a newer count won for some: counted only
                zeroed.update((store, item) for item in items[first : first + ZERO_CHUNK])
    report.zeroed = [f"{s} / {i}" for s, i in sorted(zeroed)[:NAMED_ZEROED]]


def set_default(
    store_setting: Callable[[SetSnapshotDefault], None],
    command: SetSnapshotDefault,
    *,
    names: ReadModel,
) -> None:
    """Set a store's snapshot default (``Backend.set_snapshot_default``); the store must
    exist unless ``command.new``, so a typo is refused rather than never applying."""
    if not command.new:
        require_known(names, [(command.store, None)])
    store_setting(command)
