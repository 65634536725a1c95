"""Groups, their invites and their weekly summaries (admin token)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from hub.errors import conflict_responses
from hub.models import (
    Group,
    GroupCreate,
    GroupRename,
    Invite,
    InviteCreate,
    InviteInfo,
    InviteWithdrawn,
    Summary,
    valid_name,
)
from hub.routes._paging import (
    DEFAULT_LIMIT,
    After,
    Limit,
    bad_cursor,
    cursor_parts,
    id_cursor,
    link_next,
)
from hub.store import HubStore
from hub.store.groups import is_group_id, is_invite_id

router = APIRouter(prefix="/hub/v1/groups", tags=["groups"])


def _store(request: Request) -> HubStore:
    store: HubStore = request.app.state.store
    return store


#: The 409 a name another group has gets (webconventions declares it a Problem).
_NAME_TAKEN = conflict_responses("group_exists")


@router.post("", status_code=201, response_model=Group, responses=_NAME_TAKEN)
def create_group(body: GroupCreate, request: Request) -> dict[str, object]:
    """Create a group with its minimum size ``k`` (default 5, never below 3).

    409 ``group_exists`` when a group has the name, ignoring case and spaces (the name is
    kept as given, trimmed, each run of inner spaces one space).
    """
    return _store(request).create_group(body.name, body.k)


@router.get("", response_model=list[Group])
def list_groups(
    request: Request, response: Response, limit: Limit = DEFAULT_LIMIT, after: After = None
) -> list[dict[str, object]]:
    """The groups, oldest first, with their member counts: those sharing who counted in a week.

    A page of ``limit``; the next one's address is in ``Link: <...>; rel="next"`` (none on
    the last page).
    """
    key = None if after is None else id_cursor(after, is_group_id)
    groups = _store(request).list_groups(limit=limit + 1, after=key)
    if len(groups) > limit:
        del groups[limit:]
        link_next(request, response, limit, [groups[-1]["id"]])
    return groups


@router.get("/{group_id}", response_model=Group)
def get_group(group_id: str, request: Request) -> dict[str, object]:
    """One group with its member count (as the list); 404 ``group_not_found``."""
    return _store(request).get_group(group_id)


@router.patch("/{group_id}", response_model=Group, responses=_NAME_TAKEN)
def rename_group(group_id: str, body: GroupRename, request: Request) -> dict[str, object]:
    """Rename a group: ``{"name"}`` by the rules of a new one; the group as ``GET`` shows it.

    Only its name changes: its id, k, invites, members, released weeks and interventions stay
    (all follow the id). 404 ``group_not_found``; 409 ``group_exists`` when another group has
    the name, ignoring case and spaces (its own name in another case is a rename). Its own
    name as stored is a no-op, also one a rule made since refuses (422 only for a name it
    would change to).
    """
    # the 422: _checked_name, which the store calls only for a name that is not the group's own
    return _store(request).rename_group(group_id, body.name, check=_checked_name)


def _checked_name(name: str) -> str:
    """A new name by the rules of :data:`hub.models.Name`, as stored, or a 422 naming ``name``.

    Checked only when it is not the group's own name as stored (the store calls it), so a
    name stored before a rule that now refuses it can be sent again as a no-op.
    """
    try:
        return valid_name(name)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "name", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


@router.post("/{group_id}/invites", status_code=201, response_model=Invite)
def create_invite(
    group_id: str, request: Request, body: InviteCreate | None = None
) -> dict[str, object]:
    """A new invite code for the group (shown once; the hub keeps only its hash)."""
    body = body or InviteCreate()
    return _store(request).create_invite(group_id, days=body.days, uses=body.uses)


@router.get("/{group_id}/invites", response_model=list[InviteInfo])
def list_invites(
    group_id: str,
    request: Request,
    response: Response,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
) -> list[dict[str, object]]:
    """The group's invites, newest first, revoked last: id, expiry, uses left, status, no code.

    A page of ``limit``; the next one's address is in ``Link: <...>; rel="next"`` (none on
    the last page).
    """
    key: tuple[int | None, str] | None = None
    if after is not None:
        created, iid = cursor_parts(after, 2)
        if not isinstance(iid, str) or not is_invite_id(iid):
            raise bad_cursor()
        # a time the database holds (BIGINT: below 2**63) and an invite id's shape: nothing
        # else reaches the query (a larger int was a 500 on both backends, NUL on PostgreSQL)
        if created is None:
            key = (None, iid)
        elif type(created) is int and 0 <= created < 2**63:
            key = (created, iid)
        else:
            raise bad_cursor()
    invites = _store(request).list_invites(group_id, limit=limit + 1, after=key)
    if len(invites) > limit:
        del invites[limit:]
        last = invites[-1]
        created_at = last["created"]
        shown = int(created_at.timestamp()) if isinstance(created_at, dt.datetime) else None
        link_next(request, response, limit, [shown, last["id"]])
    return invites


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
    a closed week stay (a released cell was computed over them), and so do members who
    joined before the hub kept which invite a member joined with (an older hub version): they
    have no link to an invite.
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
