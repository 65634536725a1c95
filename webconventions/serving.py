"""A uvicorn server that calls back once it listens (to print where, or to tell a test)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

__all__ = ["AnnouncingServer"]


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
