"""Loading one S3 object: the service's upload use case over DynamoDB and S3.

Ordering: uploads of one key are ordered by the S3 event's ``sequencer`` (by event time
where an S3-compatible server omits it). A per-key watermark in the state table makes an
older or repeated event of that key a no-op. Rows carry the upload's version, so uploads of
different keys touching one item are ordered too; per-store marks (``store_marks``) make an
upload that arrives after a newer one of its store leave alone what that one said.

DynamoDB cannot undo a load, so each write is conditional and safe to repeat: an upload
retried after a crash converges on the same rows, and its report is written last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws import store_stats
from stockwatch.aws.alerting import AlertStore
from stockwatch.aws.inventory_table import DynamoInventoryWriter, Usage
from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.aws.settings import AwsSettings
from stockwatch.aws.store_marks import FileRef, StoreMarks
from stockwatch.core.clock import utc_now
from stockwatch.core.limits import Limits
from stockwatch.core.reader import Readable
from stockwatch.core.report import FINISHED, UploadReport
from stockwatch.core.rows import ThresholdRow
from stockwatch.core.thresholds import Thresholds
from stockwatch.service import uploads as upload_service
from stockwatch.service.ports import MissingObject, UploadJob
from stockwatch.service.uploads import FileChunks

# S3 user metadata (x-amz-meta-stockwatch-strict: true) asking for strict mode.
STRICT_METADATA = "stockwatch-strict"
CHUNK_ROWS = 1000  # rows read and decided together: ten BatchGetItem of 100 keys


@dataclass(frozen=True)
class S3Upload:
    bucket: str
    key: str
    sequencer: str
    event_time: str
    version_id: str | None = None

    @property
    def version(self) -> str:
        """``<event time>#<sequencer>`` plus a hash of the key: an upload's identity.

        Hex sequencers of one key compare as numbers once left-padded to one width. The
        key's hash tells apart two files whose events carry the same time and the same (or
        no) sequencer, and leaves the order of one key's uploads as it was.
        """
        return make_version(self.event_time, self.sequencer, f"{self.bucket}/{self.key}")

    @property
    def ref(self) -> FileRef:
        return FileRef(self.bucket, self.key, self.version_id or "")


def make_version(event_time: str, sequencer: str, name: str) -> str:
    digest = hashlib.blake2b(name.encode(), digest_size=6).hexdigest()
    return f"{event_time}#{sequencer.rjust(32, '0')}{digest}"


class DynamoUploads:
    def __init__(self, dynamodb: Any, state_table: str) -> None:
        self.dynamodb = dynamodb
        self.table = state_table

    def stored_report(self, version: str) -> UploadReport | None:
        item = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": "UPLOAD"}, "sk": {"S": version}},
            ConsistentRead=True,
        ).get("Item")
        if item is None or item["status"]["S"] not in FINISHED:
            return None
        return UploadReport.from_json(json.loads(item["report"]["S"]))

    def _claim(self, upload: S3Upload) -> bool:
        """Move the key's watermark to this upload; False when a newer one got there first."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"KEY#{upload.bucket}/{upload.key}"},
                    "sk": {"S": "LATEST"},
                    "Version": {"S": upload.version},
                },
                ConditionExpression="attribute_not_exists(pk) OR #v <= :v",
                ExpressionAttributeNames={"#v": "Version"},
                ExpressionAttributeValues={":v": {"S": upload.version}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def begin(self, upload: S3Upload) -> UploadJob:
        version = upload.version
        job = UploadJob(version, version, upload.key, upload.key, ref=upload)
        job.extra["received_at"] = upload.event_time
        job.done = self.stored_report(version)
        if job.done is None and not self._claim(upload):
            job.refusal = "a newer upload of this key was processed already; nothing changed"
        return job

    def local(self, name: str) -> UploadJob:
        """A local file loaded straight into the table: its version is the time now."""
        now = utc_now()
        version = make_version(now, "", f"local/{name}")
        job = UploadJob(version, version, name, "", ref=FileRef("", name))
        job.extra["received_at"] = now
        return job

    def trial(self, filename: str, strict: bool) -> UploadJob:
        raise NotImplementedError("validating against DynamoDB: see the CLI's validate")

    def finish(self, job: UploadJob, report: UploadReport) -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": "UPLOAD"},
                "sk": {"S": str(job.upload_id)},
                "object_key": {"S": job.filename},
                "status": {"S": report.status},
                "report": {"S": json.dumps(report.to_json())},
                "received_at": {"S": job.extra.get("received_at", "")},
                "finished_at": {"S": utc_now()},
            },
        )


