"""Service-level errors (see :mod:`hrv.errors` for the whole hierarchy)."""

from __future__ import annotations

from hrv.errors import HrvpaceError

__all__ = ["ApiError", "SessionNotFoundError"]


class ApiError(HrvpaceError):
    """A request to the service cannot be carried out."""


class SessionNotFoundError(ApiError, LookupError):
    """No session with that id."""
