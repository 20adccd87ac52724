"""``stockwatch upload``: send files to a running server and wait for their reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from stockwatch.core.report import FINISHED, UploadReport
from stockwatch.service.commands import Upload

BLOCK = 256 * 1024


class RemoteError(Exception):
    """The server could not be used; the message says why."""


def _blocks(path: Path, on_progress: Callable[[int], None] | None) -> Iterator[bytes]:
    sent = 0
    with open(path, "rb") as source:
        while block := source.read(BLOCK):
            sent += len(block)
            if on_progress is not None:
                on_progress(sent)
            yield block


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]


def upload_file(
    client: httpx.Client,
    path: Path,
    command: Upload,
    on_progress: Callable[[int], None] | None = None,
    timeout: float = 600.0,
) -> UploadReport:
    params = {"filename": path.name, **command.asked()}
    try:
        response = client.post(
            "/api/uploads",
            params=params,
            headers={"Content-Type": "text/csv"},
            content=_blocks(path, on_progress),
        )
    except httpx.TransportError as exc:
        raise RemoteError(f"cannot reach the server at {client.base_url}: {exc}") from None
    if response.status_code == 401:
        raise RemoteError("the server needs a token: pass --token or set STOCKWATCH_TOKEN")
    if response.status_code in (413, 415, 422):
        return UploadReport(path.name, None, "rejected", message=_message(response))
    if response.status_code != 202:
        raise RemoteError(f"the server answered {response.status_code}: {_message(response)}")
    upload_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        data: dict[str, Any] = client.get(f"/api/uploads/{upload_id}").json()
        if data["status"] in FINISHED:
            return UploadReport.from_json({**data, "upload_id": upload_id, "file": path.name})
        if time.monotonic() > deadline:
            raise RemoteError(f"upload {upload_id} is still {data['status']} after {timeout:.0f} s")
        time.sleep(0.2)
