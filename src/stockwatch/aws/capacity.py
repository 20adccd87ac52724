"""DynamoDB capacity units worked out from a request, for endpoints that report none.

DynamoDB's on-demand billing, in short: a write unit per 1 KB of item written (rounded up
per item), a read unit per 4 KB read with strong consistency and half of one when
eventually consistent; inside a transaction both count double. A Query is billed on the
total size of the items it reads, not per item. Item size is the attribute names plus
their values; this counts them as their text, close enough for an estimate.
"""

from __future__ import annotations

import math
from typing import Any


def item_size(item: dict[str, Any]) -> int:
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        for kind, inner in value.items():
            if kind in ("S", "N", "B"):
                size += len(str(inner).encode())
            elif kind in ("BOOL", "NULL"):
                size += 1
            elif kind == "M":
                size += 3 + item_size(inner)
            elif kind == "L":
                size += 3 + sum(item_size({"": v}) for v in inner)
            else:  # sets
                size += sum(len(str(v).encode()) for v in inner)
    return size


def _write_units(item: dict[str, Any] | None) -> float:
    return float(max(1, math.ceil(item_size(item or {}) / 1024)))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units if consistent else units / 2)


def estimate(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one request."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "PutItem":
        return 0.0, _write_units(params.get("Item"))
    if operation in ("UpdateItem", "DeleteItem"):
        return 0.0, 1.0  # the stored item's size is not known here: the usual small one
    if operation == "GetItem":
        return _read_units(item_size(parsed.get("Item") or {}), consistent), 0.0
    if operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in parsed.get("Items", []))
        return _read_units(size, consistent), 0.0
    if operation == "BatchGetItem":
        reads = 0.0
        for table, items in (parsed.get("Responses") or {}).items():
            strong = bool((params.get("RequestItems") or {}).get(table, {}).get("ConsistentRead"))
            reads += sum(_read_units(item_size(i), strong) for i in items)
        return reads, 0.0
    if operation == "TransactWriteItems":
        reads = writes = 0.0
        for entry in params.get("TransactItems", []):
            if "Put" in entry:
                writes += 2 * _write_units(entry["Put"].get("Item"))
            elif "ConditionCheck" in entry:
                reads += 2.0
            else:
                writes += 2.0
        return reads, writes
    if operation == "BatchWriteItem":
        writes = 0.0
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                put = request.get("PutRequest")
                writes += _write_units(put.get("Item")) if put else 1.0
        return 0.0, writes
    return 0.0, 0.0
