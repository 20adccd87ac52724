"""Reading a large upload in a second process, so parsing overlaps the database work.

Parsing and validating a row in Python costs about as much as storing it, and one Python
process uses one core. For a large file that pyarrow cannot read (``fast_reader``), or
that only some stores' rows may come from, a child process runs the core reader and sends
the chunks of rows over a pipe, while the parent applies the chunks before them. Memory
stays bounded: the pipe holds at most a chunk or two.

A clean file with no store limit is not worth a second process (``CleanFirst``): pyarrow
reads it at C speed in the parent, faster than a child interpreter starts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Generic, TypeVar

from stockwatch.core.details import ItemDetails
from stockwatch.core.limits import Limits
from stockwatch.core.loading import ChunkOutcome, ReadSummary, unique_chunks
from stockwatch.core.model import Row
from stockwatch.core.reader import FileRejected, InventoryFile
from stockwatch.sqlite import fast_reader
from stockwatch.sqlite.fast_reader import Run
from stockwatch.sqlite.inventory_table import SqliteInventoryWriter

READ_AHEAD_MIN_BYTES = 8 * 1024 * 1024

# Rows from the core reader (in the child), or runs of one store's rows of a clean file
# (read in the parent by ``CleanFirst``); ``RESTART`` says that the file turned out not to
# be clean part-way, and that its rows come again, from the core reader.
Chunk = list[Row] | tuple[Run, ...]
RESTART: tuple[Run, ...] = ()


class ReaderProcessFailed(Exception):
    """The read-ahead process died; the upload stays pending and is retried."""


def _read_in_child(
    path: str,
    limits: Limits,
    size: int,
    pipe: Connection,
    stores: frozenset[str] | None,
    reading: dict[str, str],
) -> None:
    with open(path, "rb") as source:
        inventory = InventoryFile(source, limits, stores=stores, reading=reading)
        try:
            for rows in unique_chunks(inventory, size):
                pipe.send(("chunk", rows, inventory.bytes_read, inventory.take_details()))
        except FileRejected as exc:
            pipe.send(("rejected", exc.message, exc.line, exc.headers))
            return
        pipe.send(("done", ReadSummary.of(inventory)))
    pipe.close()


class ReadAhead:
    """The chunks of one file, read by a child process."""

    def __init__(
        self,
        path: Path,
        limits: Limits,
        on_progress: Callable[[int], None] | None = None,
        stores: frozenset[str] | None = None,
        reading: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.limits = limits
        self.stores = stores
        self.reading = reading or {}
        self.on_progress = on_progress
        self.summary = ReadSummary()
        self._details = ItemDetails()  # of the chunk given last

    def take_details(self) -> ItemDetails:
        found, self._details = self._details, ItemDetails()
        return found

    def chunks(self, size: int = 5000) -> Iterator[Chunk]:
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_read_in_child,
            args=(str(self.path), self.limits, size, sender, self.stores, self.reading),
            name="stockwatch-reader",
            daemon=True,
        )
        child.start()
        sender.close()
        try:
            while True:
                try:
                    message = receiver.recv()
                except EOFError:
                    raise ReaderProcessFailed(
                        f"the process reading {self.path.name} stopped unexpectedly "
                        f"(exit code {child.exitcode})"
                    ) from None
                if message[0] == "chunk":
                    _, chunk, bytes_read, self._details = message
                    if self.on_progress is not None:
                        self.on_progress(bytes_read)
                    yield chunk
                elif message[0] == "rejected":
                    raise FileRejected(message[1], message[2], message[3])
                else:
                    self.summary = message[1]
                    return
        finally:
            receiver.close()
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join()


T = TypeVar("T")
_DONE = object()


class Ahead(Generic[T]):
    """``source``'s items, produced by a thread at most ``depth`` ahead of the consumer; the
    thread starts at once, so the first items are ready before they are asked for.

    An exception of ``source`` comes out of the iteration, in order; a consumer that stops
    early, or ``close``, stops the thread."""

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._source = source
        self._worker = threading.Thread(target=self._produce, name="stockwatch-parse", daemon=True)
        self._worker.start()

    def _produce(self) -> None:
        handoff, stop = self._handoff, self._stop
        try:
            for item in self._source:
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            handoff.put(exc)

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item = self._handoff.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        while self._worker.is_alive():  # let a blocked put go
            with contextlib.suppress(queue.Empty):
                self._handoff.get(timeout=0.05)
        self._worker.join()


def clean_first(size: int, min_bytes: int, scope: object, reading: object) -> bool:
    """A file pyarrow reads in this process first (``CleanFirst``): a large one, any store,
    stockwatch's own reading. ``ingest`` begins its read early (``EarlyRead``) on the same
    terms, so the two must agree."""
    return size >= min_bytes and scope is None and not reading


def in_a_thread(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``source``'s items, read ahead by a thread (``Ahead``).

    pyarrow parses and checks a batch without holding the GIL, so the next batch is read
    while this thread writes the one before: about a tenth of an unchanged re-upload."""
    return iter(Ahead(source, depth))


