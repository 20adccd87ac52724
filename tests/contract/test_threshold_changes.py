"""Thresholds act at once: setting, importing or deleting one judges the stock it covers."""

from __future__ import annotations

import pytest

from stockwatch.core.rows import StockQuery
from stockwatch.service.commands import DeleteThreshold, SetThresholds
from stockwatch.service.thresholds import delete_threshold, set_thresholds
from tests.conftest import csv_bytes
from tests.contract.drivers import Backend

SPRINGFIELD = csv_bytes(
    ("Springfield", "Amazon Tap", 1),
    ("Springfield", "Echo Look", 5),
    ("Springfield", "Echo Dot", 40),
    ("Springfield", "Echo Plus", 0),
    ("Berlin", "Amazon Tap", 2),
)


def _status(backend: Backend, store: str) -> dict[str, str]:
    rows = backend.model().stock_page(StockQuery(store))
    return {r.item: r.status for r in rows}


def test_setting_a_minimum_raises_what_is_below_it_now_in_one_digest(backend: Backend) -> None:
    backend.process(backend.receive("springfield.csv", SPRINGFIELD))
    backend.notified_lines()

    change = set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("Springfield", "*", 6, None)]),
        None,
        names=backend.model(),
    )

    assert sorted((d.kind, d.item) for d in change.raised) == [
        ("low_stock", "Amazon Tap"),
        ("low_stock", "Echo Look"),
    ]
    assert backend.open_alerts() == {
        ("out_of_stock", "Springfield", "Echo Plus"),
        ("low_stock", "Springfield", "Amazon Tap"),
        ("low_stock", "Springfield", "Echo Look"),
    }
    assert sorted(backend.notified_lines()) == [
        "Springfield is low on Amazon Tap: 1 left (minimum 6)",
        "Springfield is low on Echo Look: 5 left (minimum 6)",
    ]
    assert _status(backend, "Springfield") == {
        "Amazon Tap": "low_stock",
        "Echo Dot": "ok",
        "Echo Look": "low_stock",
        "Echo Plus": "out_of_stock",
    }
    figures = {s.store: s for s in backend.model().stores()}
    assert figures["Springfield"].low_stock == 2
    assert figures["Berlin"].low_stock == 0  # another store's Amazon Tap is not covered

    again = set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("Springfield", "*", 6, None)]),
        None,
        names=backend.model(),
    )
    assert again.raised == [] and again.resolved == []
    assert backend.notified_lines() == []


def test_lowering_or_deleting_a_minimum_resolves_and_notifies_nobody(backend: Backend) -> None:
    backend.process(backend.receive("springfield.csv", SPRINGFIELD))
    set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("*", "Amazon Tap", 3, None), ("Springfield", "Echo Look", 6, None)]),
        None,
        names=backend.model(),
    )
    assert {(k, s, i) for k, s, i in backend.open_alerts() if k == "low_stock"} == {
        ("low_stock", "Springfield", "Amazon Tap"),
        ("low_stock", "Berlin", "Amazon Tap"),
        ("low_stock", "Springfield", "Echo Look"),
    }
    backend.notified_lines()

    lowered = set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("*", "Amazon Tap", 2, None)]),
        None,
        names=backend.model(),
    )  # Berlin has 2
    assert [(d.store, d.item) for d in lowered.resolved] == [("Berlin", "Amazon Tap")]
    removed = delete_threshold(
        backend.threshold_change(), DeleteThreshold("Springfield", "Echo Look")
    )
    assert [(d.store, d.item) for d in removed.resolved] == [("Springfield", "Echo Look")]
    assert backend.notified_lines() == []
    assert {a for a in backend.open_alerts() if a[0] == "low_stock"} == {
        ("low_stock", "Springfield", "Amazon Tap")
    }
    assert {s.store: s.low_stock for s in backend.model().stores()} == {
        "Berlin": 0,
        "Springfield": 1,
    }


