"""Fan-out of a session's live messages to its WebSocket clients.

Publishing never waits: each message is serialised once and appended to every subscriber's
bounded queue, which drops its oldest message when full. Each client has its own sender task,
so a client that never reads only loses its own messages; the sensor and the other clients go on.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from api.messages import StatusMessage

__all__ = ["LiveHub", "Subscriber"]


class Subscriber:
    """One client's bounded queue of serialised messages."""

    def __init__(self, maxlen: int, hub: LiveHub | None = None) -> None:
        self._queue: deque[str] = deque(maxlen=maxlen)
        self._hub = hub
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def put(self, text: str) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            if self._hub is not None:
                self._hub.dropped_total += 1
        self._queue.append(text)
        self._ready.set()

    async def get_batch(self) -> list[str]:
        """Wait for at least one message (or close) and return everything queued."""
        while not self._queue and not self.closed:
            self._ready.clear()
            await self._ready.wait()
        out = list(self._queue)
        self._queue.clear()
        return out

    def close(self) -> None:
        self.closed = True
        self._ready.set()


class LiveHub:
    """Numbers a session's messages and hands them to every subscriber.

    Parameters
    ----------
    session_id
        The session this hub serves.
    queue_size
        Per-client queue length (oldest dropped first).
    """

    def __init__(self, session_id: str, *, queue_size: int = 256) -> None:
        self.session_id = session_id
        self.queue_size = queue_size
        self.seq = 0
        self._subscribers: set[Subscriber] = set()
        self.last_status: StatusMessage | None = None
        self.closed = False
        self.dropped_total = 0  # messages dropped for slow clients, all clients together

    @property
    def n_subscribers(self) -> int:
        return len(self._subscribers)

    def next_header(self) -> dict[str, Any]:
        """The common fields of the next message: session id, seq and timestamp."""
        self.seq += 1
        return {"session_id": self.session_id, "seq": self.seq, "timestamp": time.time()}

    def publish_text(self, text: str) -> None:
        for sub in self._subscribers:
            sub.put(text)

    def publish_status(self, message: StatusMessage) -> None:
        self.last_status = message
        self.publish_text(message.model_dump_json())

    def subscribe(self) -> Subscriber:
        sub = Subscriber(self.queue_size, self)
        if self.closed:
            sub.close()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        sub.close()

    def close(self) -> None:
        """The session ended: subscribers get what is queued, then their sockets close."""
        self.closed = True
        for sub in list(self._subscribers):
            sub.close()
