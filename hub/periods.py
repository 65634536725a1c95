"""Reporting periods: whole ISO weeks (Monday to Sunday, UTC), the only unit the hub reports on.

A period is named by its Monday. A query's ``from``/``to`` are snapped outward to whole weeks,
so no date range can cut a week and isolate the days one member contributed (the "narrowing the
date range" attack). A week *closes* :data:`GRACE_DAYS` days after it ends (late pushes of its
last days are still taken until then); only closed weeks are reported, each computed once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "GRACE_DAYS",
    "Week",
    "closes_at",
    "day_start_ts",
    "week_of",
    "weeks_between",
]

#: Days after a week's Sunday during which its contributions are still accepted.
GRACE_DAYS = 2
_DAY_S = 86_400


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week, named by its Monday (``start``); ``end`` is the next Monday (exclusive)."""

    start: dt.date

    @property
    def end(self) -> dt.date:
        """The next Monday (exclusive end of the week)."""
        return self.start + dt.timedelta(days=7)

    @property
    def label(self) -> str:
        """ISO 8601 week label, e.g. ``2026-W05``."""
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def start_ts(self) -> int:
        """Unix time of the week's first instant (Monday 00:00 UTC)."""
        return day_start_ts(self.start)

    @property
    def end_ts(self) -> int:
        """Unix time of the next Monday 00:00 UTC."""
        return day_start_ts(self.end)

    def next(self) -> Week:
        """The week after this one."""
        return Week(self.end)

    def previous(self) -> Week:
        """The week before this one."""
        return Week(self.start - dt.timedelta(days=7))


def day_start_ts(day: dt.date) -> int:
    """Unix time of ``day`` 00:00 UTC."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def week_of(day: dt.date) -> Week:
    """The ISO week holding ``day``."""
    return Week(day - dt.timedelta(days=day.weekday()))


def week_of_ts(ts: float) -> Week:
    """The ISO week holding the instant ``ts`` (Unix time, UTC)."""
    return week_of(dt.datetime.fromtimestamp(ts, tz=dt.UTC).date())


def closes_at(week: Week) -> int:
    """Unix time from which ``week`` is closed: reported, no more contributions taken."""
    return week.end_ts + GRACE_DAYS * _DAY_S


def weeks_between(first: dt.date, last: dt.date) -> list[Week]:
    """Every whole week from the one holding ``first`` to the one holding ``last``."""
    if last < first:
        return []
    out = [week_of(first)]
    end = week_of(last)
    while out[-1] < end:
        out.append(out[-1].next())
    return out
