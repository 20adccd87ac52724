"""Each store's record (``core.store_record``) as an object in the uploads bucket.

Under ``stockwatch/records/``, which the bucket's notification (``.csv`` and the other
upload suffixes) never matches. One GET per store an upload lists, one PUT per store once
its rows are written: S3 requests cost a tenth of the DynamoDB reads they replace, and
they do not grow with the store's items.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stockwatch.core.store_record import StoreRecord, record_key

PREFIX = "stockwatch/records/"
log = logging.getLogger("stockwatch.aws")


class S3StoreRecords:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def get(self, store: str) -> StoreRecord | None:
        """The store's record; None when there is none or it cannot be read: a record only
        saves reads, so failing to get one costs reads, never the upload."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=record_key(PREFIX, store))["Body"]
            with body:
                return StoreRecord.decode(body.read(), store)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                log.warning("a store record could not be read", extra={"error": str(exc)})
            return None
        except BotoCoreError as exc:
            log.warning("a store record could not be read", extra={"error": str(exc)})
            return None

    def put(self, record: StoreRecord) -> bool:
        """Stored as plain bytes (application/gzip, no Content-Encoding: no HTTP layer may
        unpack it on the way back). False when it could not be written: the store then has
        no record that stands, and its next upload reads its rows."""
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=record_key(PREFIX, record.store),
                Body=record.encode(),
                ContentType="application/gzip",
            )
        except (ClientError, BotoCoreError) as exc:
            log.warning("a store record could not be written", extra={"error": str(exc)})
            return False
        return True
