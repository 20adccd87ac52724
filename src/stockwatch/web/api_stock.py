"""``/api/stores``, ``/api/stock`` (and its CSV), ``/api/history``, ``/api/item``,
``/api/costs`` and the live ``/api/events``: what the dashboard reads."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from stockwatch.core.export import stock_csv
from stockwatch.core.paging import walk_stock
from stockwatch.core.rows import DayCost, HistoryPoint, StockQuery, StockRow, StoreSummary
from stockwatch.service.backend import Backend
from stockwatch.service.reads import ReadModel, UnknownName, daily_costs, require_known
from stockwatch.service.scope import event_view
from stockwatch.service.users import authenticate
from stockwatch.web.auth import LOCAL
from stockwatch.web.capabilities import WebCapabilities
from stockwatch.web.common import COMMON_ERRORS, MAX_PAGE, NameQuery, _error, principal_of, reader
from stockwatch.web.events import TICKET_S, TooManyStreams


class StockPage(BaseModel):
    rows: list[StockRow]
    next_cursor: str | None


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


def build_stock_router(backend: Backend, web: WebCapabilities) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    @api.get("/costs", response_model=list[DayCost])
    def list_costs(request: Request, days: Annotated[int, Query(ge=1, le=90)] = 7) -> list[DayCost]:
        """Each day's uploads and what they cost, newest first (dollars only on AWS)."""
        since = (datetime.now(UTC) - timedelta(days=days - 1)).date().isoformat()
        return daily_costs(reader(backend, request), since)

    @api.get("/stores", response_model=list[StoreSummary])
    def list_stores(request: Request) -> list[StoreSummary]:
        return reader(backend, request).stores()

    def known(model: ReadModel, store: str, item: str | None = None) -> None:
        """A name that is not known is a 404 naming the closest, as in the CLI."""
        try:
            require_known(model, [(store, item)])
        except UnknownName as exc:
            raise HTTPException(404, str(exc)) from None

    @api.get("/stock", response_model=StockPage, responses={404: _error("no such store")})
    def list_stock(
        request: Request,
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock", "running_out"] | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> StockPage:
        after = _decode_cursor(cursor) if cursor else None
        model = reader(backend, request)
        rows = model.stock_page(StockQuery(store, status, q, after, limit))
        if not rows and store is not None and after is None:
            known(model, store)
        next_cursor = _cursor(rows[-1].store, rows[-1].item) if len(rows) == limit else None
        return StockPage(rows=rows, next_cursor=next_cursor)

    @api.get(
        "/stock.csv",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            404: _error("no such store"),
        },
    )
    def export_stock(
        request: Request,
        store: Annotated[str | None, Query(max_length=200)] = None,
        status: Literal["out_of_stock", "low_stock", "running_out"] | None = None,
    ) -> StreamingResponse:
        """Stock as CSV for a spreadsheet; names that look like formulas are neutralised."""
        model = reader(backend, request)
        walked = walk_stock(
            lambda after, n: model.stock_page(StockQuery(store, status, None, after, n)),
            size=MAX_PAGE,
        )
        # The first page is read here, before the first byte: a store outside the signer's
        # scope is then a JSON 403, not a broken response.
        first = next(walked, None)
        if first is None and store is not None:
            known(model, store)
        rows = walked if first is None else itertools.chain([first], walked)
        name = "stock.csv" if store is None else "stock-store.csv"
        return StreamingResponse(
            stock_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def history(request: Request, store: str, item: str) -> list[HistoryPoint]:
        model = reader(backend, request)
        points = model.history(store, item)
        if not points:
            known(model, store, item)
            raise HTTPException(404, f"no stock of {item!r} in {store!r}")
        return points

    @api.get(
        "/history",
        response_model=list[HistoryPoint],
        responses={404: _error("no such item in that store")},
    )
    def item_history_by_query(
        request: Request,
        store: NameQuery,
        item: NameQuery,
    ) -> list[HistoryPoint]:
        """How an item's count changed; works for any name, ``/`` included."""
        return history(request, store, item)

    @api.get(
        "/stock/{store}/{item}/history",
        response_model=list[HistoryPoint],
        responses={404: _error("no such item in that store")},
    )
    def item_history(request: Request, store: str, item: str) -> list[HistoryPoint]:
        """The same by path; a ``/`` inside a name is written ``%2F`` (``Echo%2FDot``)."""
        return history(request, store, item)

    @api.get("/stock/{names:path}/history", include_in_schema=False)
    def item_history_slashed(request: Request, names: str) -> list[HistoryPoint]:
        """A name holding ``%2F``: the router sees the decoded path, with one slash too many
        for the route above, so the names are split on the raw path's own slashes."""
        store, item = _path_names(request, names)
        return history(request, store, item)

    @api.get("/item", response_model=list[StockRow])
    def item_everywhere(
        request: Request,
        name: NameQuery,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
    ) -> list[StockRow]:
        """Where is it? The item in every store that has it, with its days of cover."""
        return reader(backend, request).item_everywhere(name, limit)

    bus = web.bus
    if bus is not None:

        @api.post("/events/ticket")
        def events_ticket(request: Request) -> dict[str, Any]:
            """A single-use ticket for ``GET /api/events?ticket=`` within a minute: a browser's
            EventSource cannot send headers, and a token in a URL is logged by proxies."""
            credential = request.scope.get("state", {}).get("credential")
            return {"ticket": bus.ticket(credential), "expires_in": int(TICKET_S)}

        @api.get("/events", responses={503: _error("too many live streams are open")})
        async def events(request: Request) -> Response:
            """Server-Sent Events: upload, stock and alerts, as they happen (for someone
            limited to stores: only theirs). Streams are capped in all and per signer and
            address (503 with Retry-After beyond)."""
            who = principal_of(request)
            holder = f"{who.name}@{request.client.host if request.client else '?'}"
            try:
                bus.admit(holder)
            except TooManyStreams as exc:
                return JSONResponse(
                    {"message": f"{exc}; try again shortly"},
                    status_code=503,
                    headers={"Retry-After": "15"},
                )
            stores = who.stores
            given = request.scope.get("state", {}).get("credential")

            async def still_signed_in() -> bool:
                """The same credential still signs in as the same person (a revoked or
                rotated token does not), or, for the local mode, nobody needs to."""
                if not who.personal and who.name == LOCAL.name:
                    return bool(await run_in_threadpool(web.open_access))
                found = await run_in_threadpool(authenticate, backend.users(), web.token, given)
                return found is not None and found.name == who.name

            return StreamingResponse(
                bus.stream(
                    view=None if stores is None else event_view(stores),
                    admitted=holder,
                    still_signed_in=still_signed_in,
                ),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

    return api


def _path_names(request: Request, names: str) -> tuple[str, str]:
    """Store and item from ``/stock/{store}/{item}/history``, split on the path's own
    slashes: the decoded path has lost which ones were ``%2F`` inside a name."""
    raw = request.scope.get("raw_path")
    if raw:
        text = raw.decode("latin-1").split("?", 1)[0]
        middle = text[text.index("/stock/") + len("/stock/") : text.rindex("/history")]
        parts = [unquote(p) for p in middle.split("/")]
    else:
        parts = names.split("/")
    if len(parts) != 2 or not all(parts):
        raise HTTPException(
            404, "use /api/stock/{store}/{item}/history, with a / inside a name as %2F"
        )
    return parts[0], parts[1]
