"""Errors of the pacing engine (see :mod:`hrv.errors` for the whole hierarchy)."""

from __future__ import annotations

from hrv.errors import HrvpaceError

__all__ = ["BreathingError", "MicroBreakStateError", "SettingError"]


class BreathingError(HrvpaceError, ValueError):
    """Bad input to the pacing engine (a rate outside the allowed range, a bad pattern, ...)."""


class SettingError(BreathingError):
    """One setting is out of range (``field`` names it; the message says the range).

    Parameters
    ----------
    field
        The setting's name, e.g. ``"window_s"``.
    message
        What is wrong, naming the setting and the value.
    others
        The other settings of a combination that does not fit (``("window_s",)`` for
        ``min_beats``), which the message names too.
    """

    def __init__(self, field: str, message: str, *, others: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.others = others


class MicroBreakStateError(BreathingError):
    """A micro-break action the monitor's state does not allow now.

    ``state`` says which (stable, for callers that branch on it): ``"no_flag"`` (nothing
    to acknowledge), ``"no_break_running"`` (nothing to end), ``"break_running"`` (a break
    is already running).
    """

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
