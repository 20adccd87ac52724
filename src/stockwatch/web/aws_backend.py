"""The web app on Lambda: the same FastAPI app as ``stockwatch serve``, over DynamoDB and S3.

Behind API Gateway a request body arrives whole in the Lambda event (at most 6 MB), so an
upload through the API is collected in memory up to that size and put into the bucket,
where the S3 event then loads it like any other upload. Bigger files go to the bucket
directly, through a form the API signs (``POST /api/uploads/form``) that carries the
uploader and its stores as the object's metadata. There is no live event stream
(responses cannot stay open) and metrics go to CloudWatch, so ``/api/events`` and
``/metrics`` are absent and the dashboard polls.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from stockwatch.aws.loader import (
    AS_OF_METADATA,
    SNAPSHOT_METADATA,
    STRICT_METADATA,
    AwsLoader,
    set_store_setting,
    uploader_metadata,
)
from stockwatch.aws.object_store import S3ObjectStore
from stockwatch.aws.read_model import UPLOAD_ID_PATTERN, DynamoReadModel, version_of
from stockwatch.aws.settings import AwsSettings
from stockwatch.aws.subscriptions import SnsSubscriptions
from stockwatch.aws.users import DynamoUsers
from stockwatch.core.access import Principal
from stockwatch.core.filenames import safe_filename
from stockwatch.core.limits import Limits
from stockwatch.core.ports import ObjectTooLarge, StoredObject
from stockwatch.core.subscriptions import SubscriptionError
from stockwatch.service.uploads import NotHeld
from stockwatch.service.users import authenticate
from stockwatch.web.events import EventBus
from stockwatch.web.metrics import Metrics
from stockwatch.web.uploads import receive_upload

LAMBDA_BODY_LIMIT = 6 * 1024 * 1024
PRESIGN_SECONDS = 900  # long enough to send a big file on a slow line, short if it leaks


def upload_metadata(
    strict: bool,
    as_of: str | None,
    snapshot: bool | None,
    uploader: str,
    scope: frozenset[str] | None,
) -> dict[str, str]:
    """The object's metadata the loader reads: its options, who sent it, their stores."""
    metadata = {STRICT_METADATA: "true"} if strict else {}
    if as_of is not None:
        metadata[AS_OF_METADATA] = as_of
    if snapshot is not None:
        metadata[SNAPSHOT_METADATA] = str(snapshot).lower()
    metadata.update(uploader_metadata(uploader, scope))
    return metadata


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


class NoToken(RuntimeError):
    pass


def load_token(settings: AwsSettings) -> str:
    """The API token: STOCKWATCH_TOKEN, else the stack's secret, else an SSM parameter.

    The stack makes the secret (STOCKWATCH_TOKEN_SECRET_ARN), so a deploy needs no step by
    hand; an SSM SecureString (STOCKWATCH_TOKEN_PARAMETER) still works for those who made
    one. Behind API Gateway the API faces the internet, so there is no running without one.
    """
    token = os.environ.get("STOCKWATCH_TOKEN")
    secret = os.environ.get("STOCKWATCH_TOKEN_SECRET_ARN")
    parameter = os.environ.get("STOCKWATCH_TOKEN_PARAMETER")
    where = "STOCKWATCH_TOKEN"
    try:
        if not token and secret:
            where = f"the secret {secret}"
            token = settings.client("secretsmanager").get_secret_value(SecretId=secret)[
                "SecretString"
            ]
        elif not token and parameter:
            where = f"the SSM parameter {parameter}"
            ssm = settings.client("ssm")
            token = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise NoToken(
            f"cannot read the API token from {where}: {error.get('Code')}: "
            f"{error.get('Message')}; check that it exists and that the function may read it"
        ) from None
    if not token or len(token) < 16:
        raise NoToken(
            "the API needs a token of at least 16 characters: set STOCKWATCH_TOKEN_SECRET_ARN "
            f"(the stack does), STOCKWATCH_TOKEN or STOCKWATCH_TOKEN_PARAMETER; read {where}"
        )
    return token


