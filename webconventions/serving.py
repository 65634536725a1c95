"""Serving with uvicorn: a server that calls back once it listens, and connection limits.

:class:`AnnouncingServer` calls back once the server listens (to print where, or to tell a
test). :func:`guarded_config` is the ``uvicorn.Config`` both services run with: on top of
uvicorn's own settings it gives every connection a deadline to send a complete request head,
as long for each byte of a body the app waits for (and a minimum average rate for the body,
:data:`MIN_BODY_RATE_BPS`), a longer one for an answer the client takes
none of, and caps the connections open at once (:class:`GuardedConfig`). uvicorn has none of
these: a client that sends half a request head and waits was held for ever, and some thousands
of them used up the process's file descriptors (the attacker review of 2026-12-06); a complete
head whose body never came, or a client that never read, was held for ever too (code review
rev4).
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import logging
import resource
import socket
import sys
import weakref
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from webconventions.limits import HEAD_TIMEOUT_S, MAX_CONNECTIONS, WRITE_STALL_TIMEOUT_S

__all__ = [
    "EVICT_STALLED_AFTER_S",
    "FD_RESERVE",
    "HEAD_TIMEOUT_S",
    "MAX_CONNECTIONS",
    "MIN_BODY_RATE_BPS",
    "WRITE_STALL_TIMEOUT_S",
    "AnnouncingServer",
    "GuardedConfig",
    "GuardedH11Protocol",
    "connection_cap",
    "guard_problems",
    "guarded_config",
    "listen_error",
    "raise_open_file_limit",
]


def listen_error(host: str, port: int, exc: OSError) -> str:
    """Why a server cannot listen on ``host:port``, with what to do (first-day review F5).

    A port in use (``EADDRINUSE``) says so and offers ``--port``; a privileged port
    (``EACCES``) and an address this machine does not have (``EADDRNOTAVAIL``) name theirs;
    any other error gives the system's words.
    """
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is in use (another program, or another hrvpace server, holds "
            "it): stop it, or give --port N (--port 0 takes any free port)"
        )
    if exc.errno == errno.EACCES:
        return f"{where}: this user may not use that port (below 1024?): give --port above 1024"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: this machine has no address {host}: give --host with one of its own"
    return f"{where}: {exc.strerror or exc}"


#: At the cap, a connection whose body or answer made no progress for this long (or for the
#: head deadline, if shorter) may be closed to make room, as one waiting for a head may.
EVICT_STALLED_AFTER_S = 1.0
#: Bytes per second a request body must average, counted from the end of its head, once its
#: first ``head_timeout_s`` have passed: a body is closed when fewer than
#: ``(seconds since the head - head_timeout_s) * MIN_BODY_RATE_BPS`` bytes of it came (code
#: review rev7, finding 3: a byte every 0.8 s held a connection for an hour); at the cap one
#: behind this rate since its head (no grace) may be closed to make room, as a stalled one may.
MIN_BODY_RATE_BPS = 1024.0
#: At start, a warning when the connection cap the open-file limit leaves is below this.
SMALL_CAP = 64
#: File descriptors kept free of connections under the process's limit (database files,
#: uploads' temporary files, BLE, logs).
FD_RESERVE = 128

_log = logging.getLogger(__name__)

_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n"
)


#: Per server (uvicorn's ServerState) and state at their last look: its HTTP connections, in
#: the order their states began (so eviction at the cap finds the one waiting longest without
#: looking at the others, and never looks at busy ones; code review rev7, finding 4).
_GUARDED: weakref.WeakKeyDictionary[Any, dict[str, dict[_HeadGuard, None]]] = (
    weakref.WeakKeyDictionary()
)

# A connection's states (see _HeadGuard).
_WAITING, _RECEIVING, _SENDING, _BUSY = "waiting", "receiving", "sending", "busy"


def connection_cap(max_connections: int) -> int:
    """The connections allowed open at once: ``max_connections``, and room for the rest.

    At most half of what the process's soft ``RLIMIT_NOFILE`` leaves over :data:`FD_RESERVE`
    (and at least 1): a connection may hold a second descriptor (a file being sent, an upload's
    temporary file), and connections must never take the descriptors a running session needs.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, (soft - FD_RESERVE) // 2))


