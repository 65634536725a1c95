"""The ids of an admin call's path, refused before any database sees them.

A group's, an invite's or an intervention's id is what the hub made (``g``/``i`` and 16 hex
digits, 12 hex digits of an invite's hash): a path id of another shape names nothing, so it is
the 404 of an unknown one, on both backends (PostgreSQL refuses NUL in text and would have
answered 500; SQLite looked it up and found nothing).
"""

from __future__ import annotations

from fastapi import Depends, Request

from hub.errors import NotFoundError
from hub.store.groups import is_group_id
from hub.store.interventions import is_intervention_id

__all__ = ["KnownIdsDep"]


def _known_ids(request: Request) -> None:
    """404 ``group_not_found``/``intervention_not_found`` naming the path's id of no known shape.

    Invite ids are checked where they are used (:meth:`hub.store.groups.GroupStore.revoke_invite`,
    ``withdraw_invite``): 404 ``invite_not_found`` likewise.
    """
    params = request.path_params
    gid = params.get("group_id")
    if gid is not None and not is_group_id(gid):
        raise NotFoundError(
            f"group_id: no group {gid!r} (a group's id is g and 16 hex digits)",
            code="group_not_found",
        )
    iid = params.get("intervention_id")
    if iid is not None and not is_intervention_id(iid):
        raise NotFoundError(
            f"intervention_id: no intervention {iid!r} (an intervention's id is i and 16 hex "
            "digits)",
            code="intervention_not_found",
        )


#: Every admin router's dependency (after :data:`hub.auth.AdminDep`).
KnownIdsDep = Depends(_known_ids)
