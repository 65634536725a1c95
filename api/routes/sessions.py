"""Sessions: start, list, read, stop, and their beats and metrics as JSON or CSV."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import payloads
from api.errors import STORE_BUSY_RESPONSE, SessionNotFoundError, SessionStartFailedError
from api.messages import SESSION_STATE_DESCRIPTION
from api.pipeline import SessionState, SimulatorSpec
from api.problems import ProblemError
from api.research.units import (
    BEAT_UNITS,
    DESCRIPTIONS,
    NO_CONTACT_UNITS,
    contact_code,
    csv_text,
    units_of,
)
from api.routes._cursor import (
    MAX_CURSOR_CHARS,
    CursorError,
    Position,
    decode_cursor,
    encode_cursor,
    following,
)
from api.routes._deps import ManagerDep, StorageDep
from api.sessions import LiveSession, SessionCreate, SessionManager, SessionMode, stored_within_cap
from api.storage import Behind, Row, Storage
from sensors import SourceState
from sensors.contact import NoContactStretch, no_contact_stretches, open_stretch_starts

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

#: Largest ``offset`` of a list (bounded: SQLite integers end at 2**63 - 1).
MAX_OFFSET = 10**9

Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]


class SessionSummary(BaseModel):
    """What a history list shows of a session."""

    duration_s: float | None = Field(description="Session time of the last beat, s")
    n_windows: int = Field(description="60 s windows analysed")
    mean_rmssd_ms: float | None = Field(description="Mean of the windows' RMSSD, ms")
    mean_hr_bpm: float | None = Field(description="Mean of the windows' mean HR, beats/min")
    n_micro_breaks: int = Field(description="Micro-break flags raised")
    n_breaks: int = Field(
        default=0,
        description="Breaks the person started in this session (each break_started event: the "
        "page's or an app's break button, from a flag, a prompt or on one's own). Not counted, "
        "though the micro-break monitor treats them as breaks for time on task: a paced "
        "practice or assessment (its own session's Mode) and an absence of 10 minutes (no "
        "signal, the strap off)",
    )
    n_checkins: int = Field(description="Check-ins attached to the session")


class StorageBehind(BaseModel):
    """While the database takes no writes: what the service keeps in memory to write, and lost.

    The service keeps up to 100,000 rows (beats, metrics windows, events) and writes them, in
    order, once the database takes writes again (tried again after 1 s, doubling up to 60 s);
    newer rows past that are dropped and counted here.
    The counts are the service's, every session's together; what of this session was dropped
    is said in its stored ``message`` once it ends.
    """

    # 100,000: api.storage.writer.BACKLOG_MAX_ROWS (tests/api/test_openapi_types.py holds both)
    since: float = Field(
        description="When the first write try held up began (it failed, or waited 3 s), "
        "Unix seconds"
    )
    beats_waiting: int = Field(
        description="Beats received (all sessions), kept in memory, not stored yet"
    )
    rows_waiting: int = Field(description="Rows of any kind (beats among them) waiting")
    beats_dropped: int = Field(description="Beats dropped past the bound (all sessions): lost")
    rows_dropped: int = Field(description="Rows of any kind dropped past the memory bound")
    message: str


class SessionOut(BaseModel):
    """A session as stored, with its live state while it runs."""

    # every field is in every answer: required in the document (a generated client's
    # attributes are then not Unset; review rev12_appdev 5)
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    state: SessionState = Field(description=SESSION_STATE_DESCRIPTION)
    message: str
    mode: SessionMode
    source: payloads.SessionSource
    options: payloads.SessionOptionsOut
    created_at: float = Field(description="Unix seconds")
    ended_at: float | None = Field(description="Unix seconds; null while running")
    n_beats: int
    live: bool = Field(description="True while the session runs in this process")
    label: str = Field(default="", description="Free text shown in the history (settable)")
    t_s: float | None = Field(
        default=None,
        description="Session time of the last beat, s (in GET /sessions/{id}, and in the "
        "answers of PATCH and POST .../stop; null without beats)",
    )
    source_state: SourceState | None = Field(
        default=None, description="Where the source is in its life (while running)"
    )
    last_metrics: payloads.WindowMetrics | None = Field(
        default=None,
        description="The latest window's metrics (while running; once ended, its last stored "
        "window; null without one)",
    )
    last_guidance: payloads.Guidance | None = Field(
        default=None,
        description="The latest guidance sent while the session runs and paces; null when "
        "nothing paces (also after a stop or an assessment's verdict ended the pacing)",
    )
    last_signal: payloads.WindowSignal | None = Field(
        default=None,
        description="Signal quality and rhythm of the last 60 s of beats, as in the latest "
        "live signal message (sent about every 5 s of session time; while running, null "
        "before the first beat). Not stored: derived from the beats.",
    )
    last_micro_break: payloads.MicroBreakDue | None = Field(
        default=None, description="The latest micro-break flag (while running)"
    )
    strap: payloads.StrapStatus | None = Field(
        default=None,
        description="While a strap's session runs (source kind ble): the strap's last battery "
        "level and its warnings, as the live status says them; null for a simulator or a "
        "replay, and once the session is not running (not stored)",
    )
    summary: SessionSummary | None = Field(
        default=None,
        description="What the history shows of the session: its length, windows, means, "
        "flags, breaks and check-ins as stored when answered (while it runs, so far). In "
        "GET /sessions, GET /sessions/{id} and the answers of PATCH and POST .../stop; null "
        "only in the answer of POST /sessions (a session that has just started, or failed "
        "at once: nothing stored to summarise). Its numbers are null where the session has "
        "none: duration_s without beats, a mean without a window that has it",
    )
    storage_behind: StorageBehind | None = Field(
        default=None,
        description="While running and the database takes no writes (locked by another "
        "program, a full or stalled disk): what waits to be written and what was dropped; "
        "null otherwise",
    )


class SessionList(BaseModel):
    """A page of sessions, newest first, with how many are stored in all and the next page."""

    sessions: list[SessionOut]
    total: int = Field(description="Sessions stored (whatever limit, offset and cursor)")
    # required (no default), as every field the service always sends: a generated client types
    # it ``str | None``, not ``str | None | Unset``, and refuses a list without it (a build from
    # before the cursor; refuses: its ``from_dict`` raises ``KeyError``) rather than read a first
    # page as the last, or loop on it (an unset cursor is left out of the next request, which
    # asks for the first page again)
    next_cursor: str | None = Field(
        description="The next page: pass this as cursor (an opaque text: as it is); null "
        "on the last page. No session stored when the first page was read is skipped or "
        "repeated, however sessions start or are deleted meanwhile (the cursor's own one "
        "too; one deleted before its page is not shown). A session started meanwhile is "
        "normally newer than the first page, not on later ones, but can be on one: the "
        "order is by created_at, so a clock set back or another program storing its session "
        "late puts it after the cursor. Not null when sessions followed this page as it was "
        "read: the next page can be empty (with null) if they are deleted meanwhile"
    )


class BeatOut(BaseModel):
    """A stored beat of a session: its RR interval, its time, contact and gap flags."""

    idx: int
    t_s: float
    rr_ms: float
    arrived_at: float = Field(
        description="When the beat reached the service, Unix seconds (wall clock): a strap's "
        "packet arrival; for a replay or the simulator at a speed other than 1, when the "
        "pipeline got it (not the source's faster clock, which runs ahead of the wall clock)"
    )
    contact: bool | None
    gap_before: bool
    hr_bpm: float | None


class BeatsOut(BaseModel):
    """A page of a session's stored beats, in order."""

    session_id: str
    beats: list[BeatOut]
    total: int = Field(
        description="Beats the filters select before limit (since_t_s, since): the beats "
        "returned and those still to come"
    )