class S3Objects:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def open(self, job: UploadJob) -> Readable:
        """The object's version of this event; strict mode comes from its metadata."""
        upload: S3Upload = job.ref
        try:
            body, metadata = S3ObjectStore(self.s3, upload.bucket).open_with_metadata(
                upload.key, upload.version_id
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
                raise MissingObject(f"the stored file {upload.key} is missing") from None
            raise
        job.strict = metadata.get(STRICT_METADATA, "").lower() in ("1", "true", "yes")
        return body


class _NoUndo:
    def undo(self) -> bool:
        return False


class DynamoInventory:
    """Writes cannot be undone: the service then pre-checks strict files and names a
    partial load in the report."""

    can_undo = False

    def __init__(
        self, dynamodb: Any, s3: Any, table: str, state_table: str, limits: Limits, usage: Usage
    ) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.table = table
        self.state_table = state_table
        self.limits = limits
        self.usage = usage
        self.current: DynamoInventoryWriter | None = None

    def read(self, job: UploadJob, source: Readable, on_progress: Any) -> FileChunks:
        return FileChunks(source, self.limits, on_progress, CHUNK_ROWS)

    def writer(self, job: UploadJob) -> DynamoInventoryWriter:
        ref = job.ref.ref if isinstance(job.ref, S3Upload) else job.ref
        marks = StoreMarks(self.dynamodb, self.state_table, self.s3, self.limits)
        writer = DynamoInventoryWriter(
            self.dynamodb, self.table, job.filename, utc_now(), marks, ref
        )
        writer.usage = self.usage
        self.current = writer
        return writer

    @contextmanager
    def attempt(self) -> Iterator[_NoUndo]:
        yield _NoUndo()


class DynamoStoreFigures:
    def __init__(self, inventory: DynamoInventory, thresholds: AlertStore) -> None:
        self.inventory = inventory
        self.thresholds = thresholds

    def refresh(self, job: UploadJob) -> list[str]:
        writer = self.inventory.current
        if writer is None or not writer.stores_written:
            return []
        inv = self.inventory
        store_stats.refresh(
            inv.dynamodb,
            inv.table,
            inv.state_table,
            writer.stores_written,
            self.thresholds.thresholds(),
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
        for store, item, minimum in entries:
            self.store.set_threshold(store, item, minimum, now)

    def delete(self, store: str, item: str) -> bool:
        return self.store.delete_threshold(store, item)


class AwsUnitOfWork:
    """No transaction spans an upload on DynamoDB: each write stands on its own."""

    feed = None
    alerts = None
    outbox = None

    def __init__(
        self,
        dynamodb: Any,
        s3: Any,
        table: str,
        state_table: str,
        limits: Limits,
        usage: Usage,
    ) -> None:
        self.limits = limits
        self.uploads = DynamoUploads(dynamodb, state_table)
        self.objects = S3Objects(s3)
        self.inventory = DynamoInventory(dynamodb, s3, table, state_table, limits, usage)
        store = AlertStore(dynamodb, state_table)
        self.thresholds = DynamoThresholds(store)
        self.figures = DynamoStoreFigures(self.inventory, store)

    def __enter__(self) -> AwsUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class AwsLoader:
    def __init__(
        self,
        dynamodb: Any,
        s3: Any,
        table: str,
        state_table: str,
        limits: Limits | None = None,
    ) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.table = table
        self.state_table = state_table
        self.limits = limits or Limits()
        self.usage = Usage()

    @classmethod
    def from_settings(cls, settings: AwsSettings, limits: Limits | None = None) -> AwsLoader:
        return cls(
            settings.client("dynamodb"),
            settings.client("s3"),
            settings.table,
            settings.state_table,
            limits,
        )

    def unit_of_work(self) -> AwsUnitOfWork:
        return AwsUnitOfWork(
            self.dynamodb, self.s3, self.table, self.state_table, self.limits, self.usage
        )

    def stored_report(self, upload: S3Upload) -> UploadReport | None:
        return DynamoUploads(self.dynamodb, self.state_table).stored_report(upload.version)

    def load(self, upload: S3Upload) -> UploadReport:
        """Process one upload; a repeated or stale event changes nothing."""
        return upload_service.process_upload(self.unit_of_work(), upload)

    def backfill(self, name: str, source: Readable, strict: bool = False) -> UploadReport:
        """Load a local file straight into the table (``stockwatch --backend aws ingest``).

        Its version is the time now, so it ranks with S3 uploads by when it arrived.
        """
        uow = self.unit_of_work()
        job = uow.uploads.local(name)
        job.strict = strict
        return upload_service.run(uow, job, source)
