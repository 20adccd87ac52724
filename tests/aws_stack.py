"""A stockwatch stack deployed into moto in server mode, for the AWS tests.

Moto cannot run Lambda code (no Docker here), so the handlers are called in the test
process with the events moto itself produces: the S3 notification as delivered to an SQS
queue (standing in for the Lambda trigger), and the DynamoDB stream's records read with the
dynamodbstreams API. The Lambda context is a plain stand-in object.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests import moto_speed

REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    """What the Lambda runtime passes; only its attributes are read."""

    function_name: str = "stockwatch-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stockwatch-test"
    aws_request_id: str = "test-request"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


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
    bucket: str
    table: str
    state_table: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)


TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "template.yaml"


def deploy_template(endpoint: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Translate infra/template.yaml with aws-sam-translator and create it in moto.

    Left out, because moto cannot run Lambda code: the event source mappings, the Lambda
    permissions and the bucket's notification to Lambda. The test wires the bucket to an
    SQS queue instead and calls the handlers itself.
    """
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(Bucket="artifacts")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("README", "the handlers run in the test process")
    s3.put_object(Bucket="artifacts", Key="code.zip", Body=code.getvalue())
    template = yaml_parse(TEMPLATE.read_text())
    template["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    resources = transform(template, {}, NoManagedPolicies())
    for name, resource in list(resources["Resources"].items()):
        if resource["Type"] in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::Permission"):
            del resources["Resources"][name]
    bucket = resources["Resources"]["UploadsBucket"]
    bucket["Properties"].pop("NotificationConfiguration", None)
    bucket.pop("DependsOn", None)
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION)
    cloudformation.create_stack(
        StackName="stockwatch",
        TemplateBody=json.dumps(resources),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
        ],
    )
    stack = cloudformation.describe_stacks(StackName="stockwatch")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName="stockwatch")[
            "StackResourceSummaries"
        ]
    }
    functions = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION)
    environment: dict[str, str] = {}
    for function in ("LoadInventoryFunction", "CheckStockFunction", "ApiFunction"):
        config = functions.get_function_configuration(FunctionName=physical[function])
        environment.update(config["Environment"]["Variables"])
    # Moto's CloudFormation does not create AWS::SecretsManager::Secret: make the API token
    # secret as the stack's GenerateSecretString would, and point the Api function at it.
    assert "ApiTokenSecret" in template["Resources"]
    secret = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION)
    arn = secret.create_secret(Name="stockwatch-api-token", SecretString=token_urlsafe(30))["ARN"]
    environment["STOCKWATCH_TOKEN_SECRET_ARN"] = arn
    return environment


def running_stack(
    monkeypatch: pytest.MonkeyPatch,
    before_deploy: Callable[[str], dict[str, str]] | None = None,
) -> Iterator[Aws]:
    """The ``aws`` fixture (in conftest): moto started, the template deployed, wired up.

    ``before_deploy(endpoint)`` may create resources first (the lab's table and topic) and
    returns the stack's parameters.
    """
    moto_speed.apply()
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
    }.items():
        monkeypatch.setenv(name, value)
    parameters = before_deploy(endpoint) if before_deploy is not None else None
    environment = deploy_template(endpoint, parameters)
    for name, value in environment.items():  # the deployed functions' own settings
        monkeypatch.setenv(name, value)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    s3, sqs, sns, ddb = client("s3"), client("sqs"), client("sns"), client("dynamodb")
    bucket = environment["STOCKWATCH_BUCKET"]
    events_queue = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [  # as the template's: CSV files and spreadsheets
                {
                    "QueueArn": events_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": suffix}]}},
                }
                for suffix in (".csv", ".xlsx", ".xls", ".ods")
            ]
        },
    )
    topic_arn = environment["STOCKWATCH_TOPIC_ARN"]
    alerts_queue = sqs.create_queue(QueueName="managers")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn)
    table = ddb.describe_table(TableName=environment["STOCKWATCH_TABLE"])["Table"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    yield Aws(
        endpoint,
        s3,
        sqs,
        sns,
        ddb,
        client("dynamodbstreams"),
        events_queue,
        alerts_queue,
        topic_arn,
        table["LatestStreamArn"],
        {},
        bucket,
        environment["STOCKWATCH_TABLE"],
        environment["STOCKWATCH_STATE_TABLE"],
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
    """The stream records written since the last call, as Lambda would get them.

    A fresh shard iterator each call, after the last sequence number seen: when a
    TransactWriteItems is cancelled, moto puts back a copy of the table, and an iterator
    taken before that reads a stale shard and returns nothing for ever after.
    ``aws.shard_iterators`` keeps the last sequence number read from each shard.
    """
    shards = aws.streams.describe_stream(StreamArn=aws.stream_arn)["StreamDescription"]["Shards"]
    records = []
    for shard in shards:
        shard_id = shard["ShardId"]
        last = aws.shard_iterators.get(shard_id)
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
            if last
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = aws.streams.get_shard_iterator(
            StreamArn=aws.stream_arn, ShardId=shard_id, **position
        )["ShardIterator"]
        while iterator:
            response = aws.streams.get_records(ShardIterator=iterator)
            for record in response["Records"]:
                record["eventSourceARN"] = aws.stream_arn
                records.append(record)
                aws.shard_iterators[shard_id] = record["dynamodb"]["SequenceNumber"]
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return {"Records": json.loads(json.dumps(records, default=str))}


def digests(aws: Aws) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
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
    items = aws.dynamodb.scan(TableName=aws.table)["Items"]
    return {(i["Store"]["S"], i["Item"]["S"]): int(i["Count"]["N"]) for i in items}


def alert_log(aws: Aws) -> list[dict[str, Any]]:
    """Every alert raised on AWS: its decision, plus whether SNS has it (``notified``)."""
    pages = aws.dynamodb.get_paginator("query").paginate(
        TableName=aws.state_table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "ALERTLOG"}},
    )
    return [
        {**json.loads(entry["decision"]["S"]), "notified": entry["notified"]["BOOL"]}
        for page in pages
        for entry in page["Items"]
    ]
