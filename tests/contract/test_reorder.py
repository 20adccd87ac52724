"""What to order (#30): settings, the order list, orders and the backtest, on SQLite and on
AWS (moto). The same counts give the same lines on both."""

from __future__ import annotations

import pytest

from stockwatch.core.replenishment import OrderingEntry
from stockwatch.service import order_list
from stockwatch.service import replenishment as ordering
from stockwatch.service.reads import UnknownName
from tests.conftest import csv_bytes
from tests.contract.drivers import Backend

DAY = "2026-11-{:02d}T08:00:00.000Z"


def _days(backend: Backend, counts: dict[str, list[int]], first: int = 1) -> None:
    """One upload a day for Berlin, each item's count of that day."""
    days = max(len(c) for c in counts.values())
    for n in range(days):
        rows = [("Berlin", item, c[n]) for item, c in counts.items() if n < len(c)]
        report = backend.process(
            backend.receive(f"berlin-{n}.csv", csv_bytes(*rows), as_of=DAY.format(first + n))
        )
        assert report["status"] == "loaded", report


def test_the_order_list_the_settings_and_an_order_received_by_a_count(backend: Backend) -> None:
    _days(
        backend,
        {
            "Echo Dot": [40, 35, 30, 25, 20],  # 5 a day
            "Kindle": [9, 9, 9, 9, 9],  # nothing sells: nothing to order
            # at zero, then a delivery, and a day on the shelf: too little to size an order
            "Echo Show": [0, 0, 0, 3, 3],
        },
    )
    tap = csv_bytes(("Berlin", "Tap", 4))
    backend.process(backend.receive("new.csv", tap, as_of=DAY.format(5)))
    book, reads = backend.order_book(), backend.model()

    ordering.set_ordering(book, OrderingEntry("Berlin", "*", pack=6), names=reads)
    ordering.set_ordering(book, OrderingEntry("Berlin", "Echo Dot", lead_days=3), names=reads)
    ordering.set_ordering(book, OrderingEntry("Berlin", "Echo Dot", service_level=90), names=reads)
    (dot,) = [e for e in book.entries() if e.item == "Echo Dot"]
    assert (dot.lead_days, dot.service_level, dot.pack) == (3, 90, None)  # fields kept
    ordering.set_ordering(book, OrderingEntry("Berlin", "Kindle", pack=99), names=reads)
    ordering.delete_ordering(book, "Berlin", "Kindle")
    with pytest.raises(ordering.OrderingError, match="no ordering settings for Berlin / Kindle"):
        ordering.delete_ordering(book, "Berlin", "Kindle")

    lines = {line.item: line for line in order_list.reorder(reads, book, "Berlin")}
    assert set(lines) == {"Echo Dot", "Echo Show", "Tap"}
    echo = lines["Echo Dot"]
    # 5 a day, no deviation: S = 5 x (7 + 3) = 50; 20 on hand -> 30, in packs of 6 -> 30
    assert (echo.on_hand, echo.daily_demand, echo.demand_sd, echo.order_up_to) == (20, 5, 0, 50)
    assert (echo.suggested, echo.runs_out, echo.method) == (30, "2026-11-09", "mean")
    assert echo.reason == "runs out Mon 9 Nov; 3-day lead time"
    assert lines["Tap"].suggested is None
    assert lines["Tap"].reason == "not enough history (1 of 3 counts)"
    assert lines["Echo Show"].suggested is None
    assert lines["Echo Show"].reason == (
        "not enough history (under 2 days of counts with stock on the shelf)"
    )

    result = order_list.run_backtest(reads, book, "Berlin", days=28)
    assert set(result["policies"]) == {"order_up_to"}  # no thresholds: no min/max
    backend.set_threshold("Berlin", "Echo Dot", 10)
    result = order_list.run_backtest(reads, book, "Berlin", days=28)
    assert set(result["policies"]) == {"order_up_to", "min_max"}
    assert {line["item"] for line in result["items"]} >= {"Echo Dot", "Kindle"}

    order = ordering.add_order(book, "Berlin", "Echo Dot", 24, "2026-11-08", "ann", names=reads)
    (echo,) = [x for x in order_list.reorder(reads, book, "Berlin") if x.item == "Echo Dot"]
    assert (echo.on_order, echo.suggested) == (24, 6)

    # The delivery shows as a count rising by about the order: it is received by itself.
    report = backend.process(backend.receive("d.csv", csv_bytes(("Berlin", "Echo Dot", 40))))
    assert report["rows_loaded"] == 1
    assert ordering.open_orders(book, reads) == []
    (received,) = book.orders(open_only=False)
    assert (received.id, received.received_by) == (order.id, "count")
    with pytest.raises(ordering.OrderingError, match="no open order"):
        ordering.receive_order(book, order.id)


