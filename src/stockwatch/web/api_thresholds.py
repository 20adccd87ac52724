"""``/api/thresholds`` (and its CSV): minimums that act at once."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from stockwatch.core.rows import ThresholdRow
from stockwatch.service.backend import Backend
from stockwatch.service.commands import DeleteThreshold, SetThresholds
from stockwatch.service.reads import UnknownName
from stockwatch.service.thresholds import (
    ThresholdError,
    delete_threshold,
    read_threshold_file,
    set_thresholds,
)
from stockwatch.web.common import (
    COMMON_ERRORS,
    NameQuery,
    ThresholdIn,
    _error,
    actor,
    reader,
    within_scope,
)

UNKNOWN = _error("no such store or item; the message names the closest")


def build_thresholds_router(backend: Backend) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    def apply(request: Request, asked: SetThresholds) -> Any:
        """The use case, an unknown store or item a 404 with the closest names."""
        names = reader(backend, request)
        try:
            return set_thresholds(backend.threshold_change(), asked, backend.users(), names=names)
        except UnknownName as exc:
            raise HTTPException(404, f"{exc}; add ?new=true if it is expected") from None

    def change(request: Request, entries: list[ThresholdIn], new: bool) -> Any:
        within_scope(request, [e.store for e in entries])
        wanted = [(e.store, e.item, e.minimum, e.cover_days) for e in entries]
        try:
            return apply(request, SetThresholds.of(wanted, actor(request), new))
        except ThresholdError as exc:
            raise HTTPException(422, str(exc)) from None

    @api.delete(
        "/thresholds",
        responses={404: _error("no such threshold")},
    )
    def delete_thresholds(
        request: Request,
        store: NameQuery,
        item: NameQuery,
    ) -> dict[str, Any]:
        """Remove a threshold; the stock it covered is judged again at once."""
        within_scope(request, [store])
        try:
            asked = DeleteThreshold(store, item, actor(request))
            done = delete_threshold(backend.threshold_change(), asked, backend.users())
        except ThresholdError as exc:
            raise HTTPException(404, str(exc)) from None
        return done.to_json()

    @api.put(
        "/thresholds.csv",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
        responses={413: _error("the body is over 1 MiB"), 404: UNKNOWN},
    )
    async def import_thresholds(request: Request, new: bool = False) -> Any:
        """Set thresholds from a CSV (store, item, minimum[, cover_days]); all or nothing."""
        data = await request.body()
        try:
            entries = read_threshold_file(io.BytesIO(data), "thresholds.csv", backend.limits)
            within_scope(request, [e[0] for e in entries])
            asked = SetThresholds.of(entries, actor(request), new)
            done = await run_in_threadpool(apply, request, asked)
        except ThresholdError as exc:
            errors = [{"where": f"line {e.line}", "message": e.message} for e in exc.errors[:100]]
            return JSONResponse({"message": str(exc), "errors": errors}, status_code=422)
        return done.to_json()

    @api.get("/thresholds", response_model=list[ThresholdRow])
    def list_thresholds(request: Request) -> list[ThresholdRow]:
        return reader(backend, request).thresholds()

    @api.post("/thresholds", responses={413: _error("the body is over 1 MiB"), 404: UNKNOWN})
    def change_thresholds(
        request: Request, entries: list[ThresholdIn], new: bool = False
    ) -> dict[str, Any]:
        """Set thresholds and say what that did at once: the alerts raised and resolved.
        An unknown store or item is refused (404) unless ``new=true``."""
        result: dict[str, Any] = change(request, entries, new).to_json()
        return result

    @api.put(
        "/thresholds",
        response_model=list[ThresholdRow],
        responses={413: _error("the body is over 1 MiB"), 404: UNKNOWN},
    )
    def put_thresholds(
        request: Request, entries: list[ThresholdIn], new: bool = False
    ) -> list[ThresholdRow]:
        """Set (or replace) thresholds; ``*`` as store or item means all. An unknown store
        or item is refused (404) unless ``new=true``."""
        change(request, entries, new)
        return reader(backend, request).thresholds()

    return api
