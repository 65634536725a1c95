"""A service's page (static files at ``/``) that leaves its API paths to the API.

A :class:`~starlette.staticfiles.StaticFiles` mounted at ``/`` matches every path, so the
router hands it a request that a route matched by path but not by method (a ``GET`` to a
``POST``-only route): the client got the static files' 404 or their ``405`` with ``Allow: GET,
HEAD``, which names methods the API path does not take and hides the ones it does.
:func:`mount_page` mounts the page so that a request under the API prefix that reached it (no
route answered it in full) is answered as the API would:

- 405 ``method_not_allowed`` when some route takes that path with another method, with
  ``Allow`` listing every method that path takes (all its routes, not only the first);
- 426 ``upgrade_required`` (``Upgrade: websocket``) when the path is a WebSocket's;
- 404 ``not_found`` otherwise;

each as ``application/problem+json`` (the ``HTTPException`` goes through the handlers of
:mod:`webconventions.problems`). Every other path is the page's, as before.

References
----------
Fielding R, Nottingham M, Reschke J (2022) RFC 9110: HTTP Semantics, sections 15.5.6 (405 and
``Allow``) and 15.5.22 (426). IETF.
"""

from __future__ import annotations

from os import PathLike

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from webconventions.middleware import route_path

__all__ = ["METHODS", "PageApp", "mount_page"]

#: The methods probed for ``Allow``, in the order the header lists them.
METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class PageApp:
    """The page's static files; a request under ``api_prefix`` gets the API's error instead.

    Parameters
    ----------
    routes
        The application's routes (``app.router.routes``), read at each request, so routes
        added later count too.
    directory
        The page's files (``index.html`` answers ``/``).
    api_prefix
        Paths equal to it or under it (``/api`` and ``/api/...``) are the API's.
    """

    def __init__(
        self, routes: list[BaseRoute], directory: str | PathLike[str], *, api_prefix: str
    ) -> None:
        self.routes = routes
        self.api_prefix = api_prefix.rstrip("/")
        self.static = StaticFiles(directory=directory, html=True)

    def is_api_path(self, scope: Scope) -> bool:
        """Whether the request's path is the API's (not the page's)."""
        path = route_path(scope)
        return path == self.api_prefix or path.startswith(self.api_prefix + "/")

    def _answers(self, scope: Scope) -> bool:
        """Whether a route other than this page matches ``scope`` in full."""
        for route in self.routes:
            if getattr(route, "app", None) is self:
                continue
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return True
        return False

    def allowed_methods(self, scope: Scope) -> list[str]:
        """The methods of :data:`METHODS` some route takes at the request's path."""
        return [m for m in METHODS if self._answers({**scope, "type": "http", "method": m})]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the page, or answer an API path no route took (405, 426 or 404)."""
        if scope["type"] == "websocket":  # no WebSocket route took it: refused, as a router does
            await WebSocketClose()(scope, receive, send)
            return
        if not self.is_api_path(scope):
            await self.static(scope, receive, send)
            return
        allowed = self.allowed_methods(scope)
        if allowed:
            listed = ", ".join(allowed)
            raise HTTPException(
                405,
                detail=f"{scope['method']} is not allowed here; this path takes {listed}",
                headers={"Allow": listed},
            )
        if self._answers({**scope, "type": "websocket"}):
            raise HTTPException(
                426,
                detail="this path is a WebSocket: open it with a WebSocket handshake",
                headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            )
        raise HTTPException(404, detail="no API operation at this path")


def mount_page(app: FastAPI, directory: str | PathLike[str], *, api_prefix: str = "/api") -> None:
    """Mount the page at ``/``, last, leaving the API paths' errors to the API.

    Parameters
    ----------
    app
        The service, its routes all added (the page matches every path: it must come last).
    directory
        The page's static files.
    api_prefix
        Where the API lives (``/api``).
    """
    app.mount("/", PageApp(app.router.routes, directory, api_prefix=api_prefix), name="static")
