"""An upload's command as S3 object metadata, and back: encoded and decoded here only.

S3 keeps what an upload asked for (``service.commands.Upload``) as the object's user
metadata (``x-amz-meta-stockwatch-strict: true``), because a file may be put into the
bucket by anyone with the command line, the console or a signed form, and LoadInventory
reads it when it opens the object. Every field of the command but its file name is a key
``stockwatch-<field>`` derived from the field's name, so a new upload option needs nothing
here. Metadata travels in HTTP headers, so lists are JSON with ASCII escapes.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from stockwatch.core.clock import BadTime, parse_time
from stockwatch.service.commands import Upload

PREFIX = "stockwatch-"
# Field names whose key is not derived from the name (kept as they were published).
KEYS = {"scope": "stores"}
TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")
AS_OF_METADATA = PREFIX + "as-of"
SNAPSHOT_METADATA = PREFIX + "snapshot"
STORES_METADATA = PREFIX + "stores"


class BadMetadata(ValueError):
    """A metadata value that does not say what its key asks; the message names the key."""


def _key(name: str) -> str:
    return PREFIX + KEYS.get(name, name).replace("_", "-")


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, frozenset):
        return json.dumps(sorted(value))
    return str(value)


def encode(command: Upload) -> dict[str, str]:
    """The object's metadata for ``command``: a key per option that is not its default."""
    metadata: dict[str, str] = {}
    for field in fields(command):
        value = getattr(command, field.name)
        if field.name != "filename" and value != field.default:  # absent: the default
            metadata[_key(field.name)] = _encode(value)
    return metadata


def _decode(key: str, default: Any, text: str) -> Any:
    if isinstance(default, bool) or key == SNAPSHOT_METADATA:
        flag = text.strip().lower()
        if flag in TRUE:
            return True
        if flag in FALSE:
            return False
        return default  # not a yes or no: as if it were absent
    if key == AS_OF_METADATA:
        try:
            return parse_time(text)
        except BadTime as exc:
            raise BadMetadata(f"its {key} metadata: {exc}") from None
    if key == STORES_METADATA:
        try:
            stores = json.loads(text)
        except ValueError:
            stores = None
        if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
            raise BadMetadata(f"its {key} metadata: not a JSON list of store names")
        return frozenset(stores)
    return text


def decode(filename: str, metadata: dict[str, str]) -> Upload:
    """The command an object's metadata carries; raises BadMetadata for a bad value."""
    command = Upload(filename)
    values: dict[str, Any] = {}
    for field in fields(command):
        key = _key(field.name)
        if field.name != "filename" and key in metadata:
            values[field.name] = _decode(key, getattr(command, field.name), metadata[key])
    return replace(command, **values)
