"""stockwatch on AWS: the ``Backend`` over the stack's bucket, tables, queues and topic.

One object serves LoadInventory (``load``: an S3 event or a hand-over), the API behind API
Gateway, the CLI's ``--backend aws`` and the contract suite. Where they differ, it is one
setting made in ``bootstrap``: ``time_limited`` (a Lambda behind API Gateway has 29 s, so
confirming a held snapshot is handed on to LoadInventory instead of applied in the request).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from stockwatch.aws import metering, saved_layouts
from stockwatch.aws.alerting import AlertStore, SnsNotifier
from stockwatch.aws.handover import Handover
from stockwatch.aws.inventory_table import Usage
from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.aws.order_book import DynamoOrderBook
from stockwatch.aws.read_model import DynamoReadModel, version_of
from stockwatch.aws.s3_receiving import LAMBDA_BODY_LIMIT, S3UploadTarget
from stockwatch.aws.s3_upload import S3Upload
from stockwatch.aws.settings import AwsSettings
from stockwatch.aws.subscriptions import SnsSubscriptions
from stockwatch.aws.threshold_change import DynamoThresholdChange
from stockwatch.aws.unit_of_work import AwsUnitOfWork, Tables, set_store_setting
from stockwatch.aws.upload_log import DynamoUploads
from stockwatch.aws.upload_metadata import encode
from stockwatch.aws.users import DynamoUsers
from stockwatch.core.cost import Prices
from stockwatch.core.digest import OrderNote
from stockwatch.core.layouts import SavedLayout
from stockwatch.core.limits import Limits
from stockwatch.core.model import AlertDecision
from stockwatch.core.ports import StoredObject
from stockwatch.core.reader import Readable
from stockwatch.core.report import UploadReport
from stockwatch.service import replenishment
from stockwatch.service import uploads as upload_service
from stockwatch.service.backend import Delivery, NotOnThisBackend, Progress
from stockwatch.service.commands import Confirm, Discard, SetSnapshotDefault, Upload, Validate

PRESIGN_SECONDS = 900  # long enough to send a big file on a slow line, short if it leaks
AWS_BACKUPS = (
    "on AWS the tables have point-in-time recovery and the bucket keeps versions: restore"
    " with `aws dynamodb restore-table-to-point-in-time` and S3 object versions"
)
Validator = Callable[[Validate, Readable, Progress], UploadReport]


class AwsBackend:
    """The tables and the bucket named by ``AwsSettings`` (``STOCKWATCH_*``, docs/aws.md)."""

    name = "aws"

    def __init__(
        self,
        settings: AwsSettings,
        limits: Limits | None = None,
        prices: Prices | None = None,
        *,
        time_limited: bool = False,
        validator: Validator | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits or Limits()
        self.prices = prices or Prices()
        self.time_limited = time_limited
        self.validator = validator
        self.usage = Usage()
        self.max_body_bytes = min(self.limits.max_file_bytes, LAMBDA_BODY_LIMIT)

    # Clients are made on first use: CheckStock, say, never needs S3 or SQS.

    @cached_property
    def dynamodb(self) -> Any:
        return metering.metered(self.settings.client("dynamodb"))

    @cached_property
    def s3(self) -> Any:
        return metering.metered(self.settings.client("s3"))

    @cached_property
    def handover(self) -> Handover | None:
        queue = self.settings.continue_queue_url
        return Handover(self.settings.client("sqs"), queue) if queue else None

    def alert_store(self) -> AlertStore:
        """Open alerts, the alert log, thresholds and mutes (CheckStock judges with them)."""
        return AlertStore(self.dynamodb, self.settings.state_table)

    def notifier(self, store: AlertStore, sent: dict[str, int] | None = None) -> SnsNotifier:
        """How raised alerts are told: one SNS message per store to the alerts topic."""
        topic = self.settings.topic_arn
        sns = self.settings.client("sns") if topic else None
        return SnsNotifier(store, sns, topic, sent, self.order_notes)

    def order_notes(self, decisions: list[AlertDecision]) -> dict[tuple[str, str], OrderNote]:
        """What to order of the items a digest tells about (``service.replenishment``)."""
        return replenishment.order_notes(self.reads(), self.order_book(), decisions)

    def unit_of_work(self) -> AwsUnitOfWork:
        tables = Tables(
            self.dynamodb,
            self.s3,
            self.settings.table,
            self.settings.state_table,
            self.settings.bucket,
        )
        return AwsUnitOfWork(
            tables, self.limits, self.usage, self.prices, self.handover, self.threshold_change
        )

    # -- reads and the writes beside them ---------------------------------------------------

    def reads(self) -> DynamoReadModel:
        return DynamoReadModel(self.settings, self.dynamodb, self.s3)

    def alert_notes(self) -> DynamoReadModel:
        return self.reads()

    def threshold_change(self) -> DynamoThresholdChange:
        return DynamoThresholdChange(self.settings, self.dynamodb, self.alert_store())

    def order_book(self) -> DynamoOrderBook:
        """Ordering settings and orders: items of the state table (``aws.order_book``)."""
        return DynamoOrderBook(self.dynamodb, self.settings.state_table)

    def users(self) -> DynamoUsers:
        """Items of the state table (``aws.users``): the API signs people in from there."""
        return DynamoUsers(self.dynamodb, self.settings.state_table)

    def subscriptions(self) -> SnsSubscriptions:
        """SNS subscriptions of the alerts topic, filtered on store and kind."""
        if not self.settings.topic_arn:
            raise NotOnThisBackend(
                "set STOCKWATCH_TOPIC_ARN to the alerts topic (the stack's function"
                " environment has it) to manage subscriptions on AWS"
            )
        return SnsSubscriptions(
            self.settings.client("sns"),
            self.settings.topic_arn,
            self.dynamodb,
            self.settings.state_table,
            self.settings.subscription_failures_arn,
        )

    # -- uploads --------------------------------------------------------------------------------

    def upload_target(self, command: Upload) -> S3UploadTarget:
        """The bucket, with the command as the object's metadata: its S3 event loads it."""
        return S3UploadTarget(S3ObjectStore(self.s3, self.settings.bucket), encode(command))

    def submit(self, command: Upload, stored: StoredObject) -> str:
        return stored.key  # the object's S3 event queues it; its key is its id until loaded

    def presign_upload(self, command: Upload) -> dict[str, Any]:
        """A form to POST the file straight to S3: no 6 MB API limit, no Lambda time.

        The policy S3 checks is signed here: the key, the command as the object's metadata
        (the uploader and its stores among it), and the size limit. The client can send the
        file, nothing else, so the loader enforces the scope of whoever asked for the form.
        """
        key = self.upload_target(command).new_key(command.filename)
        fields = {f"x-amz-meta-{name}": value for name, value in encode(command).items()}
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, self.limits.max_file_bytes])
        form = self.s3.generate_presigned_post(
            Bucket=self.settings.bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=PRESIGN_SECONDS,
        )
        return {
            "id": key,
            "url": form["url"],
            "fields": form["fields"],
            "expires_in": PRESIGN_SECONDS,
            "max_bytes": self.limits.max_file_bytes,
        }

    def load(
        self,
        upload: S3Upload,
        should_pause: Callable[[], bool] | None = None,
        memory_mb: int = 0,
    ) -> UploadReport:
        """Process one upload (LoadInventory); a repeated or stale event changes nothing.

        With ``should_pause`` (the Lambda handler's clock) a long upload stops at a chunk
        boundary and hands the rest on through the ``Handover`` queue; its report then
        says ``processing`` until the last run finishes it.
        """
        uow = self.unit_of_work()
        if should_pause is not None and self.handover is None:
            should_pause = None  # nowhere to hand on to: run to the end
        with metering.metering(memory_mb):
            if upload.confirmed:
                try:
                    return upload_service.confirm_upload(uow, upload, should_pause=should_pause)
                except upload_service.NotHeld:
                    pass  # a confirmed load carrying on, or one applied already
            job = uow.uploads.begin(upload)
            if job.done is not None:
                return job.done
            job.should_pause = should_pause
            job.confirmed = upload.confirmed
            return upload_service.run(uow, job)

    def ingest(
        self, command: Upload, source: Readable, on_progress: Progress = None
    ) -> UploadReport:
        """Straight into the table (a backfill): no S3 event, the same service."""
        uow = self.unit_of_work()
        job = uow.uploads.local(command)
        with metering.metering():
            return upload_service.run(uow, job, source)

    def validate(
        self, command: Validate, source: Readable, on_progress: Progress = None
    ) -> UploadReport:
        """Checked on a throwaway local database (``bootstrap`` gives one): the rows and
        their errors, as they would load; against an empty table, so rows_unchanged and
        alerts say nothing of AWS."""
        if self.validator is None:
            raise NotOnThisBackend("validating needs the embedded backend installed beside")
        return self.validator(command, source, on_progress)

    def held(self, upload_id: str) -> S3Upload:
        """The upload behind a held snapshot's record (to confirm it through LoadInventory)."""
        item = DynamoUploads(self.dynamodb, self.settings.state_table).record(upload_id)
        if item is None:
            raise upload_service.NoSuchUpload(f"there is no upload {upload_id}")
        status = item.get("status", {}).get("S", "")
        if status != "needs_confirmation":
            raise upload_service.NotHeld(
                f"upload {upload_id} is not waiting for confirmation (it is {status})"
            )
        return S3Upload(**json.loads(item["source"]["S"]))

    def confirm(self, command: Confirm) -> UploadReport:
        """Where time is limited (the API), handed on to LoadInventory: the report says
        ``processing``; elsewhere (the CLI) loaded here and now."""
        upload_id = version_of(command.upload_id)
        held = self.held(upload_id)
        if not self.time_limited:
            return self.load(replace(held, confirmed=True))
        if self.handover is None:
            raise upload_service.NotHeld(
                "no hand-over queue is set (STOCKWATCH_CONTINUE_QUEUE_URL)"
            )
        self.handover.confirm(held)
        return UploadReport(held.key, command.upload_id, "processing")

    def discard(self, command: Discard) -> UploadReport:
        held = self.held(version_of(command.upload_id))
        return upload_service.discard_upload(self.unit_of_work(), held, command.by)

    def saved_layouts(self) -> dict[str, SavedLayout]:
        return saved_layouts.saved(self.dynamodb, self.settings.state_table)

    def save_layout(self, layout: SavedLayout, by: str) -> None:
        saved_layouts.save(self.dynamodb, self.settings.state_table, layout, by)

    def delete_layout(self, name: str) -> bool:
        return saved_layouts.delete(self.dynamodb, self.settings.state_table, name)

    def set_snapshot_default(self, command: SetSnapshotDefault) -> None:
        set_store_setting(self.dynamodb, self.settings.state_table, command.store, command.snapshot)

    # -- keeping it running -----------------------------------------------------------------

    def process_pending(self) -> list[UploadReport]:
        raise NotOnThisBackend(
            "on AWS, LoadInventory processes each upload as it arrives, and failed ones wait"
            " in its on-failure queue; there is nothing pending here to process"
        )

    def deliver(self, due_only: bool = True) -> Delivery:
        return Delivery()  # CheckStock publishes to SNS itself: nothing waits here

    def replay(self, queue_url: str | None, dry_run: bool, limit: int) -> list[Any]:
        """Load what LoadInventory gave up on, from its on-failure queue, here."""
        from stockwatch.aws.replay import replay

        queue = queue_url or self.settings.failures_queue_url
        if not queue:
            raise NotOnThisBackend(
                "name the failure queue: --queue URL, or STOCKWATCH_LOAD_FAILURES_QUEUE_URL"
                " (the stack's LoadFailuresQueueUrl output)"
            )
        suffix = os.environ.get("STOCKWATCH_UPLOAD_SUFFIX", ".csv")
        return replay(self.settings.client("sqs"), queue, self, suffix, dry_run, limit)

    def backup(self, dest: Path) -> Any:
        raise NotOnThisBackend(AWS_BACKUPS)

    def restore(self, source: Path, settings: bool = False) -> Any:
        raise NotOnThisBackend(AWS_BACKUPS)

    def check(self) -> Any:
        raise NotOnThisBackend(AWS_BACKUPS)

    def compact(self, vacuum: bool) -> Any:
        raise NotOnThisBackend(
            "on AWS, S3 lifecycle rules expire stored files and items keep their last eight"
            " changes; there is nothing to compact"
        )

    def close(self) -> None:
        pass
