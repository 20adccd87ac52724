"""Thresholds as items of the state table (partition ``THRESHOLDS``), read once per run."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws.partition import items_in
from stockwatch.core.clock import utc_now
from stockwatch.core.details import plan_minimums
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
                    "file_version" in item,
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

    def set_file_minimums(
        self,
        wanted: dict[tuple[str, str], int],
        version: str,
        current: dict[tuple[str, str], tuple[int, bool]],
    ) -> list[tuple[str, str]]:
        """The minimums an upload's file gives (``core.details``): each new or changed one
        set, never over one set by hand nor over a newer upload's; returns those set.
        ``current`` is what the caller read of the partition (``exact``), kept up to date
        here, so a file of many chunks reads it once."""
        plan = plan_minimums(wanted, current)
        now = utc_now()
        done: list[tuple[str, str]] = []
        for store, item, minimum in plan.to_set:
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item={
                        "pk": {"S": PARTITION},
                        "sk": {"S": f"{store}\x1f{item}"},
                        "minimum": {"N": str(minimum)},
                        "updated_at": {"S": now},
                        "file_version": {"S": version},
                    },
                    ConditionExpression="attribute_not_exists(sk) OR file_version < :v",
                    ExpressionAttributeValues={":v": {"S": version}},
                )
                done.append((store, item))
                current[(store, item)] = (minimum, True)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        if plan.to_set:
            self._thresholds = None
        return done

    def exact(self) -> dict[tuple[str, str], tuple[int, bool]]:
        """Each threshold's minimum and whether a file set it, by (store, item)."""
        return {(t.store, t.item): (t.minimum, t.from_file) for t in self.entries()}