class NoContactOut(BaseModel):
    """A stretch without skin contact, on the session's beat timeline (seconds)."""

    # the stretches of sensors.contact.NoContactStretch

    start_t_s: float = Field(description=DESCRIPTIONS["start_t_s"])
    end_t_s: float | None = Field(description=DESCRIPTIONS["end_t_s"])
    ended_by: Literal["contact", "beat", "end"] = Field(description=DESCRIPTIONS["ended_by"])


class ContactOut(BaseModel):
    """A session's stretches without skin contact, in time order."""

    session_id: str
    no_contact: list[NoContactOut] = Field(
        description="Where the strap reported no skin contact (it sends no beats then, or "
        "beats marked without contact, so the beat rows cannot show where it began and ended); "
        "a replay keeps those of its hrvpace recording's '# contact' lines, the simulator "
        "its simulated contact losses (contact_loss_rate); empty for a replay of another "
        "format and a session stored before hrvpace kept them"
    )


class SnapshotsOut(BaseModel):
    """A page of a session's stored metrics windows, in ``t_s`` order."""

    session_id: str
    metrics: list[payloads.MetricsSnapshot]
    total: int = Field(description="Windows the filter selects before limit (since)")


#: ``since``: the incremental cursor of beats and metrics (see :mod:`api.storage.series`).
Since = Annotated[
    float | None,
    Query(
        ge=-1e12,
        le=1e12,
        description="Only items after this session time t_s, s (exclusive). To follow a "
        "session, pass the t_s of the last item received: items come in t_s order and a page "
        "holds every item of its last t_s, so nothing is missed or repeated.",
    ),
]
#: ``limit``: at most this many items (a few more when the last ones share a ``t_s``).
Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=100_000,
        description="At most this many items (more only when several share the page's last "
        "t_s); none: all",
    ),
]


