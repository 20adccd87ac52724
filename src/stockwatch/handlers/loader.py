"""LoadInventory: each uploaded file into the inventory table.

Each record stands alone: one that fails is logged with its key and the others still load;
the invocation then fails, so Lambda retries the event (records already loaded are no-ops)
and, once its retries are spent, sends it to the on-failure queue, whose alarm reaches
the operators; ``stockwatch --backend aws replay`` loads it from there. A long upload stops
before the invocation's time runs out and carries on in a new one (``Handover``).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from stockwatch import bootstrap
from stockwatch.aws.events import wanted
from stockwatch.handlers.observability import logger, metrics

# Stop this long before the invocation's end: the slowest chunk plus the hand-over.
DEFAULT_MARGIN_MS = 120_000


class UploadsFailed(Exception):
    """Some records of the event could not be loaded; their keys are in the message."""


def _should_pause(context: Any) -> Any:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    margin = int(os.environ.get("STOCKWATCH_PAUSE_MARGIN_MS", DEFAULT_MARGIN_MS))
    return lambda: remaining() < margin


@metrics.log_metrics
@logger.inject_lambda_context
def load_inventory(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Every upload the event asks for; repeated or stale events change nothing."""
    suffix = os.environ.get("STOCKWATCH_UPLOAD_SUFFIX", ".csv")
    asked = wanted(event, suffix)
    for skipped in asked.skipped:
        logger.info("record skipped", extra={"record": skipped.what, "reason": skipped.why})
        metrics.add_metric("RecordsSkipped", MetricUnit.Count, 1)
    loader = bootstrap.aws()
    memory = int(getattr(context, "memory_limit_in_mb", 0) or 0)
    reports: list[dict[str, Any]] = []
    failed: list[str] = []
    for upload in asked.uploads:
        try:
            report = loader.load(upload, _should_pause(context), memory)
        except Exception as exc:
            logger.exception(
                "upload failed; Lambda will retry the event, then send it to the failure queue",
                extra={"key": upload.key, "version": upload.version, "error": str(exc)},
            )
            metrics.add_metric("UploadsFailed", MetricUnit.Count, 1)
            failed.append(upload.key)
            continue
        data = report.to_json()
        if report.status == "processing":
            logger.info("upload continues in a new invocation", extra={"report": data})
        else:
            logger.info("upload processed", extra={"key": upload.key, "report": data})
            metrics.add_metric("RowsLoaded", MetricUnit.Count, report.rows_loaded)
            metrics.add_metric("RowsRejected", MetricUnit.Count, report.rows_rejected)
        reports.append(data)
    for name, count in loader.usage.requests.items():
        metrics.add_metric(f"DynamoDB{name}", MetricUnit.Count, count)
    if failed:
        raise UploadsFailed(
            f"{len(failed)} of {len(asked.uploads)} uploads failed: {', '.join(failed[:10])}"
        )
    return {"reports": reports, "skipped": [s.what for s in asked.skipped]}
