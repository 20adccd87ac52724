"""Thresholds as items of the state table (partition ``THRESHOLDS``), read once per run."""

from __future__ import annotations

from typing import Any

from stockwatch.aws.partition import items_in
from stockwatch.core.rows import ThresholdRow
from stockwatch.core.thresholds import Threshold, Thresholds

PARTITION = "THRESHOLDS"


class ThresholdItems:
    """What an alert store keeps of thresholds; a write drops the copy read this run."""

    dynamodb: Any
    table: str
    _thresholds: Thresholds | None

    def thresholds(self) -> Thresholds:
        if self._thresholds is None:
            self._thresholds = Thresholds(
                Threshold(t.store, t.item, t.minimum, t.cover_days) for t in self.entries()
            )
        return self._thresholds

    def entries(self) -> list[ThresholdRow]:
        """The thresholds as the API lists them."""
        found = []
        for item in items_in(self.dynamodb, self.table, PARTITION):
            store, item_name = item["sk"]["S"].split("\x1f", 1)
            found.append(
                ThresholdRow(
                    store,
                    item_name,
                    int(item["minimum"]["N"]),
                    item.get("updated_at", {}).get("S", ""),
                    int(item["cover_days"]["N"]) if "cover_days" in item else None,
                )
            )
        return sorted(found, key=lambda t: (t.store, t.item))

    def set_threshold(
        self, store: str, item: str, minimum: int, now: str = "", cover_days: int | None = None
    ) -> None:
        entry = {
            "pk": {"S": PARTITION},
            "sk": {"S": f"{store}\x1f{item}"},
            "minimum": {"N": str(minimum)},
            "updated_at": {"S": now},
        }
        if cover_days is not None:
            entry["cover_days"] = {"N": str(cover_days)}
        self.dynamodb.put_item(TableName=self.table, Item=entry)
        self._thresholds = None

    def delete_threshold(self, store: str, item: str) -> bool:
        gone = self.dynamodb.delete_item(
            TableName=self.table,
            Key={"pk": {"S": PARTITION}, "sk": {"S": f"{store}\x1f{item}"}},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        self._thresholds = None
        return bool(gone)
