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


def _verify(header: str, secret: str, body: bytes) -> bool:
    """What a receiver does (docs/security.md): recompute the HMAC over "<t>.<body>"."""
    import hashlib
    import hmac
    import time

    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) < 300
    return fresh and hmac.compare_digest(expected, parts["v1"])


def test_each_webhook_is_signed_with_its_own_secret_never_the_servers(
    tmp_path: Path, receiver: Receiver
) -> None:
    """#26: every subscription webhook got the main receiver's X-Stockwatch-Secret, so any
    subscriber could forge digests to it. Now a subscription has a secret of its own, shown
    once, and every body is signed (HMAC-SHA256 with a timestamp)."""
    import httpx

    from stockwatch.notify.webhook import WebhookChannel
    from tests.live_server import live_server

    main = WebhookChannel(receiver.url, secret="the-servers-own-secret")
    with (
        live_server(tmp_path / "data", {"webhook": main}) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        made = client.post("/api/subscriptions", json={"webhook": receiver.url + "?sub"}).json()
        own = made["secret"]
        assert own and len(own) >= 40
        listed = client.get("/api/subscriptions").json()
        assert all(s.get("secret") is None for s in listed)  # shown once, then never
        upload = client.post(
            "/api/uploads?filename=a.csv",
            content=csv_bytes(("Berlin", "Echo Dot", 0)),
            headers={"Content-Type": "text/csv"},
        ).json()
        for _ in range(200):
            if len(receiver.received) >= 2:
                break
            import time

            time.sleep(0.05)
        assert upload["status"] == "queued"
    assert len(receiver.headers) == 2
    for headers, body in zip(receiver.headers, receiver.raw, strict=True):
        signature = headers["X-Stockwatch-Signature"]
        if "X-Stockwatch-Secret" in headers:  # the server's own receiver, as before
            assert _verify(signature, "the-servers-own-secret", body)
        else:  # the subscription's: its secret, and nothing of the server's
            assert _verify(signature, own, body)
            assert not _verify(signature, "the-servers-own-secret", body)
