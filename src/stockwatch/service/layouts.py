"""Saving a column mapping under a name: the file of a store system no layout knows is
mapped once, then loads like any other (``core.layouts.resolve``)."""

from __future__ import annotations

from collections.abc import Callable

from stockwatch.core.layouts import SavedLayout, check_saved


def save_layout(save: Callable[[SavedLayout, str], None], layout: SavedLayout, by: str) -> None:
    """Raises ``core.layouts.LayoutError`` for a name or mapping that could not be used."""
    check_saved(layout)
    save(layout, by)
