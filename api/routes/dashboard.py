"""``GET /api/v1/dashboard``: the personal dashboard (computed in :mod:`api.dashboard`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from api.dashboard import DashboardOut, personal_dashboard
from api.routes._deps import StorageDep
from api.routes.dayplan import SchedulerDep

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])


@router.get("", response_model=DashboardOut)
async def get_dashboard(
    storage: StorageDep,
    scheduler: SchedulerDep,
    days: Annotated[int, Query(ge=1, le=366, description="Look back this many days.")] = 14,
) -> DashboardOut:
    """Check-in stress and energy beside resting RMSSD and breaks, per day; breaks' effect."""
    return await asyncio.to_thread(
        personal_dashboard, storage, scheduler.plan, days=days, now=scheduler.clock.now()
    )
