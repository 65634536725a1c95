"""Errors of the organisation's hub, each with the HTTP status and stable ``code`` a client sees.

Part of the one hierarchy of :mod:`hrv.errors`::

    HubError                        a request to the hub cannot be carried out (500)
    ├── UnauthorizedError           401 unauthorized (a member token no member holds)
    ├── AlreadyStoppedError         409 already_stopped (a stopped member's token asked to stop)
    ├── GroupExistsError            409 group_exists (a group of that name exists already)
    ├── NotFoundError               404 group_not_found, intervention_not_found, ...
    ├── InviteInvalidError          403 invite_invalid (unknown, expired or used up)
    ├── ContributionRefusedError    409 period_closed, before_membership, ...
    ├── PeriodOpenError             409 period_open (an effect asked for before T1 has closed)
    ├── BadRequestError             422 a request that validates but makes no sense
    └── HubConfigError              the hub cannot start (database URL, missing driver, token)

Each is also a :class:`webconventions.errors.ServiceError`, which :mod:`webconventions.problems`
turns (with FastAPI's own errors) into an RFC 9457 ``application/problem+json`` answer with
``code``: the personal service's convention, kept in one package both use.
"""

from __future__ import annotations

from typing import Any

from hrv.errors import HrvpaceError
from webconventions.errors import ServiceError

__all__ = [
    "CONFLICTS",
    "AlreadyStoppedError",
    "BadRequestError",
    "ContributionRefusedError",
    "GroupExistsError",
    "HubConfigError",
    "HubError",
    "InviteInvalidError",
    "NotFoundError",
    "PeriodOpenError",
    "UnauthorizedError",
    "conflict_responses",
]

#: Every 409 problem ``code`` the hub answers, with what it means: a route's OpenAPI entry
#: lists those it can give (:func:`conflict_responses`), so a generated client knows them
#: (review: only ``group_exists`` was declared). tests/hub/test_api.py checks each route's
#: list against the codes its code can raise.
CONFLICTS = {
    "group_exists": "another group has this name, ignoring case and spaces (the detail "
    "names its id)",
    "already_stopped": "this member stopped sharing already; the token still deletes "
    "(DELETE /hub/v1/me?delete=true)",
    "before_membership": "the day is before the member's first whole week of membership",
    "period_closed": "the day's week has closed (its summary is computed as it was)",
    "period_open": "T1 has not closed yet: the effect is computed then (the detail says when)",
}


def conflict_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` entry for the 409 problems ``codes`` it can answer.

    One line per code, ``code: meaning`` from :data:`CONFLICTS` (the Problem schema is added
    by :func:`webconventions.problems.install_problem_openapi`).
    """
    lines = [f"`{code}`: {CONFLICTS[code]}" for code in codes]
    return {409: {"description": "Conflict, one of:\n\n" + "\n".join(f"- {x}" for x in lines)}}


class HubError(HrvpaceError, ServiceError):
    """A request to the hub cannot be carried out.

    ``status`` and ``code`` are what the client gets; the message is the problem's ``detail``
    and never quotes a member's data. ``HubError(detail, code=...)`` names the occurrence's code
    (``group_not_found``).
    """


class UnauthorizedError(HubError):
    """No current member holds the token (never held, or stopped sharing)."""

    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class AlreadyStoppedError(HubError):
    """A member who stopped sharing asked to stop again.

    Not 401: the token is known and still deletes the member's days, so a client must keep it.
    """

    status = 409
    code = "already_stopped"
    title = "Already stopped"


class GroupExistsError(HubError):
    """A group of that name exists already (a retried script; names tell groups apart)."""

    status = 409
    code = "group_exists"
    title = "Group exists"


class NotFoundError(HubError, LookupError):
    """No such group, intervention or invite (``code`` names which)."""

    status = 404
    code = "not_found"
    title = "Not found"


class InviteInvalidError(HubError):
    """The invite code is unknown, expired or used up (the three are not told apart)."""

    status = 403
    code = "invite_invalid"
    title = "Invite not valid"


class ContributionRefusedError(HubError):
    """A day's contribution the hub will not take (its period is closed, or before membership)."""

    status = 409
    code = "contribution_refused"
    title = "Contribution refused"


class PeriodOpenError(HubError):
    """A statistic was asked for a period that has not closed yet."""

    status = 409
    code = "period_open"
    title = "Period not closed"


class BadRequestError(HubError, ValueError):
    """A request that is well formed but cannot be meant (a control group equal to the group)."""

    status = 422
    code = "bad_request"
    title = "Bad request"


class HubConfigError(HubError):
    """The hub cannot start: bad database URL, missing database driver, unusable token file."""

    code = "hub_config"
    title = "Hub configuration"
