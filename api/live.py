"""Fan-out of a session's live messages to its WebSocket clients.

Publishing never waits: each message is serialised once and appended to every subscriber's
bounded queue, which drops its oldest message when full. Each client has its own sender task,
so a client that never reads only loses its own messages; the sensor and the other clients go on.

Published means stored: a message about stored data (a beat, a metrics window, a micro-break
event) is published with ``after=ticket``, the storage ticket of its write
(:attr:`api.storage.Storage.last_ticket`), and held until :meth:`LiveHub.commit_reached` says
that ticket is committed. A message about one stored item (``stored=True``: a beat, a metrics
window, a micro-break event) whose write failed alone (bad data: the writer logs it and stores
the rest of its batch) is never sent (:attr:`LiveHub.write_failed`, counted in
:attr:`LiveHub.unstored_total`): what a client got is stored. Messages leave in the order they
were made (a status waits behind held beats), so ``seq`` still only rises. The held messages are
bounded (:data:`HELD_MAX`; beyond, the oldest is dropped, never sent); a source faster than real
time does not get there: the pipeline waits for a commit once a quarter of a client queue is
held (:attr:`LiveHub.hold_limit`), so a client that keeps up loses nothing at any replay speed,
while a real-time strap (a beat or two a second, commits every 0.1 s) never waits. With no
client subscribed nothing is held (what was held is dropped): a client that subscribes later
starts from its welcome, the state now, which an older message must not follow; what it
missed of the stored items it reads from storage (the hand-over of ``api.routes.live``). For the
same reason a client subscribing while messages are held does not get the held status,
guidance, signal and prompt messages numbered up to the hub's ``seq`` when it subscribed
(:attr:`Subscriber.min_seq`); it does get the held stored items (beats, metrics windows,
micro-break events) numbered above what it already has (:attr:`Subscriber.after_seq`, the
route's cutoff: what it read from storage), once they are committed: a client connecting or
resuming while storage is behind loses none of them. Such a client gets its welcome before the
items (:meth:`Subscriber.welcomed_early`): the cutoff then drops only stored items, and the
status, guidance, signal and prompt messages newer than its welcome reach it, renumbered so that
``seq`` never goes back (a pacing stop made during the outage is not lost).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from api.messages import StatusMessage

__all__ = ["HELD_MAX", "LiveHub", "Subscriber"]

#: Most messages a hub holds while their data is being committed (about 3 MB of JSON).
HELD_MAX = 10_000

#: The types of the messages about a stored item (what a client reads from storage).
STORED_TYPES = frozenset({"beat", "metrics", "micro_break"})


class Subscriber:
    """One client's bounded queue of serialised messages.

    ``min_seq``: the hub's ``seq`` when it subscribed; held messages not about a stored item
    numbered up to it are not queued for it (its welcome, the state then, is newer).
    ``after_seq``: no message numbered up to it is queued for it (it has those items, or reads
    them from storage). ``last_seq``: the highest ``seq`` handed to it (its welcome's at
    first); a notice repeats it.
    """

    def __init__(
        self,
        maxlen: int,
        hub: LiveHub | None = None,
        *,
        min_seq: int = 0,
        after_seq: int | None = None,
    ) -> None:
        self._queue: deque[str] = deque(maxlen=maxlen)
        self._hub = hub
        self.session_id = "" if hub is None else hub.session_id
        self.min_seq = min_seq
        self.after_seq = min_seq if after_seq is None else after_seq
        self.last_seq = self.after_seq
        #: Whether its welcome went out before the items it reads from storage (the database
        #: took no writes: :meth:`welcomed_early`).
        self.early = False
        self._ready = asyncio.Event()
        self._notice = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def put(self, text: str, seq: int | None = None) -> None:
        """Queue a message; a full queue drops its oldest one (counted in ``dropped``).

        ``seq``: its number, when it is a message the hub numbered (kept as ``last_seq``).
        """
        if seq is not None and seq < 2**63:
            self.last_seq = max(self.last_seq, seq)
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            if self._hub is not None:
                self._hub.dropped_total += 1
        self._queue.append(text)
        self._ready.set()

    def put_notice(self, text: str) -> None:
        """Queue a ``storage`` notice (:meth:`LiveHub.publish_notice`)."""
        self.put(text)
        self._notice.set()

    async def wait_notice(self) -> None:
        """Wait until a ``storage`` notice is queued since the last :meth:`take_notices`."""
        await self._notice.wait()

    def take_notices(self, seq: int) -> list[str]:
        """Take the queued ``behind`` notices out of the queue, numbered ``seq``.

        For a client waiting for its items (the hand-over of ``api.routes.live``): a notice is
        no item, and it learns at once that the database takes no writes. A ``caught up``
        notice, and every notice after it, stays queued: it follows what waited for the writes
        (:meth:`skip_through` keeps it after the items read from storage).
        """
        self._notice.clear()
        taken: list[str] = []
        rest: list[str] = []
        caught_up = False
        for text in self._queue:
            if not caught_up and _type_of(text) == "storage":
                if json.loads(text).get("behind"):
                    taken.append(text)
                    continue
                caught_up = True  # from here on everything stays, in order
            rest.append(text)
        if taken:
            self._queue.clear()
            self._queue.extend(rest)
        return [_with_seq(text, seq) for text in taken]

    def welcomed_early(self, state_seq: int) -> None:
        """Its welcome, the state at the hub's ``seq`` ``state_seq``, went out before the items.

        The cutoff (:meth:`skip_through`, ``after_seq``) then applies to stored items only:
        a newer ``status``, ``guidance``, ``signal`` or ``prompt`` message numbered up to it
        (made while the database took no writes, e.g. a pacing stop) is still sent, numbered
        the last ``seq`` handed to it, as a ``storage`` notice is (``seq`` never goes back).
        """
        self.early = True
        self.min_seq = max(self.min_seq, state_seq)

    def wanted(self, seq: int, stored: bool) -> bool:
        """Whether a message numbered ``seq`` (``stored``: a stored item) is queued for it.

        Not one it has or reads from storage (``after_seq``), nor a state older than its
        welcome (``min_seq``); after an early welcome (:meth:`welcomed_early`) a newer message
        that is no stored item is queued whatever its number (:meth:`put_renumbered`).
        """
        if seq <= self.after_seq:
            return not stored and self.early and seq > self.min_seq
        return stored or seq > self.min_seq

    def put_renumbered(self, text: str, seq: int, stored: bool) -> None:
        """Queue ``text``, numbered ``last_seq`` when ``seq`` is not above it.

        A stored item keeps its number (it is the item's).
        """
        if not stored and seq <= self.last_seq:
            self.put(_with_seq(text, self.last_seq), self.last_seq)
        else:
            self.put(text, seq)

    def skip_through(self, seq: int) -> None:
        """The client has every item numbered up to ``seq`` (read from storage): skip those.

        Queued messages numbered up to it are dropped, but a ``storage`` notice, which is no
        item, stays, numbered ``seq`` (``seq`` never goes back); later ones are not queued.
        After an early welcome (:meth:`welcomed_early`) so do the messages that are no stored
        item and newer than the welcome: a pacing stop or a status change made while the
        database took no writes is not lost.
        """
        kept: list[str] = []
        for text in self._queue:
            text_seq = _seq_of(text)
            kind = _type_of(text)
            if text_seq > seq:
                kept.append(text)
            elif kind == "storage" or (
                self.early and kind not in STORED_TYPES and text_seq > self.min_seq
            ):
                kept.append(_with_seq(text, seq))
        self._queue.clear()
        self._queue.extend(kept)
        self.after_seq = max(self.after_seq, seq)
        self.last_seq = max(self.last_seq, seq)

    async def get_batch(self) -> list[str]:
        """Wait for at least one message (or close) and return everything queued."""
        while not self._queue and not self.closed:
            self._ready.clear()
            await self._ready.wait()
        out = list(self._queue)
        self._queue.clear()
        return out

    def close(self) -> None:
        """No more messages: :meth:`get_batch` returns what is queued, then an empty batch."""
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
        #: Highest storage ticket known committed, and the messages waiting for theirs
        #: (``(ticket, seq, text, about, stored)``; ``about``: the ticket of the write it is
        #: about, ``stored``: whether it is a stored item).
        self.committed_ticket = 0
        self._held: deque[tuple[int, int, str, int | None, bool]] = deque()
        #: Whether a committed write failed alone (``api.storage.Storage.write_failed``; set
        #: by the pipeline): a message about it is not sent.
        self.write_failed: Callable[[int], bool] | None = None
        #: Messages not sent because the write they are about failed alone.
        self.unstored_total = 0

    @property
    def n_subscribers(self) -> int:
        """Clients subscribed now."""
        return len(self._subscribers)

    def next_header(self) -> dict[str, Any]:
        """The common fields of the next message: session id, seq and timestamp."""
        return self.header(self.take_seq())

    def take_seq(self) -> int:
        """Number the next message.

        A stored item takes its ``seq`` before its write is queued, so stored ``seq`` order is
        write order (see :mod:`api.routes.live`).
        """
        self.seq += 1
        return self.seq

    def header(self, seq: int) -> dict[str, Any]:
        """The common fields of the message numbered ``seq`` (from :meth:`take_seq`)."""
        return {"session_id": self.session_id, "seq": seq, "timestamp": time.time()}

    def publish_text(self, text: str, *, after: int | None = None, stored: bool = False) -> None:
        """Send ``text`` to every subscriber once storage ticket ``after`` is committed.

        ``after=None``: nothing to wait for, but it still leaves after the messages held
        before it. ``stored``: ``text`` is about the write of ticket ``after`` alone, and is
        not sent if that write failed (:attr:`write_failed`).

        With no subscriber the message goes nowhere, and neither do those held before it
        (:meth:`_forget_held`): a client that subscribes later starts from the welcome
        messages (the state now), and a message older than those must not follow them.
        """
        if not self._subscribers:
            self._forget_held()
            return
        about = after if stored and after else None
        if self._held or (after is not None and after > self.committed_ticket):
            ticket = max(after or 0, self._held[-1][0] if self._held else 0)
            self._held.append((ticket, _seq_of(text), text, about, stored))
            if len(self._held) > HELD_MAX:
                self._held.popleft()
                self.dropped_total += 1
            return
        if self._unstored(about):
            return
        seq = _seq_of(text)
        for sub in self._subscribers:
            if sub.wanted(seq, stored):  # not one it read from storage
                sub.put_renumbered(text, seq, stored)

    def publish_notice(self, make: Callable[[int], str]) -> None:
        """Send ``make(seq)`` to every subscriber at once, ahead of the held messages.

        A notice about the session's delivery itself (``storage``: the held messages wait for
        a database that takes no writes), not a new message: its ``seq`` repeats the last one
        that subscriber was handed (:attr:`Subscriber.last_seq`, its welcome's at first), so
        ``seq`` never goes back for it and a resume by it misses nothing.
        """
        for sub in self._subscribers:
            sub.put_notice(make(max(sub.last_seq, 1)))

    def _unstored(self, ticket: int | None) -> bool:
        """Whether the write of ``ticket`` failed (counted): a message about it is not sent."""
        if ticket is None or self.write_failed is None or not self.write_failed(ticket):
            return False
        self.unstored_total += 1
        return True

    def commit_reached(self, ticket: int) -> None:
        """Storage committed every write up to ``ticket``: send what waited for it."""
        if ticket > self.committed_ticket:
            self.committed_ticket = ticket
        held = self._held
        while held and held[0][0] <= self.committed_ticket:
            _, seq, text, about, stored = held.popleft()
            if self._unstored(about):
                continue
            for sub in self._subscribers:
                # not one it read from storage, nor a state older than its welcome
                if sub.wanted(seq, stored):
                    sub.put_renumbered(text, seq, stored)

    @property
    def n_held(self) -> int:
        """Messages waiting for their data to be committed."""
        return len(self._held)

    @property
    def hold_limit(self) -> int:
        """Held messages at which the producer should wait for a commit (a quarter queue)."""
        return max(1, self.queue_size // 4)

    def publish_status(self, message: StatusMessage) -> None:
        """Publish a ``status`` message and keep it as ``last_status``."""
        self.last_status = message
        self.publish_text(message.model_dump_json())

    def subscribe(self, *, after_seq: int | None = None) -> Subscriber:
        """A new client's queue (closed at once when the session has ended).

        Held messages numbered up to the current ``seq`` that are not stored items are not
        sent to it: its welcome (``api.routes.live``) is the state now, and they are older.
        ``after_seq``: the last item it has (default: the current ``seq``); held stored items
        numbered above it are sent to it once committed.
        """
        after = self.seq if after_seq is None else min(after_seq, self.seq)
        sub = Subscriber(self.queue_size, self, min_seq=self.seq, after_seq=after)
        if self.closed:
            sub.close()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop sending to ``sub`` and close it (the last one: the held messages are dropped)."""
        self._subscribers.discard(sub)
        sub.close()
        if not self._subscribers:
            self._forget_held()

    def _forget_held(self) -> None:
        """Drop the held messages: no client is there to get them.

        Held messages are older than anything a client subscribing later is welcomed with (the
        current status, guidance and signal, ``api.routes.live``); sent after that welcome they
        would show a state that has passed, e.g. the guidance of a practice whose stop was
        published while nobody was subscribed (that message was dropped, the older one kept).
        What a resuming client missed of the stored items it reads from storage.
        """
        self._held.clear()

    def close(self) -> None:
        """The session ended: subscribers get what is queued, then their sockets close."""
        self.closed = True
        for sub in list(self._subscribers):
            sub.close()


def _with_seq(text: str, seq: int) -> str:
    """``text`` numbered ``seq`` (at least 1)."""
    data = json.loads(text)
    data["seq"] = max(seq, 1)
    return json.dumps(data)


def _type_of(text: str) -> object:
    try:
        return json.loads(text).get("type")
    except (ValueError, AttributeError):
        return None


def _seq_of(text: str) -> int:
    """The ``seq`` of a serialised live message (one without: after every subscription)."""
    try:
        seq = json.loads(text).get("seq")
    except (ValueError, AttributeError):
        seq = None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 2**63
