"""The ingest path's group commit: contributions of concurrent requests, one transaction.

``POST /hub/v1/contributions`` hands each validated day to :class:`ContributionWriter`, whose one
thread takes whatever has queued up meanwhile (up to :data:`MAX_BATCH` days) and stores it with
:meth:`hub.store.HubStore.contribute_many`: one token lookup, one ``executemany`` upsert and one
commit per batch instead of per request, and one hand-over between the event loop and a thread
per batch instead of one per request (measured in ``python -m bench.hub``; on a loaded two-core
machine a hand-over cost about as much CPU as the database work). Each request still gets its own
answer: its week, or its own error (unknown token, a closed week, ...), exactly as alone.

A request waits at most for the batch before it; the thread starts with the first contribution
and ends with :meth:`ContributionWriter.close` (the app's shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.store import HubStore

__all__ = ["MAX_BATCH", "ContributionWriter"]

log = logging.getLogger(__name__)

#: At most this many contributions in one transaction.
MAX_BATCH = 256


@dataclass
class _Pending:
    token: str
    day: dt.date
    values: Mapping[str, Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[str]


def _settle(done: list[tuple[asyncio.Future[str], str | Exception]]) -> None:
    """Answer each waiting request of a batch (on its event loop)."""
    for future, outcome in done:
        if future.done():  # the request went away meanwhile (its client disconnected)
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class ContributionWriter:
    """One writer thread storing the contributions of concurrent requests in batches."""

    def __init__(self, store: HubStore, *, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    async def contribute(self, token: str, day: dt.date, values: Mapping[str, Any]) -> str:
        """:meth:`hub.store.HubStore.contribute`, in the next batch; the week's label.

        Raises what :meth:`~hub.store.HubStore.contribute` raises for this day alone, and
        ``RuntimeError`` once the writer is closed.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        with self._lock:  # a close() in between would put its stop marker ahead of this
            self._start()
            self._queue.put(_Pending(token, day, values, loop, future))
        return await future

    def _start(self) -> None:
        """Start the writer thread on first use (the caller holds ``self._lock``)."""
        if self._closed:  # nothing would take it from the queue any more
            raise RuntimeError("the hub is shutting down")
        if self._thread is None:
            thread = threading.Thread(target=self._run, name="hub-ingest", daemon=True)
            thread.start()
            self._thread = thread

    def close(self, timeout_s: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout_s)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                outcomes = self.store.contribute_many([(p.token, p.day, p.values) for p in batch])
            except Exception as exc:  # contribute_many answers per item; this is a bug
                log.exception("storing %d contributions failed", len(batch))
                outcomes = [exc] * len(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
            for p, outcome in zip(batch, outcomes, strict=True):
                by_loop.setdefault(p.loop, []).append((p.future, outcome))
            for loop, done in by_loop.items():
                # RuntimeError: that loop has closed, nobody waits any more
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, done)
