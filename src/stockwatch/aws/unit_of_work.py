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

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws import metering, store_stats
from stockwatch.aws.alerting import AlertStore
from stockwatch.aws.handover import Handover
from stockwatch.aws.inventory_table import DynamoInventoryWriter, Usage
from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.aws.s3_upload import S3Upload, make_version
from stockwatch.aws.store_marks import FileRef, StoreMarks
from stockwatch.aws.upload_metadata import BadMetadata, decode
from stockwatch.core.clock import utc_now
from stockwatch.core.cost import Cost, Prices
from stockwatch.core.limits import Limits
from stockwatch.core.loading import LoadProgress
from stockwatch.core.ordering import compose_version
from stockwatch.core.reader import Readable
from stockwatch.core.report import FINISHED, UploadReport
from stockwatch.core.rows import ThresholdRow
from stockwatch.core.thresholds import Thresholds
from stockwatch.service.commands import Upload
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
    pages = dynamodb.get_paginator("query").paginate(
        TableName=state_table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": SETTINGS}},
    )
    for page in pages:
        for item in page["Items"]:
            found[item["sk"]["S"]] = bool(item.get("snapshot", {}).get("BOOL", False))
    return found


class DynamoUploads:
    """Each upload's record in the state table: its report, or its progress while it runs.

    Written with UpdateItem, never a whole-item put, so CheckStock's count of the upload's
    SNS publishes (added to the same record, maybe meanwhile) is kept.
    """

    def __init__(
        self,
        dynamodb: Any,
        state_table: str,
        prices: Prices | None = None,
        handover: Handover | None = None,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = state_table
        self.prices = prices or Prices()
        self.handover = handover
        self.inventory: DynamoInventory | None = None  # set by the unit of work

    def record(self, version: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": "UPLOAD"}, "sk": {"S": version}},
            ConsistentRead=True,
        ).get("Item")
        return item

    def stored_report(self, version: str) -> UploadReport | None:
        item = self.record(version)
        return None if item is None else finished_report(item, self.prices)

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
        job = UploadJob(version, version, Upload(upload.key), upload.key, ref=upload)
        job.received_at = upload.event_time
        item = self.record(version)
        if item is not None:
            job.done = finished_report(item, self.prices)
            if job.done is None and "progress" in item:
                job.resume = LoadProgress.from_json(json.loads(item["progress"]["S"]))
        if job.done is None and not self._claim(upload):
            job.refusal = "a newer upload of this key was processed already; nothing changed"
        return job

    def local(self, command: Upload) -> UploadJob:
        """A local file loaded straight into the table: its version is the time now (or
        its as-of), so it ranks with S3 uploads by when it arrived (or was counted)."""
        now = utc_now()
        version = make_version(now, "", f"local/{command.filename}")
        version = compose_version(command.as_of, version)
        ref = FileRef("", command.filename)
        return UploadJob(version, version, command, "", ref=ref, received_at=now)

    def _update(
        self, job: UploadJob, values: dict[str, dict[str, Any]], condition: str | None = None
    ) -> None:
        names = {f"#{n}": n for n in values}
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": {"S": "UPLOAD"}, "sk": {"S": str(job.upload_id)}},
            "UpdateExpression": "SET " + ", ".join(f"#{n} = :{n}" for n in values),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {f":{n}": v for n, v in values.items()},
        }
        if condition is not None:
            request["ConditionExpression"] = condition
        self.dynamodb.update_item(**request)

    def _values(self, job: UploadJob, report: UploadReport) -> dict[str, dict[str, Any]]:
        """The record's attributes; the report's cost counts the write that stores them."""
        if report.cost is not None:
            cost = Cost.from_json(report.cost)
            cost.dynamodb_requests["UpdateItem"] += 1
            size = len(json.dumps(report.to_json())) + len(job.filename) + 200
            cost.write_units += -(-size // 1024)  # a write unit per KB of the item
            report.cost = cost.priced(self.prices).to_json()
        return {
            "object_key": {"S": job.filename},
            "status": {"S": report.status},
            "report": {"S": json.dumps(report.to_json())},
            "received_at": {"S": job.received_at},
            # What confirming a held snapshot hands on to LoadInventory.
            "source": {"S": json.dumps(asdict(job.ref) if isinstance(job.ref, S3Upload) else {})},
        }

    def finish(self, job: UploadJob, report: UploadReport) -> None:
        values = self._values(job, report)
        values["finished_at"] = {"S": utc_now()}
        self._update(job, values)

    def pause(self, job: UploadJob, progress: LoadProgress, report: UploadReport) -> bool:
        """Keep the progress, conditionally, then ask for the next run (``Handover``).

        The condition (no record yet, or one still processing at an earlier chunk) makes a
        repeated hand-over harmless: the run that got further wins, the other stops.
        """
        if self.handover is None:
            raise RuntimeError("an upload paused with nowhere to hand the rest on to")
        writer = self.inventory.current if self.inventory is not None else None
        if writer is not None:
            progress.extra["stores"] = sorted(writer.stores_written)
        progress.extra["cost"] = report.cost
        values = self._values(job, report)
        values["progress"] = {"S": json.dumps(progress.to_json())}
        values["chunks_done"] = {"N": str(progress.chunks_done)}
        try:
            condition = "#status = :status AND #chunks_done < :chunks_done"
            self._update(job, values, f"attribute_not_exists(#status) OR ({condition})")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        assert isinstance(job.ref, S3Upload), "only S3 uploads are handed over"
        self.handover.send(job.ref, progress.chunks_done)
        return True

    def cost(self, job: UploadJob, elapsed_ms: float) -> Cost:
        """What the earlier runs spent, plus what this one has metered so far."""
        total = Cost()
        if job.resume is not None and job.resume.extra.get("cost"):
            total.add(Cost.from_json(job.resume.extra["cost"]))
        meter = metering.current()
        if meter is not None:
            now = replace(meter.cost, time_ms=elapsed_ms)
            now.dynamodb_requests = Counter(meter.cost.dynamodb_requests)
            now.s3_requests = Counter(meter.cost.s3_requests)
            if now.lambda_memory_mb:
                now.lambda_invocations, now.lambda_ms = 1, meter.elapsed_ms()
            total.add(now)
        else:
            total.time_ms += elapsed_ms
        return total.priced(self.prices)


def finished_report(item: dict[str, Any], prices: Prices) -> UploadReport | None:
    """The report of a finished upload's record; None while it waits or runs."""
    if item.get("status", {}).get("S") not in FINISHED or "report" not in item:
        return None
    report = UploadReport.from_json(json.loads(item["report"]["S"]))
    report.cost = with_publishes(report.cost, item, prices)
    return report


def with_publishes(
    cost: dict[str, Any] | None, item: dict[str, Any], prices: Prices
) -> dict[str, Any] | None:
    """The cost with CheckStock's SNS publishes for the upload added, and priced again."""
    publishes = int(item.get("sns_publishes", {}).get("N", "0"))
    if not publishes or cost is None:
        return cost
    total = Cost.from_json(cost)
    total.sns_publishes = publishes
    return total.priced(prices).to_json()


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
        return FileChunks(source, self.limits, on_progress, CHUNK_ROWS, job.scope)

    def writer(self, job: UploadJob) -> DynamoInventoryWriter:
        ref = job.ref.ref if isinstance(job.ref, S3Upload) else job.ref
        assert isinstance(ref, FileRef)
        marks = StoreMarks(self.dynamodb, self.state_table, self.s3, self.limits)
        writer = DynamoInventoryWriter(
            self.dynamodb, self.table, job.filename, utc_now(), marks, ref
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
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="#s = :s",
            ProjectionExpression="#i, #c",
            ExpressionAttributeNames={"#s": "Store", "#i": "Item", "#c": "Count"},
            ExpressionAttributeValues={":s": {"S": store}},
            ConsistentRead=True,
        )
        for page in pages:
            for row in page["Items"]:
                if "Count" in row:
                    yield row["Item"]["S"], int(row["Count"]["N"])

    def snapshot_defaults(self) -> dict[str, bool]:
        return store_settings(self.dynamodb, self.state_table)


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
        for store, item, minimum, cover_days in entries:
            self.store.set_threshold(store, item, minimum, now, cover_days)

    def delete(self, store: str, item: str) -> bool:
        return self.store.delete_threshold(store, item)


class AwsUnitOfWork:
    """No transaction spans an upload on DynamoDB: each write stands on its own."""

    def __init__(
        self,
        dynamodb: Any,
        s3: Any,
        table: str,
        state_table: str,
        limits: Limits,
        usage: Usage,
        prices: Prices | None = None,
        handover: Handover | None = None,
    ) -> None:
        self.limits = limits
        self.uploads = DynamoUploads(dynamodb, state_table, prices, handover)
        self.objects = S3Objects(s3)
        self.inventory = DynamoInventory(dynamodb, s3, table, state_table, limits, usage)
        self.uploads.inventory = self.inventory
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
