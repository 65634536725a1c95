"""Breathing: start a resonance assessment, set a practice rate or adaptive pacing, read guidance.

Commands act on a running session's pacing engine (``breathing.PacingEngine``) at the session's
current time (its last beat); the new guidance is broadcast on the live WebSocket at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api import payloads
from api.errors import SessionNotFoundError
from api.routes._deps import ManagerDep, StorageDep, running_session
from api.sessions import LiveSession
from breathing.adaptive import AdaptiveConfig
from breathing.engine import PRACTICE_INHALE_TO_EXHALE
from breathing.errors import BreathingError

router = APIRouter(prefix="/api/v1/sessions/{session_id}/breathing", tags=["breathing"])

#: Adaptive pacing keeps its rate within the adult resonance range (Lehrer et al. 2000), so its
#: start must be there: outside it the engine would start at the range's edge, not the rate
#: asked for (as ``hrvpace practice`` refuses it).
ADAPTIVE_RANGE_BPM = (AdaptiveConfig().min_rate_bpm, AdaptiveConfig().max_rate_bpm)


class PracticeIn(BaseModel):
    """Body of ``POST .../breathing/practice``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rate_bpm: float | None = Field(
        default=None,
        ge=3.0,
        le=12.0,
        description="Fixed rate, breaths/min (3-12); with adaptive, the starting rate, which "
        "must be within 4.5-7 (adaptive pacing keeps the rate there; a start outside it is a "
        "422 naming rate_bpm). Default: the assessed resonance rate (within 4.5-7, one "
        "decimal), else 6.",
    )
    adaptive: StrictBool = Field(default=False, description="Adapt the rate breath by breath.")
    inhale_to_exhale: float = Field(
        default=PRACTICE_INHALE_TO_EXHALE,
        ge=0.25,
        le=4.0,
        description="Inhale duration / exhale duration (default 4:6 = 0.667: longer out than in).",
    )
    duration_s: float | None = Field(
        default=None,
        ge=10.0,
        le=3600.0,
        description="End the practice by itself after this many seconds of session time "
        "(guidance.ends_at_s); default: until stopped.",
    )


class GuidanceOut(BaseModel):
    """A session's breathing guidance now (null while it only monitors)."""

    session_id: str
    t_s: float = Field(description="Session time of the guidance, s")
    guidance: payloads.Guidance | None = Field(
        description="null while the session is in plain monitoring (no pacer)"
    )
    seq: int = Field(
        description="The live stream's seq from which its messages reflect this answer: a "
        "`guidance` message with a lower seq was published before it (live messages wait for "
        "their data to be stored, so one can arrive after this answer) and must not undo it",
    )


class AssessmentsOut(BaseModel):
    """A session's stored resonance assessment results."""

    session_id: str
    results: list[payloads.AssessmentRecord] = Field(
        description="Each finished step (assessment_step), then the verdict "
        "(assessment_complete), or assessment_stopped when it was abandoned before one"
    )
    total: int = Field(description="Stored results (all are returned)")


_NOT_RUNNING: dict[int | str, dict[str, Any]] = {
    409: {"description": "The session is not running"},
    404: {},
}


def _apply(live: LiveSession, command: str, **kwargs: Any) -> GuidanceOut:
    pipeline = live.pipeline
    pacer = pipeline.pacer
    if pacer is None:
        raise HTTPException(
            status.HTTP_501_NOT_IMPLEMENTED, "breathing guidance is not available in this build"
        )
    t_s = pipeline.t_s
    # no await from here on: the next message published is this answer's own guidance
    seq = pipeline.hub.seq + 1
    try:
        events = getattr(pacer, command)(t_s=t_s, **kwargs)
    except BreathingError as exc:
        raise HTTPException(422, str(exc)) from exc
    if command.startswith("start_") and pipeline.microbreaks is not None:
        # this pacing replaces a breathing break's: ending the break no longer stops the pacer
        pipeline.microbreaks.break_paces = False
    data = pipeline.publish_guidance(events, t_s=t_s)
    return GuidanceOut(session_id=live.id, t_s=t_s, guidance=data, seq=seq)


@router.post("/assessment", response_model=GuidanceOut, responses=_NOT_RUNNING)
async def start_assessment(
    session_id: str, manager: ManagerDep, storage: StorageDep
) -> GuidanceOut:
    """Start the stepped resonance assessment (6.5 to 4.5 breaths/min, 2 min each)."""
    live = await running_session(manager, storage, session_id)
    return _apply(live, "start_assessment")


