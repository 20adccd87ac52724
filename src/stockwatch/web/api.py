"""The JSON API under ``/api``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from stockwatch.sqlite import queries
from stockwatch.web.context import ServerContext
from stockwatch.web.uploads import receive_upload

MAX_PAGE = 500


class Queued(BaseModel):
    id: int
    status: Literal["queued"]


class RowErrorModel(BaseModel):
    line: int
    field: str
    message: str


class Report(BaseModel):
    id: int
    file: str
    status: str
    received_at: str
    finished_at: str | None = None
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_superseded: int = 0
    rows_rejected: int = 0
    message: str | None = None
    errors: list[RowErrorModel] = []
    warnings: list[str] = []
    alerts: list[dict[str, Any]] = []
    alerts_total: int = 0


class UploadPage(BaseModel):
    uploads: list[Report]
    next_before: int | None


class Store(BaseModel):
    store: str
    items: int
    out_of_stock: int
    low_stock: int
    updated_at: str | None


class StockRow(BaseModel):
    store: str
    item: str
    count: int
    updated_at: str | None
    status: Literal["out_of_stock", "low_stock", "ok"]


class StockPage(BaseModel):
    rows: list[StockRow]
    next_cursor: str | None


class HistoryPoint(BaseModel):
    seq: int
    old_count: int | None
    count: int
    upload_id: int
    changed_at: str | None


class Alert(BaseModel):
    id: int
    kind: str
    store: str
    item: str
    count: int
    minimum: int | None
    upload_id: int | None
    raised_at: str
    resolved_at: str | None


class ThresholdIn(BaseModel):
    store: Annotated[str, Field(min_length=1, max_length=200)]
    item: Annotated[str, Field(min_length=1, max_length=200)]
    minimum: Annotated[int, Field(ge=0, le=10**12)]


class Threshold(ThresholdIn):
    updated_at: str


def _report(record: Any) -> Report:
    data: dict[str, Any] = {
        "id": record.id,
        "file": record.filename,
        "status": record.status,
        "received_at": record.received_at,
        "finished_at": record.finished_at,
    }
    if record.report is not None:
        full = record.report.to_json()
        for key in (
            "rows_loaded",
            "rows_unchanged",
            "rows_superseded",
            "rows_rejected",
            "message",
            "errors",
            "warnings",
            "alerts",
            "alerts_total",
        ):
            data[key] = full[key]
    return Report(**data)


def _cursor(store: str, item: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([store, item]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        store, item = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(store, str) or not isinstance(item, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(422, "the cursor is not one this API gave out") from None
    return store, item


def build_router(ctx: ServerContext) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.post("/uploads", status_code=202, response_model=Queued)
    async def create_upload(request: Request, strict: bool = False) -> JSONResponse:
        """Upload an inventory file: a multipart field ``file``, or a raw CSV body."""
        name, stored = await receive_upload(request, ctx.db().objects, ctx.limits.max_file_bytes)
        upload_id = await run_in_threadpool(lambda: ctx.db().register(name, stored, strict))
        ctx.wake_worker()
        return JSONResponse(
            {"id": upload_id, "status": "queued"},
            status_code=202,
            headers={"Location": f"/api/uploads/{upload_id}"},
        )

    @api.get("/uploads/{upload_id}", response_model=Report)
    def get_upload(upload_id: Annotated[int, Field(ge=1, le=2**62)]) -> Report:
        record = ctx.db().upload(upload_id)
        if record is None:
            raise HTTPException(404, f"there is no upload {upload_id}")
        return _report(record)

    @api.get("/uploads", response_model=UploadPage)
    def list_uploads(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    ) -> UploadPage:
        records = ctx.db().uploads(limit, before)
        next_before = records[-1].id if len(records) == limit else None
        return UploadPage(uploads=[_report(r) for r in records], next_before=next_before)

    @api.get("/stores", response_model=list[Store])
    def list_stores() -> list[dict[str, Any]]:
        return queries.stores(ctx.db().conn)

    @api.get("/stock", response_model=StockPage)
    def list_stock(
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock"] | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> StockPage:
        after = _decode_cursor(cursor) if cursor else None
        rows = queries.stock_page(ctx.db().conn, store, status, q, after, limit)
        next_cursor = _cursor(rows[-1]["store"], rows[-1]["item"]) if len(rows) == limit else None
        return StockPage(rows=[StockRow(**r) for r in rows], next_cursor=next_cursor)

    @api.get("/stock/{store}/{item}/history", response_model=list[HistoryPoint])
    def item_history(store: str, item: str) -> list[dict[str, Any]]:
        points = queries.history(ctx.db().conn, store, item)
        if not points:
            raise HTTPException(404, f"no stock of {item!r} in {store!r}")
        return points

    @api.get("/alerts", response_model=list[Alert])
    def list_alerts(
        open: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    ) -> list[dict[str, Any]]:
        return queries.alerts(ctx.db().conn, open_only=open, limit=limit)

    @api.get("/thresholds", response_model=list[Threshold])
    def list_thresholds() -> list[dict[str, Any]]:
        return queries.thresholds(ctx.db().conn)

    @api.put("/thresholds", response_model=list[Threshold])
    def put_thresholds(entries: list[ThresholdIn]) -> list[dict[str, Any]]:
        """Set (or replace) thresholds; ``*`` as store or item means all."""
        cleaned = [(e.store.strip(), e.item.strip(), e.minimum) for e in entries]
        if any(not s or not i for s, i, _ in cleaned):
            raise HTTPException(422, "store and item must not be blank; use * to mean all")
        queries.set_thresholds(ctx.db().conn, cleaned)
        return queries.thresholds(ctx.db().conn)

    @api.get("/events")
    async def events() -> StreamingResponse:
        """Server-Sent Events: upload, stock and alerts, as they happen."""
        return StreamingResponse(
            ctx.bus.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return api
