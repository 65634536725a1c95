"""The personal baseline: typical resting HRV from the stored windows, and its reset.

Two views of it:

* ``personal``: the micro-break monitor's learned baseline (``breathing.Baseline``: lnRMSSD and
  heart rate, mean and SD, learned from calm valid windows with exponential forgetting), kept
  across sessions; ``null`` until a session has learned one (the population default is used).
* ``windows``: a plain summary of the 60 s window metrics stored since the last reset (over at
  most the last ``days`` days, default 14): median and quartiles of RMSSD, ln RMSSD and mean
  heart rate.

Day-to-day HRV is read against such a rolling personal norm rather than population values
(Plews et al. 2012, Int J Sports Physiol Perform 7(4):344; Task Force 1996 on the large
between-subject spread of short-term HRV). Reset starts a new baseline (e.g. after a change of
strap or of routine); the windows stay stored.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query

from api.baseline import BaselineOut, compute_baseline
from api.errors import STORE_BUSY_RESPONSE
from api.pipeline import BASELINE_KEY
from api.routes._deps import ManagerDep, StorageDep
from api.sessions import stored_within_cap

router = APIRouter(prefix="/api/v1/baseline", tags=["baseline"])

Days = Annotated[float, Query(gt=0, le=3650, description="Look back this many days")]


@router.get("", response_model=BaselineOut)
async def get_baseline(storage: StorageDep, days: Days = 14.0) -> BaselineOut:
    """The personal baseline from the stored windows."""
    return await asyncio.to_thread(compute_baseline, storage, days=days, now=time.time())


@router.post("/reset", response_model=BaselineOut, responses=STORE_BUSY_RESPONSE)
async def reset_baseline(
    storage: StorageDep, manager: ManagerDep, days: Days = 14.0
) -> BaselineOut:
    """Start a new baseline now: the learned one is forgotten and the window summary restarts.

    Sessions started from now on begin at the population default; running sessions no longer
    save theirs. Stored windows are kept, only no longer counted.
    """
    now = time.time()
    for live in manager.live_sessions:
        if live.pipeline.microbreaks is not None:
            live.pipeline.microbreaks.persist = False
    await stored_within_cap(storage.delete_value("baseline", BASELINE_KEY))
    written = storage.put_value("baseline", "reset_at", now, updated_at=now)
    assert written is not None
    await stored_within_cap(written)
    return await asyncio.to_thread(compute_baseline, storage, days=days, now=now)
