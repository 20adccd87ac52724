"""The unit of work on AWS, mirroring ``sqlite/unit_of_work.py``: its repositories over
the inventory table, the state table and the bucket.

DynamoDB cannot undo a load, so each write is conditional and safe to repeat: an upload
retried after a crash converges on the same rows, and its report is written last. Uploads
of one key are ordered by the S3 event's ``sequencer`` (by event time where an
S3-compatible server omits it): a per-key watermark in the state table makes an older or
repeated event of that key a no-op. Rows carry the upload's version, so uploads of
different keys touching one item are ordered too; per-store marks (``store_marks``) make
an upload that arrives after a newer one of its store leave alone what that one said.

There is no change feed, alert store or outbox here: the stream's records are judged by
CheckStock, so this is the plain ``UploadUnitOfWork`` of ``service.ports``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws import saved_layouts, store_figures
from stockwatch.aws.alerting import AlertStore
from stockwatch.aws.handover import Handover
from stockwatch.aws.inventory_table import DynamoInventoryWriter, Usage
from stockwatch.aws.item_details import DynamoDetails
from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.aws.partition import items_in
from stockwatch.aws.s3_upload import S3Upload
from stockwatch.aws.store_marks import FileRef, StoreMarks
from stockwatch.aws.store_records import S3StoreRecords
from stockwatch.aws.upload_log import DynamoUploads
from stockwatch.aws.upload_metadata import BadMetadata, decode
from stockwatch.core.clock import utc_now
from stockwatch.core.cost import Prices
from stockwatch.core.details import ItemDetails
from stockwatch.core.layouts import SavedLayout
from stockwatch.core.limits import Limits
from stockwatch.core.ordering import compose_version
from stockwatch.core.reader import Readable
from stockwatch.core.rows import ThresholdRow
from stockwatch.core.thresholds import Thresholds
from stockwatch.service.ports import MissingObject, UploadJob
from stockwatch.service.uploads import FileChunks

CHUNK_ROWS = 1000  # rows read and decided together: ten BatchGetItem of 100 keys
SETTINGS = "STORESET"  # the state table's partition of store settings


def set_store_setting(dynamodb: Any, state_table: str, store: str, snapshot: bool) -> None:
    dynamodb.put_item(
        TableName=state_table,
        Item={
            "pk": {"S": SETTINGS},
            "sk": {"S": store},
            "snapshot": {"BOOL": snapshot},
            "updated_at": {"S": utc_now()},
        },
    )


def store_settings(dynamodb: Any, state_table: str) -> dict[str, bool]:
    """Each store's own setting: are its files full snapshots?"""
    found: dict[str, bool] = {}
    for item in items_in(dynamodb, state_table, SETTINGS):
        found[item["sk"]["S"]] = bool(item.get("snapshot", {}).get("BOOL", False))
    return found


