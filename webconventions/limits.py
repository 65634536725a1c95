"""The connection limits both servers take as settings (the person's service and the hub).

The defaults and the settings fields, in one place (the two settings classes had the same three
fields written twice): :mod:`webconventions.serving` enforces them, ``api.settings`` and
``hub.settings`` declare them with :func:`head_timeout_field`, :func:`write_stall_field` and
:func:`max_connections_field`. Light: pydantic only (the settings are read by commands that
serve nothing, which do not import uvicorn).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

__all__ = [
    "HEAD_TIMEOUT_S",
    "MAX_CONNECTIONS",
    "WRITE_STALL_TIMEOUT_S",
    "head_timeout_field",
    "max_connections_field",
    "write_stall_field",
]

#: Default seconds a connection has to send a complete request head (after it opened, or
#: after the previous response on a kept-alive connection); it is closed when they pass.
HEAD_TIMEOUT_S = 10.0
#: Default seconds an answer may sit in the transport's write buffer without any of it being
#: taken by the client (a client that never reads); the connection is closed when they pass.
WRITE_STALL_TIMEOUT_S = 60.0
#: Default cap on the connections (HTTP and WebSocket) open at once.
MAX_CONNECTIONS = 2048


def head_timeout_field() -> Any:
    """The ``request_head_timeout_s`` settings field (seconds, default :data:`HEAD_TIMEOUT_S`)."""
    return Field(
        default=HEAD_TIMEOUT_S,
        gt=0,
        le=300,
        description="Seconds a connection has to send a complete request head (after it "
        "opened, or after the previous response), and a request's body may go without a byte; "
        "it is closed when they pass (uvicorn held an unfinished request for ever).",
    )


def write_stall_field() -> Any:
    """The ``write_stall_timeout_s`` settings field (default :data:`WRITE_STALL_TIMEOUT_S`)."""
    return Field(
        default=WRITE_STALL_TIMEOUT_S,
        gt=0,
        le=3600,
        description="Seconds an answer may wait in the send buffer without the client taking "
        "any of it (a client that never reads); the connection is closed when they pass.",
    )


def max_connections_field() -> Any:
    """The ``max_connections`` settings field (default :data:`MAX_CONNECTIONS`)."""
    return Field(
        default=MAX_CONNECTIONS,
        ge=1,
        description="Connections (HTTP and WebSocket) open at once, at most (and at most the "
        "room left by the open-file limit, see the README); at the cap the connection waiting "
        "longest for its request head, or a stalled one, is closed, or the new one gets 503 when "
        "none is waiting or stalled.",
    )
