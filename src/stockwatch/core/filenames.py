"""Upload file names: kept for display only, never trusted as paths."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str) -> str:
    """A display-safe base name: no directories, no control characters, never empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:120]
    return base or "upload.csv"