def test_unknown_names_and_bad_settings_say_what_is_wrong(backend: Backend) -> None:
    _days(backend, {"Echo Dot": [3, 2, 1]})
    book, reads = backend.order_book(), backend.model()
    with pytest.raises(UnknownName, match='did you mean "Berlin"'):
        ordering.set_ordering(book, OrderingEntry("berlin", "*", pack=2), names=reads)
    with pytest.raises(UnknownName, match='did you mean "Echo Dot"'):
        ordering.add_order(book, "Berlin", "Echo Dt", 5, names=reads)
    with pytest.raises(ordering.OrderingError, match="service level 120%"):
        ordering.set_ordering(book, OrderingEntry("Berlin", "*", service_level=120), names=reads)
    with pytest.raises(ordering.OrderingError, match="at least one of"):
        ordering.set_ordering(book, OrderingEntry("Berlin", "*"), names=reads)
    assert book.entries() == []


def test_move_before_you_buy(backend: Backend) -> None:
    for n, (berlin, karachi) in enumerate(((40, 200), (35, 198), (30, 196), (25, 194), (20, 192))):
        rows = [("Berlin", "Echo Dot", berlin), ("Karachi", "Echo Dot", karachi)]
        report = backend.process(
            backend.receive(f"d{n}.csv", csv_bytes(*rows), as_of=DAY.format(1 + n))
        )
        assert report["status"] == "loaded"
    book, reads = backend.order_book(), backend.model()
    # Berlin: 5 a day, S = 70, 20 on hand -> short 50. Karachi: 2 a day, S = 28, and keeps
    # a week (14): it can spare 192 - 42 = 150.
    (line,) = order_list.reorder(reads, book, "Berlin")
    assert (line.transfer, line.transfer_from, line.suggested) == (50, "50 from Karachi", 0)
    assert line.reason == "move 50 from Karachi"
    (move,) = order_list.transfers(reads, book)
    assert (move.item, move.source, move.target, move.quantity) == (
        "Echo Dot",
        "Karachi",
        "Berlin",
        50,
    )
    assert order_list.transfers(reads, book, "Karachi") == [move]
    assert order_list.reorder(reads, book, "Karachi") == []


def test_the_digest_of_an_alert_says_what_to_order(backend: Backend) -> None:
    _days(backend, {"Echo Dot": [40, 35, 30, 25, 20], "Kindle": [9, 9, 9, 9, 9]})
    backend.notified()
    ordering.set_ordering(
        backend.order_book(), OrderingEntry("*", "*", pack=12), names=backend.model()
    )
    rows = [("Berlin", "Echo Dot", 0), ("Berlin", "Kindle", 9)]
    report = backend.process(backend.receive("out.csv", csv_bytes(*rows), as_of=DAY.format(6)))
    assert report["rows_loaded"] == 1
    (text,) = backend.notified()
    assert "Berlin is out of stock of Echo Dot" in text
    # 0 on hand, S = 70 (more than 5 a day now: 20 went in a day) -> order in packs of 12
    assert "To order:\n- Berlin / Echo Dot: " in text and "(out of stock; 7-day lead time)" in text
    line = text.split("To order:\n")[1].splitlines()[0]
    quantity = int(line.split(": ")[1].split(" ")[0].replace(",", ""))
    assert quantity % 12 == 0 and quantity >= 70


@pytest.mark.parametrize("wrong", ["99999999999999999999999", "²", "1 OR 1=1", "", "x" * 80])
def test_receiving_an_order_that_is_not_there_says_so(backend: Backend, wrong: str) -> None:
    with pytest.raises(ordering.OrderingError, match="no open order"):
        ordering.receive_order(backend.order_book(), wrong)