@dataclass
class AwsWebBackend:
    settings: AwsSettings
    token: str
    limits: Limits = field(default_factory=Limits.from_env)
    bus: EventBus | None = None
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        self.dynamodb = self.settings.client("dynamodb")
        self.s3 = self.settings.client("s3")

    upload_id_pattern = UPLOAD_ID_PATTERN

    def model(self) -> DynamoReadModel:
        return DynamoReadModel(self.settings, self.dynamodb, self.s3)

    async def open_access(self) -> bool:
        return False  # behind API Gateway there is no loopback

    def directory(self) -> DynamoUsers:
        return DynamoUsers(self.dynamodb, self.settings.state_table)

    def subscriptions(self) -> SnsSubscriptions:
        """SNS subscriptions of the alerts topic (``aws.subscriptions``)."""
        if not self.settings.topic_arn:
            raise SubscriptionError("this stack has no alerts topic (STOCKWATCH_TOPIC_ARN)")
        return SnsSubscriptions(
            self.settings.client("sns"),
            self.settings.topic_arn,
            self.dynamodb,
            self.settings.state_table,
        )

    async def authenticate(self, given: str | None) -> Principal | None:
        """The stack's token signs in as its admin; everyone else from the state table."""
        directory = self.directory()
        return await run_in_threadpool(lambda: authenticate(directory, self.token, given))

    def _loader(self) -> AwsLoader:
        return AwsLoader.from_settings(self.settings, self.limits)

    async def confirm(self, upload_id: str) -> dict[str, Any]:
        """Handed on to LoadInventory (the API has 29 s; applying a snapshot may take more)."""
        loader = self._loader()
        held = await run_in_threadpool(lambda: loader.held(version_of(upload_id)))
        if loader.handover is None:
            raise NotHeld("no hand-over queue is set (STOCKWATCH_CONTINUE_QUEUE_URL)")
        handover = loader.handover
        await run_in_threadpool(lambda: handover.confirm(held))
        return {"upload_id": upload_id, "status": "processing"}

    async def discard(self, upload_id: str, by: str) -> dict[str, Any]:
        loader = self._loader()
        report = await run_in_threadpool(lambda: loader.discard(version_of(upload_id), by))
        return report.to_json()

    async def set_snapshot_default(self, store: str, snapshot: bool) -> None:
        state_table = self.settings.state_table
        await run_in_threadpool(
            lambda: set_store_setting(self.dynamodb, state_table, store, snapshot)
        )

    async def accept_upload(
        self,
        request: Request,
        strict: bool,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> str:
        objects = S3ObjectStore(self.s3, self.settings.bucket)
        metadata = upload_metadata(strict, as_of, snapshot, uploader, scope)
        target = S3UploadTarget(objects, metadata)
        limit = min(self.limits.max_file_bytes, LAMBDA_BODY_LIMIT)
        _, stored = await receive_upload(request, target, limit)
        return stored.key

    presigns = True

    async def presign_upload(
        self,
        filename: str,
        strict: bool,
        as_of: str | None,
        snapshot: bool | None,
        uploader: str,
        scope: frozenset[str] | None,
    ) -> dict[str, Any]:
        """A form to POST the file straight to S3: no 6 MB API limit, no Lambda time.

        The policy S3 checks is signed here: the key, the uploader and its stores as the
        object's metadata, and the size limit. The client can send the file, nothing else,
        so the loader enforces the scope of whoever asked for the form.
        """
        key = S3UploadTarget(S3ObjectStore(self.s3, self.settings.bucket), {}).new_key(filename)
        fields = {
            f"x-amz-meta-{name}": value
            for name, value in upload_metadata(strict, as_of, snapshot, uploader, scope).items()
        }
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, self.limits.max_file_bytes])
        form = await run_in_threadpool(
            lambda: self.s3.generate_presigned_post(
                Bucket=self.settings.bucket,
                Key=key,
                Fields=fields,
                Conditions=conditions,
                ExpiresIn=PRESIGN_SECONDS,
            )
        )
        return {
            "id": key,
            "url": form["url"],
            "fields": form["fields"],
            "expires_in": PRESIGN_SECONDS,
            "max_bytes": self.limits.max_file_bytes,
        }
