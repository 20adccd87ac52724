"""The folder object store: uploaded files kept exactly as received, under ``objects/``."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from stockwatch.core.ports import StoredObject
from stockwatch.core.reader import Readable

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class ObjectTooLarge(Exception):
    pass


def safe_filename(name: str) -> str:
    """A display-safe base name: no directories, no control characters, never empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:120]
    return base or "upload.csv"


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
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with open(partial, "wb") as out:
                while block := source.read(1024 * 1024):
                    size += len(block)
                    if size > max_bytes:
                        raise ObjectTooLarge(
                            f"the file is larger than the limit of {max_bytes:,} bytes "
                            "(STOCKWATCH_MAX_FILE_BYTES)"
                        )
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredObject(key, size, digest.hexdigest())

    def path_of(self, key: str) -> Path:
        return self._path(key)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
