"""Subscriptions over HTTP on one machine: "notify me" by a manager with an email, and an
admin's webhook, delivered by a real server to a real SMTP server and a real endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Receiver, csv_bytes, run_cli
from tests.e2e.test_email import Mailbox, smtp  # noqa: F401
from tests.live_server import live_server

BOOTSTRAP = "bootstrap-token-0123456789abcdef"


def _add(data: Path, *args: str) -> str:
    added = run_cli(data, "users", "add", *args)
    assert added.returncode == 0, added.stderr
    return added.stdout.strip()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_notify_me_and_an_admins_webhook_each_get_only_their_stores(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,
    smtp: tuple[Mailbox, int],  # noqa: F811
) -> None:
    mailbox, port = smtp
    data = tmp_path / "data"
    ana = _add(data, "ana", "--role", "manager", "--store", "Berlin", "--email", "ana@example.com")
    vic = _add(data, "vic", "--role", "viewer")
    bad = run_cli(data, "users", "add", "bo", "--role", "viewer", "--email", "bo-at-example")
    assert bad.returncode == 2 and "is not an email address" in bad.stderr
    listed = run_cli(data, "users", "list", "--json")
    assert '"email": "ana@example.com"' in listed.stdout
    for name, value in {
        "STOCKWATCH_TOKEN": BOOTSTRAP,
        "STOCKWATCH_SMTP_HOST": "127.0.0.1",
        "STOCKWATCH_SMTP_PORT": str(port),
        "STOCKWATCH_SMTP_SECURITY": "none",
        "STOCKWATCH_EMAIL_FROM": "stockwatch@example.test",
    }.items():
        monkeypatch.setenv(name, value)
    with live_server(data) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        me = client.get("/api/me", headers=_auth(ana)).json()
        assert (me["email"], me["stores"], "subscribe" in me["may"]) == (
            "ana@example.com",
            ["Berlin"],
            True,
        )
        mine = client.post("/api/subscriptions/me", json={}, headers=_auth(ana))
        assert mine.status_code == 201, mine.text
        assert (mine.json()["target"], mine.json()["stores"]) == ("ana@example.com", ["Berlin"])
        other = client.post(
            "/api/subscriptions/me", json={"stores": ["Karachi"]}, headers=_auth(ana)
        )
        assert other.status_code == 403 and "not one of yours" in other.json()["message"]
        no_email = client.post("/api/subscriptions/me", json={}, headers=_auth(vic))
        assert no_email.status_code == 409 and "no email address" in no_email.json()["message"]
        hook = {"webhook": receiver.url, "stores": ["Karachi"]}
        refused = client.post("/api/subscriptions", json=hook, headers=_auth(vic))
        assert refused.status_code == 403
        made = client.post("/api/subscriptions", json=hook, headers=_auth(BOOTSTRAP))
        assert made.status_code == 201, made.text

        upload = client.post(
            "/api/uploads",
            content=csv_bytes(("Berlin", "Echo Dot", 0), ("Karachi", "Tap", 0)),
            headers={"Content-Type": "text/csv", **_auth(BOOTSTRAP)},
        )
        assert upload.status_code == 202
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (mailbox.messages and receiver.received):
            time.sleep(0.1)
        time.sleep(0.5)  # nothing more is on its way
        (mail,) = mailbox.messages
        assert mailbox.envelopes[0].rcpt_tos == ["ana@example.com"]
        body = mail.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Berlin is out of stock of Echo Dot" in text and "Karachi" not in text
        (digest,) = receiver.received
        assert "Karachi is out of stock of Tap" in digest["text"] and "Berlin" not in digest["text"]

        own = client.get("/api/subscriptions", headers=_auth(ana)).json()
        assert [s["target"] for s in own] == ["ana@example.com"]
        every = client.get("/api/subscriptions", headers=_auth(BOOTSTRAP)).json()
        assert len(every) == 2
        theirs = made.json()["id"]
        assert client.delete(f"/api/subscriptions/{theirs}", headers=_auth(ana)).status_code == 404
        gone = client.delete(f"/api/subscriptions/{own[0]['id']}", headers=_auth(ana))
        assert gone.status_code == 200
        assert client.get("/api/subscriptions", headers=_auth(ana)).json() == []
        trail = client.get("/api/audit", headers=_auth(BOOTSTRAP)).json()
        assert [(a["actor"], a["action"]) for a in trail if "subscription" in a["action"]] == [
            ("ana", "subscription.add"),
            ("admin", "subscription.add"),
            ("ana", "subscription.delete"),
        ]
