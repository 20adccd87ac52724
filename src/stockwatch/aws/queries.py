"""Reading stock, alerts and uploads back from DynamoDB, in the CLI's JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from stockwatch.aws.alerting import LOG


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page["Items"]


def stock(
    client: Any, table: str, store: str | None = None, out_of_stock: bool = False
) -> list[dict[str, Any]]:
    names = {"#s": "Store", "#i": "Item", "#c": "Count", "#u": "UpdatedAt"}
    projection = "#s, #i, #c, #u"
    if store is not None:
        items = _pages(
            client,
            "query",
            TableName=table,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames=names,
            ProjectionExpression=projection,
            ExpressionAttributeValues={":s": {"S": store}},
        )
    else:
        items = _pages(
            client,
            "scan",
            TableName=table,
            ExpressionAttributeNames=names,
            ProjectionExpression=projection,
        )
    rows = [
        {
            "store": i["Store"]["S"],
            "item": i["Item"]["S"],
            "count": int(i["Count"]["N"]),
            "updated_at": i.get("UpdatedAt", {}).get("S"),
        }
        for i in items
    ]
    if out_of_stock:
        rows = [r for r in rows if r["count"] == 0]
    return sorted(rows, key=lambda r: (r["store"], r["item"]))


def alerts(client: Any, state_table: str, open_only: bool = False) -> list[dict[str, Any]]:
    if open_only:
        items = _pages(
            client,
            "scan",
            TableName=state_table,
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "ALERT#"}},
        )
        found = []
        for item in items:
            store, name = item["pk"]["S"][len("ALERT#") :].split("\x1f", 1)
            found.append(
                {
                    "kind": item["sk"]["S"],
                    "store": store,
                    "item": name,
                    "count": int(item["count"]["N"]),
                    "raised_at": item["raised_at"]["S"],
                    "resolved_at": None,
                }
            )
        return sorted(found, key=lambda a: a["raised_at"], reverse=True)
    log = _pages(
        client,
        "query",
        TableName=state_table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": LOG}},
    )
    found = []
    for item in log:
        decision = json.loads(item["decision"]["S"])
        found.append(
            {
                "kind": decision["kind"],
                "store": decision["store"],
                "item": decision["item"],
                "count": decision["count"],
                "minimum": decision["minimum"],
                "raised_at": item["raised_at"]["S"],
                "notified": item["notified"]["BOOL"],
            }
        )
    return sorted(found, key=lambda a: a["raised_at"], reverse=True)


def uploads(client: Any, state_table: str, limit: int = 50) -> list[dict[str, Any]]:
    response = client.query(
        TableName=state_table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "UPLOAD"}},
        ScanIndexForward=False,
        Limit=limit,
    )
    found = []
    for item in response["Items"]:
        report = json.loads(item["report"]["S"])
        found.append(
            {
                "version": item["sk"]["S"],
                "file": item["object_key"]["S"],
                "status": item["status"]["S"],
                **{k: v for k, v in report.items() if k.startswith("rows_")},
            }
        )
    return found
