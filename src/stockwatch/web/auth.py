"""The stockwatch token: from STOCKWATCH_TOKEN or a ``token`` file in the data directory."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def load_token(data_dir: Path) -> str | None:
    token = os.environ.get("STOCKWATCH_TOKEN", "").strip()
    if token:
        return token
    path = data_dir / "token"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    return None


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
