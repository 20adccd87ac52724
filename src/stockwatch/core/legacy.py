"""Reading a file that is not UTF-8 as Windows-1252, byte by byte where UTF-8 fails.

Excel on Windows saves "CSV (comma delimited)" in the machine's legacy code page, which
for Western European stores is Windows-1252: "München" arrives as ``M\\xfcnchen``, invalid
UTF-8. Rejecting such a file sends the manager off to find an encoding menu; guessing from
the first block cannot work when the first non-ASCII byte is on line 40,000. So the decoder
is UTF-8 with this error handler: each byte UTF-8 cannot decode is read as Windows-1252 (a
valid UTF-8 sequence is never touched, so a UTF-8 file reads exactly as before). The five
bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD, which
the reader rejects with the row's own line. The handler counts what it did per thread, so
the reader can say in its report that the file was read that way.
"""

from __future__ import annotations

import codecs
import threading

HANDLER = "stockwatch-windows-1252"
UNREADABLE = "\ufffd"

_seen = threading.local()


def _byte(value: int) -> str:
    try:
        return bytes([value]).decode("cp1252")
    except UnicodeDecodeError:
        return UNREADABLE


def _windows_1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    _seen.count = getattr(_seen, "count", 0) + len(bad)
    return "".join(_byte(b) for b in bad), exc.end


def fallbacks() -> int:
    """How many bytes this thread has read as Windows-1252 so far."""
    return int(getattr(_seen, "count", 0))


codecs.register_error(HANDLER, _windows_1252)
