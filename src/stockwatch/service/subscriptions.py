"""Subscriptions: add, list and delete them, and queue each one's digest.

Written once over ``SubscriptionStore``: on one machine a table whose digests go through the
outbox (retried, never sent twice, per subscription); on AWS, SNS subscriptions of the
alerts topic with a filter policy on each message's ``store`` and ``kind``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stockwatch.core.digest import Digest, OrderNote, compose_digest
from stockwatch.core.model import AlertDecision
from stockwatch.core.subscriptions import (
    Subscription,
    SubscriptionError,
    check_subscription,
    mask_url,
)
from stockwatch.service.commands import Subscribe, Unsubscribe
from stockwatch.service.ports import Outbox
from stockwatch.service.users import AuditTrail, note


@dataclass(frozen=True)
class NewSubscription:
    """A subscription as checked (``core.subscriptions.check_subscription``), to be kept."""

    channel: str  # "email" or "webhook"
    target: str
    stores: frozenset[str] | None  # None: every store
    kinds: frozenset[str] | None  # None: every kind
    owner: str
    secret: str | None = None  # a webhook's signing secret, where the store signs itself


class SubscriptionStore(Protocol):
    def add(self, wanted: NewSubscription) -> Subscription: ...

    def subscriptions(self) -> list[Subscription]: ...

    def delete(self, subscription_id: str) -> bool:
        """False when there is no such subscription."""
        ...


def add_subscription(
    store: SubscriptionStore, trail: AuditTrail | None, command: Subscribe
) -> Subscription:
    channel, target, scope, wanted = check_subscription(
        command.email, command.webhook, command.stores, command.kinds
    )
    secret = secrets.token_urlsafe(32) if channel == "webhook" else None
    made = store.add(NewSubscription(channel, target, scope, wanted, command.by, secret))
    about = ", ".join(sorted(scope)) if scope else "every store"
    if wanted:
        about += " (" + ", ".join(sorted(wanted)) + ")"
    note(trail, command.by, "subscription.add", f"{channel} {mask_url(target)}", about)
    return made


def delete_subscription(
    store: SubscriptionStore, trail: AuditTrail | None, command: Unsubscribe
) -> None:
    if not store.delete(command.subscription_id):
        raise SubscriptionError(f"there is no subscription {command.subscription_id}")
    note(trail, command.by, "subscription.delete", str(command.subscription_id))


def queue_digests(
    outbox: Outbox,
    key: int | str,
    upload: dict[str, Any],
    heard: Sequence[AlertDecision],
    kind_counts: Mapping[str, int] | None = None,
    to_order: Mapping[tuple[str, str], OrderNote] | None = None,
) -> Digest | None:
    """The digest for everything, and each subscription's own, holding only its alerts.

    ``heard`` may be the first of very many decisions (``kind_counts`` counts them all);
    a subscription's digest then counts what it holds of those.
    """
    digest = compose_digest(upload, heard, kind_counts=kind_counts, to_order=to_order)
    if digest is None:
        return None
    outbox.queue(key, digest)
    for subscription in outbox.subscriptions():
        part = compose_digest(upload, subscription.mine(heard), to_order=to_order)
        if part is not None:
            outbox.queue_to(key, subscription, part)
    return digest


__all__ = [
    "SubscriptionStore",
    "add_subscription",
    "delete_subscription",
    "queue_digests",
]