def raise_open_file_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit where allowed; the soft limit after.

    Usual for servers: the soft limit (often 1024) is what :func:`connection_cap` sizes from.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # not allowed here (e.g. a sandbox): keep the soft limit
            return soft
        return hard
    return soft


def _uvicorn_class(module: str, name: str) -> Any:
    """Class ``name`` of uvicorn's module ``module``, or None where a uvicorn has none."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def guard_problems(config: uvicorn.Config) -> list[str]:
    """What keeps the connection limits from working with ``config`` (loaded); [] if nothing.

    The limits rely on uvicorn's internals: the protocol class it serves with must be one of
    the guarded ones, and uvicorn's HTTP protocol and request cycle must have the attributes
    the guard reads (``cycle``, ``flow``, ``response_complete``...; checked from the names
    their code uses, as a later uvicorn may rename them).
    """
    cls = getattr(config, "http_protocol_class", None)
    if not (isinstance(cls, type) and issubclass(cls, _HeadGuard)):
        name = getattr(cls, "__qualname__", repr(cls))
        return [f"uvicorn serves HTTP with {name}, not a guarded protocol"]
    problems = []
    base = next((c for c in cls.__mro__[1:] if c.__module__.startswith("uvicorn.")), None)
    cycle_cls = getattr(
        sys.modules.get(getattr(base, "__module__", "")), "RequestResponseCycle", None
    )
    wanted: list[tuple[Any, str, set[str]]] = [
        (base, "__init__", {"config", "loop", "server_state", "cycle"}),
        (base, "connection_made", {"transport", "flow"}),
        (cycle_cls, "__init__", {"response_complete", "more_body", "waiting_for_100_continue"}),
        # read by the guard too (rev9 finding 1): a body's deadline, the cap's count
        (
            _uvicorn_class("uvicorn.protocols.http.flow_control", "FlowControl"),
            "__init__",
            {"read_paused"},
        ),
        (_uvicorn_class("uvicorn.server", "ServerState"), "__init__", {"connections"}),
    ]
    for owner, method, names in wanted:
        code = getattr(getattr(owner, method, None), "__code__", None)
        missing = names - set(code.co_names) if code is not None else names
        if missing:
            where = f"{getattr(owner, '__qualname__', owner)}.{method}"
            problems.append(f"{where} does not set {', '.join(sorted(missing))}")
    for method in ("on_response_complete", "resume_writing", "data_received"):
        if not callable(getattr(base, method, None)):
            problems.append(f"{getattr(base, '__qualname__', base)} has no {method}")
    return problems


class GuardedConfig(uvicorn.Config):
    """``uvicorn.Config`` with a request-head deadline and a connection cap.

    Parameters
    ----------
    app
        The ASGI app (or an import string, for worker processes).
    head_timeout_s
        Seconds a connection has to send a complete request head; see :data:`HEAD_TIMEOUT_S`.
    max_connections
        Connections open at once (before :func:`connection_cap`); see :data:`MAX_CONNECTIONS`.
    write_stall_timeout_s
        Seconds an unsent answer may go without the client taking any of it; see
        :data:`WRITE_STALL_TIMEOUT_S`.
    **kwargs
        Everything else ``uvicorn.Config`` takes; ``http`` is the guarded protocol class
        unless given (a protocol class given must derive from :class:`GuardedH11Protocol` or
        :class:`GuardedHttpToolsProtocol` for the limits to hold).
    """

    def __init__(
        self,
        app: Any,
        *,
        head_timeout_s: float = HEAD_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        write_stall_timeout_s: float = WRITE_STALL_TIMEOUT_S,
        **kwargs: Any,
    ) -> None:
        if head_timeout_s <= 0:
            raise ValueError(f"head_timeout_s must be > 0, got {head_timeout_s}")
        if write_stall_timeout_s <= 0:
            raise ValueError(f"write_stall_timeout_s must be > 0, got {write_stall_timeout_s}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        kwargs.setdefault("http", _default_protocol())
        super().__init__(app, **kwargs)
        self.head_timeout_s = float(head_timeout_s)
        self.max_connections = int(max_connections)
        self.write_stall_timeout_s = float(write_stall_timeout_s)

    def load(self) -> None:
        """Load as uvicorn does; raise the open-file limit and warn where the limits are weak.

        Warns (once per start) when the cap the open-file limit leaves is under
        :data:`SMALL_CAP`, and when :func:`guard_problems` finds the limits not engaged; then
        serves with uvicorn's own (unguarded) protocol class, as a half-working guard would
        hang every request.
        """
        super().load()
        soft = raise_open_file_limit()
        cap = connection_cap(self.max_connections)
        if cap < min(SMALL_CAP, self.max_connections):
            _log.warning(
                "the open-file limit (ulimit -n: %s) leaves room for %d connections at once; "
                "raise it (ulimit -n 4096, or LimitNOFILE= in a systemd unit)",
                soft,
                cap,
            )
        problems = guard_problems(self)
        for problem in problems:
            _log.warning(
                "connection limits not engaged (no request deadlines, no cap): %s; "
                "is uvicorn's version one hrvpace supports?",
                problem,
            )
        cls = self.http_protocol_class
        if problems and isinstance(cls, type) and issubclass(cls, _HeadGuard):
            # the guard would read what is not there and hang every request (code review
            # rev7, finding 2): serve with uvicorn's own protocol, as the warning says
            base = next((c for c in cls.__mro__[1:] if c.__module__.startswith("uvicorn.")), None)
            if base is not None:
                self.http_protocol_class = base


def guarded_config(
    app: Any,
    *,
    head_timeout_s: float,
    max_connections: int,
    write_stall_timeout_s: float = WRITE_STALL_TIMEOUT_S,
    **kwargs: Any,
) -> GuardedConfig:
    """The :class:`GuardedConfig` both services serve with (``kwargs`` go to uvicorn)."""
    return GuardedConfig(
        app,
        head_timeout_s=head_timeout_s,
        max_connections=max_connections,
        write_stall_timeout_s=write_stall_timeout_s,
        **kwargs,
    )


class _HeadGuard(asyncio.Protocol):
    """What the guarded protocols add to uvicorn's HTTP protocols (a mixin, first base).

    A connection is, at any time, in one of these states (:meth:`_guard_look`):

    - waiting for a request head (none yet, or the last answer complete and sent): closed
      ``head_timeout_s`` after the wait began, however it drips bytes;
    - receiving a body the app waits for (the head complete, ``more_body``, reading not paused
      by uvicorn, no ``100 Continue`` still owed): closed when no byte came for
      ``head_timeout_s``, or when the body fell behind :data:`MIN_BODY_RATE_BPS` (``N`` bytes
      of it must have come within ``head_timeout_s + N / MIN_BODY_RATE_BPS`` of the head);
    - sending (bytes in the transport's write buffer, an answer complete or not, also while the
      transport closes): closed when the buffer did not drain for ``write_stall_timeout_s``;
    - busy (the app works, nothing is owed by the client): left alone.

    A WebSocket (after the upgrade the transport has another protocol) is left alone.
    ``connection_made``: with :func:`connection_cap` connections open, the connection waiting
    longest for a head, or else the first body found stalled (no progress for
    :data:`EVICT_STALLED_AFTER_S`, or ``head_timeout_s`` if less, or behind
    :data:`MIN_BODY_RATE_BPS` since its head after as long), or else the first answer found
    stalled, is closed to make room;
    when there is none, the new connection gets a short 503 and is closed at once.
    """

    _guard_refused = False
    _guard_timer: asyncio.TimerHandle | None = None
    _guard_state: str | None = None  # the state at the last look
    _guard_listed: str | None = None  # the state whose list (_guard_all) holds the connection
    _guard_since = 0.0  # loop time the state's wait (head) or its last progress (body, write)
    _guard_rx = 0.0  # loop time bytes last came in
    _guard_resumed = 0.0  # loop time the transport's buffer last fell below its low mark
    _guard_buffered = 0  # the write buffer's size at the last look
    _guard_cycle: Any = None  # uvicorn's request cycle at the last data_received
    _guard_head_at = 0.0  # loop time that cycle's head was complete (bytes came that made it)
    _guard_body_bytes = 0  # bytes received for that cycle after its head came

    def _guard_self(self) -> Any:
        return self  # the uvicorn protocol this class is mixed into, untyped

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        proto = self._guard_self()
        config = proto.config
        cap = connection_cap(getattr(config, "max_connections", MAX_CONNECTIONS))
        if len(proto.server_state.connections) >= cap and not self._guard_evict():
            self._guard_refused = True
            refused: Any = transport  # a write transport (uvloop's does not derive from it)
            refused.write(_REFUSED)
            refused.close()
            return
        super().connection_made(transport)
        self._guard_rx = proto.loop.time()
        self._guard_check()

    def data_received(self, data: bytes) -> None:
        if self._guard_refused:
            return
        proto = self._guard_self()
        self._guard_rx = proto.loop.time()
        super().data_received(data)
        if proto.cycle is not self._guard_cycle:  # a new request's head came
            self._guard_cycle = proto.cycle
            self._guard_head_at = self._guard_rx
            self._guard_body_bytes = 0
        else:
            self._guard_body_bytes += len(data)
        if proto.transport.get_protocol() is not self:  # upgraded to a WebSocket
            self._guard_stop()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard_stop()
        if not self._guard_refused:
            super().connection_lost(exc)

    def resume_writing(self) -> None:
        self._guard_resumed = self._guard_self().loop.time()
        super().resume_writing()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._guard_state = None  # a new wait (for the next head) or a new send starts now
        self._guard_check()

    def _guard_all(self) -> dict[str, dict[_HeadGuard, None]]:
        """The server's guarded connections by state, in the order their state began."""
        server = self._guard_self().server_state
        guarded = _GUARDED.get(server)
        if guarded is None:
            guarded = _GUARDED[server] = {s: {} for s in (_WAITING, _RECEIVING, _SENDING, _BUSY)}
        return guarded

    def _guard_list(self, state: str | None) -> None:
        """Move the connection to the end of ``state``'s list (None: out of the lists)."""
        guarded = self._guard_all()
        if self._guard_listed is not None:
            guarded[self._guard_listed].pop(self, None)
        self._guard_listed = state
        if state is not None:
            guarded[state][self] = None

    def _guard_stop(self) -> None:
        if self._guard_timer is not None:
            self._guard_timer.cancel()
            self._guard_timer = None
        self._guard_list(None)

    def _guard_look(self, now: float) -> str | None:
        """The connection's state now (None: closing with nothing to send, or not ours)."""
        proto = self._guard_self()
        transport = proto.transport
        if self._guard_refused or transport is None or transport.get_protocol() is not self:
            return None
        buffered = transport.get_write_buffer_size()
        if buffered > 0:
            state = _SENDING
        elif transport.is_closing():
            return None
        else:
            cycle = proto.cycle
            if cycle is None or cycle.response_complete:
                state = _WAITING
            elif (
                cycle.more_body
                and not cycle.waiting_for_100_continue
                and not proto.flow.read_paused
            ):
                state = _RECEIVING
            else:
                state = _BUSY
        if state != self._guard_state:
            # a body is owed from the bytes that completed the head on; else from now
            head_done = state == _RECEIVING and self._guard_state == _WAITING
            self._guard_since = self._guard_rx if head_done else now
            if state == _RECEIVING and not head_done:  # the app reads again (after a pause,
                self._guard_head_at = now  # or 100 Continue): the body's rate counts from now
                self._guard_body_bytes = 0
            self._guard_state = state
            self._guard_list(state)
        elif state == _RECEIVING:
            self._guard_since = max(self._guard_since, self._guard_rx)
        elif state == _SENDING:
            if buffered < self._guard_buffered:
                self._guard_since = now
            self._guard_since = max(self._guard_since, self._guard_resumed)
        self._guard_buffered = buffered
        return state

    def _guard_check(self) -> None:
        """Close the connection if its state passed its deadline; else look again later."""
        proto = self._guard_self()
        if self._guard_timer is not None:
            self._guard_timer.cancel()
            self._guard_timer = None
        now = proto.loop.time()
        state = self._guard_look(now)
        if state is None:
            self._guard_stop()
            return
        config = proto.config
        head_s = getattr(config, "head_timeout_s", HEAD_TIMEOUT_S)
        limit_s = {
            _WAITING: head_s,
            _RECEIVING: head_s,
            _SENDING: getattr(config, "write_stall_timeout_s", WRITE_STALL_TIMEOUT_S),
        }.get(state)
        left_s = None if limit_s is None else self._guard_since + limit_s - now
        if state == _RECEIVING:  # and the body as a whole at MIN_BODY_RATE_BPS at least
            left_s = min(self._guard_since + head_s - now, self._guard_body_left_s(head_s, now))
        if left_s is not None and left_s <= 0:
            self._guard_stop()
            proto.transport.abort()
            return
        if state in (_SENDING, _BUSY):  # look again soon: the state changes unannounced
            left_s = head_s / 2 if left_s is None else min(left_s, head_s / 2)
        assert left_s is not None
        self._guard_timer = proto.loop.call_later(left_s, self._guard_check)

    def _guard_body_left_s(self, grace_s: float, now: float) -> float:
        """Seconds until the body falls behind :data:`MIN_BODY_RATE_BPS` after ``grace_s``."""
        return self._guard_head_at + grace_s + self._guard_body_bytes / MIN_BODY_RATE_BPS - now

    def _guard_evict(self) -> bool:
        """Close a connection to make room for a new one; False if none may go.

        The one waiting longest for a request head goes first; else the first stalled body
        (receiving), else the first stalled answer (sending): a paused download is cut only when
        nothing else can go (code review rev7, finding 1).
        """
        now = self._guard_self().loop.time()
        head_s = getattr(self._guard_self().config, "head_timeout_s", HEAD_TIMEOUT_S)
        stalled_s = min(EVICT_STALLED_AFTER_S, head_s)
        guarded = self._guard_all()
        victim: _HeadGuard | None = None
        for conn in list(guarded[_WAITING]):  # the longest waiting first; busy ones never
            if conn._guard_look(now) == _WAITING:
                victim = conn
                break
        stalled: dict[str, _HeadGuard] = {}
        candidates = [*guarded[_RECEIVING], *guarded[_SENDING]] if victim is None else []
        for conn in candidates:  # a look may find one waiting now (its buffer drained)
            state = conn._guard_look(now)
            if state == _WAITING:
                victim = conn
                break
            if state in (_RECEIVING, _SENDING) and (
                now - conn._guard_since >= stalled_s
                or (  # a body dripped: behind the minimum rate since its head
                    state == _RECEIVING
                    and now - conn._guard_head_at >= stalled_s
                    and conn._guard_body_left_s(0.0, now) <= 0
                )
            ):
                stalled.setdefault(state, conn)
                if state == _RECEIVING:
                    break  # the first stalled body: before any answer
        victim = victim or stalled.get(_RECEIVING) or stalled.get(_SENDING)
        if victim is None:
            return False
        victim._guard_stop()
        victim._guard_self().transport.abort()
        return True


class GuardedH11Protocol(_HeadGuard, H11Protocol):
    """uvicorn's h11 protocol with the head deadline and the connection cap."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is optional for uvicorn
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

if HttpToolsProtocol is not None:

    class GuardedHttpToolsProtocol(_HeadGuard, HttpToolsProtocol):
        """uvicorn's httptools protocol with the head deadline and the connection cap."""

    __all__ += ["GuardedHttpToolsProtocol"]


def _default_protocol() -> type[asyncio.Protocol]:
    """The guarded httptools protocol when httptools is there (as uvicorn's "auto"), else h11."""
    guarded: type[asyncio.Protocol] | None = globals().get("GuardedHttpToolsProtocol")
    return guarded if guarded is not None else GuardedH11Protocol


class AnnouncingServer(uvicorn.Server):
    """``uvicorn.Server`` that calls ``on_started`` after a successful startup.

    Parameters
    ----------
    config
        The uvicorn configuration.
    on_started
        Called once, after the lifespan started and the sockets listen; not called when
        startup failed.
    """

    def __init__(self, config: uvicorn.Config, *, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then call ``on_started`` if the server is up."""
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()
