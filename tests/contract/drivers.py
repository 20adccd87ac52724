"""One way to drive either backend, so that every contract case runs on both.

Both hold the backend object the product runs on, built by ``bootstrap`` (``.backend``), and
call it the way its runtime does. ``Embedded`` is the SQLite backend in a temporary data
directory. ``OnAws`` is the AWS backend on moto in server mode with the SAM template
deployed: a file is put into the bucket through the backend's upload target (as the API
does), the S3 notification that moto sends is the event handed to ``load_inventory``, and
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

from stockwatch import bootstrap
from stockwatch.aws.backend import AwsBackend
from stockwatch.service.backend import Backend as ServiceBackend
from stockwatch.service.commands import Confirm, Discard, SetSnapshotDefault, SetThresholds, Upload
from stockwatch.service.thresholds import set_thresholds
from stockwatch.sqlite.backend import SqliteBackend
from tests.aws_stack import Aws, FakeLambdaContext, alert_log, digests, s3_event, stream_event

Key = tuple[str, str]


class Backend(Protocol):
    name: str

    def receive(self, name: str, data: bytes, **options: Any) -> Any:
        """Take a file in as ``Upload(name, **options)``; returns what ``process`` needs to
        process it (any number of times)."""
        ...

    def process(self, handle: Any) -> dict[str, Any]:
        """Process an upload and judge its changes; returns its report (JSON)."""
        ...

    def race(self, handle: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Two runs of one upload at once (a repeated event, or `ingest` beside `serve`):
        the second begins, the first runs to the end, then the second carries on. Both
        reports (JSON)."""
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

    def notified(self) -> list[str]:
        """The text of every notification sent since the last call."""
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
        """The read model the API and the CLI read through (``service.reads.ReadModel``)."""
        ...

    def notes(self) -> Any:
        """Acknowledgements and mutes (``service.reads.AlertNotes``)."""
        ...

    def threshold_change(self) -> Any:
        """A threshold change's unit of work (``service.ports.ThresholdUnitOfWork``)."""
        ...

    def order_book(self) -> Any:
        """Ordering settings and orders (``service.replenishment.OrderBook``)."""
        ...


ALERT_PHRASES = (" out of stock of ", " is low on ", " back in stock of ", " will run out of ")


def _alert_lines(text: str) -> list[str]:
    return [
        line.strip().lstrip("-• ").strip()
        for line in text.splitlines()
        if any(phrase in line for phrase in ALERT_PHRASES)
    ]


class _Service:
    """What both drivers read and write through the backend object itself."""

    backend: ServiceBackend

    def model(self) -> Any:
        return self.backend.reads()

    def notes(self) -> Any:
        return self.backend.alert_notes()

    def threshold_change(self) -> Any:
        return self.backend.threshold_change()

    def directory(self) -> Any:
        return self.backend.users()

    def order_book(self) -> Any:
        return self.backend.order_book()

    def subscriptions(self) -> Any:
        return self.backend.subscriptions()

    def set_threshold(self, store: str, item: str, minimum: int) -> None:
        command = SetThresholds.of([(store, item, minimum, None)], new=True)  # set up before stock
        set_thresholds(self.backend.threshold_change(), command, None, names=self.backend.reads())

    def discard(self, upload_id: Any) -> dict[str, Any]:
        return self.backend.discard(Discard(str(upload_id), "a test")).to_json()

    def snapshot_default(self, store: str, on: bool) -> None:
        self.backend.set_snapshot_default(SetSnapshotDefault(store, on))


