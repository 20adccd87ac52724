"""People on AWS through the real CLI: users in the state table, subscriptions as SNS
subscriptions with a filter policy, against moto in server mode with the template deployed.

Moto delivers SNS messages to HTTP endpoints itself and applies filter policies, so the
webhook below is a real HTTP server on 127.0.0.1 receiving what SNS would send it. Moto
cannot run Lambda code, so CheckStock is called in this process with the stream's records.
"""

from __future__ import annotations

import json
import os
import time

from tests.aws_stack import Aws, FakeLambdaContext, s3_event, stream_event
from tests.conftest import Receiver, aws_cli, csv_bytes

cli = aws_cli


def everything_in(aws: Aws) -> str:
    items = aws.dynamodb.scan(TableName=aws.state_table)["Items"]
    items += aws.dynamodb.scan(TableName=aws.table)["Items"]
    return json.dumps(items)


def test_users_are_managed_with_the_cli_and_only_their_hashes_are_kept(aws: Aws) -> None:
    made = cli("users", "add", "berlin", "--role", "store", "--store", "Berlin")
    assert made.returncode == 0, made.stderr
    token = next(w for w in made.stdout.split() if w.startswith("sw_"))
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["stores"]) for u in listed] == [
        ("berlin", "store", ["Berlin"])
    ]
    assert cli("users", "add", "berlin", "--role", "viewer").returncode != 0  # name taken

    rotated = cli("users", "rotate", "berlin")
    assert rotated.returncode == 0, rotated.stderr
    new = next(w for w in rotated.stdout.split() if w.startswith("sw_"))
    assert new != token
    stored = everything_in(aws)
    assert token not in stored and new not in stored  # hashes only

    from stockwatch.aws.users import DynamoUsers
    from stockwatch.core.access import token_hash

    directory = DynamoUsers(aws.dynamodb, aws.state_table)
    assert directory.by_hash(token_hash(token)) is None
    assert directory.by_hash(token_hash(new)) == ("berlin", "store", ["Berlin"])
    assert cli("users", "revoke", "berlin").returncode == 0
    assert directory.by_hash(token_hash(new)) is None
    audit = cli("audit", "--json")
    assert audit.returncode == 0, audit.stderr
    assert [a["action"] for a in json.loads(audit.stdout)] == [
        "user.add",
        "user.rotate",
        "user.revoke",
    ]


def received_digests(receiver: Receiver, wait: float = 5.0) -> list[dict[str, str]]:
    """What SNS posted to the webhook: notifications (moto delivers in the background)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with receiver.lock:
            if any(m.get("Type") == "Notification" for m in receiver.received):
                break
        time.sleep(0.1)
    time.sleep(0.5)  # anything else in flight
    with receiver.lock:
        return [m for m in receiver.received if m.get("Type") == "Notification"]


def test_a_berlin_only_subscription_is_an_sns_filter_policy(aws: Aws, receiver: Receiver) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    added = cli("subscriptions", "add", "--webhook", receiver.url, "--store", "Berlin")
    assert added.returncode == 0, added.stderr
    quiet = cli(
        "subscriptions", "add", "--email", "karachi@example.com", "--store", "Karachi",
        "--kind", "low_stock",
    )  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    listed = json.loads(cli("subscriptions", "list", "--json").stdout)
    ours = [s for s in listed if s["owner"]]
    assert [(s["channel"], s["target"], s["stores"], s["kinds"]) for s in ours] == [
        ("webhook", receiver.url, ["Berlin"], None),
        ("email", "karachi@example.com", ["Karachi"], ["low_stock"]),
    ]
    # The test's own SQS subscription (made by the fixture) hears everything, and is listed.
    assert [s["stores"] for s in listed if not s["owner"]] == [None]
    attributes = aws.sns.get_subscription_attributes(
        SubscriptionArn=next(
            s["SubscriptionArn"]
            for s in aws.sns.list_subscriptions_by_topic(TopicArn=aws.topic_arn)["Subscriptions"]
            if s["Endpoint"] == receiver.url
        )
    )["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"store": ["Berlin"]}
    # A digest the subscriber never takes ends in the stack's queue, not nowhere (#25).
    failures = os.environ["STOCKWATCH_SUBSCRIPTION_FAILURES_ARN"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": failures}

    mixed = csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 0), ("Berlin", "Echo Plus", 0))
    aws.s3.put_object(Bucket=aws.bucket, Key="mixed.csv", Body=mixed)
    load_inventory(s3_event(aws), FakeLambdaContext())
    assert check_stock(stream_event(aws), FakeLambdaContext())["batchItemFailures"] == []
    (digest,) = received_digests(receiver)
    assert "Berlin is out of stock of Echo Dot" in digest["Message"]
    assert "Berlin is out of stock of Echo Plus" in digest["Message"]
    assert "Karachi" not in json.dumps(digest)

    deleted = cli("subscriptions", "delete", ours[0]["id"])
    assert deleted.returncode == 0, deleted.stderr
    assert cli("subscriptions", "delete", ours[0]["id"]).returncode != 0  # already gone
    receiver.received.clear()
    aws.s3.put_object(
        Bucket=aws.bucket, Key="again.csv", Body=csv_bytes(("Berlin", "Echo Show", 0))
    )
    load_inventory(s3_event(aws), FakeLambdaContext())
    check_stock(stream_event(aws), FakeLambdaContext())
    assert received_digests(receiver, wait=2) == []
    trail = json.loads(cli("audit", "--json").stdout)
    assert [a["action"] for a in trail if a["action"].startswith("subscription")] == [
        "subscription.add",
        "subscription.add",
        "subscription.delete",
    ]
