"""``WS /api/v1/sessions/{id}/live`` and the JSON Schema of its messages.

Origin: a browser's handshake carries ``Origin``; it must be the service's own (the scheme and
``Host`` it was reached at, or a loopback name, ``127.0.0.1``/``localhost``/``[::1]``, on the
port it serves) or one of ``settings.browser_origins`` (``HRVPACE_ALLOWED_ORIGINS``); any other
is refused at the handshake (HTTP 403, with the ``origin_not_allowed`` problem a refused CORS
preflight gets when the server takes a denial response, as uvicorn does), token or not, so a
page elsewhere cannot read a session with a token it got hold of. A handshake without
``Origin`` comes from a non-browser client (the CLI, a native app, a script): a browser always
sends one, so it is allowed, with a valid token.

Token, three ways (the first given is checked): in the ``Sec-WebSocket-Protocol`` header, as
subprotocols ``["hrvpace.v1", "bearer.<token>"]`` (the server answers ``hrvpace.v1``), so it
never sits in a URL (browsers; they cannot set headers on a WebSocket); an ``Authorization:
Bearer <token>`` header (native clients: OkHttp, URLSession, Python websockets); or, as before,
``?token=``.

Version: ``hrvpace.v1`` is the only version of the messages. A client offering it gets it
echoed; one offering no ``hrvpace.*`` subprotocol (only ``bearer.<token>``, or none) gets v1
messages with no subprotocol selected; one offering only other versions (``hrvpace.v2``) gets
the first of them selected, then is closed with :data:`CLOSE_UNSUPPORTED_VERSION` (4406), the
reason naming what it offered and what the server speaks, rather than sent v1 messages it
would misread (selected, so that a browser sees the 4406: it fails, 1006, a handshake that
selects none of the subprotocols it offered). Names are compared case-sensitively, as RFC 6455
and browsers do: ``HRVPACE.V1`` is no version. ``bearer.<token>`` is never selected (that would
send the token back in a response header), so a browser offering only it fails the handshake:
a page offers ``hrvpace.v1`` with it, as the service's own page does.

Close codes: the socket is accepted, then closed at once with 1008 (policy violation) on a
missing or wrong token, or on a ``since_seq`` that is not a whole number from 0 to
:data:`MAX_SEQ` written without leading zeros, or is given more than once (the reason names
``since_seq``); 4406 on an unsupported version (checked after
the token); 4404 when the session is unknown; 1000 (normal) when the session has ended and
everything was sent; 1012 (service restart, sent by uvicorn) when the server shuts down, the
session then stopped by the shutdown with no final ``status`` sent (it is stored: ``GET
/api/v1/sessions/{id}`` after a restart, or a resume, has it). A foreign ``Origin`` is
refused before that, at the handshake (HTTP 403).
A session that is not running sends one ``status`` message, numbered with the session's last
stored ``seq``, and closes normally. Otherwise the client first gets the
last state (the welcome messages, each repeating the latest ``seq``): the current ``status``,
the ``guidance`` while pacing, the last ``signal`` once there is one, and a ``storage`` notice
while storage is behind; then every message the session publishes, in ``seq`` order, until the
session ends (normal close 1000). A ``storage`` notice (storage fell behind or caught up) is
sent at once, ahead of the messages held for their writes; it repeats the last ``seq`` sent.

Resuming: a client that reconnects with ``?since_seq=N`` (the last ``seq`` it received) first
gets, from storage, every beat, metrics window and micro-break event of the session numbered
above ``N``, in ``seq`` order; then the welcome messages (the current ``status``, the guidance
while pacing, the last signal, the storage notice while behind), whose ``seq`` repeats the last
one resent (a summary, not a new message); then the live messages after it: nothing twice and
no stored item missing. There is no maximum: ``since_seq=0`` on a day-long session resends all
of it (about 100,000 beats), read and sent :data:`RESUME_PAGE_SIZE` items at a time, so the
server holds one page, never the backlog. Status, guidance, signal and prompt messages are not
resent (the latest status, guidance and signal come with the welcome; prompts are at ``GET
/api/v1/prompts``), so the ``seq`` of one sent while the client was away, or before the resend
caught up, stays a gap.
Of a session that has ended, the missed items are sent, then its final ``status``.
The first status's ``seq`` is never above the session's: a ``since_seq`` above what the session
reached is not echoed, the status carries the session's current ``seq`` (of an ended session,
its final status's, kept with the session: the last number its live clients got; of one
interrupted by a crash, its last stored item's, as its later messages were not stored). A
client whose ``since_seq`` is above that ``seq`` has nothing more to get from storage; if its
number did not come from this session, what it holds is not this session's, and it drops that
and reconnects with ``since_seq=0``.

How it holds. Every stored item takes its ``seq`` just before its write is queued, and writes
commit in queue order, so the committed items are always every stored item up to some ``seq``.
A page is one SQLite statement (one committed state) reading the items above the last one sent
by ``seq``: consecutive pages chain with no gap and no repeat, and a page shorter than
:data:`RESUME_PAGE_SIZE` holds every item committed when it was read. The bulk is paged before
the client subscribes to the live stream (its queue is bounded and drops its oldest messages,
so it must not fill during a long resend; items stored meanwhile are in the later pages). Once
a page comes back short, the hand-over: the server subscribes, waits until every write queued
before then is committed, and pages on from the last item sent until a page is short again
(normally one read: what was stored since the previous page). An item stored after that read
was queued after the subscription, so it is published to the new subscriber (held until
committed); a live message whose ``seq`` is not above the last one resent is dropped there
(:meth:`api.live.Subscriber.skip_through`). The wait has no cap: while the database takes no
writes (a lock held by another program) the client gets its welcome after
:data:`HANDOVER_WAIT_S` (with the ``storage`` notice, numbered the last item it has, or the
notice as soon as the writer reports the outage), and the items once they are stored (this
client's task waits; the session and other clients go on), with the status, guidance, signal
and prompt messages made meanwhile (then only stored items are dropped by the cutoff).
Before, the wait gave up after 10 s and read what was there: the items stored later reached
only the clients subscribed when they were queued (review rev12_appdev 1).

A new client (no ``since_seq``) is handed over the same way from the last item stored when it
connects: when everything queued before it subscribed is stored within
:data:`HANDOVER_WAIT_S` (the usual case) it starts at the hub's ``seq`` then, with the welcome
made then; otherwise its welcome is numbered the last stored item, which is what ``GET
.../beats`` has, and the items stored after it follow once the database takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect, status

from api.auth import require_token, token_matches
from api.live import Subscriber
from api.messages import BeatMessage, MetricsMessage, MicroBreakMessage, StatusMessage, live_schema
from api.sessions import SessionManager
from api.settings import ORIGINS_FIX
from api.storage import Storage
from webconventions.hosts import normal_origin
from webconventions.middleware import origin_refusal

router = APIRouter(tags=["live"])
logger = logging.getLogger(__name__)

#: Close code when the session id is unknown (application range 4000-4999).
CLOSE_NOT_FOUND = 4404
#: Close code when the client offers only versions of the messages this server does not speak.
CLOSE_UNSUPPORTED_VERSION = 4406
#: The subprotocol of the live messages; the server echoes it when a client offers it.
SUBPROTOCOL = "hrvpace.v1"
#: Prefix of the subprotocols naming a version of the live messages.
VERSION_PREFIX = "hrvpace."
#: Prefix of the subprotocol that carries the token.
BEARER_PREFIX = "bearer."
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
#: Largest ``since_seq`` accepted (SQLite integers end at 2**63 - 1).
MAX_SEQ = 2**62


#: How long a client's hand-over waits for the writes queued before it, before it gets the
#: welcome ahead of the items stored meanwhile (the database takes no writes). Long enough
#: that a slow flush (a loaded machine, a busy disk: seconds) is not taken for an outage.
HANDOVER_WAIT_S = 10.0

#: Stored items read and sent per page when a client resumes (at most this many rows in memory).
RESUME_PAGE_SIZE = 500

#: A message resent from storage.
Missed = BeatMessage | MetricsMessage | MicroBreakMessage


async def missed_page(
    storage: Storage, session_id: str, after_seq: int, limit: int
) -> list[Missed]:
    """The first ``limit`` stored items of a session numbered above ``after_seq``, as messages.

    Their ``timestamp`` is when the item was recorded (a beat's arrival), not a publication.
    """
    items = await asyncio.to_thread(storage.missed_since_seq, session_id, after_seq, limit=limit)
    out: list[Missed] = []
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


async def resend_missed(
    websocket: WebSocket, storage: Storage, session_id: str, after_seq: int
) -> int | None:
    """Send the stored items numbered above ``after_seq``, a page at a time, until caught up.

    Reads :data:`RESUME_PAGE_SIZE` items, sends them, reads the next page after the last one
    sent, and so on until a page comes back short (every item committed then was sent). The
    ``seq`` of the last item sent (``None`` when there was none).
    """
    last: int | None = None
    while True:
        page = await missed_page(storage, session_id, after_seq, RESUME_PAGE_SIZE)
        for message in page:
            await websocket.send_text(message.model_dump_json())
        if page:
            last = after_seq = page[-1].seq
        if len(page) < RESUME_PAGE_SIZE:
            return last


def parse_since_seq(value: str | None) -> int | str | None:
    """``?since_seq`` as a number, ``None`` when not given, or why it is refused (a close reason).

    A whole number written in ASCII digits, 0 to :data:`MAX_SEQ` (``abc``, ``-5``, ``1e23`` and
    ``5.0`` are refused), without leading zeros (``05`` is refused: a number a client wrote
    itself differently from the ``seq`` it got is a bug to show, not to guess at).
    """
    if value is None:
        return None
    canonical = value == "0" or not value.startswith("0")
    if value.isascii() and value.isdigit() and canonical and len(value) <= len(str(MAX_SEQ)):
        number = int(value)
        if number <= MAX_SEQ:
            return number
    return f"since_seq must be a whole number from 0 to {MAX_SEQ}, without leading zeros"


def _with_seq(text: str, seq: int) -> str:
    """A welcome message renumbered to ``seq`` (it repeats the last seq the client got)."""
    data = json.loads(text)
    data["seq"] = max(seq, 1)
    return json.dumps(data)


def origin_allowed(websocket: WebSocket) -> bool:
    """Whether the handshake's ``Origin`` may open a live socket.

    True without ``Origin`` (not a browser), for the service's own origin, and for the
    configured ``browser_origins``.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    given = normal_origin(origin)
    settings = websocket.app.state.settings
    if given in settings.browser_origins:  # normalised by Settings (origin_pattern)
        return True
    host_header = websocket.headers.get("host", "")
    own = {normal_origin(f"{s}://{host_header}") for s in ("http", "https")}
    server = websocket.scope.get("server")
    port = server[1] if server else None
    if port is not None:
        for name in _LOOPBACK:
            own |= {normal_origin(f"{s}://{name}:{port}") for s in ("http", "https")}
    return given in own


def _authorization_token(websocket: WebSocket) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (native clients), else ``None``.

    A browser cannot set this header on a WebSocket; the Origin check applies all the same.
    """
    scheme, _, value = websocket.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unsupported_versions(offered: list[str]) -> list[str]:
    """The ``hrvpace.*`` subprotocols offered when none of them is :data:`SUBPROTOCOL`.

    Empty when the client offers ``hrvpace.v1`` (among others or not) or no ``hrvpace.*`` at
    all (only ``bearer.<token>``, or nothing: it gets v1 messages, the only version there is).
    """
    versions = [p for p in offered if p.startswith(VERSION_PREFIX)]
    return [] if SUBPROTOCOL in offered else versions


def _selected(offered: list[str]) -> str | None:
    """The subprotocol the handshake selects from those ``offered``.

    :data:`SUBPROTOCOL` when offered; else the first ``hrvpace.*`` offered (an unsupported
    version: the socket is then closed with 4406, and a browser only sees that close when the
    handshake selected one of its offers); else none. Never ``bearer.<token>``: the token is
    not sent back.
    """
    if SUBPROTOCOL in offered:
        return SUBPROTOCOL
    return next((p for p in offered if p.startswith(VERSION_PREFIX)), None)


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
    # both read here, not validated by FastAPI: a value it refuses is a bare HTTP 403 at the
    # handshake, which a client cannot tell from a refused origin
    token: Annotated[str | None, Query()] = None,
    since_seq: Annotated[
        str | None,
        Query(
            description=(
                f"The last seq received, a whole number 0-{MAX_SEQ}: resume, with every stored "
                f"item missed first (all of them, read and sent {RESUME_PAGE_SIZE} at a time), "
                "then the live stream"
            ),
        ),
    ] = None,
) -> None:
    """Stream a session's live messages, in ``seq`` order, after the current ``status``.

    The handshake's origin, the token and resuming with ``since_seq`` are described in the
    module's docstring.
    """
    if not origin_allowed(websocket):
        # the origin and the path only, no health data: what a companion app's developer needs
        logger.info(
            "live WebSocket refused (HTTP 403): origin %r not allowed: %s",
            websocket.headers.get("origin", "")[:200],
            ORIGINS_FIX,
        )
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            # the 403 origin_not_allowed problem a refused CORS preflight gets (uvicorn sends
            # it as the handshake's answer)
            origin = websocket.headers.get("origin", "")
            await websocket.send_denial_response(origin_refusal(origin, ORIGINS_FIX))
            return
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="origin not allowed")
        return  # before accept: the handshake is refused with a bare HTTP 403
    offered = _offered(websocket)
    bearer = next((p[len(BEARER_PREFIX) :] for p in offered if p.startswith(BEARER_PREFIX)), None)
    await websocket.accept(subprotocol=_selected(offered))
    app = websocket.app
    given = bearer or _authorization_token(websocket) or token
    if not token_matches(given, app.state.token):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="missing or bad token")
        return
    unsupported = _unsupported_versions(offered)
    if unsupported:
        offered_versions = ", ".join(unsupported)
        reason = f"this server speaks {SUBPROTOCOL} only, not {offered_versions}"
        # a close reason is at most 123 bytes (what the server speaks comes first)
        reason = reason.encode()[:123].decode(errors="ignore")
        await websocket.close(code=CLOSE_UNSUPPORTED_VERSION, reason=reason)
        return
    after = parse_since_seq(since_seq)
    if len(websocket.query_params.getlist("since_seq")) > 1:
        # which one the client meant is not known: not the last one silently
        after = "since_seq given more than once: give it once"
    if isinstance(after, str):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=after)
        return
    manager: SessionManager = app.state.sessions
    storage: Storage = app.state.storage
    live_session = manager.get_live(session_id)
    if live_session is None:
        row = await asyncio.to_thread(storage.get_session, session_id)
        if row is None:
            await websocket.close(code=CLOSE_NOT_FOUND, reason="no such session")
            return
        if after is not None:
            await resend_missed(websocket, storage, session_id, after)
        # the session's last seq (its final status's; an interrupted one: its last stored
        # message's), whatever since_seq said (one above it is not echoed)
        last_seq = await asyncio.to_thread(storage.last_seq, session_id)
        final = StatusMessage(
            session_id=session_id,
            seq=max(last_seq or 0, row["last_seq"] or 0, 1),
            timestamp=row["ended_at"] or row["created_at"],
            state=row["state"],
            message=row["message"],
            n_beats=row["n_beats"],
        )
        await websocket.send_text(final.model_dump_json())
        await websocket.close()
        return

    hub = live_session.hub
    if after is None:
        # a new client starts from what is stored now (what GET .../beats reads); what is
        # stored after that reaches it live or from storage, in the hand-over below
        start = await asyncio.to_thread(storage.last_seq, session_id) or 0
    else:
        try:  # the bulk, before subscribing: the bounded live queue does not fill meanwhile
            resent = await resend_missed(websocket, storage, session_id, after)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        start = after if resent is None else resent
    # never above the session's seq: a since_seq beyond it is not echoed back
    sub = hub.subscribe(after_seq=start)
    reader: asyncio.Task[None] | None = None
    next_batch: asyncio.Task[list[str]] | None = None
    try:  # from here on, whatever fails unsubscribes (the hub holds nothing for a client gone)
        # a new client's welcome: the state when it subscribed (what it gets live follows that)
        welcome = live_session.pipeline.welcome_messages() if after is None else None
        reader = asyncio.create_task(_drain_incoming(websocket))
        pipeline = live_session.pipeline
        if not await _hand_over(websocket, pipeline, storage, sub, reader, start, welcome):
            return  # the client went away while it waited
        while True:
            # the batch and the client together: a session that sends nothing (slow, a strap
            # scanning) must not hold a socket the client (or a server shutting down) closed
            next_batch = asyncio.create_task(sub.get_batch())
            await asyncio.wait({next_batch, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not next_batch.done():
                break  # the client went away
            batch = next_batch.result()
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
        if next_batch is not None:
            next_batch.cancel()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _drain_incoming(websocket: WebSocket) -> None:
    """Read until the client goes away.

    Clients send nothing we need; reading notices a disconnect promptly. Frames of any kind
    are read and dropped: receive_text() raised KeyError on a binary frame, which ended this
    reader and closed the socket 1000 ("the session ended") mid-session.
    """
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_welcome(websocket: WebSocket, texts: list[str], seq: int) -> None:
    """The welcome messages (the state), numbered ``seq``: the last item the client has."""
    for text in texts:
        await websocket.send_text(_with_seq(text, seq))


async def _hand_over(
    websocket: WebSocket,
    pipeline: Any,
    storage: Storage,
    sub: Subscriber,
    reader: asyncio.Task[None],
    start: int,
    welcome: list[str] | None,
) -> bool:
    """From storage to the live stream: what was stored above ``start``, and the welcome.

    ``sub`` is subscribed: what is queued for storage from now on reaches it (held until
    committed). Every write queued before is waited for, however long the database takes no
    writes (this client's task waits; the session and the other clients go on), then what
    was stored above ``start`` is read and sent, and ``sub`` skips it. The welcome follows,
    numbered with the last item sent. ``welcome``: a new client's, made when it subscribed:
    when everything queued before is stored within :data:`HANDOVER_WAIT_S` it starts there
    (numbered the hub's ``seq`` then, nothing read). When the database does not take the
    writes within :data:`HANDOVER_WAIT_S`, the welcome (with its ``storage`` notice) comes
    then, numbered the last item the client has, and the items follow once stored; while it
    waits for them, the ``storage`` notices reach it as they are published (the writer reports
    an outage 3 s into a try the database does not take,
    :data:`api.storage.writer.BEHIND_AFTER_S`: usually before this welcome, which carries it).
    False when the client went away meanwhile.
    """
    try:
        flushed: asyncio.Future[Any] | None = asyncio.wrap_future(storage.flush())
    except Exception:  # storage closed: read what is there
        flushed = None
    in_time = True
    if flushed is not None:
        flushed.add_done_callback(_consume)
        await asyncio.wait(
            {flushed, reader}, timeout=HANDOVER_WAIT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if not flushed.done() and not reader.done():
            in_time = False  # storage is behind: the welcome now, the items once stored
            if welcome is None:  # a resume's welcome: the state now
                welcome = pipeline.welcome_messages()
                sub.welcomed_early(pipeline.hub.seq)
            else:  # a new client's: the state when it subscribed
                sub.welcomed_early(sub.min_seq)
            await _send_welcome(websocket, welcome, sub.after_seq)
            while not flushed.done() and not reader.done():
                # meanwhile the storage notices (the writer reports the outage 3 s into a try
                # the database does not take, BEHIND_AFTER_S, usually before this welcome; a
                # caught-up notice comes later): the items wait, the notice not
                noticed = asyncio.ensure_future(sub.wait_notice())
                await asyncio.wait({flushed, reader, noticed}, return_when=asyncio.FIRST_COMPLETED)
                noticed.cancel()
                if noticed.done() and not noticed.cancelled():
                    for text in sub.take_notices(sub.after_seq):
                        await websocket.send_text(text)
        if reader.done():
            return False
    if welcome is not None and in_time:  # everything up to its subscription is stored
        sub.skip_through(sub.min_seq)
        await _send_welcome(websocket, welcome, sub.min_seq)
        return True
    tail = await resend_missed(websocket, storage, sub.session_id, start)
    sub.skip_through(sub.after_seq if tail is None else tail)
    if in_time:
        await _send_welcome(websocket, pipeline.welcome_messages(), sub.after_seq)
    return True


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a future's outcome (a failed flush: storage closed; read what is there)."""
    if not future.cancelled():
        future.exception()
