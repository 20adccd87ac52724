"""Saved column mappings (``core.layouts.SavedLayout``) in the state table: ``LAYOUT``/name."""

from __future__ import annotations

from typing import Any

from stockwatch.aws.partition import items_in
from stockwatch.core.clock import utc_now
from stockwatch.core.layouts import SavedLayout

PK = "LAYOUT"


def saved(dynamodb: Any, state_table: str) -> dict[str, SavedLayout]:
    found: dict[str, SavedLayout] = {}
    for item in items_in(dynamodb, state_table, PK):
        name = item["sk"]["S"]
        store = item.get("store", {}).get("S")
        found[name] = SavedLayout(name, item["columns"]["S"], store)
    return found


def save(dynamodb: Any, state_table: str, layout: SavedLayout, by: str) -> None:
    item = {
        "pk": {"S": PK},
        "sk": {"S": layout.name},
        "columns": {"S": layout.columns},
        "saved_at": {"S": utc_now()},
        "saved_by": {"S": by},
    }
    if layout.store:
        item["store"] = {"S": layout.store}
    dynamodb.put_item(TableName=state_table, Item=item)


def delete(dynamodb: Any, state_table: str, name: str) -> bool:
    gone = dynamodb.delete_item(
        TableName=state_table,
        Key={"pk": {"S": PK}, "sk": {"S": name}},
        ReturnValues="ALL_OLD",
    )
    return "Attributes" in gone
