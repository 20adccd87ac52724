"""Limits on what one inventory file may contain.

Every limit exists so that a hostile or broken file produces a clear error instead of an
unbounded allocation. The defaults are generous for real stores and small for attackers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 1024 * MiB
    max_line_bytes: int = 64 * 1024
    max_field_chars: int = 200
    max_rows: int = 20_000_000
    max_columns: int = 50
    max_count: int = 10**12
    max_errors_reported: int = 1_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Read overrides such as ``STOCKWATCH_MAX_FILE_BYTES=1000000`` from the environment."""
        env = os.environ if environ is None else environ
        limits = cls()
        for f in fields(cls):
            raw = env.get(f"STOCKWATCH_{f.name.upper()}")
            if raw is None:
                continue
            try:
                value = int(raw.replace("_", ""))
            except ValueError:
                raise ValueError(
                    f"STOCKWATCH_{f.name.upper()}={raw!r} is not a whole number"
                ) from None
            if value <= 0:
                raise ValueError(f"STOCKWATCH_{f.name.upper()} must be greater than 0")
            limits = replace(limits, **{f.name: value})
        return limits
