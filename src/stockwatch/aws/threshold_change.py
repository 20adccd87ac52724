"""A threshold change on AWS: the stock it covers judged again, and one digest to SNS.

DynamoDB has no transaction across the thresholds, the alerts and SNS, so each step is
safe to repeat instead: alerts are conditional writes logged under an id per item of this
change, and setting the same thresholds again raises nothing twice. Reading what a
threshold covers costs a Query of the store's items (a Scan for a ``*`` store), filtered to
counts below the minimum, plus the open alerts from the sparse ``ByTime`` index.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from stockwatch.aws import figures, store_figures, store_marks
from stockwatch.aws.alerting import AlertStore, Pending, SnsNotifier
from stockwatch.aws.settings import AwsSettings
from stockwatch.aws.unit_of_work import DynamoThresholds
from stockwatch.core.alert_rules import OpenAlerts
from stockwatch.core.clock import utc_now
from stockwatch.core.digest import Digest
from stockwatch.core.forecast import with_cover as with_cover_of
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.mutes import Mutes
from stockwatch.core.thresholds import WILDCARD
from stockwatch.service.alerts import tell

Row = dict[str, Any]


def open_alerts(dynamodb: Any, state_table: str) -> dict[tuple[str, str], set[str]]:
    """Every open alert, by item: the sparse index holds only those."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    pages = dynamodb.get_paginator("query").paginate(
        TableName=state_table,
        IndexName="ByTime",
        KeyConditionExpression="gsi1pk = :p",
        ExpressionAttributeValues={":p": {"S": "OPEN"}},
        ProjectionExpression="pk, sk",
    )
    for page in pages:
        for item in page["Items"]:
            store, name = item["pk"]["S"][len("ALERT#") :].split("\x1f", 1)
            found[(store, name)].add(item["sk"]["S"])
    return found


def _covers(scope: tuple[str, str], store: str, item: str) -> bool:
    return scope[0] in (WILDCARD, store) and scope[1] in (WILDCARD, item)


# What days of cover are read from (aws.figures).
_FIGURES = {"#h": "History", "#f": figures.ATTRIBUTE, "#v": "Version"}


class DynamoCoveredStock:
    def __init__(
        self,
        dynamodb: Any,
        table: str,
        opened: dict[tuple[str, str], set[str]],
        state_table: str,
    ):
        self.dynamodb = dynamodb
        self.table = table
        self.opened = opened
        self.state_table = state_table
        self._stores: set[str] = set()

    def _below(self, scope: tuple[str, str], bound: int) -> Iterator[tuple[str, str, Row]]:
        store, item = scope
        names = {"#s": "Store", "#i": "Item", "#c": "Count", **_FIGURES}
        values: dict[str, Any] = {":b": {"N": str(bound)}}
        request: dict[str, Any] = {
            "TableName": self.table,
            "ProjectionExpression": "#s, #i, #c, #h, #f, #v",
            "ExpressionAttributeNames": names,
        }
        condition = "#c < :b"
        if item != WILDCARD:
            condition += " AND #i = :i"
            values[":i"] = {"S": item}
        if store != WILDCARD:
            values[":s"] = {"S": store}
            request["KeyConditionExpression"] = "#s = :s"
        request["FilterExpression"] = condition
        request["ExpressionAttributeValues"] = values
        operation = "query" if store != WILDCARD else "scan"
        for page in self.dynamodb.get_paginator(operation).paginate(**request):
            for row in page["Items"]:
                yield row["Store"]["S"], row["Item"]["S"], row

    def _count(self, store: str, item: str) -> Row | None:
        found: Row | None = self.dynamodb.get_item(
            TableName=self.table,
            Key={"Store": {"S": store}, "Item": {"S": item}},
            ProjectionExpression="#c, #h, #f, #v",
            ExpressionAttributeNames={"#c": "Count", **_FIGURES},
        ).get("Item")
        return found if found and "Count" in found else None

    def under(
        self, scopes: Sequence[tuple[str, str]], bound: int, with_cover: bool = False
    ) -> Iterator[list[StockChange]]:
        seen: dict[tuple[str, str], Row] = {}
        for scope in set(scopes):
            for store, item, row in self._below(scope, bound):
                seen[(store, item)] = row
        for (store, item), kinds in self.opened.items():
            covered = any(_covers(scope, store, item) for scope in scopes)
            if "low_stock" in kinds and (store, item) not in seen and covered:
                now = self._count(store, item)
                if now is not None:
                    seen[(store, item)] = now
        rows = sorted(seen.items())
        stores = {store for (store, _), _ in rows}
        self._stores.update(stores)
        # An unchanged row is not written when its store's upload is: the store's mark
        # says when it was last counted (as the read model reads it).
        confirmed = (
            store_marks.confirmed_versions(self.dynamodb, self.state_table, stores)
            if with_cover and rows
            else {}
        )
        for start in range(0, len(rows), 500):
            batch = []
            for (store, item), row in rows[start : start + 500]:
                count = int(row["Count"]["N"])
                change = StockChange(store, item, count, count, "")
                if with_cover:
                    version = max(row.get("Version", {}).get("S", ""), confirmed.get(store, ""))
                    change = with_cover_of(change, figures.latest(row, count, version))
                batch.append(change)
            yield batch

    def stores(self) -> list[str]:
        return sorted(self._stores)


