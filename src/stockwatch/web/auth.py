"""The stockwatch token: from STOCKWATCH_TOKEN or a ``token`` file in the data directory."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

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


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
