"""Each store's record (``core.store_record``) as an object in the uploads bucket.

Under ``stockwatch/records/``, which the bucket's notification (``.csv`` and the other
upload suffixes) never matches. One GET per store an upload lists, one PUT per store once
its rows are written: S3 requests cost a tenth of the DynamoDB reads they replace, and
they do not grow with the store's items.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from stockwatch.core.store_record import StoreRecord, record_key

PREFIX = "stockwatch/records/"


class S3StoreRecords:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def get(self, store: str) -> StoreRecord | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=record_key(PREFIX, store))["Body"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "AccessDenied"):
                return None
            raise
        with body:
            return StoreRecord.decode(body.read(), store)

    def put(self, record: StoreRecord) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=record_key(PREFIX, record.store),
            Body=record.encode(),
            ContentType="application/json",
            ContentEncoding="gzip",
        )
