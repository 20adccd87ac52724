"""Which channels are on: from ``STOCKWATCH_*`` variables, or a config file beside them.

The config file is TOML, at ``STOCKWATCH_CONFIG`` or ``<data-dir>/stockwatch.toml``; its keys
are the variable names without the prefix, in lower case (``webhook_url``, ``smtp_host``,
``email_to``…). Environment variables win over the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from stockwatch.core.ports import AlertChannel, DeliveryError
from stockwatch.core.subscriptions import Subscription
from stockwatch.notify.console import ConsoleChannel
from stockwatch.notify.email import EmailChannel, SmtpSettings
from stockwatch.notify.webhook import WebhookChannel

# Setting names that hold a secret: the file holding one must be its owner's alone.
SECRET_WORDS = ("password", "secret", "token")
PREFIX = "STOCKWATCH_"


class ConfigError(ValueError):
    pass


def load_settings(
    data_dir: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = os.environ if environ is None else environ
    settings: dict[str, str] = {}
    path = env.get("STOCKWATCH_CONFIG") or (
        str(data_dir / "stockwatch.toml") if data_dir is not None else ""
    )
    if path and Path(path).is_file():
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        secrets = [k for k in data if any(w in k.lower() for w in SECRET_WORDS)]
        if secrets and Path(path).stat().st_mode & 0o077:
            raise ConfigError(
                f"{path} holds {secrets[0]} and other users can read it; run"
                f" `chmod 600 {path}`, as for the token file"
            )
        for key, value in data.items():
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            settings[key.lower()] = str(value).lower() if isinstance(value, bool) else str(value)
    for key, value in env.items():
        if key.startswith(PREFIX):
            settings[key[len(PREFIX) :].lower()] = value
    return settings


def smtp_settings(settings: Mapping[str, str]) -> SmtpSettings | None:
    """The server and the list of STOCKWATCH_EMAIL_TO, or None without an SMTP host."""
    server = smtp_server(settings)
    if server is None:
        return None
    recipients = tuple(r.strip() for r in settings.get("email_to", "").split(",") if r.strip())
    if not recipients or not server.sender:
        raise ConfigError(
            "email alerts need STOCKWATCH_EMAIL_FROM and STOCKWATCH_EMAIL_TO (comma-separated)"
        )
    return replace(server, recipients=recipients)


def smtp_server(settings: Mapping[str, str]) -> SmtpSettings | None:
    """How to send email, with no recipients yet (subscriptions bring their own)."""
    host = settings.get("smtp_host", "").strip()
    if not host:
        return None
    security = settings.get("smtp_security", "starttls").strip().lower()
    if security not in ("starttls", "tls", "none"):
        raise ConfigError("STOCKWATCH_SMTP_SECURITY must be starttls, tls or none")
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    try:
        port = int(settings.get("smtp_port", default_port))
    except ValueError:
        raise ConfigError("STOCKWATCH_SMTP_PORT must be a port number") from None
    allow_plain = settings.get("smtp_allow_plaintext", "").strip().lower() in ("1", "true", "yes")
    if security == "none" and settings.get("smtp_user") and not allow_plain:
        raise ConfigError(
            "STOCKWATCH_SMTP_SECURITY=none would send the SMTP password in clear; use starttls"
            " or tls, or set STOCKWATCH_SMTP_ALLOW_PLAINTEXT=1 if the server is on this host"
        )
    return SmtpSettings(
        host,
        port,
        security,
        settings.get("email_from", "").strip(),
        (),
        settings.get("smtp_user") or None,
        settings.get("smtp_password") or None,
    )


class SubscriptionChannels:
    """Builds the channel of one subscription: its webhook URL, its bodies signed with the
    subscription's own secret (never the server's STOCKWATCH_WEBHOOK_SECRET, which a
    subscriber could then use to forge digests to the main receiver), or its address
    through the SMTP server."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self.smtp = smtp_server(settings)

    def __call__(self, subscription: Subscription) -> AlertChannel:
        if subscription.channel == "webhook":
            return WebhookChannel(subscription.target, secret=subscription.secret, legacy=False)
        if self.smtp is None or not self.smtp.sender:
            raise DeliveryError(NO_SMTP)
        return EmailChannel(replace(self.smtp, recipients=(subscription.target,)))


NO_SMTP = (
    "email subscriptions need an SMTP server: set STOCKWATCH_SMTP_HOST and STOCKWATCH_EMAIL_FROM"
)


def channels_from_settings(settings: Mapping[str, str]) -> dict[str, AlertChannel]:
    channels: dict[str, AlertChannel] = {"console": ConsoleChannel()}
    url = settings.get("webhook_url", "").strip()
    if url:
        try:
            channels["webhook"] = WebhookChannel(url, secret=settings.get("webhook_secret"))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    smtp = smtp_settings(settings)
    if smtp is not None:
        channels["email"] = EmailChannel(smtp)
    return channels
