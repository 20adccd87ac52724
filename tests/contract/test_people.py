"""Users, tokens and the audit trail, the same on SQLite and on AWS (moto).

The same use cases (``service.users``, ``service.audit``) over each backend's directory:
a table of the data directory, or items of the state table.
"""

from __future__ import annotations

from stockwatch.core.access import AccessError, Role
from stockwatch.core.clock import utc_now
from stockwatch.core.subscriptions import SubscriptionError
from stockwatch.service import users as people
from stockwatch.service.audit import trail
from stockwatch.service.commands import (
    Acknowledge,
    AddUser,
    DeleteThreshold,
    Mute,
    RevokeUser,
    RotateToken,
    SetThresholds,
    Subscribe,
    Unmute,
    Unsubscribe,
)
from stockwatch.service.reads import acknowledge, list_alerts, mute, unmute
from stockwatch.service.thresholds import delete_threshold, set_thresholds
from tests.conftest import csv_bytes
from tests.contract.drivers import Backend


def test_tokens_sign_in_until_revoked_or_rotated(backend: Backend) -> None:
    users = backend.directory()
    shop = people.add_user(users, AddUser("berlin-shop", "store", ("Berlin",), by="root"))
    ana = people.add_user(users, AddUser("ana", "manager", by="root"))
    assert shop.startswith("sw_") and len(shop) > 40
    found = people.authenticate(users, None, shop)
    assert found is not None
    assert (found.name, found.role, found.stores) == (
        "berlin-shop",
        Role.STORE,
        frozenset({"Berlin"}),
    )
    assert people.authenticate(users, None, ana).stores is None  # type: ignore[union-attr]
    assert people.authenticate(users, None, "sw_not-a-token") is None
    try:
        people.add_user(users, AddUser("ana", "viewer", by="root"))
    except AccessError as exc:
        assert "already" in str(exc)
    else:
        raise AssertionError("a second ana was made")

    fresh = people.rotate_token(users, RotateToken("ana", "root"))
    assert people.authenticate(users, None, ana) is None
    assert people.authenticate(users, None, fresh) is not None
    people.revoke_user(users, RevokeUser("berlin-shop", "root"))
    assert people.authenticate(users, None, shop) is None
    listed = {u.name: u for u in users.users()}
    assert listed["berlin-shop"].revoked_at is not None and listed["ana"].rotated_at
    assert listed["berlin-shop"].stores == ["Berlin"]


def test_the_audit_trail_of_a_days_work(backend: Backend) -> None:
    start = utc_now()
    users = backend.directory()
    model = backend.model()
    people.add_user(users, AddUser("berlin-shop", "store", ("Berlin",), by="root"))
    backend.process(
        backend.receive(
            "berlin.csv",
            csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 1)),
            uploader="berlin-shop",
            scope=frozenset({"Berlin"}),
        )
    )
    set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("Berlin", "*", 5, None)], "ana"),
        users,
        names=backend.model(),
    )
    (alert,) = list_alerts(model, open_only=True, limit=None)
    notes = backend.notes()
    acknowledge(notes, Acknowledge(str(alert.id), "ana", "20 ordered"), users)
    mute(
        notes,
        Mute("Berlin", "Echo Dot", "2099-01-01T00:00:00.000Z", "ana", "restocking"),
        users,
        names=backend.model(),
    )
    unmute(notes, Unmute("Berlin", "Echo Dot", "ana"), users)
    delete_threshold(backend.threshold_change(), DeleteThreshold("Berlin", "*", "ana"), users)

    lines = [(a.actor, a.action, a.subject) for a in trail(users, model, start, 100)]
    assert lines == [
        ("root", "user.add", "berlin-shop"),
        ("berlin-shop", "upload", "berlin.csv"),
        ("ana", "threshold.set", "Berlin / *"),
        ("ana", "alert.ack", f"alert {alert.id}"),
        ("ana", "mute", "Berlin / Echo Dot"),
        ("ana", "unmute", "Berlin / Echo Dot"),
        ("ana", "threshold.delete", "Berlin / *"),
    ]
    details = {a.action: a.detail for a in trail(users, model, start, 100)}
    assert details["upload"] is not None and "1 loaded, 1 rejected" in details["upload"]
    assert details["alert.ack"] == "20 ordered"
    assert details["threshold.set"] == "minimum 5"
    later = trail(users, model, "2999-01-01T00:00:00.000Z", 100)
    assert later == []


def test_subscriptions_are_made_listed_and_deleted_with_who_made_them(backend: Backend) -> None:
    """On one machine a table; on AWS SNS subscriptions of the alerts topic (the fixture's
    own SQS subscription to everything is listed too, made by nobody of ours)."""
    from stockwatch.service import subscriptions as subs

    store, trail_of = backend.subscriptions(), backend.directory()
    hook = "https://hooks.example.com/berlin"
    made = subs.add_subscription(
        store, trail_of, Subscribe("ana", webhook=hook, stores=("Berlin",), kinds=("out_of_stock",))
    )
    subs.add_subscription(store, trail_of, Subscribe("root", email="all@example.com"))
    ours = [s.row() for s in store.subscriptions() if s.owner]
    assert [(s.channel, s.target, s.stores, s.kinds, s.owner) for s in ours] == [
        ("webhook", "https://hooks.example.com/berlin", ["Berlin"], ["out_of_stock"], "ana"),
        ("email", "all@example.com", None, None, "root"),
    ]
    subs.delete_subscription(store, trail_of, Unsubscribe(str(made.id), "ana"))
    assert [s.target for s in store.subscriptions() if s.owner] == ["all@example.com"]
    try:
        subs.delete_subscription(store, trail_of, Unsubscribe(str(made.id), "ana"))
    except SubscriptionError as exc:
        assert "no subscription" in str(exc)
    else:
        raise AssertionError("deleted twice")
    actions = [a.action for a in trail_of.audit(None, 100)]
    assert actions == ["subscription.add", "subscription.add", "subscription.delete"]
