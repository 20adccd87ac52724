"""``/api/uploads`` and ``/api/store-settings``: taking files in, their reports, held
snapshots, and which stores send snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from stockwatch.core import layouts
from stockwatch.core.clock import BadTime, parse_time
from stockwatch.core.report import UploadReport
from stockwatch.core.rows import UploadRow
from stockwatch.service.backend import Backend
from stockwatch.service.commands import Confirm, Discard, SetSnapshotDefault, Upload
from stockwatch.service.layouts import save_layout
from stockwatch.service.reads import ReadModel, UnknownName, UploadIdError, require_known
from stockwatch.service.snapshots import set_default
from stockwatch.service.uploads import NoSuchUpload, NotHeld
from stockwatch.web.capabilities import WebCapabilities
from stockwatch.web.common import (
    COMMON_ERRORS,
    MAX_PAGE,
    TIME_PATTERN,
    UPLOAD_BODY,
    StoreSettingIn,
    _error,
    client,
    principal_of,
    reader,
    signed_in,
    within_scope,
)
from stockwatch.web.uploads import receive_upload


class Queued(BaseModel):
    id: int | str
    status: Literal["queued"]


class UploadPage(BaseModel):
    uploads: list[UploadRow]
    next_before: int | str | None


class UploadForm(BaseModel):
    id: str
    url: str
    fields: dict[str, str]
    expires_in: int
    max_bytes: int


def _upload(model: ReadModel, upload_id: str) -> UploadRow | None:
    try:
        return model.upload(upload_id)
    except UploadIdError as exc:
        raise HTTPException(422, str(exc)) from None


def _counted(as_of: str | None) -> str | None:
    try:
        return None if as_of is None else parse_time(as_of)
    except BadTime as exc:
        raise HTTPException(422, f"as_of: {exc}") from None


AS_OF = Query(
    None,
    min_length=10,
    max_length=40,
    pattern=TIME_PATTERN,
    description="When the counts were taken (ISO 8601, not in the future); default: when it"
    " arrives.",
)
SNAPSHOT = Query(
    None,
    description="The file lists every item of the stores it names: what it leaves out is set"
    " to 0. Default: each store's own setting.",
)


LAYOUT = Query(
    None,
    max_length=40,
    description="Read the file as this store system's export (GET /api/layouts); default:"
    " found from the header row.",
)
COLUMNS = Query(
    None,
    max_length=1000,
    description='Map any other file\'s columns: "store=H,item=H,count=H".',
)
STORE = Query(None, max_length=200, description="The store of a file with no store column.")
SHEET = Query(
    None,
    max_length=200,
    description="The sheet of a spreadsheet to read; default: the first a layout reads.",
)


class LayoutIn(BaseModel):
    columns: str = Field(max_length=1000, description='"store=H,item=H,count=H"')
    store: str | None = Field(None, max_length=200, description="for files with no store column")


def _reading(layout: str | None, columns: str | None) -> None:
    if layout is not None and not layouts.NAME.fullmatch(layout):
        raise HTTPException(422, f"layout: {layout!r} is not a layout name")
    if columns is not None:
        try:
            layouts.parse_columns(columns)
        except layouts.LayoutError as exc:
            raise HTTPException(422, str(exc).replace("--columns", "columns")) from None


def asked_upload(
    request: Request,
    strict: bool = False,
    as_of: str | None = AS_OF,
    snapshot: bool | None = SNAPSHOT,
    layout: str | None = LAYOUT,
    columns: str | None = COLUMNS,
    store: str | None = STORE,
    sheet: str | None = SHEET,
) -> Upload:
    """The upload options of a request (query parameters), with who sent it and their
    stores: checked as the file is read. A new upload option is a parameter here."""
    who = principal_of(request)
    _reading(layout, columns)
    return Upload(
        "upload.csv",
        strict,
        _counted(as_of),
        snapshot,
        client(request),
        who.stores,
        layout=layout,
        columns=columns,
        store=store or None,
        sheet=sheet or None,
    )


Asked = Annotated[Upload, Depends(asked_upload)]


def build_uploads_router(backend: Backend, web: WebCapabilities) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)
    id_pattern = web.upload_id_pattern

    async def on_held(
        request: Request, upload_id: str, act: Callable[[str, str], UploadReport]
    ) -> UploadReport:
        """Confirm or discard a held snapshot: only one the signer could read (someone
        limited to stores), 404 for no such upload, 409 for one that is not held."""
        if principal_of(request).stores is not None:  # limited: it must be one they can read
            seen = await run_in_threadpool(_upload, reader(backend, request), upload_id)
            if seen is None:
                raise HTTPException(404, f"there is no upload {upload_id}")
        try:
            return await run_in_threadpool(act, upload_id, signed_in(request, "the API"))
        except NoSuchUpload as exc:
            raise HTTPException(404, str(exc)) from None
        except NotHeld as exc:
            raise HTTPException(409, str(exc)) from None

    @api.get("/layouts")
    async def list_layouts() -> list[dict[str, Any]]:
        """The store systems' exports an upload is read in, the columns each needs, and the
        column mappings saved under a name."""
        saved = await run_in_threadpool(backend.saved_layouts)
        return layouts.describe(sorted(saved.values(), key=lambda s: s.name))

    @api.put("/layouts/{name}", responses={422: _error("a bad name or mapping")})
    async def put_layout(request: Request, name: str, body: LayoutIn) -> dict[str, Any]:
        """Keep a column mapping under ``name``: ``?layout=name`` uses it, and so does an
        upload that gives only ``?store=`` when the mapping was saved for that store."""
        saved = layouts.SavedLayout(name, body.columns, body.store or None)
        try:
            await run_in_threadpool(
                save_layout, backend.save_layout, saved, signed_in(request, "the API")
            )
        except layouts.LayoutError as exc:
            raise HTTPException(422, str(exc).replace("--columns", "columns")) from None
        return saved.to_json()

    @api.delete("/layouts/{name}", status_code=204, responses={404: _error("no such layout")})
    async def delete_layout(name: str) -> None:
        if not await run_in_threadpool(backend.delete_layout, name):
            raise HTTPException(404, f"there is no saved layout {name!r}")

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
        request: Request, asked: Asked, filename: str | None = None
    ) -> JSONResponse:
        """Upload an inventory file: a multipart field ``file``, or a raw CSV body.

        ``filename`` names a raw body; it is declared here and read by the receiver.
        """
        target = backend.upload_target(asked)
        name, stored = await receive_upload(request, target, web.max_body_bytes)
        upload_id = str(await run_in_threadpool(backend.submit, asked.named(name), stored))
        return JSONResponse(
            {"id": int(upload_id) if upload_id.isdigit() else upload_id, "status": "queued"},
            status_code=202,
            headers={"Location": f"/api/uploads/{upload_id}"},
        )

    presign = web.presign
    if presign is not None:

        @api.post("/uploads/form", response_model=UploadForm)
        async def upload_form(
            asked: Asked, filename: str = Query(min_length=1, max_length=200)
        ) -> dict[str, Any]:
            """A signed form to POST a file of any size straight to the bucket (multipart:
            the ``fields``, then ``file``). Who asked and their stores go with the file as
            its metadata, so its rows are checked against them when it is loaded; ``id``
            is the upload to poll once it is sent."""
            form: dict[str, Any] = await run_in_threadpool(presign, asked.named(filename))
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
        report = await on_held(request, upload_id, lambda i, by: backend.confirm(Confirm(i, by)))
        if report.status == "processing":
            return JSONResponse({"upload_id": upload_id, "status": "processing"}, 202)
        return JSONResponse(report.to_json())

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
        report = await on_held(request, upload_id, lambda i, by: backend.discard(Discard(i, by)))
        return JSONResponse(report.to_json())

    @api.put(
        "/store-settings",
        responses={413: _error("the body is over 1 MiB"), 404: _error("no such store")},
    )
    def put_store_settings(
        request: Request, entries: list[StoreSettingIn], new: bool = False
    ) -> dict[str, int]:
        """Whether each store's files are full snapshots unless an upload says otherwise.
        An unknown store (404, with the closest names) changes nothing, unless ``new=true``."""
        within_scope(request, [e.store for e in entries])
        who, names = signed_in(request, "the API"), reader(backend, request)
        try:
            if not new:
                require_known(names, [(e.store, None) for e in entries])
        except UnknownName as exc:
            raise HTTPException(404, f"{exc}; add ?new=true if it is expected") from None
        for entry in entries:
            asked = SetSnapshotDefault(entry.store, entry.snapshot, who, new=True)
            set_default(backend.set_snapshot_default, asked, names=names)
        return {"changed": len(entries)}

    @api.get(
        "/uploads/{upload_id}", response_model=UploadRow, responses={404: _error("no such upload")}
    )
    def get_upload(
        request: Request,
        # Defaults, not annotations: the pattern is this backend's, known only here.
        upload_id: str = Path(max_length=1024, pattern=id_pattern),
    ) -> UploadRow:
        found = _upload(reader(backend, request), upload_id)
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
            records = reader(backend, request).uploads(limit, before)
        except UploadIdError as exc:
            raise HTTPException(422, f"before: {exc}") from None
        next_before = records[-1].id if len(records) == limit else None
        return UploadPage(uploads=records, next_before=next_before)

    return api
