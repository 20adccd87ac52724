"""Alerts from the DynamoDB stream: the core rules, with open alerts kept in the state table.

Each stream record is judged with ``core.alert_rules.evaluate_changes``. Raising an alert is
a conditional put (one open alert per item and kind), so a replayed record raises nothing
twice. Every raised alert is also logged under the record's event id with ``notified`` false
until its digest reaches SNS; a record retried after SNS failed finds those entries and sends
them, and nothing is published twice for an alert once marked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws import figures
from stockwatch.aws.mute_items import MuteItems
from stockwatch.aws.sns_channel import SnsChannel
from stockwatch.aws.threshold_items import ThresholdItems
from stockwatch.core.alert_rules import OpenAlerts
from stockwatch.core.digest import OrderNote, compose_digest
from stockwatch.core.forecast import with_cover
from stockwatch.core.model import AlertDecision, StockChange
from stockwatch.core.mutes import Mutes
from stockwatch.core.ports import DeliveryError

LOG = "ALERTLOG"


@dataclass(frozen=True)
class Pending:
    """A raised alert not yet known to have reached SNS."""

    event_id: str
    decision: AlertDecision
    upload: str = ""  # the version of the upload whose change raised it


def change_from_images(
    old: dict[str, Any] | None, new: dict[str, Any] | None, upload: str, cover: bool = False
) -> StockChange | None:
    """A change from a stream record's images, or None when the count did not change.

    ``cover``: fill in its days of cover from the new image's kept figures.
    """
    if not new or "Count" not in new:
        return None
    new_count = int(new["Count"])
    old_count = int(old["Count"]) if old and "Count" in old else None
    if old_count == new_count:
        return None
    change = StockChange(str(new["Store"]), str(new["Item"]), old_count, new_count, upload)
    if cover:
        version = str(new.get("Version") or "")
        change = with_cover(change, figures.latest(new, new_count, version))
    return change


class StreamAlerts:
    """The service's ``Alerts`` port for one stream record, logged under its event id."""

    def __init__(self, store: AlertStore, event_id: str, upload: str) -> None:
        self.store = store
        self.event_id = event_id
        self.upload = upload

    def open_alerts(self, changes: Sequence[StockChange]) -> OpenAlerts:
        return {(c.store, c.item): self.store.open_kinds(c.store, c.item) for c in changes}

    def mutes(self, now: str) -> Mutes:
        return self.store.mutes(now)

    def record(
        self, decisions: Sequence[AlertDecision], upload: Any, now: str
    ) -> list[AlertDecision]:
        return self.store.record(self.event_id, self.upload, decisions, now)