def _row_to_out(
    row: Row, live: LiveSession | None, summary: dict[str, Any] | None = None
) -> SessionOut:
    out = SessionOut(
        id=row["id"],
        state=row["state"],
        message=row["message"],
        mode=row["mode"],
        source=json.loads(row["source_json"]),
        options=json.loads(row["options_json"]),
        created_at=row["created_at"],
        ended_at=row["ended_at"],
        n_beats=row["n_beats"],
        live=live is not None and not live.finishing,
        summary=None if summary is None else SessionSummary(**summary),
    )
    out.label = out.options.label
    if live is not None and live.finishing:  # its final state waits for storage (_storing)
        out.storage_behind = storage_behind(live.pipeline.storage.behind)
    elif live is not None:
        p = live.pipeline
        out.state = p.state
        out.message = p.message
        out.n_beats = max(out.n_beats, p.n_beats)
        out.t_s = p.t_s if p.n_beats else None
        out.source_state = p.source.status.state
        out.last_metrics = p.last_metrics
        out.last_guidance = p.last_guidance
        out.last_signal = p.last_signal
        out.last_micro_break = p.last_micro_break
        if p.is_strap:
            out.strap = payloads.StrapStatus(
                battery_pct=p.source.status.battery_pct,
                battery_warning=p.battery_warning,
                silence_warning=p.silence_warning(),
            )
        out.storage_behind = storage_behind(p.storage.behind)
    return out


def storage_behind(behind: object | None) -> StorageBehind | None:
    """What the storage writer says it keeps while the database takes no writes."""
    if not isinstance(behind, Behind):
        return None
    dropped = (
        f"; {behind.beats_dropped} beats ({behind.rows_dropped} rows) dropped past the memory "
        "bound: lost"
        if behind.rows_dropped
        else ""
    )
    return StorageBehind(
        since=behind.since,
        beats_waiting=behind.beats_waiting,
        rows_waiting=behind.rows_waiting,
        beats_dropped=behind.beats_dropped,
        rows_dropped=behind.rows_dropped,
        message=f"storage is behind: the database takes no writes yet ({behind.error}); "
        f"{behind.beats_waiting} beats wait in memory and are stored once it does{dropped}",
    )


async def _get_row(storage: Storage, session_id: str) -> Row:
    row = await asyncio.to_thread(storage.get_session, session_id)
    if row is None:
        raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
    return row


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses={
        404: {"description": "No recording of that name (recording_not_found)"},
        409: {"description": "A running session holds that strap (strap_in_use)"},
        501: {"description": "That kind of source is not available on this server"},
        503: {
            "description": "The server's settings for that source are unusable "
            "(source_misconfigured, e.g. HRVPACE_BLE_CLOSE_TIMEOUT_S), or the database takes "
            "no writes (store_busy, with Retry-After)",
            "headers": STORE_BUSY_RESPONSE[503]["headers"],
        },
    },
)
async def start_session(
    body: SessionCreate, manager: ManagerDep, storage: StorageDep
) -> SessionOut:
    """Start a session: a source through the live pipeline.

    The source is the simulator, a replay of a recording, or a BLE strap. A replay names a
    recording of ``GET /api/v1/recordings``.
    """
    try:
        live = await manager.start(body)
    except SessionStartFailedError as exc:
        # its row was stored, then the start failed: the row is stored failed, answered so
        # (as a source that fails at once), never left running
        return _row_to_out(await _get_row(storage, exc.session_id), None)
    row = await _get_row(storage, live.id)
    # a source that fails at once (a strap without BlueZ) may have ended meanwhile: answer
    # the session as stored then (failed, ended_at set, not live), never half of each
    running, row = await _settled(manager, storage, live, row)
    return _row_to_out(row, running)


