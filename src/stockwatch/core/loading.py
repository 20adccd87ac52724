"""Loading one inventory file into an inventory table through the ``InventoryWriter`` port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Protocol

from stockwatch.core.model import Row
from stockwatch.core.reader import InventoryFile, _show
from stockwatch.core.report import UploadReport

_KEY = itemgetter(1, 2)


@dataclass
class ChunkOutcome:
    loaded: int = 0
    unchanged: int = 0
    superseded: int = 0
    # (line, first line) of rows that repeat a (store, item) this upload already set
    repeats: list[tuple[int, int]] = field(default_factory=list)


class InventoryWriter(Protocol):
    """A backend's inventory table, applying ``core.ordering.decide`` to each row atomically."""

    def apply(self, rows: Sequence[Row], version: int) -> ChunkOutcome: ...


def _repeat_message(store: str, item: str, first_line: int) -> str:
    return f"store {_show(store)}, item {_show(item)} appears again; first on line {first_line}"


def load_rows(
    inventory: InventoryFile,
    writer: InventoryWriter,
    version: int,
    report: UploadReport,
    chunk_rows: int = 5000,
) -> None:
    """Stream the file's valid rows into ``writer``; row errors land on ``inventory``.

    Raises ``FileRejected`` when the file cannot be read as a whole; the caller then undoes
    what was written, so a file is never half-applied.
    """
    for chunk in inventory.chunks(chunk_rows):
        keys = list(map(_KEY, chunk))
        unique = chunk if len(set(keys)) == len(keys) else _drop_repeats(inventory, chunk, keys)
        outcome = writer.apply(unique, version)
        if outcome.repeats:
            names = {row[0]: (row[1], row[2]) for row in unique}
            for line, first in outcome.repeats:
                store, item = names[line]
                inventory.reject_row(line, "item", _repeat_message(store, item, first))
        report.rows_loaded += outcome.loaded
        report.rows_unchanged += outcome.unchanged
        report.rows_superseded += outcome.superseded
    finish_report(inventory, report)


def _drop_repeats(
    inventory: InventoryFile, chunk: list[Row], keys: list[tuple[str, str]]
) -> list[Row]:
    """Reject the later rows of a (store, item) that appears twice within one chunk."""
    first_lines: dict[tuple[str, str], int] = {}
    unique = []
    for row, key in zip(chunk, keys, strict=True):
        first = first_lines.setdefault(key, row[0])
        if first != row[0]:
            inventory.reject_row(row[0], "item", _repeat_message(row[1], row[2], first))
        else:
            unique.append(row)
    return unique


def finish_report(inventory: InventoryFile, report: UploadReport) -> None:
    report.rows_rejected = inventory.rows_rejected
    report.errors = sorted(inventory.errors, key=lambda e: e.line)
    report.warnings = list(inventory.warnings)
