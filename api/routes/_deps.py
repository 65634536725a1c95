"""Typed dependencies shared by the route modules."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from api.errors import SessionNotFoundError, SessionNotRunningError
from api.sessions import LiveSession, SessionManager
from api.storage import Storage

__all__ = ["ManagerDep", "StorageDep", "running_session"]


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_manager(request: Request) -> SessionManager:
    manager: SessionManager = request.app.state.sessions
    return manager


StorageDep = Annotated[Storage, Depends(get_storage)]
ManagerDep = Annotated[SessionManager, Depends(get_manager)]


async def running_session(
    manager: SessionManager, storage: Storage, session_id: str
) -> LiveSession:
    """The running session ``session_id``: 404 when there is none, 409 when it has ended."""
    live = manager.get_live(session_id)
    if live is not None:
        return live
    row = await asyncio.to_thread(storage.get_session, session_id)
    if row is None:
        raise SessionNotFoundError(f"no session with id {session_id[:64]!r}")
    raise SessionNotRunningError(f"session {session_id} is not running")
