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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stockwatch.core.details import SkuColumns
from stockwatch.core.layouts import NATIVE, detect
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


@dataclass(frozen=True)
class Shape:
    """How a clean file's columns give store, item and count: stockwatch's own header, or
    Shopify's inventory export (its item name built as ``core.layouts`` builds it)."""

    layout: str
    names: list[str]  # every column, in file order, as pyarrow is told to read them
    derive: Callable[[Any], tuple[Any, Any, Any]] = field(repr=False)
    used: tuple[str, ...] = ()  # the columns whose values make the rows
    sku: str | None = None  # the column of each row's SKU (``core.details``)
    store: str = "store"  # the column of each row's store
    count: str = "count"  # the column of each row's count


def shape(path: Path) -> Shape:
    """The file's shape from its first line; ``NotClean`` unless it is a plain ASCII header
    of stockwatch's own columns or of a Shopify export, with no column named twice."""
    with open(path, "rb") as source:
        first = source.readline(4096)
    text = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    try:
        names = text.decode("ascii").split(",")
    except UnicodeDecodeError:
        raise NotClean("the header is not plain ASCII") from None
    lowered = [n.lower() for n in names]
    if any(n != n.strip() for n in names) or len(set(lowered)) != len(lowered):
        raise NotClean("a header name with spaces around it, or named twice")
    if sorted(lowered) == sorted(COLUMNS):
        return Shape(
            NATIVE,
            lowered,
            lambda batch: (batch.column("store"), batch.column("item"), batch.column("count")),
            COLUMNS,
        )
    found = detect(names)
    if found is not None and found.name == "shopify":
        return _shopify(lowered)
    raise NotClean("the header is neither store, item and count nor a Shopify export's")


def _shopify(lowered: list[str]) -> Shape:
    import pyarrow as pa
    import pyarrow.compute as pc

    options = [n for n in lowered if n.startswith("option") and n.endswith(" value")]

    def derive(batch: Any) -> tuple[Any, Any, Any]:
        title = batch.column("title")
        # The non-empty option values joined by " / ", one column at a time, with no nulls
        # (the null-skipping join drops the rows whose values are all null).
        joined = pa.array([""] * batch.num_rows, pa.string())
        for name in options:
            value = batch.column(name)
            both = pc.binary_join_element_wise(joined, value, " / ")
            joined = pc.if_else(
                pc.equal(value, ""), joined, pc.if_else(pc.equal(joined, ""), value, both)
            )
        plain = pc.or_(pc.equal(joined, ""), pc.equal(joined, "Default Title"))
        item = pc.if_else(plain, title, pc.binary_join_element_wise(title, joined, " - "))
        return batch.column("location"), item, batch.column("available")

    return Shape(
        "shopify",
        lowered,
        derive,
        ("title", "location", "available", *options),
        "sku" if "sku" in lowered else None,
        "location",
        "available",
    )


def _open(path: Path, found: Shape):  # type: ignore[no-untyped-def]
    """Arrow's threads read and parse the next blocks while this thread checks a batch and
    makes its runs (in order: a streaming reader's batches keep the file's order). An
    unchanged re-upload of 2,000,000 rows: 0.54 s with them, 0.61 s without (medians of six
    interleaved runs, the variant with threads run first)."""
    import pyarrow as pa
    import pyarrow.csv as csv

    return csv.open_csv(
        path,
        read_options=csv.ReadOptions(
            column_names=found.names, skip_rows=1, block_size=BLOCK_BYTES, use_threads=True
        ),
        parse_options=csv.ParseOptions(ignore_empty_lines=False),
        convert_options=csv.ConvertOptions(
            column_types=dict.fromkeys(found.names, pa.string()), strings_can_be_null=False
        ),
    )


def _check_batch(batch: Any, found: Shape, limits: Limits) -> tuple[Any, Any, Any, Any]:
    """The batch's stores (as runs), items, counts and the items' lengths in bytes;
    ``NotClean`` unless every row is as the module doc says (and, for an export, no value
    it uses has spaces around it).

    A file lists each store's rows together, so the store column is checked once per run.
    Names and counts are first looked at as bytes (``_surely_clean``), which is cheaper than
    a regular expression over every value; the expression decides only when they are not
    plainly clean. Lengths are first bounded by bytes, which pyarrow counts without reading
    the text; characters are counted only when bytes are over the limit. Each check refuses
    what it refused before: a third of the time of checking a batch went to counting
    characters, trimming counts and adding up every line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = len(str(limits.max_count)) - 1  # as the core reader's fast path allows
    stores, items, counts = found.derive(batch)
    runs = pc.run_end_encode(stores, run_end_type=pa.int32())
    for name in found.used:
        if name == found.count:
            continue  # anything but digits is refused below, spaces too
        values = runs.values if name == found.store else batch.column(name)
        if not pc.all(pc.equal(values, pc.utf8_trim_whitespace(values))).as_py():
            raise NotClean(f"a {name} with spaces around it")
    longest = 0
    item_bytes = pc.binary_length(items)
    for name, values, size in (
        ("store", runs.values, pc.binary_length(runs.values)),
        ("item", items, item_bytes),
    ):
        most = pc.max(size).as_py()
        longest += most
        if pc.min(size).as_py() == 0 or (
            most > limits.max_field_chars  # a character is one byte or more
            and pc.max(pc.utf8_length(values)).as_py() > limits.max_field_chars
        ):
            raise NotClean(f"an empty or too long {name}")
        if (
            not _surely_clean(values)
            and pc.any(pc.match_substring_regex(values, _NOT_CLEAN)).as_py()
        ):
            raise NotClean(f"a {name} with a control character or a line break")
    sizes = pc.binary_length(counts)
    plain = _bytes_of(counts).translate(None, _DIGITS) == b""
    widest = pc.max(sizes).as_py()
    if (
        pc.min(sizes).as_py() == 0
        or widest > digits
        or (
            not plain
            and not pc.all(pc.match_substring_regex(counts, f"^[0-9]{{1,{digits}}}$")).as_py()
        )
    ):
        raise NotClean("a count that is not plain digits")
    room = limits.max_line_bytes - batch.num_columns - 8
    # Own layout: no line is longer than the longest store, item and count together.
    if found.layout != NATIVE or longest + widest > room:
        line = pc.binary_length(batch.column(0))
        for index in range(1, batch.num_columns):
            line = pc.add(line, pc.binary_length(batch.column(index)))
        if pc.max(line).as_py() > room:
            raise NotClean("a line near the length limit")
    return runs, items, counts, item_bytes


_DIGITS = b"0123456789"
# Bytes that are not a control character (C0, DEL) and cannot start one of the sequences
# _NOT_CLEAN also refuses (C1 controls start with C2, the line separators with E2, U+FFFD
# with EF): a name made only of these is clean without asking the expression.
_PLAIN = bytes(b for b in range(256) if b >= 0x20 and b not in (0x7F, 0xC2, 0xE2, 0xEF))


def _bytes_of(values: Any) -> bytes:
    """The bytes of a string array's values (exactly its own, whatever its offset)."""
    if len(values) == 0:
        return b""
    offsets = memoryview(values.buffers()[1]).cast("B").cast("i")
    first, last = offsets[values.offset], offsets[values.offset + len(values)]
    return bytes(memoryview(values.buffers()[2])[first:last])


