"""The JSON API under ``/api``, written once over the ``WebBackend`` port."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from stockwatch.core.export import stock_csv
from stockwatch.core.paging import walk_stock
from stockwatch.core.rows import (
    AlertRow,
    HistoryPoint,
    StockRow,
    StoreSummary,
    ThresholdRow,
    UploadRow,
)
from stockwatch.service.reads import ReadModel, UploadIdError
from stockwatch.service.thresholds import ThresholdError, set_thresholds
from stockwatch.web.backend import WebBackend

MAX_PAGE = 500


class Queued(BaseModel):
    id: int | str
    status: Literal["queued"]


class UploadPage(BaseModel):
    uploads: list[UploadRow]
    next_before: int | str | None


class StockPage(BaseModel):
    rows: list[StockRow]
    next_cursor: str | None


class ThresholdIn(BaseModel):
    store: Annotated[str, Field(min_length=1, max_length=200)]
    item: Annotated[str, Field(min_length=1, max_length=200)]
    minimum: Annotated[int, Field(ge=0, le=10**12)]


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


def _upload(model: ReadModel, upload_id: str) -> UploadRow | None:
    try:
        return model.upload(upload_id)
    except UploadIdError as exc:
        raise HTTPException(422, str(exc)) from None


def build_router(backend: WebBackend) -> APIRouter:
    api = APIRouter(prefix="/api")

    @api.post("/uploads", status_code=202, response_model=Queued)
    async def create_upload(request: Request, strict: bool = False) -> JSONResponse:
        """Upload an inventory file: a multipart field ``file``, or a raw CSV body."""
        upload_id = await backend.accept_upload(request, strict)
        return JSONResponse(
            {"id": int(upload_id) if upload_id.isdigit() else upload_id, "status": "queued"},
            status_code=202,
            headers={"Location": f"/api/uploads/{upload_id}"},
        )

    @api.get("/uploads/{upload_id}", response_model=UploadRow)
    def get_upload(upload_id: Annotated[str, Path(max_length=1024)]) -> UploadRow:
        found = _upload(backend.model(), upload_id)
        if found is None:
            raise HTTPException(404, f"there is no upload {upload_id}")
        return found

    @api.get("/uploads", response_model=UploadPage)
    def list_uploads(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        before: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> UploadPage:
        try:
            records = backend.model().uploads(limit, before)
        except UploadIdError as exc:
            raise HTTPException(422, f"before: {exc}") from None
        next_before = records[-1].id if len(records) == limit else None
        return UploadPage(uploads=records, next_before=next_before)

    @api.get("/stores", response_model=list[StoreSummary])
    def list_stores() -> list[StoreSummary]:
        return backend.model().stores()

    @api.get("/stock", response_model=StockPage)
    def list_stock(
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock"] | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> StockPage:
        after = _decode_cursor(cursor) if cursor else None
        rows = backend.model().stock_page(store, status, q, after, limit)
        next_cursor = _cursor(rows[-1].store, rows[-1].item) if len(rows) == limit else None
        return StockPage(rows=rows, next_cursor=next_cursor)

    @api.get("/stock.csv", response_class=StreamingResponse)
    def export_stock(
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock"] | None = None,
    ) -> StreamingResponse:
        """Stock as CSV for a spreadsheet; names that look like formulas are neutralised."""
        model = backend.model()
        rows = walk_stock(
            lambda after, n: model.stock_page(store, status, None, after, n), size=MAX_PAGE
        )
        name = "stock.csv" if store is None else "stock-store.csv"
        return StreamingResponse(
            stock_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.get("/stock/{store}/{item}/history", response_model=list[HistoryPoint])
    def item_history(store: str, item: str) -> list[HistoryPoint]:
        points = backend.model().history(store, item)
        if not points:
            raise HTTPException(404, f"no stock of {item!r} in {store!r}")
        return points

    @api.get("/alerts", response_model=list[AlertRow])
    def list_alerts(
        open: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    ) -> list[AlertRow]:
        return backend.model().alerts(open, limit)

    @api.get("/thresholds", response_model=list[ThresholdRow])
    def list_thresholds() -> list[ThresholdRow]:
        return backend.model().thresholds()

    @api.put("/thresholds", response_model=list[ThresholdRow])
    def put_thresholds(entries: list[ThresholdIn]) -> list[ThresholdRow]:
        """Set (or replace) thresholds; ``*`` as store or item means all."""
        model = backend.model()
        try:
            set_thresholds(model, [(e.store, e.item, e.minimum) for e in entries])
        except ThresholdError as exc:
            raise HTTPException(422, str(exc)) from None
        return model.thresholds()

    bus = backend.bus
    if bus is not None:

        @api.get("/events")
        async def events() -> StreamingResponse:
            """Server-Sent Events: upload, stock and alerts, as they happen."""
            return StreamingResponse(
                bus.stream(),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

    return api
