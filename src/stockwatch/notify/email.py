"""The email channel: each digest as one message with a plain-text and an HTML part."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stockwatch.core.digest import Digest, header_text
from stockwatch.core.ports import DeliveryError

if TYPE_CHECKING:
    from email.message import EmailMessage

# smtplib, ssl and the email package are imported when a message is made or sent: every
# command loads this module, and they were a tenth of `stockwatch ingest`'s start-up.

_COLOURS = {"out_of_stock": "#b42318", "low_stock": "#b54708", "back_in_stock": "#067647"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    timeout: float = 20.0


def render_html(digest: Digest) -> str:
    """The digest as a small HTML page; every name is escaped, never interpreted."""
    rows: list[str] = []
    store = None
    for alert in digest.alerts:
        if alert["store"] != store:
            store = alert["store"]
            rows.append(f'<tr><th colspan="2" align="left">{html.escape(store)}</th></tr>')
        colour = _COLOURS.get(alert["kind"], "#344054")
        label = alert["kind"].replace("_", " ")
        rows.append(
            f'<tr><td style="color:{colour};padding-right:12px">{label}</td>'
            f"<td>{html.escape(alert['item'])}: {alert['count']}</td></tr>"
        )
    more = digest.total - len(digest.alerts)
    extra = f"<p>… and {more:,} more.</p>" if more > 0 else ""
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{html.escape(digest.subject)}</h2>"
        f"<p>{html.escape(digest.text.splitlines()[0])}</p>"
        f"<table>{''.join(rows)}</table>{extra}</body></html>"
    )


def message_id(idempotency_key: str, sender: str) -> str:
    """A well-formed Message-ID (RFC 5322: ``<left@right>``, dot-atoms) that names its digest:
    the key shows which digest it was: its other characters (the ``:`` of ``sub:3``) made
    dashes, the sender's domain on the right."""
    left = re.sub(r"[^A-Za-z0-9.-]+", "-", idempotency_key).strip(".-") or "digest"
    domain = sender.rpartition("@")[2].strip("<> ") if "@" in sender else ""
    domain = re.sub(r"[^A-Za-z0-9.-]+", "-", domain).strip(".-") or "stockwatch.invalid"
    return f"<{left}.{uuid.uuid4().hex[:12]}@{domain}>"


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def message(self, digest: Digest, idempotency_key: str) -> EmailMessage:
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["Subject"] = header_text(digest.subject)
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.recipients)
        msg["Message-ID"] = message_id(idempotency_key, self.settings.sender)
        msg["X-Stockwatch-Idempotency-Key"] = idempotency_key
        msg.set_content(digest.text + "\n")
        msg.add_alternative(render_html(digest), subtype="html")
        return msg

    def send(self, digest: Digest, idempotency_key: str) -> None:
        import smtplib
        import ssl

        s = self.settings
        try:
            if s.security == "tls":
                context = ssl.create_default_context()
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=context
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.user:
                    client.login(s.user, s.password or "")
                client.send_message(self.message(digest, idempotency_key))
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"the SMTP server {s.host}:{s.port} refused or failed: {exc}"
            ) from None
