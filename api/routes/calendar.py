"""The calendar feed: ``GET /api/v1/calendar.ics``.

Today's (those already past included) and the next 7 days' planned breathing resets and detox
reminders as "mental reset" slots (RFC 5545, generated with :mod:`icalendar`); each event's UID
names this install, so feeds of two installs never merge in one calendar.

A calendar app cannot send a header, so the feed takes a token in its URL: the feed's own token
(``calendar_feed_url`` of ``GET /api/v1/dayplan``), which grants this feed and nothing else; the
API token opens it as ``Authorization: Bearer`` only (not in the URL, where it would sit in a
calendar app's sync log). Events carry the plan's time zone
(``TZID`` with its ``VTIMEZONE``), so they stay at their local time across a DST change.
``POST /api/v1/calendar/rotate`` (API token only) replaces the feed's token: old feed URLs stop
working (a leaked or shared feed URL can be revoked).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import icalendar
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from api._version import __version__
from api.auth import require_token, token_matches
from api.dayplan import calendar_install_id, feed_token, rotate_feed_token
from api.routes._deps import StorageDep
from api.routes.dayplan import SchedulerDep
from breathing.dayplan import DayPlan, PlannedPrompt, local_datetime, planned_between

router = APIRouter(prefix="/api/v1", tags=["calendar"])

#: The feed's slots: which kinds, their title and their length.
SLOTS: dict[str, tuple[str, timedelta]] = {
    "breathing_reset": ("Mental reset: breathing", timedelta(minutes=2)),
    "detox_reminder": ("Mental reset: away from screens", timedelta(minutes=10)),
}
FEED_DAYS = 7


def ics_feed(
    plan: DayPlan, prompts: list[PlannedPrompt], *, now_s: float, install_id: str = ""
) -> bytes:
    """The ICS document of ``prompts`` (the slot kinds only), in the plan's time zone.

    Each event's UID is ``<date>:<intervention>.<install_id>@hrvpace``: the same slot keeps
    its UID from one fetch to the next, and two installs' slots never share one.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//hrvpace//day plan {__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "hrvpace mental resets")
    cal.add("x-wr-timezone", plan.timezone)
    stamp = datetime.fromtimestamp(now_s, tz=UTC)
    for p in prompts:
        if p.kind not in SLOTS:
            continue
        title, length = SLOTS[p.kind]
        start = local_datetime(plan, p.due_s)
        event = icalendar.Event()
        event.add("uid", f"{p.key}.{install_id}@hrvpace" if install_id else f"{p.key}@hrvpace")
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", start + length)
        event.add("summary", title)
        event.add("description", p.text)
        event.add("categories", ["mental reset"])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    for vtimezone in cal.walk("VTIMEZONE"):
        _onsets_in_prior_offset(vtimezone, ZoneInfo(plan.timezone))
    return bytes(cal.to_ical())


def _onsets_in_prior_offset(vtimezone: Any, zone: ZoneInfo) -> None:
    """Each observance's onset (DTSTART, RDATE) as RFC 5545 reads it: in the prior offset.

    RFC 5545 3.6.5 and 3.8.3.3: an onset is a local time in ``TZOFFSETFROM``'s wall clock
    (its example: New York's daylight time starts ``DTSTART:19870405T020000`` with
    ``TZOFFSETFROM:-0500``). icalendar 7 (``add_missing_timezones``) writes a spring-forward
    onset as the first wall time after the gap (03:00 for Berlin and New York), which read in
    the prior offset is an hour after the real change. Each onset is checked against the
    zone's own transitions and, when it is the new offset's wall time, moved to the prior's.
    """
    for sub in vtimezone.subcomponents:
        offset_from = sub["TZOFFSETFROM"].td
        offset_to = sub["TZOFFSETTO"].td
        if offset_from == offset_to:
            continue
        sub.DTSTART = _onset(sub.DTSTART, offset_from, offset_to, zone)
        rdates = sub.pop("RDATE", None)
        if rdates is None:
            continue
        values = [d.dt for r in (rdates if isinstance(rdates, list) else [rdates]) for d in r.dts]
        sub.add("RDATE", [_onset(v, offset_from, offset_to, zone) for v in values])


def _onset(
    local: datetime, offset_from: timedelta, offset_to: timedelta, zone: ZoneInfo
) -> datetime:
    """``local`` (a naive onset) as the wall time in ``offset_from`` of the real transition."""
    for offset in (offset_from, offset_to):
        instant = (local - offset).replace(tzinfo=UTC)
        before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
        if before == offset_from and instant.astimezone(zone).utcoffset() == offset_to:
            return (instant + offset_from).replace(tzinfo=None)
    return local  # not a transition of the zone: left as written


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 feed"}},
)
async def calendar_feed(
    request: Request,
    storage: StorageDep,
    scheduler: SchedulerDep,
    token: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The feed token (of calendar_feed_url); the API token goes in the "
            "Authorization header only, never in a URL.",
        ),
    ] = None,
) -> Response:
    """The next 7 days of planned resets and reminders as an iCalendar feed.

    Opened by the feed token in ``?token=`` (the subscription URL) or by the API token in the
    ``Authorization`` header; the API token in the URL is refused (401): a subscription URL
    ends up in calendar apps' sync logs and browser history.
    """
    # the API token in ?token= refused: attacker review 2026-12-06
    api_token: str = request.app.state.token
    auth = request.headers.get("authorization", "")
    scheme, _, bearer = auth.partition(" ")
    allowed = (scheme.lower() == "bearer" and token_matches(bearer.strip(), api_token)) or (
        token is not None and token_matches(token, await asyncio.to_thread(feed_token, storage))
    )
    if not allowed:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong token: use the feed URL of GET /api/v1/dayplan",
            headers={"WWW-Authenticate": "Bearer"},
        )
    plan = scheduler.plan
    now = scheduler.clock.now()
    # from the start of today (the plan's zone): a slot that passed an hour ago stays in
    # subscribed calendars rather than vanishing from the day at the next refresh
    today = local_datetime(plan, now).date()
    midnight = datetime.combine(today, dtime(0), tzinfo=ZoneInfo(plan.timezone)).timestamp()
    prompts = planned_between(plan, min(midnight, now), now + FEED_DAYS * 86400)
    install_id = await asyncio.to_thread(calendar_install_id, storage)
    return Response(
        ics_feed(plan, prompts, now_s=now, install_id=install_id),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


class CalendarFeedOut(BaseModel):
    """The calendar feed's URL (with its new token)."""

    calendar_feed_url: str


@router.post(
    "/calendar/rotate",
    response_model=CalendarFeedOut,
    dependencies=[Depends(require_token)],  # the API token only: never the feed's own token
)
async def rotate_calendar_feed(request: Request, storage: StorageDep) -> CalendarFeedOut:
    """Replace the feed's token and return the new feed URL; the old URL stops working."""
    token = await asyncio.to_thread(rotate_feed_token, storage)
    url = str(request.url_for("calendar_feed").include_query_params(token=token))
    return CalendarFeedOut(calendar_feed_url=url)