#: Seconds an answer waits for sessions that are storing their final state (or entering the
#: running ones) before it answers the stored rows as they are.
SETTLE_TIMEOUT_S = 3.0
#: Seconds between two looks at a session whose row is stored before it runs (its start is
#: between storing the row and entering the running sessions: a moment).
_ENTERING_POLL_S = 0.005


async def _all_done(sessions: list[LiveSession], timeout_s: float) -> None:
    """Wait until every one of ``sessions`` has stored its final state, at most ``timeout_s``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(timeout_s, 0.0)):
            for s in sessions:
                await s.done.wait()


def _storing(live: LiveSession) -> bool:
    """Whether ``live`` is stopped and its final state waits for a database taking no writes.

    It may wait long (a lock another program holds, a full disk): an answer does not wait for
    it, and shows the session as stored (``running``, ``live`` false, ``ended_at`` null) with
    ``storage_behind`` (:func:`_row_to_out`).
    """
    return live.finishing and not live.done.is_set() and live.pipeline.storage.behind is not None


def _unsettled(
    manager: SessionManager, live: LiveSession | None, row: Row, reread: set[str]
) -> bool:
    """Whether ``live`` (looked up before ``row`` was read) and ``row`` may not agree.

    ``live`` is storing its final state or has ended (its row, read meanwhile, may be stale);
    or there was no running session but ``row`` says ``running``: the session began after the
    look-up (it is running or entering now, or it has even ended since), so its row is read
    again. A ``running`` row no session of this process holds is read again once (its id is
    added to ``reread``), then answered as it is.
    """
    if live is not None:
        return (live.finishing and not _storing(live)) or live.done.is_set()
    sid = row["id"]
    if row["state"] != "running":
        return False
    if manager.get_live(sid) is not None or manager.entering(sid):
        return True
    if sid in reread:
        return False
    reread.add(sid)
    return True


async def _settled(
    manager: SessionManager, storage: Storage, live: LiveSession | None, row: Row
) -> tuple[LiveSession | None, Row]:
    """The session's live part and row as one answer shows them, never half of each.

    ``live`` (the running session, looked up before ``row`` was read) and ``row``; or, when
    that session has meanwhile begun storing its final state or ended, ``None`` and its row
    once stored (:attr:`api.sessions.LiveSession.finishing`, a fraction of a second); or, when
    a ``running`` row's session was not running at the look-up but is now (or is entering), that
    session and its row read again.

    Called right before the answer is made (no await between): a session that is not
    finishing now is still running, and ``row``, read while it ran, is not final either. So an
    answer never shows a final ``state`` with ``live`` true and no ``ended_at``, nor a stale
    ``running`` row with ``live`` false. The wait is bounded (:data:`SETTLE_TIMEOUT_S`): after
    it the stored row is answered (``live`` false), as it is then.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    reread: set[str] = set()
    while _unsettled(manager, live, row, reread):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, await _get_row(storage, row["id"])
        if live is not None:
            await _all_done([live], remaining)
        elif manager.entering(row["id"]):
            await asyncio.sleep(_ENTERING_POLL_S)  # in a moment
            continue
        live = manager.get_live(row["id"])  # looked up before the row, as at first
        row = await _get_row(storage, row["id"])
    return live, row


def _query_issue(field: str, msg: str, given: object) -> HTTPException:
    """The 422 for a query parameter of the list (``loc`` ``["query", field]``)."""
    return HTTPException(
        422, detail=[{"loc": ["query", field], "msg": msg, "type": "value_error", "input": given}]
    )