@router.post("/practice", response_model=GuidanceOut, responses=_NOT_RUNNING)
async def set_practice(
    session_id: str, body: PracticeIn, manager: ManagerDep, storage: StorageDep
) -> GuidanceOut:
    """Pace at a fixed rate (3-12/min), or adaptively (``{"adaptive": true}``, from 4.5-7/min)."""
    lo, hi = ADAPTIVE_RANGE_BPM
    if body.adaptive and body.rate_bpm is not None and not lo <= body.rate_bpm <= hi:
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["body", "rate_bpm"],
                    "msg": f"rate_bpm: adaptive pacing keeps the rate within {lo:g}-{hi:g} "
                    f"breaths/min (the adult resonance range), got {body.rate_bpm:g}: give a "
                    f"start within it, or leave out adaptive to pace at any rate in 3-12",
                    "type": "value_error",
                    "input": body.rate_bpm,
                }
            ],
        )
    live = await running_session(manager, storage, session_id)
    pattern = {"inhale_to_exhale": body.inhale_to_exhale, "duration_s": body.duration_s}
    if body.adaptive:
        return _apply(live, "start_adaptive", start_rate_bpm=body.rate_bpm, **pattern)
    pacer = live.pipeline.pacer
    rate = body.rate_bpm
    if rate is None:  # this session's assessed rate, else the person's latest, else 6/min
        rate = 6.0 if pacer is None else pacer.default_rate(live.pipeline.t_s)
    return _apply(live, "start_fixed", rate_bpm=rate, **pattern)


@router.post("/stop", response_model=GuidanceOut, responses=_NOT_RUNNING)
async def stop_breathing(session_id: str, manager: ManagerDep, storage: StorageDep) -> GuidanceOut:
    """Stop the pacer (an assessment in progress is abandoned); monitoring goes on.

    The answer and the live ``guidance`` message carry ``mode: "stopped"``; after it the
    session sends no guidance until the next breathing command.
    """
    live = await running_session(manager, storage, session_id)
    pacer = live.pipeline.pacer
    if pacer is None or not pacer.active:
        t_s = live.pipeline.t_s
        return GuidanceOut(
            session_id=live.id, t_s=t_s, guidance=None, seq=live.pipeline.hub.seq + 1
        )
    return _apply(live, "stop")


@router.get("/guidance", response_model=GuidanceOut, responses=_NOT_RUNNING)
async def get_guidance(session_id: str, manager: ManagerDep, storage: StorageDep) -> GuidanceOut:
    """The current guidance: mode, rate, pattern, the pacer's phase reference, progress."""
    live = await running_session(manager, storage, session_id)
    pipeline = live.pipeline
    pacer = pipeline.pacer
    t_s = pipeline.t_s
    data = pacer.guidance(t_s) if pacer is not None and pacer.active else None
    return GuidanceOut(session_id=session_id, t_s=t_s, guidance=data, seq=pipeline.hub.seq + 1)


@router.get("/assessments", response_model=AssessmentsOut, responses={404: {}})
async def list_assessment_results(session_id: str, storage: StorageDep) -> AssessmentsOut:
    """Stored assessment results of the session: each step as it finished, then the verdict."""
    row = await asyncio.to_thread(storage.get_session, session_id)
    if row is None:
        raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
    results = await asyncio.to_thread(storage.assessments, session_id)
    return AssessmentsOut.model_validate(
        {"session_id": session_id, "results": results, "total": len(results)}
    )


class GuidanceHistoryOut(BaseModel):
    """A session's stored guidance changes, in order."""

    session_id: str
    changes: list[payloads.GuidanceChange] = Field(
        description="Stored guidance at each change, with the pacing events that caused it"
    )
    total: int = Field(description="Stored changes (all are returned)")


@router.get("/history", response_model=GuidanceHistoryOut, responses={404: {}})
async def guidance_history(session_id: str, storage: StorageDep) -> GuidanceHistoryOut:
    """Every guidance change of the session (rate, mode, assessment steps), oldest first."""
    row = await asyncio.to_thread(storage.get_session, session_id)
    if row is None:
        raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
    changes = await asyncio.to_thread(storage.snapshots, "guidance", session_id)
    return GuidanceHistoryOut.model_validate(
        {"session_id": session_id, "changes": changes, "total": len(changes)}
    )
