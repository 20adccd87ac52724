"""An upload's SKUs and minimums (``core.details``) kept on AWS.

SKUs live in the state table, a partition per store (``SKU#<store>``, one item per SKU),
apart from the counts: most files carry none, and the loader's record of a store's counts
(``aws.store_records``) stays what it is. A store's partition is read once per upload (one
Query per 1 MB, about 10,000 SKUs) and only the SKUs that changed are written: new ones 25
a BatchWriteItem, a changed one by a conditional PutItem that a newer upload's SKU wins
against. Minimums are thresholds
(``aws.threshold_items``), set before the rows they came with are written, so the stream
handler judges those rows by them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws.alerting import AlertStore
from stockwatch.aws.batch_get import batch_get
from stockwatch.aws.partition import items_in
from stockwatch.core.details import ItemDetails, changed_skus

PREFIX = "SKU#"
KEPT_STORES = 64  # stores whose SKUs are kept in memory during an upload (files come by store)


def partition(store: str) -> str:
    return PREFIX + store


class DynamoDetails:
    """One upload's writes of SKUs and minimums; what it read is kept for its next chunks."""

    def __init__(self, dynamodb: Any, state_table: str, alerts: AlertStore) -> None:
        self.dynamodb = dynamodb
        self.table = state_table
        self.alerts = alerts
        self._skus: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._minimums: dict[tuple[str, str], tuple[int, bool]] | None = None
        self.minimums_set: set[tuple[str, str]] = set()  # judged after the load

    def keep(self, details: ItemDetails, version: str) -> int:
        if details.skus:
            self._keep_skus(details.skus, version)
        if not details.minimums:
            return 0
        if self._minimums is None:
            self._minimums = self.alerts.exact()
        done = self.alerts.set_file_minimums(details.minimums, version, self._minimums)
        self.minimums_set.update(done)
        return len(done)

    def _put_new(self, new: list[tuple[str, str, str]], version: str) -> None:
        for start in range(0, len(new), BATCH_WRITE):
            part = new[start : start + BATCH_WRITE]
            requests: list[dict[str, Any]] = [
                {"PutRequest": {"Item": _item(s, i, sku, version)}} for s, i, sku in part
            ]
            attempt = 0
            while requests:
                response = self.dynamodb.batch_write_item(RequestItems={self.table: requests})
                requests = response.get("UnprocessedItems", {}).get(self.table, [])
                if requests:  # throttled: back off, send the rest again
                    attempt += 1
                    time.sleep(min(1.0, 0.05 * 2**attempt))
            for store, item, sku in part:
                self._kept(store)[item] = sku

    def _kept(self, store: str) -> dict[str, str]:
        found = self._skus.get(store)
        if found is None:
            found = {
                item["sk"]["S"]: item["sku"]["S"]
                for item in items_in(self.dynamodb, self.table, partition(store))
            }
            self._skus[store] = found
            while len(self._skus) > KEPT_STORES:
                self._skus.popitem(last=False)
        self._skus.move_to_end(store)
        return found

    def _keep_skus(self, wanted: dict[tuple[str, str], str], version: str) -> None:
        kept: dict[tuple[str, str], str] = {}
        for store in {s for s, _ in wanted}:
            kept.update({(store, i): sku for i, sku in self._kept(store).items()})
        changed = changed_skus(wanted, kept)
        # An item with no SKU yet: 25 a request (a first load of an export writes every
        # one); a changed SKU: one conditional write each, which a newer upload's wins.
        self._put_new([c for c in changed if (c[0], c[1]) not in kept], version)
        for store, item, sku in changed:
            if (store, item) not in kept:
                continue
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item=_item(store, item, sku, version),
                    ConditionExpression="attribute_not_exists(sk) OR version < :v",
                    ExpressionAttributeValues={":v": {"S": version}},
                )
                self._kept(store)[item] = sku
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise


def skus_of(
    dynamodb: Any, state_table: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The SKUs of these (store, item)s, for a page of stock (BatchGetItem, 100 a request)."""
    if not keys:
        return {}
    wanted = [{"pk": {"S": partition(s)}, "sk": {"S": i}} for s, i in dict.fromkeys(keys)]
    found = batch_get(dynamodb, state_table, wanted, {"ProjectionExpression": "pk, sk, sku"})
    return {(item["pk"]["S"][len(PREFIX) :], item["sk"]["S"]): item["sku"]["S"] for item in found}


BATCH_WRITE = 25


def _item(store: str, item: str, sku: str, version: str) -> dict[str, Any]:
    return {
        "pk": {"S": partition(store)},
        "sk": {"S": item},
        "sku": {"S": sku},
        "version": {"S": version},
    }
