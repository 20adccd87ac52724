"""A store's last counts, kept as one small object, so a re-upload reads only what changed.

On DynamoDB every row read costs a request share and a read unit, so diffing a file row by
row against the table costs as much as loading it. A record holds the counts one upload
left for a store (the items its file listed, name -> count) and that upload's version. A
backend trusts it only while nothing else has written the store since that upload (on AWS
the store's mark says so, see ``aws/store_marks.py``); a trusted record answers "is this
count the one already stored?" for every item it holds, and only the rows it cannot answer
for go through the ordering rule against the table.

The record is a gzip'd JSON object: small (a 10,000-item store is tens of KB), readable
with standard tools, and a corrupt or foreign one is simply not trusted.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field

RECORD_FORMAT = 1


@dataclass
class StoreRecord:
    store: str
    version: str
    counts: dict[str, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        body = {
            "format": RECORD_FORMAT,
            "store": self.store,
            "version": self.version,
            "counts": self.counts,
        }
        return gzip.compress(json.dumps(body, separators=(",", ":")).encode(), mtime=0)

    @classmethod
    def decode(cls, data: bytes, store: str) -> StoreRecord | None:
        """None for anything that is not this store's record in this format."""
        try:
            body = json.loads(gzip.decompress(data))
        except (OSError, EOFError, ValueError):
            return None
        if not isinstance(body, dict) or body.get("format") != RECORD_FORMAT:
            return None
        counts = body.get("counts")
        if body.get("store") != store or not isinstance(counts, dict):
            return None
        if not all(isinstance(v, int) for v in counts.values()):
            return None
        return cls(store, str(body.get("version", "")), counts)


def record_key(prefix: str, store: str) -> str:
    """Store names are free text: the key is a digest of the name, the same for any name."""
    digest = hashlib.sha256(store.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}{digest[:40]}.json.gz"


@dataclass
class OpenRecord:
    """What one upload learns of a store's counts while it reads the store's rows.

    ``base`` is the trusted record the upload started from (None: it started from
    nothing); ``seen`` the counts this upload's file left (written or confirmed); ``clean``
    turns False when a row of the store was not left at the file's count (older than what
    is stored, a repeat, a newer upload's): its record would not be exact.

    The new record holds only the items of this file, not the base's others: an upload
    that arrives late leaves alone exactly the items a newer file listed, so those are the
    only counts that stay known whatever arrives late.
    """

    store: str
    base: StoreRecord | None
    seen: dict[str, int] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)
    clean: bool = True

    def known(self, item: str, count: int) -> bool:
        """The trusted record says the table already holds this count (and this upload
        has not written the item: a second row for it must meet the ordering rule)."""
        if self.base is None or item in self.written:
            return False
        if self.base.counts.get(item) != count:
            return False
        self.seen[item] = count
        return True

    def left(self, item: str, count: int, written: bool) -> None:
        self.seen[item] = count
        if written:
            self.written.add(item)

    def result(self, version: str) -> StoreRecord:
        return StoreRecord(self.store, version, self.seen)
