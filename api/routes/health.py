"""``GET /api/v1/health``: the one endpoint that needs no token."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api._version import __version__

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    status: str
    version: str


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Is the service up? (No token needed; reveals nothing about the user.)"""
    return Health(status="ok", version=__version__)
