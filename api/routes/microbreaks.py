"""Micro-breaks: a session's state, user actions, history, and the settings.

A session's current state, user actions, history with reasons and effects, and the settings
(``breathing.MicroBreakSettings``) used by sessions started afterwards.

Flags themselves arrive on the live WebSocket as ``micro_break`` messages (``event`` =
``micro_break`` for a flag; ``break_started``, ``break_ended``, ``break_effect``,
``micro_break_acknowledged``, ``micro_break_snoozed`` for the rest).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    create_model,
)

from api import payloads
from api.dayplan import MAX_QUIET_HOURS
from api.errors import STORE_BUSY_RESPONSE
from api.pipeline import (
    MICROBREAK_SETTINGS_KEY,
    MicroBreaks,
    microbreak_settings,
    usable_overrides,
)
from api.problems import ProblemError
from api.routes._deps import AfterId, ManagerDep, StorageDep, after_id_not_found, running_session
from api.routes.dayplan import SchedulerDep, save_plan, with_quiet_hours
from api.sessions import LiveSession, stored_within_cap
from api.storage import Storage
from breathing.dayplan import DayPlan
from breathing.engine import PRACTICE_INHALE_TO_EXHALE
from breathing.errors import BreathingError, MicroBreakStateError, SettingError
from breathing.microbreak import MicroBreakSettings
from breathing.microbreak.settings import SETTING_RANGES, SettingRange

log = logging.getLogger(__name__)

session_router = APIRouter(prefix="/api/v1/sessions/{session_id}/microbreaks", tags=["microbreaks"])
router = APIRouter(prefix="/api/v1/microbreaks", tags=["microbreaks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {},
    409: {
        "description": "The session is not running (code session_not_running), or the "
        "action does not fit the micro-break state: a break already running "
        "(break_already_running), none to end (no_break_running), no flag to acknowledge "
        "(no_flag_to_acknowledge)"
    },
    501: {"description": "Micro-break flags are not available in this build"},
}


class MicroBreakStateOut(BaseModel):
    """A session's micro-break state now, as the service holds it in memory.

    Unlike ``GET /microbreaks/history`` (written events), it includes an event made a moment
    ago whose write is not yet committed: a page that subscribed to the live WebSocket reads it
    to learn what happened before its subscription (``seq`` tells it which live
    ``micro_break`` messages it already covers).
    """

    session_id: str
    t_s: float = Field(description="Session time, s")
    seq: int = Field(
        description="The session's live message number when this was read: a live "
        "micro_break message with a seq up to this one is included here (older than this "
        "state), one above it came after"
    )
    banner: payloads.BreakBanner = Field(
        description="What the micro-break banner shows now: due (the latest event is a flag "
        "not acknowledged nor snoozed; status.last_flag is it), break (a break runs), "
        "measuring (a break ended, its effect not yet told), none"
    )
    status: payloads.MicroBreakStatus = Field(
        description="breathing.MicroBreakStatus of the session"
    )
    break_paces: bool = Field(
        default=False,
        description="The running break started the pacer (a timed breathing break that began "
        "with nothing pacing): ending the break stops it. False when no break runs, or when "
        "a practice or an assessment paces beside the break (ending the break leaves it).",
    )


class EventsOut(BaseModel):
    """The micro-break events a user action gave."""

    session_id: str
    events: list[payloads.MicroBreakEvent]


class SnoozeIn(BaseModel):
    """Body of a snooze: how many minutes without a flag."""

    model_config = ConfigDict(extra="forbid", strict=True)
    minutes: float = Field(ge=0, le=24 * 60, description="0 cancels a snooze")


class StartBreakIn(BaseModel):
    """Body of a break start: its kind and, optionally, its duration."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kind: payloads.BreakKindName = "breathing"
    duration_s: float | None = Field(
        default=None,
        ge=10.0,
        le=3600.0,
        description="End the break by itself after this many seconds of session time (the "
        "2-minute reset: 120). A breathing break with a duration also paces for that long, at "
        "the person's resonance rate (else 6/min), 4:6 in:out; a practice or an assessment "
        "already pacing goes on as it is (the break is then timed only, and ending it leaves "
        "that pacing running).",
    )


def _monitor(live: LiveSession) -> MicroBreaks:
    mb = live.pipeline.microbreaks
    if mb is None:
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, "micro-breaks are not available")
    return mb


