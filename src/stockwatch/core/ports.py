"""The small interfaces the core needs from a backend, beyond ``InventoryWriter``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stockwatch.core.digest import Digest
from stockwatch.core.reader import Readable


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    """Where uploaded files are kept exactly as received."""

    def put(self, key: str, source: Readable, max_bytes: int) -> StoredObject: ...

    def open(self, key: str) -> Readable: ...


class DeliveryError(Exception):
    """A channel could not deliver now; the outbox retries later."""


class AlertChannel(Protocol):
    """Somewhere a digest is sent: the log, a webhook, later email and SNS."""

    name: str

    def send(self, digest: Digest, idempotency_key: str) -> None: ...
