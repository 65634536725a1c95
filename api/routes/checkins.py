"""Check-ins: short self-reports (stress and energy on a 1-5 scale, an optional note)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.errors import STORE_BUSY_RESPONSE
from api.routes._deps import AfterId, StorageDep, after_id_not_found
from api.routes.dayplan import SchedulerDep
from api.sessions import stored_within_cap

router = APIRouter(prefix="/api/v1/checkins", tags=["checkins"])


class CheckinCreate(BaseModel):
    """Body of ``POST /api/v1/checkins``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stress: int = Field(ge=1, le=5, description="1 = very relaxed ... 5 = very stressed")
    energy: int = Field(ge=1, le=5, description="1 = exhausted ... 5 = full of energy")
    note: str = Field(default="", max_length=1000)
    session_id: str | None = Field(
        default=None, max_length=64, description="Attach to this session."
    )
    at: float | None = Field(
        default=None,
        ge=0,
        le=1e11,
        description="Unix seconds; when omitted, now on the day plan's clock (the real time, "
        "unless hrvpace demo --clock-speed), so a check-in falls on the plan's day.",
    )


class CheckinOut(BaseModel):
    """A stored check-in: stress and energy (1-5) and a note, at a time, of a session or none."""

    id: int
    session_id: str | None
    at: float
    stress: int
    energy: int
    note: str


class CheckinList(BaseModel):
    """A page of check-ins, with how many the filters select in all."""

    checkins: list[CheckinOut]
    total: int = Field(
        description="Check-ins session_id and since select (whatever limit and after_id)"
    )
    next_after_id: int | None = Field(
        default=None,
        description="More check-ins follow this page: pass this as after_id for the next "
        "one; null on the last page",
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckinOut,
    responses=STORE_BUSY_RESPONSE,
)
async def post_checkin(
    body: CheckinCreate, storage: StorageDep, scheduler: SchedulerDep
) -> CheckinOut:
    """Record a check-in (at any time, during a session or not)."""
    if body.session_id is not None:
        row = await asyncio.to_thread(storage.get_session, body.session_id)
        if row is None:
            raise HTTPException(
                422,
                detail=[
                    {
                        "loc": ["body", "session_id"],
                        "msg": f"no session with id {body.session_id!r}",
                        "type": "value_error",
                    }
                ],
            )
    # the plan's clock, as the prompts' answers use: a fast-clock demo's check-in lands on the
    # demo's day, not on the real date beside the prompts of another day
    at = body.at if body.at is not None else scheduler.clock.now()
    new_id = await stored_within_cap(
        storage.add_checkin(
            session_id=body.session_id,
            at=at,
            stress=body.stress,
            energy=body.energy,
            note=body.note,
        )
    )
    return CheckinOut(
        id=int(new_id),
        session_id=body.session_id,
        at=at,
        stress=body.stress,
        energy=body.energy,
        note=body.note,
    )


@router.get("", response_model=CheckinList)
async def list_checkins(
    storage: StorageDep,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(ge=0, le=1e11, description="Unix seconds")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    after_id: AfterId = None,
) -> CheckinList:
    """Check-ins, oldest first (by ``at``, then id; filter by session or by time).

    ``since`` is inclusive (at or after), so many check-ins at one time could fill pages;
    follow ``next_after_id`` (as ``after_id``) to the next page instead: it reaches every
    check-in once.
    """
    if after_id is not None and not await asyncio.to_thread(storage.has_checkin, after_id):
        raise after_id_not_found("check-in", after_id)
    rows = await asyncio.to_thread(
        storage.checkins, session_id=session_id, since=since, limit=limit + 1, after_id=after_id
    )
    more = len(rows) > limit
    rows = rows[:limit]
    total = await asyncio.to_thread(storage.count_checkins, session_id=session_id, since=since)
    return CheckinList(
        total=total,
        next_after_id=int(rows[-1]["id"]) if more else None,
        checkins=[
            CheckinOut(
                id=r["id"],
                session_id=r["session_id"],
                at=r["at"],
                stress=r["stress"],
                energy=r["energy"],
                note=r["note"],
            )
            for r in rows
        ],
    )