class S3Objects:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def open(self, job: UploadJob) -> Readable:
        """The object's version of this event; strict mode comes from its metadata."""
        upload = job.ref
        assert isinstance(upload, S3Upload), "only S3 uploads are opened from the bucket"
        try:
            body, metadata = S3ObjectStore(self.s3, upload.bucket).open_with_metadata(
                upload.key, upload.version_id
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
                raise MissingObject(f"the stored file {upload.key} is missing") from None
            raise
        try:
            job.command = decode(upload.key, metadata)
        except BadMetadata as exc:
            body.close()  # type: ignore[attr-defined]  # botocore's StreamingBody
            raise MissingObject(f"{upload.key}: {exc}") from None
        if job.command.as_of is not None:
            job.version = compose_version(job.command.as_of, upload.version)
        return body


class _NoUndo:
    def undo(self) -> bool:
        return False


@dataclass(frozen=True)
class Tables:
    """The stack's storage as one upload sees it: the clients (metered) and the names."""

    dynamodb: Any
    s3: Any
    table: str
    state_table: str
    bucket: str = ""  # where the stores' records are kept; none without one


class DynamoInventory:
    """Writes cannot be undone: the service then pre-checks strict files and names a
    partial load in the report."""

    can_undo = False

    def __init__(self, tables: Tables, limits: Limits, usage: Usage) -> None:
        self.dynamodb = tables.dynamodb
        self.s3 = tables.s3
        self.table = tables.table
        self.state_table = tables.state_table
        self.bucket = tables.bucket
        self.limits = limits
        self.usage = usage
        self.current: DynamoInventoryWriter | None = None
        self.alerts = AlertStore(self.dynamodb, self.state_table)
        self.details: DynamoDetails | None = None

    def read(self, job: UploadJob, source: Readable, on_progress: Any) -> FileChunks:
        return FileChunks(source, self.limits, on_progress, CHUNK_ROWS, job.scope, job.reading)

    def writer(self, job: UploadJob) -> DynamoInventoryWriter:
        ref = job.ref.ref if isinstance(job.ref, S3Upload) else job.ref
        assert isinstance(ref, FileRef)
        marks = StoreMarks(self.dynamodb, self.state_table, self.s3, self.limits)
        records = S3StoreRecords(self.s3, self.bucket) if self.bucket else None
        writer = DynamoInventoryWriter(
            self.dynamodb, self.table, job.filename, utc_now(), marks, ref, records
        )
        writer.usage = self.usage
        if job.resume is not None:  # carrying on: the stores the earlier runs changed
            writer.stores_written.update(job.resume.extra.get("stores", []))
        self.current = writer
        return writer

    @contextmanager
    def attempt(self) -> Iterator[_NoUndo]:
        yield _NoUndo()

    def items_of(self, store: str) -> Iterator[tuple[str, int]]:
        return store_figures.items_of(self.dynamodb, self.table, store)

    def snapshot_defaults(self) -> dict[str, bool]:
        return store_settings(self.dynamodb, self.state_table)

    def saved_layouts(self) -> dict[str, SavedLayout]:
        return saved_layouts.saved(self.dynamodb, self.state_table)

    def keep_details(self, job: UploadJob, details: ItemDetails) -> int:
        if self.details is None:
            self.details = DynamoDetails(self.dynamodb, self.state_table, self.alerts)
        return self.details.keep(details, job.version)

    def details_done(self, job: UploadJob) -> None:
        """Nothing held: each chunk's SKUs were written as it came."""


class DynamoStoreFigures:
    def __init__(self, inventory: DynamoInventory, thresholds: AlertStore) -> None:
        self.inventory = inventory
        self.thresholds = thresholds

    def refresh(self, job: UploadJob) -> list[str]:
        writer = self.inventory.current
        if writer is None or not writer.stores_written:
            return []
        inv = self.inventory
        thresholds = self.thresholds.thresholds()
        store_figures.refresh(
            inv.dynamodb,
            inv.table,
            inv.state_table,
            [
                store
                for store in writer.stores_written
                if store_figures.moved(writer.moves.get(store), store, thresholds)
            ],
            thresholds,
            job.version,
        )
        return sorted(writer.stores_written)


class DynamoThresholds:
    def __init__(self, alerts: AlertStore) -> None:
        self.store = alerts

    def load(self) -> Thresholds:
        return self.store.thresholds()

    def entries(self) -> list[ThresholdRow]:
        return self.store.entries()

    def set(self, entries: Any, now: str) -> None:
        for store, item, minimum, cover_days in entries:
            self.store.set_threshold(store, item, minimum, now, cover_days)

    def delete(self, store: str, item: str) -> bool:
        return self.store.delete_threshold(store, item)


class AwsUnitOfWork:
    """No transaction spans an upload on DynamoDB: each write stands on its own."""

    def __init__(
        self,
        tables: Tables,
        limits: Limits,
        usage: Usage,
        prices: Prices | None = None,
        handover: Handover | None = None,
        threshold_change: Callable[[], Any] | None = None,
    ) -> None:
        self.limits = limits
        self._threshold_change = threshold_change
        self.uploads = DynamoUploads(tables.dynamodb, tables.state_table, prices, handover)
        self.objects = S3Objects(tables.s3)
        self.inventory = DynamoInventory(tables, limits, usage)
        self.uploads.inventory = self.inventory
        store = self.inventory.alerts  # one copy of the thresholds a run reads
        self.thresholds = DynamoThresholds(store)
        self.figures = DynamoStoreFigures(self.inventory, store)

    def __enter__(self) -> AwsUnitOfWork:
        return self

    def minimums_set(self) -> list[tuple[str, str]]:
        details = self.inventory.details
        return sorted(details.minimums_set) if details is not None else []

    def threshold_change(self) -> Any:
        """A ``ThresholdUnitOfWork`` (``aws.threshold_change``), from the backend."""
        if self._threshold_change is None:
            raise RuntimeError("this unit of work was made without a threshold change")
        return self._threshold_change()

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass
