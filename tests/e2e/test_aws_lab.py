"""Coming from the lab: the stack adopts its ``Inventory`` table and ``NoStock`` topic.

The lab's resources are made in moto first, as the lab made them, with rows written the
way the lab's loader writes them (a plain PutItem of Store, Item and Count). The template
is then deployed with the adoption parameters, and stockwatch loads over those rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.aws_stack import (
    REGION,
    TEMPLATE,
    Aws,
    FakeLambdaContext,
    running_stack,
    s3_event,
    stock,
    stream_event,
)
from tests.conftest import csv_bytes

LAB: dict[str, str] = {}


def make_lab(endpoint: str) -> dict[str, str]:
    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=endpoint, region_name=REGION)

    ddb = client("dynamodb")
    table = ddb.create_table(
        TableName="Inventory",
        KeySchema=[
            {"AttributeName": "Store", "KeyType": "HASH"},
            {"AttributeName": "Item", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "Store", "AttributeType": "S"},
            {"AttributeName": "Item", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    topic = client("sns").create_topic(Name="NoStock")["TopicArn"]
    for store, item, count in [
        ("Berlin", "Echo Dot", 12),
        ("Berlin", "Echo Plus", 4),
        ("Berlin", "Echo Show", 0),
    ]:  # the lab's load-inventory function: one plain PutItem a row
        ddb.put_item(
            TableName="Inventory",
            Item={"Store": {"S": store}, "Item": {"S": item}, "Count": {"N": str(count)}},
        )
    LAB.update(table_arn=table["TableArn"], stream=table["LatestStreamArn"], topic=topic)
    return {
        "ExistingInventoryTable": "Inventory",
        "ExistingInventoryStreamArn": table["LatestStreamArn"],
        "ExistingAlertTopicArn": topic,
    }


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    yield from running_stack(monkeypatch, make_lab)


def test_the_stack_adopts_the_labs_table_and_topic_and_loads_over_its_rows(lab: Aws) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    assert lab.table == "Inventory" and lab.topic_arn == LAB["topic"]
    assert lab.stream_arn == LAB["stream"]
    cloudformation = lab.client("cloudformation")
    made = {
        r["LogicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName="stockwatch")[
            "StackResourceSummaries"
        ]
    }
    assert "InventoryTable" not in made and "AlertsTopic" not in made
    assert {"StateTable", "UploadsBucket", "OperationsTopic"} <= made
    assert [t for t in lab.sns.list_topics()["Topics"] if "AlertsTopic" in t["TopicArn"]] == []

    # The lab's rows: stockwatch's first upload of Berlin finds them and updates them.
    stream_event(lab)  # the lab's own writes: not stockwatch's to judge
    lab.s3.put_object(
        Bucket=lab.bucket,
        Key="berlin.csv",
        Body=csv_bytes(
            ("Berlin", "Echo Dot", 12), ("Berlin", "Echo Plus", 0), ("Berlin", "Echo Show", 5)
        ),
    )
    (report,) = load_inventory(s3_event(lab), FakeLambdaContext())["reports"]
    assert (report["status"], report["rows_loaded"], report["rows_unchanged"]) == ("loaded", 2, 1)
    assert stock(lab) == {
        ("Berlin", "Echo Dot"): 12,
        ("Berlin", "Echo Plus"): 0,
        ("Berlin", "Echo Show"): 5,
    }
    response = check_stock(stream_event(lab), FakeLambdaContext())
    assert response["batchItemFailures"] == []
    messages = lab.sqs.receive_message(QueueUrl=lab.alerts_queue, WaitTimeSeconds=1)
    ((digest,),) = [[json.loads(m["Body"]) for m in messages["Messages"]]]
    assert digest["TopicArn"] == LAB["topic"]  # to NoStock, the lab's subscribers
    assert "Berlin is out of stock of Echo Plus" in digest["Message"]
    assert "Echo Show" not in digest["Message"]  # 0 -> 5, but no alert of it was open


def test_the_adopted_resources_are_the_only_ones_the_policies_name() -> None:
    """With the parameters, every statement on the inventory table or the topic names the
    lab's; without them, the stack's own."""
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    resources = template["Resources"]
    for name in ("LoadInventoryRole", "CheckStockRole", "ApiRole"):
        for policy in resources[name]["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                target = json.dumps(statement["Resource"])
                if "InventoryTable" in target:
                    assert "ExistingInventoryTable" in target, (name, target)
                if "AlertsTopic" in target:
                    assert "ExistingAlertTopicArn" in target, (name, target)
    stream = resources["CheckStockFunction"]["Properties"]["Events"]["StockChanged"]
    assert "ExistingInventoryStreamArn" in json.dumps(stream["Properties"]["Stream"])
    assert "ExistingTableNeedsItsStream" in template["Rules"]
