"""The AWS pipeline end to end on a real AWS-protocol endpoint: moto in server mode.

Nothing of ours is mocked. Moto cannot run Lambda code (no Docker here), so the handlers are
called in this process with the events moto itself produces: the S3 notification as
delivered to an SQS queue (standing in for the Lambda trigger), and the DynamoDB stream's
records read with the dynamodbstreams API. The Lambda context is a plain stand-in object.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import csv_bytes

REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    """What the Lambda runtime passes; only its attributes are read."""

    function_name: str = "stockwatch-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stockwatch-test"
    aws_request_id: str = "test-request"


@dataclass
class Aws:
    endpoint: str
    s3: Any
    sqs: Any
    sns: Any
    dynamodb: Any
    streams: Any
    events_queue: str
    alerts_queue: str
    topic_arn: str
    stream_arn: str
    shard_iterators: dict[str, str]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    httpx.post(f"{endpoint}/moto-api/reset")  # moto keeps its state per process
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STOCKWATCH_AWS_ENDPOINT_URL": endpoint,
        "STOCKWATCH_TABLE": "inventory",
        "STOCKWATCH_STATE_TABLE": "state",
        "STOCKWATCH_BUCKET": "uploads",
    }.items():
        monkeypatch.setenv(name, value)
    client = lambda service: boto3.client(service, endpoint_url=endpoint, region_name=REGION)  # noqa: E731
    s3, sqs, sns, ddb = client("s3"), client("sqs"), client("sns"), client("dynamodb")
    s3.create_bucket(Bucket="uploads")
    events_queue = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": events_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}},
                }
            ]
        },
    )
    table = ddb.create_table(
        TableName="inventory",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "Store", "KeyType": "HASH"},
            {"AttributeName": "Item", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "Store", "AttributeType": "S"},
            {"AttributeName": "Item", "AttributeType": "S"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.create_table(
        TableName="state",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    topic_arn = sns.create_topic(Name="stockwatch-alerts")["TopicArn"]
    alerts_queue = sqs.create_queue(QueueName="managers")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn)
    monkeypatch.setenv("STOCKWATCH_TOPIC_ARN", topic_arn)
    streams = client("dynamodbstreams")
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    yield Aws(
        endpoint, s3, sqs, sns, ddb, streams, events_queue, alerts_queue, topic_arn, stream_arn, {}
    )
    server.stop()


def s3_event(aws: Aws) -> dict[str, Any]:
    """The next S3 notification that reached the queue, as Lambda would get it."""
    for _ in range(20):
        messages = aws.sqs.receive_message(
            QueueUrl=aws.events_queue, WaitTimeSeconds=1, MaxNumberOfMessages=1
        ).get("Messages", [])
        for message in messages:
            aws.sqs.delete_message(
                QueueUrl=aws.events_queue, ReceiptHandle=message["ReceiptHandle"]
            )
            body = json.loads(message["Body"])
            if "Records" in body:
                return dict(body)
    raise AssertionError("no S3 notification arrived")


def stream_event(aws: Aws) -> dict[str, Any]:
    """The stream records written since the last call, as Lambda would get them."""
    shards = aws.streams.describe_stream(StreamArn=aws.stream_arn)["StreamDescription"]["Shards"]
    records = []
    for shard in shards:
        shard_id = shard["ShardId"]
        iterator = (
            aws.shard_iterators.get(shard_id)
            or aws.streams.get_shard_iterator(
                StreamArn=aws.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        )
        response = aws.streams.get_records(ShardIterator=iterator)
        aws.shard_iterators[shard_id] = response["NextShardIterator"]
        for record in response["Records"]:
            record["eventSourceARN"] = aws.stream_arn
            records.append(record)
    return {"Records": json.loads(json.dumps(records, default=str))}


def digests(aws: Aws) -> list[dict[str, Any]]:
    found = []
    while True:
        messages = aws.sqs.receive_message(
            QueueUrl=aws.alerts_queue,
            WaitTimeSeconds=1,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            aws.sqs.delete_message(
                QueueUrl=aws.alerts_queue, ReceiptHandle=message["ReceiptHandle"]
            )
            found.append(json.loads(message["Body"]))


def stock(aws: Aws) -> dict[tuple[str, str], int]:
    items = aws.dynamodb.scan(TableName="inventory")["Items"]
    return {(i["Store"]["S"], i["Item"]["S"]): int(i["Count"]["N"]) for i in items}


BERLIN = csv_bytes(
    ("Berlin", "Echo Dot", 12),
    ("Berlin", "Echo Plus", 0),
    ("Berlin", "Echo Show", 18),
    header="Store,item,count",
)


def test_upload_to_alert_end_to_end(aws: Aws) -> None:
    from stockwatch.aws.handlers import check_stock, load_inventory

    aws.s3.put_object(Bucket="uploads", Key="incoming/inventory berlin.csv", Body=BERLIN)
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
        TableName="inventory", Key={"Store": {"S": "Berlin"}, "Item": {"S": "Echo Plus"}}
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
    assert again == report
    assert check_stock(stream_event(aws), FakeLambdaContext())["batchItemFailures"] == []
    assert digests(aws) == []


def test_repeated_stream_records_alert_once(aws: Aws) -> None:
    from stockwatch.aws.handlers import check_stock, load_inventory

    aws.s3.put_object(Bucket="uploads", Key="berlin.csv", Body=BERLIN)
    load_inventory(s3_event(aws), FakeLambdaContext())
    records = stream_event(aws)
    check_stock(records, FakeLambdaContext())
    check_stock(records, FakeLambdaContext())  # at-least-once: the batch arrives again
    assert len(digests(aws)) == 1


def test_an_older_event_after_a_newer_one_changes_nothing(aws: Aws) -> None:
    from stockwatch.aws.handlers import check_stock, load_inventory

    aws.s3.put_object(Bucket="uploads", Key="berlin.csv", Body=BERLIN)
    old_event = s3_event(aws)
    aws.s3.put_object(
        Bucket="uploads", Key="berlin.csv", Body=csv_bytes(("Berlin", "Echo Plus", 7))
    )
    new_event = s3_event(aws)
    load_inventory(new_event, FakeLambdaContext())
    (late,) = load_inventory(old_event, FakeLambdaContext())["reports"]
    assert late["status"] == "rejected" and "newer upload" in late["message"]
    assert stock(aws) == {("Berlin", "Echo Plus"): 7}
    check_stock(stream_event(aws), FakeLambdaContext())
    assert digests(aws) == []


def test_bad_rows_are_reported_and_good_rows_load(aws: Aws) -> None:
    from stockwatch.aws.handlers import load_inventory

    aws.s3.put_object(
        Bucket="uploads",
        Key="mixed.csv",
        Body=csv_bytes(("Pusan", "Echo Dot", 3), ("Pusan", "Echo Show", "twelve")),
    )
    (report,) = load_inventory(s3_event(aws), FakeLambdaContext())["reports"]
    assert report["status"] == "loaded_with_errors"
    assert report["errors"] == [
        {"line": 3, "field": "count", "message": 'count "twelve" is not a whole number'}
    ]
    assert stock(aws) == {("Pusan", "Echo Dot"): 3}


def test_a_poison_record_is_a_batch_item_failure(aws: Aws) -> None:
    from stockwatch.aws.handlers import check_stock, load_inventory

    aws.s3.put_object(Bucket="uploads", Key="berlin.csv", Body=BERLIN)
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
    from stockwatch.aws.handlers import check_stock, load_inventory

    aws.s3.put_object(Bucket="uploads", Key="berlin.csv", Body=BERLIN)
    load_inventory(s3_event(aws), FakeLambdaContext())
    event = stream_event(aws)
    aws.sns.delete_topic(TopicArn=aws.topic_arn)  # SNS refuses the publish
    failed = check_stock(event, FakeLambdaContext())
    assert len(failed["batchItemFailures"]) == 1
    topic = aws.sns.create_topic(Name="stockwatch-alerts")["TopicArn"]
    queue_arn = aws.sqs.get_queue_attributes(
        QueueUrl=aws.alerts_queue, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    retried = check_stock(event, FakeLambdaContext())  # Lambda retries the failed records
    assert retried["batchItemFailures"] == []
    check_stock(event, FakeLambdaContext())  # and once more, for good measure
    (digest,) = digests(aws)
    assert "Berlin is out of stock of Echo Plus" in digest["Message"]
