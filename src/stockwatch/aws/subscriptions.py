"""Subscriptions on AWS: SNS subscriptions of the alerts topic, each with a filter policy.

CheckStock publishes one message per store and upload, with the attributes ``store`` and
``kind`` (``aws.sns_channel``), so SNS itself picks which subscriptions get each message:
nothing of ours runs per subscriber, and a subscription about Berlin is never sent
Karachi's. SNS is the record of what is subscribed; the state table keeps only who made
each one and when (``SUBSCRIPTION`` / ``<id>``), which SNS has nowhere to hold.

Two things differ from one machine, for reasons of SNS: a webhook receives SNS's HTTP
notification (a JSON envelope with the digest as its ``Message``) and must confirm its
subscription once; and a kind filter picks the store's digests that hold that kind, whole.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.core.clock import utc_now
from stockwatch.core.subscriptions import Subscription, filter_policy
from stockwatch.service.subscriptions import NewSubscription

SUBSCRIPTION = "SUBSCRIPTION"
PENDING = "PendingConfirmation"


def _protocol(channel: str, target: str) -> str:
    if channel == "email":
        return "email"
    return "https" if target.lower().startswith("https:") else "http"


def _short(arn: str) -> str:
    """The id the CLI shows: the ARN's last part, unique within the topic."""
    return arn.rsplit(":", 1)[-1]


def _policy_sets(text: str | None) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    if not text:
        return None, None
    try:
        policy = json.loads(text)
    except ValueError:
        return None, None

    def plain(values: Any) -> frozenset[str] | None:
        if not isinstance(values, list):
            return None
        return frozenset(v for v in values if isinstance(v, str)) or None

    return plain(policy.get("store")), plain(policy.get("kind"))


class SnsSubscriptions:
    def __init__(
        self,
        sns: Any,
        topic_arn: str,
        dynamodb: Any,
        state_table: str,
        failures_arn: str | None = None,
    ) -> None:
        self.sns = sns
        self.topic_arn = topic_arn
        self.dynamodb = dynamodb
        self.table = state_table
        self.failures_arn = failures_arn  # the queue a never-taken digest goes to

    def add(self, wanted: NewSubscription) -> Subscription:
        channel, target, stores, kinds = wanted.channel, wanted.target, wanted.stores, wanted.kinds
        owner = wanted.owner
        policy = filter_policy(stores, kinds)
        attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
        if self.failures_arn:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.failures_arn})
        arn = self.sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol=_protocol(channel, target),
            Endpoint=target,
            Attributes=attributes,
            ReturnSubscriptionArn=True,  # an ARN even while the address confirms
        )["SubscriptionArn"]
        now = utc_now()
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": SUBSCRIPTION},
                "sk": {"S": _short(arn)},
                "arn": {"S": arn},
                "owner": {"S": owner},
                "created_at": {"S": now},
            },
        )
        return Subscription(_short(arn), channel, target, stores, kinds, owner, now)

    def _made(self) -> dict[str, dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": SUBSCRIPTION}},
        }
        found: dict[str, dict[str, Any]] = {}
        while True:
            response = self.dynamodb.query(**request)
            found.update({i["sk"]["S"]: i for i in response["Items"]})
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _listed(self) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"TopicArn": self.topic_arn}
        found: list[dict[str, Any]] = []
        while True:
            response = self.sns.list_subscriptions_by_topic(**request)
            found += response.get("Subscriptions", [])
            if not response.get("NextToken"):
                return found
            request["NextToken"] = response["NextToken"]

    def subscriptions(self) -> list[Subscription]:
        """Every subscription of the topic, ours or made elsewhere (the template's email,
        the console): those are subscriptions too, and a manager should see them. One
        still confirming is listed by SNS without its ARN; ours are found by the ARN kept."""
        made = self._made()
        listed = [s["SubscriptionArn"] for s in self._listed() if s["SubscriptionArn"] != PENDING]
        kept = [i["arn"]["S"] for i in made.values() if i["arn"]["S"] not in listed]
        rows: list[Subscription] = []
        for arn in listed + kept:
            attributes = self._attributes(arn)  # one request each: protocol, endpoint, policy
            if not attributes:
                continue  # ours, but gone from SNS meanwhile
            protocol, endpoint = attributes.get("Protocol", ""), attributes.get("Endpoint", "")
            ours = made.get(_short(arn))
            stores, kinds = _policy_sets(attributes.get("FilterPolicy"))
            rows.append(
                Subscription(
                    _short(arn),
                    "email" if protocol.startswith("email") else "webhook",
                    endpoint,
                    stores,
                    kinds,
                    ours["owner"]["S"] if ours else "",
                    ours["created_at"]["S"] if ours else "",
                )
            )
        return sorted(rows, key=lambda s: (s.created_at, str(s.id)))

    def _attributes(self, arn: str) -> dict[str, str]:
        try:
            attributes: dict[str, str] = self.sns.get_subscription_attributes(SubscriptionArn=arn)[
                "Attributes"
            ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NotFound", "NotFoundException"):
                return {}
            raise
        return attributes

    def delete(self, subscription_id: str) -> bool:
        arn = next(
            (
                s["SubscriptionArn"]
                for s in self._listed()
                if s["SubscriptionArn"].endswith(f":{subscription_id}")
            ),
            None,
        )
        kept = self.dynamodb.delete_item(
            TableName=self.table,
            Key={"pk": {"S": SUBSCRIPTION}, "sk": {"S": subscription_id}},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        if arn is None and kept is not None:
            arn = kept["arn"]["S"]  # still confirming: SNS lists it without its ARN
        if arn is None:
            return False
        try:
            self.sns.unsubscribe(SubscriptionArn=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NotFound", "NotFoundException"):
                raise
        return True


__all__ = ["SnsSubscriptions"]
