"""The subscription routes: "notify me" for anyone signed in with an email, and every
subscription for admins.

The same use cases as the ``subscriptions`` commands (``service.subscriptions``). Anyone
signed in may hold their own subscription, to their own address and within their stores;
subscribing another address or a webhook, and seeing or deleting others', is an admin's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from stockwatch.core.access import Action
from stockwatch.core.subscriptions import EMAIL_PATTERN, SubscriptionError, SubscriptionRow
from stockwatch.service import subscriptions as subs
from stockwatch.service.backend import Backend, NotOnThisBackend
from stockwatch.service.commands import Subscribe, Unsubscribe
from stockwatch.service.users import email_of
from stockwatch.web.common import COMMON_ERRORS, _error, principal_of, within_scope

Kind = Literal["out_of_stock", "low_stock", "running_out", "back_in_stock"]
StoreName = Annotated[str, Field(min_length=1, max_length=200)]


class MineIn(BaseModel):
    """What "notify me" is about; no stores: all of the signer's."""

    stores: list[StoreName] = Field(default_factory=list, max_length=1000)
    kinds: list[Kind] = Field(default_factory=list, max_length=4)


class SubscriptionIn(MineIn):
    """One of ``email`` and ``webhook``."""

    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=254)
    # Control characters and spaces spelled out: ``\s`` is not the same set in the schema's
    # (ECMAScript) regular expressions and in pydantic's (U+0085 is a space to one only).
    webhook: str | None = Field(None, pattern=r"^https?://[^\x00-\x20\x7f-\x9f/]+", max_length=2000)


def build_subscriptions_router(backend: Backend) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    def is_admin(request: Request) -> bool:
        return principal_of(request).may(Action.USERS)

    def store() -> subs.SubscriptionStore:
        try:
            return backend.subscriptions()
        except (SubscriptionError, NotOnThisBackend) as exc:
            raise HTTPException(409, str(exc)) from None

    @api.get("/subscriptions", response_model=list[SubscriptionRow])
    async def list_subscriptions(request: Request) -> list[SubscriptionRow]:
        """An admin's: every subscription. Anyone else's: their own."""
        found = await run_in_threadpool(lambda: store().subscriptions())
        name = principal_of(request).name
        return [s.row() for s in found if is_admin(request) or s.owner == name]

    @api.post(
        "/subscriptions",
        status_code=201,
        response_model=SubscriptionRow,
        responses={409: _error("neither or both of email and webhook")},
    )
    async def add_subscription(request: Request, body: SubscriptionIn) -> SubscriptionRow:
        """Subscribe any address or webhook (admins)."""
        who = principal_of(request)
        if not is_admin(request):
            raise HTTPException(403, "only an admin subscribes other addresses and webhooks")
        return await _add(request, body.email, body.webhook, body.stores, body.kinds, who.name)

    @api.post(
        "/subscriptions/me",
        status_code=201,
        response_model=SubscriptionRow,
        responses={409: _error("the signer has no email address")},
    )
    async def notify_me(request: Request, body: MineIn) -> SubscriptionRow:
        """Send the signer's own digests to their address, for their stores (or some)."""
        who = principal_of(request)
        address = await run_in_threadpool(lambda: email_of(backend.users(), who))
        if not address:
            raise HTTPException(
                409, f"{who.name} has no email address: an admin can add one to the user"
            )
        within_scope(request, body.stores)
        stores = body.stores or (sorted(who.stores) if who.stores is not None else [])
        return await _add(request, address, None, stores, body.kinds, who.name)

    async def _add(
        request: Request,
        email: str | None,
        webhook: str | None,
        stores: list[str],
        kinds: list[Kind],
        owner: str,
    ) -> SubscriptionRow:
        within_scope(request, stores)
        trail = backend.users()
        try:
            made = await run_in_threadpool(
                lambda: subs.add_subscription(
                    store(), trail, Subscribe(owner, email, webhook, tuple(stores), tuple(kinds))
                )
            )
        except SubscriptionError as exc:
            raise HTTPException(409, str(exc)) from None
        return replace(made.row(), secret=made.secret)  # shown this once

    @api.delete("/subscriptions/{subscription_id}", responses={404: _error("no such subscription")})
    async def delete_subscription(
        request: Request, subscription_id: Annotated[str, Path(min_length=1, max_length=200)]
    ) -> dict[str, str]:
        """Admins delete any; anyone else only their own."""
        who = principal_of(request)
        found = await run_in_threadpool(lambda: store().subscriptions())
        mine = [s for s in found if str(s.id) == subscription_id]
        if not mine or not (is_admin(request) or mine[0].owner == who.name):
            raise HTTPException(404, f"there is no subscription {subscription_id} of yours")
        trail = backend.users()
        try:
            await run_in_threadpool(
                lambda: subs.delete_subscription(
                    store(), trail, Unsubscribe(subscription_id, who.name)
                )
            )
        except SubscriptionError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"deleted": subscription_id}

    return api


__all__ = ["build_subscriptions_router"]
