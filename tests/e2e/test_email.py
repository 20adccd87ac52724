"""Email digests through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from stockwatch.core.digest import compose_digest
from stockwatch.core.model import AlertDecision
from stockwatch.core.ports import DeliveryError
from stockwatch.notify.config import ConfigError, channels_from_settings
from stockwatch.notify.email import EmailChannel, SmtpSettings
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
