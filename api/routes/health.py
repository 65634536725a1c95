"""``GET /api/v1/health``: the one endpoint that needs no token (``HEAD`` too, for monitors)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api._version import __version__

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    """The service's state: up (``ok``), its version, and its database's.

    Whether the database takes writes, and what the service found wrong there at its start.
    """

    status: str
    version: str
    storage: Literal["ok", "behind"] = Field(  # always sent: required (rev12_appdev 5)
        description="behind: the database takes no writes (locked by another program, a full "
        "or stalled disk), said once a write has waited 3 s; what is received waits in memory "
        "(a running session's storage_behind says how much)",
    )
    storage_warnings: list[str] = Field(  # always sent: required (rev12_appdev 5)
        description="what the service found wrong with its database when it started, each with "
        "what to do: an owner lock file it cannot test (another user's, left by a killed "
        "`sudo hrvpace replay --store`), whose sessions stay running until the file is deleted "
        "and the service restarted; looked at again at each request: a file gone since says so",
    )


@router.get("/health", response_model=Health)
async def health(request: Request) -> Health:
    """Whether the service is up (no token needed, so nothing private in it).

    No paths beyond the data dir's fixed names, no user names, no session ids or counts; it
    does tell that owner lock files of another user are there (their random names), that is,
    that hrvpace ran with sudo and was killed, or runs now.
    """
    storage = getattr(request.app.state, "storage", None)
    behind = storage is not None and storage.behind is not None
    warnings = list(storage.owner_warnings) if storage is not None else []
    return Health(
        status="ok",
        version=__version__,
        storage="behind" if behind else "ok",
        storage_warnings=warnings,
    )


@router.head("/health")
async def health_head() -> Response:
    """``HEAD /api/v1/health``: 200 with no body, for uptime monitors (was 405)."""
    return Response(status_code=200, media_type="application/json")
