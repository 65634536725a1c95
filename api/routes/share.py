"""Sharing with an organisation's hub from the page: ``/api/v1/share``.

The page's "Team sharing" settings do what ``hrvpace share`` does, through the same code
(:mod:`api.hubshare`): ``GET /api/v1/share`` (whether this person shares, with which hub),
``GET /api/v1/share/preview`` (exactly what a day's contribution holds, yesterday's as an
example, with each number's definition), ``POST /api/v1/share/join`` (``{"hub_url",
"invite"}``: join with the organisation's invite code; one hub at a time) and ``POST
/api/v1/share/stop`` (``{"delete"}``: stop sending; with ``delete`` the hub also erases every
day it holds from this person, now or after an earlier stop).

Errors are problem+json with the codes of :mod:`api.hubshare`'s errors (``hub_unreachable``,
``invite_refused``, ``hub_refused``, ``not_sharing``, ``already_stopped``,
``member_unknown``) and ``already_sharing`` (409) for a second join. Joining and stopping
talk to the hub over HTTP (up to :data:`api.hubshare.TIMEOUT_S` seconds) in a worker thread;
one such change runs at a time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator

from api import hubshare
from api.routes._deps import StorageDep

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/share", tags=["share"])


class AlreadySharingError(hubshare.HubShareError):
    """A join while a membership (sharing, or stopped but not deleted) is kept."""

    status = 409
    code = "already_sharing"
    title = "Already sharing"


class MembershipOut(BaseModel):
    hub_url: str
    member_id: str = Field(description="The pseudonymous id the hub knows this person by.")
    group_id: str
    counts_from: dt.date = Field(description="The first day the hub counts (a whole week).")
    last_pushed: dt.date | None = Field(
        description="The last day done: sent, or refused for good by the hub (never retried); "
        "null: none yet."
    )
    last_sent: dt.date | None = Field(
        default=None, description="The last day the hub took; null: none sent yet."
    )
    stopped_on: dt.date | None = Field(description="The day sharing was stopped; null: sharing.")


class ShareStateOut(BaseModel):
    state: Literal["not_sharing", "sharing", "stopped"] = Field(
        description="stopped: nothing is sent any more, the days sent stay on the hub until "
        "a stop with delete."
    )
    membership: MembershipOut | None


class ContributionOut(BaseModel):
    """One day's contribution, field for field as it is sent (null: no data that day)."""

    date: dt.date
    resting_rmssd_ms: float | None
    resting_hr_bpm: float | None
    stress: float | None
    energy: float | None
    prompts_sent: int | None
    prompts_answered: int | None
    breaks: int | None
    break_effect_rmssd_ms: float | None
    practice_min: float | None


class PreviewOut(BaseModel):
    contribution: ContributionOut = Field(description="Yesterday's, exactly as it is sent.")
    definitions: str = Field(description="What each number means.")


