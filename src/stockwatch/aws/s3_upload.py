"""An S3 upload as an event names it, and the hand-over message that carries one on.

Kept apart from the loader so that taking an event apart (``aws.events``) imports nothing
of botocore: LoadInventory's handler module stays light, and the clients are made on the
first invocation, as CheckStock's are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from stockwatch.aws.store_marks import FileRef


@dataclass(frozen=True)
class S3Upload:
    bucket: str
    key: str
    sequencer: str
    event_time: str
    version_id: str | None = None
    confirmed: bool = False  # a held snapshot someone confirmed (a hand-over asks for it)

    @property
    def version(self) -> str:
        """``<event time>#<sequencer>`` plus a hash of the key: an upload's identity.

        Hex sequencers of one key compare as numbers once left-padded to one width. The
        key's hash tells apart two files whose events carry the same time and the same (or
        no) sequencer, and leaves the order of one key's uploads as it was.
        """
        return make_version(self.event_time, self.sequencer, f"{self.bucket}/{self.key}")

    @property
    def ref(self) -> FileRef:
        return FileRef(self.bucket, self.key, self.version_id or "")


def make_version(event_time: str, sequencer: str, name: str) -> str:
    digest = hashlib.blake2b(name.encode(), digest_size=6).hexdigest()
    return f"{event_time}#{sequencer.rjust(32, '0')}{digest}"


def continued_upload(body: str) -> S3Upload | None:
    """The upload a hand-over message asks to carry on, or None for any other message."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("stockwatch") != "continue":
        return None
    return S3Upload(**data["upload"])
