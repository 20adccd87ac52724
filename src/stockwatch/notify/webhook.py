"""The webhook channel: a JSON POST that Slack-compatible receivers understand.

The body carries ``text`` (what Slack shows) and the structured ``alerts``; the
``Idempotency-Key`` header lets a receiver drop the rare repeat after a crash.

Only a 2xx answer is a delivery. Redirects are never followed: urllib would follow a 302
with a body-less GET that still carries the secret, the GET's 200 would mark the digest
sent, and the alert would never arrive. A redirect is a failed delivery, retried later.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from stockwatch import __version__
from stockwatch.core.digest import Digest
from stockwatch.core.ports import DeliveryError


def slack_escape(text: str) -> str:
    """Slack's own escaping: names from uploaded files cannot mention, link or format."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx code


_OPENER = urllib.request.build_opener(_NoRedirects)


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0, secret: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"STOCKWATCH_WEBHOOK_URL {url!r} is not an http(s) URL")
        self.url = url
        self.timeout = timeout
        self.secret = secret

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
            headers["X-Stockwatch-Secret"] = self.secret
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                response.read(1024)
                status = response.status
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                where = exc.headers.get("Location", "?")
                raise DeliveryError(
                    f"the webhook answered HTTP {exc.code}, a redirect to {where[:200]}; "
                    "redirects are not followed (set STOCKWATCH_WEBHOOK_URL to the final URL)"
                ) from None
            raise DeliveryError(f"the webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"the webhook could not be reached: {reason}") from None
        except http.client.HTTPException as exc:  # a garbled or cut-off answer
            raise DeliveryError(f"the webhook gave no proper HTTP answer: {exc!r}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"the webhook answered HTTP {status}, not a success")
