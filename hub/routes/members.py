"""What a member's service does: join, send a day's aggregates, stop sharing (member token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from hub.auth import MemberOrLeftDep, MemberTokenDep
from hub.errors import conflict_responses
from hub.ingest import ContributionWriter
from hub.models import Contribution, ContributionAccepted, Joined, JoinRequest, Left
from hub.store import HubStore

router = APIRouter(prefix="/hub/v1", tags=["members"])


def _store(request: Request) -> HubStore:
    store: HubStore = request.app.state.store
    return store


@router.post("/join", status_code=201, response_model=Joined)
def join(body: JoinRequest, request: Request) -> dict[str, object]:
    """Join a group with an invite code; the answer holds the member token (shown once)."""
    store = _store(request)
    member, token = store.join(body.code)
    return {
        "member_id": member.id,
        "group_id": member.group_id,
        "token": token,
        "counts_from": store.first_counted_week(member).start,
    }


@router.post(
    "/contributions",
    status_code=201,
    response_model=ContributionAccepted,
    responses=conflict_responses("before_membership", "period_closed"),
)
async def contribute(
    body: Contribution, token: MemberTokenDep, request: Request
) -> ContributionAccepted:
    """One day's aggregates (a retried push of the same day replaces it)."""
    writer: ContributionWriter = request.app.state.ingest
    period = await writer.contribute(token, body.date, body.model_dump(exclude={"date"}))
    return ContributionAccepted(date=body.date, period=period)


@router.delete("/me", response_model=Left, responses=conflict_responses("already_stopped"))
def leave(
    member: MemberOrLeftDep,
    request: Request,
    delete: Annotated[
        bool, Query(description="Also delete every contribution (default: yes)")
    ] = True,
) -> dict[str, object]:
    """Stop sharing: the token stops working for anything but deletion.

    With ``delete`` the contributions and the membership are erased. A member who stopped
    sharing earlier can still delete (``delete=true``) with their token; nothing else is
    accepted from it.
    """
    n = _store(request).leave(member, delete=delete)
    return {"deleted_contributions": n, "member_id": member.id}
