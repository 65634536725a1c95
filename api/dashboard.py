"""The personal dashboard: self-report beside the wearable, per day and per week.

``GET /api/v1/dashboard?days=14``: per local day (the day plan's time zone) the check-ins'
mean stress and energy, the resting RMSSD and the breaks taken with their effect; and a weekly
"did my breaks help" summary (mean RMSSD change per break kind, with n).

Definitions
-----------
- *Resting RMSSD* of a day (:mod:`api.resting`, shared with the hub): the median RMSSD of
  the 60-s windows ending in the first 5 minutes after the first complete window (session
  time 60-360 s) of that day's first strap session (``source.kind == "ble"``; simulations and
  replays are not the person). It assumes the person puts the strap on at rest, as morning
  HRV measures do (Plews et al. 2012, 2013: a short resting recording each day, lnRMSSD
  tracked over days).
- *A practice session's before/after*: RMSSD of its first complete 60-s window (session time
  60 s, the first minute of pacing) and of its last window, and the change in per cent; for
  strap sessions started in practice mode (``mode == "practice"``) with at least two windows.
- *A break's effect*: :class:`breathing.BreakEffect` ``rmssd_change_pct``, RMSSD after vs before
  the break (median of the valid 60-s windows of each period), of a strap session's break (or
  one recorded outside a session). The weekly summary is the mean of the breaks' changes per
  kind over the last 7 days, with n (breaks with an effect measured).

Everything here is the person's: a simulated person's or a replay's sessions, breaks and
practice do not count (:data:`api.storage.queries.PERSON_SOURCE`, the one definition).

References
----------
Plews DJ, Laursen PB, Kilding AE, Buchheit M. Heart rate variability in elite triathletes, is
variation in variability the key to effective training? Eur J Appl Physiol. 2012;112:3729-41.
Plews DJ, Laursen PB, Stanley J, Kilding AE, Buchheit M. Training adaptation and heart rate
variability in elite endurance athletes. Sports Med. 2013;43(9):773-781.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from pydantic import BaseModel, Field

from api.payloads.microbreak import BreakKindName
from api.resting import number as _num
from api.resting import resting_of_session
from api.storage import Storage
from breathing.dayplan import DayPlan, local_datetime

__all__ = [
    "BreakKindSummary",
    "BreakOut",
    "DashboardDay",
    "DashboardOut",
    "PracticeOut",
    "personal_dashboard",
]


class BreakOut(BaseModel):
    """A break taken that day and its effect on RMSSD (after vs before the break)."""

    at: float = Field(description="When the effect was measured (Unix s).")
    kind: BreakKindName = Field(description="breathing, screen or walk.")
    rmssd_before_ms: float | None
    rmssd_after_ms: float | None
    rmssd_change_pct: float | None


class PracticeOut(BaseModel):
    """A practice session's before/after: RMSSD of its first and last 60-s windows."""

    session_id: str
    started_at: float = Field(description="Unix s.")
    duration_s: float = Field(description="Session time of the last window's end, s.")
    rmssd_first_ms: float = Field(description="RMSSD of the first complete 60-s window.")
    rmssd_last_ms: float = Field(description="RMSSD of the last window.")
    rmssd_change_pct: float


class DashboardDay(BaseModel):
    """One local day: check-ins, resting RMSSD, breaks with their effect, practice sessions."""

    day: str = Field(description="Local date (the day plan's time zone), YYYY-MM-DD.")
    n_checkins: int
    mean_stress: float | None = Field(description="Mean check-in stress, 1-5.")
    mean_energy: float | None = Field(description="Mean check-in energy, 1-5.")
    resting_rmssd_ms: float | None = Field(
        description="Median RMSSD of the first 5 minutes of the day's first strap session."
    )
    resting_n_windows: int
    breaks: list[BreakOut]
    practice: list[PracticeOut] = Field(description="Practice sessions' before/after.")


class BreakKindSummary(BaseModel):
    """Did breaks of one kind help: the mean RMSSD change of those with a measured effect."""

    kind: BreakKindName
    n: int = Field(description="Breaks of this kind with a measured effect.")
    mean_rmssd_change_pct: float | None


class DashboardOut(BaseModel):
    """The personal dashboard: per day, and the last 7 days' breaks per kind."""

    timezone: str
    days: list[DashboardDay] = Field(description="Days with any data, oldest first.")
    week: list[BreakKindSummary] = Field(description="Did my breaks help: the last 7 days.")


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def personal_dashboard(storage: Storage, plan: DayPlan, *, days: int, now: float) -> DashboardOut:
    """The dashboard over the last ``days`` days up to ``now`` (blocking)."""
    since = now - days * 86400.0

    def day_of(t: float) -> str:
        return local_datetime(plan, t).date().isoformat()

    checkins: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in storage.checkins(since=since, limit=100_000):
        if r["at"] <= now:
            checkins[day_of(r["at"])].append((r["stress"], r["energy"]))

    resting: dict[str, tuple[float | None, int]] = {}
    for session_id, created_at in storage.strap_sessions(since, now):
        day = day_of(created_at)
        if day in resting:
            continue  # only the day's first strap session
        measure = resting_of_session(storage, session_id)
        resting[day] = (measure.rmssd_ms, measure.n_windows)

    practice: dict[str, list[PracticeOut]] = defaultdict(list)
    for session_id, created_at in storage.strap_practice_sessions(since, now):
        windows = [
            (t_s, v)
            for t_s, data in storage.session_windows(session_id)
            if (v := _num(data.get("rmssd_ms"))) is not None
        ]
        if len(windows) < 2 or windows[0][1] <= 0:
            continue
        (_, first), (end, last) = windows[0], windows[-1]
        practice[day_of(created_at)].append(
            PracticeOut(
                session_id=session_id,
                started_at=created_at,
                duration_s=end,
                rmssd_first_ms=first,
                rmssd_last_ms=last,
                rmssd_change_pct=100.0 * (last - first) / first,
            )
        )

    breaks: dict[str, list[BreakOut]] = defaultdict(list)
    for recorded_at, d in storage.person_break_effects(since, now):
        breaks[day_of(recorded_at)].append(
            BreakOut(
                at=recorded_at,
                kind=d.get("kind", "breathing"),  # a breathing.BreakKind value, as stored
                rmssd_before_ms=_num(d.get("rmssd_before_ms")),
                rmssd_after_ms=_num(d.get("rmssd_after_ms")),
                rmssd_change_pct=_num(d.get("rmssd_change_pct")),
            )
        )

    out_days = []
    for day in sorted(set(checkins) | set(resting) | set(breaks) | set(practice)):
        c = checkins.get(day, [])
        rmssd, n_windows = resting.get(day, (None, 0))
        out_days.append(
            DashboardDay(
                day=day,
                n_checkins=len(c),
                mean_stress=_mean([float(x[0]) for x in c]),
                mean_energy=_mean([float(x[1]) for x in c]),
                resting_rmssd_ms=rmssd,
                resting_n_windows=n_windows,
                breaks=breaks.get(day, []),
                practice=practice.get(day, []),
            )
        )

    week_start = now - 7 * 86400.0
    by_kind: dict[BreakKindName, list[float]] = defaultdict(list)
    for items in breaks.values():
        for b in items:
            if b.at >= week_start and b.rmssd_change_pct is not None:
                by_kind[b.kind].append(b.rmssd_change_pct)
    week = [
        BreakKindSummary(kind=k, n=len(v), mean_rmssd_change_pct=_mean(v))
        for k, v in sorted(by_kind.items())
    ]
    return DashboardOut(timezone=plan.timezone, days=out_days, week=week)