Batches = Iterator[tuple[list[Run], int, fast_reader.Skus]]


class EarlyRead:
    """A large file's read, begun while it is still being kept.

    ``ingest`` of an unchanged file spends about as long on parsing as on everything else
    together: importing pyarrow, copying and hashing the file, ``fsync``, registering the
    upload and opening its transaction. This thread imports pyarrow while the file is
    copied (the copy lets go of the GIL) and starts reading the kept copy the moment it is
    published, so the rest runs beside the parsing instead of before it. What is read is
    the kept file itself, and at most two batches are held. ``close`` stops it whether or
    not it was used (an upload already done, or one read another way)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.path: Path | None = None
        self._given: queue.Queue[Path | None] = queue.Queue(maxsize=1)
        self._ahead: Ahead[tuple[list[Run], int, fast_reader.Skus]] = Ahead(self._read())
        # Taken by ``CleanFirst``, or closed: either way no one else may have the batches.
        self._taken = False

    def _read(self) -> Batches:
        # pyarrow while the file is copied; pyarrow.compute (as long again) once Arrow's
        # threads are reading the file, in ``fast_reader.read``.
        import pyarrow.csv  # noqa: F401

        path = self._given.get()
        if path is not None:
            yield from fast_reader.read(path, self.limits)

    def start(self, path: Path) -> None:
        """The kept file is complete at ``path``: read it."""
        if self.path is None:
            self.path = path
            self._given.put(path)

    def take(self, path: Path) -> Batches | None:
        """The batches read so far and the rest, once, if it is ``path`` that was read."""
        if self._taken or self.path is None or path != self.path:
            return None
        self._taken = True
        return iter(self._ahead)

    def close(self) -> None:
        if self.path is None:
            self._given.put(None)  # never started: the thread stops waiting for a path
        self._taken = True
        self._ahead.close()


class CleanFirst:
    """A large file with no store limit, read here with pyarrow when it is clean: at C speed
    there is no second process worth starting (that costs a new interpreter and its
    imports, longer than pyarrow takes to read 2,000,000 rows). A file found unclean
    part-way is handed to ``ReadAhead``'s core reader after a ``RESTART``."""

    def __init__(
        self,
        path: Path,
        limits: Limits,
        on_progress: Callable[[int], None] | None = None,
        early: Batches | None = None,
    ) -> None:
        self.path = path
        self.limits = limits
        self.on_progress = on_progress
        self.early = early  # the batches of an ``EarlyRead`` of this file
        self.ahead: ReadAhead | None = None
        self._details = ItemDetails()

    def details(self) -> ItemDetails:
        if self.ahead is not None:
            return self.ahead.take_details()
        found, self._details = self._details, ItemDetails()
        return found

    def chunks(self) -> Iterator[Chunk]:
        sent = False
        try:
            batches = self.early or in_a_thread(fast_reader.read(self.path, self.limits))
            self.early = None
            for runs, bytes_read, skus in batches:
                self._details = ItemDetails(columns=skus)
                if runs:
                    sent = True
                    if self.on_progress is not None:
                        self.on_progress(bytes_read)
                    yield tuple(runs)
            return
        except fast_reader.NotClean:
            if sent:
                yield RESTART
        self.ahead = ReadAhead(self.path, self.limits, self.on_progress)
        yield from self.ahead.chunks()

    def summary(self) -> ReadSummary:
        if self.ahead is None:  # read clean: stockwatch's own layout, or Shopify's
            return ReadSummary(layout=fast_reader.shape(self.path).layout)
        return self.ahead.summary


class ChunkWriter:
    """Applies the chunks of ``ReadAhead`` and ``CleanFirst``; the caller holds the
    transaction.

    What runs of a clean file did is held back until ``flush`` (their outcomes) and inside
    a savepoint (their writes): a ``RESTART`` undoes both, and the core reader's chunks of
    the same file follow.
    """

    def __init__(self, conn: sqlite3.Connection, upload: int) -> None:
        self._conn = conn
        self._upload = upload
        self._rows = SqliteInventoryWriter(conn, upload)
        self._clean: ChunkOutcome | None = None  # outcomes of the runs, until flush

    def apply(self, chunk: Chunk, version: str) -> ChunkOutcome:
        if isinstance(chunk, list):
            return self._rows.apply(chunk, version)
        if chunk == RESTART:
            return self._restart()
        if self._clean is None:
            self._conn.execute("SAVEPOINT clean_read")
            self._clean = ChunkOutcome()
        self._clean.add(self._rows.apply_runs(chunk, version))
        return ChunkOutcome()

    def flush(self, version: str) -> ChunkOutcome:
        outcome = self._rows.flush(version)
        if self._clean is not None:
            outcome.add(self._clean)
            self._clean = None
            self._conn.execute("RELEASE clean_read")
        return outcome

    def _restart(self) -> ChunkOutcome:
        if self._clean is not None:
            self._conn.execute("ROLLBACK TO clean_read")
            self._conn.execute("RELEASE clean_read")
            self._clean = None
        self._rows = SqliteInventoryWriter(self._conn, self._upload)
        return ChunkOutcome()
