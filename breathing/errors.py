"""Errors of the pacing engine (see :mod:`hrv.errors` for the whole hierarchy)."""

from __future__ import annotations

from hrv.errors import HrvpaceError

__all__ = ["BreathingError"]


class BreathingError(HrvpaceError, ValueError):
    """Bad input to the pacing engine (a rate outside the allowed range, a bad pattern, ...)."""
