"""The kept figures (``core.figures``) of an inventory item in DynamoDB.

They ride in the item itself, in ``Figures`` (``core.figures.encode``), written by the
loader in the same conditional put that writes a changed count: keeping them costs no
request and no write unit beyond the count's own (the item stays within its write unit).
An item written before there were figures, or by another program, has them folded from the
last changes its ``History`` holds, and gets them written with its next change.
"""

from __future__ import annotations

from typing import Any

from stockwatch.core.figures import Figures, advance, as_of, decode, encode, figures_of
from stockwatch.core.forecast import epoch, history_points
from stockwatch.core.ordering import as_of_of

ATTRIBUTE = "Figures"


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if isinstance(value, dict):  # a low-level image: {"S": ...}
        value = value.get("S")
    return str(value) if value else None


def stored(item: dict[str, Any], count: int) -> Figures | None:
    """The figures an item holds (a low-level item or a stream image), or those of its
    ``History`` where it holds none."""
    kept = decode(_text(item, ATTRIBUTE), count)
    if kept is None:
        kept = figures_of(history_points(_text(item, "History")))
    return kept


def counted_at(version: str) -> float:
    """When the counts of an upload of this version were taken, in seconds."""
    return epoch(as_of_of(version))


def latest(item: dict[str, Any], count: int, version: str) -> Figures | None:
    """The item's figures ``as_of`` its last count: the later of its own ``version`` and
    its store's last upload whose record stands (a confirmed count is not rewritten)."""
    kept = stored(item, count)
    if kept is None or not version:
        return kept
    return as_of(kept, counted_at(version))


def moved_on(figures: str, history: str, old: int | None, new: int, version: str) -> str:
    """The ``Figures`` text to write with a count changed from ``old`` (None: a new item)
    to ``new`` by an upload of ``version``."""
    at = counted_at(version)
    if old is None:
        return encode(Figures(at, new))
    kept = decode(figures, old) or figures_of(history_points(history or None))
    if kept is None:
        return encode(Figures(at, new))
    return encode(advance(kept, at, new))
