"""Subscriptions on one machine, through the real CLI and a real webhook endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Receiver, csv_bytes


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "stockwatch", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_berlin_only_subscription_hears_of_berlin_and_nothing_of_karachi(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    berlin = _cli(
        data, "subscriptions", "add", "--webhook", receiver.url + "?b", "--store", "Berlin"
    )
    assert berlin.returncode == 0, berlin.stderr
    quiet = _cli(
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
    bad = _cli(data, "subscriptions", "add", "--email", "not-an-address")
    assert bad.returncode == 2 and "is not an email address" in bad.stderr

    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 0), ("Berlin", "Echo Plus", 0))
    )
    assert _cli(data, "ingest", str(mixed)).returncode == 0
    (digest,) = receiver.received  # one digest: Berlin's; Karachi's subscription wants low stock
    assert "Berlin is out of stock of Echo Dot" in digest["text"]
    assert "Berlin is out of stock of Echo Plus" in digest["text"]
    assert "Karachi" not in json.dumps(digest)
    # Delivered once: sending again sends nothing more.
    assert _cli(data, "process").returncode == 0
    assert len(receiver.received) == 1

    listed = json.loads(_cli(data, "subscriptions", "list", "--json").stdout)
    assert [(s["stores"], s["kinds"]) for s in listed] == [
        (["Berlin"], None),
        (["Karachi"], ["low_stock"]),
    ]
    assert _cli(data, "subscriptions", "delete", str(listed[0]["id"])).returncode == 0
    again = tmp_path / "again.csv"
    again.write_bytes(csv_bytes(("Berlin", "Echo Dot", 5), ("Berlin", "Echo Show", 0)))
    assert _cli(data, "ingest", str(again)).returncode == 0
    assert len(receiver.received) == 1  # the Berlin subscription is gone
    trail = json.loads(_cli(data, "audit", "--json").stdout)
    assert [a["action"] for a in trail if a["action"].startswith("subscription")] == [
        "subscription.add",
        "subscription.add",
        "subscription.delete",
    ]
