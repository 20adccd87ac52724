"""Loading one inventory file into an inventory table through the ``InventoryWriter`` port.

Reading (``unique_chunks``) and writing (``load_chunks``) are separate steps joined by an
iterator of chunks, so a backend may run the reading elsewhere — in another process, with
the chunks in a form its database takes cheaply — and still follow the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Protocol, TypeVar

from stockwatch.core.model import Row, RowError
from stockwatch.core.reader import InventoryFile, show_value
from stockwatch.core.report import UploadReport

_KEY = itemgetter(1, 2)
ChunkT = TypeVar("ChunkT", contravariant=True)
VersionT = TypeVar("VersionT", contravariant=True)  # int on one machine, str on AWS


@dataclass
class ChunkOutcome:
    loaded: int = 0
    unchanged: int = 0
    superseded: int = 0
    # (line, first line, store, item) of rows repeating a (store, item) this upload already set
    repeats: list[tuple[int, int, str, str]] = field(default_factory=list)


class InventoryWriter(Protocol[ChunkT, VersionT]):
    """A backend's inventory table, applying ``core.ordering.decide`` to each row atomically."""

    def apply(self, chunk: ChunkT, version: VersionT) -> ChunkOutcome: ...


@dataclass
class ReadSummary:
    """What reading a file found besides its rows; small enough to pass between processes."""

    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_rejected: int = 0

    @classmethod
    def of(cls, inventory: InventoryFile) -> ReadSummary:
        return cls(list(inventory.errors), list(inventory.warnings), inventory.rows_rejected)


def repeat_error(line: int, store: str, item: str, first_line: int) -> RowError:
    return RowError(
        line,
        "item",
        f"store {show_value(store)}, item {show_value(item)} appears again; "
        f"first on line {first_line}",
    )


def unique_chunks(inventory: InventoryFile, size: int = 5000) -> Iterator[list[Row]]:
    """The file's valid rows in chunks, each (store, item) at most once within a chunk.

    Repeats across chunks are the writer's to find (``Outcome.REPEAT``), since only the
    table knows what earlier chunks of this upload set.
    """
    for chunk in inventory.chunks(size):
        keys = list(map(_KEY, chunk))
        if len(set(keys)) == len(keys):
            yield chunk
            continue
        first_lines: dict[tuple[str, str], int] = {}
        unique = []
        for row, key in zip(chunk, keys, strict=True):
            first = first_lines.setdefault(key, row[0])
            if first == row[0]:
                unique.append(row)
            else:
                error = repeat_error(row[0], row[1], row[2], first)
                inventory.reject_row(error.line, error.field, error.message)
        yield unique


def load_chunks(
    chunks: Iterable[ChunkT],
    writer: InventoryWriter[ChunkT, VersionT],
    version: VersionT,
    report: UploadReport,
) -> list[RowError]:
    """Write every chunk; count the outcomes on ``report``; return the repeat errors.

    Raises ``FileRejected`` (from the chunks) when the file cannot be read as a whole; the
    caller then undoes what was written, so a file is never half-applied.
    """
    repeats: list[RowError] = []
    for chunk in chunks:
        outcome = writer.apply(chunk, version)
        report.rows_loaded += outcome.loaded
        report.rows_unchanged += outcome.unchanged
        report.rows_superseded += outcome.superseded
        repeats.extend(
            repeat_error(line, store, item, first) for line, first, store, item in outcome.repeats
        )
    return repeats


def finish_report(
    report: UploadReport, summary: ReadSummary, repeats: list[RowError], max_errors: int
) -> None:
    """Put the read errors and the writer's repeat errors on the report, in line order."""
    report.rows_rejected = summary.rows_rejected + len(repeats)
    report.errors = sorted([*summary.errors, *repeats], key=lambda e: e.line)[:max_errors]
    report.warnings = list(summary.warnings)
