"""Loading one inventory file into an inventory table through the ``InventoryWriter`` port.

Reading (``unique_chunks``) and writing (``load_chunks``) are separate steps joined by an
iterator of chunks, so a backend may run the reading elsewhere — in another process, with
the chunks in a form its database takes cheaply — and still follow the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Protocol, TypeVar

from stockwatch.core.layouts import NATIVE
from stockwatch.core.model import Row, RowError
from stockwatch.core.reader import InventoryFile, show_value
from stockwatch.core.report import UploadReport

_KEY = itemgetter(1, 2)
ChunkT = TypeVar("ChunkT", contravariant=True)
VersionT = TypeVar("VersionT", contravariant=True)  # int on one machine, str on AWS


Repeat = tuple[int, int, str, str]  # (line, first line, store, item)


@dataclass
class ChunkOutcome:
    loaded: int = 0
    unchanged: int = 0
    superseded: int = 0
    # rows repeating a (store, item) this upload already set
    repeats: list[Repeat] = field(default_factory=list)

    def add(self, part: ChunkOutcome) -> None:
        """Count ``part`` in: a writer that holds rows back reports them with a later chunk."""
        self.loaded += part.loaded
        self.unchanged += part.unchanged
        self.superseded += part.superseded
        self.repeats.extend(part.repeats)


class InventoryWriter(Protocol[ChunkT, VersionT]):
    """A backend's inventory table, applying ``core.ordering.decide`` to each row atomically."""

    def apply(self, chunk: ChunkT, version: VersionT) -> ChunkOutcome:
        """Write a chunk; the outcome of what was decided (a writer may hold rows back until
        it has seen more of their store, and decide them in a later call or in ``flush``)."""
        ...

    def flush(self, version: VersionT) -> ChunkOutcome:
        """The file's rows are done: decide what is held back. What is applied after is
        written at once (a snapshot's zeroes)."""
        ...


@dataclass
class ReadSummary:
    """What reading a file found besides its rows; small enough to pass between processes."""

    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_rejected: int = 0
    layout: str = NATIVE  # the layout the file was read in (``core.layouts``)

    @classmethod
    def of(cls, inventory: InventoryFile) -> ReadSummary:
        return cls(
            list(inventory.errors),
            list(inventory.warnings),
            inventory.rows_rejected,
            inventory.layout,
        )


def repeat_error(line: int, store: str, item: str, first_line: int) -> RowError:
    """``first_line`` 0: an earlier line of the file whose number was not kept (a store
    block that confirmed a whole store record writes no row, so no line)."""
    where = f"first on line {first_line}" if first_line else "first on an earlier line"
    return RowError(
        line, "item", f"store {show_value(store)}, item {show_value(item)} appears again; {where}"
    )


def first_of_each(rows: list[Row]) -> tuple[list[Row], list[Repeat]]:
    """The rows with each (store, item) at its first line only, and the repeats."""
    keys = list(map(_KEY, rows))
    if len(set(keys)) == len(keys):
        return rows, []
    first_lines: dict[tuple[str, str], int] = {}
    unique: list[Row] = []
    repeats: list[Repeat] = []
    for row, key in zip(rows, keys, strict=True):
        first = first_lines.setdefault(key, row[0])
        if first == row[0]:
            unique.append(row)
        else:
            repeats.append((row[0], first, row[1], row[2]))
    return unique, repeats


def unique_chunks(inventory: InventoryFile, size: int = 5000) -> Iterator[list[Row]]:
    """The file's valid rows in chunks, each (store, item) at most once within a chunk.

    Repeats across chunks are the writer's to find (``Outcome.REPEAT``), since only the
    table knows what earlier chunks of this upload set.
    """
    for chunk in inventory.chunks(size):
        unique, repeats = first_of_each(chunk)
        for line, first, store, item in repeats:
            error = repeat_error(line, store, item, first)
            inventory.reject_row(error.line, error.field, error.message)
        yield unique


