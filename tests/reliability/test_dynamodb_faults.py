"""DynamoDB throttling, injected by a fault proxy in front of moto: retried, nothing lost.

The handlers talk to the proxy (tests/reliability/fault_proxy.py), which answers a share of
DynamoDB calls (30 % while loading, 5 % while alerting, where botocore's own backoff of up
to seconds per retry would make the test slow) as a throttled table would: ThrottlingException,
ProvisionedThroughputExceededException, TransactWriteItems cancelled for ThrottlingError or
TransactionConflict, and BatchGetItem answers with UnprocessedKeys. stockwatch writes with
TransactWriteItems, not BatchWriteItem, so UnprocessedItems cannot occur; its read-side
twin UnprocessedKeys is injected instead.
"""

from __future__ import annotations

import random

import pytest

from tests.aws_stack import (
    Aws,
    FakeLambdaContext,
    alert_log,
    digests,
    s3_event,
    stock,
    stream_event,
)
from tests.reliability.fault_proxy import FaultProxy

ROWS = 40


def inventory(rng: random.Random) -> dict[tuple[str, str], int]:
    return {
        (f"Store {s}", f"Item {i:03d}"): rng.choice([0, 3, 7, 12, 40])
        for s in range(2)
        for i in range(ROWS // 2)
    }


def test_throttled_dynamodb_loses_nothing(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from stockwatch.handlers.checker import check_stock
    from stockwatch.handlers.loader import load_inventory

    proxy = FaultProxy(aws.endpoint, rate=0.3, seed=7).start()
    monkeypatch.setenv("STOCKWATCH_AWS_ENDPOINT_URL", proxy.url)
    rng = random.Random(8)
    files = [inventory(rng) for _ in range(4)]
    try:
        for n, counts in enumerate(files):
            body = "store,item,count\n" + "".join(f"{s},{i},{c}\n" for (s, i), c in counts.items())
            aws.s3.put_object(Bucket=aws.bucket, Key="throttled.csv", Body=body.encode())
            proxy.rate = 0.3
            (report,) = load_inventory(s3_event(aws), FakeLambdaContext())["reports"]
            assert report["rows_rejected"] == 0 and report["message"] is None
            assert report["rows_loaded"] + report["rows_unchanged"] == ROWS
            if n == 0:
                assert report["rows_loaded"] == ROWS
            proxy.rate = 0.05
            response = check_stock(stream_event(aws), FakeLambdaContext())
            assert response.get("batchItemFailures", []) == []
    finally:
        proxy.stop()
    assert stock(aws) == files[-1]
    injected = proxy.injected
    print(dict(injected), "forwarded", proxy.forwarded)
    assert injected["ThrottlingException"] and injected["ProvisionedThroughputExceededException"]
    assert injected["UnprocessedKeys"]
    assert sum(v for k, v in injected.items() if k.startswith("TransactionCanceled")) > 0

    zeros = sorted(k for k, c in files[-1].items() if c == 0)
    open_alerts = sorted(
        tuple(i["pk"]["S"][len("ALERT#") :].split("\x1f"))
        for i in aws.dynamodb.scan(TableName=aws.state_table)["Items"]
        if i["pk"]["S"].startswith("ALERT#") and i["sk"]["S"] == "out_of_stock"
    )
    assert open_alerts == zeros
    log = alert_log(aws)
    sent = [
        line.removeprefix("- ")
        for message in digests(aws)
        for line in message["Message"].splitlines()
        if " is out of stock of " in line
    ]
    raised = [
        f"{d['store']} is out of stock of {d['item']}" for d in log if d["kind"] == "out_of_stock"
    ]
    assert sorted(sent) == sorted(raised)  # each alert notified once: none lost, none twice
