"""Lambda handlers, in Powertools style: JSON logs, EMF metrics, typed events.

Entry points only: what they run is the service layer, wired by ``bootstrap``.

stockwatch.handlers.load_inventory   S3 ObjectCreated -> DynamoDB
stockwatch.handlers.check_stock      DynamoDB stream -> alerts -> SNS
stockwatch.handlers.api              API Gateway (HTTP API, payload 2.0) -> the web app
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from stockwatch.aws.alerting import (
    Pending,
    StreamAlerts,
    change_from_images,
    publish_digests,
)
from stockwatch.aws.loader import S3Upload
from stockwatch.bootstrap import lambda_alerts, lambda_loader, lambda_web_app
from stockwatch.core.clock import utc_now
from stockwatch.service.alerts import judge_changes

_api: Any = None

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "stockwatch")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "stockwatch")
logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def load_inventory(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Every record of the event, keys URL-decoded; repeated or stale events change nothing."""
    loader = lambda_loader()
    reports = []
    for record in S3Event(event).records:
        obj = record.s3.get_object
        upload = S3Upload(
            bucket=record.s3.bucket.name,
            key=unquote_plus(obj.key),  # keys arrive URL-encoded ("+" for a space)
            # Some S3-compatible servers send no sequencer: the event time orders alone.
            sequencer=obj.raw_event.get("sequencer", ""),
            event_time=record.event_time,
            version_id=obj.raw_event.get("versionId"),
        )
        report = loader.load(upload)
        logger.info("upload processed", extra={"key": upload.key, "report": report.to_json()})
        metrics.add_metric("RowsLoaded", MetricUnit.Count, report.rows_loaded)
        metrics.add_metric("RowsRejected", MetricUnit.Count, report.rows_rejected)
        reports.append(report.to_json())
    for name, count in loader.usage.requests.items():
        metrics.add_metric(f"DynamoDB{name}", MetricUnit.Count, count)
    return {"reports": reports}


@metrics.log_metrics
@logger.inject_lambda_context
def check_stock(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Alerts on transitions; one SNS digest per store; failed records reported, not replayed."""
    alerts, settings = lambda_alerts()
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    pending_by_record: dict[str, list[Pending]] = {}

    def judge(record: DynamoDBRecord) -> None:
        stream = record.dynamodb
        if stream is None:
            return
        if record.raw_event.get("eventName") == "REMOVE":
            old = stream.old_image or {}
            if "Store" in old and "Item" in old:
                resolved = alerts.forget(str(old["Store"]), str(old["Item"]), utc_now())
                if resolved:
                    logger.info(
                        "item deleted; its open alerts resolved",
                        extra={"store": old["Store"], "item": old["Item"], "alerts": resolved},
                    )
            return
        upload = str((stream.new_image or {}).get("Version", ""))
        change = change_from_images(stream.old_image, stream.new_image, upload)
        if change is None:
            return
        event_id = record.event_id or ""
        judge_changes(StreamAlerts(alerts, event_id, upload), alerts.thresholds(), [change], upload)
        pending = alerts.unnotified(event_id)
        if pending:
            pending_by_record[str(stream.sequence_number)] = pending

    with processor(records=event.get("Records", []), handler=judge):
        processor.process()
    response: dict[str, Any] = dict(processor.response())
    pending = [p for items in pending_by_record.values() for p in items]
    if pending and settings.topic_arn:
        failed = publish_digests(settings.client("sns"), settings.topic_arn, pending)
        for store, error in failed.items():
            logger.warning(
                "SNS publish failed; the records will be retried",
                extra={"store": store, "error": error},
            )
            metrics.add_metric("NotificationFailures", MetricUnit.Count, 1)
        sent = [p for p in pending if p.decision.store not in failed]
        alerts.mark_notified(sent)
        metrics.add_metric("AlertsNotified", MetricUnit.Count, len(sent))
        failures = response.setdefault("batchItemFailures", [])
        for sequence, items in pending_by_record.items():
            if any(p.decision.store in failed for p in items):
                failures.append({"itemIdentifier": sequence})
    return response


@logger.inject_lambda_context
def api(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The dashboard and /api, the same app as ``stockwatch serve``, through Mangum.

    Built on the first request and kept for the life of the execution environment.
    """
    global _api
    if _api is None:
        from mangum import Mangum

        _api = Mangum(lambda_web_app(), lifespan="off")
    response: dict[str, Any] = _api(event, context)
    return response
