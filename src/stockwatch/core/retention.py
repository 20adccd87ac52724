"""How long stored files and full history are kept; older history is thinned, not dropped.

Reports and alerts are always kept: they are small and they are the record. Stored files
are the bulk; full history (every change) is the next. History older than
``keep_history_days`` is thinned to one point per item per day — the day's last count —
which is all a chart of old months or the forecast (``core.forecast``, which looks back at
most ``MAX_AGE_DAYS``) needs; so history is never thinned closer than ``MIN_HISTORY_DAYS``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockwatch.core.forecast import MAX_AGE_DAYS

MIN_HISTORY_DAYS = math.ceil(MAX_AGE_DAYS) + 6  # 90: the forecast's window, and a margin


@dataclass(frozen=True)
class Retention:
    keep_files_days: int = 400  # a year of files, and a month over for late questions
    keep_history_days: int = MIN_HISTORY_DAYS

    @classmethod
    def from_env(cls) -> Retention:
        """``STOCKWATCH_KEEP_FILES_DAYS`` and ``STOCKWATCH_KEEP_HISTORY_DAYS``."""
        files = int(os.environ.get("STOCKWATCH_KEEP_FILES_DAYS", cls.keep_files_days))
        history = int(os.environ.get("STOCKWATCH_KEEP_HISTORY_DAYS", cls.keep_history_days))
        if files < 1:
            raise ValueError("STOCKWATCH_KEEP_FILES_DAYS must be at least 1 day")
        if history < MIN_HISTORY_DAYS:
            raise ValueError(
                f"STOCKWATCH_KEEP_HISTORY_DAYS must be at least {MIN_HISTORY_DAYS}: the"
                " forecast reads that far back"
            )
        return cls(files, history)

    def cutoffs(self, now: datetime) -> tuple[str, str]:
        """(files received before this go, history counted before this is thinned)."""

        def text(moment: datetime) -> str:
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        return (
            text(now - timedelta(days=self.keep_files_days)),
            text(now - timedelta(days=self.keep_history_days)),
        )
