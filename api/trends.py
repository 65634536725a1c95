"""Trends over days: daily resting RMSSD and heart rate from a person's strap sessions.

One row per local calendar day (the server's time zone) with the median of the stored 60 s
windows' RMSSD, ln RMSSD and mean heart rate. Only strap sessions (``source.kind == "ble"``, a
real person) count; simulations and replays do not. The median of short windows over a day is a
robust daily value (day-to-day lnRMSSD monitoring: Plews et al. 2012, Int J Sports Physiol
Perform 7(4):344); it mixes activities unless the person wears the strap at rest.
"""

from __future__ import annotations

import datetime
import statistics

from pydantic import BaseModel, Field

from api.storage import Storage

__all__ = ["DayOut", "TrendsOut", "daily_trends"]


class DayOut(BaseModel):
    """One local day: medians of its strap sessions' 60 s windows."""

    day: str = Field(description="Local date, YYYY-MM-DD")
    n_windows: int
    n_sessions: int
    median_rmssd_ms: float | None
    median_ln_rmssd: float | None
    median_hr_bpm: float | None


class TrendsOut(BaseModel):
    """Daily medians of RMSSD and heart rate from strap sessions, over the last ``days`` days."""

    days: int
    series: list[DayOut] = Field(description="Days with data, oldest first")


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def daily_trends(storage: Storage, *, days: int, now: float) -> TrendsOut:
    """Daily medians of the strap sessions' windows over the last ``days`` days (blocking)."""
    rows = storage.strap_windows_recorded_since(now - days * 86400.0)
    by_day: dict[str, dict[str, list[float]]] = {}
    sessions: dict[str, set[str]] = {}
    for session_id, recorded_at, data in rows:
        day = datetime.datetime.fromtimestamp(recorded_at).date().isoformat()
        bucket = by_day.setdefault(day, {"rmssd_ms": [], "ln_rmssd": [], "mean_hr_bpm": []})
        for key, values in bucket.items():
            v = data.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                values.append(float(v))
        sessions.setdefault(day, set()).add(session_id)
    return TrendsOut(
        days=days,
        series=[
            DayOut(
                day=day,
                n_windows=len(b["rmssd_ms"]),
                n_sessions=len(sessions[day]),
                median_rmssd_ms=_median(b["rmssd_ms"]),
                median_ln_rmssd=_median(b["ln_rmssd"]),
                median_hr_bpm=_median(b["mean_hr_bpm"]),
            )
            for day, b in sorted(by_day.items())
        ],
    )
