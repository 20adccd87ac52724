"""DynamoDB requests and write units per 1,000 rows, against the lab's one-PutItem-per-row.

    python bench/dynamodb_bench.py

Runs against moto in server mode on 127.0.0.1, counting the requests each approach sends.
Moto does not meter capacity, so write units are computed the way DynamoDB bills them:
1 per standard write of an item up to 1 KB, 2 per transactional write (every item here is
far below 1 KB). stockwatch reads with BatchGetItem (eventually consistent: half a read unit
per item) and writes only changed rows, in conditional transactions of up to 100. Moto is
slow with transactions, so the run uses 1,000 rows; the figures are counts, not timings,
and scale linearly.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections import Counter
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

from stockwatch import bootstrap
from stockwatch.aws.s3_upload import S3Upload
from stockwatch.aws.settings import AwsSettings

STORES, ITEMS = 1, 1000
TARGET_FIRST_LOAD_REQUESTS = 50
TARGET_UNCHANGED_REQUESTS = 15
# The everyday re-upload (#28), per upload of 10,000 rows (10 stores x 1,000 items).
RECORD_STORES, RECORD_ITEMS = 10, 1000
TARGET_RECORD_UNCHANGED = 10
TARGET_RECORD_CHANGED = 40


def csv_rows(
    changed_every: int = 0, shift: int = 0, stores: int = STORES, items: int = ITEMS
) -> bytes:
    lines = ["store,item,count"]
    for s in range(stores):
        for i in range(items):
            count = (s + i) % 40
            if changed_every and (s * items + i) % changed_every == 0:
                count += 1 + shift
            lines.append(f"Store {s:02d},Item {i:04d},{count}")
    return ("\n".join(lines) + "\n").encode()


def make_table(ddb: Any, name: str, keys: tuple[str, str], stream: bool = False) -> None:
    extra = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": keys[0], "KeyType": "HASH"},
            {"AttributeName": keys[1], "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        **extra,
    )


def make_tables(ddb: Any) -> None:
    make_table(ddb, "inventory", ("Store", "Item"), stream=True)
    make_table(ddb, "state", ("pk", "sk"))
    make_table(ddb, "lab", ("Store", "Item"))


def lab_load(ddb: Any, data: bytes) -> tuple[int, int]:
    """The lab's loader: one PutItem per row, whatever was there."""
    requests = 0
    for line in data.decode().splitlines()[1:]:
        store, item, count = line.split(",")
        ddb.put_item(
            TableName="lab",
            Item={"Store": {"S": store}, "Item": {"S": item}, "Count": {"N": count}},
        )
        requests += 1
    return requests, requests  # 1 write unit per small item


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    httpx.post(f"{endpoint}/moto-api/reset")
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="uploads")
    make_tables(ddb)
    rows = STORES * ITEMS
    per = 1000 / rows
    print(f"{rows:,} rows ({STORES} stores x {ITEMS:,} items); figures per 1,000 rows")
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    settings = AwsSettings(
        "inventory", "state", "uploads", endpoint_url=endpoint, region="us-east-1"
    )
    loader = bootstrap.aws(settings=settings)
    loader.dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    print(
        "requests: all DynamoDB calls of the upload (inventory table and state table);"
        " units: the inventory table's"
    )
    print(f"{'':34}{'requests':>10}{'write units':>13}{'read units':>12}")
    results: dict[str, float] = {}
    state_writes: dict[str, int] = {}
    costs: dict[str, dict[str, object]] = {}
    uploads = [
        ("first load", "all.csv", csv_rows()),
        ("unchanged, same key", "all.csv", csv_rows()),
        ("unchanged, new key", "all-0602.csv", csv_rows()),
        ("5% of counts changed", "all-0603.csv", csv_rows(changed_every=20)),
    ]
    for n, (label, key, data) in enumerate(uploads):
        s3.put_object(Bucket="uploads", Key=key, Body=io.BytesIO(data))
        upload = S3Upload("uploads", key, f"{n + 1:016X}", f"2026-11-27T10:00:0{n}.000Z")
        calls.clear()
        report = loader.load(upload)
        assert report.status == "loaded", report.to_json()
        requests = len(calls)
        costs[label] = report.cost or {}
        writes = 2 * report.rows_loaded  # transactional writes: 2 units per small item
        reads = rows / 2  # eventually consistent: half a read unit per small item
        results[label] = requests * per
        state_writes[label] = sum(c in ("PutItem", "UpdateItem") for c in calls) + (
            2 * calls.count("TransactWriteItems") if report.rows_loaded == 0 else 0
        )
        print(
            f"stockwatch, {label:<22}{requests * per:>10.1f}{writes * per:>13.1f}"
            f"{reads * per:>12.1f}"
        )
    for label, _key, data in uploads[:2]:
        calls.clear()
        requests, writes = lab_load(ddb, data)
        assert requests == len(calls)
        print(f"lab PutItem, {label:<21}{requests * per:>10.1f}{writes * per:>13.1f}{0:>12.1f}")
    record_ok = record_figures(ddb, s3, loader, calls, results["first load"])
    server.stop()
    print("each upload's own report, its cost (moto reports no capacity: units estimated):")
    for label in ("first load", "unchanged, same key", "unchanged, new key"):
        print(f"  {label}: {json.dumps(costs[label])}")
    print(
        "state-table writes of an unchanged re-upload (small items, not in the figures above):"
        f" same key {state_writes['unchanged, same key']},"
        f" new key {state_writes['unchanged, new key']}"
        " (the key's watermark, the upload's record, the store's mark)"
    )
    ok = (
        record_ok
        and results["first load"] <= TARGET_FIRST_LOAD_REQUESTS
        and results["unchanged, same key"] <= TARGET_UNCHANGED_REQUESTS
        and results["unchanged, new key"] <= TARGET_UNCHANGED_REQUESTS
    )
    print(
        f"targets: first load <= {TARGET_FIRST_LOAD_REQUESTS} requests, unchanged re-upload"
        f" (same or new key) <= {TARGET_UNCHANGED_REQUESTS} requests and 0 write units"
    )
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


