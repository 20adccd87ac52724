"""CheckStock: the inventory table's stream into alerts, and one SNS digest per store.

Failed records are reported to the event source mapping (ReportBatchItemFailures), which
retries them, bisecting the batch, and sends what still fails to the CheckStock queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stockwatch import bootstrap
from stockwatch.aws.alerting import Pending, StreamAlerts, change_from_images
from stockwatch.aws.store_marks import forget_record
from stockwatch.core.clock import utc_now
from stockwatch.core.ordering import upload_of
from stockwatch.handlers.observability import logger, metrics
from stockwatch.service.alerts import judge_changes, tell

# Made once per execution environment, as Powertools recommends; reset on each call.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@metrics.log_metrics
@logger.inject_lambda_context
def check_stock(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Alerts on transitions; one SNS digest per store; failed records reported, not replayed."""
    backend = bootstrap.aws()
    alerts = backend.alert_store()
    pending_by_record: dict[str, list[Pending]] = {}

    def judge(record: DynamoDBRecord) -> None:
        stream = record.dynamodb
        if stream is None:
            return
        new = stream.new_image or {}
        if record.raw_event.get("eventName") == "REMOVE":
            old = stream.old_image or {}
            if "Store" in old:
                forget_record(alerts.dynamodb, alerts.table, str(old["Store"]))
            if "Store" in old and "Item" in old:
                resolved = alerts.forget(str(old["Store"]), str(old["Item"]), utc_now())
                if resolved:
                    logger.info(
                        "item deleted; its open alerts resolved",
                        extra={"store": old["Store"], "item": old["Item"], "alerts": resolved},
                    )
            return
        if "Store" in new and "Version" not in new:
            # Another program wrote the row: the store's record no longer says what is there.
            forget_record(alerts.dynamodb, alerts.table, str(new["Store"]))
        upload = upload_of(str(new.get("Version", "")))
        thresholds = alerts.thresholds()
        change = change_from_images(
            stream.old_image, stream.new_image, upload, thresholds.has_cover
        )
        if change is None:
            return
        event_id = record.event_id or ""
        judge_changes(StreamAlerts(alerts, event_id, upload), thresholds, [change], upload)
        pending = alerts.unnotified(event_id)
        if pending:
            pending_by_record[str(stream.sequence_number)] = pending

    with processor(records=event.get("Records", []), handler=judge):
        processor.process()
    response: dict[str, Any] = dict(processor.response())
    pending = [p for items in pending_by_record.values() for p in items]
    sent_by_upload: dict[str, int] = {}
    notifier = backend.notifier(alerts, sent_by_upload)
    told = tell(notifier, pending, alerts.mutes(utc_now()))
    for store, error in told.failed.items():
        logger.warning(
            "SNS publish failed; the records will be retried",
            extra={"store": store, "error": error},
        )
        metrics.add_metric("NotificationFailures", MetricUnit.Count, 1)
    if told.sent or told.failed:
        alerts.count_publishes(sent_by_upload)
        metrics.add_metric("AlertsNotified", MetricUnit.Count, len(told.sent))
    quiet = set(told.quiet)
    failures = response.setdefault("batchItemFailures", [])
    for sequence, items in pending_by_record.items():
        if any(p.decision.store in told.failed and p not in quiet for p in items):
            failures.append({"itemIdentifier": sequence})
    return response
