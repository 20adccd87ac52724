"""How long to wait before trying a failed delivery again."""

from __future__ import annotations


def retry_delay_seconds(attempts: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff, capped so that a receiver back from an outage hears soon."""
    return float(min(cap, base ** max(1, attempts)))
