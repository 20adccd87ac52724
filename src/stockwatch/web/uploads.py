"""Receiving an upload over HTTP straight into the object store, never whole into memory.

A raw ``text/csv`` body or one multipart field ``file`` is written block by block as it
arrives; the size limit is checked against Content-Length first and then on every block, so
an oversize upload is refused without being read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from stockwatch.core.filenames import safe_filename
from stockwatch.core.ports import ObjectSink, ObjectTooLarge, StoredObject, UploadTarget

RAW_TYPES = {
    b"text/csv",
    b"text/plain",
    b"application/csv",
    b"application/octet-stream",
    b"text/tab-separated-values",
    b"application/vnd.ms-excel",  # what some browsers call a .csv file, and .xls
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",  # .xlsx
    b"application/vnd.oasis.opendocument.spreadsheet",  # .ods
}
MULTIPART_SLACK = 64 * 1024
# The longest wait for the next block of a body: a client that stops sending holds a
# connection and a .part file, so it is cut off.
BODY_READ_TIMEOUT = 60.0
RATE_GRACE_S = 60.0  # a slow start (a phone line) is fine for this long
MIN_BODY_RATE = 1000  # bytes a second on average, after the grace
log = logging.getLogger("stockwatch.web")


async def body_blocks(request: Request) -> AsyncIterator[bytes]:
    """The request body block by block, each within ``BODY_READ_TIMEOUT`` seconds, and past
    the first ``RATE_GRACE_S`` at ``MIN_BODY_RATE`` bytes a second on average: a client
    sending a byte now and then would otherwise hold a connection and a file for ever."""
    timeout = BODY_READ_TIMEOUT
    stream = request.stream().__aiter__()
    started, received = time.monotonic(), 0
    while True:
        try:
            block = await asyncio.wait_for(stream.__anext__(), timeout)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise HTTPException(408, f"no part of the body came for {timeout:.0f} s") from None
        received += len(block)
        elapsed = time.monotonic() - started
        if elapsed > RATE_GRACE_S and received < MIN_BODY_RATE * elapsed:
            raise HTTPException(
                408,
                f"the body came at {received / elapsed:,.0f} bytes a second; at least"
                f" {MIN_BODY_RATE:,} are needed",
            )
        yield block


def too_large(max_bytes: int) -> HTTPException:
    return HTTPException(
        413, f"the file is larger than the limit of {max_bytes:,} bytes (STOCKWATCH_MAX_FILE_BYTES)"
    )


async def receive_upload(
    request: Request, objects: UploadTarget, max_bytes: int
) -> tuple[str, StoredObject]:
    mime, options = parse_options_header(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + MULTIPART_SLACK:
        raise too_large(max_bytes)
    try:
        if mime == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise HTTPException(422, "the multipart body has no boundary")
            return await _receive_multipart(request, objects, max_bytes, boundary)
        if mime in RAW_TYPES or (not mime and declared == "0"):
            name = safe_filename(request.query_params.get("filename") or "upload.csv")
            writer = objects.writer(objects.new_key(name), max_bytes)
            try:
                async for block in body_blocks(request):
                    writer.write(block)
            except BaseException:
                writer.abort()
                raise
            if writer.size == 0:
                writer.abort()
                raise HTTPException(422, "the upload is empty; send a CSV file")
            return name, writer.commit()
    except ObjectTooLarge:
        raise too_large(max_bytes) from None
    except ClientDisconnect:
        log.info("the client went away during an upload; nothing was kept")
        raise HTTPException(400, "the client went away before the body was complete") from None
    raise HTTPException(
        415,
        f"cannot take content type {mime.decode('latin-1') or '(none)'}: send text/csv with "
        "?filename=, or multipart/form-data with a field named file",
    )


class _FilePart:
    """Collects part headers; writes the first part named ``file`` to the object store."""

    def __init__(self, objects: UploadTarget, max_bytes: int) -> None:
        self.objects = objects
        self.max_bytes = max_bytes
        self.field = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.writer: ObjectSink | None = None
        self.filename = "upload.csv"
        self.current: ObjectSink | None = None
        self.ended = False
        self.files = 0  # parts named file: one upload is one file

    def on_end(self) -> None:
        self.ended = True

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field = self.value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.headers = {}
        self.current = None
        if params.get(b"name") == b"file":
            self.files += 1
        if params.get(b"name") == b"file" and self.writer is None:
            raw = params.get(b"filename", b"upload.csv").decode("utf-8", "replace")
            self.filename = safe_filename(raw)
            self.writer = self.objects.writer(self.objects.new_key(self.filename), self.max_bytes)
            self.current = self.writer

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current is not None:
            self.current.write(data[start:end])

    def on_part_end(self) -> None:
        self.current = None


async def _receive_multipart(
    request: Request, objects: UploadTarget, max_bytes: int, boundary: bytes
) -> tuple[str, StoredObject]:
    part = _FilePart(objects, max_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
            "on_part_data": part.on_part_data,
            "on_part_end": part.on_part_end,
            "on_end": part.on_end,
        },
    )
    received = 0
    try:
        async for block in body_blocks(request):
            # The whole body counts, other fields included, not only the file.
            received += len(block)
            if received > max_bytes + MULTIPART_SLACK:
                raise ObjectTooLarge("the request body is over the limit")
            parser.write(block)
        parser.finalize()
    except (ObjectTooLarge, ClientDisconnect, HTTPException):
        part.abort()
        raise
    except Exception as exc:
        part.abort()
        raise HTTPException(422, f"the multipart body cannot be read: {exc}") from None
    if not part.ended:
        part.abort()
        raise HTTPException(
            422, "the multipart body is incomplete: its closing boundary never came"
        )
    if part.writer is None:
        raise HTTPException(422, "the multipart body has no field named file")
    if part.files > 1:
        part.writer.abort()
        raise HTTPException(
            422, f"the form holds {part.files} files; send one file per upload (nothing was kept)"
        )
    if part.writer.size == 0:
        part.writer.abort()
        raise HTTPException(422, "the uploaded file is empty; send a CSV file")
    return part.filename, part.writer.commit()
