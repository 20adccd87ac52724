"""The ordering and idempotency rule: which upload's count wins for one (store, item).

Events arrive at least once and in any order, so every write carries the version of the
upload it came from. A backend must apply this rule atomically; the SQLite backend states it
as one set-based SQL statement for speed, and ``tests/test_ordering.py`` checks that
statement against this function on random histories.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

# A version is whatever orders uploads; only comparisons are needed. It is "<as-of>#<upload>":
# when the counts were taken, then the upload's own order of arrival (the zero-padded id on
# one machine, "<S3 event time>#<S3 sequencer + key hash>" on AWS). So an old file loaded
# late orders by the date of its counts, and uploads counted at the same moment by arrival.
Version = TypeVar("Version", int, str)

# Times are ``core.clock.utc_now``'s 24 characters, so versions compare as text.
TIME_WIDTH = 24


def compose_version(as_of: str | None, upload: str) -> str:
    """The version of an upload counted at ``as_of`` (None: when it arrived).

    On AWS an upload's own identity already starts with its arrival time, so without an
    as-of it is the version as it is (rows written before as-of existed compare the same).
    """
    if as_of is None:
        return upload
    return f"{as_of}#{upload}"


def upload_of(version: str) -> str:
    """The upload a version came from: what follows the as-of, when there is one."""
    head, sep, rest = version.partition("#")
    if sep and len(head) == TIME_WIDTH and rest.count("#") >= 1:
        return rest
    return version


def as_of_of(version: str) -> str:
    """When the counts of a version were taken (its leading time)."""
    return version[:TIME_WIDTH]


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
