"""The ordering settings and the orders (``service.replenishment.OrderBook``) in the state
table: settings under ``ORDERING`` (sort key store, item), orders under ``ORDER`` (sort key
the time placed and a random tail, so a Query lists them oldest first)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws.partition import items_in
from stockwatch.core.replenishment import SETTINGS, OrderingEntry
from stockwatch.service.replenishment import Order

SETTINGS_PK = "ORDERING"
ORDERS_PK = "ORDER"
_INTEGERS = {"pack", "min_order"}


class DynamoOrderBook:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def entries(self) -> list[OrderingEntry]:
        found = []
        for item in items_in(self.dynamodb, self.table, SETTINGS_PK):
            store, name = item["sk"]["S"].split("\x1f", 1)
            values = {
                k: (int if k in _INTEGERS else float)(item[k]["N"]) for k in SETTINGS if k in item
            }
            entry = OrderingEntry(store, name, **values)  # type: ignore[arg-type]
            found.append(replace(entry, updated_at=item["updated_at"]["S"], by=item["by"]["S"]))
        return found

    def put(self, entry: OrderingEntry) -> None:
        item: dict[str, Any] = {
            "pk": {"S": SETTINGS_PK},
            "sk": {"S": f"{entry.store}\x1f{entry.item}"},
            "updated_at": {"S": entry.updated_at},
            "by": {"S": entry.by},
        }
        for name, value in entry.given().items():
            item[name] = {"N": repr(value) if isinstance(value, float) else str(value)}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def delete(self, store: str, item: str) -> bool:
        gone = self.dynamodb.delete_item(
            TableName=self.table,
            Key={"pk": {"S": SETTINGS_PK}, "sk": {"S": f"{store}\x1f{item}"}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in gone

    def orders(self, open_only: bool) -> list[Order]:
        return [
            _order(item)
            for item in items_in(self.dynamodb, self.table, ORDERS_PK)
            if not (open_only and "received_at" in item)
        ]

    def add(self, order: Order) -> Order:
        order_id = f"{order.placed_at}-{secrets.token_hex(3)}"
        item: dict[str, Any] = {
            "pk": {"S": ORDERS_PK},
            "sk": {"S": order_id},
            "store": {"S": order.store},
            "item": {"S": order.item},
            "quantity": {"N": str(order.quantity)},
            "placed_at": {"S": order.placed_at},
            "by": {"S": order.by},
        }
        if order.expected:
            item["expected"] = {"S": order.expected}
        self.dynamodb.put_item(
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(sk)"
        )
        return _order(item)

    def receive(self, order_id: str, at: str, by: str) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": ORDERS_PK}, "sk": {"S": order_id}},
                UpdateExpression="SET received_at = :at, received_by = :by",
                ConditionExpression="attribute_exists(sk) AND attribute_not_exists(received_at)",
                ExpressionAttributeValues={":at": {"S": at}, ":by": {"S": by}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _order(item: dict[str, Any]) -> Order:
    return Order(
        item["sk"]["S"],
        item["store"]["S"],
        item["item"]["S"],
        int(item["quantity"]["N"]),
        item.get("expected", {}).get("S"),
        item["placed_at"]["S"],
        item.get("by", {}).get("S", ""),
        item.get("received_at", {}).get("S"),
        item.get("received_by", {}).get("S"),
    )