@router.get("", response_model=SessionList)
async def list_sessions(
    manager: ManagerDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="Skip this many sessions, counted from the newest when asked. A "
            "session started or deleted between two pages shifts the next one: a session "
            "comes twice or is skipped. To page through the list, follow next_cursor "
            "(cursor) instead; not with a cursor (a 422)",
        ),
    ] = 0,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="The next page: pass the previous page's next_cursor as it is. The "
            "sessions after that page's last one in the list's order, whether sessions "
            "started or were deleted meanwhile (that one too). Not of a cursor's shape "
            "(empty: leave cursor out for the first page; not its base64, another shape or "
            "version): a 422 naming cursor",
        ),
    ] = None,
) -> SessionList:
    """Sessions, newest first (then by id), a page at a time.

    The first page without ``cursor``; each page's ``next_cursor`` (``null`` on the last)
    names the next, as the place after its last session (its ``created_at`` and id), so no
    session stored when the first page was read is skipped or repeated (one deleted before
    its page is not shown), however sessions start or are deleted meanwhile. ``offset``
    pages as before, and can repeat or skip one then; ``cursor`` with an ``offset`` other
    than 0 is a 422.
    """
    position = Position(skip=offset)
    if cursor is not None:
        try:
            position = decode_cursor(cursor)
        except CursorError as exc:
            raise _query_issue("cursor", str(exc), cursor) from None
        if offset:
            raise _query_issue(
                "offset",
                "offset with a cursor: the cursor says where the page begins, and an offset "
                "from it would skip sessions and shift again when sessions start or are "
                "deleted; leave offset out",
                offset,
            )
    # live sessions before the rows: one that ends in between is shown live with its final
    # row, never not-live with a stale 'running' row; one that began in between (its row
    # read 'running', not in the look-up) or that is storing its final state: read again
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    reread: set[str] = set()
    while True:
        live = {s.id: s for s in manager.live_sessions}
        rows = await asyncio.to_thread(
            storage.list_sessions, limit=limit + 1, offset=position.skip, after=position.place
        )
        more = len(rows) > limit
        rows = rows[:limit]
        summaries = await asyncio.to_thread(storage.session_summaries, [r["id"] for r in rows])
        total = await asyncio.to_thread(storage.count_sessions)
        unsettled = [r for r in rows if _unsettled(manager, live.get(r["id"]), r, reread)]
        remaining = deadline - time.monotonic()
        if not unsettled:
            break
        if remaining <= 0:  # answer the stored rows as they are
            live = {sid: s for sid, s in live.items() if sid not in {r["id"] for r in unsettled}}
            break
        finishing = [live[r["id"]] for r in unsettled if r["id"] in live]
        if finishing:  # storing their final state: wait for it (see _settled)
            await _all_done(finishing, remaining)
        elif all(manager.entering(r["id"]) for r in unsettled):
            await asyncio.sleep(_ENTERING_POLL_S)  # running in a moment
    return SessionList(
        sessions=[_row_to_out(r, live.get(r["id"]), summaries[r["id"]]) for r in rows],
        total=total,
        next_cursor=(
            encode_cursor(following(position, [(r["created_at"], r["id"]) for r in rows]))
            if more
            else None
        ),
    )


@router.get("/{session_id}", response_model=SessionOut, responses={404: {}})
async def get_session(session_id: str, manager: ManagerDep, storage: StorageDep) -> SessionOut:
    """One session, with its summary."""
    before = manager.get_live(session_id)  # before the row (see _settled)
    row = await _get_row(storage, session_id)
    summaries = await asyncio.to_thread(storage.session_summaries, [session_id])
    live, settled_row = await _settled(manager, storage, before, row)
    if settled_row is not row:  # it ended meanwhile: its final summary
        summaries = await asyncio.to_thread(storage.session_summaries, [session_id])
    out = _row_to_out(settled_row, live, summaries[session_id])
    if out.t_s is None:  # an ended session: its last stored beat (the page backfills from it)
        out.t_s = await asyncio.to_thread(storage.last_beat_t_s, session_id)
    if not out.live and out.last_metrics is None:
        # an ended session: its last stored window (rev12 review: a page attaching an ended
        # session again said "its last numbers" and showed none)
        out.last_metrics = await asyncio.to_thread(_last_stored_metrics, storage, session_id)
    return out


