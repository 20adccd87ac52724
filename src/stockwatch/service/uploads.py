"""Processing and validating an upload: read, decide, write, judge, queue, report.

Written once for every backend. Where the backends differ, they say so through the ports:
an inventory that cannot undo a load (DynamoDB) gets strict mode as a read-only first pass
and a partial load named in the report; one that can (SQLite) rolls the load back instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from stockwatch.core import layouts
from stockwatch.core.details import ItemDetails
from stockwatch.core.limits import Limits
from stockwatch.core.loading import (
    LoadProgress,
    Paused,
    ReadSummary,
    finish_report,
    load_chunks,
    unique_chunks,
)
from stockwatch.core.ordering import as_of_of
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.core.report import UploadReport
from stockwatch.core.snapshot import SnapshotTooBig
from stockwatch.service import snapshots
from stockwatch.service.alerts import judge_upload
from stockwatch.service.commands import Validate
from stockwatch.service.ports import (
    ChunkSource,
    JudgingUnitOfWork,
    MinimumsAfterLoad,
    MissingObject,
    PausingLog,
    UploadJob,
    UploadUnitOfWork,
    ValidatingUnitOfWork,
)
from stockwatch.service.thresholds import judge_minimums

ProgressCallback = Callable[[int], None]
# Strict mode's first pass, where a load cannot be undone, catches a (store, item) repeated
# within this many rows; one repeated farther apart is reported as a rejected row.
STRICT_CHECK_ROWS = 50_000


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def process_upload(
    uow: UploadUnitOfWork, ref: Any, on_progress: ProgressCallback | None = None
) -> UploadReport:
    """Process one upload; processing it again once it has finished changes nothing."""
    job = uow.uploads.begin(ref)
    if job.done is not None:
        return job.done
    return run(uow, job, on_progress=on_progress)


class NotHeld(ValueError):
    """The upload is not a snapshot waiting for confirmation; the message says what it is."""


class NoSuchUpload(NotHeld):
    """There is no such upload at all."""


def _held(uow: UploadUnitOfWork, ref: Any) -> UploadJob:
    try:
        job = uow.uploads.begin(ref)
    except KeyError:
        raise NoSuchUpload(f"there is no upload {ref}") from None
    if job.done is None or job.done.status != "needs_confirmation":
        state = job.done.status if job.done is not None else "being processed"
        raise NotHeld(f"upload {job.upload_id} is not waiting for confirmation (it is {state})")
    return job


def confirm_upload(
    uow: UploadUnitOfWork,
    ref: Any,
    on_progress: ProgressCallback | None = None,
    should_pause: Callable[[], bool] | None = None,
) -> UploadReport:
    """Apply a held snapshot as it is, whatever it zeroes (someone checked the file)."""
    job = _held(uow, ref)
    job.done = None
    job.confirmed = True
    job.should_pause = should_pause
    return run(uow, job, on_progress=on_progress)


def discard_upload(uow: UploadUnitOfWork, ref: Any, by: str = "") -> UploadReport:
    """Drop a held snapshot: nothing of it is applied, its file is kept, its report says so."""
    job = _held(uow, ref)
    assert job.done is not None
    report = job.done
    report.held = False
    report.rows_zeroed = 0
    who = f" by {by}" if by else ""
    report.message = f"discarded{who}: a snapshot held for confirmation; nothing was applied"
    report.settle_status()
    with uow:
        uow.uploads.finish(job, report)
        uow.commit()
    return report


def validate(
    uow: ValidatingUnitOfWork,
    command: Validate,
    source: Readable,
    on_progress: ProgressCallback | None = None,
) -> UploadReport:
    """What ingesting the file would do, against the current stock; nothing is kept."""
    job = uow.uploads.trial(command.upload)
    return run(uow, job, source, on_progress, keep=False)


def run(
    uow: UploadUnitOfWork,
    job: UploadJob,
    source: Readable | None = None,
    on_progress: ProgressCallback | None = None,
    keep: bool = True,
) -> UploadReport:
    started = time.perf_counter()
    with uow:
        settled = uow.uploads.settled(job) if keep and not job.confirmed else None
        if settled is not None:
            return settled  # another process finished it meanwhile
        if job.refusal is not None:
            report = UploadReport(job.filename, job.upload_id, message=job.refusal)
        else:
            try:
                report = load_upload(uow, job, source, on_progress)
            except Paused as paused:
                return _pause(uow, job, paused, started)
        if report.message is None and isinstance(uow, JudgingUnitOfWork):
            alerting = time.perf_counter()
            judge_upload(uow, job, report)
            report.timings_ms["alerts"] = _ms(alerting)
        if keep:
            stores = uow.figures.refresh(job)
            if report.message is None:
                report.stores = stores
        report.timings_ms["total"] = _ms(started)
        report.cost = uow.uploads.cost(job, report.timings_ms["total"]).to_json()
        report.as_of = as_of_of(str(job.version))
        report.uploaded_by = job.uploader or None
        report.scope = None if job.scope is None else sorted(job.scope)
        report.settle_status()
        if keep:
            uow.uploads.finish(job, report)
            uow.commit()
        else:
            uow.rollback()
    if keep and report.message is None and isinstance(uow, MinimumsAfterLoad):
        keys = uow.minimums_set()
        if keys:
            judge_minimums(uow.threshold_change(), keys, report.file)
    return report


def _pause(uow: UploadUnitOfWork, job: UploadJob, paused: Paused, started: float) -> UploadReport:
    """Out of time: keep the progress and hand the rest on; the report says ``processing``."""
    progress = paused.progress
    report = UploadReport(job.filename, job.upload_id, status="processing")
    report.uploaded_by = job.uploader or None
    report.rows_loaded = progress.loaded
    report.rows_unchanged = progress.unchanged
    report.rows_superseded = progress.superseded
    report.timings_ms["total"] = _ms(started)
    report.cost = uow.uploads.cost(job, report.timings_ms["total"]).to_json()
    uploads = uow.uploads
    assert isinstance(uploads, PausingLog), "only a log that can hand on pauses an upload"
    if uploads.pause(job, progress, report):
        uow.commit()
    else:
        report.message = "another run of this upload has got further; this one stopped"
    return report


def load_upload(
    uow: UploadUnitOfWork,
    job: UploadJob,
    source: Readable | None = None,
    on_progress: ProgressCallback | None = None,
) -> UploadReport:
    """Load the file's rows by the ordering rule; bad rows and strict mode on the report."""
    report = UploadReport(job.filename, job.upload_id)
    if source is None:
        try:
            source = uow.objects.open(job)
        except MissingObject as exc:
            report.message = str(exc)
            return report
    if layouts.wants_saved(job.command.reading()):
        job.saved_layouts = uow.inventory.saved_layouts()
    if job.strict and not uow.inventory.can_undo and job.resume is None:
        with closing_if_possible(source):
            checked = check_strict(job, source, uow.limits)
        if checked.message is not None:
            return checked
        source = uow.objects.open(job)
    snapshot = None
    defaults = snapshots.wanted(uow, job)
    if defaults is not None:
        # A stored file is opened again for the load; a local one (validating) is rewound,
        # so it stays open.
        first_pass = closing_if_possible(source) if job.object_key else nullcontext(source)
        try:
            with first_pass:
                snapshot = snapshots.plan(uow, job, source, defaults)
        except SnapshotTooBig as exc:
            report.message = f"{job.filename}: {exc}"
            return report
        if snapshot.holds and not job.confirmed:
            return snapshots.held_report(job, snapshot)
        source = _again(uow, job, source)
    loading = time.perf_counter()
    progress = job.resume or LoadProgress()
    # A pause commits part of an upload, so only where its changes are judged on their own
    # (a stream) may it pause: judging in the unit of work needs all of them in one.
    pausing = isinstance(uow.uploads, PausingLog) and not isinstance(uow, JudgingUnitOfWork)
    should_pause = job.should_pause if pausing else None
    with closing_if_possible(source), uow.inventory.attempt() as attempt:
        try:
            read = uow.inventory.read(job, source, on_progress)
            writer = uow.inventory.writer(job)
            repeats = load_chunks(
                _keeping_details(uow, job, read, progress),
                writer,
                job.version,
                report,
                progress,
                should_pause,
                uow.limits.max_errors_reported,
            )
            finish_report(report, read.summary(), repeats, uow.limits.max_errors_reported)
            report.thresholds_set = int(progress.extra.get("thresholds_set", 0))
            if snapshot is not None and snapshot.zero:
                snapshots.apply_zeroes(writer, job.version, snapshot, report)
        except FileRejected as exc:
            loaded = progress.loaded
            report = UploadReport(job.filename, job.upload_id, message=exc.message)
            report.headers = exc.headers
            if not attempt.undo() and loaded:
                rows = f"{loaded:,} row{'s' if loaded != 1 else ''}"
                report.message = f"{exc.message} ({rows} before that point were loaded)"
        else:
            if job.strict and report.rows_rejected and attempt.undo():
                report.reject_for_strict()
    report.timings_ms["load"] = _ms(loading)
    return report


