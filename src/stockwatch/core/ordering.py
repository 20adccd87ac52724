"""The ordering and idempotency rule: which upload's count wins for one (store, item).

Events arrive at least once and in any order, so every write carries the version of the
upload it came from. A backend must apply this rule atomically; the SQLite backend states it
as one set-based SQL statement for speed, and ``tests/test_ordering.py`` checks that
statement against this function on random histories.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

# A version is whatever orders uploads: the upload id on one machine, "<S3 event time>#<S3
# sequencer>" on AWS. Only comparisons are needed.
Version = TypeVar("Version", int, str)


class Outcome(Enum):
    INSERT = "insert"  # first time this item is seen: stored and fed
    CHANGE = "change"  # a newer upload with a different count: stored and fed
    CONFIRM = "confirm"  # a newer upload with the same count: only the version moves on
    REPEAT = "repeat"  # this very upload already set the row (a duplicate line)
    STALE = "stale"  # a newer upload already set the row: nothing happens


def decide(
    current_count: int | None,
    current_version: Version | None,
    incoming_count: int,
    incoming_version: Version,
) -> Outcome:
    """Decide what an incoming row does to the stored row.

    CONFIRM moves the version forward without feeding a change, so that a late, older upload
    cannot overwrite a count that a newer upload asserted, even when it asserted the same
    value that was already there.
    """
    if current_count is None or current_version is None:
        return Outcome.INSERT
    if incoming_version < current_version:
        return Outcome.STALE
    if incoming_version == current_version:
        return Outcome.REPEAT
    if incoming_count == current_count:
        return Outcome.CONFIRM
    return Outcome.CHANGE


def writes_row(outcome: Outcome) -> bool:
    return outcome in (Outcome.INSERT, Outcome.CHANGE, Outcome.CONFIRM)


def feeds_change(outcome: Outcome) -> bool:
    return outcome in (Outcome.INSERT, Outcome.CHANGE)
