"""Replaying what LoadInventory gave up on, from its on-failure queue.

Lambda puts an event there once its retries are spent (wrapped in its envelope, with the
error), and the hand-over queue moves a hand-over there after failing three times. Each
message is loaded here, by the same service as on Lambda, and deleted only when every
upload in it has its report. An upload that has finished meanwhile is a no-op, so a
replay is always safe to run again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from stockwatch.aws.events import Skipped, from_message
from stockwatch.aws.s3_upload import S3Upload
from stockwatch.core.report import UploadReport


class Loader(Protocol):
    """What loads an upload here (``AwsBackend.load``)."""

    def load(self, upload: S3Upload) -> UploadReport: ...


# Long enough for a big upload to load here before the message is visible again.
VISIBILITY_S = 3600


@dataclass
class Replayed:
    message_id: str
    reports: list[UploadReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, error)
    deleted: bool = False


def messages(sqs: Any, queue_url: str, limit: int) -> Iterator[dict[str, Any]]:
    seen = 0
    while seen < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - seen),
            WaitTimeSeconds=1,
            VisibilityTimeout=VISIBILITY_S,
        ).get("Messages", [])
        if not batch:
            return
        for message in batch:
            seen += 1
            yield message


def replay(
    sqs: Any,
    queue_url: str,
    loader: Loader,
    suffix: str = ".csv",
    dry_run: bool = False,
    limit: int = 1000,
) -> list[Replayed]:
    done: list[Replayed] = []
    listed: list[str] = []
    for message in messages(sqs, queue_url, limit):
        asked = from_message(message["Body"], suffix)
        result = Replayed(message["MessageId"], skipped=asked.skipped)
        done.append(result)
        if dry_run:
            result.reports = [UploadReport(u.key, u.version, "queued") for u in asked.uploads]
            listed.append(message["ReceiptHandle"])
            continue
        for upload in asked.uploads:
            try:
                result.reports.append(loader.load(upload))
            except Exception as exc:  # reported; the message stays for the next replay
                result.failed.append((upload.key, f"{type(exc).__name__}: {exc}"))
        if result.failed:
            listed.append(message["ReceiptHandle"])
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            result.deleted = True
    # Listed or still failing: back on the queue at once (once all are read), so the next
    # replay, after the cause is fixed, finds them.
    for handle in listed:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return done