def seed(ddb: Any, data: bytes) -> None:
    """The table as a first load by stockwatch leaves it, written with BatchWriteItem:
    moto copies the whole table on each transaction, so a real first load of 10,000 rows
    would take many minutes here (its requests are the 1,000-row figure, times ten)."""
    lines = data.decode().splitlines()[1:]
    for start in range(0, len(lines), 25):
        puts = []
        for n, line in enumerate(lines[start : start + 25], start=start + 2):
            store, item, count = line.split(",")
            puts.append(
                {
                    "PutRequest": {
                        "Item": {
                            "Store": {"S": store},
                            "Item": {"S": item},
                            "Count": {"N": count},
                            "Version": {"S": "2026-11-01T00:00:00.000Z#seed"},
                            "Line": {"N": str(n)},
                            "UploadKey": {"S": "seed.csv"},
                            "UpdatedAt": {"S": "2026-11-01T00:00:00Z"},
                            "History": {"S": f'[[null,{count},"seed"]]'},
                        }
                    }
                }
            )
        ddb.batch_write_item(RequestItems={"inventory": puts})


def record_figures(ddb: Any, s3: Any, loader: Any, calls: list[str], first_load: float) -> bool:
    """DynamoDB requests of whole uploads of 10,000 rows, diffed against the stores' records."""
    stores, items = RECORD_STORES, RECORD_ITEMS
    rows = stores * items
    print()
    print(f"the everyday re-upload: {rows:,} rows ({stores} stores x {items:,} items), per upload")
    # No stream here: moto keeps a copy of the table and its stream for every transaction,
    # which at 10,000 rows takes gigabytes; the loader's requests do not depend on it.
    ddb.delete_table(TableName="inventory")
    make_table(ddb, "inventory", ("Store", "Item"))
    base = csv_rows(stores=stores, items=items)
    seed(ddb, base)
    uploads = [
        ("re-upload, no records yet", "chain.csv", base),
        ("unchanged", "chain-1202.csv", base),
        ("5% of counts changed", "chain-1203.csv", csv_rows(20, 0, stores, items)),
        ("unchanged again", "chain-1204.csv", csv_rows(20, 0, stores, items)),
    ]
    print(f"{'':34}{'requests':>10}{'write units':>13}{'rows written':>14}  S3 requests")
    found: dict[str, int] = {}
    for n, (label, key, data) in enumerate(uploads):
        s3.put_object(Bucket="uploads", Key=key, Body=io.BytesIO(data))
        upload = S3Upload("uploads", key, f"{n + 11:016X}", f"2026-12-0{n + 1}T18:00:00.000Z")
        calls.clear()
        report = loader.load(upload)
        assert report.status == "loaded", report.to_json()
        found[label] = len(calls)
        s3_requests = (report.cost or {}).get("s3", {}).get("requests", {})
        print(
            f"stockwatch, {label:<22}{len(calls):>10}{2 * report.rows_loaded:>13}"
            f"{report.rows_loaded:>14}  {json.dumps(s3_requests)}"
        )
        print(f"{'':12}{json.dumps(Counter(calls))}")
    ok = (
        found["unchanged"] <= TARGET_RECORD_UNCHANGED
        and found["unchanged again"] <= TARGET_RECORD_UNCHANGED
        and found["5% of counts changed"] <= TARGET_RECORD_CHANGED
    )
    print(
        f"per 10,000 rows: first load {10 * first_load:.0f} (10 x the 1,000-row figure above);"
        f" targets: unchanged <= {TARGET_RECORD_UNCHANGED} requests,"
        f" 5% changed <= {TARGET_RECORD_CHANGED}: {'PASS' if ok else 'BELOW TARGET'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
