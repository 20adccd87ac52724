"""Email digests through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from stockwatch.core.digest import Digest, compose_digest
from stockwatch.core.model import AlertDecision
from stockwatch.core.ports import DeliveryError
from stockwatch.notify.config import ConfigError, channels_from_settings
from stockwatch.notify.email import EmailChannel, SmtpSettings
from tests.conftest import Receiver
from tests.live_server import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


DECISIONS = [
    AlertDecision("raise", "out_of_stock", "Berlin", "Echo Plus", 0),
    AlertDecision("raise", "out_of_stock", "Pusan", "<img src=x onerror=alert(1)>", 0),
    AlertDecision("raise", "low_stock", "Berlin", "Echo Dot", 2, 5),
]


def test_the_digest_arrives_as_one_email_with_text_and_html(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    settings = SmtpSettings(
        "127.0.0.1",
        port,
        "none",
        "stockwatch@example.test",
        ("manager@example.test", "buyer@example.test"),
    )
    digest = compose_digest({"id": 4, "file": "all.csv"}, DECISIONS)
    assert digest is not None
    EmailChannel(settings).send(digest, "stockwatch-upload-4-email")
    (message,) = mailbox.messages
    assert mailbox.envelopes[0].rcpt_tos == ["manager@example.test", "buyer@example.test"]
    assert message["Subject"] == "stockwatch: 2 out of stock, 1 low on stock"
    assert message["X-Stockwatch-Idempotency-Key"] == "stockwatch-upload-4-email"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert "- Berlin is out of stock of Echo Plus" in plain
    assert "- Berlin is low on Echo Dot: 2 left (minimum 5)" in plain
    assert "- Pusan is out of stock of <img src=x onerror=alert(1)>" in plain
    markup = html.get_content()
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup and "<img" not in markup


def test_an_smtp_server_that_is_down_is_a_delivery_error() -> None:
    settings = SmtpSettings(
        "127.0.0.1", free_port(), "none", "a@example.test", ("b@example.test",), timeout=2
    )
    digest = compose_digest({"id": 1}, DECISIONS[:1])
    assert digest is not None
    with pytest.raises(DeliveryError, match="SMTP server"):
        EmailChannel(settings).send(digest, "k")


def test_email_settings() -> None:
    channels = channels_from_settings(
        {
            "smtp_host": "mail.example.test",
            "smtp_security": "tls",
            "email_from": "a@x.test",
            "email_to": "b@x.test, c@x.test",
        }
    )
    channel = channels["email"]
    assert isinstance(channel, EmailChannel)
    assert channel.settings.port == 465
    assert channel.settings.recipients == ("b@x.test", "c@x.test")
    with pytest.raises(ConfigError, match="STOCKWATCH_EMAIL_TO"):
        channels_from_settings({"smtp_host": "mail.example.test"})
    with pytest.raises(ConfigError, match="SECURITY"):
        channels_from_settings({"smtp_host": "h", "smtp_security": "ssl3"})


def test_a_name_with_a_line_separator_never_stops_the_mail(
    smtp: tuple[Mailbox, int], tmp_path: Path, receiver: Receiver
) -> None:
    """Found by the security review (#25): an item named ``Echo<U+2028>Dot`` made
    EmailMessage raise in the subject, and every later digest on every channel stayed
    pending. The reader now refuses such a name (tests/unit/test_reader.py); a digest that
    holds one already (queued by an older version) is sent with its subject made one line,
    and a channel that fails in any way fails that delivery only."""
    from stockwatch.notify.webhook import WebhookChannel
    from stockwatch.sqlite.backend import SqliteBackend

    mailbox, port = smtp
    settings = SmtpSettings("127.0.0.1", port, "none", "sw@example.test", ("m@example.test",))

    class Broken:
        """A channel with a bug of its own (not a DeliveryError)."""

        name = "broken"

        def send(self, digest: Digest, idempotency_key: str) -> None:
            raise ZeroDivisionError("a bug in a channel")

    channels = {
        "email": EmailChannel(settings),
        "broken": Broken(),
        "webhook": WebhookChannel(receiver.url),
    }
    backend = SqliteBackend(tmp_path / "data", channels=channels)  # type: ignore[arg-type]
    try:
        digest = compose_digest(
            {"id": 1, "file": "old.csv"},
            [AlertDecision("raise", "out_of_stock", "Berlin", "Echo\u2028Dot", 0)],
        )
        assert digest is not None
        with backend.conn:
            backend.conn.executemany(
                "INSERT INTO outbox (upload_id, channel, payload, created_at, next_attempt_at)"
                " VALUES (1, ?, ?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                [(name, json.dumps(digest.to_json())) for name in channels],
            )
        done = backend.deliver()
    finally:
        backend.close()
    assert (done.sent, done.failed) == (2, 1) and "broken" in done.errors[0]
    (mail,) = mailbox.messages
    assert "\u2028" not in mail["Subject"] and "Echo Dot" in mail["Subject"]
    assert len(receiver.received) == 1


def test_every_mail_has_a_well_formed_message_id() -> None:
    """A subscription's key holds a ``:``, which made the Message-ID malformed (#26)."""
    import re

    from stockwatch.notify.email import message_id

    for key in ("stockwatch-upload-4-email", "stockwatch-upload-4-sub:3", ":"):
        found = message_id(key, "Stock Watch <sw@shop.example.com>")
        assert re.fullmatch(r"<[A-Za-z0-9.-]+@[A-Za-z0-9.-]+>", found), found
        assert found.endswith("@shop.example.com>")


def test_settings_that_would_leak_the_smtp_password_are_refused(tmp_path: Path) -> None:
    """#26: a world-readable stockwatch.toml holding smtp_password was taken, and
    smtp_security = none sent the password in clear without a word."""
    from stockwatch.notify.config import load_settings, smtp_server

    settings = tmp_path / "stockwatch.toml"
    settings.write_text('smtp_host = "127.0.0.1"\nsmtp_password = "hush"\n')
    settings.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(tmp_path)
    settings.chmod(0o600)
    assert load_settings(tmp_path)["smtp_password"] == "hush"
    plain = {"smtp_host": "mail.example.com", "smtp_security": "none", "smtp_user": "sw"}
    with pytest.raises(ConfigError, match="in clear"):
        smtp_server(plain)
    assert smtp_server({**plain, "smtp_allow_plaintext": "1"}) is not None
