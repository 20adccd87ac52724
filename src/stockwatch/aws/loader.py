"""Loading one S3 object: the same reader and rules as on one machine, on DynamoDB.

Ordering: uploads of one key are ordered by the S3 event's ``sequencer`` (by event time
where an S3-compatible server omits it). A per-key watermark in the state table makes an
older or repeated event a no-op; rows carry ``<event time>#<sequencer>`` so uploads of
different keys touching one item are ordered too.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws import store_stats
from stockwatch.aws.alerting import AlertStore
from stockwatch.aws.inventory_table import DynamoInventoryWriter, Usage
from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.aws.settings import AwsSettings
from stockwatch.aws.store_marks import FileRef, StoreMarks
from stockwatch.core.limits import Limits
from stockwatch.core.loading import ReadSummary, finish_report, load_chunks, unique_chunks
from stockwatch.core.reader import FileRejected, InventoryFile, Readable
from stockwatch.core.report import UploadReport

FINISHED = ("loaded", "loaded_with_errors", "rejected")
# S3 user metadata (x-amz-meta-stockwatch-strict: true) asking for strict mode.
STRICT_METADATA = "stockwatch-strict"
# Strict mode reads the file once before loading; a (store, item) repeated within this
# many rows is caught then, one repeated farther apart only in the loading pass.
STRICT_CHECK_ROWS = 50_000


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


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AwsLoader:
    def __init__(
        self,
        dynamodb: Any,
        s3: Any,
        table: str,
        state_table: str,
        limits: Limits | None = None,
        bucket: str = "",
    ) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.table = table
        self.state_table = state_table
        self.limits = limits or Limits()
        self.usage = Usage()
        self.bucket = bucket  # where rows' UploadKeys live (for backfills)

    @classmethod
    def from_settings(cls, settings: AwsSettings, limits: Limits | None = None) -> AwsLoader:
        return cls(
            settings.client("dynamodb"),
            settings.client("s3"),
            settings.table,
            settings.state_table,
            limits,
            settings.bucket,
        )

    def stored_report(self, upload: S3Upload) -> UploadReport | None:
        item = self.dynamodb.get_item(
            TableName=self.state_table,
            Key={"pk": {"S": "UPLOAD"}, "sk": {"S": upload.version}},
            ConsistentRead=True,
        ).get("Item")
        if item is None or item["status"]["S"] not in FINISHED:
            return None
        return UploadReport.from_json(json.loads(item["report"]["S"]))

    def _claim(self, upload: S3Upload) -> bool:
        """Move the key's watermark to this upload; False when a newer one got there first."""
        try:
            self.dynamodb.put_item(
                TableName=self.state_table,
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

    def load(self, upload: S3Upload) -> UploadReport:
        """Process one upload; a repeated or stale event changes nothing."""
        done = self.stored_report(upload)
        if done is not None:
            return done
        started = time.perf_counter()
        report = UploadReport(upload.key, upload.version)
        if not self._claim(upload):
            report.message = "a newer upload of this key was processed already; nothing changed"
        else:
            objects = S3ObjectStore(self.s3, upload.bucket)
            body, metadata = objects.open_with_metadata(upload.key, upload.version_id)
            strict = metadata.get(STRICT_METADATA, "").lower() in ("1", "true", "yes")
            if strict:
                report = self._check(upload.key, body, upload.version)
                body = objects.open(upload.key, upload.version_id)
            if report.message is None:
                report = self._load_stream(upload.key, body, upload.version, upload.ref)
        return self._finish(report, upload.key, started, upload.event_time)

    def _check(self, name: str, body: Readable, version: str) -> UploadReport:
        """Strict mode's first pass: read everything, write nothing."""
        report = UploadReport(name, version)
        inventory = InventoryFile(body, self.limits)
        try:
            for _ in unique_chunks(inventory, STRICT_CHECK_ROWS):
                pass
        except FileRejected as exc:
            return UploadReport(name, version, message=exc.message)
        finish_report(report, ReadSummary.of(inventory), [], self.limits.max_errors_reported)
        if report.rows_rejected:
            report.reject_for_strict()
        return report

    def backfill(self, name: str, source: Readable) -> UploadReport:
        """Load a local file straight into the table (``stockwatch --backend aws ingest``).

        Its version is the time now, so it ranks with S3 uploads by when it arrived.
        """
        started = time.perf_counter()
        now = utc_now()
        version = make_version(now, "", f"local/{name}")
        report = self._load_stream(name, source, version, FileRef("", name))
        return self._finish(report, name, started, now)

    def _load_stream(self, name: str, body: Readable, version: str, ref: FileRef) -> UploadReport:
        report = UploadReport(name, version)
        marks = StoreMarks(self.dynamodb, self.state_table, self.s3, self.limits)
        writer = DynamoInventoryWriter(self.dynamodb, self.table, name, utc_now(), marks, ref)
        writer.usage = self.usage
        inventory = InventoryFile(body, self.limits)
        try:
            repeats = load_chunks(unique_chunks(inventory, 1000), writer, version, report)
            finish_report(
                report, ReadSummary.of(inventory), repeats, self.limits.max_errors_reported
            )
        except FileRejected as exc:
            # Rows of earlier chunks may be written already; the message says so.
            message = exc.message
            if report.rows_loaded:
                message += f" ({report.rows_loaded:,} rows before that point were loaded)"
            report = UploadReport(name, version, message=message)
        if writer.stores_written:
            thresholds = AlertStore(self.dynamodb, self.state_table).thresholds()
            store_stats.refresh(
                self.dynamodb,
                self.table,
                self.state_table,
                writer.stores_written,
                thresholds,
                version,
            )
        return report

    def _finish(
        self, report: UploadReport, name: str, started: float, received_at: str
    ) -> UploadReport:
        report.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        report.settle_status()
        self.dynamodb.put_item(
            TableName=self.state_table,
            Item={
                "pk": {"S": "UPLOAD"},
                "sk": {"S": str(report.upload_id)},
                "object_key": {"S": name},
                "status": {"S": report.status},
                "report": {"S": json.dumps(report.to_json())},
                "received_at": {"S": received_at},
                "finished_at": {"S": utc_now()},
            },
        )
        return report
