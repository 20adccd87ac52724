"""How long stored files and full history are kept; older history is thinned, not dropped.

Reports and alerts are always kept: they are small and they are the record. Stored files
are the bulk; full history (every change) is the next. History older than
``keep_history_days`` keeps one point per item per step — the step's last count — which is
all a chart of old months needs, and the forecast (``core.forecast``) never looks back
past ``MAX_AGE_DAYS``; so history is never thinned closer than ``MIN_HISTORY_DAYS``.

The step is a month by default. With one file a day each item changes at most once a day,
so "one point a day" would keep everything and the history would grow by a full day of
changes every day for ever; a point a month keeps a year's history of 400,000 items to
about 5 million small rows. ``day`` and ``week`` are there for those who want finer old
history and have the disk for it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from stockwatch.core.clock import from_epoch_ms, parse_utc
from stockwatch.core.forecast import MAX_AGE_DAYS

MIN_HISTORY_DAYS = math.ceil(MAX_AGE_DAYS) + 6  # 62: the forecast's window, and a margin
HISTORY_STEPS = ("day", "week", "month")
# Changes stay this long in the table every upload writes to (sqlite ``changes``), then move
# to the history, which only retention writes: an upload's cost then does not grow with
# the length of the full history.
RECENT_DAYS = 7


EVERY = timedelta(days=1)


def due(last_run: str | None, now: datetime) -> bool:
    """Retention runs once a day, counted from its last run, not from a server's start."""
    return last_run is None or now - parse_utc(last_run) >= EVERY


class Cutoffs(NamedTuple):
    """Times in ``core.clock`` form: what was received or counted before each one moves on."""

    files: str  # stored files received before this are removed
    recent: str  # changes counted before this leave the change table for the history
    history: str  # history counted before this is thinned to one point per step


@dataclass(frozen=True)
class Retention:
    keep_files_days: int = 400  # a year of files, and a month over for late questions
    keep_history_days: int = 90  # a quarter, which a manager compares with the last one
    history_step: str = "month"

    def __post_init__(self) -> None:
        if self.keep_files_days < 1:
            raise ValueError("STOCKWATCH_KEEP_FILES_DAYS must be at least 1 day")
        if self.keep_history_days < MIN_HISTORY_DAYS:
            raise ValueError(
                f"STOCKWATCH_KEEP_HISTORY_DAYS must be at least {MIN_HISTORY_DAYS}: the"
                " forecast reads that far back"
            )
        if self.history_step not in HISTORY_STEPS:
            raise ValueError(
                f"STOCKWATCH_HISTORY_STEP must be one of {', '.join(HISTORY_STEPS)},"
                f" not {self.history_step!r}"
            )

    @classmethod
    def from_env(cls) -> Retention:
        """``STOCKWATCH_KEEP_FILES_DAYS``, ``…_KEEP_HISTORY_DAYS`` and ``…_HISTORY_STEP``."""
        env = os.environ.get
        try:
            files = int(env("STOCKWATCH_KEEP_FILES_DAYS", cls.keep_files_days))
            history = int(env("STOCKWATCH_KEEP_HISTORY_DAYS", cls.keep_history_days))
        except ValueError as exc:
            raise ValueError(f"the retention days must be whole numbers: {exc}") from None
        step = env("STOCKWATCH_HISTORY_STEP", cls.history_step).strip().lower()
        return cls(files, history, step)

    def cutoffs(self, now: datetime) -> Cutoffs:
        def text(days: int) -> str:
            moment = now - timedelta(days=days)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        return Cutoffs(text(self.keep_files_days), text(RECENT_DAYS), text(self.keep_history_days))

    def step_of(self, counted_at: str) -> str:
        """The step a count taken at ``counted_at`` (ISO 8601, UTC) is thinned into."""
        if self.history_step == "month":
            return counted_at[:7]
        if self.history_step == "day":
            return counted_at[:10]
        year, week, _ = datetime.fromisoformat(counted_at[:10]).isocalendar()
        return f"{year}-W{week:02d}"


class OldPoint(NamedTuple):
    """A point of thinned history: the count an item had, and where it came from."""

    counted: int  # ms since the epoch (``core.clock.epoch_ms``)
    seq: int  # the change it was: orders counts taken at one moment
    amount: int  # the count
    upload_id: int


def thin(retention: Retention, points: Iterable[OldPoint]) -> list[OldPoint]:
    """Each step's last point (by when it was counted, then by change), oldest first."""
    last: dict[str, OldPoint] = {}
    for point in points:
        step = retention.step_of(from_epoch_ms(point.counted))
        kept = last.get(step)
        if kept is None or (point.counted, point.seq) > (kept.counted, kept.seq):
            last[step] = point
    return sorted(last.values())
