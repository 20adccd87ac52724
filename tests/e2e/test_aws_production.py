"""LoadInventory in production on moto: what reaches it, what fails, what is handed on.

Moto cannot run Lambda code, so what Lambda itself does is done here in the open: the
handler is called with the events moto produces; after a failed invocation, the message
Lambda's on-failure destination would receive (its documented envelope) is put on the
failure queue by the test; a hand-over is read off LoadInventory's queue and passed to the
handler as the SQS event source mapping would. Nothing of stockwatch is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.aws_stack import Aws, FakeLambdaContext, s3_event, stock, stream_event
from tests.conftest import csv_bytes

STOCKWATCH = Path(sys.executable).parent / "stockwatch"


def load(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from stockwatch.handlers.loader import load_inventory

    result: dict[str, Any] = load_inventory(event, context or FakeLambdaContext())
    return result


def put(aws: Aws, key: str, data: bytes) -> dict[str, Any]:
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=data)
    return s3_event(aws)


def test_only_created_csv_objects_are_loaded_and_the_rest_is_skipped(aws: Aws) -> None:
    event = put(aws, "berlin.csv", csv_bytes(("Berlin", "Echo Dot", 3)))
    created = event["Records"][0]
    removed = json.loads(json.dumps(created))
    removed["eventName"] = "ObjectRemoved:Delete"
    not_csv = json.loads(json.dumps(created))
    not_csv["s3"]["object"]["key"] = "notes/readme.txt"
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": aws.bucket}
    result = load({"Records": [removed, not_csv, test_event, created]})
    assert [r["file"] for r in result["reports"]] == ["berlin.csv"]
    assert result["skipped"] == ["berlin.csv", "notes/readme.txt", "s3:TestEvent"]
    assert stock(aws) == {("Berlin", "Echo Dot"): 3}


def test_a_failing_record_does_not_stop_the_others_and_the_event_can_be_replayed(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    from stockwatch.handlers.loader import UploadsFailed

    good = put(aws, "hamburg.csv", csv_bytes(("Hamburg", "Echo Dot", 0)))["Records"][0]
    # A record the loader cannot get past yet: its bucket does not exist (yet).
    bad = json.loads(json.dumps(good))
    bad["s3"]["bucket"]["name"] = "late-bucket"
    bad["s3"]["object"]["key"] = "munich.csv"
    event = {"Records": [bad, good]}
    with pytest.raises(UploadsFailed, match=r"1 of 2 uploads failed: munich\.csv"):
        load(event)
    assert stock(aws) == {("Hamburg", "Echo Dot"): 0}  # the second record loaded
    logged = next(r for r in caplog.records if r.getMessage().startswith("upload failed"))
    assert logged.__dict__["key"] == "munich.csv" and "NoSuchBucket" in logged.__dict__["error"]

    # Lambda, retries spent, sends the event to the on-failure destination like this:
    failures = os.environ["STOCKWATCH_LOAD_FAILURES_QUEUE_URL"]
    envelope = {
        "version": "1.0",
        "timestamp": "2026-12-01T10:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:load:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"errorMessage": "1 of 2 uploads failed: munich.csv"},
    }
    aws.sqs.send_message(QueueUrl=failures, MessageBody=json.dumps(envelope))

    def replay(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(STOCKWATCH), "--backend", "aws", "replay", "--json", *args],
            capture_output=True,
            text=True,
            env=os.environ,
        )

    listed = replay("--dry-run")
    assert listed.returncode == 0, listed.stderr
    ((message,),) = [json.loads(listed.stdout)]
    assert [r["file"] for r in message["reports"]] == ["munich.csv", "hamburg.csv"]
    assert message["removed_from_queue"] is False

    still = replay()  # the bucket is still missing: reported, left on the queue
    assert still.returncode == 1 and "NoSuchBucket" in still.stdout

    aws.s3.create_bucket(Bucket="late-bucket")  # the outage is over
    aws.s3.put_object(
        Bucket="late-bucket", Key="munich.csv", Body=csv_bytes(("Munich", "Echo Show", 0))
    )
    done = replay()
    assert done.returncode == 0, done.stdout + done.stderr
    ((message,),) = [json.loads(done.stdout)]
    assert [(r["file"], r["status"]) for r in message["reports"]] == [
        ("munich.csv", "loaded"),
        ("hamburg.csv", "loaded"),  # finished before: its stored report, nothing written
    ]
    assert message["removed_from_queue"] is True
    assert stock(aws) == {("Hamburg", "Echo Dot"): 0, ("Munich", "Echo Show"): 0}
    assert json.loads(replay().stdout) == []  # the queue is empty


class ShortContext(FakeLambdaContext):
    """A Lambda context whose time runs out after a few chunks: each look at the clock
    costs ``per_look_ms`` of the invocation's time."""

    def __init__(self, start_ms: int, per_look_ms: int) -> None:
        super().__init__(memory_limit_in_mb=1024)
        self.left = start_ms
        self.per_look = per_look_ms

    def get_remaining_time_in_millis(self) -> int:
        self.left -= self.per_look
        return self.left


