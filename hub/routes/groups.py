"""Groups, their invites and their weekly summaries (admin token)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from hub.models import (
    Group,
    GroupCreate,
    Invite,
    InviteCreate,
    InviteInfo,
    InviteWithdrawn,
    Summary,
)
from hub.store import HubStore

router = APIRouter(prefix="/hub/v1/groups", tags=["groups"])


def _store(request: Request) -> HubStore:
    store: HubStore = request.app.state.store
    return store


@router.post("", status_code=201, response_model=Group)
def create_group(body: GroupCreate, request: Request) -> dict[str, object]:
    """Create a group with its minimum size ``k`` (default 5, never below 3)."""
    return _store(request).create_group(body.name, body.k)


@router.get("", response_model=list[Group])
def list_groups(request: Request) -> list[dict[str, object]]:
    """Every group with its member count: those sharing who counted in a closed week."""
    return _store(request).list_groups()


@router.get("/{group_id}", response_model=Group)
def get_group(group_id: str, request: Request) -> dict[str, object]:
    """One group with its member count (as the list); 404 ``group_not_found``."""
    return _store(request).get_group(group_id)


@router.post("/{group_id}/invites", status_code=201, response_model=Invite)
def create_invite(
    group_id: str, request: Request, body: InviteCreate | None = None
) -> dict[str, object]:
    """A new invite code for the group (shown once; the hub keeps only its hash)."""
    body = body or InviteCreate()
    return _store(request).create_invite(group_id, days=body.days, uses=body.uses)


@router.get("/{group_id}/invites", response_model=list[InviteInfo])
def list_invites(group_id: str, request: Request) -> list[dict[str, object]]:
    """The group's invites, newest first: id, expiry, uses left, status (never the code)."""
    return _store(request).list_invites(group_id)


@router.delete("/{group_id}/invites/{invite_id}", status_code=204, response_class=Response)
def revoke_invite(group_id: str, invite_id: str, request: Request) -> Response:
    """Revoke an invite: its code lets no one join any more; 404 ``invite_not_found``.

    Members who joined with it stay; withdrawing it (``POST .../withdraw``) also removes those
    who have not yet counted in a closed week (README, "Invites and members").
    """
    _store(request).revoke_invite(group_id, invite_id)
    return Response(status_code=204)


@router.post("/{group_id}/invites/{invite_id}/withdraw", response_model=InviteWithdrawn)
def withdraw_invite(group_id: str, invite_id: str, request: Request) -> dict[str, object]:
    """Withdraw a leaked invite: revoke it, remove its members who have not yet counted.

    Removed: the members who joined with it whose first whole week of membership has not
    closed, with their contributions. The answer counts and names no one, and the group's
    member count (only members who counted) stays as it was. Members who already counted in
    a closed week stay (a released cell was computed over them).
    404 ``invite_not_found`` when the group has neither the invite nor members who joined
    with it still removable.
    """
    return _store(request).withdraw_invite(group_id, invite_id)


@router.get("/{group_id}/summary", response_model=Summary)
def summary(
    group_id: str,
    request: Request,
    from_: Annotated[
        dt.date | None, Query(alias="from", description="Snapped back to its Monday")
    ] = None,
    to: Annotated[dt.date | None, Query(description="Snapped forward to its Sunday")] = None,
    by: Annotated[Literal["week"], Query(description="Reporting period: ISO weeks")] = "week",
) -> dict[str, object]:
    """Per-week counts, means and medians of the group's members (default: the last 12 weeks).

    Cells over fewer than k members are suppressed.
    """
    store = _store(request)
    last = to or store.today()
    first = from_ or last - dt.timedelta(weeks=11)
    return store.summary(group_id, first, last)
