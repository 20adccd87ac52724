"""The stockwatch token: from STOCKWATCH_TOKEN or a ``token`` file in the data directory."""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from pathlib import Path

from stockwatch.core.access import Action, Principal, Role

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MIN_TOKEN_CHARS = 16


class TokenError(ValueError):
    """The token cannot be used as it is; the message says what to do."""


def load_token(data_dir: Path) -> str | None:
    """STOCKWATCH_TOKEN, else ``<data-dir>/token`` — which only its owner may read."""
    token = os.environ.get("STOCKWATCH_TOKEN", "").strip()
    if token:
        return token
    path = data_dir / "token"
    if path.is_file():
        if path.stat().st_mode & 0o077:
            raise TokenError(
                f"{path} can be read by other users; run `chmod 600 {path}` and start again"
            )
        return path.read_text(encoding="utf-8").strip() or None
    return None


def check_strength(token: str | None, host: str) -> None:
    """Off loopback, a token is all that stands between the network and the stock."""
    if host in LOOPBACK:
        return
    if token is None:
        raise TokenError(
            f"refusing to listen on {host} without a token: anyone who can reach it could read "
            "and change your stock. Set STOCKWATCH_TOKEN=<a long random string> (or write it "
            "to <data-dir>/token, chmod 600), or listen on 127.0.0.1."
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise TokenError(
            f"the token is {len(token)} characters; listening on {host} needs at least "
            f"{MIN_TOKEN_CHARS}: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


# Nobody signs in where nobody is set up to: the loopback mode without a token or users.
LOCAL = Principal("the dashboard", Role.ADMIN, personal=False)


def action_of(method: str, path: str) -> Action:
    """What a request does, for its signer's role to allow. Anything not named here is
    an admin's: a new route is closed until it is given its action."""
    if path.startswith("/api/users"):
        return Action.USERS
    if path.startswith("/api/audit"):
        return Action.AUDIT
    if path == "/api/events/ticket":
        return Action.READ  # a ticket only lets its holder read the live events
    if path == "/api/subscriptions" or path.startswith("/api/subscriptions/"):
        return Action.SUBSCRIBE  # the routes let only admins touch others' subscriptions
    if method in ("GET", "HEAD"):
        return Action.READ
    if path == "/api/uploads" or path.startswith("/api/uploads/"):
        return Action.UPLOAD
    if (
        path.startswith("/api/thresholds")
        or path == "/api/store-settings"
        or path.startswith("/api/layouts/")
    ):
        return Action.THRESHOLDS
    if path == "/api/ordering" or path == "/api/orders" or path.startswith("/api/orders/"):
        return Action.ORDER
    if path.startswith("/api/alerts/") and path.endswith("/ack"):
        return Action.ACKNOWLEDGE
    if path == "/api/mutes":
        return Action.MUTE
    return Action.USERS


class SignInLimiter:
    """After ``limit`` failed sign-ins from a client within ``window`` seconds, each further
    failure waits twice as long as the one before (2 s, 4 s, … up to ``max_delay``).

    Only failures are slowed: a valid token is always taken, whoever shares the address.
    Tokens are 256 bits, so this is not what keeps them from being guessed; it makes a
    leaked, revoked token loud in the logs (and in /metrics) rather than tried for ever.
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        clients: int = 10_000,
        max_delay: float = 300.0,
    ) -> None:
        self.limit = limit
        self.max_delay = max_delay
        self.window = max(window, max_delay)
        self.clients = clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> int:
        """Seconds this client must wait before trying again; 0 when it may."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return 0
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return 0
            delay = min(self.max_delay, 2.0 ** min(len(failures) - self.limit + 1, 16))
            return max(0, math.ceil(delay - (now - failures[-1])))

    def failed(self, client: str) -> None:
        with self._lock:
            if client not in self._failures and len(self._failures) >= self.clients:
                self._failures.pop(next(iter(self._failures)))  # the oldest client goes
            self._failures.setdefault(client, deque()).append(time.monotonic())
