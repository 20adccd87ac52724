"""The console channel: the digest written to the log stream (stderr by default)."""

from __future__ import annotations

import sys
from typing import TextIO

from stockwatch.core.digest import Digest


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, digest: Digest, idempotency_key: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(f"{digest.subject}\n{digest.text}\n\n")
        stream.flush()


class ReportedChannel(ConsoleChannel):
    """The console of a CLI command: the command's own report already lists what was
    raised, so the digest is taken as delivered without being printed a second time."""

    def send(self, digest: Digest, idempotency_key: str) -> None:
        return None