NOV = "2026-11-{:02d}T08:00:00.000Z"


def _dated(backend: Backend, day: int, count: int) -> None:
    data = csv_bytes(("Berlin", "Echo Dot", count))
    backend.process(backend.receive(f"berlin-{day}.csv", data, as_of=NOV.format(day)))


def test_running_out_is_raised_once_from_days_of_cover_and_resolves_on_restock(
    backend: Backend,
) -> None:
    set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("Berlin", "*", 0, 5)], new=True),
        None,
        names=backend.model(),
    )
    _dated(backend, 1, 30)
    _dated(backend, 2, 24)
    assert backend.notified_lines() == []  # two counts: too little to go on
    _dated(backend, 3, 18)  # 6 a day: 3 days of cover
    assert backend.notified_lines() == ["Berlin will run out of Echo Dot in about 3 days"]
    assert ("running_out", "Berlin", "Echo Dot") in backend.open_alerts()
    assert _status_of_berlin(backend) == "running_out"  # the list says so, not "ok"
    _dated(backend, 4, 12)
    assert backend.notified_lines() == []  # still running out: raised once
    _dated(backend, 5, 60)  # restocked: 10 days of cover
    assert backend.notified_lines() == []
    assert backend.open_alerts() == set()
    assert _status_of_berlin(backend) == "ok"


def _status_of_berlin(backend: Backend) -> str:
    (row,) = backend.model().stock_page(StockQuery("Berlin"))
    (only,) = backend.model().stock_page(StockQuery(status=row.status))
    return str(only.status)


def test_a_cover_threshold_set_later_judges_the_history_at_once(backend: Backend) -> None:
    for day, count in ((1, 30), (2, 24), (3, 18)):
        _dated(backend, day, count)
    change = set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("*", "Echo Dot", 0, 4)]),
        None,
        names=backend.model(),
    )
    assert [(d.kind, d.days_of_cover) for d in change.raised] == [("running_out", 3.0)]
    assert backend.notified_lines() == ["Berlin will run out of Echo Dot in about 3 days"]
    lowered = set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("*", "Echo Dot", 0, 2)]),
        None,
        names=backend.model(),
    )
    assert [d.kind for d in lowered.resolved] == ["running_out"]
    assert backend.open_alerts() == set()


def test_a_cover_threshold_judges_each_item_as_of_its_stores_last_upload(
    backend: Backend,
) -> None:
    """An upload that confirms a count writes nothing for it (the store's record or mark
    vouches for it), yet the quiet days since count towards its demand: 6 a day until day
    3, then 18 for seventeen days is weeks of cover, on both backends."""
    for day, count in ((1, 30), (2, 24), (3, 18)):
        _dated(backend, day, count)
    for day in range(4, 21):
        _dated(backend, day, 18)
    backend.notified_lines()
    change = set_thresholds(
        backend.threshold_change(),
        SetThresholds.of([("*", "Echo Dot", 0, 4)]),
        None,
        names=backend.model(),
    )
    assert change.raised == []
    assert backend.notified_lines() == []


def test_a_threshold_or_mute_for_an_unknown_name_is_refused_with_the_closest(
    backend: Backend,
) -> None:
    from stockwatch.service.commands import Mute
    from stockwatch.service.reads import UnknownName, mute

    backend.process(backend.receive("b.csv", csv_bytes(("Berlin", "Echo Dot", 3))))
    with pytest.raises(UnknownName, match='did you mean "Berlin"'):
        set_thresholds(
            backend.threshold_change(),
            SetThresholds.of([("Berln", "*", 5, None)]),
            None,
            names=backend.model(),
        )
    with pytest.raises(UnknownName, match='did you mean "Echo Dot"'):
        mute(
            backend.notes(),
            Mute("Berlin", "Echo Dto", "2999-01-01T00:00:00.000Z", "maria"),
            None,
            names=backend.model(),
        )
    assert backend.model().thresholds() == [] and backend.model().mutes() == []
