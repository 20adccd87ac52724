"""The web API's read model over DynamoDB (and S3 for uploads not yet processed).

Upload ids: a processed upload is named by its version with ``~`` for ``#`` (URL-safe);
an upload taken in by the API is named by its S3 key until the loader has run, and
looking that key up follows the key's watermark to the upload that processed it.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from stockwatch.aws import figures, item_details, store_figures, store_marks
from stockwatch.aws.alerting import LOG, AlertStore
from stockwatch.aws.batch_get import batch_get
from stockwatch.aws.settings import AwsSettings
from stockwatch.aws.upload_log import with_publishes
from stockwatch.aws.upload_metadata import BadMetadata, decode
from stockwatch.core.alert_rules import shown_status, stock_level
from stockwatch.core.clock import utc_now
from stockwatch.core.cost import Prices
from stockwatch.core.figures import Figures
from stockwatch.core.forecast import epoch, history_points, with_forecast
from stockwatch.core.mutes import muted_until
from stockwatch.core.ordering import as_of_of, upload_of
from stockwatch.core.rows import (
    AlertRow,
    HistoryPoint,
    MuteRow,
    StockQuery,
    StockRow,
    StoreSummary,
    ThresholdRow,
    UploadRow,
)
from stockwatch.service.reads import UploadIdError

VERSION_ID = re.compile(r"^\d{4}-\d\d-\d\dT[^~/]+~[0-9A-Za-z]{32,}$")
API_KEY = re.compile(r"^[A-Za-z0-9._ -]{1,200}$")
# What an upload id looks like here, for the API's schema: a version or an S3 key.
UPLOAD_ID_PATTERN = r"^(\d{4}-\d\d-\d\dT[^~/]+~[0-9A-Za-z]{32,}|[A-Za-z0-9._ -]{1,200})$"
PAGE = 200


def id_of(version: str) -> str:
    return version.replace("#", "~")


def version_of(upload_id: str) -> str:
    return upload_id.replace("~", "#")


def _upload(item: dict[str, Any], upload_id: str | None = None) -> UploadRow:
    version = item["sk"]["S"]
    report = json.loads(item["report"]["S"])
    report["cost"] = with_publishes(report.get("cost"), item, Prices.from_env())
    return UploadRow.of(
        upload_id or id_of(version),
        item["object_key"]["S"],
        item["status"]["S"],
        item.get("received_at", {}).get("S", version.split("#", 1)[0]),
        item.get("finished_at", {}).get("S"),
        report,
    )


def _alert(item: dict[str, Any], open_item: bool, mutes: Any) -> AlertRow:
    decision = json.loads(item["decision"]["S"])
    return AlertRow(
        item["log_sk"]["S"] if open_item else item["sk"]["S"],
        decision["kind"],
        decision["store"],
        decision["item"],
        decision["count"],
        decision["minimum"],
        id_of(item["upload"]["S"]) if item.get("upload", {}).get("S") else None,
        item["raised_at"]["S"],
        item.get("resolved_at", {}).get("S"),
        decision.get("days_of_cover"),
        item.get("acknowledged_at", {}).get("S"),
        item.get("acknowledged_by", {}).get("S"),
        item.get("ack_note", {}).get("S") or None,
        muted_until(decision["store"], decision["item"], mutes),
    )


def _recorded(item: dict[str, Any]) -> bool:
    """Not a bare count of SNS publishes that CheckStock added before the loader wrote."""
    return "status" in item and "report" in item


# What a stock row with its forecast reads of an item.
FORECAST_NAMES = {
    "#s": "Store", "#i": "Item", "#c": "Count", "#u": "UpdatedAt", "#h": "History",
    "#f": figures.ATTRIBUTE, "#v": "Version",
}  # fmt: skip


class DynamoReadModel:
    def __init__(self, settings: AwsSettings, dynamodb: Any, s3: Any) -> None:
        """Clients are passed in: making them costs more than most queries here."""
        self.settings = settings
        self.dynamodb = dynamodb
        self.s3 = s3
        self.alert_store = AlertStore(dynamodb, settings.state_table)

    def stores(self) -> list[StoreSummary]:
        return store_figures.stores(self.dynamodb, self.settings.state_table)

    def stock_page(self, query: StockQuery) -> list[StockRow]:
        """Filters run here, page by page, until ``limit`` rows match.

        Within a store rows come in item order; across stores in the table's own order
        (a Scan), which the cursor follows all the same.
        """
        store, status, q, after, limit = (
            query.store,
            query.status,
            query.q,
            query.after,
            query.limit,
        )
        thresholds = self.alert_store.thresholds()
        request: dict[str, Any] = {
            "TableName": self.settings.table,
            "ProjectionExpression": "#s, #i, #c, #u, #h, #f, #v",
            "ExpressionAttributeNames": FORECAST_NAMES,
        }
        confirmed: dict[str, str] = {}
        if store is not None:
            request["KeyConditionExpression"] = "#s = :s"
            request["ExpressionAttributeValues"] = {":s": {"S": store}}
            if after is not None and after[0] != store:
                after = None
        if after is not None:
            request["ExclusiveStartKey"] = {"Store": {"S": after[0]}, "Item": {"S": after[1]}}
        needle = q.lower() if q else None
        rows: list[StockRow] = []
        while len(rows) < limit:
            request["Limit"] = max(PAGE, limit)
            call = self.dynamodb.query if store is not None else self.dynamodb.scan
            response = call(**request)
            # A search looks at SKUs too: the page's are read first (kept apart from the
            # counts, ``aws.item_details``); otherwise only the rows shown get theirs.
            skus = (
                self._skus([(x["Store"]["S"], x["Item"]["S"]) for x in response["Items"]])
                if needle
                else {}
            )
            for item in response["Items"]:
                s, i, count = item["Store"]["S"], item["Item"]["S"], int(item["Count"]["N"])
                state = store_figures.STATUS[stock_level(count, thresholds.minimum_for(s, i))]
                if status is not None and state != status and status != "running_out":
                    continue
                sku = skus.get((s, i))
                if (
                    needle
                    and needle not in i.lower()
                    and needle not in s.lower()
                    and (sku is None or needle not in sku.lower())
                ):
                    continue
                row = StockRow(s, i, count, item.get("UpdatedAt", {}).get("S"), state, sku=sku)
                if query.forecast:
                    if s not in confirmed:
                        confirmed.update(self._confirmed({s}) or {s: ""})
                    row = with_forecast(row, self._latest(item, count, confirmed[s]))
                    row = shown_status(row, thresholds.cover_days_for(s, i))
                if status is not None and row.status != status:
                    continue
                rows.append(row)
                if len(rows) == limit:
                    break
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return rows if needle else self._with_skus(rows)

    def _skus(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return item_details.skus_of(self.dynamodb, self.settings.state_table, keys)

    def _with_skus(self, rows: list[StockRow]) -> list[StockRow]:
        skus = self._skus([(r.store, r.item) for r in rows])
        if not skus:
            return rows
        return [replace(r, sku=skus.get((r.store, r.item))) for r in rows]

    def item_everywhere(self, item: str, limit: int) -> list[StockRow]:
        """A Scan filtered to the item: the table is keyed by store, so this reads it all
        (about one read unit per 4 KB of stock); fine for a few thousand items."""
        thresholds = self.alert_store.thresholds()
        rows: list[StockRow] = []
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.settings.table,
            FilterExpression="#i = :i",
            ProjectionExpression="#s, #i, #c, #u, #h, #f, #v",
            ExpressionAttributeNames=FORECAST_NAMES,
            ExpressionAttributeValues={":i": {"S": item}},
        )
        found_rows: list[tuple[StockRow, dict[str, Any]]] = []
        for page in pages:
            for found in page["Items"]:
                store, count = found["Store"]["S"], int(found["Count"]["N"])
                level = stock_level(count, thresholds.minimum_for(store, item))
                row = StockRow(
                    store,
                    item,
                    count,
                    found.get("UpdatedAt", {}).get("S"),
                    store_figures.STATUS[level],
                )
                found_rows.append((row, found))
        confirmed = self._confirmed({row.store for row, _ in found_rows})
        for row, found in found_rows:
            row = with_forecast(row, self._latest(found, row.count, confirmed.get(row.store, "")))
            rows.append(shown_status(row, thresholds.cover_days_for(row.store, item)))
        return self._with_skus(sorted(rows, key=lambda r: r.store)[:limit])

    @staticmethod
    def _latest(item: dict[str, Any], count: int, confirmed: str) -> Figures | None:
        version = max(item.get("Version", {}).get("S", ""), confirmed)
        return figures.latest(item, count, version)

    def figures_of(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Figures]:
        """Each item's kept figures as of its last count: one BatchGetItem per 100 items,
        and one per 100 stores for the stores' last confirmed uploads."""
        found = batch_get(
            self.dynamodb,
            self.settings.table,
            [{"Store": {"S": s}, "Item": {"S": i}} for s, i in dict.fromkeys(keys)],
            {"ProjectionExpression": "#s, #i, #c, #u, #h, #f, #v",
             "ExpressionAttributeNames": FORECAST_NAMES},
        )  # fmt: skip
        confirmed = self._confirmed({s for s, _ in keys})
        kept: dict[tuple[str, str], Figures] = {}
        for item in found:
            store, name = item["Store"]["S"], item["Item"]["S"]
            now = self._latest(item, int(item["Count"]["N"]), confirmed.get(store, ""))
            if now is not None:
                kept[(store, name)] = now
        return kept

    def points_of(
        self, keys: list[tuple[str, str]], days: float
    ) -> dict[tuple[str, str], list[tuple[float, int]]]:
        """From each item's ``History`` and its last count: its last few changes
        (``HISTORY_POINTS``) ride in the item, so this is one BatchGetItem per 100 items,
        whatever ``days`` asks."""
        found = batch_get(
            self.dynamodb,
            self.settings.table,
            [{"Store": {"S": s}, "Item": {"S": i}} for s, i in dict.fromkeys(keys)],
            {"ProjectionExpression": "#s, #i, #c, #v, #h", "ExpressionAttributeNames": {
                "#s": "Store", "#i": "Item", "#c": "Count", "#v": "Version", "#h": "History"}},
        )  # fmt: skip
        points: dict[tuple[str, str], list[tuple[float, int]]] = {}
        confirmed = self._confirmed({s for s, _ in keys})
        for item in found:
            history = sorted(history_points(item.get("History", {}).get("S")))
            version = max(
                item.get("Version", {}).get("S", ""), confirmed.get(item["Store"]["S"], "")
            )
            if version:
                last = (epoch(as_of_of(version)), int(item["Count"]["N"]))
                if not history or last[0] > history[-1][0]:
                    history.append(last)
            points[(item["Store"]["S"], item["Item"]["S"])] = history
        return points

    def _confirmed(self, stores: set[str]) -> dict[str, str]:
        return store_marks.confirmed_versions(self.dynamodb, self.settings.state_table, stores)

    def history(self, store: str, item: str) -> list[HistoryPoint]:
        found = self.dynamodb.get_item(
            TableName=self.settings.table,
            Key={"Store": {"S": store}, "Item": {"S": item}},
            ProjectionExpression="History",
        ).get("Item")
        if found is None:
            return []
        points = json.loads(found.get("History", {}).get("S", "[]"))
        return [
            HistoryPoint(
                n,
                old,
                new,
                id_of(upload_of(version)),
                upload_of(version).split("#", 1)[0],
                as_of_of(version),
            )
            for n, (old, new, version) in enumerate(points, start=1)
        ]

    def alerts(
        self,
        open_only: bool,
        limit: int,
        store: str | None = None,
        kind: str | None = None,
        resolved_only: bool = False,
    ) -> list[AlertRow]:
        """Newest first from the ``ByTime`` index, filtered here page by page."""
        request: dict[str, Any] = {
            "TableName": self.settings.state_table,
            "IndexName": "ByTime",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "OPEN" if open_only else LOG}},
            "ScanIndexForward": False,
            "Limit": max(limit, PAGE),
        }
        mutes = self.alert_store.mutes(utc_now())
        found: list[AlertRow] = []
        while len(found) < limit:
            response = self.dynamodb.query(**request)
            for item in response["Items"]:
                row = _alert(item, open_only, mutes)
                if store is not None and row.store != store:
                    continue
                if kind is not None and row.kind != kind:
                    continue
                if resolved_only and row.resolved_at is None:
                    continue
                found.append(row)
                if len(found) == limit:
                    break
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found

    def acknowledge(self, alert_id: str, by: str, note: str | None) -> bool:
        return self.alert_store.acknowledge(alert_id, by, note, utc_now())

    def mutes(self) -> list[MuteRow]:
        return self.alert_store.mute_rows()

    def set_mute(self, store: str, item: str, until: str, by: str, note: str | None) -> None:
        self.alert_store.set_mute(store, item, until, by, note, utc_now())

    def delete_mute(self, store: str, item: str) -> bool:
        return self.alert_store.delete_mute(store, item)

    def thresholds(self) -> list[ThresholdRow]:
        return self.alert_store.entries()

    def upload(self, upload_id: str) -> UploadRow | None:
        if VERSION_ID.match(upload_id):
            return self._processed(version_of(upload_id))
        if not API_KEY.match(upload_id):
            raise UploadIdError(f"{upload_id[:40]!r} is not an upload id")
        return self._by_key(upload_id)

    def _processed(self, version: str, upload_id: str | None = None) -> UploadRow | None:
        item = self.dynamodb.get_item(
            TableName=self.settings.state_table,
            Key={"pk": {"S": "UPLOAD"}, "sk": {"S": version}},
        ).get("Item")
        return None if item is None or not _recorded(item) else _upload(item, upload_id)

    def _by_key(self, key: str) -> UploadRow | None:
        bucket = self.settings.bucket
        mark = self.dynamodb.get_item(
            TableName=self.settings.state_table,
            Key={"pk": {"S": f"KEY#{bucket}/{key}"}, "sk": {"S": "LATEST"}},
            ConsistentRead=True,
        ).get("Item")
        if mark is not None:
            done = self._processed(mark["Version"]["S"], key)
            if done is not None:
                return done
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        status = "processing" if mark is not None else "queued"
        try:
            command = decode(key, head.get("Metadata", {}))
            uploader, scope = command.uploader, command.scope
        except BadMetadata:
            uploader, scope = "", frozenset()  # malformed: it will be refused; shown to admins
        return UploadRow(
            key,
            key,
            status,
            head["LastModified"].isoformat(),
            uploaded_by=uploader or None,
            scope=None if scope is None else sorted(scope),
        )

    def uploads(self, limit: int, before: str | None) -> list[UploadRow]:
        request: dict[str, Any] = {
            "TableName": self.settings.state_table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "UPLOAD"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if before is not None:
            if not VERSION_ID.match(before):
                raise UploadIdError(f"{before[:40]!r} is not an id from this list")
            request["KeyConditionExpression"] = "pk = :p AND sk < :b"
            request["ExpressionAttributeValues"][":b"] = {"S": version_of(before)}
        items = self.dynamodb.query(**request)["Items"]
        return [_upload(item) for item in items if _recorded(item)]

    def check(self) -> int | None:
        """Tables have no schema version: their items carry what they need."""
        self.dynamodb.get_item(
            TableName=self.settings.state_table,
            Key={"pk": {"S": "HEALTH"}, "sk": {"S": "CHECK"}},
        )
        return None
