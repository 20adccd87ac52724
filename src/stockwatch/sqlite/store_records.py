"""A re-upload writes what changed: each store's last counts kept as one record.

A chain sends every store's whole inventory every day and most counts have not changed.
Stamping each unchanged row with the new upload's version rewrote the whole table (and
every page of its index) for nothing. Instead each store has a record: the digest of its
item names in file order, their counts as one array, and the version they were all last
counted at. When a file lists a store's items in the same order again, its counts are
compared with the record as two arrays; only the rows that differ are written, with their
old counts from the record, to the inventory's small tier (``inventory_table``,
``tiers``), and the record moves on to the new version.

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
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, groupby
from operator import itemgetter
from typing import Protocol

from stockwatch.core.loading import ChunkOutcome
from stockwatch.core.model import Row
from stockwatch.sqlite.fast_reader import Run

# A store block longer than this is written row by row and gets no record: its names and
# counts would be held in memory until the block ends.
BLOCK_MAX = 200_000
CHANGED_BATCH = 5_000
_STORE = itemgetter(1)


class Writes(Protocol):
    """How rows are written (``inventory_table.SqliteInventoryWriter``)."""

    def apply_rows(self, rows: list[Row], version: str) -> ChunkOutcome:
        """The ordering rule's set-based write of some rows (the slow path)."""

    def apply_changed(self, rows: list[Row], olds: list[int], version: str) -> ChunkOutcome:
        """The same, of changed counts of stores that matched their records, with their
        old counts (the fast path: their items are all in the table, every row older)."""

    def is_fresh(self, store: str) -> bool:
        """No item of the store is in the table yet."""

    def insert_fresh(self, block: Block, version: str) -> ChunkOutcome:
        """The block of a fresh store, straight in."""


@dataclass
class Record:
    version: str
    items: int
    digest: bytes
    counts: bytes  # array("q") of the counts, in the order of the digest's names


class Block:
    """The contiguous rows of one store in a file, gathered until the store changes: rows
    from the core reader, or runs from ``fast_reader`` (names and counts as arrays)."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.parts: list[list[Row] | Run] = []
        self.size = 0

    def add(self, part: list[Row] | Run) -> None:
        self.parts.append(part)
        self.size += len(part)

    def digest(self) -> bytes:
        """The item names in file order, as 16 bytes, however the rows were split: the
        names' UTF-8 lengths and their bytes, each hashed on its own."""
        lengths, names = hashlib.blake2b(digest_size=16), hashlib.blake2b(digest_size=16)
        for part in self.parts:
            if isinstance(part, Run):
                lengths.update(part.lengths)
                names.update(part.names)
            else:
                encoded = [r[2].encode("utf-8", "surrogatepass") for r in part]
                lengths.update(array("i", map(len, encoded)).tobytes())
                names.update(b"".join(encoded))
        return hashlib.blake2b(lengths.digest() + names.digest(), digest_size=16).digest()

    def counts(self) -> bytes:
        return b"".join(
            p.counts if isinstance(p, Run) else array("q", [r[3] for r in p]).tobytes()
            for p in self.parts
        )

    def rows(self) -> list[Row]:
        found: list[Row] = []
        for part in self.parts:
            if isinstance(part, Run):
                first, store = part.first_line, part.store
                names, counts = part.items(), part.count_array()
                found.extend(
                    (first + k, store, name, count)
                    for k, (name, count) in enumerate(zip(names, counts, strict=True))
                )
            else:
                found.extend(part)
        return found

    def columns(self) -> tuple[list[int], list[str], list[int]]:
        """The block's lines, item names and counts as three lists: a run's are made in C,
        with no Python object per row but the name and the count."""
        lines: list[int] = []
        items: list[str] = []
        counts: list[int] = []
        for part in self.parts:
            if isinstance(part, Run):
                lines.extend(range(part.first_line, part.first_line + len(part)))
                items.extend(part.items())
                counts.extend(part.count_array())
            else:
                lines.extend(r[0] for r in part)
                items.extend(r[2] for r in part)
                counts.extend(r[3] for r in part)
        return lines, items, counts

    def rows_at(self, wanted: list[int]) -> list[Row]:
        """The rows at these positions of the block (ascending), decoding only them."""
        found: list[Row] = []
        at, start = 0, 0
        for part in self.parts:
            end = start + len(part)
            picked = []
            while at < len(wanted) and wanted[at] < end:
                picked.append(wanted[at] - start)
                at += 1
            if picked:
                found.extend(
                    _run_rows(part, picked) if isinstance(part, Run) else [part[k] for k in picked]
                )
            start = end
        return found


