"""``/api/reorder``, ``/api/ordering``, ``/api/orders`` and ``/api/backtest``: what to order,
through ``service.replenishment``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from stockwatch.core.export import rows_csv
from stockwatch.core.replenishment import OrderingEntry
from stockwatch.service import order_list
from stockwatch.service import replenishment as service
from stockwatch.service.backend import Backend
from stockwatch.service.reads import UnknownName
from stockwatch.web.common import (
    COMMON_ERRORS,
    NOT_BLANK,
    NameQuery,
    _error,
    actor,
    principal_of,
    reader,
    within_scope,
)

# Not blank: something other than spaces (``*`` for all, where settings allow it).
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
# An order is for one store and one item: never ``*``.
NOT_ALL: dict[str, Any] = {"not": {"const": "*"}}
OneName = Annotated[
    str, Field(min_length=1, max_length=200, pattern=NOT_BLANK, json_schema_extra=NOT_ALL)
]
StoreQuery = Annotated[str | None, Query(min_length=1, max_length=200)]
UNKNOWN = _error("no such store or item; the message names the closest")


class OrderingIn(BaseModel):
    """Settings of one (store, item), ``*`` for all; a field left out keeps its value."""

    store: Name
    item: Name
    lead_days: float | None = Field(None, ge=0, le=365)
    review_days: float | None = Field(None, ge=1, le=365)
    service_level: float | None = Field(None, ge=50, le=99.9)
    pack: int | None = Field(None, ge=1, le=1_000_000)
    min_order: int | None = Field(None, ge=0, le=1_000_000_000)


class OrderIn(BaseModel):
    store: OneName
    item: OneName
    quantity: int = Field(ge=1, le=1_000_000_000)
    expected: date | None = Field(None, description="when it should arrive, YYYY-MM-DD")


def build_ordering_router(backend: Backend) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    def checked(call: Any) -> Any:
        try:
            return call()
        except UnknownName as exc:
            raise HTTPException(404, str(exc)) from None
        except service.OrderingError as exc:
            raise HTTPException(422, str(exc)) from None

    def lines(request: Request, store: str | None, everything: bool) -> list[Any]:
        reads = reader(backend, request)
        found: list[Any] = checked(
            lambda: order_list.reorder(reads, backend.order_book(), store, everything)
        )
        return found

    @api.get("/reorder", responses={404: UNKNOWN})
    def get_reorder(
        request: Request, store: StoreQuery = None, all: bool = False
    ) -> list[dict[str, Any]]:
        """What to order now per store and item (``all``: every item), with the reason."""
        return [line.to_json() for line in lines(request, store, all)]

    @api.get("/transfers", responses={404: UNKNOWN})
    def get_transfers(request: Request, store: StoreQuery = None) -> list[dict[str, Any]]:
        """Move before you buy: what stores can spare for others (into or out of ``store``)."""
        reads = reader(backend, request)
        moves = checked(lambda: order_list.transfers(reads, backend.order_book(), store))
        return [
            {"item": m.item, "from": m.source, "to": m.target, "quantity": m.quantity}
            for m in moves
        ]

    @api.get(
        "/reorder.csv",
        response_class=Response,
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            404: UNKNOWN,
        },
    )
    def get_reorder_csv(request: Request, store: StoreQuery = None) -> Response:
        """The order list for a supplier, one line per item (formulas neutralised)."""
        text = "".join(rows_csv(order_list.COLUMNS, lines(request, store, False)))
        name = f"order-{store or 'all'}.csv".replace('"', "")
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @api.get("/ordering")
    def get_ordering(request: Request) -> list[dict[str, Any]]:
        """The ordering settings; a null field is inherited from the broader entries."""
        scope = principal_of(request).stores
        rows = service.settings_rows(backend.order_book())
        return [r for r in rows if scope is None or r["store"] in scope]

    @api.put("/ordering", responses={404: UNKNOWN, 422: _error("a setting out of range")})
    def put_ordering(request: Request, entry: OrderingIn) -> dict[str, Any]:
        """Set how a store orders an item (``*`` for all); returns the entry as kept. A field
        left out keeps its value; a body that sets nothing changes nothing."""
        within_scope(request, [entry.store])
        asked = OrderingEntry(**entry.model_dump(), by=actor(request))
        reads, book = reader(backend, request), backend.order_book()
        if asked.given():
            done = checked(lambda: service.set_ordering(book, asked, names=reads))
        else:  # nothing to set: the entry as it is (PUT is idempotent)
            done = checked(lambda: service.ordering_of(book, asked.store, asked.item, reads))
        return {"store": done.store, "item": done.item, **done.given()}

    @api.delete("/ordering", responses={404: _error("no settings on that store and item")})
    def delete_ordering(
        request: Request,
        store: NameQuery,
        item: NameQuery,
    ) -> dict[str, Any]:
        """Remove the settings set on exactly this store and item (``*`` for all)."""
        within_scope(request, [store])
        try:
            service.delete_ordering(backend.order_book(), store, item)
        except service.OrderingError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"store": store, "item": item, "deleted": True}

    @api.get("/orders")
    def get_orders(request: Request, all: bool = False) -> list[dict[str, Any]]:
        """Open orders (``all``: received ones too), oldest first."""
        scope = principal_of(request).stores
        book = backend.order_book()
        service.open_orders(book, backend.reads())
        return [
            o.to_json() for o in book.orders(open_only=not all) if scope is None or o.store in scope
        ]

    @api.post("/orders", status_code=201, responses={404: UNKNOWN})
    def post_orders(request: Request, orders: list[OrderIn]) -> list[dict[str, Any]]:
        """Record orders placed (the "To order" page's "mark as ordered")."""
        within_scope(request, [o.store for o in orders])
        reads, who = reader(backend, request), actor(request)
        book = backend.order_book()
        return [
            checked(
                lambda o=o: service.add_order(
                    book,
                    o.store,
                    o.item,
                    o.quantity,
                    o.expected.isoformat() if o.expected else None,
                    who,
                    reads,
                )
            ).to_json()
            for o in orders
        ]

    @api.post("/orders/{order_id}/receive", responses={404: _error("no such open order")})
    def receive(request: Request, order_id: Annotated[str, Path(max_length=80)]) -> Any:
        book = backend.order_book()
        found = {o.id: o for o in book.orders(open_only=True)}
        if order_id in found:
            within_scope(request, [found[order_id].store])
        try:
            service.receive_order(book, order_id, actor(request))
        except service.OrderingError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"id": order_id, "received": True}

    @api.get("/backtest", responses={404: UNKNOWN})
    def get_backtest(
        request: Request,
        store: StoreQuery = None,
        days: Annotated[int, Query(ge=7, le=365)] = 28,
    ) -> dict[str, Any]:
        """Each item's recorded demand replayed under the order-up-to policy and min/max."""
        reads = reader(backend, request)
        result: dict[str, Any] = checked(
            lambda: order_list.run_backtest(reads, backend.order_book(), store, days)
        )
        return result

    return api
