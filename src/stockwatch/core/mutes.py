"""Mutes: an item (or a whole store, item ``*``) left out of notifications until a time.

A muted item raises and records its alerts as usual — the dashboard shows them, marked
muted — but no digest mentions it, so a manager restocking it is not told again and again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from stockwatch.core.model import AlertDecision
from stockwatch.core.thresholds import WILDCARD

Mutes = Mapping[tuple[str, str], str]  # (store, item or *) -> until


def muted_until(store: str, item: str, mutes: Mutes) -> str | None:
    return mutes.get((store, item)) or mutes.get((store, WILDCARD))


def audible(decisions: Iterable[AlertDecision], mutes: Mutes) -> list[AlertDecision]:
    """The decisions a notification may mention: those of items not muted now."""
    if not mutes:
        return list(decisions)
    return [d for d in decisions if muted_until(d.store, d.item, mutes) is None]


def active(entries: Sequence[tuple[str, str, str]], now: str) -> dict[tuple[str, str], str]:
    """The mutes still in force at ``now``: (store, item, until) with until after now."""
    return {(s, i): until for s, i, until in entries if until > now}
