"""Typed dependencies shared by the route modules."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request

from api.errors import SessionNotFoundError, SessionNotRunningError
from api.sessions import LiveSession, SessionManager
from api.storage import Storage

__all__ = ["AfterId", "ManagerDep", "StorageDep", "after_id_not_found", "running_session"]


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_manager(request: Request) -> SessionManager:
    manager: SessionManager = request.app.state.sessions
    return manager


StorageDep = Annotated[Storage, Depends(get_storage)]
ManagerDep = Annotated[SessionManager, Depends(get_manager)]


#: The keyset cursor of the check-in, prompt and micro-break lists: the previous page's
#: ``next_after_id``. Unlike ``since`` (a time, which many items can share), an id names one
#: item, so paging by it reaches every item once however many share a time.
AfterId = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**62,
        description="The next page: only items after the one with this id in the list's "
        "order; pass the previous page's next_after_id (other filters the same).",
    ),
]


def after_id_not_found(what: str, after_id: int) -> HTTPException:
    """The 422 for an ``after_id`` naming no stored item (``loc`` ``["query", "after_id"]``)."""
    return HTTPException(
        422,
        detail=[
            {
                "loc": ["query", "after_id"],
                "msg": f"no {what} with id {after_id}",
                "type": "value_error",
                "input": after_id,
            }
        ],
    )


async def running_session(
    manager: SessionManager, storage: Storage, session_id: str
) -> LiveSession:
    """The running session ``session_id``: 404 when there is none, 409 when it has ended.

    A session stopped (or ended, failed) whose final state is still being stored (the
    database takes no writes) has ended too: its source is closed, and a command would send
    messages after its final ``status``.
    """
    live = manager.get_live(session_id)
    if live is not None and not live.finishing:
        return live
    if live is not None:
        raise SessionNotRunningError(
            f"session {session_id} is not running ({live.pipeline.state}; its final state is "
            "stored once the database takes writes)"
        )
    row = await asyncio.to_thread(storage.get_session, session_id)
    if row is None:
        raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
    raise SessionNotRunningError(f"session {session_id} is not running")
