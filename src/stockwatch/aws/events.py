"""What LoadInventory is asked to load, from any of the events that can reach it.

S3 notifications come straight from the bucket; hand-overs of long uploads come through
LoadInventory's own queue; failed events come back, for a replay, from its on-failure
destination, wrapped in Lambda's envelope. Each is taken apart here, once, for the handler
and for ``stockwatch --backend aws replay`` alike. Anything that is not a created object
with the configured suffix is skipped with a reason, never loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from stockwatch.aws.s3_upload import S3Upload, continued_upload


@dataclass(frozen=True)
class Skipped:
    what: str
    why: str


@dataclass
class Wanted:
    uploads: list[S3Upload]
    skipped: list[Skipped]


# Spreadsheets are uploads too, whatever suffix the CSV files are given.
SPREADSHEETS = (".xlsx", ".xls", ".ods")


def from_s3_record(record: dict[str, Any], suffix: str) -> S3Upload | Skipped:
    name = str(record.get("eventName", ""))
    s3 = record.get("s3") or {}
    obj = s3.get("object") or {}
    key = unquote_plus(str(obj.get("key", "")))  # keys arrive URL-encoded ("+" a space)
    if not name.startswith("ObjectCreated:"):
        return Skipped(key or "(no key)", f"{name or 'an event with no name'} is not an upload")
    if not key.lower().endswith((suffix.lower(), *SPREADSHEETS)):
        return Skipped(
            key or "(no key)", f"the key does not end with {suffix} or {', '.join(SPREADSHEETS)}"
        )
    return S3Upload(
        bucket=str((s3.get("bucket") or {}).get("name", "")),
        key=key,
        # Some S3-compatible servers send no sequencer: the event time orders alone.
        sequencer=str(obj.get("sequencer", "")),
        event_time=str(record.get("eventTime", "")),
        version_id=obj.get("versionId"),
    )


def wanted(event: dict[str, Any], suffix: str = ".csv") -> Wanted:
    """The uploads an event asks for, in order, and what it held that is not one."""
    found = Wanted([], [])
    records = event.get("Records")
    if not isinstance(records, list):
        payload = event.get("requestPayload")  # Lambda's on-failure envelope
        if isinstance(payload, dict):
            return wanted(payload, suffix)
        found.skipped.append(Skipped("the event", "it has no Records"))
        return found
    for record in records:
        if not isinstance(record, dict):
            found.skipped.append(Skipped("a record", "it is not an object"))
            continue
        source = record.get("eventSource")
        if source == "aws:s3":
            taken = from_s3_record(record, suffix)
            if isinstance(taken, Skipped):
                found.skipped.append(taken)
            else:
                found.uploads.append(taken)
        elif source == "aws:sqs":
            _from_message(str(record.get("body", "")), suffix, found)
        elif record.get("eventName") == "s3:TestEvent" or record.get("Event") == "s3:TestEvent":
            found.skipped.append(Skipped("s3:TestEvent", "S3's test message"))
        else:
            found.skipped.append(Skipped("a record", f"unknown event source {source!r}"))
    return found


def from_message(body: str, suffix: str = ".csv") -> Wanted:
    """What one SQS message asks for: a hand-over, an S3 notification, a failed event."""
    found = Wanted([], [])
    _from_message(body, suffix, found)
    return found


def _from_message(body: str, suffix: str, found: Wanted) -> None:
    upload = continued_upload(body)
    if upload is not None:
        found.uploads.append(upload)
        return
    try:
        inner = json.loads(body)
    except ValueError:
        found.skipped.append(Skipped("a message", "its body is not JSON"))
        return
    if isinstance(inner, dict):
        nested = wanted(inner, suffix)  # an S3 notification, or a failed event's envelope
        found.uploads += nested.uploads
        found.skipped += nested.skipped
    else:
        found.skipped.append(Skipped("a message", "its body is not an event"))
