"""``/api/alerts`` and ``/api/mutes``: what is out or low, who is on it, what is quiet."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request

from stockwatch.core.clock import BadTime, parse_until
from stockwatch.core.rows import AlertRow, MuteRow
from stockwatch.service.backend import Backend
from stockwatch.service.commands import Acknowledge, Mute, Unmute
from stockwatch.service.reads import (
    AlertError,
    UnknownName,
    acknowledge,
    mute,
    require_known,
    unmute,
)
from stockwatch.service.scope import scoped_notes
from stockwatch.web.common import (
    COMMON_ERRORS,
    MAX_PAGE,
    AckIn,
    MuteIn,
    NameQuery,
    _error,
    actor,
    principal_of,
    reader,
    signed_in,
    within_scope,
)


def build_alerts_router(backend: Backend) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    def notes(request: Request):  # type: ignore[no-untyped-def]
        """Acknowledgements and mutes as the signer may write them: only their stores."""
        stores = principal_of(request).stores
        return scoped_notes(backend.alert_notes(), backend.reads(), stores)

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
        return reader(backend, request).alerts(open_only, limit, store, kind, state == "resolved")

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
            acknowledge(notes(request), Acknowledge(alert_id, who, note), backend.users())
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"id": alert_id, "acknowledged_by": who}

    @api.get("/mutes", response_model=list[MuteRow])
    def list_mutes(request: Request) -> list[MuteRow]:
        return reader(backend, request).mutes()

    @api.put(
        "/mutes",
        responses={413: _error("the body is over 1 MiB"), 404: _error("no such store or item")},
    )
    def put_mutes(request: Request, entries: list[MuteIn], new: bool = False) -> dict[str, int]:
        """Leave items (``*``: a whole store) out of notifications until a time: ISO 8601,
        or a span from now such as ``7d``, ``12h`` or ``2w``. All or none: an unknown store
        or item (404, with the closest names) mutes nothing, unless ``new=true``."""
        within_scope(request, [e.store for e in entries])
        where, names = notes(request), reader(backend, request)
        try:
            if not new:
                require_known(names, [(e.store, e.item) for e in entries])
        except UnknownName as exc:
            raise HTTPException(404, f"{exc}; add ?new=true if it is expected") from None
        for entry in entries:
            try:
                until = parse_until(entry.until)
                who = signed_in(request, entry.by)
                asked = Mute(entry.store, entry.item, until, who, entry.note, new=True)
                mute(where, asked, backend.users(), names=names)
            except (AlertError, BadTime) as exc:
                raise HTTPException(422, f"{entry.store} / {entry.item}: {exc}") from None
        return {"muted": len(entries)}

    @api.delete("/mutes", responses={404: _error("not muted")})
    def delete_mute(
        request: Request,
        store: NameQuery,
        item: NameQuery,
    ) -> dict[str, int]:
        try:
            unmute(notes(request), Unmute(store, item, actor(request)), backend.users())
        except AlertError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"unmuted": 1}

    return api
