"""One way to drive either backend, so that every contract case runs on both.

``Embedded`` is the SQLite backend in a temporary data directory. ``OnAws`` is the AWS
backend on moto in server mode with the SAM template deployed: a file is put into the
bucket, the S3 notification that moto sends is the event handed to ``load_inventory``, and
the DynamoDB stream's records are handed to ``check_stock``, as Lambda would do. Nothing of
ours is mocked; only the Lambda runtime is stood in for (moto cannot run Lambda code).

An upload is taken in (``receive``) and processed (``process``) separately, so that cases
can deliver uploads late, out of order and more than once.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stockwatch.sqlite.app import EmbeddedStockwatch
from tests.aws_stack import Aws, FakeLambdaContext, alert_log, digests, s3_event, stream_event

Key = tuple[str, str]


class Backend(Protocol):
    name: str

    def receive(
        self,
        name: str,
        data: bytes,
        strict: bool = False,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> Any:
        """Take a file in; returns what ``process`` needs to process it (any number of times).

        ``as_of`` is when its counts were taken (``core.clock.parse_time``'s form);
        ``uploader`` sent it, and its rows may name only the stores of ``scope``."""
        ...

    def process(self, handle: Any) -> dict[str, Any]:
        """Process an upload and judge its changes; returns its report (JSON)."""
        ...

    def stock(self) -> dict[Key, int]: ...

    def confirm(self, upload_id: Any) -> dict[str, Any]:
        """Apply a held snapshot, as the dashboard's button does; returns its report."""
        ...

    def discard(self, upload_id: Any) -> dict[str, Any]: ...

    def snapshot_default(self, store: str, on: bool) -> None: ...

    def raised(self) -> list[tuple[str, str, str]]:
        """(kind, store, item) of every alert raised so far, back-in-stock events included."""
        ...

    def open_alerts(self) -> set[tuple[str, str, str]]: ...

    def notified_lines(self) -> list[str]:
        """The alert lines of every notification sent since the last call."""
        ...

    def changes_fed(self) -> int:
        """Change-feed entries (stream records) written since the last call."""
        ...

    def set_threshold(self, store: str, item: str, minimum: int) -> None: ...

    def directory(self) -> Any:
        """Users and the audit trail (``service.users.UserDirectory``)."""
        ...

    def subscriptions(self) -> Any:
        """Who hears about which alerts (``service.subscriptions.SubscriptionStore``)."""
        ...

    def model(self) -> Any:
        """The read model the API and the CLI read through (``web.backend.ReadModel``)."""
        ...


ALERT_PHRASES = (" out of stock of ", " is low on ", " back in stock of ", " will run out of ")


def _alert_lines(text: str) -> list[str]:
    return [
        line.strip().lstrip("-• ").strip()
        for line in text.splitlines()
        if any(phrase in line for phrase in ALERT_PHRASES)
    ]


@dataclass
class Embedded:
    data_dir: Path
    name: str = "sqlite"
    app: EmbeddedStockwatch = field(init=False)
    _outbox_seen: int = 0
    _changes_seen: int = 0

    def __post_init__(self) -> None:
        self.app = EmbeddedStockwatch(self.data_dir, channel_names=("webhook",))

    def close(self) -> None:
        self.app.close()

    def receive(
        self,
        name: str,
        data: bytes,
        strict: bool = False,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> int:
        source = io.BytesIO(data)
        return self.app.receive(name, source, strict, as_of, snapshot, uploader, scope)

    def confirm(self, upload_id: Any) -> dict[str, Any]:
        return self.app.confirm_upload(int(upload_id)).to_json()

    def discard(self, upload_id: Any) -> dict[str, Any]:
        return self.app.discard_upload(int(upload_id), "a test").to_json()

    def snapshot_default(self, store: str, on: bool) -> None:
        self.app.set_snapshot_default(store, on)

    def process(self, handle: int) -> dict[str, Any]:
        return self.app.process_upload(handle).to_json()

    def stock(self) -> dict[Key, int]:
        rows = self.app.conn.execute("SELECT store, item, count FROM inventory")
        return {(s, i): c for s, i, c in rows}

    def raised(self) -> list[tuple[str, str, str]]:
        rows = self.app.conn.execute("SELECT kind, store, item FROM alerts ORDER BY id")
        return [tuple(r) for r in rows]

    def open_alerts(self) -> set[tuple[str, str, str]]:
        rows = self.app.conn.execute(
            "SELECT kind, store, item FROM alerts WHERE resolved_at IS NULL"
        )
        return {tuple(r) for r in rows}

    def notified_lines(self) -> list[str]:
        rows = self.app.conn.execute(
            "SELECT id, payload FROM outbox WHERE id > ? ORDER BY id", (self._outbox_seen,)
        ).fetchall()
        lines = []
        for row_id, payload in rows:
            self._outbox_seen = row_id
            lines.extend(_alert_lines(json.loads(payload)["text"]))
        return lines

    def changes_fed(self) -> int:
        (last,) = self.app.conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()
        fed, self._changes_seen = last - self._changes_seen, last
        return int(fed)

    def set_threshold(self, store: str, item: str, minimum: int) -> None:
        from stockwatch.service.thresholds import set_thresholds

        set_thresholds(self.model(), [(store, item, minimum)])

    def model(self) -> Any:
        from stockwatch.sqlite.read_model import SqliteReadModel

        return SqliteReadModel(self.app)

    def directory(self) -> Any:
        from stockwatch.sqlite.users import SqliteUsers

        return SqliteUsers(self.app.conn)

    def subscriptions(self) -> Any:
        from stockwatch.sqlite.subscriptions import SqliteSubscriptions

        return SqliteSubscriptions(self.app.conn)


@dataclass
class S3Delivery:
    """One S3 notification, as Lambda would be invoked with it (possibly again, later)."""

    event: dict[str, Any]

    def with_time(self, event_time: str, sequencer: str | None) -> S3Delivery:
        """The same notification with another time and sequencer (None: none at all)."""
        event = copy.deepcopy(self.event)
        record = event["Records"][0]
        record["eventTime"] = event_time
        if sequencer is None:
            record["s3"]["object"].pop("sequencer", None)
        else:
            record["s3"]["object"]["sequencer"] = sequencer
        return S3Delivery(event)


@dataclass
class OnAws:
    aws: Aws
    name: str = "aws"
    _stream_records: int = 0
    _pending_lines: list[str] = field(default_factory=list)

    def receive(
        self,
        name: str,
        data: bytes,
        strict: bool = False,
        as_of: str | None = None,
        snapshot: bool | None = None,
        uploader: str = "",
        scope: frozenset[str] | None = None,
    ) -> S3Delivery:
        from stockwatch.aws.loader import uploader_metadata

        metadata = {"stockwatch-strict": "true"} if strict else {}
        metadata.update(uploader_metadata(uploader, scope))
        if as_of is not None:
            metadata["stockwatch-as-of"] = as_of
        if snapshot is not None:
            metadata["stockwatch-snapshot"] = str(snapshot).lower()
        self.aws.s3.put_object(Bucket=self.aws.bucket, Key=name, Body=data, Metadata=metadata)
        return S3Delivery(s3_event(self.aws))

    def process(self, handle: S3Delivery) -> dict[str, Any]:
        from stockwatch.handlers.loader import load_inventory

        (report,) = load_inventory(handle.event, FakeLambdaContext())["reports"]
        self.pump()
        return dict(report)

    def _loader(self) -> Any:
        from stockwatch.aws.loader import AwsLoader
        from stockwatch.aws.settings import AwsSettings

        return AwsLoader.from_settings(AwsSettings.from_env())

    def confirm(self, upload_id: Any) -> dict[str, Any]:
        """As the API does it: a hand-over to LoadInventory, delivered from its queue."""
        from stockwatch.handlers.loader import load_inventory

        loader = self._loader()
        loader.handover.confirm(loader.held(str(upload_id)))
        queue = loader.handover.queue_url
        (message,) = self.aws.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
        self.aws.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        record = {
            "messageId": message["MessageId"],
            "body": message["Body"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:load",
        }
        (report,) = load_inventory({"Records": [record]}, FakeLambdaContext())["reports"]
        self.pump()
        return dict(report)

    def discard(self, upload_id: Any) -> dict[str, Any]:
        return self._loader().discard(str(upload_id), "a test").to_json()  # type: ignore[no-any-return]

    def snapshot_default(self, store: str, on: bool) -> None:
        from stockwatch.aws.loader import set_store_setting

        set_store_setting(self.aws.dynamodb, self.aws.state_table, store, on)

    def pump(self) -> None:
        """Hand the stream's new records to check_stock, as the event source mapping would."""
        from stockwatch.handlers.checker import check_stock

        event = stream_event(self.aws)
        self._stream_records += len(event["Records"])
        if event["Records"]:
            response = check_stock(event, FakeLambdaContext())
            assert response["batchItemFailures"] == [], response

    def stock(self) -> dict[Key, int]:
        found: dict[Key, int] = {}
        pages = self.aws.dynamodb.get_paginator("scan").paginate(TableName=self.aws.table)
        for page in pages:
            for i in page["Items"]:
                found[(i["Store"]["S"], i["Item"]["S"])] = int(i["Count"]["N"])
        return found

    def raised(self) -> list[tuple[str, str, str]]:
        return sorted((e["kind"], e["store"], e["item"]) for e in alert_log(self.aws))

    def open_alerts(self) -> set[tuple[str, str, str]]:
        found = set()
        pages = self.aws.dynamodb.get_paginator("scan").paginate(
            TableName=self.aws.state_table,
            FilterExpression="begins_with(pk, :a)",
            ExpressionAttributeValues={":a": {"S": "ALERT#"}},
        )
        for page in pages:
            for item in page["Items"]:
                store, name = item["pk"]["S"][len("ALERT#") :].split("\x1f", 1)
                found.add((item["sk"]["S"], store, name))
        return found

    def notified_lines(self) -> list[str]:
        return [line for d in digests(self.aws) for line in _alert_lines(d["Message"])]

    def changes_fed(self) -> int:
        fed, self._stream_records = self._stream_records, 0
        return fed

    def set_threshold(self, store: str, item: str, minimum: int) -> None:
        from stockwatch.service.thresholds import set_thresholds

        set_thresholds(self.model(), [(store, item, minimum)])

    def model(self) -> Any:
        from stockwatch.aws.read_model import DynamoReadModel
        from stockwatch.aws.settings import AwsSettings

        settings = AwsSettings.from_env()
        return DynamoReadModel(settings, settings.client("dynamodb"), settings.client("s3"))

    def directory(self) -> Any:
        from stockwatch.aws.users import DynamoUsers

        return DynamoUsers(self.aws.dynamodb, self.aws.state_table)

    def subscriptions(self) -> Any:
        from stockwatch.aws.subscriptions import SnsSubscriptions

        aws = self.aws
        return SnsSubscriptions(aws.sns, aws.topic_arn, aws.dynamodb, aws.state_table)


def embedded(tmp_path: Path) -> Iterator[Embedded]:
    backend = Embedded(tmp_path / "data")
    yield backend
    backend.close()
