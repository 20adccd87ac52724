"""The JSON API under ``/api``, written once over the ``WebBackend`` port."""

from __future__ import annotations

import base64
import binascii
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from stockwatch.core.clock import BadTime, parse_time
from stockwatch.core.export import stock_csv
from stockwatch.core.paging import walk_stock
from stockwatch.core.rows import (
    AlertRow,
    DayCost,
    HistoryPoint,
    MuteRow,
    StockRow,
    StoreSummary,
    ThresholdRow,
    UploadRow,
)
from stockwatch.service.reads import (
    AlertError,
    ReadModel,
    UploadIdError,
    acknowledge,
    daily_costs,
    mute,
    unmute,
)
from stockwatch.service.thresholds import (
    ThresholdError,
    delete_threshold,
    read_threshold_file,
    set_thresholds,
)
from stockwatch.service.uploads import NoSuchUpload, NotHeld
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


# One character that is not whitespace as Python's str.strip() knows it, spelled out: a
# client's regex engine (JavaScript's \s, say) may count fewer characters as space.
NOT_BLANK = r"[^\t-\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, not text or true/false")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


def _whole_number_or_none(value: Any) -> Any:
    return None if value is None else _whole_number(value)


class ThresholdIn(BaseModel):
    # Not blank: something other than spaces (``*`` for all).
    store: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    item: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    # `false` and "7" are not numbers; 7.0 is (JSON Schema's integer).
    minimum: Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_whole_number)]
    # Raise running_out when the item's days of cover falls below this; 0 or null: never.
    cover_days: Annotated[
        int | None, Field(ge=0, le=3650), BeforeValidator(_whole_number_or_none)
    ] = None


# An ISO 8601 date or time, in shape (parse_time says whether it is one).
TIME_PATTERN = r"^\d{4}-\d\d-\d\d([T ][0-9:.]+(Z|[+-]\d\d:?\d\d)?)?$"


class AckIn(BaseModel):
    by: Annotated[str | None, Field(max_length=200)] = None
    note: Annotated[str | None, Field(max_length=1000)] = None


class MuteIn(BaseModel):
    store: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    item: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    until: Annotated[str, Field(min_length=10, max_length=40, pattern=TIME_PATTERN)]
    by: Annotated[str | None, Field(max_length=200)] = None
    note: Annotated[str | None, Field(max_length=1000)] = None


# Mutes end in the future; only an as-of may not.
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)


class StoreSettingIn(BaseModel):
    store: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    snapshot: StrictBool  # 1 and "yes" are not answers here


class ErrorBody(BaseModel):
    """Every error the server sends, whatever raised it."""

    message: str
    errors: list[dict[str, Any]] | None = None


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# What any /api call may answer besides its own success.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("the body cannot be parsed (not JSON, not UTF-8)"),
    401: _error("a token is set and the request did not carry it"),
    403: _error("a cross-site write without a token"),
    421: _error("the Host header names another server"),
    422: _error("a parameter or the body is not valid"),
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "the inventory file: a raw CSV body (with ?filename=), or a form",
        "content": {
            "text/csv": {"schema": {"type": "string", "minLength": 1}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                    "required": ["file"],
                }
            },
        },
    }
}


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