def _last_stored_metrics(storage: Storage, session_id: str) -> payloads.WindowMetrics | None:
    """The session's last stored metrics window; ``None`` without one (or one not readable)."""
    data = storage.last_snapshot("metrics", session_id)
    if data is None:
        return None
    try:
        return payloads.WindowMetrics.model_validate(data)
    except ValidationError:  # stored by another version: left out, never a failed answer
        log.warning("session %s: its last metrics window is not readable", session_id)
        return None


class SessionPatch(BaseModel):
    """Body of ``PATCH /api/v1/sessions/{id}``: what a person may change afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True)

    label: str = Field(max_length=200, description="Free text shown in the history")


@router.patch(
    "/{session_id}", response_model=SessionOut, responses={404: {}, **STORE_BUSY_RESPONSE}
)
async def update_session(
    session_id: str, body: SessionPatch, manager: ManagerDep, storage: StorageDep
) -> SessionOut:
    """Change a session's label (running or ended)."""
    await _get_row(storage, session_id)
    await stored_within_cap(storage.set_session_label(session_id, body.label.strip()))
    return await get_session(session_id, manager, storage)


@router.post(
    "/{session_id}/stop",
    response_model=SessionOut,
    responses={
        404: {},
        503: {
            "description": "store_busy: the session is stopped (no beat taken after the stop) "
            "but its final state was not stored within 10 s (the database locked by another "
            "program, a stalled disk); it is stored once the database takes writes",
            "headers": STORE_BUSY_RESPONSE[503]["headers"],
        },
    },
)
async def stop_session(session_id: str, manager: ManagerDep, storage: StorageDep) -> SessionOut:
    """Stop a running session (a session that already ended is returned as is).

    The answer is the ended session as ``GET /api/v1/sessions/{id}`` gives it: its summary and
    the ``t_s`` of its last beat included. The wait for its final state's write is capped at
    10 s: after it, 503 ``store_busy``.
    """
    # 10 s: api.sessions.STOP_STORE_TIMEOUT_S (tests/api/test_openapi_types.py holds the two)
    await manager.stop(session_id)  # 404 when no such session (its read capped too)
    return await get_session(session_id, manager, storage)


def beats_csv(rows: list[tuple[Any, ...]]) -> str:
    """CSV of stored beats, as ``hrvpace export`` writes it (:data:`BEAT_UNITS`).

    The header says ``name [unit]`` with the JSON's names; ``contact`` is 1, 0 or -1 (not
    reported), ``gap_before`` 1/0, floats ``repr`` (they read back exactly).
    """
    return csv_text(
        list(BEAT_UNITS),
        BEAT_UNITS,
        (
            (
                idx,
                t_s,
                rr_ms,
                arrived_at,
                contact_code(contact),
                bool(gap),
                hr,
            )
            for idx, t_s, rr_ms, arrived_at, contact, gap, hr in rows
        ),
    )


def snapshots_csv(items: list[dict[str, Any]]) -> str:
    """CSV of metric snapshots: ``t_s``, ``recorded_at``, then every metric key, with units."""
    keys: list[str] = ["t_s", "recorded_at"]
    for item in items:
        for k in item:
            if k not in keys:
                keys.append(k)
    return csv_text(keys, units_of(keys), ([item.get(k) for k in keys] for item in items))


@router.get(
    "/{session_id}/beats",
    response_model=BeatsOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, 404: {}},
)
async def get_beats(
    session_id: str,
    storage: StorageDep,
    format: Format = "json",
    since_t_s: Annotated[
        float | None,
        Query(
            ge=-1e12,
            le=1e12,
            description="Only beats at or after this session time, s (the page backfills its "
            "5-minute tachogram with it)",
        ),
    ] = None,
    since: Since = None,
    limit: Limit = None,
) -> Response:
    """A session's stored beats in order (``?format=csv`` for CSV with units in the header).

    Follow a session incrementally with ``since`` (the last beat's ``t_s``) and ``limit``;
    ``total`` (CSV: the ``X-Total-Count`` header) counts the beats the filters select.
    ``since_t_s`` (inclusive) and ``since`` (exclusive) are two ways to say where to start:
    both at once is a 422 (they were combined in silence).
    """
    if since_t_s is not None and since is not None:
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["query", "since_t_s"],
                    "msg": "give since_t_s (at or after) or since (after, to page), not both",
                    "type": "value_error",
                    "input": since_t_s,
                }
            ],
        )
    await _get_row(storage, session_id)
    rows = await asyncio.to_thread(
        storage.beats, session_id, since_t_s=since_t_s, since=since, limit=limit
    )
    total = await asyncio.to_thread(
        storage.count_beats, session_id, since_t_s=since_t_s, since=since
    )
    if format == "csv":
        return Response(
            beats_csv(rows),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{session_id}-beats.csv"',
                "X-Total-Count": str(total),
            },
        )
    cols = ("idx", "t_s", "rr_ms", "arrived_at", "contact", "gap_before", "hr_bpm")
    return JSONResponse(
        {
            "session_id": session_id,
            "beats": [dict(zip(cols, r, strict=True)) for r in rows],
            "total": total,
        }
    )


