"""BatchGetItem done fully: 100 keys a request, and the UnprocessedKeys asked for again.

DynamoDB answers a throttled BatchGetItem with part of the items and the rest of the keys
under UnprocessedKeys; giving up on those would read rows as absent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

BATCH = 100


def batch_get(
    client: Any,
    table: str,
    keys: list[dict[str, Any]],
    options: dict[str, Any],
    on_response: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """The items found for ``keys``; ``options`` are the table's request settings."""
    for start in range(0, len(keys), BATCH):
        request: dict[str, Any] = {table: {"Keys": keys[start : start + BATCH], **options}}
        attempt = 0
        while request:
            response = client.batch_get_item(RequestItems=request, ReturnConsumedCapacity="TOTAL")
            if on_response is not None:
                on_response(response)
            yield from response["Responses"].get(table, [])
            request = response.get("UnprocessedKeys") or {}
            if request:
                attempt += 1
                time.sleep(min(1.0, 0.05 * 2**attempt))  # throttled: back off, ask again
