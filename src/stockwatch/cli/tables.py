"""Tables that fit the terminal without cutting or wrapping a name, a number or a status.

A store manager reads a table to find one store, one item and its count: a name folded
into three-letter slivers or a status ending in "…" is worse than no table. So when a
table is too wide, it gives up what matters least, in this order: columns with nothing in
them, then the year of each timestamp, then timestamps and other optional columns
altogether. If the names and numbers alone still do not fit, each row is printed as a
block of "column value" lines, which always fits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Right-aligned, so the digits of a column line up.
NUMBERS = frozenset(
    {"count", "loaded", "rejected", "minimum", "cover", "cover days", "from", "to", "upload"}
)
# Timestamps: shortened first, dropped before anything else that has content.
TIMES = frozenset(
    {"when", "raised", "received", "updated", "until", "created", "rotated", "revoked"}
)
# What may go when even short timestamps do not leave room.
OPTIONAL = TIMES | {"from", "note", "detail", "by", "muted by"}
GAP = "  "
_FULL_TIME = re.compile(r"^\d{4}-(\d\d-\d\d \d\d:\d\d)$")


@dataclass(frozen=True)
class Laid:
    """A table laid out for a width: its lines, and whether it had to become blocks."""

    lines: list[str]
    stacked: bool


def layout(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> Laid:
    """The table's lines for a terminal ``width`` characters wide (see the module doc)."""
    keep = list(range(len(columns)))
    cells = [list(r) for r in rows]
    if _width(columns, cells, keep) <= width:
        return Laid(_lines(columns, cells, keep), False)
    keep = [i for i in keep if any(r[i] for r in cells)]
    if _width(columns, cells, keep) > width:
        cells = [[_short_time(columns[i], v) for i, v in enumerate(r)] for r in cells]
    for name in sorted(OPTIONAL, key=lambda n: n not in TIMES):
        if _width(columns, cells, keep) <= width:
            break
        keep = [i for i in keep if columns[i] != name]
    if _width(columns, cells, keep) <= width:
        return Laid(_lines(columns, cells, keep), False)
    return Laid(_blocks(columns, [list(r) for r in rows]), True)


def _short_time(column: str, value: str) -> str:
    """``2026-12-07 01:36`` as ``12-07 01:36``: the year is rarely in doubt."""
    if column not in TIMES:
        return value
    match = _FULL_TIME.match(value)
    return match.group(1) if match else value


def _widths(columns: Sequence[str], cells: Sequence[Sequence[str]], keep: list[int]) -> list[int]:
    return [max([len(columns[i]), *(len(r[i]) for r in cells)]) for i in keep]


def _width(columns: Sequence[str], cells: Sequence[Sequence[str]], keep: list[int]) -> int:
    widths = _widths(columns, cells, keep)
    return sum(widths) + len(GAP) * max(len(widths) - 1, 0)


def _lines(columns: Sequence[str], cells: Sequence[Sequence[str]], keep: list[int]) -> list[str]:
    widths = _widths(columns, cells, keep)

    def line(values: Sequence[str]) -> str:
        parts = [
            values[i].rjust(w) if columns[i] in NUMBERS else values[i].ljust(w)
            for i, w in zip(keep, widths, strict=True)
        ]
        return GAP.join(parts).rstrip()

    rule = GAP.join("-" * w for w in widths)
    return [line(columns), rule, *(line(r) for r in cells)]


def _blocks(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[str]:
    """Each row as "column  value" lines, the empty ones left out, a blank line between."""
    label = max(len(c) for c in columns)
    lines: list[str] = []
    for n, row in enumerate(cells):
        if n:
            lines.append("")
        lines += [f"{c.ljust(label)}{GAP}{v}" for c, v in zip(columns, row, strict=True) if v]
    return lines
