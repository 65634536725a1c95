"""``GET /api/v1/health``: the one endpoint that needs no token (``HEAD`` too, for monitors)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api._version import __version__

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    """The service's state (``ok``) and version."""

    status: str
    version: str


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Whether the service is up (no token needed; reveals nothing about the user)."""
    return Health(status="ok", version=__version__)


@router.head("/health")
async def health_head() -> Response:
    """``HEAD /api/v1/health``: 200 with no body, for uptime monitors (was 405)."""
    return Response(status_code=200, media_type="application/json")
