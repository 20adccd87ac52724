"""The one clock: UTC, milliseconds, ``Z`` — sortable as text, the same on both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BadTime(ValueError):
    """A time that cannot be used; the message says what was given and what is wanted."""


# A count dated ahead of the clock would outrank every upload until then, so only a little
# clock skew is allowed.
FUTURE_TOLERANCE = timedelta(hours=1)


def parse_time(text: str, now: datetime | None = None) -> str:
    """An ISO 8601 time (a date alone is midnight; no offset is UTC) in ``utc_now``'s form.

    One form matters because versions compare as text: ``2026-11-20T08:00Z`` and
    ``2026-11-20T09:00+01:00`` must be the same moment and the same string.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadTime(
            f"{text!r} is not a time; use ISO 8601, for example 2026-11-20T08:00Z or 2026-11-20"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment.year < 1970:
        raise BadTime(f"{text!r} is before 1970")
    if moment > (now or datetime.now(UTC)) + FUTURE_TOLERANCE:
        raise BadTime(f"{text!r} is in the future; a count can only be dated when it was taken")
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Mutes end in the future; only an as-of may not.
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)
_SPAN = re.compile(r"(\d{1,4})\s*([dhw])")
_SPAN_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_until(text: str, now: datetime | None = None) -> str:
    """When something (a mute) ends: an ISO 8601 time, which may be ahead of the clock, or
    a span from now, ``12h``, ``7d`` or ``2w``: the CLI and the API take the same forms."""
    span = _SPAN.fullmatch(text.strip().lower())
    if span:
        moment = (now or datetime.now(UTC)) + int(span[1]) * _SPAN_UNITS[span[2]]
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    try:
        return parse_time(text, now=FAR_FUTURE)
    except BadTime:
        raise BadTime(
            f"{text!r} is not a time; use ISO 8601 (2026-12-09T18:00Z) or a span such as 7d,"
            " 12h or 2w"
        ) from None


def parse_utc(text: str) -> datetime:
    """A time in ``utc_now``'s form back as a datetime (for arithmetic on as-of times)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def epoch_ms(text: str) -> int:
    """A time in ``utc_now``'s form as ms since the epoch: 6 bytes in a row, not 24."""
    moment = parse_utc(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def from_epoch_ms(ms: int) -> str:
    """``epoch_ms`` undone: the time in ``utc_now``'s form."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
