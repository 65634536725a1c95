"""Serving with uvicorn: a server that calls back once it listens, and connection limits.

:class:`AnnouncingServer` calls back once the server listens (to print where, or to tell a
test). :func:`guarded_config` is the ``uvicorn.Config`` both services run with: on top of
uvicorn's own settings it gives every connection a deadline to send a complete request head
and caps the connections open at once (:class:`GuardedConfig`). uvicorn has neither: a client
that sends half a request head and waits was held for ever, and some thousands of them used up
the process's file descriptors (the attacker review of 2026-12-06).
"""

from __future__ import annotations

import asyncio
import resource
import socket
import weakref
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "FD_RESERVE",
    "HEAD_TIMEOUT_S",
    "MAX_CONNECTIONS",
    "AnnouncingServer",
    "GuardedConfig",
    "GuardedH11Protocol",
    "connection_cap",
    "guarded_config",
]

#: Default seconds a connection has to send a complete request head (after it opened, or
#: after the previous response on a kept-alive connection); it is closed when they pass.
HEAD_TIMEOUT_S = 10.0
#: Default cap on the connections (HTTP and WebSocket) open at once.
MAX_CONNECTIONS = 2048
#: File descriptors kept free of connections under the process's limit (database files,
#: uploads' temporary files, BLE, logs).
FD_RESERVE = 128

_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n"
)


#: Per server (uvicorn's ServerState): the connections whose head timer runs, oldest first.
_ARMED: weakref.WeakKeyDictionary[Any, dict[_HeadGuard, None]] = weakref.WeakKeyDictionary()


def connection_cap(max_connections: int) -> int:
    """The connections allowed open at once: ``max_connections``, and room for the rest.

    At most the process's soft ``RLIMIT_NOFILE`` less :data:`FD_RESERVE` (and at least 1), so
    that connections never take the descriptors a running session needs.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - FD_RESERVE))


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
        **kwargs: Any,
    ) -> None:
        if head_timeout_s <= 0:
            raise ValueError(f"head_timeout_s must be > 0, got {head_timeout_s}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        kwargs.setdefault("http", _default_protocol())
        super().__init__(app, **kwargs)
        self.head_timeout_s = float(head_timeout_s)
        self.max_connections = int(max_connections)


def guarded_config(
    app: Any, *, head_timeout_s: float, max_connections: int, **kwargs: Any
) -> GuardedConfig:
    """The :class:`GuardedConfig` both services serve with (``kwargs`` go to uvicorn)."""
    return GuardedConfig(
        app, head_timeout_s=head_timeout_s, max_connections=max_connections, **kwargs
    )


class _HeadGuard(asyncio.Protocol):
    """What the guarded protocols add to uvicorn's HTTP protocols (a mixin, first base).

    - ``connection_made``: with :func:`connection_cap` connections already open, the one
      connection waiting longest for its request head is closed to make room; when none is
      waiting (all are in a request or a WebSocket), the new connection gets a short 503 and
      is closed at once. The descriptors in use stay bounded either way.
    - A timer of ``head_timeout_s`` runs whenever the connection waits for a request head
      (from ``connection_made``, and again after each response); when it fires and no request
      is in progress, the connection is closed. A request in progress (its head complete) and
      a connection upgraded to a WebSocket are left alone.
    """

    _guard_refused = False
    _guard_timer: asyncio.TimerHandle | None = None

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
        self._guard_arm()

    def data_received(self, data: bytes) -> None:
        if not self._guard_refused:
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard_cancel()
        if not self._guard_refused:
            super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._guard_arm()

    def _guard_armed(self) -> dict[_HeadGuard, None]:
        """The server's connections with a running head timer, longest waiting first."""
        state = self._guard_self().server_state
        armed = _ARMED.get(state)
        if armed is None:
            armed = _ARMED[state] = {}
        return armed

    def _guard_arm(self) -> None:
        proto = self._guard_self()
        self._guard_cancel()
        if proto.transport.is_closing():
            return
        timeout_s = getattr(proto.config, "head_timeout_s", HEAD_TIMEOUT_S)
        self._guard_timer = proto.loop.call_later(timeout_s, self._guard_expired)
        self._guard_armed()[self] = None

    def _guard_cancel(self) -> None:
        if self._guard_timer is not None:
            self._guard_timer.cancel()
            self._guard_timer = None
            self._guard_armed().pop(self, None)

    def _guard_waiting(self) -> bool:
        """Open, not a WebSocket, no request in progress and nothing left to send.

        An answer handed whole to uvicorn may still be in the transport's buffer.
        """
        proto = self._guard_self()
        transport = proto.transport
        if self._guard_refused or transport is None or transport.is_closing():
            return False
        if transport.get_protocol() is not self:
            return False
        if transport.get_write_buffer_size() > 0:
            return False
        cycle = proto.cycle
        return cycle is None or bool(cycle.response_complete)

    def _guard_expired(self) -> None:
        self._guard_timer = None
        self._guard_armed().pop(self, None)
        if self._guard_waiting():
            self._guard_self().transport.abort()
        elif self._guard_sending():
            self._guard_arm()  # the deadline for the next head starts once the answer is out

    def _guard_sending(self) -> bool:
        proto = self._guard_self()
        transport = proto.transport
        return (
            not self._guard_refused
            and transport is not None
            and not transport.is_closing()
            and transport.get_protocol() is self
            and transport.get_write_buffer_size() > 0
        )

    def _guard_evict(self) -> bool:
        """Close the connection waiting longest for a request head; False if none waits."""
        # in the order their timers started: the first waiting one has waited longest (one in
        # a request or upgraded to a WebSocket stays listed until its timer fires; skipped)
        for conn in self._guard_armed():
            if conn._guard_waiting():
                conn._guard_cancel()
                conn._guard_self().transport.abort()
                return True
        return False


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
