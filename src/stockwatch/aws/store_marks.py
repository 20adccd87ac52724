"""Per-store marks: which uploads touched a store, so a late upload can find out it is late.

An upload that only *confirms* counts writes nothing to the inventory table (an unchanged
file costs no write units, whatever its key), so the rows cannot tell that a newer upload
asserted them. Instead, before an upload reads a store's rows it marks the store:

- ``STOREMARK#<store>`` / ``LATEST`` holds the newest version that has marked the store;
- ``STOREMARK#<store>`` / ``UP#<version>`` names the file of each upload that did.

Every write of a row carries a ``ConditionCheck`` that the store's ``LATEST`` is still the
version this upload expects (its own, or the newest it has already looked at). A newer
upload that marked the store meanwhile cancels the write; the late upload then reads what
each newer upload of that store said (its stored file, streamed from S3) and leaves alone
every item one of them asserted. Late uploads are rare, so only they pay for this.

``LATEST`` also says whether the store's record (``core.store_record``, kept in S3) can be
trusted: its ``Record`` attribute names the upload whose record it is, and only an upload
that finds ``Version`` and ``Record`` both at its record's version -- nothing has written
the store since -- diffs against it. Any other mark removes ``Record``; so does the stream
handler when another program writes a row of the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws.batch_get import batch_get
from stockwatch.aws.upload_metadata import BadMetadata, decode
from stockwatch.core import layouts
from stockwatch.core.limits import Limits
from stockwatch.core.reader import FileRejected, InventoryFile

PK = "STOREMARK#"
LATEST = "LATEST"
# Stores marked per TransactWriteItems (two items each; a transaction takes 100).
MARK_BATCH = 50


@dataclass(frozen=True)
class FileRef:
    """Where an upload's file is kept; an empty bucket means it was never in S3."""

    bucket: str
    key: str
    version_id: str = ""


def confirmed_versions(dynamodb: Any, state_table: str, stores: Iterable[str]) -> dict[str, str]:
    """The version of each store's last upload whose record stands: its unchanged rows
    were counted then, though an unchanged row is not written. One BatchGetItem per 100
    stores; a store without a standing record is left out."""
    marks = batch_get(
        dynamodb,
        state_table,
        [{"pk": {"S": f"{PK}{s}"}, "sk": {"S": LATEST}} for s in sorted(set(stores))],
        {"ProjectionExpression": "pk, #v, #r",
         "ExpressionAttributeNames": {"#v": "Version", "#r": "Record"}},
    )  # fmt: skip
    return {
        m["pk"]["S"][len(PK) :]: m["Version"]["S"]
        for m in marks
        if "Version" in m and m.get("Record") == m["Version"]
    }


