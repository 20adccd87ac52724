"""Reading inventory files: bytes in, validated rows and row errors out.

The reader takes any object with ``read(n) -> bytes`` (a local file, an S3 body) and never
holds more than one block and one chunk of rows in memory. It decides three things that
users see: whether the file is inventory at all (else one ``FileRejected`` that says what
to fix), which rows are valid, and why each other row is not (``RowError`` with its line).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from stockwatch.core import layouts, legacy, spreadsheet
from stockwatch.core.details import ItemDetails
from stockwatch.core.fields import NOT_IN_NAMES, TooWide, bounded, show_value
from stockwatch.core.guard import (
    FileRejected,
    GuardedSource,
    LimitExceeded,
    Readable,
    sniff_encoding,
)
from stockwatch.core.limits import Limits
from stockwatch.core.model import Row, RowError

DELIMITERS = (",", ";", "\t", "|")
DETAIL_WARNINGS = 20  # SKUs or minimums that could not be kept, listed one by one
_BLOCK = 64 * 1024


def _start_lines(batch: list[list[str]], first: int) -> list[int]:
    """The first line of each record when some record spans lines (a quoted line break)."""
    starts = []
    line = first
    for fields in batch:
        starts.append(line)
        joined = "\x00".join(fields)
        line += 1 + joined.count("\r") + joined.count("\n") - joined.count("\r\n")
    return starts


# _fallbacks, besides a count: the fallback is seen but not yet placed, or said already.
PENDING, DONE = -1, -2


def _headers(header: Sequence[str]) -> list[str]:
    """The named columns of a header row, for a mapping to choose from (at most 200)."""
    return [h.strip()[:200] for h in header if h.strip()][:200]


class InventoryFile:
    """One inventory file being read; iterate ``chunks()`` to get its valid rows.

    Row errors accumulate in ``errors`` (at most ``max_errors_reported`` kept, all counted in
    ``rows_rejected``). A whole-file problem raises ``FileRejected`` from ``chunks()``.
    """

    def __init__(
        self,
        source: Readable,
        limits: Limits | None = None,
        on_progress: Callable[[int], None] | None = None,
        value_column: str = "count",
        stores: frozenset[str] | None = None,
        reading: Mapping[str, str] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        # The uploader's stores: a row for any other store is a bad row (None: all stores).
        # It is checked here, where every backend reads, so no path can load around it.
        self.stores = stores
        self.columns = ("store", "item", value_column)
        # A store system's layout (``core.layouts``): forced, mapped, or found from the
        # header. The native layout keeps its own fast path; ``plan`` is for the others.
        # ``reading``: the upload's layout, columns and store (``service.commands.Upload``).
        asked = reading or {}
        self.asked = (asked.get("layout"), asked.get("columns"), asked.get("store"))
        self.sheet_asked = asked.get("sheet")  # a spreadsheet's sheet; None: found
        self.saved_name = asked.get("saved")  # the saved mapping ``columns`` came from
        self.by_store = bool(asked.get("by_store"))  # ... as the mapping of the store named
        self.sheet: str | None = None
        self.layout = layouts.NATIVE
        self.plan: layouts.Plan | None = None
        self.errors: list[RowError] = []
        self.warnings: list[str] = []
        self.details = ItemDetails()  # of the rows given since ``take_details``
        self._bad_details = 0
        self.rows_read = 0
        self.rows_rejected = 0
        self.encoding = ""
        self._fallbacks = DONE
        self.delimiter = ""
        self._source = source
        self._on_progress = on_progress

    @property
    def bytes_read(self) -> int:
        return self._guard.bytes_read if hasattr(self, "_guard") else 0

    def reject_row(self, line: int, field: str, message: str, item: str | None = None) -> None:
        """Count a bad row; keep its error (and its item, when known) under the cap."""
        self.rows_rejected += 1
        if len(self.errors) < self.limits.max_errors_reported:
            self.errors.append(RowError(line, field, message, item))

    def chunks(self, size: int = 5000) -> Iterator[list[Row]]:
        """Yield lists of at most ``size`` valid rows, in file order."""
        try:
            yield from self._chunks(size)
        except LimitExceeded as exc:
            raise FileRejected(str(exc)) from None
        except UnicodeDecodeError as exc:
            line = self._line_of(exc)
            raise FileRejected(
                f"line {line}: the file is not valid {self._encoding_name()} text "
                f"(byte 0x{exc.object[exc.start]:02x} cannot be decoded); "
                "save it as UTF-8 and upload again",
                line,
            ) from None
        except csv.Error as exc:
            line = self._current_line()
            raise FileRejected(f"line {line}: malformed CSV ({exc})", line) from None

    def _line_of(self, exc: UnicodeDecodeError) -> int:
        """The exact line of a byte that cannot be decoded: every newline read so far, less
        those after it (in the decoder's chunk, and read ahead but not yet decoded)."""
        guard: GuardedSource | None = getattr(self, "_guard", None)
        if guard is None or not isinstance(exc.object, bytes) or self.encoding == "utf-16":
            return self._current_line()  # UTF-16's newlines are two bytes: as read
        ahead = self._buffered.peek(_BLOCK) if not self._buffered.closed else b""
        after = exc.object[exc.start :].count(b"\n") + ahead.count(b"\n")
        return max(1, int(guard.newlines) - after + 1)

    def _current_line(self) -> int:
        """The line being read when an error struck (the decoder reads ahead a little)."""
        reader = getattr(self, "_reader", None)
        return 1 if reader is None else reader.line_num + self._offset + 1

    def _encoding_name(self) -> str:
        return {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16"}.get(
            self.encoding, self.encoding
        )

    def _head(self) -> bytes:
        head = self._source.read(_BLOCK)
        while len(head) < 4:
            more = self._source.read(_BLOCK)
            if not more:
                break
            head += more
        return head

    def _open_text(self, head: bytes) -> io.TextIOWrapper:
        if not head.strip(b" \t\r\n\xef\xbb\xbf"):
            raise FileRejected(
                f"the file is empty; it needs a header line ({','.join(self.columns)}) and rows"
            )
        self.encoding = sniff_encoding(head)
        self._guard = GuardedSource(
            head, self._source, self.limits, self.encoding != "utf-16", self._on_progress
        )
        self._buffered = io.BufferedReader(self._guard, buffer_size=_BLOCK)
        # UTF-8 that is not: byte by byte as Windows-1252 (``core.legacy``), said in the report.
        errors = "strict" if self.encoding == "utf-16" else legacy.HANDLER
        self._fallbacks = legacy.fallbacks()
        return io.TextIOWrapper(self._buffered, encoding=self.encoding, errors=errors, newline="")

    def _note_legacy(self, batch: list[list[str]], lines: Sequence[int]) -> None:
        """Say once, in the report, that the file was not UTF-8, and from which line: the
        first line with other than ASCII once the decoder (which reads ahead) fell back."""
        if self._fallbacks == DONE:
            return
        if self._fallbacks != PENDING and legacy.fallbacks() == self._fallbacks:
            return
        self._fallbacks = PENDING
        first = next(
            (n for fields, n in zip(batch, lines, strict=True) if not "".join(fields).isascii()),
            None,
        )
        if first is None:
            return  # read ahead: the line is in a later batch
        self._fallbacks = DONE
        self.warnings.append(
            f"line {first}: the file is not valid UTF-8; it was read as Windows-1252 (as Excel"
            ' on Windows saves CSV). Save it as "CSV UTF-8" to be sure of every name'
        )

    def _read_header(self, text: io.TextIOWrapper) -> tuple[str, list[str], int]:
        """Return the header line, its delimiter and the number of lines it took."""
        skipped = 0
        while True:
            line = text.readline(self.limits.max_line_bytes + 1)
            if not line:
                raise FileRejected(
                    "the file has no header line; the first line must name the columns "
                    "store, item and count"
                )
            if line.strip():
                break
            skipped += 1
        best: list[str] = []
        native = self.asked == (None, None, None) or self.asked[0] == layouts.NATIVE
        widest: tuple[str, list[str]] = (",", [])
        for delimiter in DELIMITERS:
            raw = next(csv.reader([line], delimiter=delimiter))
            names = [n.strip().lower() for n in raw]
            if native and all(c in names for c in self.columns):
                self.delimiter = delimiter
                return line, names, skipped + 1
            if sum(c in names for c in self.columns) > sum(c in best for c in self.columns):
                best = names
            if len(raw) > len(widest[1]):
                widest = (delimiter, raw)
        hint = ""
        if self.columns[2] == "count":
            hint = self._plan_layout(widest[1], skipped + 1)
            if self.plan is not None:
                self.delimiter = widest[0]
                return line, [n.strip().lower() for n in widest[1]], skipped + 1
        missing = [c for c in self.columns if c not in best]
        found = ", ".join(show_value(n.strip(), 30) for n in widest[1][:6])
        raise FileRejected(
            f"line {skipped + 1}: no usable header: the first line must name the columns "
            f"store, item and {self.columns[2]} (separated by commas, semicolons, tabs or bars); "
            f"missing {', '.join(missing)}; found {found}{hint}",
            skipped + 1,
            _headers(widest[1]) if hint else None,
        )

    def _plan_layout(self, header: list[str], line: int) -> str:
        """A store system's export, or a file mapped with ``--columns``: its plan. A file
        nothing reads is rejected whole, naming the closest layout and what it lacks; when
        that is stockwatch's own, the caller says so, and this returns how to map it."""
        layout, columns, store = self.asked
        if self.by_store and layouts.detect(header) is not None:
            columns, self.saved_name = None, None  # a file a layout reads needs no mapping
        try:
            found = layouts.plan(header, layout, columns, store)
        except layouts.LayoutError as exc:
            raise FileRejected(f"line {line}: {exc}", line) from None
        if found is not None:
            self._check_width(len(header), line)
            self.plan, self.layout = found, self.saved_name or found.layout
            return ""
        near, lacking = layouts.closest(header)
        mapping = (
            f'--columns "{layouts.suggest_columns(header)}" (add --store NAME if it has '
            "no store column); `stockwatch layouts` lists the layouts"
        )
        if near.name == layouts.NATIVE:
            return (
                "; no store system's layout reads it either (the closest layout is"
                f" stockwatch's own). To load it as it is, map its columns: {mapping}"
            )
        shown = ", ".join(show_value(h.strip(), 30) for h in header[:12])
        more = f" and {len(header) - 12} more" if len(header) > 12 else ""
        raise FileRejected(
            f"line {line}: no layout reads this file. Its columns are {shown}{more}. "
            f"The closest layout is {near.name} ({near.system}), which needs "
            f"{', '.join(layouts.shown_columns(lacking))}. To load it as it is, map its"
            f" columns: {mapping}",
            line,
            _headers(header),
        )

    def _check_width(self, columns: int, header_line: int) -> None:
        if columns > self.limits.max_columns:
            raise FileRejected(
                f"line {header_line}: the header has {columns:,} columns; "
                f"at most {self.limits.max_columns} are allowed (STOCKWATCH_MAX_COLUMNS)",
                header_line,
            )

    def _columns(self, names: list[str], header_line: int) -> tuple[int, int, int]:
        self._check_width(len(names), header_line)
        for column in self.columns:
            if names.count(column) > 1:
                raise FileRejected(
                    f"line {header_line}: the header names the column {column} twice", header_line
                )
        extra = [n for n in names if n not in self.columns]
        if extra:
            shown = ", ".join(show_value(n, 30) if n else "(unnamed)" for n in extra[:10])
            self.warnings.append(f"line {header_line}: ignoring extra columns: {shown}")
        return names.index("store"), names.index("item"), names.index(self.columns[2])

    def _chunks(self, size: int) -> Iterator[list[Row]]:
        head = self._head()
        if self.columns[2] == "count" and spreadsheet.is_workbook(head):
            yield from self._workbook_chunks(head, size)
            return
        text = self._open_text(head)
        header, names, header_lines = self._read_header(text)
        if self.plan is not None:
            yield from self._plan_chunks(text, header, header_lines, size)
            return
        self._layout = (*self._columns(names, header_lines), len(names))
        rows = 0
        for batch, lines in self._csv_batches(text, header, header_lines, size):
            chunk = self._fast_batch(batch, lines)
            if chunk is None:
                chunk = []
                for fields, line in zip(batch, lines, strict=True):
                    if not any(f.strip() for f in fields):
                        continue  # a blank line, or only separators
                    rows += 1
                    valid = self._validate_slow(fields, line)
                    if valid is not None:
                        chunk.append(valid)
            else:
                rows += len(chunk)
            if rows > self.limits.max_rows:
                self._too_many_rows()
            if self.stores is not None and chunk:
                chunk = self._in_scope(chunk)
            self.rows_read = rows
            if chunk:
                yield chunk
        if rows == 0:
            raise FileRejected(
                "the file has a header but no inventory rows; add lines like Berlin,Echo Dot,12"
            )

    def _plan_chunks(
        self, text: io.TextIOWrapper, header: str, header_lines: int, size: int
    ) -> Iterator[list[Row]]:
        """A store system's CSV: each line gives zero or more rows (one per location of a
        wide export), every row checked as the native ones are."""
        yield from self._planned(self._csv_batches(text, header, header_lines, size), size)

    def _csv_batches(
        self, text: io.TextIOWrapper, header: str, header_lines: int, size: int
    ) -> Iterator[tuple[list[list[str]], Sequence[int]]]:
        """The lines after the header in batches, each with the line number it starts on
        (a range when every record is one line: the fast paths need that)."""
        reader = csv.reader(itertools.chain([header], text), delimiter=self.delimiter)
        next(reader)
        offset = header_lines - 1  # blank lines before the header
        self._reader, self._offset = reader, offset
        previous = header_lines
        rows_in = bounded(reader, self.limits.max_columns)
        while batch := list(itertools.islice(rows_in, size)):
            end = reader.line_num + offset
            if end - previous == len(batch):
                lines: Sequence[int] = range(previous + 1, end + 1)
            else:
                lines = _start_lines(batch, previous + 1)
                self._check_open_quotes(batch, lines)
            previous = end
            self._note_legacy(batch, lines)
            yield batch, lines

    def _too_wide(self, line: int, fields: int) -> None:
        self.reject_row(
            line,
            "",
            f"the line has {fields:,} fields; at most {self.limits.max_columns}"
            " are allowed (STOCKWATCH_MAX_COLUMNS)",
        )

    def _planned(
        self, batches: Iterator[tuple[list[list[str]], Sequence[int]]], size: int
    ) -> Iterator[list[Row]]:
        """Rows of a layout's batches of lines: whole batches column by column when they
        are plain (``_plan_fast``), else line by line, explaining each bad row."""
        rows = 0
        for batch, lines in batches:
            chunk = self._plan_fast(batch, lines)
            if chunk is not None:
                rows += len(chunk)
            else:
                chunk = []
                for fields, line in zip(batch, lines, strict=True):
                    if isinstance(fields, TooWide):
                        self._too_wide(line, fields.fields)
                        continue
                    if not any(f.strip() for f in fields):
                        continue
                    for row in self._plan_rows(fields, line):
                        rows += 1
                        if row is not None:
                            chunk.append(row)
            if rows > self.limits.max_rows:
                self._too_many_rows()
            yield from self._scoped(chunk, rows)
        if rows == 0:
            raise FileRejected(
                f"the file's header is the {self.layout} layout's, but no line gives a count"
            )

    def _plan_fast(self, batch: list[list[str]], lines: Sequence[int]) -> list[Row] | None:
        """A batch of one-row-per-line lines, checked as ``_fast_batch`` checks native ones;
        None sends it line by line."""
        plan = self.plan
        assert plan is not None
        if plan.columnar is None or self.encoding == "utf-16" or not batch:
            return None
        if set(map(len, batch)) != {plan.width}:
            return None
        kept, stores, items, counts = plan.columnar(batch)
        if not counts:
            return []
        if not self._plain(stores, items, counts):
            return None
        numbers = lines if kept is None else [lines[k] for k in kept]
        if plan.sku_at is not None or plan.min_at is not None:
            self._batch_details(batch, kept, numbers, stores, items)
        return list(zip(numbers, stores, items, map(int, counts), strict=True))

    def _batch_details(
        self,
        batch: list[list[str]],
        kept: list[int] | None,
        numbers: Sequence[int],
        stores: list[str],
        items: list[str],
    ) -> None:
        """The SKUs and minimums of a batch read column by column: plain SKUs at once, any
        other value row by row (``_note_details``)."""
        plan = self.plan
        assert plan is not None
        at = range(len(batch)) if kept is None else kept
        blank = [""] * len(at)
        skus = [batch[k][plan.sku_at].strip() for k in at] if plan.sku_at is not None else blank
        mins = [batch[k][plan.min_at].strip() for k in at] if plan.min_at is not None else blank
        plain = not any(mins) and (
            not any(skus)
            or (
                max(map(len, skus)) <= self.limits.max_field_chars
                and not NOT_IN_NAMES.search(joined := "".join(skus))
                and legacy.UNREADABLE not in joined
            )
        )
        if plain:
            known = self.details.skus
            for store, item, sku in zip(stores, items, skus, strict=True):
                if sku:
                    known.setdefault((store, item), sku)
            return
        rows = zip(numbers, stores, items, skus, mins, strict=True)
        for line, store, item, sku, minimum in rows:
            if sku or minimum:
                self._note_details(line, store, item, sku, minimum, plan.min_column)

    def _workbook_chunks(self, head: bytes, size: int) -> Iterator[list[Row]]:
        """A spreadsheet: the sheet asked for, or the first whose header a layout reads;
        its rows numbered as the spreadsheet numbers them."""
        book = spreadsheet.Workbook(spreadsheet.spool(head, self._source, self.limits), head)
        layout, columns, store = self.asked

        def recognised(header: Sequence[str]) -> bool:
            try:
                return layouts.plan(header, layout, columns, store) is not None
            except layouts.LayoutError:
                return False

        try:
            name, first, header = book.choose(self.sheet_asked, recognised)
            self.sheet = name
            hint = self._plan_layout(header, first)
            if self.plan is None:
                shown = ", ".join(show_value(h.strip(), 30) for h in header[:12])
                raise FileRejected(
                    f"row {first} of sheet {name!r}: no usable header: the first row must name"
                    f" the columns store, item and count; found {shown}{hint}",
                    first,
                    _headers(header),
                )
            if self._on_progress is not None:
                self._on_progress(len(head))

            def batches() -> Iterator[tuple[list[list[str]], Sequence[int]]]:
                below = ((n, f) for n, f in book.rows(name) if n > first)
                while part := list(itertools.islice(below, size)):
                    numbers = [n for n, _ in part]
                    fields: list[Any] = [
                        f if len(f) <= self.limits.max_columns else TooWide(len(f)) for _, f in part
                    ]
                    yield fields, numbers

            yield from self._planned(batches(), size)
        finally:
            book.close()

    def _scoped(self, chunk: list[Row], rows: int) -> Iterator[list[Row]]:
        self.rows_read = rows
        if self.stores is not None and chunk:
            chunk = self._in_scope(chunk)
        if chunk:
            yield chunk

    def _plan_rows(self, fields: list[str], line: int) -> Iterator[Row | None]:
        assert self.plan is not None
        for store, item, count, sku, column, minimum in self.plan.expand(fields):
            problem = self._name_problem("item", item)
            named = None if problem else item
            if problem:
                self.reject_row(line, "item", problem)
                yield None
                continue
            problem = self._name_problem("store", store)
            if problem:
                self.reject_row(line, "store", problem, named)
                yield None
                continue
            value, why = layouts.count_text(count)
            if value is not None:
                why = self._out_of_bounds(value)
                if why is None:
                    if sku or minimum:
                        self._note_details(line, store, item, sku, minimum, "minimum")
                    yield (line, store, item, value)
                    continue
            self.reject_row(line, column, f"{column} {show_value(count)} {why}", named)
            yield None

    def _note_details(
        self, line: int, store: str, item: str, sku: str, text: str, column: str
    ) -> None:
        """Keep a loaded row's SKU and minimum; one that cannot be kept is left out with a
        warning (the count still loads: it is the row's point)."""
        minimum = None
        if text:
            value, why = layouts.count_text(text)
            if value is not None and value < 0:
                why = "is negative"
            elif value is not None:
                why = self._out_of_bounds(value)
            if why is None:
                minimum = value
            else:
                self._detail_warning(f"line {line}: {column} {show_value(text)} {why}; not set")
        if sku and self._name_problem("sku", sku):
            self._detail_warning(f"line {line}: sku {show_value(sku)} cannot be kept")
            sku = ""
        self.details.add(store, item, sku, minimum)

    def _detail_warning(self, message: str) -> None:
        self._bad_details += 1
        if self._bad_details <= DETAIL_WARNINGS:
            self.warnings.append(message)
        elif self._bad_details == DETAIL_WARNINGS + 1:
            self.warnings.append("more SKUs or minimums could not be kept; not listed")

    def take_details(self) -> ItemDetails:
        """The SKUs and minimums of the rows given since the last call (``core.details``)."""
        found, self.details = self.details, ItemDetails()
        if self.stores is not None and found:
            found = found.only(self.stores)
        return found

    def _fast_batch(self, batch: list[list[str]], lines: Sequence[int]) -> list[Row] | None:
        """Validate a batch of ordinary rows with whole-list operations, or return None.

        Nearly every real batch is all good rows on one line each; checking them column by
        column at C speed is what lets loading keep up with a bare upsert. Any doubt sends
        the batch to ``_validate_slow``, which finds and explains each problem.
        """
        si, ii, ci, ncols = self._layout
        if not isinstance(lines, range) or self.encoding == "utf-16":
            return None
        if set(map(len, batch)) != {ncols}:
            return None
        columns = list(zip(*batch, strict=True))
        stores = list(map(str.strip, columns[si]))
        items = list(map(str.strip, columns[ii]))
        counts = list(map(str.strip, columns[ci]))
        if not self._plain(stores, items, counts):
            return None
        return list(zip(lines, stores, items, map(int, counts), strict=True))

    def _plain(self, stores: list[str], items: list[str], counts: list[str]) -> bool:
        """Every row of a batch is ordinary: names present, short, printable and read as
        text; counts plain digits below the maximum. Any doubt and the batch is read line
        by line, where each problem is found and explained."""
        if not (all(stores) and all(items) and all(counts)):
            return False
        digits = "".join(counts)
        if not (digits.isascii() and digits.isdigit()):
            return False
        limits = self.limits
        if max(map(len, counts)) >= len(str(limits.max_count)):
            return False
        if max(map(len, stores)) > limits.max_field_chars:
            return False
        if max(map(len, items)) > limits.max_field_chars:
            return False
        names = "".join(stores) + "".join(items)
        return not (NOT_IN_NAMES.search(names) or legacy.UNREADABLE in names)

    def _in_scope(self, chunk: list[Row]) -> list[Row]:
        """The rows for the uploader's own stores; each other row is rejected, by name."""
        stores = self.stores
        assert stores is not None
        if all(row[1] in stores for row in chunk):
            return chunk
        kept = []
        for row in chunk:
            if row[1] in stores:
                kept.append(row)
            else:
                message = f"store {show_value(row[1])} is not one of yours"
                self.reject_row(row[0], "store", message, row[2])
        return kept

    def _too_many_rows(self) -> None:
        raise LimitExceeded(
            f"the file has more than {self.limits.max_rows:,} rows (STOCKWATCH_MAX_ROWS); "
            "split it into smaller files"
        )

    def _check_open_quotes(self, batch: list[list[str]], starts: Sequence[int]) -> None:
        """Reject the file when a quote left open swallows more than a line's worth of it.

        Past that point the rest of the file would be read as one field: rows lost without
        a word, which is worse than refusing the file.
        """
        for fields, start in zip(batch, starts, strict=True):
            size = sum(map(len, fields))
            if size > self.limits.max_line_bytes:
                raise FileRejected(
                    f"line {start}: a quote opened on this line is never closed, so the "
                    f"next {size:,} characters would be read as one field; close the quote "
                    "or remove it",
                    start,
                )

    def _validate_slow(self, fields: list[str], line: int) -> Row | None:
        """Find the first problem of a row the fast path refused, or return the row."""
        si, ii, ci, ncols = self._layout
        needed = max(si, ii, ci) + 1
        names = {si: "store", ii: "item", ci: self.columns[2]}
        if isinstance(fields, TooWide):
            self._too_wide(line, fields.fields)
            return None
        for index, value in enumerate(fields):
            if "\n" in value or "\r" in value:
                field = names.get(index, f"column {index + 1}")
                self.reject_row(
                    line,
                    field,
                    f"{field} {show_value(value)} contains a line break "
                    "(is a quote left open on this line?)",
                )
                return None
        if len(fields) < needed:
            missing = next(names[i] for i in sorted(names) if i >= len(fields))
            self.reject_row(
                line,
                missing,
                f"{missing} is missing (the line has {len(fields)} of {ncols} fields)",
            )
            return None
        if len(fields) > ncols and any(f.strip() for f in fields[ncols:]):
            self.reject_row(
                line, "", f"the line has {len(fields)} fields but the header has {ncols}"
            )
            return None
        values = {"store": fields[si].strip(), "item": fields[ii].strip()}
        item = values["item"] if not self._name_problem("item", values["item"]) else None
        for name, value in values.items():
            problem = self._name_problem(name, value)
            if problem:
                self.reject_row(line, name, problem, item)
                return None
        count = self._parse_count(fields[ci].strip(), line, item)
        if count is None:
            return None
        return (line, values["store"], values["item"], count)

    def _name_problem(self, name: str, value: str) -> str | None:
        if not value:
            return f"{name} is empty"
        if len(value) > self.limits.max_field_chars:
            return (
                f"{name} is {len(value):,} characters long; "
                f"at most {self.limits.max_field_chars} are allowed"
            )
        if "\x00" in value:
            return f"{name} {show_value(value)} contains a NUL character"
        if legacy.UNREADABLE in value:
            return (
                f"{name} {show_value(value)} has a byte that is neither UTF-8 nor Windows-1252"
                " text; save the file as CSV UTF-8"
            )
        if "\n" in value or "\r" in value:
            return (
                f"{name} {show_value(value)} contains a line break "
                "(is a quote left open on this line?)"
            )
        bad = NOT_IN_NAMES.search(value)
        if bad:
            return (
                f"{name} {show_value(value)} contains the control character "
                f"U+{ord(bad.group()):04X}; names may hold none"
            )
        return None

    def _parse_count(self, text: str, line: int, item: str | None = None) -> int | None:
        name = self.columns[2]
        if not text:
            self.reject_row(line, name, f"{name} is empty", item)
            return None
        negative = text.startswith("-") and name == "count"  # oversold: out of stock
        digits = text[1:] if negative else text
        if digits.isascii() and digits.isdigit():
            value = int(text)
            why = self._out_of_bounds(value)
            if why is None:
                return value
            self.reject_row(line, name, f"{name} {show_value(text)} {why}", item)
            return None
        if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            self.reject_row(line, name, f"{name} {show_value(text)} is negative", item)
            return None
        self.reject_row(line, name, f"{name} {show_value(text)} is not a whole number", item)
        return None

    def _out_of_bounds(self, value: int) -> str | None:
        """Why a count is refused for its size, in every layout; None when it is not."""
        limit = self.limits.max_count
        if value > limit:
            return f"is larger than the maximum {limit:,}"
        if value < -limit:
            return f"is below the minimum -{limit:,}"
        return None


__all__ = ["DELIMITERS", "FileRejected", "InventoryFile", "Readable", "show_value"]
