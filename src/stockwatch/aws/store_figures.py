"""Per-store figures for the dashboard's overview, kept in the state table.

After an upload changes a store's rows so that an item moves between out of stock, low
and ok (or a new item comes), the loader counts that store again with one consistent Query
(a few read units per thousand items) and writes the figures under ``STORE``/<store>. Each
count carries the time its Query started; a write only lands if no count that started
later is stored, so two uploads finishing together cannot leave the older figures behind.
Low stock here is 0 < count < the item's minimum, read from the
thresholds at counting time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws.partition import items_in
from stockwatch.core.alert_rules import stock_level
from stockwatch.core.rows import StockStatus, StoreSummary
from stockwatch.core.thresholds import Thresholds

PK = "STORE"
# The API's names for the core's stock levels.
STATUS: dict[str, StockStatus] = {"out": "out_of_stock", "low": "low_stock", "ok": "ok"}


def items_of(dynamodb: Any, table: str, store: str) -> Iterator[tuple[str, int]]:
    """Every item of the store and its count: one consistent Query, page by page."""
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="#s = :s",
        ProjectionExpression="#i, #c",
        ExpressionAttributeNames={"#s": "Store", "#i": "Item", "#c": "Count"},
        ExpressionAttributeValues={":s": {"S": store}},
        ConsistentRead=True,
    )
    for page in pages:
        for row in page["Items"]:
            if "Count" in row:
                yield row["Item"]["S"], int(row["Count"]["N"])


def moved(changes: list[tuple[str, int, int]] | None, store: str, thresholds: Thresholds) -> bool:
    """Could these changes of a store's rows move its figures? Not when every changed item
    stays at its stock level (most of a day's changes): then its Query is saved. None
    (unknown: new items, a carried-on upload) counts."""
    if changes is None:
        return True
    return any(
        stock_level(old, thresholds.minimum_for(store, item))
        != stock_level(new, thresholds.minimum_for(store, item))
        for item, old, new in changes
    )


def count_store(dynamodb: Any, table: str, store: str, thresholds: Thresholds) -> dict[str, int]:
    figures = {"items": 0, "out_of_stock": 0, "low_stock": 0}
    for item, count in items_of(dynamodb, table, store):
        figures["items"] += 1
        level = stock_level(count, thresholds.minimum_for(store, item))
        if level != "ok":
            figures[STATUS[level]] += 1
    return figures


def refresh(
    dynamodb: Any,
    table: str,
    state_table: str,
    stores: Iterable[str],
    thresholds: Thresholds,
    upload: str,
) -> None:
    for store in sorted(stores):
        started = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        figures = count_store(dynamodb, table, store, thresholds)
        try:
            dynamodb.put_item(
                TableName=state_table,
                Item={
                    "pk": {"S": PK},
                    "sk": {"S": store},
                    **{name: {"N": str(value)} for name, value in figures.items()},
                    "counted_at": {"S": started},
                    "upload": {"S": upload},
                },
                ConditionExpression="attribute_not_exists(pk) OR counted_at <= :t",
                ExpressionAttributeValues={":t": {"S": started}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else a count that started later is stored already


def stores(dynamodb: Any, state_table: str) -> list[StoreSummary]:
    found = []
    for item in items_in(dynamodb, state_table, PK):
        found.append(
            StoreSummary(
                item["sk"]["S"],
                int(item["items"]["N"]),
                int(item["out_of_stock"]["N"]),
                int(item["low_stock"]["N"]),
                item["counted_at"]["S"],
            )
        )
    found.sort(key=lambda s: (-s.out_of_stock, -s.low_stock, s.store))
    return found
