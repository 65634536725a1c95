"""A plan clock tests set by hand (the service's ``clock=`` seam for the working day)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    """``datetime(*args)`` in Europe/Berlin (the zone the tests pin the machine to)."""
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


class SetClock:
    """A plan clock a test sets by hand; break events map one to one (``from_real``)."""

    def __init__(self, t: datetime) -> None:
        self.t = t.timestamp()

    def set(self, t: datetime) -> None:
        self.t = t.timestamp()

    def now(self) -> float:
        return self.t

    def from_real(self, real_s: float) -> float:
        return real_s
