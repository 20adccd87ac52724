"""One partition of the state table, read whole: its items page by page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def items_in(dynamodb: Any, table: str, pk: str) -> Iterator[dict[str, Any]]:
    """Every item under partition key ``pk`` (a Query, paginated)."""
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": pk}},
    )
    for page in pages:
        yield from page["Items"]
