"""The AWS pipeline end to end on a real AWS-protocol endpoint: moto in server mode.

Nothing of ours is mocked. Moto cannot run Lambda code (no Docker here), so the handlers are
called in this process with the events moto itself produces: the S3 notification as
delivered to an SQS queue (standing in for the Lambda trigger), and the DynamoDB stream's
records read with the dynamodbstreams API. The Lambda context is a plain stand-in object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from tests.aws_stack import (
    REGION,
    Aws,
    FakeLambdaContext,
    digests,
    s3_event,
    stock,
    stream_event,
)
from tests.conftest import aws_cli, csv_bytes

BERLIN = csv_bytes(
    ("Berlin", "Echo Dot", 12),
    ("Berlin", "Echo Plus", 0),
    ("Berlin", "Echo Show", 18),
    header="Store,item,count",
)


def test_upload_to_alert_end_to_end(aws: Aws) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    aws.s3.put_object(Bucket=aws.bucket, Key="incoming/inventory berlin.csv", Body=BERLIN)
    event = s3_event(aws)
    assert " " not in event["Records"][0]["s3"]["object"]["key"]  # URL-encoded in the event
    (report,) = load_inventory(event, FakeLambdaContext())["reports"]
    assert (report["status"], report["rows_loaded"], report["file"]) == (
        "loaded",
        3,
        "incoming/inventory berlin.csv",
    )
    assert stock(aws) == {
        ("Berlin", "Echo Dot"): 12,
        ("Berlin", "Echo Plus"): 0,
        ("Berlin", "Echo Show"): 18,
    }
    item = aws.dynamodb.get_item(
        TableName=aws.table, Key={"Store": {"S": "Berlin"}, "Item": {"S": "Echo Plus"}}
    )["Item"]
    assert {"Store", "Item", "Count", "Version", "Line", "UploadKey"} <= set(item)

    response = check_stock(stream_event(aws), FakeLambdaContext())
    assert response["batchItemFailures"] == []
    (digest,) = digests(aws)
    assert "Berlin is out of stock of Echo Plus" in digest["Message"]
    assert digest["MessageAttributes"]["store"]["Value"] == "Berlin"
    assert "out_of_stock" in digest["MessageAttributes"]["kind"]["Value"]

    # The same S3 event again: nothing changes, nobody is alerted.
    (again,) = load_inventory(event, FakeLambdaContext())["reports"]
    assert again.pop("cost")["sns"] == {"publishes": 1}  # CheckStock's digest, counted
    assert report.pop("cost")["sns"] == {"publishes": 0}
    assert again == report
    assert check_stock(stream_event(aws), FakeLambdaContext())["batchItemFailures"] == []
    assert digests(aws) == []


def test_repeated_stream_records_alert_once(aws: Aws) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    aws.s3.put_object(Bucket=aws.bucket, Key="berlin.csv", Body=BERLIN)
    load_inventory(s3_event(aws), FakeLambdaContext())
    records = stream_event(aws)
    check_stock(records, FakeLambdaContext())
    check_stock(records, FakeLambdaContext())  # at-least-once: the batch arrives again
    assert len(digests(aws)) == 1


def test_an_older_event_after_a_newer_one_changes_nothing(aws: Aws) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    aws.s3.put_object(Bucket=aws.bucket, Key="berlin.csv", Body=BERLIN)
    old_event = s3_event(aws)
    aws.s3.put_object(
        Bucket=aws.bucket, Key="berlin.csv", Body=csv_bytes(("Berlin", "Echo Plus", 7))
    )
    new_event = s3_event(aws)
    load_inventory(new_event, FakeLambdaContext())
    (late,) = load_inventory(old_event, FakeLambdaContext())["reports"]
    assert late["status"] == "rejected" and "newer upload" in late["message"]
    assert stock(aws) == {("Berlin", "Echo Plus"): 7}
    check_stock(stream_event(aws), FakeLambdaContext())
    assert digests(aws) == []


def test_bad_rows_are_reported_and_good_rows_load(aws: Aws) -> None:
    from stockwatch.handlers.loader import load_inventory

    aws.s3.put_object(
        Bucket=aws.bucket,
        Key="mixed.csv",
        Body=csv_bytes(("Pusan", "Echo Dot", 3), ("Pusan", "Echo Show", "twelve")),
    )
    (report,) = load_inventory(s3_event(aws), FakeLambdaContext())["reports"]
    assert report["status"] == "loaded_with_errors"
    assert report["errors"] == [
        {
            "line": 3,
            "field": "count",
            "message": 'count "twelve" is not a whole number',
            "item": "Echo Show",
        }
    ]
    assert stock(aws) == {("Pusan", "Echo Dot"): 3}


def test_a_poison_record_is_a_batch_item_failure(aws: Aws) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    aws.s3.put_object(Bucket=aws.bucket, Key="berlin.csv", Body=BERLIN)
    load_inventory(s3_event(aws), FakeLambdaContext())
    event = stream_event(aws)
    poison = json.loads(json.dumps(event["Records"][0]))
    poison["dynamodb"]["SequenceNumber"] = "999999999999"
    poison["dynamodb"]["NewImage"]["Count"] = {"N": "not-a-number"}
    event["Records"].insert(0, poison)
    response = check_stock(event, FakeLambdaContext())
    assert response["batchItemFailures"] == [{"itemIdentifier": "999999999999"}]
    assert len(digests(aws)) == 1


def test_sns_failing_once_is_retried_without_duplicates(aws: Aws) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    aws.s3.put_object(Bucket=aws.bucket, Key="berlin.csv", Body=BERLIN)
    load_inventory(s3_event(aws), FakeLambdaContext())
    event = stream_event(aws)
    aws.sns.delete_topic(TopicArn=aws.topic_arn)  # SNS refuses the publish
    failed = check_stock(event, FakeLambdaContext())
    assert len(failed["batchItemFailures"]) == 1
    topic = aws.sns.create_topic(Name=aws.topic_arn.rsplit(":", 1)[1])["TopicArn"]
    queue_arn = aws.sqs.get_queue_attributes(
        QueueUrl=aws.alerts_queue, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    retried = check_stock(event, FakeLambdaContext())  # Lambda retries the failed records
    assert retried["batchItemFailures"] == []
    check_stock(event, FakeLambdaContext())  # and once more, for good measure
    (digest,) = digests(aws)
    assert "Berlin is out of stock of Echo Plus" in digest["Message"]


def test_the_cli_against_aws(aws: Aws, tmp_path: Path) -> None:

    from stockwatch.handlers.checker import check_stock

    path = tmp_path / "inventory-berlin.csv"
    path.write_bytes(BERLIN)

    cli = aws_cli

    ingested = cli("ingest", "--json", str(path))
    assert ingested.returncode == 0, ingested.stderr
    (report,) = json.loads(ingested.stdout)
    assert (report["status"], report["rows_loaded"]) == ("loaded", 3)
    again = json.loads(cli("ingest", "--json", str(path)).stdout)[0]
    assert (again["rows_loaded"], again["rows_unchanged"]) == (0, 3)
    rows = json.loads(cli("stock", "--json", "--store", "Berlin").stdout)
    assert [(r["item"], r["count"]) for r in rows] == [
        ("Echo Dot", 12),
        ("Echo Plus", 0),
        ("Echo Show", 18),
    ]
    assert [r["item"] for r in json.loads(cli("stock", "--json", "--out-of-stock").stdout)] == [
        "Echo Plus"
    ]
    check_stock(stream_event(aws), FakeLambdaContext())
    (alert,) = json.loads(cli("alerts", "--open", "--json").stdout)
    assert (alert["kind"], alert["store"], alert["item"]) == ("out_of_stock", "Berlin", "Echo Plus")
    uploads = json.loads(cli("uploads", "--json").stdout)
    assert [u["file"] for u in uploads] == ["inventory-berlin.csv"] * 2
    validated = json.loads(cli("validate", "--json", str(path)).stdout)[0]
    assert validated["rows_loaded"] == 3
    (point,) = json.loads(cli("history", "--json", "Berlin", "Echo Plus").stdout)
    assert (point["old_count"], point["count"]) == (None, 0)
    (shown,) = [json.loads(cli("report", "--json", uploads[0]["id"]).stdout)]
    assert shown["file"] == "inventory-berlin.csv"
    assert cli("thresholds", "set", "Berlin", "*", "5").returncode == 0
    listed = json.loads(cli("thresholds", "list", "--json").stdout)
    assert [(t["store"], t["item"], t["minimum"]) for t in listed] == [("Berlin", "*", 5)]
    assert cli("thresholds", "delete", "Berlin", "*").returncode == 0
    assert json.loads(cli("thresholds", "list", "--json").stdout) == []
    refused = cli("process")
    assert refused.returncode == 2 and "nothing pending here" in refused.stderr


def test_a_50_mb_file_is_read_from_s3_in_bounded_memory(aws: Aws) -> None:
    """Every row of this 50 MB file is invalid, so nothing is written (moto's DynamoDB is too
    slow for a million writes): what is measured is reading the S3 body as a stream, in a
    process of its own whose peak memory (ru_maxrss) is compared with the file's size."""
    import subprocess
    import sys

    line = b"Berlin,Item with a rather long name to make the file big,many\n"
    size = 50 * 1024 * 1024
    aws.s3.put_object(
        Bucket=aws.bucket, Key="big.csv", Body=b"store,item,count\n" + line * (size // len(line))
    )
    event = s3_event(aws)
    code = (
        "import json, resource, sys\n"
        "from tests.e2e.test_aws_pipeline import FakeLambdaContext\n"
        "from stockwatch.handlers.loader import load_inventory\n"
        "resource_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "(report,) = load_inventory(json.loads(sys.stdin.read()), FakeLambdaContext())"
        "['reports']\n"
        "print(json.dumps({'rejected': report['rows_rejected'],"
        " 'errors': len(report['errors']), 'message': report['message'],"
        " 'before_kb': resource_before,"
        " 'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["rejected"] > 800_000 and figures["errors"] == 1000, figures
    grown_mb = (figures["peak_kb"] - figures["before_kb"]) / 1024
    assert grown_mb < 25, f"reading a 50 MB object grew the process by {grown_mb:.0f} MB"


def test_sns_as_a_channel_of_the_embedded_outbox(aws: Aws, tmp_path: Path) -> None:
    from stockwatch.bootstrap import alert_channels
    from stockwatch.sqlite.backend import SqliteBackend
    from stockwatch.sqlite.outbox import deliver
    from tests.conftest import ingest

    channels = alert_channels(None, {"STOCKWATCH_SNS_TOPIC_ARN": aws.topic_arn})
    app = SqliteBackend(tmp_path / "d", channel_names=tuple(channels))
    try:
        ingest(app, "berlin.csv", BERLIN)
        result = deliver(app.conn, channels)
        assert (result.sent, result.pending) == (2, 0)  # console and sns
    finally:
        app.close()
    (digest,) = digests(aws)
    assert "Berlin is out of stock of Echo Plus" in digest["Message"]
    assert digest["MessageAttributes"]["store"]["Value"] == "Berlin"


def write(writer: Any, rows: Any, version: str) -> Any:
    """A whole (small) file through a writer: it may hold rows back until ``flush``."""
    outcome = writer.apply(rows, version)
    outcome.add(writer.flush(version))
    return outcome


def test_two_uploads_racing_on_one_item_keep_the_newest(aws: Aws) -> None:
    """Upload A reads the row; upload B (newer) writes it before A does. A's conditional
    write is cancelled, A reads again and finds B newer: B's count stays."""
    from stockwatch.aws.inventory_table import DynamoInventoryWriter

    older, newer = "2026-11-27T10:00:00.000Z#1", "2026-11-27T10:00:01.000Z#2"
    rival = DynamoInventoryWriter(aws.dynamodb, aws.table, "b.csv", "now")

    class RacedWriter(DynamoInventoryWriter):
        raced = False

        def read(self, keys: Any, consistent: bool = False) -> Any:
            found = super().read(keys, consistent)
            if not self.raced:  # another Lambda writes between our read and our write
                self.raced = True
                write(rival, [(2, "Berlin", "Echo Dot", 7)], newer)
            return found

    writer = RacedWriter(aws.dynamodb, aws.table, "a.csv", "now")
    outcome = write(writer, [(2, "Berlin", "Echo Dot", 3), (3, "Berlin", "Echo Show", 5)], older)
    assert (outcome.loaded, outcome.superseded) == (1, 1)
    assert stock(aws) == {("Berlin", "Echo Dot"): 7, ("Berlin", "Echo Show"): 5}
    assert writer.usage.requests["TransactWriteItems"] >= 2  # cancelled once, then retried


def test_a_late_upload_racing_a_newer_confirmation_still_loses(aws: Aws) -> None:
    """Upload A (older) marks Berlin and reads its rows; B (newer) marks Berlin and only
    *confirms* Echo Dot, writing nothing. A's write carries a ConditionCheck on Berlin's
    mark, so it is cancelled; A reads what B said from B's file in S3 and leaves Echo Dot
    alone, while its own new item still loads. The stream is read after that cancelled
    transaction with a fresh iterator, and still shows A's write (the moto trap)."""
    from stockwatch.aws.inventory_table import DynamoInventoryWriter
    from stockwatch.aws.store_marks import FileRef, StoreMarks
    from stockwatch.core.limits import Limits

    def writer(key: str) -> DynamoInventoryWriter:
        marks = StoreMarks(aws.dynamodb, aws.state_table, aws.s3, Limits())
        return DynamoInventoryWriter(
            aws.dynamodb, aws.table, key, "now", marks, FileRef(aws.bucket, key)
        )

    first, older, newer = (
        "2026-11-27T09:00:00.000Z#0",
        "2026-11-27T10:00:00.000Z#1",
        ("2026-11-27T10:00:01.000Z#2"),
    )
    write(writer("monday.csv"), [(2, "Berlin", "Echo Dot", 5)], first)
    stream_event(aws)  # what came before
    aws.s3.put_object(Bucket=aws.bucket, Key="b.csv", Body=csv_bytes(("Berlin", "Echo Dot", 5)))
    rival = writer("b.csv")

    class RacedWriter(DynamoInventoryWriter):
        raced = False

        def read(self, keys: Any, consistent: bool = False) -> Any:
            found = super().read(keys, consistent)
            if not self.raced:  # the newer upload runs between our read and our write
                self.raced = True
                confirmed = write(rival, [(2, "Berlin", "Echo Dot", 5)], newer)
                assert (confirmed.unchanged, rival.usage.write_units) == (1, 0)
            return found

    marks = StoreMarks(aws.dynamodb, aws.state_table, aws.s3, Limits())
    late = RacedWriter(aws.dynamodb, aws.table, "a.csv", "now", marks, FileRef(aws.bucket, "a.csv"))
    outcome = write(late, [(2, "Berlin", "Echo Dot", 3), (3, "Berlin", "Echo Show", 4)], older)
    assert (outcome.loaded, outcome.superseded) == (1, 1)
    assert stock(aws) == {("Berlin", "Echo Dot"): 5, ("Berlin", "Echo Show"): 4}
    assert late.usage.requests["TransactWriteItems"] >= 3  # mark, cancelled write, write
    records = stream_event(aws)["Records"]
    assert [r["dynamodb"]["NewImage"]["Item"]["S"] for r in records] == ["Echo Show"]


def test_throttled_reads_are_retried(aws: Aws) -> None:
    """DynamoDB returning UnprocessedKeys (what it does when throttled) is injected with
    botocore's Stubber, since moto never throttles; the writer asks again for the rest."""
    from botocore.stub import ANY, Stubber

    from stockwatch.aws.inventory_table import DynamoInventoryWriter

    client = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name=REGION)
    writer = DynamoInventoryWriter(client, aws.table, "a.csv", "now")
    key = {"Store": {"S": "Berlin"}, "Item": {"S": "Echo Dot"}}
    with Stubber(client) as stub:
        stub.add_response(
            "batch_get_item",
            {
                "Responses": {aws.table: []},
                "UnprocessedKeys": {aws.table: {"Keys": [key]}},
            },
            {"RequestItems": ANY, "ReturnConsumedCapacity": "TOTAL"},
        )
        stub.add_response(
            "batch_get_item",
            {
                "Responses": {
                    aws.table: [
                        {**key, "Count": {"N": "4"}, "Version": {"S": "v1"}, "Line": {"N": "2"}}
                    ]
                },
            },
            {"RequestItems": ANY, "ReturnConsumedCapacity": "TOTAL"},
        )
        found = writer.read([("Berlin", "Echo Dot")])
        stub.assert_no_pending_responses()
    assert found == {("Berlin", "Echo Dot"): (4, "v1", 2, "", "", "")}
    assert writer.usage.requests["BatchGetItem"] == 2


def test_a_late_upload_of_another_file_cannot_undo_a_newer_confirmation(aws: Aws) -> None:
    """Found by the delivery-chaos harness: a newer upload that only *confirms* a count
    writes nothing, so a late, older upload of another file used to overwrite it."""
    from stockwatch import bootstrap
    from stockwatch.aws.s3_upload import S3Upload

    loader = bootstrap.aws()

    def upload(key: str, second: int, count: int) -> str:
        aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=csv_bytes(("Berlin", "Echo Dot", count)))
        report = loader.load(
            S3Upload(aws.bucket, key, f"{second:016X}", f"2026-11-27T10:00:{second:02d}.000Z")
        )
        return report.status

    # The same file again, confirming: nothing is written, its watermark stands for it.
    upload("a.csv", 1, 5)
    upload("a.csv", 3, 5)
    upload("c.csv", 2, 7)  # older than the confirmation, arriving last
    assert stock(aws)[("Berlin", "Echo Dot")] == 5

    # Another file confirming: the row's version moves on.
    upload("d.csv", 11, 9)
    upload("e.csv", 13, 9)
    upload("f.csv", 12, 1)
    assert stock(aws)[("Berlin", "Echo Dot")] == 9