def signed_in(request: Request, named: str | None) -> str:
    """Who did it: the signed-in user; else, where nobody signs in or the token is shared,
    the name given."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None or not principal.personal:
        return named or "the dashboard"  # nobody signed in, or a shared token: no name
    return str(principal.name)


def build_router(backend: WebBackend) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)
    id_pattern = getattr(backend, "upload_id_pattern", None)

    @api.post(
        "/uploads",
        status_code=202,
        response_model=Queued,
        openapi_extra=UPLOAD_BODY,
        responses={
            408: _error("the body stopped arriving"),
            413: _error("the file or the body is over the limit"),
            415: _error("neither text/csv nor a multipart form"),
        },
    )
    async def create_upload(
        request: Request,
        strict: bool = False,
        filename: str | None = None,
        as_of: str | None = Query(
            None,
            min_length=10,
            max_length=40,
            pattern=TIME_PATTERN,
            description="When the counts were taken (ISO 8601, not in the future); default:"
            " when it arrives.",
        ),
        snapshot: bool | None = Query(
            None,
            description="The file lists every item of the stores it names: what it leaves out"
            " is set to 0. Default: each store's own setting.",
        ),
    ) -> JSONResponse:
        """Upload an inventory file: a multipart field ``file``, or a raw CSV body.

        ``filename`` names a raw body; it is declared here and read by the receiver.
        """
        try:
            counted = None if as_of is None else parse_time(as_of)
        except BadTime as exc:
            raise HTTPException(422, f"as_of: {exc}") from None
        upload_id = await backend.accept_upload(request, strict, counted, snapshot)
        return JSONResponse(
            {"id": int(upload_id) if upload_id.isdigit() else upload_id, "status": "queued"},
            status_code=202,
            headers={"Location": f"/api/uploads/{upload_id}"},
        )

    @api.post(
        "/uploads/{upload_id}/confirm",
        responses={
            200: {"description": "the snapshot was applied: its report"},
            202: {"description": "handed on to be applied (AWS): poll the upload"},
            404: _error("no such upload"),
            409: _error("the upload is not waiting for confirmation"),
        },
    )
    async def confirm_upload(
        upload_id: str = Path(max_length=1024, pattern=id_pattern),
    ) -> JSONResponse:
        """Apply a snapshot held for confirmation (it would zero over half of a store)."""
        try:
            report = await backend.confirm(upload_id)
        except NoSuchUpload as exc:
            raise HTTPException(404, str(exc)) from None
        except NotHeld as exc:
            raise HTTPException(409, str(exc)) from None
        status = 202 if report.get("status") == "processing" else 200
        return JSONResponse(report, status_code=status)

    @api.post(
        "/uploads/{upload_id}/discard",
        responses={
            200: {"description": "the snapshot was dropped: its report"},
            404: _error("no such upload"),
            409: _error("the upload is not waiting for confirmation"),
        },
    )
    async def discard_upload(
        request: Request,
        upload_id: str = Path(max_length=1024, pattern=id_pattern),
    ) -> JSONResponse:
        """Drop a snapshot held for confirmation; nothing of it is applied."""
        try:
            report = await backend.discard(upload_id, signed_in(request, "the API"))
        except NoSuchUpload as exc:
            raise HTTPException(404, str(exc)) from None
        except NotHeld as exc:
            raise HTTPException(409, str(exc)) from None
        return JSONResponse(report)

    @api.put("/store-settings", responses={413: _error("the body is over 1 MiB")})
    async def put_store_settings(entries: list[StoreSettingIn]) -> dict[str, int]:
        """Whether each store's files are full snapshots unless an upload says otherwise."""
        for entry in entries:
            await backend.set_snapshot_default(entry.store, entry.snapshot)
        return {"changed": len(entries)}

    @api.get(
        "/uploads/{upload_id}", response_model=UploadRow, responses={404: _error("no such upload")}
    )
    def get_upload(
        # Defaults, not annotations: the pattern is this backend's, known only here.
        upload_id: str = Path(max_length=1024, pattern=id_pattern),
    ) -> UploadRow:
        found = _upload(backend.model(), upload_id)
        if found is None:
            raise HTTPException(404, f"there is no upload {upload_id}")
        return found

    @api.get("/uploads", response_model=UploadPage)
    def list_uploads(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        before: str | None = Query(None, max_length=1024, pattern=id_pattern),
    ) -> UploadPage:
        try:
            records = backend.model().uploads(limit, before)
        except UploadIdError as exc:
            raise HTTPException(422, f"before: {exc}") from None
        next_before = records[-1].id if len(records) == limit else None
        return UploadPage(uploads=records, next_before=next_before)

    @api.get("/costs", response_model=list[DayCost])
    def list_costs(days: Annotated[int, Query(ge=1, le=90)] = 7) -> list[DayCost]:
        """Each day's uploads and what they cost, newest first (dollars only on AWS)."""
        since = (datetime.now(UTC) - timedelta(days=days - 1)).date().isoformat()
        return daily_costs(backend.model(), since)

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

    @api.get(
        "/stock.csv",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
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

    def history(store: str, item: str) -> list[HistoryPoint]:
        points = backend.model().history(store, item)
        if not points:
            raise HTTPException(404, f"no stock of {item!r} in {store!r}")
        return points

    @api.get(
        "/history",
        response_model=list[HistoryPoint],
        responses={404: _error("no such item in that store")},
    )
    def item_history_by_query(
        store: Annotated[str, Query(min_length=1, max_length=200)],
        item: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> list[HistoryPoint]:
        """How an item's count changed; works for any name, ``/`` included."""
        return history(store, item)

    @api.get(
        "/stock/{store}/{item}/history",
        response_model=list[HistoryPoint],
        responses={404: _error("no such item in that store")},
    )
    def item_history(store: str, item: str) -> list[HistoryPoint]:
        """The same by path; names holding ``/`` need ``/api/history``."""
        return history(store, item)

    @api.get("/alerts", response_model=list[AlertRow])
    def list_alerts(
        open: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
        store: Annotated[str | None, Query(max_length=200)] = None,
        kind: Literal["out_of_stock", "low_stock", "running_out", "back_in_stock"] | None = None,
        state: Literal["open", "resolved", "all"] = "all",
    ) -> list[AlertRow]:
        """Newest first; ``open=true`` is ``state=open``."""
        open_only = open or state == "open"
        return backend.model().alerts(open_only, limit, store, kind, state == "resolved")

    @api.post(
        "/alerts/{alert_id}/ack",
        responses={404: _error("no such alert")},
    )
    def ack_alert(
        request: Request,
        alert_id: Annotated[str, Path(min_length=1, max_length=300)],
        body: AckIn | None = None,
    ) -> dict[str, str]:
        """Someone is dealing with it: who and when are recorded; it stays open.

        ``by`` names them where nobody signs in; a signed-in user is who they signed in as.
        """
        who = signed_in(request, body.by if body else None)
        try:
            acknowledge(backend.model(), alert_id, who, body.note if body else None)
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"id": alert_id, "acknowledged_by": who}

    @api.get("/mutes", response_model=list[MuteRow])
    def list_mutes() -> list[MuteRow]:
        return backend.model().mutes()

    @api.put("/mutes", responses={413: _error("the body is over 1 MiB")})
    def put_mutes(request: Request, entries: list[MuteIn]) -> dict[str, int]:
        """Leave items (``*``: a whole store) out of notifications until a time."""
        model = backend.model()
        for entry in entries:
            try:
                until = parse_time(entry.until, now=FAR_FUTURE)
                who = signed_in(request, entry.by)
                mute(model, entry.store, entry.item, until, who, entry.note)
            except (AlertError, BadTime) as exc:
                raise HTTPException(422, f"{entry.store} / {entry.item}: {exc}") from None
        return {"muted": len(entries)}

    @api.delete("/mutes", responses={404: _error("not muted")})
    def delete_mute(
        store: Annotated[str, Query(min_length=1, max_length=200)],
        item: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> dict[str, int]:
        try:
            unmute(backend.model(), store, item)
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"unmuted": 1}

    @api.get("/item", response_model=list[StockRow])
    def item_everywhere(
        name: Annotated[str, Query(min_length=1, max_length=200)],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
    ) -> list[StockRow]:
        """Where is it? The item in every store that has it, with its days of cover."""
        return backend.model().item_everywhere(name, limit)

    @api.delete(
        "/thresholds",
        responses={404: _error("no such threshold")},
    )
    def delete_thresholds(
        store: Annotated[str, Query(min_length=1, max_length=200)],
        item: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> dict[str, Any]:
        """Remove a threshold; the stock it covered is judged again at once."""
        try:
            change = delete_threshold(backend.model(), store, item)
        except ThresholdError as exc:
            raise HTTPException(404, str(exc)) from None
        return change.to_json()

    @api.put(
        "/thresholds.csv",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
        responses={413: _error("the body is over 1 MiB")},
    )
    async def import_thresholds(request: Request) -> Any:
        """Set thresholds from a CSV (store, item, minimum[, cover_days]); all or nothing."""
        data = await request.body()
        model = backend.model()
        try:
            entries = read_threshold_file(io.BytesIO(data), "thresholds.csv", backend.limits)
            change = set_thresholds(model, entries)
        except ThresholdError as exc:
            errors = [{"where": f"line {e.line}", "message": e.message} for e in exc.errors[:100]]
            return JSONResponse({"message": str(exc), "errors": errors}, status_code=422)
        return change.to_json()

    @api.get("/thresholds", response_model=list[ThresholdRow])
    def list_thresholds() -> list[ThresholdRow]:
        return backend.model().thresholds()

    @api.post("/thresholds", responses={413: _error("the body is over 1 MiB")})
    def change_thresholds(entries: list[ThresholdIn]) -> dict[str, Any]:
        """Set thresholds and say what that did at once: the alerts raised and resolved."""
        try:
            change = set_thresholds(
                backend.model(), [(e.store, e.item, e.minimum, e.cover_days) for e in entries]
            )
        except ThresholdError as exc:
            raise HTTPException(422, str(exc)) from None
        return change.to_json()

    @api.put(
        "/thresholds",
        response_model=list[ThresholdRow],
        responses={413: _error("the body is over 1 MiB")},
    )
    def put_thresholds(entries: list[ThresholdIn]) -> list[ThresholdRow]:
        """Set (or replace) thresholds; ``*`` as store or item means all."""
        model = backend.model()
        try:
            set_thresholds(model, [(e.store, e.item, e.minimum, e.cover_days) for e in entries])
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
