"""``WS /api/v1/sessions/{id}/live`` and the JSON Schema of its messages.

Origin: a browser's handshake carries ``Origin``; it must be the service's own (the scheme and
``Host`` it was reached at, or a loopback name, ``127.0.0.1``/``localhost``/``[::1]``, on the
port it serves) or one of ``settings.browser_origins`` (``HRVPACE_ALLOWED_ORIGINS``); any other
is refused at the handshake (HTTP 403), token or not, so a page elsewhere cannot read a session
with a token it got hold of. A handshake without ``Origin`` comes from a non-browser client (the
CLI, a native app, a script): a browser always sends one, so it is allowed, with a valid token.

Token: in the ``Sec-WebSocket-Protocol`` header, as subprotocols ``["hrvpace.v1",
"bearer.<token>"]`` (the server answers ``hrvpace.v1``), so it never sits in a URL; or, as
before, ``?token=``. The socket is accepted, then closed at once with 1008 (policy violation)
on a missing or wrong token, or 4404 when the session is unknown. A session that is not
running sends one ``status`` message and closes normally. Otherwise the client first gets the
current ``status``, then every message the session publishes, in ``seq`` order, until the
session ends (normal close 1000).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect, status

from api.auth import require_token, token_matches
from api.messages import StatusMessage, live_schema
from api.sessions import SessionManager
from api.storage import Storage

router = APIRouter(tags=["live"])

#: Close code when the session id is unknown (application range 4000-4999).
CLOSE_NOT_FOUND = 4404
#: The subprotocol of the live messages; the server echoes it when a client offers it.
SUBPROTOCOL = "hrvpace.v1"
#: Prefix of the subprotocol that carries the token.
BEARER_PREFIX = "bearer."
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` lowercased, default ports dropped."""
    origin = origin.strip().rstrip("/").lower()
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def origin_allowed(websocket: WebSocket) -> bool:
    """True without ``Origin`` (not a browser), for the service's own origin, and for the
    configured ``browser_origins``."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    given = _normal_origin(origin)
    settings = websocket.app.state.settings
    if given in {_normal_origin(o) for o in settings.browser_origins}:
        return True
    host_header = websocket.headers.get("host", "")
    own = {_normal_origin(f"{s}://{host_header}") for s in ("http", "https")}
    server = websocket.scope.get("server")
    port = server[1] if server else None
    if port is not None:
        for name in _LOOPBACK:
            own |= {_normal_origin(f"{s}://{name}:{port}") for s in ("http", "https")}
    return given in own


def _offered(websocket: WebSocket) -> list[str]:
    return [
        p.strip()
        for p in websocket.headers.get("sec-websocket-protocol", "").split(",")
        if p.strip()
    ]


@router.get(
    "/api/v1/schema/live",
    dependencies=[Depends(require_token)],
    response_model=dict[str, Any],
)
async def live_message_schema() -> dict[str, Any]:
    """JSON Schema of the live WebSocket's messages (a discriminated union on ``type``)."""
    return live_schema()


@router.websocket("/api/v1/sessions/{session_id}/live")
async def live(
    websocket: WebSocket,
    session_id: str,
    token: Annotated[str | None, Query(max_length=512)] = None,
) -> None:
    if not origin_allowed(websocket):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="origin not allowed")
        return  # before accept: the handshake is refused with HTTP 403
    offered = _offered(websocket)
    bearer = next((p[len(BEARER_PREFIX) :] for p in offered if p.startswith(BEARER_PREFIX)), None)
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    app = websocket.app
    if not token_matches(bearer or token, app.state.token):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="missing or bad token")
        return
    manager: SessionManager = app.state.sessions
    live_session = manager.get_live(session_id)
    if live_session is None:
        storage: Storage = app.state.storage
        row = await asyncio.to_thread(storage.get_session, session_id)
        if row is None:
            await websocket.close(code=CLOSE_NOT_FOUND, reason="no such session")
            return
        final = StatusMessage(
            session_id=session_id,
            seq=1,
            timestamp=row["ended_at"] or row["created_at"],
            state=row["state"],
            message=row["message"],
            n_beats=row["n_beats"],
        )
        await websocket.send_text(final.model_dump_json())
        await websocket.close()
        return

    hub = live_session.hub
    sub = hub.subscribe()
    for text in live_session.pipeline.welcome_messages():
        sub.put(text)

    async def drain_incoming() -> None:
        # Clients send nothing we need; reading notices a disconnect promptly.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    reader = asyncio.create_task(drain_incoming())
    try:
        while True:
            batch = await sub.get_batch()
            if not batch:
                break  # the session ended and everything was sent
            for text in batch:
                await websocket.send_text(text)
            if reader.done():
                break
        with contextlib.suppress(Exception):
            await websocket.close()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away
    finally:
        hub.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
