"""Users, their token hashes and the audit trail, as items of the state table.

- ``USER`` / ``<name>``: role, stores (a JSON list; absent: every store), the token's hash
  and when it was made, rotated and revoked;
- ``TOKEN#<sha-256>`` / ``USER``: the same user's name, role and stores, so signing in is
  one consistent ``GetItem`` (one read unit) whoever signs in. Revoking or rotating deletes it in
  the same transaction that changes the user, so a token stops working at once;
- ``AUDIT`` / ``<time>#<random>``: one line of the audit trail, read in time order.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.core.clock import utc_now
from stockwatch.service.users import AuditRow, NewUser, UserRow

USER, AUDIT, TOKEN = "USER", "AUDIT", "TOKEN#"


def _failed_condition(exc: ClientError) -> bool:
    code = exc.response["Error"]["Code"]
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


class DynamoUsers:
    def __init__(self, dynamodb: Any, state_table: str) -> None:
        self.dynamodb = dynamodb
        self.table = state_table

    def _token_item(self, digest: str, name: str, role: str, stores: str | None) -> dict[str, Any]:
        item = {
            "pk": {"S": TOKEN + digest},
            "sk": {"S": USER},
            "name": {"S": name},
            "role": {"S": role},
        }
        if stores is not None:
            item["stores"] = {"S": stores}
        return item

    def add(self, new: NewUser) -> bool:
        name, role, stores, digest, email = new.name, new.role, new.stores, new.digest, new.email
        listed = None if stores is None else json.dumps(list(stores))
        user = {
            "pk": {"S": USER},
            "sk": {"S": name},
            "role": {"S": role},
            "token_hash": {"S": digest},
            "created_at": {"S": utc_now()},
        }
        if listed is not None:
            user["stores"] = {"S": listed}
        if email is not None:
            user["email"] = {"S": email}
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": user,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._token_item(digest, name, role, listed),
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _failed_condition(exc):
                return False
            raise
        return True

    def by_hash(self, digest: str) -> tuple[str, str, list[str] | None] | None:
        item = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": TOKEN + digest}, "sk": {"S": USER}},
            ConsistentRead=True,  # a token revoked a moment ago is refused now
        ).get("Item")
        if item is None:
            return None
        stores = item.get("stores", {}).get("S")
        return item["name"]["S"], item["role"]["S"], None if stores is None else json.loads(stores)

    def _user(self, name: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": USER}, "sk": {"S": name}}, ConsistentRead=True
        ).get("Item")
        return item

    def users(self) -> list[UserRow]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": USER}},
        }
        rows: list[UserRow] = []
        while True:
            response = self.dynamodb.query(**request)
            for item in response["Items"]:
                stores = item.get("stores", {}).get("S")
                rows.append(
                    UserRow(
                        item["sk"]["S"],
                        item["role"]["S"],
                        None if stores is None else json.loads(stores),
                        item["created_at"]["S"],
                        item.get("rotated_at", {}).get("S"),
                        item.get("revoked_at", {}).get("S"),
                        item.get("email", {}).get("S"),
                    )
                )
            if "LastEvaluatedKey" not in response:
                return rows
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _change(self, name: str, update: str, values: dict[str, Any], new: str | None) -> bool:
        """Change a live user and drop its old token (and put ``new``'s) in one transaction."""
        user = self._user(name)
        if user is None or "revoked_at" in user:
            return False
        old = user["token_hash"]["S"]
        stores = user.get("stores", {}).get("S")
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": USER}, "sk": {"S": name}},
                    "UpdateExpression": update,
                    "ConditionExpression": "token_hash = :old AND attribute_not_exists(revoked_at)",
                    "ExpressionAttributeValues": {**values, ":old": {"S": old}},
                }
            },
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": TOKEN + old}, "sk": {"S": USER}},
                }
            },
        ]
        if new is not None:
            item = self._token_item(new, name, user["role"]["S"], stores)
            items.append({"Put": {"TableName": self.table, "Item": item}})
        try:
            self.dynamodb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _failed_condition(exc):
                return False  # changed meanwhile: the caller says so
            raise
        return True

    def revoke(self, name: str) -> bool:
        return self._change(name, "SET revoked_at = :t", {":t": {"S": utc_now()}}, None)

    def replace_token(self, name: str, digest: str) -> bool:
        values = {":t": {"S": utc_now()}, ":h": {"S": digest}}
        return self._change(name, "SET rotated_at = :t, token_hash = :h", values, digest)

    def record(self, actor: str, action: str, subject: str, detail: str | None) -> None:
        at = utc_now()
        item = {
            "pk": {"S": AUDIT},
            "sk": {"S": f"{at}#{secrets.token_hex(4)}"},
            "at": {"S": at},
            "actor": {"S": actor},
            "action": {"S": action},
            "subject": {"S": subject},
        }
        if detail is not None:
            item["detail"] = {"S": detail}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def audit(self, since: str | None, limit: int) -> list[AuditRow]:
        values = {":p": {"S": AUDIT}}
        if since:  # DynamoDB refuses an empty string in a key condition
            values[":s"] = {"S": since}
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND sk >= :s" if since else "pk = :p",
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        rows: list[AuditRow] = []
        while len(rows) < limit:
            response = self.dynamodb.query(**request)
            rows += [
                AuditRow(
                    item["sk"]["S"],
                    item["at"]["S"],
                    item["actor"]["S"],
                    item["action"]["S"],
                    item["subject"]["S"],
                    item.get("detail", {}).get("S"),
                )
                for item in response["Items"]
            ]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return rows[:limit]

    def any(self) -> bool:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": USER}},
            Limit=1,
        )
        return bool(response["Items"])