#: The 409 code of each micro-break state that refuses an action (titles: PROBLEM_TITLES).
_STATE_CODES: dict[str, str] = {
    "no_flag": "no_flag_to_acknowledge",
    "no_break_running": "no_break_running",
    "break_running": "break_already_running",
}


def _act(live: LiveSession, action: str, **kwargs: Any) -> EventsOut:
    mb = _monitor(live)
    try:
        events = mb.act(action, live.pipeline.t_s, **kwargs)
    except MicroBreakStateError as exc:  # each state its own code, to branch on
        raise ProblemError(409, _STATE_CODES[exc.state], str(exc)) from exc
    except BreathingError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    live.pipeline.publish_micro_break_events(events)
    return EventsOut(session_id=live.id, events=[payloads.micro_break_event(e) for e in events])


@session_router.get("", response_model=MicroBreakStateOut, responses=_ERRORS)
async def get_state(
    session_id: str, manager: ManagerDep, storage: StorageDep
) -> MicroBreakStateOut:
    """The session's micro-break state: banner, baseline, stress, load, time on task, flag.

    From memory (an event not yet written included), as of live message ``seq``.
    """
    live = await running_session(manager, storage, session_id)
    mb = _monitor(live)
    # no await from here: seq, banner and status are of the same moment
    return MicroBreakStateOut(
        session_id=session_id,
        t_s=live.pipeline.t_s,
        seq=live.hub.seq,
        banner=mb.banner,
        status=mb.status(),
        break_paces=mb.break_paces and mb.monitor.in_break,
    )


@session_router.post("/acknowledge", response_model=EventsOut, responses=_ERRORS)
async def acknowledge(session_id: str, manager: ManagerDep, storage: StorageDep) -> EventsOut:
    """The user saw the latest flag (409 when no flag has been raised in this session)."""
    return _act(await running_session(manager, storage, session_id), "acknowledge")


@session_router.post("/snooze", response_model=EventsOut, responses=_ERRORS)
async def snooze(
    session_id: str, body: SnoozeIn, manager: ManagerDep, storage: StorageDep
) -> EventsOut:
    """No flag for ``minutes`` (0 cancels a snooze)."""
    return _act(await running_session(manager, storage, session_id), "snooze", minutes=body.minutes)


@session_router.post("/start", response_model=EventsOut, responses=_ERRORS)
async def start_break(
    session_id: str, body: StartBreakIn, manager: ManagerDep, storage: StorageDep
) -> EventsOut:
    """Start a break (from a flag or on one's own); its effect is measured afterwards.

    With ``duration_s`` the break ends by itself (``break_ended`` then ``break_effect`` on the
    live WebSocket); a breathing break with a duration also starts the pacer for that long,
    unless a practice or an assessment already paces: that goes on as it is, and ending the
    break leaves it running.
    """
    live = await running_session(manager, storage, session_id)
    out = _act(live, "start_break", kind=body.kind, duration_s=body.duration_s)
    pacer = live.pipeline.pacer
    # A practice or an assessment already pacing goes on as it is (the reset's 2-minute pacing
    # would cut it short, and ending the break would then stop it): the break is timed only.
    if (
        body.kind == "breathing"
        and body.duration_s is not None
        and pacer is not None
        and not pacer.active
    ):
        t_s = live.pipeline.t_s
        events = pacer.start_fixed(
            pacer.default_rate(t_s),
            t_s=t_s,
            inhale_to_exhale=PRACTICE_INHALE_TO_EXHALE,
            duration_s=body.duration_s,
        )
        live.pipeline.publish_guidance(events, t_s=t_s)
        _monitor(live).break_paces = True
    return out


@session_router.post("/end", response_model=EventsOut, responses=_ERRORS)
async def end_break(session_id: str, manager: ManagerDep, storage: StorageDep) -> EventsOut:
    """End the running break (409 when none runs); a pacer the break started stops with it."""
    live = await running_session(manager, storage, session_id)
    out = _act(live, "end_break")
    mb = _monitor(live)
    pacer = live.pipeline.pacer
    if mb.break_paces and pacer is not None and pacer.active:
        t_s = live.pipeline.t_s
        live.pipeline.publish_guidance(pacer.stop(t_s=t_s), t_s=t_s)
    mb.break_paces = False
    return out


