"""What a use case needs from a backend: a unit of work and its repositories.

A unit of work is one upload's worth of storage work: on one machine a single SQLite
transaction (so an upload is applied whole or not at all), on AWS a sequence of conditional
DynamoDB writes that are each safe to repeat (so an upload retried after a crash converges).
The difference is stated once, as ``Inventory.can_undo``: the service asks for an undo, and
only a backend that can give one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

from stockwatch.core.alert_rules import OpenAlerts
from stockwatch.core.cost import Cost
from stockwatch.core.details import ItemDetails
from stockwatch.core.digest import Digest
from stockwatch.core.layouts import SavedLayout, resolve
from stockwatch.core.limits import Limits
from stockwatch.core.loading import LoadProgress, ReadSummary
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.mutes import Mutes
from stockwatch.core.reader import Readable
from stockwatch.core.report import UploadReport
from stockwatch.core.rows import ThresholdRow
from stockwatch.core.subscriptions import Subscription
from stockwatch.core.thresholds import ThresholdEntry, Thresholds
from stockwatch.service.commands import Upload
from stockwatch.service.replenishment import DemandSource, OrderBook


class MissingObject(Exception):
    """The stored file of an upload is gone; the report says so."""


@dataclass
class UploadJob:
    """One upload about to be processed (or validated), as its backend knows it.

    ``command`` is what was asked for; on AWS it is learnt only when the file is opened
    (S3 keeps it as the object's metadata). ``done`` is the stored report of an upload that
    finished already: processing it again returns that and changes nothing. ``refusal`` is
    why it will not be loaded at all. ``resume`` is where an earlier run of this upload
    paused; ``should_pause`` is asked after each chunk by a runtime with a time limit
    (Lambda), and only there is it set.
    """

    upload_id: int | str | None
    # ``<as-of>#<arrival>`` on both backends (``core.ordering``): compared as text.
    version: str
    command: Upload
    object_key: str
    done: UploadReport | None = None
    refusal: str | None = None
    # The backend's own handle of the stored file (an S3 event's object, a file reference),
    # narrowed by the adapter that made it.
    ref: object = None
    received_at: str = ""
    # The id a validation stands in for: the next upload's (SQLite's trial only).
    trial_id: int | None = None
    resume: LoadProgress | None = None
    should_pause: Callable[[], bool] | None = None
    confirmed: bool = False  # a held snapshot someone confirmed: apply it whatever it zeroes
    saved_layouts: dict[str, SavedLayout] = field(default_factory=dict)  # when it is read

    @property
    def filename(self) -> str:
        return self.command.filename

    @property
    def strict(self) -> bool:
        return self.command.strict

    @property
    def snapshot(self) -> bool | None:
        return self.command.snapshot

    @property
    def uploader(self) -> str:
        return self.command.uploader

    @property
    def reading(self) -> dict[str, str]:
        """How to read the file: the upload's options, a saved mapping put in."""
        return resolve(self.command.reading(), self.saved_layouts)

    @property
    def scope(self) -> frozenset[str] | None:
        return self.command.scope


class UploadLog(Protocol):
    def begin(self, ref: Any) -> UploadJob:
        """Find the upload and claim it for processing (visible at once as ``processing``)."""
        ...

    def finish(self, job: UploadJob, report: UploadReport) -> None: ...

    def settled(self, job: UploadJob) -> UploadReport | None:
        """Inside the unit of work: the report of another run that finished this upload
        since ``begin`` (a CLI ``ingest`` and ``serve``'s worker on one data directory), so
        that this run returns it instead of loading again and overwriting it with a report
        of nothing changed. None where no other run has (or where ``begin``'s claim is
        exclusive)."""
        ...

    def cost(self, job: UploadJob, elapsed_ms: float) -> Cost:
        """What this upload cost so far: at least the time, metered requests where billed."""
        ...


@runtime_checkable
class PausingLog(UploadLog, Protocol):
    """An upload log of a runtime with a time limit (Lambda), where a long upload stops at a
    chunk boundary and carries on in a new run."""

    def pause(self, job: UploadJob, progress: LoadProgress, report: UploadReport) -> bool:
        """Keep ``progress`` and hand the rest of the upload on to a new run, durably.

        False when another run of the same upload has got further meanwhile (a repeated
        hand-over): this one then stops without handing on.
        """
        ...


class TrialLog(UploadLog, Protocol):
    """An upload log that can stand a file in for the next upload, to validate it."""

    def trial(self, command: Upload) -> UploadJob:
        """A job for validating a file: the version the next upload would get."""
        ...


class Objects(Protocol):
    def open(self, job: UploadJob) -> Readable:
        """The stored file as a stream; raises MissingObject."""
        ...


class ChunkSource(Protocol):
    """The file's rows in chunks; ``summary`` is complete once the chunks are exhausted."""

    def chunks(self) -> Iterable[Any]: ...

    def summary(self) -> ReadSummary: ...

    def details(self) -> ItemDetails:
        """The SKUs and minimums of the chunk given last (``core.details``)."""
        ...


class Undo(Protocol):
    def undo(self) -> bool:
        """Undo what the load wrote; False where the backend cannot (its rows stay)."""
        ...


class Inventory(Protocol):
    @property
    def can_undo(self) -> bool: ...

    def read(self, job: UploadJob, source: Readable, on_progress: Any) -> ChunkSource: ...

    def writer(self, job: UploadJob) -> Any:
        """A ``core.loading.InventoryWriter`` for this job's version."""
        ...

    def attempt(self) -> AbstractContextManager[Undo]: ...

    def items_of(self, store: str) -> Iterator[tuple[str, int]]:
        """Every item of the store and its count (what a snapshot compares its list with)."""
        ...

    def snapshot_defaults(self) -> dict[str, bool]:
        """The stores whose files are snapshots unless an upload says otherwise."""
        ...

    def saved_layouts(self) -> dict[str, SavedLayout]:
        """The column mappings kept under a name (``core.layouts.resolve``)."""
        ...

    def keep_details(self, job: UploadJob, details: ItemDetails) -> int:
        """Keep the SKUs and minimums that changed, before the rows they came with are
        written (so the alert rules judge those rows by the new minimums); returns how many
        thresholds were set. A threshold set by hand is never overwritten."""
        ...

    def details_done(self, job: UploadJob) -> None:
        """The file's rows are done: keep what was held back (a store's SKUs are kept per
        store, once its rows have all come)."""
        ...


class Alerts(Protocol):
    """Open alerts and the recording of the rules' decisions."""

    def open_alerts(self, changes: Sequence[StockChange]) -> OpenAlerts: ...

    def mutes(self, now: str) -> Mutes:
        """The mutes in force at ``now`` (``core.mutes``)."""
        ...

    def record(
        self, decisions: Sequence[AlertDecision], upload: Any, now: str
    ) -> list[AlertDecision]:
        """Store the decisions of ``upload``'s changes (None: a threshold change, or a
        validation); returns those that took effect (a replay's do not)."""
        ...


class ThresholdStore(Protocol):
    def load(self) -> Thresholds: ...

    def entries(self) -> list[ThresholdRow]: ...

    def set(self, entries: Sequence[ThresholdEntry], now: str) -> None:
        """(store, item, minimum, cover_days or None) each."""
        ...

    def delete(self, store: str, item: str) -> bool: ...


class ChangeFeed(Protocol):
    """The changes this unit of work has made so far, for judging them in it."""

    def candidates(self, bound: int, with_cover: bool = False) -> Iterator[list[StockChange]]:
        """Changes that may matter to an alert (old or new count at or below ``bound``);
        ``with_cover`` fills in each one's days of cover (a cover threshold needs it)."""
        ...


class Outbox(Protocol):
    """Digests waiting to be sent: ``queue`` to the channels for everything, ``queue_to``
    to one subscription (``service.subscriptions.queue_digests`` decides what each gets)."""

    def queue(self, upload_id: int | str, digest: Digest) -> None: ...

    def subscriptions(self) -> list[Subscription]: ...

    def queue_to(
        self, upload_id: int | str, subscription: Subscription, digest: Digest
    ) -> None: ...


class StoreFigures(Protocol):
    def refresh(self, job: UploadJob) -> list[str]:
        """Count again the stores this job changed; returns their names."""
        ...


class CoveredStock(Protocol):
    def under(
        self, scopes: Sequence[tuple[str, str]], bound: int, with_cover: bool = False
    ) -> Iterator[list[StockChange]]:
        """The current stock that ``scopes`` ((store, item), ``*`` for all) cover and that a
        threshold can matter to: counts below ``bound``, or with an open low-stock alert.

        Each is a change from its count to itself, so the alert rules judge it as they
        judge any change, in batches.
        """
        ...

    def stores(self) -> list[str]:
        """The stores ``under`` has given so far."""
        ...


class ThresholdUnitOfWork(Protocol):
    """Changing thresholds and judging the stock they cover again, together."""

    @property
    def thresholds(self) -> ThresholdStore: ...

    @property
    def stock(self) -> CoveredStock: ...

    @property
    def alerts(self) -> Alerts: ...

    def notify(self, digest: Digest, decisions: Sequence[AlertDecision]) -> None:
        """Send (or queue) the change's one digest; nothing is sent before ``commit``."""
        ...

    def refresh(self, stores: Sequence[str]) -> None:
        """Count these stores' figures again (their low-stock numbers changed)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...


class UploadUnitOfWork(Protocol):
    """What every backend gives an upload. Read-only properties, so that each backend may
    name its own repository types."""

    @property
    def limits(self) -> Limits: ...

    @property
    def uploads(self) -> UploadLog: ...

    @property
    def objects(self) -> Objects: ...

    @property
    def inventory(self) -> Inventory: ...

    @property
    def figures(self) -> StoreFigures: ...

    @property
    def thresholds(self) -> ThresholdStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


@runtime_checkable
class JudgingUnitOfWork(UploadUnitOfWork, Protocol):
    """A unit of work that judges an upload's changes inside it (one machine): the change
    feed, the alerts and the outbox share the upload's transaction.

    On AWS the stream's records are judged by their own function (CheckStock), so its unit
    of work is the plain one.
    """

    @property
    def feed(self) -> ChangeFeed: ...

    @property
    def alerts(self) -> Alerts: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def demand(self) -> DemandSource:
        """Items' dated counts as this transaction sees them (for the digest's orders)."""
        ...

    @property
    def orders(self) -> OrderBook: ...


class ValidatingUnitOfWork(JudgingUnitOfWork, Protocol):
    """A judging unit of work whose log can stand a file in for the next upload."""

    @property
    def uploads(self) -> TrialLog: ...


@runtime_checkable
class MinimumsAfterLoad(Protocol):
    """A unit of work whose changes are judged as they stream (AWS), where the items whose
    minimum the file set are judged after the load instead (``service.thresholds``): one
    whose count stayed has no change to stream."""

    def minimums_set(self) -> list[tuple[str, str]]: ...

    def threshold_change(self) -> ThresholdUnitOfWork: ...
