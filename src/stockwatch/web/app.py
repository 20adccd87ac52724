"""The FastAPI application: API, dashboard, health and metrics."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockwatch import __version__
from stockwatch.core.access import principal_from_claims
from stockwatch.service.backend import Backend
from stockwatch.service.scope import OutOfScope
from stockwatch.service.users import authenticate
from stockwatch.web.api import build_router
from stockwatch.web.auth import LOCAL, SignInLimiter, action_of, bearer
from stockwatch.web.body_limit import BodyLimit
from stockwatch.web.capabilities import WebCapabilities
from stockwatch.web.guard import SiteGuard

log = logging.getLogger("stockwatch.web")
STATIC = Path(str(resources.files("stockwatch.web") / "static"))
OPEN_PATHS = ("/healthz", "/openapi.json", "/docs", "/static/", "/vendor/", "/favicon")


# The dashboard and /docs load only their own files; nothing may frame them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class HeadAsGet:
    """HEAD wherever GET works: answered as the GET, with its headers and no body. The live
    event stream, which never ends, is left to answer 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or scope["path"] == "/api/events":
            await self.app(scope, receive, send)
            return
        done = False

        async def headers_only(message: Message) -> None:
            nonlocal done
            if done:
                return
            if message["type"] == "http.response.body":
                done = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class SecurityHeaders:
    """Every response says what it may load, that its type is as declared, and no frames."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


def _swagger(name: str) -> Path | None:
    """Swagger UI's files, installed from PyPI with the ``swagger-ui-bundle`` package."""
    import swagger_ui_bundle

    folder = Path(swagger_ui_bundle.swagger_ui_path)
    path = folder / name
    return path if "/" not in name and path.is_file() else None


def _plotly_js() -> Path:
    """The charting library, installed from PyPI with the ``plotly`` package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


class TokenGuard:
    """Every /api call and /metrics signs in, unless nobody is set up to (the loopback mode
    without a token or users); then each is checked against its signer's role.

    Who signed in is left in ``scope["state"]["principal"]`` for the routes that record who
    did something. Failed sign-ins are counted per client and slowed down (``SignInLimiter``).
    """

    def __init__(self, app: ASGIApp, backend: Backend, web: WebCapabilities) -> None:
        self.app = app
        self.backend = backend
        self.web = web
        self.limiter = SignInLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/" or path.startswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        principal = LOCAL
        given: str | None = None
        claims = verified_claims(scope)
        if claims is not None:
            found_in_claims = principal_from_claims(claims)
            if found_in_claims is None:
                message = (
                    "you are signed in but in no stockwatch group (admin, manager, store, viewer)"
                )
                await _refuse(scope, receive, send, 403, message, {})
                return
            principal = found_in_claims
        elif not await run_in_threadpool(self.web.open_access):
            client = request.client.host if request.client else "?"
            given = bearer(request.headers.get("authorization"))
            ticket = request.query_params.get("ticket")
            if given is None and path == "/api/events" and ticket and self.web.bus is not None:
                # EventSource cannot send headers: a single-use ticket stands for the token
                # it was issued against, which is checked again as if it had been sent.
                _, given = self.web.bus.redeem(ticket)
            found = await run_in_threadpool(
                authenticate, self.backend.users(), self.web.token, given
            )
            if found is None:
                # Only failures are slowed down: a valid token is always taken, so one
                # script with a revoked token cannot lock out everyone behind its address.
                wait = self.limiter.wait(client)
                self.limiter.failed(client)
                if wait:
                    log.warning("sign-ins from %s slowed: %d s to wait", client, wait)
                    if self.web.metrics is not None:
                        self.web.metrics.signins_throttled.inc()
                    await _refuse(
                        scope,
                        receive,
                        send,
                        429,
                        f"too many failed sign-ins from {client}; try again in {wait} s",
                        {"Retry-After": str(wait)},
                    )
                    return
                message = (
                    "a token is required: send Authorization: Bearer <token>"
                    if given is None
                    else "that token is not valid (revoked, rotated or mistyped)"
                )
                await _refuse(scope, receive, send, 401, message, {"WWW-Authenticate": "Bearer"})
                return
            principal = found
        action = action_of(request.method, path)
        if not principal.may(action):
            await _refuse(scope, receive, send, 403, principal.refusal(action), {})
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["credential"] = given if claims is None else None
        await self.app(scope, receive, send)


def verified_claims(scope: Scope) -> dict[str, object] | None:
    """The JWT claims API Gateway's authorizer verified, from the Lambda event Mangum keeps
    in the scope. Only API Gateway writes ``requestContext``: a client cannot put claims
    there, and ``serve`` has no event at all, so this is None off AWS."""
    event = scope.get("aws.event")
    if not isinstance(event, dict):
        return None
    jwt = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {})
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    return claims if isinstance(claims, dict) and claims else None


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, message: str, headers: dict[str, str]
) -> None:
    response = JSONResponse({"message": message}, status_code=status, headers=headers)
    await response(scope, receive, send)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route takes at ``path`` (Starlette names only the first route's).

    Each method is tried against the routes as the router would, so routers nested by
    ``include_router`` answer too.
    """
    found = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        if any(route.matches(scope)[0] == Match.FULL for route in app.router.routes):
            found.append(method)
    return found


