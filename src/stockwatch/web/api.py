"""The JSON API under ``/api``, written once over the ``WebBackend`` port."""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from stockwatch.core.access import Principal
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
from stockwatch.service.scope import OutOfScope, event_view, scoped
from stockwatch.service.thresholds import (
    ThresholdError,
    delete_threshold,
    read_threshold_file,
    set_thresholds,
)
from stockwatch.service.uploads import NoSuchUpload, NotHeld
from stockwatch.web.auth import LOCAL
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


class UploadForm(BaseModel):
    id: str
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int


def principal_of(request: Request) -> Principal:
    """Who signed this request (``TokenGuard``); where nobody signs in, the local admin."""
    principal = request.scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else LOCAL


def actor(request: Request) -> str:
    """Who the audit trail names: the signer (the shared token is "admin")."""
    return principal_of(request).name


def signed_in(request: Request, named: str | None) -> str:
    """Who did it: the signed-in user; else, where nobody signs in or the token is shared,
    the name given."""
    principal = principal_of(request)
    if not principal.personal:
        return named or LOCAL.name  # nobody signed in, or a shared token: no name
    return principal.name


def within_scope(request: Request, stores: Iterable[str]) -> None:
    """A write for these stores by someone limited to others is refused (403): thresholds,
    mutes and store settings; ``*`` (every store) is only for those who have them all."""
    scope = principal_of(request).stores
    if scope is None:
        return
    for store in stores:
        if store not in scope:
            shown = "every store (*)" if store == "*" else f"store {store!r}"
            raise OutOfScope(f"{shown} is not one of yours")


