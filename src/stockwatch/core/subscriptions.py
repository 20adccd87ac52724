"""Subscriptions: who hears about which alerts, and what each one is sent.

A subscription is an email address or a webhook URL with, optionally, the stores and the
alert kinds it is about. Each one gets its own digest per upload holding only the alerts
that match it, and nothing when none do. The channels configured for the whole server
(``STOCKWATCH_WEBHOOK_URL``, ``STOCKWATCH_EMAIL_TO``) are subscriptions to everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stockwatch.core.model import AlertDecision

KINDS = ("out_of_stock", "low_stock", "running_out", "back_in_stock")
CHANNELS = ("email", "webhook")
PREFIX = "sub:"  # an outbox channel that is one subscription: sub:<id>
# Python's whitespace spelt out, not ``\s``: the API's schema states this pattern, and a
# client's regex engine (JavaScript's, a schema fuzzer's) may count fewer characters as space.
SPACE = "\\t-\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_PART = f"[^@{SPACE}<>,;]+"
EMAIL_PATTERN = f"^{_PART}@{_PART}\\.{_PART}$"
_EMAIL = re.compile(EMAIL_PATTERN)


class SubscriptionError(ValueError):
    """A subscription cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Subscription:
    id: int | str
    channel: str  # "email" or "webhook"
    target: str  # the address or the URL
    stores: frozenset[str] | None = None  # None: every store
    kinds: frozenset[str] | None = None  # None: every kind
    owner: str = ""
    created_at: str = ""
    secret: str | None = None  # a webhook's own signing secret (never listed)

    @property
    def channel_name(self) -> str:
        return f"{PREFIX}{self.id}"

    def matches(self, decision: AlertDecision) -> bool:
        return (self.stores is None or decision.store in self.stores) and (
            self.kinds is None or decision.kind in self.kinds
        )

    def mine(self, decisions: Iterable[AlertDecision]) -> list[AlertDecision]:
        return [d for d in decisions if self.matches(d)]

    def row(self) -> SubscriptionRow:
        return SubscriptionRow(
            self.id,
            self.channel,
            self.target,
            None if self.stores is None else sorted(self.stores),
            None if self.kinds is None else sorted(self.kinds),
            self.owner,
            self.created_at,
        )


@dataclass(frozen=True)
class SubscriptionRow:
    """A subscription as the CLI and the API list it. ``secret`` only in the answer that
    made it: it is shown once."""

    id: int | str
    channel: str
    target: str
    stores: list[str] | None
    kinds: list[str] | None
    owner: str
    created_at: str
    secret: str | None = None


def check_email(address: str) -> str:
    """The address, trimmed, or why it is not one."""
    text = address.strip()
    if not _EMAIL.match(text) or len(text) > 254:
        raise SubscriptionError(f"{text!r} is not an email address")
    return text


def check_subscription(
    email: str | None, webhook: str | None, stores: Sequence[str], kinds: Sequence[str]
) -> tuple[str, str, frozenset[str] | None, frozenset[str] | None]:
    """(channel, target, stores, kinds) of a new subscription, or why it cannot be made."""
    if bool(email) == bool(webhook):
        raise SubscriptionError("give one of an email address or a webhook URL")
    if email:
        channel, target = "email", check_email(email)
    else:
        url = (webhook or "").strip()
        if len(url) > 2000:
            raise SubscriptionError(f"{url[:200]!r}… is over 2,000 characters")
        check_url(url)
        channel, target = "webhook", url
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise SubscriptionError(f"kind {unknown[0]!r}: choose from {', '.join(KINDS)}")
    named = frozenset(s.strip() for s in stores if s.strip())
    return channel, target, named or None, frozenset(kinds) or None


def filter_policy(stores: frozenset[str] | None, kinds: frozenset[str] | None) -> dict[str, Any]:
    """The SNS filter policy of a subscription, on the ``store`` and ``kind`` attributes
    each message carries (``aws.sns_channel``); empty: everything."""
    policy: dict[str, Any] = {}
    if stores is not None:
        policy["store"] = sorted(stores)
    if kinds is not None:
        policy["kind"] = sorted(kinds)
    return policy


__all__ = [
    "CHANNELS",
    "KINDS",
    "PREFIX",
    "Subscription",
    "SubscriptionError",
    "check_email",
    "check_subscription",
    "filter_policy",
]


# A path segment that looks like a key: long, or of some length with digits in it.
_SECRET_PATH = re.compile(r"(?=[^/]*[0-9])[A-Za-z0-9_\-]{8,}|[A-Za-z0-9_\-]{16,}")


def mask_url(url: str) -> str:
    """A URL as it may be kept in a backup or the audit trail: no user, password, query or
    path segment that looks like a key (Slack's, say: hooks.slack.com/services/T…/B…/x…)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # not a URL at all: nothing of it is kept
        return "…"
    if not parts.scheme or not host:
        return url
    host += f":{port}" if port else ""
    path = "/".join("…" if _SECRET_PATH.fullmatch(p) else p for p in parts.path.split("/"))
    return f"{parts.scheme}://{host}{path}" + ("?…" if parts.query else "")


def check_url(url: str, what: str = "the webhook URL") -> str:
    """An http(s) URL a webhook can be sent to, checked when it is set, not at delivery:
    a host, a port that is a port, and no spaces or control characters."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise SubscriptionError(f"{what} {url[:200]!r} holds a space or a control character")
    try:
        parts = urlsplit(url)
    except ValueError:  # a "]" without its "[" ("Invalid IPv6 URL"), say
        raise SubscriptionError(f"{what} {url[:200]!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionError(f"{what} {url[:200]!r} is not an http(s) URL with a host")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise SubscriptionError(f"{what} {url[:200]!r} has no valid port")
    return url
