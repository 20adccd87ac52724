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


class ObjectTooLarge(Exception):
    """An object grew past the size limit while being written."""


class ObjectSink(Protocol):
    """An object being written block by block as it arrives (an HTTP body)."""

    size: int

    def write(self, block: bytes) -> None:
        """Raises ObjectTooLarge once the limit is passed."""
        ...

    def commit(self) -> StoredObject: ...

    def abort(self) -> None: ...


class UploadTarget(Protocol):
    """Where the web app puts a received file."""

    def new_key(self, filename: str) -> str: ...

    def writer(self, key: str, max_bytes: int) -> ObjectSink: ...


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
