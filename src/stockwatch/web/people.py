"""The people routes: who am I, users (admins) and the audit trail (admins).

The same use cases as the ``users`` and ``audit`` commands (``service.users``,
``service.audit``); ``TokenGuard`` has already refused anyone whose role does not allow the
route (``web.auth.action_of``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from stockwatch.core.access import GRANTS, NAME, AccessError
from stockwatch.core.clock import BadTime, parse_time
from stockwatch.core.subscriptions import EMAIL_PATTERN
from stockwatch.service import users as people
from stockwatch.service.audit import trail
from stockwatch.service.backend import Backend, NotOnThisBackend
from stockwatch.service.commands import AddUser, RevokeUser, RotateToken
from stockwatch.service.users import AuditRow, UserRow
from stockwatch.web.capabilities import WebCapabilities
from stockwatch.web.common import COMMON_ERRORS, TIME_PATTERN, _error, actor, principal_of

NAME_PATH = Path(min_length=1, max_length=64)


class Me(BaseModel):
    name: str
    role: str
    stores: list[str] | None
    may: list[str]
    # True where files go straight to storage through POST /api/uploads/form (AWS)
    upload_form: bool = False
    email: str | None = None  # where "notify me" sends; None: it cannot


class UserIn(BaseModel):
    name: str = Field(pattern=NAME.pattern)
    role: Literal["admin", "manager", "store", "viewer"]
    stores: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=1000
    )
    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=254)


class NewToken(BaseModel):
    name: str
    token: str  # shown this once; only its hash is kept


def build_people_router(backend: Backend, web: WebCapabilities) -> APIRouter:
    api = APIRouter(prefix="/api", responses=COMMON_ERRORS)

    def _subscriptions_or_none() -> people.OwnedSubscriptions | None:
        try:
            return backend.subscriptions()
        except NotOnThisBackend:
            return None  # no alerts topic on this stack: nobody has subscriptions

    @api.get("/me", response_model=Me)
    def me(request: Request) -> Me:
        """Who the token signs in as, and what that role may do (the dashboard asks)."""
        principal = principal_of(request)
        return Me(
            email=people.email_of(backend.users(), principal),
            name=principal.name,
            role=principal.role.value,
            stores=None if principal.stores is None else sorted(principal.stores),
            may=sorted(a.value for a in GRANTS[principal.role]),
            upload_form=web.presign is not None,
        )

    @api.get("/users", response_model=list[UserRow])
    def list_users() -> list[UserRow]:
        return backend.users().users()

    @api.post(
        "/users",
        status_code=201,
        response_model=NewToken,
        responses={409: _error("the name is taken, or the stores do not fit the role")},
    )
    def add_user(request: Request, body: UserIn) -> NewToken:
        """A new user; the answer carries its token, which is never shown again."""
        try:
            asked = AddUser(body.name, body.role, tuple(body.stores), body.email, actor(request))
            token = people.add_user(backend.users(), asked)
        except AccessError as exc:
            # A taken name, or stores that do not fit the role (an admin's, a store user
            # without any): the request is well formed but cannot be done as asked.
            raise HTTPException(409, str(exc)) from None
        return NewToken(name=body.name, token=token)

    @api.delete(
        "/users/{name}",
        responses={
            404: _error("no such live user"),
            409: _error("the last admin: make another admin first"),
        },
    )
    def revoke_user(request: Request, name: Annotated[str, NAME_PATH]) -> dict[str, str]:
        try:
            people.revoke_user(
                backend.users(), RevokeUser(name, actor(request)), _subscriptions_or_none()
            )
        except people.NoSuchUser as exc:
            raise HTTPException(404, str(exc)) from None
        except AccessError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"revoked": name}

    @api.post(
        "/users/{name}/rotate", response_model=NewToken, responses={404: _error("no such user")}
    )
    def rotate_user(request: Request, name: Annotated[str, NAME_PATH]) -> NewToken:
        """A new token; the old one stops working at once."""
        try:
            token = people.rotate_token(backend.users(), RotateToken(name, actor(request)))
        except people.NoSuchUser as exc:
            raise HTTPException(404, str(exc)) from None
        return NewToken(name=name, token=token)

    @api.get("/audit", response_model=list[AuditRow])
    async def audit(
        since: Annotated[str | None, Query(max_length=40, pattern=TIME_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[AuditRow]:
        """Uploads, thresholds, acknowledgements, mutes and user changes, oldest first."""
        try:
            start = None if since is None else parse_time(since)
        except BadTime as exc:
            raise HTTPException(422, f"since: {exc}") from None
        return await run_in_threadpool(trail, backend.users(), backend.reads(), start, limit)

    return api


__all__ = ["build_people_router"]
