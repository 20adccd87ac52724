"""Who may talk to the server at all: the Host it answers for, and no cross-site writes.

In the tokenless loopback mode any web page the user opens could otherwise write stock:
``fetch('http://127.0.0.1:8000/api/uploads', {method: 'POST', mode: 'no-cors', ...})``
needs no preflight. And a name that resolves to 127.0.0.1 (DNS rebinding) would let a page
read the data. So:

- the ``Host`` header must name this server (``STOCKWATCH_ALLOWED_HOSTS`` adds names for a
  reverse proxy; ``*`` allows any);
- an unsafe method (POST, PUT, PATCH, DELETE) needs a bearer token (which a cross-site
  page cannot send without a preflight; ``TokenGuard`` checks it), or a same-origin proof:
  browsers say ``Sec-Fetch-Site: same-origin`` (or ``none``) and an ``Origin`` equal to the
  server's own; a client that sends neither (curl, the CLI) is not a browser and is let in;
- without a token, an upload sent as ``text/plain`` (the content type a page may send
  cross-site without asking) is refused: real clients send ``text/csv`` or a form.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from stockwatch.web.auth import bearer

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def allowed_hosts(bind_host: str, environ: dict[str, str] | None = None) -> frozenset[str] | None:
    """The host names this server answers for; None for any."""
    env = os.environ if environ is None else environ
    extra = {h.strip().lower() for h in env.get("STOCKWATCH_ALLOWED_HOSTS", "").split(",")}
    extra.discard("")
    if "*" in extra:
        return None
    if bind_host in ("0.0.0.0", "::", ""):  # noqa: S104  # asks whether it binds all
        return None if not extra else frozenset(extra | LOOPBACK_NAMES)
    return frozenset({bind_host.lower().strip("[]")} | LOOPBACK_NAMES | extra)


def host_name(host_header: str) -> str:
    """``[::1]:8000`` -> ``::1``; ``Example.COM:80`` -> ``example.com``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SiteGuard:
    def __init__(self, app: ASGIApp, token: str | None, hosts: frozenset[str] | None) -> None:
        self.app = app
        self.token = token
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self.refuse(request)
        if refusal is not None:
            status, message = refusal
            await JSONResponse({"message": message}, status_code=status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refuse(self, request: Request) -> tuple[int, str] | None:
        host = request.headers.get("host", "")
        if self.hosts is not None and host_name(host) not in self.hosts:
            return 421, (
                f"this server does not answer for host {host[:100]!r}; behind a proxy, add "
                "its name to STOCKWATCH_ALLOWED_HOSTS"
            )
        if request.method not in UNSAFE:
            return None
        if bearer(request.headers.get("authorization")) is not None:
            # A page cannot add an Authorization header to a cross-site request without a
            # CORS preflight, which this server never answers; TokenGuard checks the token.
            return None
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        if site is not None and site not in ("same-origin", "none"):
            return 403, f"refused a {site} request: writes come from this server's own pages"
        if origin is not None and not self._same_origin(origin, host):
            return 403, f"refused a request from {origin[:100]}: writes need this server's origin"
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if (
            self.token is None
            and content_type == "text/plain"
            and (request.url.path == "/api/uploads")
        ):
            return 415, "send the file as text/csv or as a multipart form, not text/plain"
        return None

    @staticmethod
    def _same_origin(origin: str, host: str) -> bool:
        """The scheme is left aside: behind a TLS proxy the page is https, we are http."""
        if origin == "null":
            return False
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:  # "http://[::1", a "]" without its "[": no origin of ours
            return False
        return netloc.lower() == host.strip().lower()
