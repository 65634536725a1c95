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

Resuming: a client that reconnects with ``?since_seq=N`` (the last ``seq`` it received) first
gets, from storage, every beat, metrics window and micro-break event of the session numbered
above ``N``, in ``seq`` order; then the current ``status`` (and guidance while pacing), whose
``seq`` repeats the last one resent (a summary, not a new message); then the live messages
after it: nothing twice and no stored item missing. Status, guidance and prompt messages are
not resent (prompts are at ``GET /api/v1/prompts``), so the ``seq`` of one sent while the
client was away stays a gap. Of a session that
has ended, the missed items are sent, then its final ``status``. How it holds: every stored
item takes its ``seq`` just before its write is queued (stored ``seq`` order is commit order);
the server subscribes, then waits for everything queued to be committed, then reads storage,
so an item is either in that read or published to the new subscriber after it (and dropped
there when its ``seq`` is not above the last one resent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect, status

from api.auth import require_token, token_matches
from api.messages import BeatMessage, MetricsMessage, MicroBreakMessage, StatusMessage, live_schema
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
#: Largest ``since_seq`` accepted (SQLite integers end at 2**63 - 1).
MAX_SEQ = 2**62


async def missed_messages(storage: Storage, session_id: str, since_seq: int) -> list[Any]:
    """The stored items of a session numbered above ``since_seq``, as their live messages.

    Their ``timestamp`` is when the item was recorded (a beat's arrival), not a publication.
    """
    with contextlib.suppress(Exception):  # storage closed or failing: read what is committed
        await asyncio.wrap_future(storage.flush())
    items = await asyncio.to_thread(storage.missed_since_seq, session_id, since_seq)
    out: list[Any] = []
    for seq, kind, f in items:
        if kind == "beat":
            out.append(BeatMessage(session_id=session_id, seq=seq, timestamp=f["arrived_at"], **f))
        elif kind == "metrics":
            out.append(
                MetricsMessage(
                    session_id=session_id,
                    seq=seq,
                    timestamp=f["recorded_at"],
                    t_s=f["t_s"],
                    metrics=f["data"],
                )
            )
        else:
            out.append(
                MicroBreakMessage(
                    session_id=session_id,
                    seq=seq,
                    timestamp=f["recorded_at"],
                    t_s=f["t_s"],
                    event=f["kind"],
                    micro_break=f["data"],
                )
            )
    return out


def _with_seq(text: str, seq: int) -> str:
    """A welcome message renumbered to ``seq`` (it repeats the last seq the client got)."""
    data = json.loads(text)
    data["seq"] = max(seq, 1)
    return json.dumps(data)


def _seq_of(text: str) -> int:
    return int(json.loads(text)["seq"])


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` lowercased, default ports dropped."""
    origin = origin.strip().rstrip("/").lower()
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def origin_allowed(websocket: WebSocket) -> bool:
    """Whether the handshake's ``Origin`` may open a live socket.

    True without ``Origin`` (not a browser), for the service's own origin, and for the
    configured ``browser_origins``.
    """
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
    since_seq: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_SEQ,
            description="The last seq received: resume, with the stored items missed first",
        ),
    ] = None,
) -> None:
    """Stream a session's live messages, in ``seq`` order, after the current ``status``.

    The handshake's origin, the token and resuming with ``since_seq`` are described in the
    module's docstring.
    """
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
    storage: Storage = app.state.storage
    live_session = manager.get_live(session_id)
    if live_session is None:
        row = await asyncio.to_thread(storage.get_session, session_id)
        if row is None:
            await websocket.close(code=CLOSE_NOT_FOUND, reason="no such session")
            return
        last_seq = 1
        if since_seq is not None:
            for message in await missed_messages(storage, session_id, since_seq):
                await websocket.send_text(message.model_dump_json())
                last_seq = message.seq
            last_seq = max(last_seq, since_seq, 1)
        final = StatusMessage(
            session_id=session_id,
            seq=last_seq,
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
    #: live messages numbered up to this were resent from storage (or seen by the client)
    cutoff: int | None = None
    if since_seq is None:
        for text in live_session.pipeline.welcome_messages():
            sub.put(text)
    else:
        seq_at_subscribe = hub.seq
        try:
            missed = await missed_messages(storage, session_id, since_seq)
            for message in missed:
                await websocket.send_text(message.model_dump_json())
            cutoff = missed[-1].seq if missed else min(since_seq, seq_at_subscribe)
            for text in live_session.pipeline.welcome_messages():
                await websocket.send_text(_with_seq(text, cutoff))
        except (WebSocketDisconnect, RuntimeError, OSError):
            hub.unsubscribe(sub)
            return

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
            if cutoff is not None:  # resumed: skip what was resent (seq only rises)
                while batch and _seq_of(batch[0]) <= cutoff:
                    batch.pop(0)
                if batch:
                    cutoff = None
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
