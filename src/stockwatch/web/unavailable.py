"""What the API answers while it cannot start: 503 with a JSON message, never a traceback.

On Lambda the app is built on the first request; if its token cannot be read (the secret
deleted, a policy missing), every request gets this until it can, and the log says what
to fix. A store manager's browser sees a message, not a stack trace from API Gateway.
"""

from __future__ import annotations

import json
from typing import Any

RETRY_AFTER_S = 30


def unavailable_app(reason: str) -> Any:
    body = json.dumps(
        {"message": f"stockwatch is not available: {reason}", "retry_after_s": RETRY_AFTER_S}
    ).encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(RETRY_AFTER_S).encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