@router.get(
    "/{session_id}/contact",
    response_model=ContactOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, 404: {}},
)
async def get_contact(session_id: str, storage: StorageDep, format: Format = "json") -> Response:
    """A session's stretches without skin contact (``?format=csv`` for CSV with units).

    On the beats' timeline (``t_s``). A live strap reports no skin contact with its status
    (``no_contact``); it sends no beats then, or beats marked without contact (``contact``
    false), so the beats alone cannot show the stretch. One the strap dropped in ends at the
    next beat with contact (``contact`` true or not reported), or lasts to the end.
    """
    await _get_row(storage, session_id)
    stretches = await asyncio.to_thread(_stretches, storage, session_id)
    if format == "csv":
        return Response(
            csv_text(
                list(NO_CONTACT_UNITS),
                NO_CONTACT_UNITS,
                ((x.start_t_s, x.end_t_s, x.ended_by) for x in stretches),
            ),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{session_id}-contact.csv"'},
        )
    return JSONResponse(
        {
            "session_id": session_id,
            "no_contact": [dataclasses.asdict(x) for x in stretches],
        }
    )


def _stretches(storage: Storage, session_id: str) -> list[NoContactStretch]:
    changes = storage.contact_changes(session_id)
    # only the stretches no 'contact back' change ends look for a beat (a few lookups each)
    after = open_stretch_starts(changes)
    return no_contact_stretches(changes, storage.next_contact_beat_times(session_id, after))


@router.get(
    "/{session_id}/metrics",
    response_model=SnapshotsOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, 404: {}},
)
async def get_metrics(
    session_id: str,
    storage: StorageDep,
    format: Format = "json",
    since: Since = None,
    limit: Limit = None,
) -> Response:
    """A session's stored metrics snapshots (one per completed window) in ``t_s`` order.

    Follow a session incrementally with ``since`` (the last window's ``t_s``) and ``limit``;
    ``total`` (CSV: the ``X-Total-Count`` header) counts the windows the filter selects.
    """
    await _get_row(storage, session_id)
    items = await asyncio.to_thread(
        storage.snapshots, "metrics", session_id, since=since, limit=limit
    )
    total = await asyncio.to_thread(storage.count_snapshots, "metrics", session_id, since=since)
    if format == "csv":
        return Response(
            snapshots_csv(items),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{session_id}-metrics.csv"',
                "X-Total-Count": str(total),
            },
        )
    return JSONResponse({"session_id": session_id, "metrics": items, "total": total})


class SimulatorControlIn(BaseModel):
    """Body of ``POST /api/v1/sessions/{id}/simulator``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stress: float = Field(ge=0.0, le=1.0, description="0 (calm) .. 1 (stressed)")


class SimulatorControlOut(BaseModel):
    """The simulated person's stress level now."""

    session_id: str
    stress: float


@router.post(
    "/{session_id}/simulator",
    response_model=SimulatorControlOut,
    responses={404: {}, 409: {"description": "Not a running simulated session"}},
)
async def control_simulator(
    session_id: str, body: SimulatorControlIn, manager: ManagerDep, storage: StorageDep
) -> SimulatorControlOut:
    """Change the simulated person's stress level while the session runs (demos and tests)."""
    await _get_row(storage, session_id)
    live = manager.get_running(session_id)  # not one stopped, storing its final state
    if live is None or not isinstance(live.request.source, SimulatorSpec):
        raise ProblemError(409, "not_a_simulation", "not a running simulated session")
    live.control.stress = body.stress
    return SimulatorControlOut(session_id=session_id, stress=live.control.stress)
