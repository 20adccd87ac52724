"""Every alert transition, decided by the pure rules."""

from __future__ import annotations

import pytest

from stockwatch.core.alert_rules import can_change_alerts, evaluate_changes
from stockwatch.core.digest import compose_digest
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.thresholds import Threshold, Thresholds

NONE = Thresholds()
MIN5 = Thresholds([Threshold("*", "*", 5)])


def decide(
    old: int | None, new: int, open_kinds: set[str], thresholds: Thresholds = NONE
) -> list[tuple[str, str]]:
    change = StockChange("Berlin", "Echo", old, new, 1)
    decisions = evaluate_changes([change], thresholds, {("Berlin", "Echo"): set(open_kinds)})
    return [(d.action, d.kind) for d in decisions]


@pytest.mark.parametrize(
    ("old", "new", "open_kinds", "thresholds", "expected"),
    [
        (None, 0, set(), NONE, [("raise", "out_of_stock")]),
        (3, 0, set(), NONE, [("raise", "out_of_stock")]),
        (0, 0, {"out_of_stock"}, NONE, []),
        (0, 4, {"out_of_stock"}, NONE, [("resolve", "out_of_stock"), ("raise", "back_in_stock")]),
        (None, 4, set(), NONE, []),
        (4, 9, set(), NONE, []),
        (9, 3, set(), MIN5, [("raise", "low_stock")]),
        (None, 3, set(), MIN5, [("raise", "low_stock")]),
        (3, 2, {"low_stock"}, MIN5, []),
        (3, 5, {"low_stock"}, MIN5, [("resolve", "low_stock")]),
        (3, 0, {"low_stock"}, MIN5, [("resolve", "low_stock"), ("raise", "out_of_stock")]),
        (
            0,
            2,
            {"out_of_stock"},
            MIN5,
            [("resolve", "out_of_stock"), ("raise", "back_in_stock"), ("raise", "low_stock")],
        ),
        (0, 8, {"out_of_stock"}, MIN5, [("resolve", "out_of_stock"), ("raise", "back_in_stock")]),
    ],
)
def test_transitions(
    old: int | None,
    new: int,
    open_kinds: set[str],
    thresholds: Thresholds,
    expected: list[tuple[str, str]],
) -> None:
    assert decide(old, new, open_kinds, thresholds) == expected


def test_a_replayed_change_decides_nothing_new() -> None:
    open_alerts: dict[tuple[str, str], set[str]] = {}
    change = StockChange("Berlin", "Echo", 3, 0, 1)
    first = evaluate_changes([change], NONE, open_alerts)
    again = evaluate_changes([change, change], NONE, open_alerts)
    assert len(first) == 1 and again == []


def test_thresholds_most_specific_wins() -> None:
    t = Thresholds(
        [
            Threshold("*", "*", 2),
            Threshold("*", "Echo", 3),
            Threshold("Berlin", "*", 4),
            Threshold("Berlin", "Echo", 5),
            Threshold("Pusan", "*", 0),
        ]
    )
    assert t.minimum_for("Berlin", "Echo") == 5
    assert t.minimum_for("Berlin", "Tap") == 4
    assert t.minimum_for("Karachi", "Echo") == 3
    assert t.minimum_for("Karachi", "Tap") == 2
    assert t.minimum_for("Pusan", "Tap") is None  # 0 switches it off
    assert t.candidate_bound() == 4


def test_candidate_filter_keeps_every_change_that_matters() -> None:
    bound = MIN5.candidate_bound()
    for old in [None, *range(0, 12)]:
        for new in range(0, 12):
            for open_kinds in (set(), {"low_stock"}, {"out_of_stock"}):
                if open_kinds == {"low_stock"} and (old is None or not 0 < old < 5):
                    continue
                if open_kinds == {"out_of_stock"} and old != 0:
                    continue
                if not can_change_alerts(old, new, bound):
                    assert decide(old, new, open_kinds, MIN5) == [], (old, new, open_kinds)


def test_digest_groups_by_store_with_the_lab_wording() -> None:
    decisions = [
        AlertDecision("raise", "out_of_stock", "Pusan", "Echo Dot", 0),
        AlertDecision("raise", "out_of_stock", "Berlin", "Echo Plus", 0),
        AlertDecision("raise", "low_stock", "Berlin", "Echo Show", 2, 5),
        AlertDecision("resolve", "low_stock", "Berlin", "Echo Look", 9, 5),
        AlertDecision("raise", "back_in_stock", "Berlin", "Amazon Tap", 4),
    ]
    digest = compose_digest({"id": 7, "file": "all.csv"}, decisions)
    assert digest is not None
    assert digest.total == 4
    assert digest.subject == "stockwatch: 2 out of stock, 1 low on stock, 1 back in stock"
    assert digest.text.splitlines() == [
        "Alerts from all.csv (upload 7): 2 out of stock, 1 low on stock, 1 back in stock.",
        "",
        "Berlin:",
        "- Berlin is out of stock of Echo Plus",
        "- Berlin is low on Echo Show: 2 left (minimum 5)",
        "- Berlin is back in stock of Amazon Tap: 4",
        "",
        "Pusan:",
        "- Pusan is out of stock of Echo Dot",
    ]
    assert compose_digest({"id": 8}, decisions[3:4]) is None