class HistoryItem(BaseModel):
    """A stored micro-break event (a flag, an acknowledgement, a break or its effect)."""

    id: int
    session_id: str | None
    t_s: float | None
    recorded_at: float = Field(description="Unix seconds")
    event: str
    data: payloads.MicroBreakEvent = Field(
        description="The event: reason and suggestion, or effect"
    )


class HistoryOut(BaseModel):
    """Stored micro-break events, newest first, with how many are stored in all."""

    events: list[HistoryItem]
    total: int = Field(
        description="Events stored (of the session when given), whatever limit and after_id"
    )
    next_after_id: int | None = Field(
        default=None,
        description="Older events follow this page: pass this as after_id for the next one; "
        "null on the last page",
    )
    unreadable: int = Field(
        default=0,
        description="Stored events of this page left out because their data does not fit the "
        "event schema (written by an older version or by hand); the log names their ids",
    )


@router.get("/history", response_model=HistoryOut)
async def history(
    storage: StorageDep,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    after_id: AfterId = None,
) -> HistoryOut:
    """Flags with their reasons and suggestions, breaks and their effects, newest first.

    Older pages: pass the page's ``next_after_id`` as ``after_id`` (events stored meanwhile
    are newer, so they shift no page).
    """
    if after_id is not None and not await asyncio.to_thread(storage.has_micro_break, after_id):
        raise after_id_not_found("micro-break event", after_id)
    rows = await asyncio.to_thread(
        storage.micro_breaks, session_id=session_id, limit=limit + 1, after_id=after_id
    )
    more = len(rows) > limit
    rows = rows[:limit]
    total = await asyncio.to_thread(storage.count_micro_breaks, session_id=session_id)
    events: list[HistoryItem] = []
    unreadable: list[int] = []
    for r in rows:
        try:
            events.append(
                HistoryItem(
                    id=r["id"],
                    session_id=r["session_id"],
                    t_s=r["t_s"],
                    recorded_at=r["recorded_at"],
                    event=r["kind"],
                    data=json.loads(r["data_json"]),
                )
            )
        except (ValidationError, ValueError):  # one odd row must not hide the others
            unreadable.append(int(r["id"]))
    if unreadable:
        log.warning("micro-break history: stored events %s do not fit the schema", unreadable)
    return HistoryOut(
        total=total,
        events=events,
        unreadable=len(unreadable),
        next_after_id=int(rows[-1]["id"]) if more else None,
    )


def _range_schema(allowed: SettingRange) -> dict[str, Any]:
    """JSON Schema bounds of a setting, on its property (they apply to the number, not null)."""
    low = "exclusiveMinimum" if allowed.low_open else "minimum"
    high = "exclusiveMaximum" if allowed.high_open else "maximum"
    return {low: allowed.low, high: allowed.high}


def _in_range(name: str, allowed: SettingRange) -> Callable[[float], float]:
    def check(value: float) -> float:
        if value not in allowed:
            raise ValueError(f"{name} must be in {allowed}, got {value:g}")
        return value

    return check


def _settings_fields() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(MicroBreakSettings):
        if f.name == "quiet_hours":
            out[f.name] = (
                list[tuple[str, str]] | None,
                Field(
                    default=None,
                    max_length=MAX_QUIET_HOURS,
                    description='[["22:00", "07:00"], ...]: the day plan\'s quiet hours (local '
                    "times in its zone; a PUT sets the plan's quiet_hours, never an override; "
                    "null leaves them as they are)",
                ),
            )
            continue
        allowed = SETTING_RANGES[f.name]
        field = Field(
            default=None,
            description=f"Default {f.default!r}; null clears the override (the default again)",
            json_schema_extra=_range_schema(allowed),
        )
        number: Any = StrictInt if f.type in (int, "int") else StrictFloat | StrictInt
        # strict: true/false are not numbers; the range checked on the number (null clears)
        out[f.name] = (Annotated[number, AfterValidator(_in_range(f.name, allowed))] | None, field)
    return out


MicroBreakSettingsIn = create_model(
    "MicroBreakSettingsIn",
    __config__=ConfigDict(extra="forbid"),
    **_settings_fields(),
)
MicroBreakSettingsIn.__doc__ = (
    "Overrides of breathing.MicroBreakSettings (omitted: unchanged; a numeric one null: back to "
    "the default; quiet_hours sets the day plan's, null leaves them)."
)