def forget_record(dynamodb: Any, state_table: str, store: str) -> None:
    """LATEST stops vouching for the store's record (the stream saw another program write
    one of its rows, or an upload wrote the store twice)."""
    try:
        dynamodb.update_item(
            TableName=state_table,
            Key={"pk": {"S": f"{PK}{store}"}, "sk": {"S": LATEST}},
            UpdateExpression="REMOVE #r",
            ConditionExpression="attribute_exists(#r)",
            ExpressionAttributeNames={"#r": "Record"},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


class EverythingAsserted(Exception):
    """A newer upload's file cannot be read: assume it asserted every item (keep its rows)."""


class StoreMarks:
    def __init__(self, dynamodb: Any, state_table: str, s3: Any, limits: Limits) -> None:
        self.dynamodb = dynamodb
        self.table = state_table
        self.s3 = s3
        self.limits = limits
        self.requests = 0
        # (version, store) -> the items that upload gave for the store; None: unreadable
        self._asserted: dict[tuple[str, str], frozenset[str] | None] = {}

    def _key(self, store: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": f"{PK}{store}"}, "sk": {"S": sk}}

    def mark(
        self,
        stores: Iterable[str],
        version: str,
        ref: FileRef,
        records: dict[str, str] | None = None,
    ) -> tuple[set[str], set[str]]:
        """Mark each store with this upload.

        ``records`` maps a store to the version of the record this upload would like to
        trust (``core.store_record``). The record stands only if the store's ``LATEST`` is
        that version and says it holds that record: no other upload, nor another program,
        has written the store since. Returns the stores a newer upload marked first (late)
        and the stores whose record stands.
        """
        records = records or {}
        pending = sorted(set(stores))
        late: set[str] = set()
        trusted: set[str] = set()
        for start in range(0, len(pending), MARK_BATCH):
            batch = pending[start : start + MARK_BATCH]
            wanted = {s: records[s] for s in batch if s in records}
            batch_late, batch_trusted = self._mark_batch(batch, version, ref, wanted)
            late |= batch_late
            trusted |= batch_trusted
        return late, trusted

    def _entry(self, store: str, version: str, ref: FileRef) -> dict[str, Any]:
        item = {
            **self._key(store, f"UP#{version}"),
            "bucket": {"S": ref.bucket},
            "key": {"S": ref.key},
        }
        if ref.version_id:
            item["version_id"] = {"S": ref.version_id}
        return {"Put": {"TableName": self.table, "Item": item}}

    def _raise_latest(self, store: str, version: str) -> dict[str, Any]:
        """LATEST moves on to ``version`` and no longer vouches for any record."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(store, LATEST),
                "UpdateExpression": "SET #v = :v REMOVE #r",
                "ConditionExpression": "attribute_not_exists(#v) OR #v <= :v",
                "ExpressionAttributeNames": {"#v": "Version", "#r": "Record"},
                "ExpressionAttributeValues": {":v": {"S": version}},
            }
        }

    def _carry_record(self, store: str, version: str, record: str) -> dict[str, Any]:
        """LATEST moves on from the record's own upload, and vouches for this upload's
        record, which will be written once the store's rows are."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(store, LATEST),
                "UpdateExpression": "SET #v = :v, #r = :v",
                "ConditionExpression": "#v = :prev AND #r = :prev",
                "ExpressionAttributeNames": {"#v": "Version", "#r": "Record"},
                "ExpressionAttributeValues": {":v": {"S": version}, ":prev": {"S": record}},
            }
        }

    def _mark_batch(
        self, stores: list[str], version: str, ref: FileRef, records: dict[str, str]
    ) -> tuple[set[str], set[str]]:
        late: set[str] = set()
        wanted = dict(records)
        todo = list(stores)
        while todo:
            items = []
            for store in todo:
                items.append(self._entry(store, version, ref))
                if store in late:
                    continue
                if store in wanted:
                    items.append(self._carry_record(store, version, wanted[store]))
                else:
                    items.append(self._raise_latest(store, version))
            self.requests += 1
            try:
                self.dynamodb.transact_write_items(TransactItems=items)
                return late, set(wanted)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                failed = {
                    items[n]["Update"]["Key"]["pk"]["S"][len(PK) :]
                    for n, r in enumerate(reasons)
                    if r.get("Code") == "ConditionalCheckFailed" and "Update" in items[n]
                }
                if not failed and not any(
                    r.get("Code") in ("TransactionConflict", "ThrottlingError") for r in reasons
                ):
                    raise
                # A record that does not stand is simply not used: mark the store plainly.
                # A plain mark that fails means a newer upload marked it first: only add
                # our entry.
                late |= {s for s in failed if s not in wanted}
                for store in failed & wanted.keys():
                    del wanted[store]
        return late, set(wanted)

    def vouch(self, store: str, version: str) -> bool:
        """LATEST vouches for the record ``version`` just wrote, if it is still the newest
        upload of the store (one request; only a store that had no record pays it)."""
        self.requests += 1
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self._key(store, LATEST),
                UpdateExpression="SET #r = :v",
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "Version", "#r": "Record"},
                ExpressionAttributeValues={":v": {"S": version}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def forget(self, store: str) -> None:
        """The store's rows were written by something that does not keep its record: its
        record stands no more."""
        forget_record(self.dynamodb, self.table, store)
        self.requests += 1

    def check(self, store: str, expected: str) -> dict[str, Any]:
        """The ConditionCheck a row write of ``store`` carries."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": self._key(store, LATEST),
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "Version"},
                "ExpressionAttributeValues": {":v": {"S": expected}},
            }
        }

    def newer(self, store: str, version: str) -> tuple[str, list[tuple[str, FileRef]]]:
        """The uploads of ``store`` newer than ``version``, and the newest version among them."""
        found: list[tuple[str, FileRef]] = []
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND sk > :v",
            ExpressionAttributeValues={
                ":p": {"S": f"{PK}{store}"},
                ":v": {"S": f"UP#{version}"},
            },
            ConsistentRead=True,
        )
        for page in pages:
            self.requests += 1
            for item in page["Items"]:
                sk = item["sk"]["S"]
                if not sk.startswith("UP#"):
                    continue
                ref = FileRef(
                    item["bucket"]["S"],
                    item["key"]["S"],
                    item.get("version_id", {}).get("S", ""),
                )
                found.append((sk[3:], ref))
        latest = max((v for v, _ in found), default=version)
        return latest, found

    def asserted(self, store: str, uploads: list[tuple[str, FileRef]]) -> frozenset[str] | None:
        """The items that any of ``uploads`` gave for ``store``; None: assume all of them."""
        items: set[str] = set()
        for version, ref in uploads:
            key = (version, store)
            if key not in self._asserted:
                self._asserted[key] = self._read_items(ref, store)
            found = self._asserted[key]
            if found is None:
                return None
            items |= found
        return frozenset(items)

    def _read_items(self, ref: FileRef, store: str) -> frozenset[str] | None:
        """Stream the stored file and keep the item names it gives for one store.

        Memory grows with that one store's items, not with the file.
        """
        if not ref.bucket:
            return None
        extra = {"VersionId": ref.version_id} if ref.version_id else {}
        try:
            found = self.s3.get_object(Bucket=ref.bucket, Key=ref.key, **extra)
        except ClientError:
            return None
        body = found["Body"]
        try:  # read as that upload was: its layout, columns and store
            reading = decode(ref.key, found.get("Metadata") or {}).reading()
        except BadMetadata:
            reading = None
        if reading is None or layouts.wants_saved(reading):
            body.close()  # unreadable, or a saved mapping that may have changed since:
            return None  # assume it asserted everything
        items: set[str] = set()
        try:
            for chunk in InventoryFile(body, self.limits, reading=reading).chunks(5000):
                items.update(row[2] for row in chunk if row[1] == store)
        except FileRejected:
            return frozenset()  # a rejected file asserted nothing
        return frozenset(items)
