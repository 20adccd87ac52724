"""A faster backup for moto's TransactWriteItems, with the same behaviour.

Moto (5.x) backs up a transaction by deep-copying the whole table once per item of the
transaction, before applying any: a 100-item transaction on a table of 20,000 items
copies two million items. That makes loading a few thousand rows take minutes, and a big
file impossible, although DynamoDB itself does no such thing. This patch keeps moto's
semantics (all of a transaction or none of it, stream records included) and replaces only
the backup: before the transaction, the items it names and the length of each table's
stream are saved; when moto rolls back, those items are put back as they were and the
stream records it wrote are dropped. Applied by tests/aws_stack.py to every AWS test.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_state = threading.local()
_applied = False


class _CopyShim:
    """moto's module-level ``copy``: tables are not copied inside a transaction."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_state, "in_transaction", False) and isinstance(obj, Table):
            return obj  # moto's "rollback" then puts the same table back: a no-op
        return copy.deepcopy(obj, memo)


def _key(backend: Any, item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    op_type, op = next(iter(item.items()))
    name = op.get("TableName")
    if name not in backend.tables:
        return None
    table = backend.tables[name]
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs.get(table.range_key_attr)
        if None in key.values():
            return None
        return name, key
    return name, op.get("Key", {})


def apply() -> None:
    global _applied
    if _applied:
        return
    import moto.dynamodb.models as models

    models.copy = _CopyShim()  # type: ignore[assignment, attr-defined]
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        streams: dict[str, int] = {}
        for item in transact_items:
            found = _key(self, item)
            if found is None:
                continue
            name, key = found
            try:
                current = self.get_item(name, key)
            except Exception:
                current = None
            before = None if current is None else copy.deepcopy(current.to_json()["Attributes"])
            saved.append((name, key, before))
            shard = self.tables[name].stream_shard
            streams.setdefault(name, len(shard.items) if shard is not None else 0)
        _state.in_transaction = True
        try:
            original(self, transact_items)
        except BaseException:
            for name, key, before in reversed(saved):
                if before is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, before)
            for name, length in streams.items():
                shard = self.tables[name].stream_shard
                if shard is not None:
                    del shard.items[length:]
            raise
        finally:
            _state.in_transaction = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _applied = True
