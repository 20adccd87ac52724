"""The inventory table on DynamoDB, in the lab's schema: Store (S), Item (S), Count (N).

stockwatch adds ``Version`` (the upload that set the count: ``<event time>#<sequencer>``),
``Line``, ``UploadKey`` and ``UpdatedAt``. For each chunk the writer reads the current rows
with BatchGetItem, decides with ``core.ordering.decide`` and writes only INSERT and CHANGE
outcomes, in TransactWriteItems of up to 100 conditional puts. Each put requires the row to
be exactly as read (absent, or at the version read), so two uploads touching one item at
the same moment cannot overwrite each other: the loser re-reads and decides again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from stockwatch.aws.batch_get import batch_get
from stockwatch.core.loading import ChunkOutcome
from stockwatch.core.model import Row
from stockwatch.core.ordering import Outcome, decide

TRANSACT_BATCH = 100
MAX_RACES = 5
MAX_THROTTLED = 8
# Cancellation reasons that mean "not now" rather than "the row changed".
RETRYABLE = {
    "ThrottlingError",
    "TransactionConflict",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}
# The last few changes ride along in the item itself (``History``, JSON of
# [old count, new count, version]): the dashboard's item history costs no extra request,
# and eight points keep a typical item under the 1 KB of one write unit.
HISTORY_POINTS = 8


class Current(NamedTuple):
    amount: int
    version: str
    line: int
    history: str
    upload_key: str


# The newest version processed of each of the given S3 keys (their watermarks).
Watermarks = Callable[[set[str]], dict[str, str]]


def next_history(history: str, old: int | None, new: int, version: str) -> str:
    points = json.loads(history) if history else []
    points.append([old, new, version])
    return json.dumps(points[-HISTORY_POINTS:], separators=(",", ":"))


@dataclass
class Usage:
    """Requests and write units spent, for the benchmark and the metrics."""

    requests: Counter[str] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0


class DynamoInventoryWriter:
    def __init__(
        self,
        client: Any,
        table: str,
        upload_key: str,
        now: str,
        watermarks: Watermarks | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.upload_key = upload_key
        self.now = now
        self.watermarks = watermarks
        self.usage = Usage()
        # Stores whose rows this writer changed: their per-store figures need counting again.
        self.stores_written: set[str] = set()

    def read(
        self, keys: Sequence[tuple[str, str]], consistent: bool = False
    ) -> dict[tuple[str, str], Current]:
        """(store, item) -> the row as stored, for the keys that exist.

        Eventually consistent reads cost half as much; a stale one only makes a conditional
        write fail, and the retry then reads consistently.
        """
        options = {
            "ProjectionExpression": "#s, #i, #c, #v, #l, #h, #k",
            "ExpressionAttributeNames": {
                "#s": "Store",
                "#i": "Item",
                "#c": "Count",
                "#v": "Version",
                "#l": "Line",
                "#h": "History",
                "#k": "UploadKey",
            },
            "ConsistentRead": consistent,
        }
        items = batch_get(
            self.client,
            self.table,
            [{"Store": {"S": s}, "Item": {"S": i}} for s, i in keys],
            options,
            self._count_read,
        )
        return {
            (item["Store"]["S"], item["Item"]["S"]): Current(
                int(item["Count"]["N"]),
                item.get("Version", {}).get("S", ""),
                int(item.get("Line", {}).get("N", "0")),
                item.get("History", {}).get("S", ""),
                item.get("UploadKey", {}).get("S", ""),
            )
            for item in items
        }

    def _count_read(self, response: dict[str, Any]) -> None:
        self.usage.requests["BatchGetItem"] += 1
        for used in response.get("ConsumedCapacity", []):
            self.usage.read_units += used.get("CapacityUnits", 0)

    def _effective_versions(
        self, current: dict[tuple[str, str], Current]
    ) -> dict[tuple[str, str], str]:
        """Each row's version, raised to its file's newest processed upload.

        A re-upload of the same S3 key that only confirms counts writes nothing (so an
        unchanged re-upload costs no write units); its key's watermark stands for it. A row
        last set by key A is therefore as new as A's newest processed upload, and an older
        upload of another key arriving late cannot overwrite it.
        """
        others = {c.upload_key for c in current.values() if c.upload_key != self.upload_key}
        marks = self.watermarks(others) if others and self.watermarks else {}
        return {key: max(c.version, marks.get(c.upload_key, "")) for key, c in current.items()}

    def apply(self, chunk: Sequence[Row], version: str) -> ChunkOutcome:
        outcome = ChunkOutcome()
        pending = list(chunk)
        for attempt in range(MAX_RACES):
            current = self.read([(r[1], r[2]) for r in pending], consistent=attempt > 0)
            effective = self._effective_versions(current)
            writes: list[tuple[Row, Current | None]] = []
            confirms: list[tuple[Row, Current | None]] = []
            for row in pending:
                line, store, item, count = row
                now = current.get((store, item))
                decision = decide(
                    now.amount if now else None,
                    effective[(store, item)] if now else None,
                    count,
                    version,
                )
                if decision in (Outcome.INSERT, Outcome.CHANGE):
                    writes.append((row, now))
                elif decision is Outcome.CONFIRM:
                    if now is not None and now.upload_key != self.upload_key:
                        # Another file set it: the version must move on, or a late upload of
                        # that other file could overwrite what this newer one confirmed.
                        confirms.append((row, now))
                    else:
                        outcome.unchanged += 1
                elif decision is Outcome.STALE:
                    outcome.superseded += 1
                elif now is not None and now.line == line:
                    outcome.loaded += 1  # written by an earlier try of this very upload
                else:
                    outcome.repeats.append((line, now.line if now else 0, store, item))
            lost = self._write(writes + confirms, version)
            lost_keys = {(r[1], r[2]) for r in lost}
            for row, _ in writes:
                if (row[1], row[2]) not in lost_keys:
                    outcome.loaded += 1
                    self.stores_written.add(row[1])
            outcome.unchanged += sum((r[1], r[2]) not in lost_keys for r, _ in confirms)
            if not lost:
                return outcome
            pending = lost  # someone else wrote these meanwhile: read and decide again
        raise RuntimeError(f"{len(pending)} rows kept losing races; the upload will be retried")

    def _write(self, writes: list[tuple[Row, Current | None]], version: str) -> list[Row]:
        lost: list[Row] = []
        for start in range(0, len(writes), TRANSACT_BATCH):
            lost.extend(self._transact(writes[start : start + TRANSACT_BATCH], version))
        return lost

    def _transact(self, batch: list[tuple[Row, Current | None]], version: str) -> list[Row]:
        """One transaction; returns the rows someone else changed meanwhile."""
        items = [self._put(row, read, version) for row, read in batch]
        for throttled in range(MAX_THROTTLED + 1):
            self.usage.requests["TransactWriteItems"] += 1
            try:
                response = self.client.transact_write_items(
                    TransactItems=items, ReturnConsumedCapacity="TOTAL"
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                if not reasons:
                    return [row for row, _ in batch]
                conflicted = {
                    n for n, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"
                }
                if conflicted:
                    # The rows that did not conflict are written again straight away; the
                    # conflicting ones go back to be read and decided again.
                    retry = [batch[n] for n in range(len(batch)) if n not in conflicted]
                    return [batch[n][0] for n in conflicted] + self._write(retry, version)
                if not any(r.get("Code") in RETRYABLE for r in reasons):
                    raise
                # Throttled, or another transaction held an item: nothing was written, and
                # the same conditional puts are safe to send again after a pause.
                self.usage.requests["Throttled"] += 1
                if throttled == MAX_THROTTLED:
                    raise
                time.sleep(min(2.0, 0.05 * 2**throttled))
                continue
            for used in response.get("ConsumedCapacity", []):
                self.usage.write_units += used.get("CapacityUnits", 0)
            return []
        return []  # not reached: the last throttled try raises

    def _put(self, row: Row, read: Current | None, version: str) -> dict[str, Any]:
        line, store, item, count = row
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                "Store": {"S": store},
                "Item": {"S": item},
                "Count": {"N": str(count)},
                "Version": {"S": version},
                "Line": {"N": str(line)},
                "UploadKey": {"S": self.upload_key},
                "UpdatedAt": {"S": self.now},
                "History": {
                    "S": read.history
                    if read is not None and read.amount == count
                    else next_history(
                        read.history if read else "", read.amount if read else None, count, version
                    )
                },
            },
        }
        if read is None:
            put["ConditionExpression"] = "attribute_not_exists(#s)"
            put["ExpressionAttributeNames"] = {"#s": "Store"}
        else:
            put["ConditionExpression"] = "#v = :read"
            put["ExpressionAttributeNames"] = {"#v": "Version"}
            put["ExpressionAttributeValues"] = {":read": {"S": read.version}}
        return {"Put": put}
