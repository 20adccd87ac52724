"""Receiving an upload over HTTP into the bucket: collected up to the limit, then put as one
object whose metadata carries the upload's command (``upload_metadata``).

Behind API Gateway a request body arrives whole in the Lambda event (at most 6 MB), so
holding it in memory costs nothing more; bigger files go to the bucket directly, through a
form the API signs (``AwsBackend.presign_upload``).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.core.filenames import safe_filename
from stockwatch.core.ports import ObjectTooLarge, StoredObject

LAMBDA_BODY_LIMIT = 6 * 1024 * 1024


class S3Sink:
    """A body collected up to the limit, then put as one object with its upload options."""

    def __init__(self, objects: S3ObjectStore, key: str, max_bytes: int, metadata: dict[str, str]):
        self.objects = objects
        self.key = key
        self.max_bytes = max_bytes
        self.metadata = metadata
        self.size = 0
        self._buffer = io.BytesIO()

    def write(self, block: bytes) -> None:
        self.size += len(block)
        if self.size > self.max_bytes:
            raise ObjectTooLarge(f"the file is larger than the limit of {self.max_bytes:,} bytes")
        self._buffer.write(block)

    def commit(self) -> StoredObject:
        body = self._buffer.getvalue()
        self.objects.put(self.key, body, self.metadata)
        return StoredObject(self.key, self.size, hashlib.sha256(body).hexdigest())

    def abort(self) -> None:
        self._buffer = io.BytesIO()


@dataclass
class S3UploadTarget:
    objects: S3ObjectStore
    metadata: dict[str, str]

    def new_key(self, filename: str) -> str:
        """One flat key per upload, so the key can serve as its id until it is loaded."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = safe_filename(filename)
        if not name.lower().endswith(".csv"):
            name += ".csv"  # the bucket's notification only fires for *.csv
        return f"{stamp}-{secrets.token_hex(4)}-{name}"

    def writer(self, key: str, max_bytes: int) -> S3Sink:
        return S3Sink(self.objects, key, max_bytes, self.metadata)
