"""The one clock: UTC, milliseconds, ``Z`` — sortable as text, the same on both backends."""

from __future__ import annotations

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
