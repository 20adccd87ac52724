"""Working from the alerts: filters, acknowledgements and mutes, on SQLite and on AWS."""

from __future__ import annotations

import pytest

from stockwatch.service.commands import Acknowledge, Mute, Unmute
from stockwatch.service.reads import AlertError, acknowledge, list_alerts, mute, unmute
from tests.conftest import csv_bytes
from tests.contract.drivers import Backend

LATER = "2999-01-01T00:00:00.000Z"


def test_an_acknowledged_alert_says_who_and_stays_open(backend: Backend) -> None:
    backend.process(backend.receive("b.csv", csv_bytes(("Berlin", "Echo Plus", 0))))
    (alert,) = list_alerts(backend.model(), True, None)
    acknowledge(backend.notes(), Acknowledge(str(alert.id), "maria", "ordered 20"))
    (acked,) = list_alerts(backend.model(), True, None)
    assert (acked.acknowledged_by, acked.ack_note) == ("maria", "ordered 20")
    assert acked.acknowledged_at is not None and acked.resolved_at is None
    with pytest.raises(AlertError):
        acknowledge(backend.notes(), Acknowledge("12345", "maria"))


def test_a_muted_item_is_recorded_but_left_out_of_notifications(backend: Backend) -> None:
    mute(
        backend.notes(),
        Mute("Berlin", "Echo Dot", LATER, "maria", "restocking", new=True),
        None,
        names=backend.model(),
    )
    data = csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 0))
    backend.process(backend.receive("b.csv", data))
    assert backend.notified_lines() == ["Berlin is out of stock of Echo Show"]
    assert backend.open_alerts() == {
        ("out_of_stock", "Berlin", "Echo Dot"),
        ("out_of_stock", "Berlin", "Echo Show"),
    }
    shown = {a.item: a.muted_until for a in list_alerts(backend.model(), True, None)}
    assert shown == {"Echo Dot": LATER, "Echo Show": None}
    assert [(m.store, m.item, m.note) for m in backend.model().mutes()] == [
        ("Berlin", "Echo Dot", "restocking")
    ]

    unmute(backend.notes(), Unmute("Berlin", "Echo Dot"))
    backend.process(backend.receive("c.csv", csv_bytes(("Berlin", "Echo Dot", 3))))
    backend.process(backend.receive("d.csv", csv_bytes(("Berlin", "Echo Dot", 0))))
    assert backend.notified_lines() == [
        "Berlin is back in stock of Echo Dot: 3",
        "Berlin is out of stock of Echo Dot",
    ]
    with pytest.raises(AlertError):
        mute(
            backend.notes(),
            Mute("Berlin", "Echo Dot", "2001-01-01T00:00:00.000Z", "maria"),
            None,
            names=backend.model(),
        )


def test_alerts_filter_by_store_kind_and_state(backend: Backend) -> None:
    backend.set_threshold("*", "*", 5)
    data = csv_bytes(("Berlin", "Echo Dot", 0), ("Berlin", "Echo Show", 2), ("Pusan", "Tap", 0))
    backend.process(backend.receive("a.csv", data))
    backend.process(backend.receive("b.csv", csv_bytes(("Berlin", "Echo Dot", 9))))
    model = backend.model()
    assert {(a.store, a.item) for a in list_alerts(model, False, None, store="Pusan")} == {
        ("Pusan", "Tap")
    }
    assert {a.item for a in list_alerts(model, False, None, kind="low_stock")} == {"Echo Show"}
    resolved = list_alerts(model, False, None, store="Berlin", resolved_only=True)
    assert {(a.kind, a.item) for a in resolved} == {
        ("out_of_stock", "Echo Dot"),
        ("back_in_stock", "Echo Dot"),
    }


def test_where_is_an_item_in_every_store(backend: Backend) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", 12), ("Pusan", "Echo Dot", 0), ("Pusan", "Tap", 3))
    backend.process(backend.receive("a.csv", data))
    rows = backend.model().item_everywhere("Echo Dot", 100)
    assert [(r.store, r.count, r.status) for r in rows] == [
        ("Berlin", 12, "ok"),
        ("Pusan", 0, "out_of_stock"),
    ]
    assert backend.model().item_everywhere("Nothing", 100) == []
