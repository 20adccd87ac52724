"""Reading a clean inventory file with pyarrow's CSV reader, as runs of one store's rows.

The core reader (``core.reader``) checks and converts each row in Python, which costs more
than everything else of a re-upload that changed little. Most files a chain sends every day
are clean: UTF-8, comma-separated, a header of exactly store, item and count, one row per
line, names without stray spaces or control characters, counts of plain digits. Such a
file is checked here with whole-column operations at C speed (pyarrow, chosen by
measurement: see docs/operations.md), and handed on as runs of one store's rows: the item
names' bytes and lengths and the counts as arrays, which ``store_records`` compares with a
store's last counts without making a Python object per row.

Any file that is not clean in every one of those ways is read by the core reader instead,
from its start (``NotClean``), so its errors, warnings and line numbers are exactly the
core reader's. Each batch is checked before its runs are handed on; a file found unclean
part-way is read again from its start by the core reader, and what its first batches did
is undone (``readahead.StagedChunkWriter``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stockwatch.core.limits import Limits

COLUMNS = ("store", "item", "count")
BLOCK_BYTES = 1 << 20
# What the core reader refuses or changes in a name, and U+FFFD (bytes that were not text).
_NOT_CLEAN = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}\x{FFFD}]"


class NotClean(Exception):
    """The file needs the core reader: the message says why (for the logs)."""


@dataclass(frozen=True)
class Run:
    """Consecutive rows of one store: item names as UTF-8 bytes and their lengths (int32),
    counts as int64, and the line of the first row (each row is one line)."""

    store: str
    first_line: int
    lengths: bytes
    names: bytes
    counts: bytes
    # The names as pyarrow holds them: made into Python strings in C when they are needed.
    column: Any = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.counts) // 8

    def items(self) -> list[str]:
        if self.column is not None:
            found: list[str] = self.column.to_pylist()
            return found
        sizes = array("i")
        sizes.frombytes(self.lengths)
        found, at = [], 0
        for size in sizes:
            found.append(self.names[at : at + size].decode("utf-8"))
            at += size
        return found

    def count_array(self) -> array[int]:
        values = array("q")
        values.frombytes(self.counts)
        return values


def header_order(path: Path) -> list[str]:
    """The header's columns in file order, lower case; ``NotClean`` unless it is exactly
    store, item and count (in any order and letter case) on the first line."""
    with open(path, "rb") as source:
        first = source.readline(4096)
    text = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    try:
        names = text.decode("ascii").split(",")
    except UnicodeDecodeError:
        raise NotClean("the header is not plain ASCII") from None
    lowered = [n.lower() for n in names]
    if sorted(lowered) != sorted(COLUMNS) or any(n != n.strip() for n in names):
        raise NotClean("the header is not exactly store, item and count")
    return lowered


def _open(path: Path, order: list[str]):  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.csv as csv

    return csv.open_csv(
        path,
        read_options=csv.ReadOptions(
            column_names=order, skip_rows=1, block_size=BLOCK_BYTES, use_threads=False
        ),
        parse_options=csv.ParseOptions(ignore_empty_lines=False),
        convert_options=csv.ConvertOptions(
            column_types=dict.fromkeys(COLUMNS, pa.string()), strings_can_be_null=False
        ),
    )


def _check_batch(batch: object, limits: Limits) -> None:
    """``NotClean`` unless every row of the batch is as the module doc says."""
    import pyarrow.compute as pc

    digits = len(str(limits.max_count)) - 1  # as the core reader's fast path allows
    column = batch.column  # type: ignore[attr-defined]
    for name in ("store", "item"):
        values = column(name)
        size = pc.utf8_length(values)
        if pc.min(size).as_py() == 0 or pc.max(size).as_py() > limits.max_field_chars:
            raise NotClean(f"an empty or too long {name}")
        if pc.any(pc.match_substring_regex(values, _NOT_CLEAN)).as_py():
            raise NotClean(f"a {name} with a control character or a line break")
        if not pc.all(pc.equal(values, pc.utf8_trim_whitespace(values))).as_py():
            raise NotClean(f"a {name} with spaces around it")
    counts = column("count")
    if not pc.all(pc.match_substring_regex(counts, f"^[0-9]{{1,{digits}}}$")).as_py():
        raise NotClean("a count that is not plain digits")
    line = pc.add(
        pc.add(pc.binary_length(column("store")), pc.binary_length(counts)),
        pc.binary_length(column("item")),
    )
    if pc.max(line).as_py() + 8 > limits.max_line_bytes:
        raise NotClean("a line near the length limit")


def check(path: Path, limits: Limits) -> int:
    """Read the whole file once and say whether it is clean (``NotClean`` if not); the
    number of rows when it is."""
    return sum(sum(len(r) for r in runs) for runs, _ in read(path, limits))


def read(path: Path, limits: Limits) -> Iterator[tuple[list[Run], int]]:
    """The file as runs per store, batch by batch, with the bytes read so far, each batch
    checked before it is handed on: ``NotClean`` may come after some batches were (the
    caller then undoes them and reads the file with the core reader)."""
    import pyarrow as pa

    order = header_order(path)
    rows = 0
    batches = _open(path, order)
    try:
        for runs, read_so_far, batch in _runs(batches, path.stat().st_size, limits):
            rows += batch.num_rows  # type: ignore[attr-defined]
            if rows > limits.max_rows:
                raise NotClean("more rows than the limit")
            yield runs, read_so_far
    except pa.ArrowInvalid as exc:  # a row with other fields, bytes that are not UTF-8...
        raise NotClean(str(exc).splitlines()[0]) from None
    if rows == 0:
        raise NotClean("no rows")


def _runs(
    batches: Iterator[object], total: int, limits: Limits
) -> Iterator[tuple[list[Run], int, object]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    line = 2
    read_so_far = 0
    for batch in batches:
        _check_batch(batch, limits)
        column = batch.column  # type: ignore[attr-defined]
        ends = pc.run_end_encode(column("store"), run_end_type=pa.int32())
        items = column("item")
        lengths = pc.binary_length(items)
        counts = pc.cast(column("count"), pa.int64())
        found: list[Run] = []
        start = 0
        for store, end in zip(ends.values.to_pylist(), ends.run_ends.to_pylist(), strict=True):
            found.append(_run(store, line + start, items, lengths, counts, start, end))
            start = end
        line += batch.num_rows  # type: ignore[attr-defined]
        read_so_far = min(total, read_so_far + batch.nbytes)  # type: ignore[attr-defined]
        yield found, read_so_far, batch


def _run(
    store: str,
    first_line: int,
    items: object,
    lengths: object,
    counts: object,
    start: int,
    end: int,
) -> Run:
    size = end - start
    names = items.slice(start, size)  # type: ignore[attr-defined]
    offsets = memoryview(names.buffers()[1]).cast("B").cast("i")
    first, last = offsets[names.offset], offsets[names.offset + size]
    data = bytes(memoryview(names.buffers()[2])[first:last])
    sizes = lengths.slice(start, size)  # type: ignore[attr-defined]
    sized = bytes(memoryview(sizes.buffers()[1])[sizes.offset * 4 : (sizes.offset + size) * 4])
    values = counts.slice(start, size)  # type: ignore[attr-defined]
    counted = bytes(memoryview(values.buffers()[1])[values.offset * 8 : (values.offset + size) * 8])
    return Run(store, first_line, sized, data, counted, names)