class JoinIn(BaseModel):
    hub_url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="The hub's address (https://...; http:// on a LAN).",
    )
    invite: str = Field(min_length=1, max_length=200, description="The organisation's code.")

    @field_validator("hub_url")
    @classmethod
    def _a_web_address(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except (httpx.InvalidURL, ValueError):  # httpx's message quotes the input: not echoed
            raise ValueError("not a web address") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("expected https://host[:port][/path] (http:// on a LAN)")
        try:  # what connecting does first: a label over 63 characters cannot be looked up
            url.host.encode("idna")
        except UnicodeError:
            raise ValueError(
                "the host is not a domain name (labels of at most 63 characters)"
            ) from None
        return value


class StopIn(BaseModel):
    delete: bool = Field(
        default=False, description="Also erase every day the hub holds from this person."
    )


class StopOut(ShareStateOut):
    deleted_contributions: int = Field(description="Days the hub erased (0 without delete).")
    hub_had_stopped: bool = Field(
        default=False,
        description="The hub had ended this membership already (its token had stopped there): "
        "the stop is done all the same and the membership is marked stopped here too.",
    )


def _data_dir(request: Request) -> Path:
    path: Path = request.app.state.settings.data_dir
    return path


DataDirDep = Annotated[Path, Depends(_data_dir)]


def _lock(request: Request) -> asyncio.Lock:
    """One join or stop at a time (both read, then rewrite, the membership file)."""
    lock: asyncio.Lock | None = getattr(request.app.state, "share_lock", None)
    if lock is None:
        lock = request.app.state.share_lock = asyncio.Lock()
    return lock


LockDep = Annotated[asyncio.Lock, Depends(_lock)]


def _state(membership: hubshare.Membership | None) -> ShareStateOut:
    if membership is None:
        return ShareStateOut(state="not_sharing", membership=None)
    return ShareStateOut(
        state="stopped" if membership.stopped_on is not None else "sharing",
        membership=MembershipOut(
            hub_url=membership.hub_url,
            member_id=membership.member_id,
            group_id=membership.group_id,
            counts_from=membership.counts_from,
            last_pushed=membership.last_pushed,
            last_sent=membership.last_sent,
            stopped_on=membership.stopped_on,
        ),
    )


@router.get("", response_model=ShareStateOut)
async def get_share(data_dir: DataDirDep) -> ShareStateOut:
    """Whether this person shares daily aggregates with a hub, and which."""
    return _state(await asyncio.to_thread(hubshare.load_membership, data_dir))


@router.get("/preview", response_model=PreviewOut)
async def preview(storage: StorageDep) -> PreviewOut:
    """Exactly what a day's contribution holds: yesterday's (in the day plan's time zone)."""

    def build() -> ContributionOut:
        day = hubshare.plan_today(storage) - dt.timedelta(days=1)
        return ContributionOut.model_validate(hubshare.daily_aggregates(storage, day))

    return PreviewOut(contribution=await asyncio.to_thread(build), definitions=hubshare.DEFINITIONS)


_HUB_ERRORS: dict[int | str, dict[str, str]] = {
    409: {"description": "Already sharing, not sharing, already stopped, member unknown"},
    502: {"description": "The hub cannot be reached or answered with an error"},
}


@router.post("/join", response_model=ShareStateOut, status_code=201, responses=_HUB_ERRORS)
async def join(body: JoinIn, data_dir: DataDirDep, lock: LockDep) -> ShareStateOut:
    """Join a hub with the organisation's invite code.

    The service then sends each finished day (from the membership's first whole week).
    """
    async with lock:
        current = await asyncio.to_thread(hubshare.load_membership, data_dir)
        if current is not None:
            if current.stopped_on is not None:
                raise AlreadySharingError(
                    f"you stopped sharing with {current.hub_url} on {current.stopped_on}; the "
                    "days sent then are still there and only this machine can erase them: "
                    "stop with delete first (one hub membership at a time)"
                )
            raise AlreadySharingError(
                f"already sharing with {current.hub_url} (one hub at a time); stop first"
            )
        membership = await asyncio.to_thread(hubshare.join_hub, body.hub_url, body.invite)
        await asyncio.to_thread(hubshare.save_membership, data_dir, membership)
        return _state(membership)


@router.post("/stop", response_model=StopOut, responses=_HUB_ERRORS)
async def stop(body: StopIn, data_dir: DataDirDep, lock: LockDep) -> StopOut:
    """Stop sending; with ``delete`` the hub erases every day it holds from this person.

    When the hub had ended the membership already, the stop is done all the same (200,
    ``hub_had_stopped``); a second stop of a membership stopped here is 409 ``already_stopped``.
    """
    async with lock:
        left = await asyncio.to_thread(hubshare.leave_hub, data_dir, delete=body.delete)
        after = await asyncio.to_thread(hubshare.load_membership, data_dir)
        return StopOut(
            **_state(after).model_dump(),
            deleted_contributions=left.deleted,
            hub_had_stopped=left.hub_had_stopped,
        )
