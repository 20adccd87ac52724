"""A re-upload writes what changed: each store's last counts kept as one record.

A chain sends every store's whole inventory every day and most counts have not changed.
Stamping each unchanged row with the new upload's version rewrote the whole table (and
every page of its index) for nothing. Instead each store has a record: the digest of its
item names in file order, their counts as one array, and the version they were all last
counted at. When a file lists a store's items in the same order again, its counts are
compared with the record as two arrays; only the rows that differ go through the ordering
rule's SQL (``inventory_table.apply_staged``), and the record moves on to the new version.

The record stands in for the versions of the rows it covers, so it is kept exact:

* it exists only while it covers every item of its store in the inventory, and every one
  of those rows has a version at most the record's (the record's is theirs);
* anything else that writes a store's rows (a file listing its items otherwise, a second
  block of the same store in one file, a snapshot's zeroes, an older file arriving late
  with different items) first writes the record's version into the rows it covers and
  drops the record ("materialises" it); the rows then follow the ordering rule as before,
  and a new record is made when the store's block covered all its items;
* the reads that need when an item was last counted take the greater of its row's version
  and its store record's (``queries.forecast_points``).

An older file for a store whose items match the record is stale as a whole (every row is
older than the record), which is what the ordering rule says row by row.
"""

from __future__ import annotations

import hashlib
import sqlite3
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from stockwatch.core.loading import ChunkOutcome
from stockwatch.core.model import Row

# A store block longer than this is written row by row and gets no record: its names and
# counts would be held in memory until the block ends.
BLOCK_MAX = 200_000
CHANGED_BATCH = 5_000
_STORE = itemgetter(1)


def digest(names: Sequence[str]) -> bytes:
    """The item names in file order, as 16 bytes (names hold no NUL: the reader refuses it)."""
    joined = "\x00".join(names).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=16).digest()


@dataclass
class Record:
    version: str
    items: int
    digest: bytes
    counts: bytes  # array("q") of the counts, in the order of the digest's names


@dataclass
class Block:
    """The contiguous rows of one store in a file, gathered until the store changes."""

    store: str
    rows: list[Row] = field(default_factory=list)


ApplyRows = Callable[[list[Row], str], ChunkOutcome]


def counts_of(rows: Sequence[Row]) -> bytes:
    return array("q", [r[3] for r in rows]).tobytes()


class StoreRecords:
    """The ``store_records`` table; the caller holds the transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, store: str) -> Record | None:
        found = self.conn.execute(
            "SELECT version, items, digest, counts FROM store_records WHERE store = ?", (store,)
        ).fetchone()
        return None if found is None else Record(*found)

    def put(self, store: str, record: Record) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO store_records (store, version, items, digest, counts)"
            " VALUES (?, ?, ?, ?, ?)",
            (store, record.version, record.items, record.digest, record.counts),
        )

    def materialise(self, store: str, record: Record) -> None:
        """Write the record's version into the rows it covers, then drop it."""
        self.conn.execute(
            "UPDATE inventory SET version = ? WHERE store = ? AND version < ?",
            (record.version, store, record.version),
        )
        self.conn.execute("DELETE FROM store_records WHERE store = ?", (store,))

    def covers_all(self, store: str, items: int) -> bool:
        (found,) = self.conn.execute(
            "SELECT count(*) FROM inventory WHERE store = ?", (store,)
        ).fetchone()
        return int(found) == items


class RecordingWriter:
    """Applies chunks of rows store block by store block, writing only what changed.

    ``apply_rows`` is the ordering rule's set-based write of some rows (the slow path).
    Rows are held per store block until the store changes, so ``apply`` reports the
    outcomes of the blocks it finished; ``flush`` finishes the last one. After ``flush``
    (the file's rows are done) whatever is applied is written at once: a snapshot's
    zeroes are a second block of their stores, and their outcome is their own.
    """

    def __init__(self, conn: sqlite3.Connection, apply_rows: ApplyRows) -> None:
        self.records = StoreRecords(conn)
        self.apply_rows = apply_rows
        self.block: Block | None = None
        self.flushed = False
        self.written: set[str] = set()  # stores already written by this upload
        # Changed rows of stores that matched their records, written together: one pass of
        # the ordering rule's SQL for many stores rather than one per store.
        self.changed: list[Row] = []

    def apply(self, chunk: Sequence[Row], version: str) -> ChunkOutcome:
        outcome = ChunkOutcome()
        if self.flushed:
            for store in {r[1] for r in chunk}:
                self._drop(store)
            return self.apply_rows(list(chunk), version)
        # Pending changes are written before anything else writes rows: a record dropped
        # meanwhile would stamp its version on rows whose change is still to be written.
        for store, run in groupby(chunk, key=_STORE):
            block = self.block
            if block is None or block.store != store:
                if block is not None:
                    _add(outcome, self._finish(block, version))
                block = self.block = Block(store)
            block.rows.extend(run)
            if len(block.rows) > BLOCK_MAX:  # too long to hold: the slow path, no record
                _add(outcome, self._write_changed(version))
                self._drop(store)
                _add(outcome, self.apply_rows(block.rows, version))
                self.written.add(store)
                block.rows = []
        if len(self.changed) >= CHANGED_BATCH:
            _add(outcome, self._write_changed(version))
        return outcome

    def flush(self, version: str) -> ChunkOutcome:
        block, self.block, self.flushed = self.block, None, True
        outcome = ChunkOutcome() if block is None else self._finish(block, version)
        _add(outcome, self._write_changed(version))
        return outcome

    def _write_changed(self, version: str) -> ChunkOutcome:
        changed, self.changed = self.changed, []
        return self.apply_rows(changed, version) if changed else ChunkOutcome()

    def _drop(self, store: str) -> None:
        record = self.records.get(store)
        if record is not None:
            self.records.materialise(store, record)

    def _finish(self, block: Block, version: str) -> ChunkOutcome:
        store, rows = block.store, block.rows
        if not rows:
            return ChunkOutcome()
        again = store in self.written  # a second block of the store in this file
        self.written.add(store)
        record = self.records.get(store)
        names = [r[2] for r in rows]
        counts = counts_of(rows)
        matches = record is not None and record.items == len(rows) and not again
        if record is not None and matches and record.digest == digest(names):
            if version < record.version:
                return ChunkOutcome(superseded=len(rows))  # older than every count it has
            if version > record.version:
                return self._changed_only(store, rows, counts, record, version)
        pending = self._write_changed(version)
        if record is not None:
            self.records.materialise(store, record)
        outcome = self.apply_rows(rows, version)
        whole = not outcome.superseded and not outcome.repeats
        if not again and whole and self.records.covers_all(store, len(rows)):
            self.records.put(store, Record(version, len(rows), digest(names), counts))
        _add(outcome, pending)
        return outcome

    def _changed_only(
        self, store: str, rows: list[Row], counts: bytes, record: Record, version: str
    ) -> ChunkOutcome:
        if counts == record.counts:
            changed: list[Row] = []
        else:
            old = array("q")
            old.frombytes(record.counts)
            changed = [r for r, before in zip(rows, old, strict=True) if r[3] != before]
        self.changed.extend(changed)  # newer than every row of the store: written as changes
        self.records.put(store, Record(version, len(rows), record.digest, counts))
        return ChunkOutcome(unchanged=len(rows) - len(changed))


def _add(total: ChunkOutcome, part: ChunkOutcome) -> None:
    total.loaded += part.loaded
    total.unchanged += part.unchanged
    total.superseded += part.superseded
    total.repeats.extend(part.repeats)
