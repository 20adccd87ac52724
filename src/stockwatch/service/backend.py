"""What an adapter package gives the entry points: one ``Backend`` object.

``sqlite.backend.SqliteBackend`` and ``aws.backend.AwsBackend`` implement it; only
``bootstrap`` builds them. The CLI, ``serve``'s web app, the Lambda handlers and the
contract suite all call the same methods, each taking one command of
``service.commands``, so none of them branches on the backend.

Where a backend cannot do something at all (a backup on AWS, where the tables have
point-in-time recovery), it raises ``NotOnThisBackend`` with what to do instead: that is
an answer a user reads, not a gap in a port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stockwatch.core.layouts import SavedLayout
from stockwatch.core.limits import Limits
from stockwatch.core.ports import StoredObject, UploadTarget
from stockwatch.core.reader import Readable
from stockwatch.core.report import UploadReport
from stockwatch.service.commands import Confirm, Discard, SetSnapshotDefault, Upload, Validate
from stockwatch.service.ports import ThresholdUnitOfWork
from stockwatch.service.reads import AlertNotes, ReadModel
from stockwatch.service.replenishment import OrderBook
from stockwatch.service.subscriptions import SubscriptionStore
from stockwatch.service.users import UserDirectory

Progress = Callable[[int], None] | None
UploadId = int | str  # a number on one machine; a version or an S3 key on AWS


class NotOnThisBackend(Exception):
    """A command that this backend does not offer; the message says what to do instead."""


@dataclass
class Delivery:
    """What one pass over the notifications waiting to be sent did."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


class Backend(Protocol):
    """The use cases and the reads of one backend, whichever entry point asks."""

    @property
    def name(self) -> str: ...

    @property
    def limits(self) -> Limits: ...

    # -- reads and the small writes beside them ------------------------------------------

    def reads(self) -> ReadModel: ...

    def alert_notes(self) -> AlertNotes:
        """Acknowledgements and mutes (``service.alert_notes``)."""
        ...

    def threshold_change(self) -> ThresholdUnitOfWork:
        """A unit of work for changing thresholds (``service.thresholds``)."""
        ...

    def order_book(self) -> OrderBook:
        """Ordering settings and orders (``service.replenishment``)."""
        ...

    def users(self) -> UserDirectory:
        """Users and the audit trail."""
        ...

    def subscriptions(self) -> SubscriptionStore:
        """Who hears about which alerts."""
        ...

    # -- uploads --------------------------------------------------------------------------

    def upload_target(self, command: Upload) -> UploadTarget:
        """Where a file arriving block by block (an HTTP body) is kept, with its options."""
        ...

    def submit(self, command: Upload, stored: StoredObject) -> UploadId:
        """Queue a file kept through ``upload_target``; returns the id to poll."""
        ...

    def ingest(
        self, command: Upload, source: Readable, on_progress: Progress = None
    ) -> UploadReport:
        """Keep the file and load it now, here; its report."""
        ...

    def validate(
        self, command: Validate, source: Readable, on_progress: Progress = None
    ) -> UploadReport:
        """What ingesting the file would do; nothing is kept."""
        ...

    def confirm(self, command: Confirm) -> UploadReport:
        """Apply a held snapshot: its report, or ``processing`` where it is handed on to a
        runtime without a time limit."""
        ...

    def discard(self, command: Discard) -> UploadReport: ...

    def set_snapshot_default(self, command: SetSnapshotDefault) -> None: ...

    def saved_layouts(self) -> dict[str, SavedLayout]: ...

    def save_layout(self, layout: SavedLayout, by: str) -> None:
        """Keep a column mapping under its name (``service.layouts.save_layout`` checks it)."""
        ...

    def delete_layout(self, name: str) -> bool: ...

    # -- keeping it running -----------------------------------------------------------------

    def process_pending(self) -> list[UploadReport]:
        """Finish interrupted uploads."""
        ...

    def deliver(self, due_only: bool = True) -> Delivery:
        """Send the notifications waiting (nothing waits where they are sent at once)."""
        ...

    def replay(self, queue_url: str | None, dry_run: bool, limit: int) -> Sequence[Any]:
        """Load what was given up on."""
        ...

    # What these did, as the backend reports it (for the CLI to print).

    def backup(self, dest: Path) -> Any: ...

    def restore(self, source: Path, settings: bool = False) -> Any: ...

    def check(self) -> Any: ...

    def compact(self, vacuum: bool) -> Any: ...

    def close(self) -> None: ...
