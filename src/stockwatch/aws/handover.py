"""The hand-over queue: where an upload that ran out of time asks for its next run.

LoadInventory reads the queue; a message is durable once sent and a repeated one is
harmless (the upload's record says how far it got). Confirming a held snapshot from the
API goes the same way: the API has 29 s and applying a snapshot may take more.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from stockwatch.aws.s3_upload import S3Upload


class Handover:
    """Where an upload that ran out of time asks for its next run: an SQS queue that
    LoadInventory reads. A message is durable once sent; a repeated one is harmless."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def confirm(self, upload: S3Upload) -> None:
        """Ask LoadInventory to apply a held snapshot (the API has 29 s; a load may not)."""
        self.send(replace(upload, confirmed=True), 0)

    def send(self, upload: S3Upload, chunks_done: int) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(
                {"stockwatch": "continue", "upload": asdict(upload), "chunks_done": chunks_done}
            ),
        )