def create_app(backend: Backend, web: WebCapabilities) -> FastAPI:
    app = FastAPI(
        title="stockwatch",
        version=__version__,
        description="Inventory files in; stock levels and out-of-stock alerts out.",
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(build_router(backend, web))

    def openapi() -> dict[str, Any]:
        """The generated document, plus the bearer token as its security scheme (optional:
        a loopback server may run without one)."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}, {}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Ours and the router's (404, 405) alike: JSON with a ``message``."""
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        message = exc.detail
        if exc.status_code == 404 and message == "Not Found":
            message = f"there is nothing at {request.url.path[:200]}"
        elif exc.status_code == 405 and message == "Method Not Allowed":
            message = f"{request.method} is not allowed here; use {headers['Allow']}"
        return JSONResponse({"message": message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        """A bug: logged with its traceback; the client gets JSON with a message, too."""
        log.exception("%s %s failed", request.method, request.url.path[:200])
        return JSONResponse(
            {"message": "stockwatch failed on this request; the server's log says why"},
            status_code=500,
        )

    @app.exception_handler(OutOfScope)
    async def out_of_scope(request: Request, exc: OutOfScope) -> JSONResponse:
        """A store the signer is not given: refused by name, whatever the route."""
        return JSONResponse({"message": str(exc)}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"where": "", "message": "invalid request"}
        return JSONResponse(
            {"message": f"{first['where']}: {first['message']}", "errors": errors},
            status_code=422,
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        """Up, and which stockwatch on which schema (an operator's first question)."""
        schema = backend.reads().check()
        return {"status": "ok", "version": __version__, "schema": schema}

    registry = web.metrics.registry if web.metrics is not None else None
    if registry is not None:

        @app.get("/metrics", include_in_schema=False)
        def metrics() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/alerts", include_in_schema=False)
    def alerts_page() -> RedirectResponse:
        """The alerts page has an address of its own, for links in messages and bookmarks."""
        return RedirectResponse("/#/alerts", status_code=307)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        path = STATIC / name
        if "/" in name or not path.is_file():
            raise HTTPException(404, "not found")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(
            _plotly_js(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(STATIC / "docs.html", headers={"Cache-Control": "no-cache"})

    @app.get("/vendor/swagger/{name}", include_in_schema=False)
    def swagger(name: str) -> FileResponse:
        path = _swagger(name)
        if path is None:
            raise HTTPException(404, "not found")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> PlainTextResponse:
        return PlainTextResponse("", status_code=204)

    app.add_middleware(BodyLimit)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(TokenGuard, backend=backend, web=web)
    app.add_middleware(SiteGuard, token=web.token, hosts=web.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    return app