class ThresholdAlerts:
    """The ``Alerts`` port for a threshold change: one log id per item of the change."""

    def __init__(
        self, store: AlertStore, change_id: str, opened: dict[tuple[str, str], set[str]]
    ) -> None:
        self.store = store
        self.change_id = change_id
        self.opened = opened
        self.pending: list[Pending] = []

    def event_id(self, store: str, item: str) -> str:
        digest = hashlib.blake2b(f"{store}\x1f{item}".encode(), digest_size=8).hexdigest()
        return f"threshold-{self.change_id}-{digest}"

    def open_alerts(self, changes: Sequence[StockChange]) -> OpenAlerts:
        return {(c.store, c.item): set(self.opened.get((c.store, c.item), ())) for c in changes}

    def mutes(self, now: str) -> Mutes:
        return self.store.mutes(now)

    def record(
        self, decisions: Sequence[AlertDecision], upload: Any, now: str
    ) -> list[AlertDecision]:
        by_item: dict[tuple[str, str], list[AlertDecision]] = defaultdict(list)
        for d in decisions:
            by_item[(d.store, d.item)].append(d)
        done: list[AlertDecision] = []
        for (store, item), group in by_item.items():
            event_id = self.event_id(store, item)
            took = self.store.record(event_id, "", group, now)
            done.extend(took)
            self.pending.extend(Pending(event_id, d) for d in took if d.action == "raise")
        return done


class DynamoThresholdChange:
    def __init__(self, settings: AwsSettings, dynamodb: Any, alert_store: AlertStore) -> None:
        self.settings = settings
        self.dynamodb = dynamodb
        self.thresholds = DynamoThresholds(alert_store)
        opened = open_alerts(dynamodb, settings.state_table)
        self.stock = DynamoCoveredStock(dynamodb, settings.table, opened, settings.state_table)
        self.alerts = ThresholdAlerts(alert_store, secrets.token_hex(6), opened)
        self._notify = False
        self.failed: dict[str, str] = {}

    def __enter__(self) -> DynamoThresholdChange:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to roll back: every write was conditional and is safe to repeat."""

    def notify(self, digest: Digest, decisions: Sequence[AlertDecision]) -> None:
        self._notify = True

    def refresh(self, stores: Sequence[str]) -> None:
        store_figures.refresh(
            self.dynamodb,
            self.settings.table,
            self.settings.state_table,
            stores,
            self.thresholds.load(),
            "",
        )

    def commit(self) -> None:
        """Tell what the change raised, as CheckStock does (``service.alerts.tell``)."""
        if not self._notify:
            return
        topic = self.settings.topic_arn
        sns = self.settings.client("sns") if topic else None
        notifier = SnsNotifier(self.alerts.store, sns, topic)
        mutes = self.alerts.store.mutes(utc_now())
        self.failed = tell(notifier, self.alerts.pending, mutes).failed