def big_file(store_prefix: str, rows: int) -> bytes:
    """``rows`` rows over 40 stores, with bad rows and repeats spread through it."""
    lines = ["store,item,count"]
    for n in range(rows):
        lines.append(f"{store_prefix}{n % 40},Item {n // 40},{n % 9}")
        if n % 5_000 == 7:
            lines.append(f"{store_prefix}{n % 40},Broken {n},lots")
        if n % 6_000 == 11:
            lines.append(f"{store_prefix}0,Item 0,5")  # a repeat of an earlier row
    return ("\n".join(lines) + "\n").encode()


def changes_by_store(event: dict[str, Any], prefix: str) -> set[tuple[str, str, str]]:
    found = set()
    for record in event["Records"]:
        new = record["dynamodb"].get("NewImage", {})
        store = new.get("Store", {}).get("S", "")
        if store.startswith(prefix):
            found.add((store[len(prefix) :], new["Item"]["S"], new["Count"]["N"]))
    return found


# Moto deep-copies every table a TransactWriteItems touches, before each one, so loading
# costs it time in proportion to the table's size: a 200,000-row file takes moto about
# ten minutes. CI runs 20,000 rows with shorter invocations (the same number of hand-overs
# or more); `STOCKWATCH_BIG_ROWS=200000 pytest -k finishes_over` runs the full size.
BIG_ROWS = int(os.environ.get("STOCKWATCH_BIG_ROWS", "20000"))


def test_a_big_file_finishes_over_several_invocations_as_one_long_run(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = BIG_ROWS
    looks = max(3, rows // 10_000 * 3 // 2)  # chunks of 1,000 rows per invocation
    monkeypatch.setenv("STOCKWATCH_PAUSE_MARGIN_MS", "100000")
    queue = os.environ["STOCKWATCH_CONTINUE_QUEUE_URL"]

    whole = load(put(aws, "one-run.csv", big_file("A", rows)))["reports"][0]
    assert whole["status"] == "loaded_with_errors"
    one_run_changes = changes_by_store(stream_event(aws), "A")

    # ``looks`` looks at the clock before it says stop: as many chunks of 1,000 rows a run.
    def short() -> ShortContext:
        return ShortContext(100_000 + looks * 1000, 1000)

    event = put(aws, "continued.csv", big_file("B", rows))
    runs = [load(event, short())["reports"][0]]
    handovers = 0
    while True:
        messages = aws.sqs.receive_message(
            QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            aws.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            handovers += 1
            sqs_event = {
                "Records": [
                    {
                        "messageId": message["MessageId"],
                        "body": message["Body"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:load",
                    }
                ]
            }
            runs.append(load(sqs_event, short())["reports"][0])
            if handovers == 2:
                # At least once: the same hand-over again. It carries on from the newest
                # progress kept (never from its own), so it repeats nothing; when two run
                # at once, the one that falls behind stops at its next pause.
                again = load(sqs_event, short())["reports"][0]
                assert again["status"] == "processing"
        assert handovers < 100
    assert handovers >= 5
    finished = [r for r in runs if r["status"] != "processing"]
    assert finished and all(r == finished[0] for r in finished)  # later ones: the stored one
    runs.append(finished[0])

    final = runs[-1]
    assert final["cost"]["lambda"]["invocations"] >= 6
    for report in (whole, final):
        report.pop("cost")
        report.pop("timings_ms")
        report.pop("upload_id")
        report.pop("file")
        report.pop("as_of")  # each upload's own arrival
    for error in final["errors"]:  # the same rows; only the store names differ
        error["message"] = error["message"].replace('store "B', 'store "A')
    assert final == whole
    table = {
        (i["Store"]["S"], i["Item"]["S"]): int(i["Count"]["N"])
        for page in aws.dynamodb.get_paginator("scan").paginate(TableName=aws.table)
        for i in page["Items"]
    }
    assert len(table) == 2 * rows
    assert {(s[1:], i): c for (s, i), c in table.items() if s.startswith("B")} == {
        (s[1:], i): c for (s, i), c in table.items() if s.startswith("A")
    }
    assert changes_by_store(stream_event(aws), "B") == one_run_changes