@dataclass
class Embedded(_Service):
    data_dir: Path
    name: str = "sqlite"
    backend: SqliteBackend = field(init=False)
    _outbox_seen: int = 0
    _changes_seen: int = 0

    def __post_init__(self) -> None:
        self.backend = bootstrap.embedded(self.data_dir, channel_names=("webhook",))

    @property
    def app(self) -> SqliteBackend:
        return self.backend

    def close(self) -> None:
        self.backend.close()

    def receive(self, name: str, data: bytes, **options: Any) -> int:
        return self.backend.receive(Upload(name, **options), io.BytesIO(data))

    def confirm(self, upload_id: Any) -> dict[str, Any]:
        return self.backend.confirm(Confirm(str(upload_id), "a test")).to_json()

    def process(self, handle: int) -> dict[str, Any]:
        return self.backend.process_upload(handle).to_json()

    def race(self, handle: int) -> tuple[dict[str, Any], dict[str, Any]]:
        from stockwatch.service.uploads import run

        uow = self.backend.unit_of_work()
        second = uow.uploads.begin(handle)
        first = self.process(handle)
        return first, run(uow, second).to_json()

    def stock(self) -> dict[Key, int]:
        rows = self.backend.conn.execute("SELECT store, item, count FROM inventory")
        return {(s, i): c for s, i, c in rows}

    def raised(self) -> list[tuple[str, str, str]]:
        rows = self.backend.conn.execute("SELECT kind, store, item FROM alerts ORDER BY id")
        return [tuple(r) for r in rows]

    def open_alerts(self) -> set[tuple[str, str, str]]:
        rows = self.backend.conn.execute(
            "SELECT kind, store, item FROM alerts WHERE resolved_at IS NULL"
        )
        return {tuple(r) for r in rows}

    def notified_lines(self) -> list[str]:
        return [line for text in self.notified() for line in _alert_lines(text)]

    def notified(self) -> list[str]:
        rows = self.backend.conn.execute(
            "SELECT id, payload FROM outbox WHERE id > ? ORDER BY id", (self._outbox_seen,)
        ).fetchall()
        texts = []
        for row_id, payload in rows:
            self._outbox_seen = row_id
            texts.append(json.loads(payload)["text"])
        return texts

    def changes_fed(self) -> int:
        (last,) = self.backend.conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()
        fed, self._changes_seen = last - self._changes_seen, last
        return int(fed)


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
class OnAws(_Service):
    aws: Aws
    name: str = "aws"
    backend: AwsBackend = field(init=False)
    _stream_records: int = 0
    _pending_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # As the API's: a held snapshot's confirmation is handed on to LoadInventory.
        self.backend = bootstrap.aws(time_limited=True)

    def receive(self, name: str, data: bytes, **options: Any) -> S3Delivery:
        """Into the bucket under ``name`` with the command as its metadata, as the API puts
        a file; the S3 event is what Lambda would be invoked with."""
        command = Upload(name, **options)
        sink = self.backend.upload_target(command).writer(name, len(data) + 1)
        sink.write(data)
        sink.commit()
        return S3Delivery(s3_event(self.aws))

    def process(self, handle: S3Delivery) -> dict[str, Any]:
        from stockwatch.handlers.loader import load_inventory

        (report,) = load_inventory(handle.event, FakeLambdaContext())["reports"]
        self.pump()
        return dict(report)

    def race(self, handle: S3Delivery) -> tuple[dict[str, Any], dict[str, Any]]:
        from stockwatch.aws.events import wanted
        from stockwatch.service.uploads import run

        (upload,) = wanted(handle.event).uploads
        uow = self.backend.unit_of_work()
        second = uow.uploads.begin(upload)
        first = self.process(handle)
        return first, run(uow, second).to_json()

    def confirm(self, upload_id: Any) -> dict[str, Any]:
        """As the API does it: a hand-over to LoadInventory, delivered from its queue."""
        from stockwatch.handlers.loader import load_inventory

        handed = self.backend.confirm(Confirm(str(upload_id), "a test"))
        assert handed.status == "processing"
        assert self.backend.handover is not None
        queue = self.backend.handover.queue_url
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
        return [line for text in self.notified() for line in _alert_lines(text)]

    def notified(self) -> list[str]:
        return [d["Message"] for d in digests(self.aws)]

    def changes_fed(self) -> int:
        fed, self._stream_records = self._stream_records, 0
        return fed


def embedded(tmp_path: Path) -> Iterator[Embedded]:
    backend = Embedded(tmp_path / "data")
    yield backend
    backend.close()
