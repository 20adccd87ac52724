"""Each use case of the service on in-memory fakes: snapshots, thresholds, notes on alerts,
telling what was raised, people, subscriptions and scope. The contract suite runs the same
use cases on both real backends; here they run in milliseconds, one rule at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from stockwatch.core.access import AccessError
from stockwatch.core.model import AlertDecision
from stockwatch.core.rows import AlertRow, StoreSummary
from stockwatch.core.subscriptions import SubscriptionError, check_url, mask_url
from stockwatch.service import subscriptions as subs
from stockwatch.service import users as people
from stockwatch.service.alerts import tell
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
from stockwatch.service.reads import AlertError, UnknownName, acknowledge, mute, unmute
from stockwatch.service.scope import OutOfScope, scoped, scoped_notes
from stockwatch.service.thresholds import ThresholdError, delete_threshold, set_thresholds
from stockwatch.service.uploads import confirm_upload, discard_upload, process_upload
from tests.conftest import csv_bytes
from tests.unit.fakes import (
    FakeNames,
    FakeNotes,
    FakeSubscriptions,
    FakeThresholdChange,
    FakeTrail,
    FakeUnitOfWork,
    FakeUsers,
)

LATER = "2999-01-01T00:00:00.000Z"
NAMES: Any = FakeNames([("Berlin", "Echo"), ("Berlin", "Dot"), ("Pusan", "Echo")])
PUSAN = [("Pusan", f"Item {n}", 5) for n in range(4)]

# -- snapshots ------------------------------------------------------------------------------


def test_a_snapshot_zeroes_what_it_leaves_out() -> None:
    uow = FakeUnitOfWork()
    process_upload(uow, uow.add("day1.csv", csv_bytes(*PUSAN)))
    report = process_upload(uow, uow.add("day2.csv", csv_bytes(*PUSAN[:3]), snapshot=True))
    assert (report.rows_zeroed, report.zeroed) == (1, ["Pusan / Item 3"])
    assert uow.state.rows[("Pusan", "Item 3")][0] == 0
    assert [d.kind for d in uow.state.raised] == ["out_of_stock"]


def test_a_store_setting_makes_a_plain_upload_a_snapshot_unless_it_says_otherwise() -> None:
    uow = FakeUnitOfWork()
    process_upload(uow, uow.add("day1.csv", csv_bytes(*PUSAN)))
    uow.state.snapshot_defaults["Pusan"] = True
    told_not = process_upload(uow, uow.add("a.csv", csv_bytes(*PUSAN[:3]), snapshot=False))
    assert told_not.rows_zeroed == 0
    report = process_upload(uow, uow.add("b.csv", csv_bytes(*PUSAN[:3])))
    assert report.rows_zeroed == 1


def test_a_snapshot_that_would_empty_a_store_is_held_then_confirmed_or_discarded() -> None:
    uow = FakeUnitOfWork()
    process_upload(uow, uow.add("day1.csv", csv_bytes(*PUSAN)))
    held = process_upload(uow, uow.add("cut.csv", csv_bytes(PUSAN[0]), snapshot=True))
    assert held.status == "needs_confirmation" and held.rows_zeroed == 3
    assert all(count == 5 for count, _, _ in uow.state.rows.values())  # nothing applied
    applied = confirm_upload(uow, held.upload_id)
    assert applied.status == "loaded" and applied.rows_zeroed == 3
    again = process_upload(uow, uow.add("cut2.csv", csv_bytes(*PUSAN[:1]), snapshot=True))
    assert again.rows_zeroed == 0  # the others are 0 already: nothing left out to zero
    other = FakeUnitOfWork()
    process_upload(other, other.add("day1.csv", csv_bytes(*PUSAN)))
    held = process_upload(other, other.add("cut.csv", csv_bytes(PUSAN[0]), snapshot=True))
    dropped = discard_upload(other, held.upload_id, "maria")
    assert dropped.status != "needs_confirmation" and "discarded by maria" in str(dropped.message)
    assert all(count == 5 for count, _, _ in other.state.rows.values())


# -- thresholds -----------------------------------------------------------------------------


def _stock() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    data = csv_bytes(("Berlin", "Echo", 3), ("Berlin", "Dot", 10), ("Pusan", "Echo", 1))
    process_upload(uow, uow.add("a.csv", data))
    return uow


def test_a_threshold_acts_at_once_in_one_digest_and_is_audited() -> None:
    uow, trail = _stock(), FakeTrail()
    change_uow = FakeThresholdChange(uow.state)
    change = set_thresholds(
        change_uow, SetThresholds.of([("Berlin", "*", 5, None)], "ana"), trail, names=NAMES
    )
    assert [(d.kind, d.store, d.item) for d in change.raised] == [("low_stock", "Berlin", "Echo")]
    ((digest, told),) = change_uow.notified
    assert [d.item for d in told] == ["Echo"] and "Echo" in digest.text
    assert change_uow.refreshed == ["Berlin"] and change_uow.commits == 1
    assert trail.lines == [("ana", "threshold.set", "Berlin / *", "minimum 5")]
    removed = delete_threshold(change_uow, DeleteThreshold("Berlin", "*", "ana"), trail)
    assert [(d.kind, d.item) for d in removed.resolved] == [("low_stock", "Echo")]
    assert trail.lines[-1] == ("ana", "threshold.delete", "Berlin / *", None)


def test_thresholds_that_cannot_be_set_change_nothing() -> None:
    uow = _stock()
    change_uow = FakeThresholdChange(uow.state)
    with pytest.raises(ThresholdError, match="blank"):
        set_thresholds(change_uow, SetThresholds.of([(" ", "*", 5, None)]), None, names=NAMES)
    with pytest.raises(ThresholdError, match="no threshold"):
        delete_threshold(change_uow, DeleteThreshold("Berlin", "Nothing"))
    assert uow.state.thresholds == [] and change_uow.notified == []


def test_writes_naming_an_unknown_store_or_item_are_refused_with_the_closest() -> None:
    uow = _stock()
    change_uow = FakeThresholdChange(uow.state)
    for store, item, says in (
        ("Berln", "*", 'no store named "Berln"; did you mean "Berlin"?'),
        ("Berlin", "Ecoh", 'no item in Berlin named "Ecoh"; did you mean "Echo"?'),
        ("*", "Dto", 'no item in any store named "Dto"; did you mean "Dot"?'),
    ):
        with pytest.raises(UnknownName) as refused:
            set_thresholds(
                change_uow, SetThresholds.of([(store, item, 5, None)]), None, names=NAMES
            )
        assert str(refused.value) == says
        with pytest.raises(UnknownName):
            mute(FakeNotes([]), Mute(store, item, LATER, "maria"), None, names=NAMES)
    assert uow.state.thresholds == []
    expected = SetThresholds.of([("Hamburg", "*", 5, None)], new=True)  # opens next week
    set_thresholds(change_uow, expected, None, names=NAMES)
    set_thresholds(change_uow, SetThresholds.of([("*", "Dot", 5, None)]), None, names=NAMES)
    assert len(uow.state.thresholds) == 2


def test_a_new_minimum_keeps_the_cover_days_it_had() -> None:
    uow = _stock()
    change_uow = FakeThresholdChange(uow.state)
    set_thresholds(change_uow, SetThresholds.of([("Berlin", "Echo", 5, 3)]), None, names=NAMES)
    set_thresholds(change_uow, SetThresholds.of([("Berlin", "Echo", 8, None)]), None, names=NAMES)
    assert [(t.minimum, t.cover_days) for t in uow.state.thresholds] == [(8, 3)]
    set_thresholds(change_uow, SetThresholds.of([("Berlin", "Echo", 8, 0)]), None, names=NAMES)
    assert [(t.minimum, t.cover_days) for t in uow.state.thresholds] == [(8, 0)]


# -- notes on alerts --------------------------------------------------------------------------


def test_acknowledging_and_muting_are_recorded_with_who() -> None:
    notes, trail = FakeNotes(["7"]), FakeTrail()
    acknowledge(notes, Acknowledge("7", "maria", " 20 ordered "), trail)
    assert notes.acks["7"] == ("maria", "20 ordered")
    with pytest.raises(AlertError, match="no alert 8"):
        acknowledge(notes, Acknowledge("8", "maria"), trail)
    mute(notes, Mute(" Berlin ", "Echo", LATER, "maria"), trail, names=NAMES)
    assert notes.muted == {("Berlin", "Echo"): (LATER, "maria", None)}
    with pytest.raises(AlertError, match="already past"):
        mute(notes, Mute("Berlin", "Echo", "2001-01-01T00:00:00.000Z", "maria"), trail, names=NAMES)
    unmute(notes, Unmute("Berlin", "Echo", "maria"), trail)
    with pytest.raises(AlertError, match="not muted"):
        unmute(notes, Unmute("Berlin", "Echo", "maria"), trail)
    assert [line[1] for line in trail.lines] == ["alert.ack", "mute", "unmute"]


# -- telling what was raised --------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    decision: AlertDecision


class Recorder:
    def __init__(self, failing: set[str] | None = None, can_send: bool = True) -> None:
        self.failing = failing or set()
        self.can_send = can_send
        self.sent: list[Notice] = []
        self.marked: list[Notice] = []

    def publish(self, notices: list[Notice]) -> dict[str, str] | None:
        if not self.can_send:
            return None
        self.sent += [n for n in notices if n.decision.store not in self.failing]
        return {store: "down" for store in self.failing}

    def mark_notified(self, notices: object) -> None:
        self.marked += list(notices)  # type: ignore[call-overload]


def _notice(store: str, item: str) -> Notice:
    return Notice(AlertDecision("raise", "out_of_stock", store, item, 0))


def test_telling_leaves_muted_items_out_and_keeps_a_failed_store_for_the_retry() -> None:
    quiet, heard, failing = (
        _notice("Berlin", "Dot"),
        _notice("Berlin", "Echo"),
        _notice("Pusan", "Tap"),
    )
    recorder = Recorder(failing={"Pusan"})
    told = tell(recorder, [quiet, heard, failing], {("Berlin", "Dot"): LATER})
    assert told.quiet == [quiet] and told.sent == [heard] and set(told.failed) == {"Pusan"}
    assert recorder.sent == [heard] and recorder.marked == [quiet, heard]  # Pusan stays untold
    nowhere = Recorder(can_send=False)
    told = tell(nowhere, [heard], {})
    assert told.sent == [] and nowhere.marked == []


# -- people ---------------------------------------------------------------------------------


def test_a_users_token_signs_in_until_rotated_or_revoked() -> None:
    users = FakeUsers()
    token = people.add_user(users, AddUser("ana", "manager", by="root"))
    assert people.authenticate(users, None, token).name == "ana"  # type: ignore[union-attr]
    with pytest.raises(AccessError, match="already"):
        people.add_user(users, AddUser("ana", "viewer", by="root"))
    fresh = people.rotate_token(users, RotateToken("ana", "root"))
    assert people.authenticate(users, None, token) is None
    assert people.authenticate(users, None, fresh) is not None
    people.revoke_user(users, RevokeUser("ana", "root"))
    assert people.authenticate(users, None, fresh) is None
    with pytest.raises(people.NoSuchUser):
        people.revoke_user(users, RevokeUser("ana", "root"))
    assert [line[:3] for line in users.lines] == [
        ("root", "user.add", "ana"),
        ("root", "user.rotate", "ana"),
        ("root", "user.revoke", "ana"),
    ]


def test_a_store_user_needs_a_store() -> None:
    with pytest.raises(AccessError):
        people.add_user(FakeUsers(), AddUser("shop", "store", by="root"))


# -- subscriptions ----------------------------------------------------------------------------


def test_a_subscription_gets_only_its_stores_alerts() -> None:
    store, trail, uow = FakeSubscriptions(), FakeTrail(), FakeUnitOfWork()
    made = subs.add_subscription(
        store, trail, Subscribe("ana", webhook="https://hooks.example.com/x", stores=("Pusan",))
    )
    with pytest.raises(SubscriptionError):
        subs.add_subscription(store, trail, Subscribe("ana", email="a@b.c", webhook="https://x.y"))
    uow.state.subscriptions = store.subscriptions()
    raised = [
        AlertDecision("raise", "out_of_stock", "Berlin", "Echo", 0),
        AlertDecision("raise", "out_of_stock", "Pusan", "Tap", 0),
    ]
    subs.queue_digests(uow, 1, {"id": 1, "file": "a.csv"}, raised)
    (everything, theirs) = uow.state.outbox
    assert "Berlin" in everything[1].text and "Pusan" in everything[1].text
    assert theirs[0] == f"1:{made.channel_name}" and "Berlin" not in theirs[1].text
    subs.delete_subscription(store, trail, Unsubscribe(str(made.id), "ana"))
    with pytest.raises(SubscriptionError, match="no subscription"):
        subs.delete_subscription(store, trail, Unsubscribe(str(made.id), "ana"))
    assert [line[1] for line in trail.lines] == ["subscription.add", "subscription.delete"]


@pytest.mark.parametrize("url", ["https://\u0103]x.example", "http://[::1", "https://a]b/c"])
def test_a_webhook_that_is_not_a_url_is_refused_in_words(url: str) -> None:
    """urlsplit raises on a "]" without its "[": a clear refusal, not a server error (the
    property test's random webhook found it)."""
    with pytest.raises(SubscriptionError, match="is not a URL"):
        check_url(url)
    assert mask_url(url) == "…"


# -- scope ----------------------------------------------------------------------------------


class Reads:
    """The two reads a scoped reader needs here."""

    def stores(self) -> list[StoreSummary]:
        return [StoreSummary("Berlin", 1, 1, 0, None), StoreSummary("Karachi", 1, 1, 0, None)]

    def alerts(
        self, open_only: bool, limit: int, store: str | None = None, *_: object
    ) -> list[AlertRow]:
        rows = [
            AlertRow("1", "out_of_stock", "Berlin", "Echo", 0, None, 1, "2026-01-01", None),
            AlertRow("2", "out_of_stock", "Karachi", "Tap", 0, None, 1, "2026-01-01", None),
        ]
        return [r for r in rows if store in (None, r.store)]


def test_someone_limited_to_a_store_reads_and_notes_only_that_store() -> None:
    berlin = frozenset({"Berlin"})
    mine = scoped(Reads(), berlin)  # type: ignore[arg-type]
    assert [s.store for s in mine.stores()] == ["Berlin"]
    notes = FakeNotes(["1", "2"])
    theirs = scoped_notes(notes, Reads(), berlin)  # type: ignore[arg-type]
    assert theirs.acknowledge("2", "shop", None) is False  # Karachi's: as if it did not exist
    assert theirs.acknowledge("1", "shop", None) is True
    with pytest.raises(OutOfScope):
        theirs.set_mute("Karachi", "Tap", LATER, "shop", None)