def changed_positions(new: bytes, old: bytes) -> list[int]:
    """Where two int64 arrays of one length differ, compared at C speed (pyarrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    size = len(new) // 8
    ours = pa.Array.from_buffers(pa.int64(), size, [None, pa.py_buffer(new)])
    theirs = pa.Array.from_buffers(pa.int64(), size, [None, pa.py_buffer(old)])
    positions: list[int] = pc.indices_nonzero(pc.not_equal(ours, theirs)).to_pylist()
    return positions


def _run_rows(run: Run, picked: list[int]) -> list[Row]:
    sizes = array("i")
    sizes.frombytes(run.lengths)
    ends = list(accumulate(sizes))
    counts = run.count_array()
    return [
        (run.first_line + k, run.store, run.names[ends[k] - sizes[k] : ends[k]].decode(), counts[k])
        for k in picked
    ]


# A record's version written into the rows it covers, in each tier of the inventory.
_STAMPS = tuple(
    f"UPDATE {table} SET version = ?, line = CASE WHEN ? THEN 0 ELSE line END"  # noqa: S608
    " WHERE store = ? AND version < ?"
    for table in ("inventory_main", "inventory_recent")
)


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

    def move_on(self, store: str, version: str) -> None:
        """The store's items were all counted again, unchanged."""
        self.conn.execute("UPDATE store_records SET version = ? WHERE store = ?", (version, store))

    def materialise(self, store: str, record: Record, version: str = "") -> None:
        """Write the record's version into the rows it covers, in both tiers, then drop it.

        When the record is at ``version``, the upload writing now, an earlier block of
        this file confirmed every row without writing their lines: they get line 0, so
        that a later line of the file is a repeat of "an earlier line" (with the lines of
        an older file, a later line could pass for the row itself, or name a wrong line)."""
        stamp = (record.version, int(record.version == version), store, record.version)
        for statement in _STAMPS:
            self.conn.execute(statement, stamp)
        self.conn.execute("DELETE FROM store_records WHERE store = ?", (store,))

    def all_at(self, store: str, items: int, version: str) -> bool:
        """The store has exactly ``items`` rows, every one at ``version``: its block was
        written whole (no row older or repeated) and covered the store."""
        found, at = self.conn.execute(
            "SELECT count(*), coalesce(sum(version = ?), 0) FROM inventory WHERE store = ?",
            (version, store),
        ).fetchone()
        return int(found) == items and int(at) == items


