"""A real uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread (API and web tests).

What it starts: :func:`free_socket` binds a TCP socket to a free loopback port (port 0, so the
port is known before the server starts and nothing races for it), then
``uvicorn.Server(config).run(sockets=[sock])`` runs in a daemon thread, with its own event loop.
``config`` is ``uvicorn.Config(app, log_level="warning", lifespan=..., ws=...)``: the caller
chooses the WebSocket implementation (``ws``, uvicorn's default ``"auto"`` unless given) and the
lifespan mode (``"on"`` unless given: a failing startup of the app is then a failed start).

What it waits for: ``server.started``, which uvicorn sets once the app's lifespan startup has
run and the socket is listening. It is polled every :data:`POLL_S` seconds for at most
:data:`START_TIMEOUT_S` seconds; ``RuntimeError("uvicorn did not start ...")`` if that time
passes or the thread ends first (the socket is then closed).

How it stops: ``server.should_exit = True`` (uvicorn's own graceful exit: it stops accepting,
closes the listening socket and the open connections, runs the lifespan shutdown), then the
thread is joined for at most :data:`STOP_TIMEOUT_S` seconds. A server still running after that
is left to its daemon thread, which ends with the test process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LifespanType, WSProtocolType

__all__ = [
    "POLL_S",
    "START_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "ThreadedUvicorn",
    "free_socket",
    "serving",
    "start_uvicorn",
]

#: Seconds to wait for ``server.started`` before the start is a failure.
START_TIMEOUT_S = 15.0
#: Seconds to wait for the server's thread to end after ``should_exit`` is set.
STOP_TIMEOUT_S = 15.0
#: Seconds between two looks at ``server.started``.
POLL_S = 0.02


def free_socket(*, sndbuf: int | None = None) -> socket.socket:
    """A socket bound to a free port of 127.0.0.1 (uvicorn listens on it).

    ``sndbuf`` sets ``SO_SNDBUF``, which the accepted connections inherit (a small send buffer
    makes a slow client's backpressure show after few bytes).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sndbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class ThreadedUvicorn:
    """A started uvicorn in its thread: where it listens, and :meth:`stop`."""

    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask uvicorn to exit and wait up to ``timeout_s`` seconds for its thread to end."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)


def start_uvicorn(
    app: ASGIApp,
    *,
    ws: WSProtocolType = "auto",
    lifespan: LifespanType = "on",
    sndbuf: int | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> ThreadedUvicorn:
    """Serve ``app`` on a free loopback port in a daemon thread; return once it is serving.

    ``ws`` and ``lifespan`` go to :class:`uvicorn.Config`, ``sndbuf`` to :func:`free_socket`.
    Raises ``RuntimeError`` if ``server.started`` is not set within ``timeout_s`` seconds or
    the thread ends before. The caller stops the server (:meth:`ThreadedUvicorn.stop`), or uses
    :func:`serving`.
    """
    sock = free_socket(sndbuf=sndbuf)
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, ws=ws)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            why = "its thread ended" if not thread.is_alive() else f"not started in {timeout_s} s"
            ThreadedUvicorn(server, thread, port).stop()
            sock.close()
            raise RuntimeError(f"uvicorn did not start ({why})")
        time.sleep(POLL_S)
    return ThreadedUvicorn(server, thread, port)


@contextmanager
def serving(
    app: ASGIApp,
    *,
    ws: WSProtocolType = "auto",
    lifespan: LifespanType = "on",
    sndbuf: int | None = None,
) -> Iterator[ThreadedUvicorn]:
    """:func:`start_uvicorn` for the ``with`` block; the server is stopped when it is left."""
    running = start_uvicorn(app, ws=ws, lifespan=lifespan, sndbuf=sndbuf)
    try:
        yield running
    finally:
        running.stop()
