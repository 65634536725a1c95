"""``GET /api/v1/trends/daily``: daily resting-HRV trend (computed in :mod:`api.trends`)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query

from api.routes._deps import StorageDep
from api.trends import TrendsOut, daily_trends

router = APIRouter(prefix="/api/v1/trends", tags=["trends"])


@router.get("/daily", response_model=TrendsOut)
async def get_daily_trends(
    storage: StorageDep,
    days: Annotated[int, Query(ge=1, le=3650, description="Look back this many days")] = 30,
) -> TrendsOut:
    """Daily resting-HRV trend of the person's strap sessions."""
    return await asyncio.to_thread(daily_trends, storage, days=days, now=time.time())
