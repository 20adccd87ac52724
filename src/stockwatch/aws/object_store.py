"""S3 as the object store: uploads are read as streams, never copied whole anywhere."""

from __future__ import annotations

from typing import Any

from stockwatch.core.reader import Readable


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def open(self, key: str, version_id: str | None = None) -> Readable:
        return self.open_with_metadata(key, version_id)[0]

    def open_with_metadata(
        self, key: str, version_id: str | None = None
    ) -> tuple[Readable, dict[str, str]]:
        """The body and the object's user metadata (which carries upload options)."""
        extra = {"VersionId": version_id} if version_id else {}
        response = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        return response["Body"], dict(response.get("Metadata", {}))

    def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, Metadata=metadata, ContentType="text/csv"
        )
