"""The inventory table on DynamoDB, in the lab's schema: Store (S), Item (S), Count (N).

stockwatch adds ``Version`` (the upload that set the count), ``Line``, ``UploadKey``,
``UpdatedAt`` and ``History``. For each chunk the writer marks the chunk's new stores
(``store_marks``), reads the current rows with BatchGetItem, decides with
``core.ordering.decide`` and writes only INSERT and CHANGE outcomes, in TransactWriteItems
of up to 100 items: conditional puts, plus one ConditionCheck per store that no newer
upload has marked it meanwhile. Each put requires the row to be exactly as read (absent, at
the version read, or -- for a row another program wrote -- without a version and at the
count read), so two uploads touching one item at the same moment cannot overwrite each
other: the loser re-reads and decides again. CONFIRM writes nothing: the store's mark
stands for it, so an unchanged file costs no write units under any key.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from stockwatch.aws import figures
from stockwatch.aws.batch_get import batch_get
from stockwatch.aws.store_marks import MARK_BATCH, FileRef, StoreMarks
from stockwatch.aws.store_records import S3StoreRecords
from stockwatch.core.loading import ChunkOutcome
from stockwatch.core.model import Row
from stockwatch.core.ordering import Outcome, decide
from stockwatch.core.store_record import OpenRecord

TRANSACT_BATCH = 100
HOLD_ROWS = 1000  # rows to read and write held back until there are this many
MARK_HOLD_ROWS = 50_000  # rows waiting for their stores' marks, at most
MAX_MOVES = 5000  # changed rows remembered per store; past that the store is counted
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
    figures: str = ""  # aws.figures: the kept figures as written


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
        marks: StoreMarks | None = None,
        ref: FileRef | None = None,
        records: S3StoreRecords | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.upload_key = upload_key
        self.now = now
        self.marks = marks
        self.ref = ref or FileRef("", upload_key)
        self.usage = Usage()
        # Stores whose rows this writer changed: their per-store figures need counting again.
        self.stores_written: set[str] = set()
        # store -> (item, old count, new count) of each changed row, so a store whose
        # changes left every item at its stock level needs no count; None: count it.
        self.moves: dict[str, list[tuple[str, int, int]] | None] = {}
        # store -> the LATEST mark this upload's writes expect (its own version, or the
        # newest one it has looked at because it is late for that store)
        self.expected: dict[str, str] = {}
        # store -> items a newer upload asserted (None: assume all), for late stores
        self.asserted: dict[str, frozenset[str] | None] = {}
        # Store records (``core.store_record``): only with marks, which say if one stands.
        self.records = records if marks is not None else None
        self.open: dict[str, OpenRecord] = {}  # stores being read, with what is known
        self.finished: set[str] = set()  # stores whose rows ended (their record settled)
        self.ending: list[str] = []  # stores whose rows ended, waiting for held rows
        self.held: list[Row] = []  # rows to read and decide, held for a fuller batch
        self.held_keys: set[tuple[str, str]] = set()  # their (store, item): no repeats
        self.unmarked: list[Row] = []  # rows whose stores are not marked yet
        self.unmarked_stores: set[str] = set()
        self.flushed = False

    def read(
        self, keys: Sequence[tuple[str, str]], consistent: bool = False
    ) -> dict[tuple[str, str], Current]:
        """(store, item) -> the row as stored, for the keys that exist.

        Eventually consistent reads cost half as much; a stale one only makes a conditional
        write fail, and the retry then reads consistently. A row written by another program
        (no ``Version``) reads with version "" and line 0: older than any upload.
        """
        options = {
            "ProjectionExpression": "#s, #i, #c, #v, #l, #h, #k, #f",
            "ExpressionAttributeNames": {
                "#s": "Store",
                "#i": "Item",
                "#c": "Count",
                "#v": "Version",
                "#l": "Line",
                "#h": "History",
                "#k": "UploadKey",
                "#f": figures.ATTRIBUTE,
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
                item.get(figures.ATTRIBUTE, {}).get("S", ""),
            )
            for item in items
        }

    def _count_read(self, response: dict[str, Any]) -> None:
        self.usage.requests["BatchGetItem"] += 1
        for used in response.get("ConsumedCapacity", []):
            self.usage.read_units += used.get("CapacityUnits", 0)

    def _mark(self, stores: set[str], version: str) -> None:
        """Mark the stores this chunk brings for the first time, before reading their rows;
        fetch their records first, so the mark can say whether each one stands."""
        new = stores - self.expected.keys()
        if not new:
            return
        if self.marks is None:
            self.expected.update(dict.fromkeys(new, ""))
            return
        bases = {}
        if self.records is not None:
            for store in sorted(new):
                found = self.records.get(store)
                # Only an older upload's: rows this very upload wrote on an earlier try
                # are told apart by the rule (counted as loaded, not unchanged).
                if found is not None and found.version < version:
                    bases[store] = found
        before = self.marks.requests
        late, trusted = self.marks.mark(
            new, version, self.ref, {s: r.version for s, r in bases.items()}
        )
        self.usage.requests["TransactWriteItems"] += self.marks.requests - before
        for store in new:
            self.expected[store] = version
            if store in late:
                self._catch_up(store, version)
            elif self.records is not None:
                self.open[store] = OpenRecord(store, bases[store] if store in trusted else None)

    def _catch_up(self, store: str, version: str) -> None:
        """A newer upload marked ``store``: learn which items it (or they) asserted."""
        assert self.marks is not None
        before = self.marks.requests
        latest, newer = self.marks.newer(store, version)
        self.usage.requests["Query"] += self.marks.requests - before
        self.expected[store] = latest
        self.asserted[store] = self.marks.asserted(store, newer)

    def _asserted_by_newer(self, store: str, item: str) -> bool:
        if store not in self.asserted:
            return False
        items = self.asserted[store]
        return items is None or item in items

    def flush(self, version: str) -> ChunkOutcome:
        """Writes the rows held back, then every store still open gets its record (a
        paused upload carries on from them)."""
        outcome = self._take(version)
        outcome.add(self._drain(version))
        for store in list(self.open):
            self._finish(store, version)
        self.flushed = True
        return outcome

    def apply(self, chunk: Sequence[Row], version: str) -> ChunkOutcome:
        """Rows wait until their stores can be marked together (one transaction marks
        ``MARK_BATCH`` stores); after ``flush`` (a snapshot's zeroes) each call's rows are
        written at once, and are its outcome."""
        self.unmarked.extend(chunk)
        self.unmarked_stores |= {r[1] for r in chunk} - self.expected.keys()
        if (
            self.flushed
            or len(self.unmarked_stores) >= MARK_BATCH
            or len(self.unmarked) >= MARK_HOLD_ROWS
        ):
            return self._take(version)
        return ChunkOutcome()

    def _take(self, version: str) -> ChunkOutcome:
        """Rows the stores' records vouch for are counted at once; the others are held
        until a batch of reads and writes is due (``HOLD_ROWS``), so a few changes per
        chunk share their requests."""
        rows, self.unmarked, self.unmarked_stores = self.unmarked, [], set()
        outcome = ChunkOutcome()
        if not rows:
            return outcome
        self._mark({r[1] for r in rows}, version)
        for row in rows:
            known = self.open.get(row[1])
            if known is not None and known.known(row[2], row[3]):
                outcome.unchanged += 1  # the store's record vouches for it: nothing to read
                continue
            if known is None and row[1] in self.finished:
                self._reopened(row[1])
            key = (row[1], row[2])
            if key in self.held_keys:
                # A repeat of a held row (chunks are unique only within themselves): the
                # first is written before it, as the rule decides repeats in file order;
                # one batch read or transaction may not name an item twice.
                outcome.add(self._drain(version, finish=False))
            self.held.append(row)
            self.held_keys.add(key)
        # Rows come store by store: every store here but the last one has ended, and so
        # has any store still open from earlier rows.
        for store in list(self.open):
            if store != rows[-1][1] and store not in self.ending:
                self.ending.append(store)
        if len(self.held) >= HOLD_ROWS or self.flushed:
            outcome.add(self._drain(version))
        else:  # the stores with nothing held back are done already
            holding = {store for store, _ in self.held_keys}
            for store in [s for s in self.ending if s not in holding]:
                self.ending.remove(store)
                self._finish(store, version)
        return outcome

    def _drain(self, version: str, finish: bool = True) -> ChunkOutcome:
        outcome = ChunkOutcome()
        held, self.held, self.held_keys = self.held, [], set()
        if held:
            self._decide_and_write(held, version, outcome)
        if not finish:
            return outcome
        ending, self.ending = self.ending, []
        for store in ending:
            self._finish(store, version)
        return outcome

    def _decide_and_write(self, pending: list[Row], version: str, outcome: ChunkOutcome) -> None:
        for attempt in range(MAX_RACES):
            current = self.read([(r[1], r[2]) for r in pending], consistent=attempt > 0)
            writes: list[tuple[Row, Current | None]] = []
            for row in pending:
                line, store, item, count = row
                now = current.get((store, item))
                decision = decide(
                    now.amount if now else None, now.version if now else None, count, version
                )
                if decision in (Outcome.INSERT, Outcome.CHANGE):
                    if self._asserted_by_newer(store, item):
                        outcome.superseded += 1  # a newer upload said otherwise, or the same
                        self._unclean(store)
                    else:
                        writes.append((row, now))
                elif decision is Outcome.CONFIRM:
                    outcome.unchanged += 1  # nothing written: the store's mark stands for it
                    self._left(store, item, count, written=False)
                elif decision is Outcome.STALE:
                    outcome.superseded += 1
                    self._unclean(store)
                elif now is not None and now.line == line:
                    outcome.loaded += 1  # written by an earlier try of this very upload
                    self._left(store, item, count, written=True)
                else:
                    outcome.repeats.append((line, now.line if now else 0, store, item))
                    self._unclean(store)
            lost, late = self._write(writes, version)
            lost_keys = {(r[1], r[2]) for r in lost}
            for row, read in writes:
                if (row[1], row[2]) not in lost_keys:
                    outcome.loaded += 1
                    self.stores_written.add(row[1])
                    self._moved(row[1], row[2], read, row[3])
                    self._left(row[1], row[2], row[3], written=True)
            if not lost:
                return
            for store in late:
                self._catch_up(store, version)
                self._unclean(store)
            pending = lost  # someone else wrote these meanwhile: read and decide again
        raise RuntimeError(f"{len(pending)} rows kept losing races; the upload will be retried")

    def _moved(self, store: str, item: str, read: Current | None, count: int) -> None:
        moves = self.moves.setdefault(store, [])
        if moves is None:
            return
        if read is None or len(moves) >= MAX_MOVES:
            self.moves[store] = None  # a new item, or many changes: count the store
        else:
            moves.append((item, read.amount, count))

    # -- store records ----------------------------------------------------------------------

    def _left(self, store: str, item: str, count: int, written: bool) -> None:
        known = self.open.get(store)
        if known is not None:
            known.left(item, count, written)

    def _unclean(self, store: str) -> None:
        known = self.open.get(store)
        if known is not None:
            known.clean = False

    def _reopened(self, store: str) -> None:
        """A store whose rows ended comes back (a second block, a snapshot's zeroes): its
        record, written already, would not cover what comes now."""
        assert self.marks is not None
        self.finished.discard(store)
        self.marks.forget(store)
        self.usage.requests["UpdateItem"] += 1

    def _finish(self, store: str, version: str) -> None:
        known = self.open.pop(store, None)
        self.finished.add(store)
        if known is None or not known.clean or self.records is None or self.marks is None:
            return
        if self.expected.get(store) != version:
            return  # late for the store: a newer upload's record (or none) stands
        if not self.records.put(known.result(version)):
            return  # LATEST names this upload's record, which S3 does not hold: none stands
        if known.base is None:
            self.marks.vouch(store, version)
            self.usage.requests["UpdateItem"] += 1

    def _batches(
        self, writes: list[tuple[Row, Current | None]]
    ) -> list[list[tuple[Row, Current | None]]]:
        """Puts plus one ConditionCheck per store, at most 100 items a transaction."""
        batches: list[list[tuple[Row, Current | None]]] = []
        batch: list[tuple[Row, Current | None]] = []
        stores: set[str] = set()
        for write in writes:
            extra = 0 if (self.marks is None or write[0][1] in stores) else 1
            if len(batch) + len(stores) + 1 + extra > TRANSACT_BATCH:
                batches.append(batch)
                batch, stores = [], set()
            batch.append(write)
            if self.marks is not None:
                stores.add(write[0][1])
        if batch:
            batches.append(batch)
        return batches

    def _write(
        self, writes: list[tuple[Row, Current | None]], version: str
    ) -> tuple[list[Row], set[str]]:
        """Returns the rows someone else changed meanwhile and the stores found late."""
        lost: list[Row] = []
        late: set[str] = set()
        for batch in self._batches(writes):
            batch_lost, batch_late = self._transact(batch, version)
            lost.extend(batch_lost)
            late |= batch_late
        return lost, late

    def _transact(
        self, batch: list[tuple[Row, Current | None]], version: str
    ) -> tuple[list[Row], set[str]]:
        """One transaction; returns the rows to decide again, and the stores found late."""
        items = [self._put(row, read, version) for row, read in batch]
        stores = sorted({row[1] for row, _ in batch}) if self.marks is not None else []
        if self.marks is not None:
            items += [self.marks.check(store, self.expected[store]) for store in stores]
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
                    return [row for row, _ in batch], set()
                conflicted = {
                    n for n, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"
                }
                if conflicted:
                    late = {stores[n - len(batch)] for n in conflicted if n >= len(batch)}
                    lost = {n for n in conflicted if n < len(batch)}
                    lost |= {n for n, (row, _) in enumerate(batch) if row[1] in late}
                    # The rows that did not conflict are written again straight away; the
                    # conflicting ones go back to be read and decided again.
                    retry = [batch[n] for n in range(len(batch)) if n not in lost]
                    again, also_late = self._write(retry, version)
                    return [batch[n][0] for n in sorted(lost)] + again, late | also_late
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
                if used.get("TableName", self.table) == self.table:
                    self.usage.write_units += used.get("CapacityUnits", 0)
            return [], set()
        return [], set()  # not reached: the last throttled try raises

    def _put(self, row: Row, read: Current | None, version: str) -> dict[str, Any]:
        line, store, item, count = row
        unchanged = read is not None and read.amount == count
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
                    if read is not None and unchanged
                    else next_history(
                        read.history if read else "", read.amount if read else None, count, version
                    )
                },
            },
        }
        kept = (
            read.figures
            if read is not None and unchanged
            else figures.moved_on(
                read.figures if read else "",
                read.history if read else "",
                read.amount if read else None,
                count,
                version,
            )
        )
        if kept:
            put["Item"][figures.ATTRIBUTE] = {"S": kept}
        if read is None:
            put["ConditionExpression"] = "attribute_not_exists(#s)"
            put["ExpressionAttributeNames"] = {"#s": "Store"}
        elif read.version == "":
            # Written by another program (the lab's loader, the console): it carries no
            # Version, so "as read" means no Version and the count that was read.
            put["ConditionExpression"] = "attribute_not_exists(#v) AND #c = :count"
            put["ExpressionAttributeNames"] = {"#v": "Version", "#c": "Count"}
            put["ExpressionAttributeValues"] = {":count": {"N": str(read.amount)}}
        else:
            put["ConditionExpression"] = "#v = :read"
            put["ExpressionAttributeNames"] = {"#v": "Version"}
            put["ExpressionAttributeValues"] = {":read": {"S": read.version}}
        return {"Put": put}
