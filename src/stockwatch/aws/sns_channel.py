"""SNS as an alert channel: for CheckStock on Lambda, and for ``stockwatch serve`` too.

Messages carry the attributes ``store`` (when the digest is about one store) and ``kind``
(a String.Array of the alert kinds), so subscribers can filter.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stockwatch.core.digest import Digest, header_text
from stockwatch.core.ports import DeliveryError


class SnsChannel:
    name = "sns"

    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def send(self, digest: Digest, idempotency_key: str) -> None:
        stores = sorted({a["store"] for a in digest.alerts})
        attributes: dict[str, dict[str, str]] = {
            "kind": {
                "DataType": "String.Array",
                "StringValue": json.dumps(sorted({a["kind"] for a in digest.alerts})),
            },
        }
        if len(stores) == 1:
            attributes["store"] = {"DataType": "String", "StringValue": stores[0]}
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=header_text(digest.subject, 100, ascii_only=True),
                Message=digest.text,
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError(f"SNS did not take the message: {exc}") from None
