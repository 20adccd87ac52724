"""Mutes as items of the state table (partition ``MUTES``), read once per run."""

from __future__ import annotations

from typing import Any

from stockwatch.aws.partition import items_in
from stockwatch.core.mutes import Mutes, active
from stockwatch.core.rows import MuteRow

MUTES = "MUTES"


class MuteItems:
    """What an alert store keeps of mutes; a write drops the copy read this run."""

    dynamodb: Any
    table: str
    _mutes: list[tuple[str, str, str]] | None

    def mutes(self, now: str) -> Mutes:
        """The mutes in force (one Query of the ``MUTES`` partition, kept for this run)."""
        if self._mutes is None:
            self._mutes = [(m.store, m.item, m.until) for m in self.mute_rows()]
        return active(self._mutes, now)

    def mute_rows(self) -> list[MuteRow]:
        rows = []
        for item in items_in(self.dynamodb, self.table, MUTES):
            store, name = item["sk"]["S"].split("\x1f", 1)
            rows.append(
                MuteRow(
                    store,
                    name,
                    item["until"]["S"],
                    item.get("muted_by", {}).get("S", ""),
                    item.get("note", {}).get("S"),
                    item.get("created_at", {}).get("S", ""),
                )
            )
        return sorted(rows, key=lambda m: (m.store, m.item))

    def set_mute(
        self, store: str, item: str, until: str, by: str, note: str | None, now: str
    ) -> None:
        entry = {
            "pk": {"S": MUTES},
            "sk": {"S": f"{store}\x1f{item}"},
            "until": {"S": until},
            "muted_by": {"S": by},
            "created_at": {"S": now},
        }
        if note:
            entry["note"] = {"S": note}
        self.dynamodb.put_item(TableName=self.table, Item=entry)
        self._mutes = None

    def delete_mute(self, store: str, item: str) -> bool:
        gone = self.dynamodb.delete_item(
            TableName=self.table,
            Key={"pk": {"S": MUTES}, "sk": {"S": f"{store}\x1f{item}"}},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        self._mutes = None
        return bool(gone)
