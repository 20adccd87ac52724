"""Subscriptions on one machine, through the real CLI and a real webhook endpoint."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Receiver, csv_bytes, run_cli


def test_a_berlin_only_subscription_hears_of_berlin_and_nothing_of_karachi(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    berlin = run_cli(
        data, "subscriptions", "add", "--webhook", receiver.url + "?b", "--store", "Berlin"
    )
    assert berlin.returncode == 0, berlin.stderr
    quiet = run_cli(
        data,
        "subscriptions",
        "add",
        "--webhook",
        receiver.url + "?k",
        "--store",
        "Karachi",
        "--kind",
        "low_stock",
    )
    assert quiet.returncode == 0, quiet.stderr
    bad = run_cli(data, "subscriptions", "add", "--email", "not-an-address")
    assert bad.returncode == 2 and "is not an email address" in bad.stderr

    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 0), ("Berlin", "Echo Plus", 0))
    )
    assert run_cli(data, "ingest", str(mixed)).returncode == 0
    (digest,) = receiver.received  # one digest: Berlin's; Karachi's subscription wants low stock
    assert "Berlin is out of stock of Echo Dot" in digest["text"]
    assert "Berlin is out of stock of Echo Plus" in digest["text"]
    assert "Karachi" not in json.dumps(digest)
    # Delivered once: sending again sends nothing more.
    assert run_cli(data, "process").returncode == 0
    assert len(receiver.received) == 1

    listed = json.loads(run_cli(data, "subscriptions", "list", "--json").stdout)
    assert [(s["stores"], s["kinds"]) for s in listed] == [
        (["Berlin"], None),
        (["Karachi"], ["low_stock"]),
    ]
    assert run_cli(data, "subscriptions", "delete", str(listed[0]["id"])).returncode == 0
    again = tmp_path / "again.csv"
    again.write_bytes(csv_bytes(("Berlin", "Echo Dot", 5), ("Berlin", "Echo Show", 0)))
    assert run_cli(data, "ingest", str(again)).returncode == 0
    assert len(receiver.received) == 1  # the Berlin subscription is gone
    trail = json.loads(run_cli(data, "audit", "--json").stdout)
    assert [a["action"] for a in trail if a["action"].startswith("subscription")] == [
        "subscription.add",
        "subscription.add",
        "subscription.delete",
    ]
