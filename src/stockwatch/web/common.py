"""What every router of the API shares: the error shapes, the input models, who signed the
request and the scope check. Each resource has its router beside this module."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from stockwatch.core.access import Principal
from stockwatch.core.subscriptions import SPACE
from stockwatch.service.backend import Backend
from stockwatch.service.reads import ReadModel
from stockwatch.service.scope import OutOfScope, scoped
from stockwatch.web.auth import LOCAL

MAX_PAGE = 500


# One character that is not whitespace as Python's str.strip() knows it, spelled out: a
# client's regex engine (JavaScript's \s, say) may count fewer characters as space.
NOT_BLANK = f"[^{SPACE}]"


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, not text or true/false")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


def _whole_number_or_none(value: Any) -> Any:
    return None if value is None else _whole_number(value)


# A store or an item named in a query string (``?store=&item=``): the routes that act on
# one (store, item) all take it so.
NameQuery = Annotated[str, Query(min_length=1, max_length=200)]


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


# An ISO 8601 date or time, in shape (parse_time says whether it is one). Digits are
# spelled [0-9]: \d is ASCII in the schema's ECMAScript patterns, any digit to Python.
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
TIME_PATTERN = rf"^{_TIME}$"
UNTIL_PATTERN = rf"^({_TIME}|[0-9]{{1,4}} ?[dhwDHW])$"  # a time, or "7d" from now


class AckIn(BaseModel):
    by: Annotated[str | None, Field(max_length=200)] = None
    note: Annotated[str | None, Field(max_length=1000)] = None


class MuteIn(BaseModel):
    store: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    item: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
    # ISO 8601, or a span from now such as 7d, 12h or 2w (``core.clock.parse_until``).
    until: Annotated[str, Field(min_length=2, max_length=40, pattern=UNTIL_PATTERN)]
    by: Annotated[str | None, Field(max_length=200)] = None
    note: Annotated[str | None, Field(max_length=1000)] = None


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


def principal_of(request: Request) -> Principal:
    """Who signed this request (``TokenGuard``); where nobody signs in, the local admin."""
    principal = request.scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else LOCAL


def actor(request: Request) -> str:
    """Who the audit trail names: the signer (the shared token is "admin")."""
    return principal_of(request).name


def client(request: Request) -> str:
    """Who sent it, for an upload's "from" and an acknowledgement: the signer; where nobody
    signs in, "the dashboard" for the server's own pages (a browser says where a request
    comes from) and "api" for any other client."""
    principal = principal_of(request)
    if principal is not LOCAL:
        return principal.name
    headers = request.headers
    browser = headers.get("sec-fetch-site") == "same-origin" or "origin" in headers
    return LOCAL.name if browser else "api"


def signed_in(request: Request, named: str | None) -> str:
    """Who did it: the signed-in user; else, where nobody signs in or the token is shared,
    the name given, or the client (``client``)."""
    principal = principal_of(request)
    if not principal.personal:
        return named or client(request)  # nobody signed in, or a shared token: no name
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


def reader(backend: Backend, request: Request) -> ReadModel:
    """The backend's reads as the signer may see them: only their stores, if limited."""
    return scoped(backend.reads(), principal_of(request).stores)
