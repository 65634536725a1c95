"""The day plan: ``GET``/``PUT /api/v1/dayplan``.

Working days and hours, quiet hours, the micro-interventions and check-in items; see
:mod:`breathing.dayplan` for the rules.
"""

from __future__ import annotations

import asyncio
import math
import time
from datetime import time as dtime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.dayplan import (
    KEPT_WHEN_OMITTED,
    PLAN_KEY,
    DayPlanIn,
    DayPlanOut,
    feed_token,
    item_model,
    plan_to_model,
    plan_with_quiet_hours,
)
from api.errors import STORE_BUSY_RESPONSE
from api.routes._deps import StorageDep
from api.scheduler import PromptScheduler
from api.sessions import stored_within_cap
from api.storage import Storage
from breathing.dayplan import (
    DEFAULT_TEXTS,
    OPTIONAL_CHECKIN_ITEMS,
    DayPlan,
    Intervention,
)

router = APIRouter(prefix="/api/v1/dayplan", tags=["dayplan"])


def get_scheduler(request: Request) -> PromptScheduler:
    """The service's prompt scheduler (a route dependency)."""
    scheduler: PromptScheduler = request.app.state.prompts
    return scheduler


SchedulerDep = Annotated[PromptScheduler, Depends(get_scheduler)]


async def _out(plan: DayPlan, request: Request, storage: StorageDep) -> DayPlanOut:
    token = await asyncio.to_thread(feed_token, storage)
    url = str(request.url_for("calendar_feed").include_query_params(token=token))
    return DayPlanOut(
        **plan_to_model(plan).model_dump(),
        default_texts=dict(DEFAULT_TEXTS),
        optional_checkin_items=[item_model(c) for c in OPTIONAL_CHECKIN_ITEMS],
        calendar_feed_url=url,
        in_quiet_hours=[i.id for i in plan.interventions if _always_quiet(plan, i)],
    )


def _always_quiet(plan: DayPlan, item: Intervention) -> bool:
    """Whether every time ``item`` may be due at falls in the plan's quiet hours.

    A fixed item: its time. A randomised one: every whole second of ``[start, end)`` (what
    ``breathing.dayplan`` draws from), compared with the quiet hours' exact ends, so quiet
    hours ending 12:29:30 leave a window ending 12:30 its last 30 seconds (not quiet).
    """
    if not item.randomised or item.end is None:
        return any(q.contains(item.start) for q in plan.quiet_hours)
    lo, hi = int(_seconds(item.start)), int(_seconds(item.end))
    if hi <= lo:  # no window to draw from: the draw gives its start
        hi = lo + 1
    t = lo
    while t < hi:  # jump to the latest end of the quiet hours holding second t
        at = dtime(t // 3600, t % 3600 // 60, t % 60)
        holding = [q for q in plan.quiet_hours if q.contains(at)]
        if not holding:
            return False
        # quiet up to its end (exclusive): the first whole second not quiet is ceil(end); one
        # that wraps past midnight and holds t in its evening part is quiet to the day's end
        t = max(math.ceil(_seconds(q.end)) if q.end > at else _DAY_S for q in holding)
    return True


_DAY_S = 86_400


def _seconds(t: dtime) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


@router.get("", response_model=DayPlanOut)
async def get_dayplan(request: Request, storage: StorageDep, scheduler: SchedulerDep) -> DayPlanOut:
    """The day plan (the default plan until one is saved) and the calendar feed's URL."""
    return await _out(scheduler.plan, request, storage)


@router.put("", response_model=DayPlanOut, responses={422: {}, **STORE_BUSY_RESPONSE})
async def put_dayplan(
    body: DayPlanIn, request: Request, storage: StorageDep, scheduler: SchedulerDep
) -> DayPlanOut:
    """Replace the day plan (422 ``invalid_dayplan`` names what cannot work).

    Fields left out take their defaults, except ``seed`` and ``timezone`` (left out or
    ``null``): a plan sent without ``seed`` keeps the current plan's (this install's own at
    first), so its randomised times stay this install's, not the same as every other
    install's; one sent without ``timezone`` keeps the current plan's zone (the machine's at
    first). The schema publishes no default for these two, so a generated client leaves them
    out rather than sending ``UTC`` and ``0``.
    """
    async with scheduler.plan_lock:  # one change of the plan at a time (finding 4)
        unset = {
            k: getattr(scheduler.plan, k) for k in KEPT_WHEN_OMITTED if getattr(body, k) is None
        }
        if unset:
            body = body.model_copy(update=unset)
        plan = body.to_plan()
        await save_plan(storage, scheduler, plan)
    return await _out(plan, request, storage)


async def save_plan(storage: Storage, scheduler: PromptScheduler, plan: DayPlan) -> None:
    """Store ``plan`` and have the scheduler (and the sessions' flags) use it.

    A caller that derived ``plan`` from ``scheduler.plan`` holds ``scheduler.plan_lock`` from
    that read to here, so a change saved meanwhile is not overwritten.
    """
    future = storage.put_value(
        "settings", PLAN_KEY, plan_to_model(plan).model_dump(mode="json"), updated_at=time.time()
    )
    assert future is not None
    await stored_within_cap(future)
    scheduler.set_plan(plan)


def with_quiet_hours(plan: DayPlan, pairs: list[tuple[str, str]]) -> DayPlan:
    """``plan`` with other quiet hours ("HH:MM" pairs of the plan's zone).

    ``PUT /api/v1/microbreaks/settings`` with ``quiet_hours`` sets the day plan's: flags and
    prompts keep one set of quiet hours. The pairs are validated as ``PUT /api/v1/dayplan``
    validates its ``quiet_hours`` (the same model: at most
    :data:`api.dayplan.MAX_QUIET_HOURS`, local times ``HH:MM[:SS]``, no UTC offset), so both
    take the same forms and a plan that could not be stored is refused before anything is.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        The pairs do not fit the model; ``loc`` is ``["body", "quiet_hours", <pair>, <0|1>]``
        (or ``["body", "quiet_hours"]`` for too many).
    api.problems.ProblemError
        422 ``invalid_dayplan``: a plan that cannot work (a time with a UTC offset), named.
    """
    try:
        return plan_with_quiet_hours(plan, pairs)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            if loc[:1] == ["quiet_hours"]:  # start/end of a pair: its place in the pair
                loc = [*loc[:2], *(_PAIR_PLACE.get(str(x), x) for x in loc[2:])]
            errors.append({**err, "loc": ("body", *loc)})
        raise RequestValidationError(errors) from None


_PAIR_PLACE = {"start": 0, "end": 1}
