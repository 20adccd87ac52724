"""Live events for the dashboard: published from worker threads, read by SSE streams."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

QUEUE_SIZE = 256
TICKET_S = 60.0  # a stream ticket is good this long, and once
MAX_TICKETS = 10_000
RECHECK_S = 15.0  # a stream's sign-in is checked again this often: revoked, it ends
Event = tuple[str, dict[str, Any]]
# What one subscriber is shown of an event: its data, trimmed, or None to leave it out.
EventView = Callable[[str, dict[str, Any]], dict[str, Any] | None]
_RESYNC: Event = ("resync", {})


def _limit(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


class TooManyStreams(Exception):
    """Every stream this signer, or the server, may hold is open; the message says which."""


class EventBus:
    """Live events, to at most ``STOCKWATCH_MAX_EVENT_STREAMS`` streams in all and
    ``STOCKWATCH_MAX_EVENT_STREAMS_PER_USER`` per signer (a dashboard needs one)."""

    def __init__(self, total: int | None = None, per_user: int | None = None) -> None:
        self.closed = False
        self.total = total if total is not None else _limit("STOCKWATCH_MAX_EVENT_STREAMS", 200)
        self.per_user = (
            per_user
            if per_user is not None
            else _limit("STOCKWATCH_MAX_EVENT_STREAMS_PER_USER", 10)
        )
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = set()
        self._held: dict[str, int] = {}
        self._tickets: dict[str, tuple[str | None, float]] = {}

    def ticket(self, credential: str | None) -> str:
        """A single-use ticket for one event stream, good for ``TICKET_S`` seconds: an
        EventSource cannot send headers, and a token in a URL ends up in proxies' logs."""
        made = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            for old in [t for t, (_, until) in self._tickets.items() if until < now]:
                del self._tickets[old]
            if len(self._tickets) >= MAX_TICKETS:
                self._tickets.pop(next(iter(self._tickets)))
            self._tickets[made] = (credential, now + TICKET_S)
        return made

    def redeem(self, ticket: str) -> tuple[bool, str | None]:
        """(True, the credential it was issued for) once; (False, None) after that or late."""
        with self._lock:
            found = self._tickets.pop(ticket, None)
        if found is None or found[1] < time.monotonic():
            return False, None
        return True, found[0]

    def admit(self, who: str) -> None:
        """Count a stream for ``who`` (released when the stream ends), or refuse it."""
        with self._lock:
            if sum(self._held.values()) >= self.total:
                raise TooManyStreams(f"the server has its {self.total} live streams open")
            if self._held.get(who, 0) >= self.per_user:
                raise TooManyStreams(f"{who} has {self.per_user} live streams open already")
            self._held[who] = self._held.get(who, 0) + 1

    def release(self, who: str) -> None:
        with self._lock:
            left = self._held.get(who, 0) - 1
            if left > 0:
                self._held[who] = left
            else:
                self._held.pop(who, None)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Callable from any thread; a subscriber that falls behind is told to resync."""
        message = (kind, data)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, message)
            except RuntimeError:  # that loop has closed
                with self._lock:
                    self._subscribers.discard((loop, queue))

    def close(self) -> None:
        """End every stream within a second, so that shutting down need not wait for them."""
        self.closed = True

    async def stream(
        self,
        heartbeat: float = 15.0,
        view: EventView | None = None,
        admitted: str | None = None,
        still_signed_in: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[str]:
        """The events as SSE text; ``view`` decides what this subscriber may see of each;
        ``admitted``: whose admitted stream this is, released when it ends;
        ``still_signed_in`` is asked every ``RECHECK_S`` seconds, and the stream ends
        (with a ``signed-out`` event) once it says no: a revoked or rotated token."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        entry = (loop, queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield "event: hello\ndata: {}\n\n"
            idle = 0.0
            checked = loop.time()
            while not self.closed:
                if still_signed_in is not None and loop.time() - checked >= RECHECK_S:
                    checked = loop.time()
                    if not await still_signed_in():
                        yield "event: signed-out\ndata: {}\n\n"
                        return
                try:
                    kind, data = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    idle += 1.0
                    if idle >= heartbeat:
                        idle = 0.0
                        yield ": keep-alive\n\n"
                    continue
                shown = data if view is None else view(kind, data)
                if shown is not None:
                    idle = 0.0
                    yield f"event: {kind}\ndata: {json.dumps(shown)}\n\n"
        finally:
            with self._lock:
                self._subscribers.discard(entry)
            if admitted is not None:
                self.release(admitted)


def _offer(queue: asyncio.Queue[Event], message: Event) -> None:
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        message = _RESYNC
    queue.put_nowait(message)
