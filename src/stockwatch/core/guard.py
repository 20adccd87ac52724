"""The bytes under the CSV parser: what the file is, and the limits enforced block by block.

Before any text is decoded, the first block says whether the file is text at all (and in
which encoding), and every block is checked for the size, line-length and NUL limits with
C-speed ``bytes`` methods, so a hostile file is stopped before the parser allocates for it.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from typing import Protocol

from stockwatch.core.limits import Limits

# Leading bytes of formats that people upload by mistake, with what to tell them.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3", "an SQLite database"),
)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class FileRejected(Exception):
    """The file cannot be read as inventory at all; ``message`` says what to fix."""

    def __init__(
        self, message: str, line: int | None = None, headers: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        # The header row of a file no layout reads: what a column mapping chooses from.
        self.headers = headers


class LimitExceeded(Exception):
    pass


def sniff_encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise FileRejected("the file is UTF-32 text; save it as UTF-8 (or UTF-16) and upload again")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head[257:262] == b"ustar":
        raise FileRejected(
            "this is a tar archive, not a CSV text file; unpack it and upload the CSV"
        )
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise FileRejected(
                f"this is {what}, not a CSV text file; export it as CSV and upload that"
            )
    if b"\x00" in head:
        sample = head[:512]
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        half = max(1, len(sample) // 2)
        # UTF-16 text without a BOM: one byte of each pair is NUL, the other almost never.
        if (odd > half * 0.6 and even < half * 0.1) or (even > half * 0.6 and odd < half * 0.1):
            raise FileRejected(
                "the file looks like UTF-16 text without a byte-order mark; save it as UTF-8"
            )
        if head.count(0) * 20 > len(head):
            raise FileRejected("the file contains binary data (NUL bytes), not CSV text")
        # A few stray NULs in text: the guard names the line they are on.
    return "utf-8"


class GuardedSource(io.RawIOBase):
    """A byte stream that enforces the size and line-length limits as it is read.

    The checks run on whole blocks with C-speed ``bytes`` methods, so they cost little,
    and they stop a hostile file before the CSV parser allocates for it.
    """

    def __init__(
        self,
        head: bytes,
        source: Readable,
        limits: Limits,
        reject_nul: bool,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        super().__init__()
        self._pending = head
        self._source = source
        self._limits = limits
        self._reject_nul = reject_nul
        self._on_progress = on_progress
        self.bytes_read = 0
        self.newlines = 0
        self._since_newline = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pending:
            data, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        else:
            data = self._source.read(len(buffer))
        if not data:
            return 0
        self.bytes_read += len(data)
        if self.bytes_read > self._limits.max_file_bytes:
            raise LimitExceeded(
                f"the file is larger than the limit of {self._limits.max_file_bytes:,} bytes "
                "(STOCKWATCH_MAX_FILE_BYTES); split it into smaller files"
            )
        if self._reject_nul and b"\x00" in data:
            line = self.newlines + data[: data.index(b"\x00")].count(b"\n") + 1
            raise FileRejected(
                f"line {line} contains a NUL byte: the file is binary or corrupted, not CSV text",
                line,
            )
        self._check_line_lengths(data)
        if self._on_progress is not None:
            self._on_progress(self.bytes_read)
        n = len(data)
        buffer[:n] = data
        return n

    def _check_line_lengths(self, data: bytes) -> None:
        limit = self._limits.max_line_bytes
        last = data.rfind(b"\n")
        if last < 0:
            self._since_newline += len(data)
        else:
            first = data.find(b"\n")
            longest = self._since_newline + first
            if len(data) > limit and last > first:
                # Only a block longer than the limit can hold a whole line that is too long.
                longest = max(longest, *map(len, data[first + 1 : last].split(b"\n")))
            self.newlines += data.count(b"\n")
            self._since_newline = len(data) - last - 1
            if longest > limit:
                self._too_long(limit)
        if self._since_newline > limit:
            self._too_long(limit)

    def _too_long(self, limit: int) -> None:
        raise LimitExceeded(
            f"a line near line {self.newlines + 1} is longer than the limit of {limit:,} bytes "
            "(STOCKWATCH_MAX_LINE_BYTES); is this really an inventory CSV file?"
        )