class RecordingWriter:
    """Applies a file's rows store block by store block, writing only what changed.

    ``apply_rows`` is the ordering rule's set-based write of some rows (the slow path).
    Rows are held per store block until the store changes, so ``apply`` reports the
    outcomes of the blocks it finished; ``flush`` finishes the last one. After ``flush``
    (the file's rows are done) whatever is applied is written at once: a snapshot's
    zeroes are a second block of their stores, and their outcome is their own.
    """

    def __init__(self, conn: sqlite3.Connection, writes: Writes) -> None:
        self.records = StoreRecords(conn)
        self.writes = writes
        self.block: Block | None = None
        self.flushed = False
        self.written: set[str] = set()  # stores already written by this upload
        # Rows to write, of many stores together: one pass of the ordering rule's SQL rather
        # than one per store. The changed rows of stores that matched their records, and
        # whole blocks of stores that had none (a first load); those then get a record if
        # their block was written whole. They are written before anything else writes
        # rows: a record dropped meanwhile would stamp its version on rows still to come.
        self.changed: list[Row] = []
        self.candidates: list[tuple[str, Record]] = []
        # Whether ``changed`` holds the fast path's rows (written to the small tier) rather
        # than others: a switch writes them first, so the change feed keeps the file's order.
        self.fast = False
        self.olds: list[int] = []  # the fast path's old counts, beside ``changed``

    def apply(self, chunk: Sequence[Row], version: str) -> ChunkOutcome:
        if self.flushed:
            for store in {r[1] for r in chunk}:
                self._drop(store)
            return self.writes.apply_rows(list(chunk), version)
        outcome = ChunkOutcome()
        for store, run in groupby(chunk, key=_STORE):
            outcome.add(self._take(store, list(run), version))
        return self._batched(outcome, version)

    def apply_runs(self, runs: Sequence[Run], version: str) -> ChunkOutcome:
        """Runs of ``fast_reader``: the same, with no Python object made per row until a
        row has to be written."""
        outcome = ChunkOutcome()
        for run in runs:
            outcome.add(self._take(run.store, run, version))
        return self._batched(outcome, version)

    def flush(self, version: str) -> ChunkOutcome:
        block, self.block, self.flushed = self.block, None, True
        outcome = ChunkOutcome() if block is None else self._finish(block, version)
        outcome.add(self._write_changed(version))
        return outcome

    def _take(self, store: str, part: list[Row] | Run, version: str) -> ChunkOutcome:
        outcome = ChunkOutcome()
        block = self.block
        if block is None or block.store != store:
            if block is not None:
                outcome = self._finish(block, version)
            block = self.block = Block(store)
        block.add(part)
        if block.size > BLOCK_MAX:  # too long to hold: the slow path, no record
            outcome.add(self._write_changed(version))
            self._drop(store, version)
            outcome.add(self.writes.apply_rows(block.rows(), version))
            self.written.add(store)
            self.block = Block(store)
        return outcome

    def _batched(self, outcome: ChunkOutcome, version: str) -> ChunkOutcome:
        if len(self.changed) >= CHANGED_BATCH:
            outcome.add(self._write_changed(version))
        return outcome

    def _write_changed(self, version: str) -> ChunkOutcome:
        changed, self.changed = self.changed, []
        olds, self.olds = self.olds, []
        candidates, self.candidates = self.candidates, []
        outcome = ChunkOutcome()
        if changed and self.fast:
            outcome = self.writes.apply_changed(changed, olds, version)
        elif changed:
            outcome = self.writes.apply_rows(changed, version)
        for store, record in candidates:
            if self.records.all_at(store, record.items, version):
                self.records.put(store, record)
        return outcome

    def _drop(self, store: str, version: str = "") -> None:
        record = self.records.get(store)
        if record is not None:
            self.records.materialise(store, record, version)

    def _finish(self, block: Block, version: str) -> ChunkOutcome:
        store, size = block.store, block.size
        if not size:
            return ChunkOutcome()
        again = store in self.written  # a second block of the store in this file
        self.written.add(store)
        if again:  # its first block may still be pending: written first, then this one
            outcome = self._write_changed(version)
            self._drop(store, version)
            outcome.add(self.writes.apply_rows(block.rows(), version))
            return outcome
        counts, named = block.counts(), block.digest()
        record = self.records.get(store)
        outcome = ChunkOutcome()
        if record is not None:
            if record.items == size and record.digest == named:
                if version < record.version:
                    return ChunkOutcome(superseded=size)  # older than every count it has
                if version > record.version:
                    return self._changed_only(block, counts, record, version)
            outcome = self._write_changed(version)
            self.records.materialise(store, record)
        elif self.writes.is_fresh(store):
            # No row of the store yet: straight in, after the rows waiting before it (the
            # change feed keeps the file's order); with no repeat, its block covers it.
            outcome = self._write_changed(version)
            fresh = self.writes.insert_fresh(block, version)
            if not fresh.repeats:
                self.records.put(store, Record(version, size, named, counts))
            outcome.add(fresh)
            return outcome
        # Written with others' rows; the store gets a record if its block was written whole.
        outcome.add(self._pending(fast=False, version=version))
        self.changed.extend(block.rows())
        self.candidates.append((store, Record(version, size, named, counts)))
        return outcome

    def _changed_only(
        self, block: Block, counts: bytes, record: Record, version: str
    ) -> ChunkOutcome:
        changed: list[Row] = []
        outcome = ChunkOutcome()
        if counts != record.counts:
            positions = changed_positions(counts, record.counts)
            changed = block.rows_at(positions)
            outcome = self._pending(fast=True, version=version)
            old = array("q")
            old.frombytes(record.counts)
            self.olds.extend(old[k] for k in positions)
        self.changed.extend(changed)  # newer than every row of the store: written as changes
        if changed:
            self.records.put(block.store, Record(version, block.size, record.digest, counts))
        else:
            self.records.move_on(block.store, version)
        outcome.unchanged += block.size - len(changed)
        return outcome

    def _pending(self, fast: bool, version: str) -> ChunkOutcome:
        """Rows of the other kind waiting: written first."""
        outcome = ChunkOutcome()
        if self.fast != fast:
            if self.changed:
                outcome = self._write_changed(version)
            self.fast = fast
        return outcome
