"""A fault-injecting HTTP proxy in front of an AWS-protocol endpoint (moto), on 127.0.0.1.

It forwards every request and, for a seeded random share of DynamoDB calls, answers as a
throttled DynamoDB does: ThrottlingException or ProvisionedThroughputExceededException
(HTTP 400), a TransactWriteItems cancelled with ThrottlingError/TransactionConflict
reasons (nothing applied), or a BatchGetItem whose answer moves some keys to
UnprocessedKeys. The client's own code, retries included, runs unchanged.
"""

from __future__ import annotations

import json
import random
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
PREFIX = "com.amazonaws.dynamodb.v20120810#"


class FaultProxy:
    def __init__(self, upstream: str, rate: float, seed: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self.lock = threading.Lock()
        self.client = httpx.Client(timeout=60)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _roll(self) -> float:
        with self.lock:
            return self.rng.random()

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                operation = target.split(".", 1)[1] if target.startswith("DynamoDB_") else ""
                fault = proxy.fault_for(operation)
                if fault is not None:
                    self._reply(*fault)
                    return
                response = proxy.client.request(
                    self.command,
                    proxy.upstream + self.path,
                    content=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in HOP},
                )
                payload = response.content
                if operation == "BatchGetItem" and response.status_code == 200:
                    payload = proxy.unprocess(json.loads(body), payload)
                headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP}
                if operation:
                    headers["x-amz-crc32"] = str(zlib.crc32(payload) & 0xFFFFFFFF)
                with proxy.lock:
                    proxy.forwarded += 1
                self._reply(response.status_code, payload, headers)

            def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-encoding":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.client.close()

    def fault_for(self, operation: str) -> tuple[int, bytes, dict[str, str]] | None:
        if not operation or self._roll() >= self.rate:
            return None
        if operation == "TransactWriteItems" and self._roll() < 0.5:
            code = "ThrottlingError" if self._roll() < 0.5 else "TransactionConflict"
            with self.lock:
                self.injected[f"TransactionCanceled/{code}"] += 1
            error = {
                "__type": PREFIX + "TransactionCanceledException",
                "message": f"Transaction cancelled, please refer cancellation reasons [{code}]",
                "CancellationReasons": [{"Code": code, "Message": "injected"}],
            }
        elif operation == "BatchGetItem" and self._roll() < 0.5:
            return None  # forwarded; ``unprocess`` may hold some keys back
        else:
            kind = (
                "ThrottlingException"
                if self._roll() < 0.5
                else "ProvisionedThroughputExceededException"
            )
            with self.lock:
                self.injected[kind] += 1
            error = {"__type": PREFIX + kind, "message": "injected: slow down"}
        payload = json.dumps(error).encode()
        return (
            400,
            payload,
            {
                "Content-Type": "application/x-amz-json-1.0",
                "x-amz-crc32": str(zlib.crc32(payload) & 0xFFFFFFFF),
            },
        )

    def unprocess(self, request: dict[str, Any], payload: bytes) -> bytes:
        """Move about half of the answered items of each table to UnprocessedKeys."""
        # The first answer with items is always cut, so each run exercises the retry
        # whatever the dice say; after that, a share of ``rate``.
        if self._roll() >= self.rate and self.injected["UnprocessedKeys"]:
            return payload
        answer = json.loads(payload)
        unprocessed = answer.setdefault("UnprocessedKeys", {})
        for table, items in answer.get("Responses", {}).items():
            asked = request["RequestItems"][table]
            names = set().union(*(k.keys() for k in asked["Keys"])) if asked["Keys"] else set()
            held = items[len(items) // 2 :]
            if not held:
                continue
            answer["Responses"][table] = items[: len(items) // 2]
            entry = dict(asked)
            entry["Keys"] = [{n: item[n] for n in names} for item in held]
            unprocessed[table] = entry
            with self.lock:
                self.injected["UnprocessedKeys"] += len(held)
        return json.dumps(answer).encode()