def build_router(backend: WebBackend) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    def reader(request: Request) -> ReadModel:
        """The backend's reads as the signer may see them: only their stores, if limited."""
        return scoped(backend.model(), principal_of(request).stores)

    async def require_visible(request: Request, upload_id: str) -> None:
        """Someone limited to stores may act only on an upload they could read."""
        if principal_of(request).stores is None:
            return
        if await run_in_threadpool(_upload, reader(request), upload_id) is None:
            raise HTTPException(404, f"there is no upload {upload_id}")

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
        # The uploader and its stores go with the file: they are checked where it is read.
        who = principal_of(request)
        upload_id = await backend.accept_upload(
            request, strict, counted, snapshot, who.name, who.stores
        )
        return JSONResponse(
            {"id": int(upload_id) if upload_id.isdigit() else upload_id, "status": "queued"},
            status_code=202,
            headers={"Location": f"/api/uploads/{upload_id}"},
        )

    if getattr(backend, "presigns", False):

        @api.post("/uploads/form", response_model=UploadForm)
        async def upload_form(
            request: Request,
            filename: str = Query(min_length=1, max_length=200),
            strict: bool = False,
            as_of: str | None = Query(None, min_length=10, max_length=40, pattern=TIME_PATTERN),
            snapshot: bool | None = None,
        ) -> dict[str, Any]:
            """A signed form to POST a file of any size straight to the bucket (multipart:
            the ``fields``, then ``file``). Who asked and their stores go with the file as
            its metadata, so its rows are checked against them when it is loaded; ``id``
            is the upload to poll once it is sent."""
            try:
                counted = None if as_of is None else parse_time(as_of)
            except BadTime as exc:
                raise HTTPException(422, f"as_of: {exc}") from None
            who = principal_of(request)
            form: dict[str, Any] = await backend.presign_upload(  # type: ignore[attr-defined]
                filename, strict, counted, snapshot, who.name, who.stores
            )
            return form

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
        request: Request,
        upload_id: str = Path(max_length=1024, pattern=id_pattern),
    ) -> JSONResponse:
        """Apply a snapshot held for confirmation (it would zero over half of a store)."""
        await require_visible(request, upload_id)
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
        await require_visible(request, upload_id)
        try:
            report = await backend.discard(upload_id, signed_in(request, "the API"))
        except NoSuchUpload as exc:
            raise HTTPException(404, str(exc)) from None
        except NotHeld as exc:
            raise HTTPException(409, str(exc)) from None
        return JSONResponse(report)

    @api.put("/store-settings", responses={413: _error("the body is over 1 MiB")})
    async def put_store_settings(request: Request, entries: list[StoreSettingIn]) -> dict[str, int]:
        """Whether each store's files are full snapshots unless an upload says otherwise."""
        within_scope(request, [e.store for e in entries])
        for entry in entries:
            await backend.set_snapshot_default(entry.store, entry.snapshot)
        return {"changed": len(entries)}

    @api.get(
        "/uploads/{upload_id}", response_model=UploadRow, responses={404: _error("no such upload")}
    )
    def get_upload(
        request: Request,
        # Defaults, not annotations: the pattern is this backend's, known only here.
        upload_id: str = Path(max_length=1024, pattern=id_pattern),
    ) -> UploadRow:
        found = _upload(reader(request), upload_id)
        if found is None:
            raise HTTPException(404, f"there is no upload {upload_id}")
        return found

    @api.get("/uploads", response_model=UploadPage)
    def list_uploads(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        before: str | None = Query(None, max_length=1024, pattern=id_pattern),
    ) -> UploadPage:
        try:
            records = reader(request).uploads(limit, before)
        except UploadIdError as exc:
            raise HTTPException(422, f"before: {exc}") from None
        next_before = records[-1].id if len(records) == limit else None
        return UploadPage(uploads=records, next_before=next_before)

    @api.get("/costs", response_model=list[DayCost])
    def list_costs(request: Request, days: Annotated[int, Query(ge=1, le=90)] = 7) -> list[DayCost]:
        """Each day's uploads and what they cost, newest first (dollars only on AWS)."""
        since = (datetime.now(UTC) - timedelta(days=days - 1)).date().isoformat()
        return daily_costs(reader(request), since)

    @api.get("/stores", response_model=list[StoreSummary])
    def list_stores(request: Request) -> list[StoreSummary]:
        return reader(request).stores()

    @api.get("/stock", response_model=StockPage)
    def list_stock(
        request: Request,
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock"] | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> StockPage:
        after = _decode_cursor(cursor) if cursor else None
        rows = reader(request).stock_page(store, status, q, after, limit)
        next_cursor = _cursor(rows[-1].store, rows[-1].item) if len(rows) == limit else None
        return StockPage(rows=rows, next_cursor=next_cursor)

    @api.get(
        "/stock.csv",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
    def export_stock(
        request: Request,
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock"] | None = None,
    ) -> StreamingResponse:
        """Stock as CSV for a spreadsheet; names that look like formulas are neutralised."""
        model = reader(request)
        rows = walk_stock(
            lambda after, n: model.stock_page(store, status, None, after, n), size=MAX_PAGE
        )
        name = "stock.csv" if store is None else "stock-store.csv"
        return StreamingResponse(
            stock_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def history(request: Request, store: str, item: str) -> list[HistoryPoint]:
        points = reader(request).history(store, item)
        if not points:
            raise HTTPException(404, f"no stock of {item!r} in {store!r}")
        return points

    @api.get(
        "/history",
        response_model=list[HistoryPoint],
        responses={404: _error("no such item in that store")},
    )
    def item_history_by_query(
        request: Request,
        store: Annotated[str, Query(min_length=1, max_length=200)],
        item: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> list[HistoryPoint]:
        """How an item's count changed; works for any name, ``/`` included."""
        return history(request, store, item)

    @api.get(
        "/stock/{store}/{item}/history",
        response_model=list[HistoryPoint],
        responses={404: _error("no such item in that store")},
    )
    def item_history(request: Request, store: str, item: str) -> list[HistoryPoint]:
        """The same by path; names holding ``/`` need ``/api/history``."""
        return history(request, store, item)

    @api.get("/alerts", response_model=list[AlertRow])
    def list_alerts(
        request: Request,
        open: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
        store: Annotated[str | None, Query(max_length=200)] = None,
        kind: Literal["out_of_stock", "low_stock", "running_out", "back_in_stock"] | None = None,
        state: Literal["open", "resolved", "all"] = "all",
    ) -> list[AlertRow]:
        """Newest first; ``open=true`` is ``state=open``."""
        open_only = open or state == "open"
        return reader(request).alerts(open_only, limit, store, kind, state == "resolved")

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
            note = body.note if body else None
            acknowledge(reader(request), alert_id, who, note, backend.directory())
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"id": alert_id, "acknowledged_by": who}

    @api.get("/mutes", response_model=list[MuteRow])
    def list_mutes(request: Request) -> list[MuteRow]:
        return reader(request).mutes()

    @api.put("/mutes", responses={413: _error("the body is over 1 MiB")})
    def put_mutes(request: Request, entries: list[MuteIn]) -> dict[str, int]:
        """Leave items (``*``: a whole store) out of notifications until a time."""
        model = reader(request)
        for entry in entries:
            try:
                until = parse_time(entry.until, now=FAR_FUTURE)
                who = signed_in(request, entry.by)
                mute(model, entry.store, entry.item, until, who, entry.note, backend.directory())
            except (AlertError, BadTime) as exc:
                raise HTTPException(422, f"{entry.store} / {entry.item}: {exc}") from None
        return {"muted": len(entries)}

    @api.delete("/mutes", responses={404: _error("not muted")})
    def delete_mute(
        request: Request,
        store: Annotated[str, Query(min_length=1, max_length=200)],
        item: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> dict[str, int]:
        try:
            unmute(reader(request), store, item, actor(request), backend.directory())
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"unmuted": 1}

    @api.get("/item", response_model=list[StockRow])
    def item_everywhere(
        request: Request,
        name: Annotated[str, Query(min_length=1, max_length=200)],
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
    ) -> list[StockRow]:
        """Where is it? The item in every store that has it, with its days of cover."""
        return reader(request).item_everywhere(name, limit)

    @api.delete(
        "/thresholds",
        responses={404: _error("no such threshold")},
    )
    def delete_thresholds(
        request: Request,
        store: Annotated[str, Query(min_length=1, max_length=200)],
        item: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> dict[str, Any]:
        """Remove a threshold; the stock it covered is judged again at once."""
        within_scope(request, [store])
        try:
            change = delete_threshold(
                reader(request), store, item, actor(request), backend.directory()
            )
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
        model = reader(request)
        try:
            entries = read_threshold_file(io.BytesIO(data), "thresholds.csv", backend.limits)
            within_scope(request, [e[0] for e in entries])
            change = set_thresholds(model, entries, actor(request), backend.directory())
        except ThresholdError as exc:
            errors = [{"where": f"line {e.line}", "message": e.message} for e in exc.errors[:100]]
            return JSONResponse({"message": str(exc), "errors": errors}, status_code=422)
        return change.to_json()

    @api.get("/thresholds", response_model=list[ThresholdRow])
    def list_thresholds(request: Request) -> list[ThresholdRow]:
        return reader(request).thresholds()

    @api.post("/thresholds", responses={413: _error("the body is over 1 MiB")})
    def change_thresholds(request: Request, entries: list[ThresholdIn]) -> dict[str, Any]:
        """Set thresholds and say what that did at once: the alerts raised and resolved."""
        within_scope(request, [e.store for e in entries])
        try:
            wanted = [(e.store, e.item, e.minimum, e.cover_days) for e in entries]
            change = set_thresholds(reader(request), wanted, actor(request), backend.directory())
        except ThresholdError as exc:
            raise HTTPException(422, str(exc)) from None
        return change.to_json()

    @api.put(
        "/thresholds",
        response_model=list[ThresholdRow],
        responses={413: _error("the body is over 1 MiB")},
    )
    def put_thresholds(request: Request, entries: list[ThresholdIn]) -> list[ThresholdRow]:
        """Set (or replace) thresholds; ``*`` as store or item means all."""
        within_scope(request, [e.store for e in entries])
        model = reader(request)
        try:
            wanted = [(e.store, e.item, e.minimum, e.cover_days) for e in entries]
            set_thresholds(model, wanted, actor(request), backend.directory())
        except ThresholdError as exc:
            raise HTTPException(422, str(exc)) from None
        return model.thresholds()

    bus = backend.bus
    if bus is not None:

        @api.get("/events")
        async def events(request: Request) -> StreamingResponse:
            """Server-Sent Events: upload, stock and alerts, as they happen (for someone
            limited to stores: only theirs)."""
            stores = principal_of(request).stores
            return StreamingResponse(
                bus.stream(view=None if stores is None else event_view(stores)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

    return api
