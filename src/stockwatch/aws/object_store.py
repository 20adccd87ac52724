"""S3 as the object store: uploads are read as streams, never copied whole anywhere."""

from __future__ import annotations

from typing import Any

from stockwatch.core.reader import Readable


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def open(self, key: str, version_id: str | None = None) -> Readable:
        extra = {"VersionId": version_id} if version_id else {}
        body: Readable = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        return body
