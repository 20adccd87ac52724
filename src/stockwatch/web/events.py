"""Live events for the dashboard: published from worker threads, read by SSE streams."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

QUEUE_SIZE = 256
Event = tuple[str, dict[str, Any]]
# What one subscriber is shown of an event: its data, trimmed, or None to leave it out.
EventView = Callable[[str, dict[str, Any]], dict[str, Any] | None]
_RESYNC: Event = ("resync", {})


class EventBus:
    def __init__(self) -> None:
        self.closed = False
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]] = set()

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
        self, heartbeat: float = 15.0, view: EventView | None = None
    ) -> AsyncIterator[str]:
        """The events as SSE text; ``view`` decides what this subscriber may see of each."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        entry = (loop, queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield "event: hello\ndata: {}\n\n"
            idle = 0.0
            while not self.closed:
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


def _offer(queue: asyncio.Queue[Event], message: Event) -> None:
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        message = _RESYNC
    queue.put_nowait(message)
