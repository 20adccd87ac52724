"""What each use case is asked to do: one typed command per use case, defined here once.

An entry point (the CLI, the API, the inbox, a Lambda event) builds a command from what it
was given and hands it to the backend or to a use case; nothing in between takes the
options loose. A new upload option is a field of ``Upload``, the code that reads it, and
the entry points that set it: the S3 metadata (``aws.upload_metadata``) is derived from the
fields, and the SQLite columns are mapped in one place (``sqlite.records``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path

from stockwatch.core.thresholds import ThresholdEntry


@dataclass(frozen=True)
class Upload:
    """Take a file in (and load it): its name and how it is to be read.

    ``as_of`` is when its counts were taken (``core.clock.parse_time``'s form; None: when it
    arrives). ``snapshot`` says the file lists every item of the stores it names (None: as
    each store's setting says). ``uploader`` sent it ("" when nobody signed it) and its rows
    may name only the stores of ``scope`` (None: any store).
    """

    filename: str
    strict: bool = False
    as_of: str | None = None
    snapshot: bool | None = None
    uploader: str = ""
    scope: frozenset[str] | None = None
    # How to read a store system's file (``core.layouts``): a layout by name, a column
    # mapping ("store=H,item=H,count=H"), the store of a file with no store column, the
    # sheet of a spreadsheet.
    layout: str | None = None
    columns: str | None = None
    store: str | None = None
    sheet: str | None = None

    def reading(self) -> dict[str, str]:
        """The reading options that were given, as the reader (``InventoryFile``) takes
        them; kept with the upload as one JSON value on SQLite."""
        return {k: getattr(self, k) for k in READING if getattr(self, k)}

    def named(self, filename: str) -> Upload:
        """The same options for a file under another name (a received body's own name)."""
        return replace(self, filename=filename)

    def asked(self) -> dict[str, str]:
        """The options a sender asks for, as text (query parameters of ``POST
        /api/uploads``), those left at their default left out. Who sent it and their stores
        are not asked for: the server knows them from the sign-in."""
        text: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in SIGNED or field.name == "filename" or value == field.default:
                continue
            text[field.name] = str(value).lower() if isinstance(value, bool) else str(value)
        return text


# What the server fills in from the sign-in, never from what a sender asks.
SIGNED = frozenset({"uploader", "scope"})
READING = ("layout", "columns", "store", "sheet")


@dataclass(frozen=True)
class Confirm:
    """Apply a snapshot held for confirmation as it is, whatever it zeroes."""

    upload_id: str
    by: str = ""


@dataclass(frozen=True)
class Discard:
    """Drop a held snapshot: nothing of it is applied, its file and report are kept."""

    upload_id: str
    by: str = ""


@dataclass(frozen=True)
class SetSnapshotDefault:
    """Whether a store's files are full snapshots unless an upload says otherwise.
    ``new``: the store has no stock yet and is expected (else an unknown store is refused)."""

    store: str
    snapshot: bool
    by: str = ""
    new: bool = False


@dataclass(frozen=True)
class SetThresholds:
    """Set (or replace) thresholds and judge the stock they cover at once. ``new``: the
    stores and items named need not exist yet (else an unknown name is refused)."""

    entries: tuple[ThresholdEntry, ...]
    by: str = ""
    new: bool = False

    @classmethod
    def of(
        cls, entries: Iterable[ThresholdEntry], by: str = "", new: bool = False
    ) -> SetThresholds:
        return cls(tuple(entries), by, new)


@dataclass(frozen=True)
class DeleteThreshold:
    store: str
    item: str
    by: str = ""


@dataclass(frozen=True)
class Acknowledge:
    """Someone is dealing with an alert; it stays open until resolved."""

    alert_id: str
    by: str
    note: str | None = None


@dataclass(frozen=True)
class Mute:
    """Leave an item (``*``: a whole store) out of notifications until ``until``."""

    store: str
    item: str
    until: str
    by: str
    note: str | None = None
    new: bool = False  # the store or item need not exist yet


@dataclass(frozen=True)
class Unmute:
    store: str
    item: str
    by: str = ""


@dataclass(frozen=True)
class Validate:
    """Report what ingesting a file would do, keeping nothing. ``path``: the file's own,
    when it has one (a large local file is then read ahead like a stored one)."""

    upload: Upload
    path: Path | None = None


@dataclass(frozen=True)
class AddUser:
    """A person with a role (and, for some roles, stores); their token is shown once."""

    name: str
    role: str
    stores: tuple[str, ...] = ()
    email: str | None = None
    by: str = ""


@dataclass(frozen=True)
class RevokeUser:
    name: str
    by: str = ""


@dataclass(frozen=True)
class RotateToken:
    """A new token for the user; the old one stops working at once."""

    name: str
    by: str = ""


@dataclass(frozen=True)
class Subscribe:
    """An email address or a webhook hears about some stores' (and kinds') alerts."""

    by: str
    email: str | None = None
    webhook: str | None = None
    stores: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unsubscribe:
    subscription_id: str
    by: str = ""