@dataclass
class LoadProgress:
    """How far a load has got: the chunks written so far and what writing them found.

    A load that must stop part-way (a Lambda invocation running out of time) keeps this
    and carries on later: the file is read again from its start, the first ``chunks_done``
    chunks are read but not written, and the report comes out as from one run. Reading
    again is what makes the row errors of the skipped part come back without storing them.
    ``extra`` is the backend's own (the stores written, the cost so far).
    """

    chunks_done: int = 0
    loaded: int = 0
    unchanged: int = 0
    superseded: int = 0
    repeats: list[Repeat] = field(default_factory=list)
    repeats_total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "chunks_done": self.chunks_done,
            "loaded": self.loaded,
            "unchanged": self.unchanged,
            "superseded": self.superseded,
            "repeats": [list(r) for r in self.repeats],
            "repeats_total": self.repeats_total,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadProgress:
        return cls(
            chunks_done=int(data["chunks_done"]),
            loaded=int(data["loaded"]),
            unchanged=int(data["unchanged"]),
            superseded=int(data["superseded"]),
            repeats=[(int(a), int(b), str(c), str(d)) for a, b, c, d in data["repeats"]],
            repeats_total=int(data["repeats_total"]),
            extra=dict(data.get("extra") or {}),
        )


class Paused(Exception):
    """The load stopped at a chunk boundary; ``progress`` says where to carry on."""

    def __init__(self, progress: LoadProgress) -> None:
        super().__init__(f"paused after {progress.chunks_done:,} chunks")
        self.progress = progress


def load_chunks(
    chunks: Iterable[ChunkT],
    writer: InventoryWriter[ChunkT, VersionT],
    version: VersionT,
    report: UploadReport,
    progress: LoadProgress | None = None,
    should_pause: Callable[[], bool] | None = None,
    max_repeats_kept: int = 1000,
) -> list[RowError]:
    """Write every chunk; count the outcomes on ``report``; return the repeat errors.

    With ``progress`` from an earlier, paused run, its chunks are read but not written.
    ``should_pause`` is asked after each chunk written; when it says so, ``Paused`` is
    raised with the progress so far (the reader is left part-way: the caller closes it).

    Raises ``FileRejected`` (from the chunks) when the file cannot be read as a whole; the
    caller then undoes what was written, so a file is never half-applied.
    """
    done = progress or LoadProgress()
    skip = done.chunks_done
    for index, chunk in enumerate(chunks):
        if index < skip:
            continue
        _count(done, writer.apply(chunk, version), max_repeats_kept)
        done.chunks_done = index + 1
        if should_pause is not None and should_pause():
            _count(done, writer.flush(version), max_repeats_kept)
            raise Paused(done)
    _count(done, writer.flush(version), max_repeats_kept)
    report.rows_loaded += done.loaded
    report.rows_unchanged += done.unchanged
    report.rows_superseded += done.superseded
    report.rows_rejected += done.repeats_total - len(done.repeats)  # counted, not listed
    return [repeat_error(line, store, item, first) for line, first, store, item in done.repeats]


def _count(done: LoadProgress, outcome: ChunkOutcome, max_repeats_kept: int) -> None:
    done.loaded += outcome.loaded
    done.unchanged += outcome.unchanged
    done.superseded += outcome.superseded
    done.repeats_total += len(outcome.repeats)
    room = max_repeats_kept - len(done.repeats)
    done.repeats.extend(outcome.repeats[: max(room, 0)])


def finish_report(
    report: UploadReport, summary: ReadSummary, repeats: list[RowError], max_errors: int
) -> None:
    """Put the read errors and the writer's repeat errors on the report, in line order."""
    report.rows_rejected += summary.rows_rejected + len(repeats)
    report.errors = sorted([*summary.errors, *repeats], key=lambda e: e.line)[:max_errors]
    report.warnings = list(summary.warnings)
    report.layout = summary.layout
