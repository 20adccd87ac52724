"""What one field and one row of an inventory file may be, and how a value is quoted in a
message: the reader's smallest rules, kept apart so ``reader.py`` stays about reading."""

from __future__ import annotations

import re
from collections.abc import Iterator

# Characters no store or item name may hold: C0 and C1 controls (tab, vertical tab, form
# feed, the file separators, NEL among them) and Unicode's line and paragraph separators.
# Each breaks a line somewhere (a mail header, a log line, a terminal), so a name holding
# one would break every notification that mentions it.
NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def show_value(value: str, width: int = 40) -> str:
    """Quote a user value for a message: shortened, control characters made visible."""
    shown = value if len(value) <= width else value[:width] + "…"
    shown = shown.encode("unicode_escape", "backslashreplace").decode("ascii", "replace")
    return '"' + shown.replace('"', '\\"') + '"'


class TooWide(list[str]):
    """What is kept of a row with more fields than any header may have: one placeholder
    and the count, so a line of 60,000 empty fields costs no more than any other."""

    def __init__(self, fields: int) -> None:
        super().__init__(["…"])
        self.fields = fields


def bounded(rows: Iterator[list[str]], limit: int) -> Iterator[list[str]]:
    for fields in rows:
        yield fields if len(fields) <= limit else TooWide(len(fields))
