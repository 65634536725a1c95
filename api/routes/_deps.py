"""Typed dependencies shared by the route modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.sessions import SessionManager
from api.storage import Storage

__all__ = ["ManagerDep", "StorageDep"]


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_manager(request: Request) -> SessionManager:
    manager: SessionManager = request.app.state.sessions
    return manager


StorageDep = Annotated[Storage, Depends(get_storage)]
ManagerDep = Annotated[SessionManager, Depends(get_manager)]
