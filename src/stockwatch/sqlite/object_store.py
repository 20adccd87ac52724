"""The folder object store: uploaded files kept exactly as received, under ``objects/``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from stockwatch.core.filenames import safe_filename
from stockwatch.core.ports import ObjectTooLarge, StoredObject
from stockwatch.core.reader import Readable


def _private_dirs(folder: Path) -> None:
    """``mkdir -p`` with every folder it creates 0700 (``parents=True`` would not)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another writer made it meanwhile
            each.mkdir(mode=0o700)


class ObjectWriter:
    """Writes ``<key>.part``, enforcing the size limit; ``commit`` publishes it atomically."""

    def __init__(self, key: str, path: Path, max_bytes: int) -> None:
        self.key = key
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        self._partial = path.with_name(path.name + ".part")
        # Private (0600): inventory files are the chain's business, not every local user's.
        descriptor = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._out: BinaryIO = os.fdopen(descriptor, "wb")
        self._digest = hashlib.sha256()

    def write(self, block: bytes) -> None:
        self.size += len(block)
        if self.size > self.max_bytes:
            self.abort()
            raise ObjectTooLarge(
                f"the file is larger than the limit of {self.max_bytes:,} bytes "
                "(STOCKWATCH_MAX_FILE_BYTES)"
            )
        self._digest.update(block)
        self._out.write(block)

    def commit(self) -> StoredObject:
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self._partial, self.path)
        return StoredObject(self.key, self.size, self._digest.hexdigest())

    def abort(self) -> None:
        if not self._out.closed:
            self._out.close()
        self._partial.unlink(missing_ok=True)


class FolderObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def new_key(self, filename: str) -> str:
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        return f"uploads/{day}/{uuid.uuid4().hex}/{safe_filename(filename)}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key {key!r} escapes the object store")
        return path

    def put(self, key: str, source: Readable, max_bytes: int) -> StoredObject:
        """Copy the stream in blocks, hashing as it goes; publish it only when complete."""
        writer = self.writer(key, max_bytes)
        try:
            while block := source.read(1024 * 1024):
                writer.write(block)
        except BaseException:
            writer.abort()
            raise
        return writer.commit()

    def writer(self, key: str, max_bytes: int) -> ObjectWriter:
        """An object written piece by piece (an HTTP body as it arrives)."""
        path = self._path(key)
        _private_dirs(path.parent)
        return ObjectWriter(key, path, max_bytes)

    def discard(self, key: str) -> None:
        """Remove an object kept a moment ago that will not be registered (the inbox's copy
        of a file that changed while it was read)."""
        self._path(key).unlink(missing_ok=True)

    def path_of(self, key: str) -> Path:
        return self._path(key)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")


__all__ = ["FolderObjectStore", "ObjectTooLarge", "ObjectWriter", "safe_filename"]
