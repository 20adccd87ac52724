"""The webhook channel: a JSON POST that Slack-compatible receivers understand.

The body carries ``text`` (what Slack shows) and the structured ``alerts``; the
``Idempotency-Key`` header lets a receiver drop the rare repeat after a crash.

Only a 2xx answer is a delivery. Redirects are never followed: a client that followed a 302
with a body-less GET would still carry the secret, the GET's 200 would mark the digest
sent, and the alert would never arrive. A redirect is a failed delivery, retried later.
A delivery has a total deadline (30 s): an endpoint that drips its answer a byte at a time
is cut off, and the outbox sends each channel in its own thread, so it delays no other.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from urllib.parse import urlsplit

from stockwatch import __version__
from stockwatch.core.digest import Digest
from stockwatch.core.ports import DeliveryError
from stockwatch.core.subscriptions import SubscriptionError, check_url


def slack_escape(text: str) -> str:
    """Slack's own escaping: names from uploaded files cannot mention, link or format."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signature(secret: str, body: bytes, now: float | None = None) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, as Stripe and GitHub sign
    theirs: a receiver recomputes it with the secret and refuses old timestamps, so a
    captured body cannot be replayed later nor altered (docs/security.md has the check)."""
    stamp = int(time.time() if now is None else now)
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        secret: str | None = None,
        deadline: float = 30.0,
        legacy: bool = True,
    ) -> None:
        try:
            check_url(url, "STOCKWATCH_WEBHOOK_URL")
        except SubscriptionError as exc:
            raise ValueError(str(exc)) from None
        self.url = url
        self.timeout = timeout  # for each wait on the socket
        self.deadline = deadline  # for the whole delivery
        self.secret = secret
        # The server's own receiver also gets X-Stockwatch-Secret, as before signatures;
        # a subscription's never does.
        self.legacy = legacy

    def send(self, digest: Digest, idempotency_key: str) -> None:
        body = json.dumps(
            {
                "text": slack_escape(f"*{digest.subject}*\n{digest.text}"),
                "subject": digest.subject,
                "upload": digest.upload,
                "alerts": digest.alerts,
                "total": digest.total,
            }
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"stockwatch/{__version__}",
            "Idempotency-Key": idempotency_key,
        }
        if self.secret:
            headers["X-Stockwatch-Signature"] = signature(self.secret, body)
            if self.legacy:
                headers["X-Stockwatch-Secret"] = self.secret
        self._post(body, headers)

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        """One POST, given up ``deadline`` seconds after it began however the other end
        drips its answer (a socket timeout alone restarts with every byte)."""
        # Imported here: with the mail parser http.client brings, a twentieth of the start of
        # every command, though only a delivery needs them.
        import http.client
        import ssl

        parts = urlsplit(self.url)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self.timeout
            )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        late = threading.Event()

        def give_up() -> None:
            late.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(self.deadline, give_up)
        timer.daemon = True
        timer.start()
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read(1024)
            status, location = response.status, response.getheader("Location", "?")
        except (OSError, http.client.HTTPException) as exc:
            if late.is_set():
                raise DeliveryError(
                    f"the webhook did not answer within {self.deadline:.0f} s; given up for now"
                ) from None
            if isinstance(exc, http.client.HTTPException):  # a garbled or cut-off answer
                raise DeliveryError(f"the webhook gave no proper HTTP answer: {exc!r}") from None
            raise DeliveryError(f"the webhook could not be reached: {exc}") from None
        finally:
            timer.cancel()
            connection.close()
        if 300 <= status < 400:
            raise DeliveryError(
                f"the webhook answered HTTP {status}, a redirect to {location[:200]}; "
                "redirects are not followed (set STOCKWATCH_WEBHOOK_URL to the final URL)"
            )
        if not 200 <= status < 300:
            raise DeliveryError(f"the webhook answered HTTP {status}, not a success")
