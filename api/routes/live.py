"""``WS /api/v1/sessions/{id}/live?token=...`` and the JSON Schema of its messages.

The socket is accepted, then closed at once with 1008 (policy violation) on a missing or wrong
token, or 4404 when the session is unknown. A session that is not running sends one ``status``
message and closes normally. Otherwise the client first gets the current ``status``, then every
message the session publishes, in ``seq`` order, until the session ends (normal close 1000).
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
    token: Annotated[str | None, Query()] = None,
) -> None:
    await websocket.accept()
    app = websocket.app
    if not token_matches(token, app.state.token):
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