class AlertStore(ThresholdItems, MuteItems):
    """The state table's alert items: open alerts (one per item and kind) and the alert log
    (every raised alert, marked once told), with the thresholds and mutes they are judged
    by (``aws.threshold_items``, ``aws.mute_items``)."""

    def __init__(self, dynamodb: Any, state_table: str) -> None:
        self.dynamodb = dynamodb
        self.table = state_table
        self._thresholds = None
        self._mutes = None

    def acknowledge(self, alert_id: str, by: str, note: str | None, now: str) -> bool:
        """Mark the alert's log entry, and its open alert if it is still that one."""
        values = {":t": {"S": now}, ":b": {"S": by}, ":n": {"S": note or ""}}
        update = "SET acknowledged_at = :t, acknowledged_by = :b, ack_note = :n"
        try:
            logged = self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": LOG}, "sk": {"S": alert_id}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        decision = json.loads(logged["decision"]["S"])
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={
                    "pk": {"S": f"ALERT#{decision['store']}\x1f{decision['item']}"},
                    "sk": {"S": decision["kind"]},
                },
                UpdateExpression=update,
                ConditionExpression="log_sk = :id",
                ExpressionAttributeValues={**values, ":id": {"S": alert_id}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else resolved meanwhile, or a newer alert of the kind is open
        return True

    def open_kinds(self, store: str, item: str) -> set[str]:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"ALERT#{store}\x1f{item}"}},
            ConsistentRead=True,
        )
        return {i["sk"]["S"] for i in response["Items"]}

    def record(
        self, event_id: str, upload: str, decisions: Sequence[AlertDecision], now: str
    ) -> list[AlertDecision]:
        """Store one stream record's decisions; returns those that took effect.

        Each write is conditional, so a replayed record finds its alert open (or already
        resolved) and its decision takes no effect a second time.
        """
        done = []
        for decision in decisions:
            key = {
                "pk": {"S": f"ALERT#{decision.store}\x1f{decision.item}"},
                "sk": {"S": decision.kind},
            }
            log_sk = f"{event_id}#{decision.kind}"
            try:
                if decision.action == "resolve":
                    gone = self.dynamodb.delete_item(
                        TableName=self.table,
                        Key=key,
                        ConditionExpression="attribute_exists(pk)",
                        ReturnValues="ALL_OLD",
                    ).get("Attributes", {})
                    self._resolved(gone.get("log_sk", {}).get("S"), now)
                    done.append(decision)
                    continue
                if decision.opens:
                    self.dynamodb.put_item(
                        TableName=self.table,
                        Item={
                            **key,
                            "count": {"N": str(decision.count)},
                            "raised_at": {"S": now},
                            "log_sk": {"S": log_sk},
                            "decision": {"S": json.dumps(_as_dict(decision))},
                            "upload": {"S": upload},
                            # In the sparse ByTime index, newest first: the open alerts.
                            "gsi1pk": {"S": "OPEN"},
                            "gsi1sk": {"S": f"{now}#{log_sk}"},
                        },
                        ConditionExpression="attribute_not_exists(pk)",
                    )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # another delivery of this change got there first
            self._log(event_id, decision, now, upload)
            done.append(decision)
        return done

    def forget(self, store: str, item: str, now: str) -> int:
        """An item deleted from the table: resolve its open alerts, recorded, not notified.

        Nobody needs telling that a deleted item is no longer out of stock, but an alert
        left open for ever would sit on the dashboard and block the next one.
        """
        resolved = 0
        for kind in sorted(self.open_kinds(store, item)):
            try:
                gone = self.dynamodb.delete_item(
                    TableName=self.table,
                    Key={"pk": {"S": f"ALERT#{store}\x1f{item}"}, "sk": {"S": kind}},
                    ConditionExpression="attribute_exists(pk)",
                    ReturnValues="ALL_OLD",
                ).get("Attributes", {})
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # a replay of this record resolved it already
            self._resolved(gone.get("log_sk", {}).get("S"), now)
            resolved += 1
        return resolved

    def _resolved(self, log_sk: str | None, now: str) -> None:
        """Mark the alert's log entry resolved (first resolution wins on a replay)."""
        if log_sk is None:
            return
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": LOG}, "sk": {"S": log_sk}},
                UpdateExpression="SET resolved_at = if_not_exists(resolved_at, :t)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":t": {"S": now}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _log(self, event_id: str, decision: AlertDecision, now: str, upload: str) -> None:
        log_sk = f"{event_id}#{decision.kind}"
        item = {
            "pk": {"S": LOG},
            "sk": {"S": log_sk},
            "decision": {"S": json.dumps(_as_dict(decision))},
            "raised_at": {"S": now},
            "notified": {"BOOL": False},
            "upload": {"S": upload},
            "gsi1pk": {"S": LOG},
            "gsi1sk": {"S": f"{now}#{log_sk}"},
        }
        if not decision.opens:
            # back_in_stock is an event, born resolved, as on one machine (found by the
            # contract suite: it listed as open for ever on AWS).
            item["resolved_at"] = {"S": now}
        try:
            self.dynamodb.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def unnotified(self, event_id: str) -> list[Pending]:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
            FilterExpression="#n = :f",
            ExpressionAttributeNames={"#n": "notified"},
            ExpressionAttributeValues={
                ":p": {"S": LOG},
                ":e": {"S": f"{event_id}#"},
                ":f": {"BOOL": False},
            },
            ConsistentRead=True,
        )
        return [
            Pending(
                event_id,
                AlertDecision(**json.loads(i["decision"]["S"])),
                i.get("upload", {}).get("S", ""),
            )
            for i in response["Items"]
        ]

    def mark_notified(self, pending: Iterable[Pending]) -> None:
        for p in pending:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": LOG}, "sk": {"S": f"{p.event_id}#{p.decision.kind}"}},
                UpdateExpression="SET #n = :t",
                ExpressionAttributeNames={"#n": "notified"},
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )

    def count_publishes(self, sent: dict[str, int]) -> None:
        """Add CheckStock's SNS publishes to each upload's record, for its report's cost.

        An update, not a put: the loader may write the upload's report meanwhile, and its
        update leaves this attribute alone.
        """
        for upload, publishes in sent.items():
            if not upload:
                continue
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": "UPLOAD"}, "sk": {"S": upload}},
                UpdateExpression="ADD #p :n",
                ExpressionAttributeNames={"#p": "sns_publishes"},
                ExpressionAttributeValues={":n": {"N": str(publishes)}},
            )


# What to order of alerted items, by (store, item): ``service.replenishment.order_notes``.
OrderNotes = Callable[[list[AlertDecision]], Mapping[tuple[str, str], OrderNote]]


def _as_dict(decision: AlertDecision) -> dict[str, Any]:
    return {"action": decision.action, **decision.to_json()}


def publish_digests(
    sns: Any,
    topic_arn: str,
    pending: list[Pending],
    sent: dict[str, int] | None = None,
    notes: OrderNotes | None = None,
) -> dict[str, str]:
    """One SNS message per store; returns the stores whose publish failed, with the error.

    ``sent`` counts each publish against the upload of the message's first alert;
    ``notes`` says what to order of the items alerted (``service.replenishment``).
    """
    to_order = notes([p.decision for p in pending]) if notes is not None else None
    by_store: dict[str, list[Pending]] = defaultdict(list)
    for p in pending:
        by_store[p.decision.store].append(p)
    channel = SnsChannel(sns, topic_arn)
    failed: dict[str, str] = {}
    for store, items in sorted(by_store.items()):
        digest = compose_digest(
            {"id": None, "file": f"the stock of {store}"},
            [p.decision for p in items],
            to_order=to_order,
        )
        if digest is None:
            continue
        try:
            channel.send(digest, items[0].event_id)
        except Exception as exc:  # that store's message only; retried with its records
            failed[store] = str(exc) if isinstance(exc, DeliveryError) else repr(exc)
            continue
        if sent is not None:
            sent[items[0].upload] = sent.get(items[0].upload, 0) + 1
    return failed


class SnsNotifier:
    """``service.alerts.Notifier`` over the alerts topic: a message per store, and the
    alert log's marks of what was told. ``sent`` counts publishes per upload (its cost)."""

    def __init__(
        self,
        store: AlertStore,
        sns: Any | None,
        topic_arn: str | None,
        sent: dict[str, int] | None = None,
        notes: OrderNotes | None = None,
    ) -> None:
        self.store = store
        self.sns = sns
        self.topic_arn = topic_arn
        self.sent = sent
        self.notes = notes

    def publish(self, notices: list[Pending]) -> dict[str, str] | None:
        if self.sns is None or not self.topic_arn:
            return None
        return publish_digests(self.sns, self.topic_arn, notices, self.sent, self.notes)

    def mark_notified(self, notices: Iterable[Pending]) -> None:
        self.store.mark_notified(notices)