def _keeping_details(
    uow: UploadUnitOfWork, job: UploadJob, read: ChunkSource, progress: LoadProgress
) -> Iterator[Any]:
    """The chunks, each let through once its SKUs and minimums are kept: a minimum is in
    force before the rows it came with are judged (on AWS, before the stream sees them)."""
    for chunk in read.chunks():
        details = read.details()
        if details:
            found = uow.inventory.keep_details(job, details)
            if found:
                extra = progress.extra
                extra["thresholds_set"] = int(extra.get("thresholds_set", 0)) + found
        yield chunk
    uow.inventory.details_done(job)


def _again(uow: UploadUnitOfWork, job: UploadJob, source: Readable) -> Readable:
    """The file from its start once more: stored files are opened again, a local one
    (validating) is rewound."""
    if job.object_key:
        return uow.objects.open(job)
    seek = getattr(source, "seek", None)
    if seek is None:
        raise FileRejected("a snapshot needs to read the file twice; this stream cannot")
    seek(0)
    return source


def check_strict(job: UploadJob, source: Readable, limits: Limits) -> UploadReport:
    """Strict mode's read-only first pass: read everything, write nothing."""
    report = UploadReport(job.filename, job.upload_id)
    inventory = InventoryFile(source, limits, stores=job.scope, reading=job.reading)
    try:
        for _ in unique_chunks(inventory, STRICT_CHECK_ROWS):
            pass
    except FileRejected as exc:
        rejected = UploadReport(job.filename, job.upload_id, message=exc.message)
        rejected.headers = exc.headers
        return rejected
    finish_report(report, ReadSummary.of(inventory), [], limits.max_errors_reported)
    if report.rows_rejected:
        report.reject_for_strict()
    return report


@contextmanager
def closing_if_possible(source: Readable) -> Iterator[Readable]:
    """Close the stream afterwards when it can be closed (files, S3 bodies)."""
    try:
        yield source
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


class FileChunks:
    """The plain ``ChunkSource``: the core reader over the stream, in unique chunks."""

    def __init__(
        self,
        source: Readable,
        limits: Limits,
        on_progress: ProgressCallback | None = None,
        size: int = 5000,
        stores: frozenset[str] | None = None,
        reading: dict[str, str] | None = None,
    ) -> None:
        self.inventory = InventoryFile(source, limits, on_progress, stores=stores, reading=reading)
        self.size = size

    def chunks(self) -> Any:
        return unique_chunks(self.inventory, self.size)

    def summary(self) -> ReadSummary:
        return ReadSummary.of(self.inventory)

    def details(self) -> ItemDetails:
        return self.inventory.take_details()