class MicroBreakSettingsOut(BaseModel):
    """The micro-break settings in effect and the stored overrides of the defaults."""

    settings: payloads.MicroBreakSettings = Field(
        description="The effective breathing.MicroBreakSettings"
    )
    overrides: MicroBreakSettingsIn = Field(  # type: ignore[valid-type]
        description="What differs from the defaults (stored; only the keys set)"
    )


async def _stored_overrides(storage: Storage) -> dict[str, Any]:
    """The stored overrides that are valid (one stored before a bound was added is not)."""
    stored = await asyncio.to_thread(storage.get_value, "settings", MICROBREAK_SETTINGS_KEY)
    overrides = {} if stored is None else dict(stored[0])
    # an older version's: moved into the day plan at start-up, or logged as not used
    overrides.pop("quiet_hours", None)
    usable, dropped = usable_overrides(overrides)
    if dropped:
        log.warning("micro-break settings: stored overrides out of range ignored: %s", dropped)
    return usable


def _effective(overrides: dict[str, Any], plan: DayPlan) -> MicroBreakSettingsOut:
    quiet = tuple((q.start, q.end) for q in plan.quiet_hours)
    try:
        effective = microbreak_settings(overrides, MicroBreakSettings, quiet_hours=quiet)
    except SettingError as exc:  # the settings it names are where the problem is
        raise HTTPException(
            422,
            detail=[
                {"loc": ["body", name], "msg": str(exc), "type": "value_error"}
                for name in (exc.field, *exc.others)
            ],
        ) from exc
    except (BreathingError, ValueError, TypeError) as exc:
        raise HTTPException(
            422, detail=[{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
        ) from exc
    return MicroBreakSettingsOut(
        settings=payloads.MicroBreakSettings.model_validate(effective), overrides=overrides
    )


@router.get("/settings", response_model=MicroBreakSettingsOut, response_model_exclude_unset=True)
async def get_settings(storage: StorageDep, scheduler: SchedulerDep) -> MicroBreakSettingsOut:
    """The micro-break thresholds sessions start with (defaults documented in breathing).

    ``quiet_hours`` are the day plan's (``GET /api/v1/dayplan``), in its zone.
    """
    return _effective(await _stored_overrides(storage), scheduler.plan)


@router.put(
    "/settings",
    response_model=MicroBreakSettingsOut,
    response_model_exclude_unset=True,
    responses=STORE_BUSY_RESPONSE,
)
async def put_settings(
    body: MicroBreakSettingsIn,  # type: ignore[valid-type]
    request: Request,
    storage: StorageDep,
    scheduler: SchedulerDep,
) -> MicroBreakSettingsOut:
    """Change thresholds (merged into the stored ones); applies to sessions started later.

    A numeric setting given as ``null`` clears its override: the default again (all of them
    ``null`` is a reset). Each numeric setting has a range (the schema's bounds: the property's
    ``minimum``/``exclusiveMinimum`` and ``maximum``/``exclusiveMaximum``, from
    ``breathing.microbreak.settings.SETTING_RANGES``, reasoned in ``SETTING_LIMITS``); out of
    it is a 422 whose ``loc`` names the setting. ``quiet_hours`` sets the day plan's quiet
    hours (one set for prompts and flags), which running sessions keep from their next window
    on; ``null`` leaves them. Two PUTs at once are applied one after the other: each keeps
    the other's changes.
    """
    changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    quiet = changes.pop("quiet_hours", None)
    # from the read of the stored overrides to their save: a PUT meanwhile waits (its changes
    # are merged into these, not lost). The plan lock is taken inside this one, never around it.
    lock: asyncio.Lock = request.app.state.microbreak_settings_lock
    async with lock:
        overrides = await _stored_overrides(storage)
        for name, value in changes.items():
            if value is None:
                overrides.pop(name, None)
            else:
                overrides[name] = value
        plan = scheduler.plan
        if quiet is not None:  # 422 naming quiet_hours, as PUT /dayplan's, before any write
            plan = with_quiet_hours(plan, quiet)
        out = _effective(overrides, plan)  # 422 before anything is stored
        if quiet is not None:
            # the plan first, from the plan as it is now (a PUT /dayplan during the awaits
            # above is kept), under the lock PUT /dayplan holds
            async with scheduler.plan_lock:
                await save_plan(storage, scheduler, with_quiet_hours(scheduler.plan, quiet))
        written = storage.put_value(
            "settings", MICROBREAK_SETTINGS_KEY, overrides, updated_at=time.time()
        )
        assert written is not None
        await stored_within_cap(written)
    return out
