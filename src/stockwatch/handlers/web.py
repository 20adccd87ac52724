"""Api: the dashboard and /api behind API Gateway, the same app as ``stockwatch serve``."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from stockwatch.bootstrap import lambda_web_app
from stockwatch.handlers.observability import logger
from stockwatch.web.unavailable import RETRY_AFTER_S

_api: Any = None
_unavailable: tuple[Any, float] | None = None  # the 503 app, and when to try again


def _app() -> Any:
    """Built on the first request and kept; while it cannot be built, tried again at most
    every RETRY_AFTER_S seconds, so fixing the secret needs no redeploy."""
    global _api, _unavailable
    if _api is not None:
        return _api
    if _unavailable is not None and time.monotonic() < _unavailable[1]:
        return _unavailable[0]
    from mangum import Mangum

    app, problem = lambda_web_app()
    # Starlette's ASGIApp and Mangum's ASGI type differ only in how they are spelt.
    handler = Mangum(app, lifespan="off")  # type: ignore[arg-type]
    if problem is None:
        _api, _unavailable = handler, None
    else:
        logger.error("the API cannot start; answering 503", extra={"fix": problem})
        _unavailable = (handler, time.monotonic() + RETRY_AFTER_S)
    return handler


@logger.inject_lambda_context
def api(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = _app()(event, context)
    return response
