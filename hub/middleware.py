"""The hub's edge: allowed Host headers and a request body limit, both answered as problems.

The same rules as the personal service (400 ``invalid_host``; 413 ``body_too_large`` before a
body over the limit is read whole), in the hub's own package.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.problems import problem_response

__all__ = ["BodyLimitMiddleware", "HostCheckMiddleware"]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _host_of(host_header: str) -> str:
    host_header = host_header.strip().lower()
    if host_header.startswith("["):
        end = host_header.find("]")
        return host_header[: end + 1] if end > 0 else host_header
    return host_header.split(":", 1)[0]


class HostCheckMiddleware:
    """Refuse requests whose ``Host`` is not allowed (``*`` allows any, ``*.x`` subdomains)."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed_hosts]

    def _allows(self, host: str) -> bool:
        return any(
            p == "*" or host == p or (p.startswith("*.") and host.endswith(p[1:]))
            for p in self.allowed
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allows(_host_of(_header(scope, b"host") or "")):
            await self.app(scope, receive, send)
            return
        await problem_response(400, "invalid_host", "Host header not allowed")(scope, receive, send)


class BodyLimitMiddleware:
    """413 for a request body over ``max_body_bytes`` (declared, or counted as it arrives)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = problem_response(
            413,
            "body_too_large",
            f"request body over the limit of {self.limit} bytes (HRVPACE_HUB_MAX_BODY_BYTES)",
            headers={"Connection": "close"},
        )
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await problem_response(400, "bad_request", "Content-Length is not a number")(
                    scope, receive, send
                )
                return
            if int(length) > self.limit:
                await too_large(scope, receive, send)
                return
        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    if not started:
                        await too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
