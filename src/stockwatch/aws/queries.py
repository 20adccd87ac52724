"""The CLI's reads against AWS: the web API's read model, walked to the end for a listing."""

from __future__ import annotations

from typing import Any

from stockwatch.aws.read_model import DynamoReadModel
from stockwatch.aws.settings import AwsSettings
from stockwatch.core.paging import walk_stock


def model(settings: AwsSettings) -> DynamoReadModel:
    return DynamoReadModel(settings, settings.client("dynamodb"), settings.client("s3"))


def stock(
    settings: AwsSettings,
    store: str | None = None,
    out_of_stock: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    reader = model(settings)
    status = "out_of_stock" if out_of_stock else None
    pages = walk_stock(lambda after, n: reader.stock_page(store, status, None, after, n), limit)
    return sorted(pages, key=lambda r: (r["store"], r["item"]))


def alerts(settings: AwsSettings, open_only: bool, limit: int | None) -> list[dict[str, Any]]:
    return model(settings).alerts(open_only, limit or 1000)


def uploads(settings: AwsSettings, limit: int) -> list[dict[str, Any]]:
    return model(settings).uploads(limit, None)


def history(settings: AwsSettings, store: str, item: str) -> list[dict[str, Any]]:
    return model(settings).history(store, item)
