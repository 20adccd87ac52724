"""Each upload's record in the state table (partition ``UPLOAD``): its report, or its
progress while it runs, and the per-key watermark that makes an older or repeated S3
event of the same key a no-op."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, replace
from typing import Any, Protocol

from botocore.exceptions import ClientError

from stockwatch.aws import metering
from stockwatch.aws.handover import Handover
from stockwatch.aws.inventory_table import DynamoInventoryWriter
from stockwatch.aws.s3_upload import S3Upload, make_version
from stockwatch.aws.store_marks import FileRef
from stockwatch.core.clock import utc_now
from stockwatch.core.cost import Cost, Prices
from stockwatch.core.loading import LoadProgress
from stockwatch.core.ordering import compose_version
from stockwatch.core.report import FINISHED, UploadReport
from stockwatch.service.commands import Upload
from stockwatch.service.ports import UploadJob


class Written(Protocol):
    """The inventory's writer of this run, whose stores a pause keeps."""

    @property
    def current(self) -> DynamoInventoryWriter | None: ...


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
        self.inventory: Written | None = None  # set by the unit of work

    def record(self, version: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": "UPLOAD"}, "sk": {"S": version}},
            ConsistentRead=True,
        ).get("Item")
        return item

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

    def settled(self, job: UploadJob) -> UploadReport | None:
        """None: every run of an upload carries the same version, so a second one writes no
        row that the first did not; see docs/aws.md on repeated events."""
        return None

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
