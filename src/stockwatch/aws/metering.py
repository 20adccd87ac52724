"""Counting what an upload costs on AWS, request by request, as the SDK sends them.

A meter hooks into the boto3 clients' events rather than into our own calls, so every
request is counted, paginators and retries included, whichever module makes it. DynamoDB
is asked for its consumed capacity on every request that can report it; what it answers
is what AWS bills (moto's figures are its own approximation).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from stockwatch.aws import capacity
from stockwatch.core.cost import Cost

_current: ContextVar[Meter | None] = ContextVar("stockwatch_meter", default=None)
_HOOKED = "_stockwatch_metered"


class Meter:
    def __init__(self, memory_mb: int = 0) -> None:
        self.cost = Cost(lambda_memory_mb=memory_mb)
        self.started = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_PARAMS = "stockwatch_params"


def _before_dynamodb(params: dict[str, Any], model: Any, context: Any = None, **_: Any) -> None:
    if _current.get() is None:
        return
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    if isinstance(context, dict):
        context[_PARAMS] = params


def _after(
    http_response: Any, parsed: dict[str, Any], model: Any, context: Any = None, **_: Any
) -> None:
    meter = _current.get()
    if meter is None:
        return
    service = model.service_model.service_name
    cost = meter.cost
    if service == "dynamodb":
        cost.dynamodb_requests[model.name] += 1
        consumed = parsed.get("ConsumedCapacity")
        used = [c for c in (consumed if isinstance(consumed, list) else [consumed]) if c]
        if used:
            units = sum(float(c.get("CapacityUnits", 0) or 0) for c in used)
            if model.name in _WRITES:
                cost.write_units += units
            else:
                cost.read_units += units
        else:
            # The endpoint does not report capacity (moto, some compatible servers):
            # work it out from the request and the response, as DynamoDB bills it.
            params = context.get(_PARAMS, {}) if isinstance(context, dict) else {}
            reads, writes = capacity.estimate(model.name, params, parsed)
            cost.read_units += reads
            cost.write_units += writes
            cost.units_estimated = True
    elif service == "s3":
        cost.s3_requests[model.name] += 1
    elif service == "sns" and model.name == "Publish":
        cost.sns_publishes += 1


def metered(client: Any) -> Any:
    """The client, with the meter's hooks registered once (clients are cached and shared)."""
    if not getattr(client.meta, _HOOKED, False):
        service = client.meta.service_model.service_name
        if service == "dynamodb":
            client.meta.events.register("before-parameter-build.dynamodb.*", _before_dynamodb)
        client.meta.events.register(f"after-call.{service}.*", _after)
        setattr(client.meta, _HOOKED, True)
    return client


@contextmanager
def metering(memory_mb: int = 0) -> Iterator[Meter]:
    """Count every request of the metered clients made inside the block (this thread)."""
    meter = Meter(memory_mb)
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


def current() -> Meter | None:
    return _current.get()