def _surely_clean(values: Any) -> bool:
    return _bytes_of(values).translate(None, _PLAIN) == b""


def check(path: Path, limits: Limits) -> int:
    """Read the whole file once and say whether it is clean (``NotClean`` if not); the
    number of rows when it is."""
    return sum(sum(len(r) for r in runs) for runs, _, _ in read(path, limits))


Skus = dict[str, list[SkuColumns]]  # by store, as the file lists them


def read(path: Path, limits: Limits) -> Iterator[tuple[list[Run], int, Skus]]:
    """The file as runs per store, batch by batch, with the bytes read so far and the
    batch's SKUs, each batch checked before it is handed on: ``NotClean`` may come after
    some batches were (the caller then undoes them and reads the file with the core
    reader)."""
    import pyarrow as pa

    found = shape(path)
    rows = 0
    batches = _open(path, found)
    try:
        for runs, read_so_far, batch, skus in _runs(batches, found, path.stat().st_size, limits):
            rows += batch.num_rows  # type: ignore[attr-defined]
            if rows > limits.max_rows:
                raise NotClean("more rows than the limit")
            yield runs, read_so_far, skus
    except pa.ArrowInvalid as exc:  # a row with other fields, bytes that are not UTF-8...
        raise NotClean(str(exc).splitlines()[0]) from None
    if rows == 0:
        raise NotClean("no rows")


def _checked_skus(batch: Any, found: Shape, limits: Limits) -> Any:
    """The batch's SKU column, or None when it has none; ``NotClean`` for a SKU the core
    reader would not keep as it is."""
    import pyarrow.compute as pc

    if found.sku is None:
        return None
    values = batch.column(found.sku)
    longest = pc.max(pc.utf8_length(values)).as_py()
    if longest == 0:
        return None
    if longest > limits.max_field_chars:
        raise NotClean("a SKU that is too long")
    if pc.any(pc.match_substring_regex(values, _NOT_CLEAN)).as_py():
        raise NotClean("a SKU with a control character or a line break")
    if not pc.all(pc.equal(values, pc.utf8_trim_whitespace(values))).as_py():
        raise NotClean("a SKU with spaces around it")
    return values


def _packed(values: Any, sizes: Any, start: int, end: int) -> tuple[bytes, bytes]:
    """A slice of a string column as its values' lengths (int32) and bytes."""
    size = end - start
    names = values.slice(start, size)
    offsets = memoryview(names.buffers()[1]).cast("B").cast("i")
    first, last = offsets[names.offset], offsets[names.offset + size]
    data = bytes(memoryview(names.buffers()[2])[first:last])
    part = sizes.slice(start, size)
    lengths = bytes(memoryview(part.buffers()[1])[part.offset * 4 : (part.offset + size) * 4])
    return lengths, data


def _runs(
    batches: Iterator[object], found: Shape, total: int, limits: Limits
) -> Iterator[tuple[list[Run], int, object, Skus]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    line = 2
    read_so_far = 0
    for batch in batches:
        ends, items, texts, lengths = _check_batch(batch, found, limits)
        skus = _checked_skus(batch, found, limits)
        sku_sizes = pc.binary_length(skus) if skus is not None else None
        counts = pc.cast(texts, pa.int64())
        made: list[Run] = []
        packed: Skus = {}
        start = 0
        for store, end in zip(ends.values.to_pylist(), ends.run_ends.to_pylist(), strict=True):
            run = _run(store, line + start, items, lengths, counts, start, end)
            made.append(run)
            if skus is not None:
                sku_lengths, sku_data = _packed(skus, sku_sizes, start, end)
                packed.setdefault(store, []).append(
                    SkuColumns(run.lengths, run.names, sku_lengths, sku_data)
                )
            start = end
        line += batch.num_rows  # type: ignore[attr-defined]
        read_so_far = min(total, read_so_far + batch.nbytes)  # type: ignore[attr-defined]
        yield made, read_so_far, batch, packed


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
