"""The personal baseline's numbers: the learned baseline and a summary of the stored windows.

What ``GET /api/v1/baseline`` answers (the route is :mod:`api.routes.baseline`):

* ``personal``: the micro-break monitor's learned baseline (``breathing.Baseline``: lnRMSSD and
  heart rate, mean and SD, learned from calm valid windows with exponential forgetting), kept
  across sessions; ``null`` until a session has learned one (the population default is used).
* ``windows``: a plain summary of the 60 s window metrics stored since the last reset (over at
  most the last ``days`` days, default 14): median and quartiles of RMSSD, ln RMSSD and mean
  heart rate (``statistics.quantiles``, inclusive method).
* ``resonance_bpm``: the newest conclusive resonance assessment's rate.

All three are the person's: only strap sessions count (``source.kind == "ble"``,
:data:`api.storage.queries.PERSON_SOURCE`); a simulated person or a replay is not remembered.

Day-to-day HRV is read against such a rolling personal norm rather than population values
(Plews et al. 2012, Int J Sports Physiol Perform 7(4):344; Task Force 1996 on the large
between-subject spread of short-term HRV).
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel, Field

from api.pipeline import BASELINE_KEY
from api.storage import Storage

__all__ = [
    "BASELINE_METRICS",
    "BaselineOut",
    "Spread",
    "WindowSummary",
    "compute_baseline",
    "summarise_windows",
]

#: Window metrics the baseline summarises (keys of the live metrics, units in the names).
BASELINE_METRICS: tuple[str, ...] = ("rmssd_ms", "ln_rmssd", "mean_hr_bpm")


class Spread(BaseModel):
    """Median and quartiles of one metric over the baseline's windows."""

    median: float
    p25: float
    p75: float


class WindowSummary(BaseModel):
    """The stored 60 s windows since the last reset (at most ``days`` back), summarised."""

    since_unix_s: float = Field(description="Start of the baseline: last reset or the window")
    reset_at_unix_s: float | None = Field(description="Last reset; null if never reset")
    days: float
    n_windows: int = Field(description="60 s windows with a value, over the strap sessions")
    n_sessions: int = Field(description="Strap sessions with such a window")
    metrics: dict[str, Spread | None] = Field(
        description="Median and quartiles per metric; null with fewer than 3 windows"
    )


class BaselineOut(BaseModel):
    """The personal baseline: the learned one, the resonance rate and the window summary."""

    personal: dict[str, float] | None = Field(
        description="breathing.Baseline.to_dict() learned by the micro-break monitor "
        "(ln_rmssd_mean, ln_rmssd_sd, hr_mean_bpm, hr_sd_bpm, weight_s, personal_s); null "
        "until learned"
    )
    personal_updated_at_unix_s: float | None
    resonance_bpm: float | None = Field(
        default=None,
        description="The person's resonance rate (breaths/min) from their newest conclusive "
        "assessment in a strap session; practice and breathing breaks pace at it. null until "
        "assessed.",
    )
    windows: WindowSummary


def _spread(values: list[float]) -> Spread | None:
    if len(values) < 3:
        return None
    q = statistics.quantiles(values, n=4, method="inclusive")
    return Spread(median=statistics.median(values), p25=q[0], p75=q[2])


def compute_baseline(storage: Storage, *, days: float, now: float) -> BaselineOut:
    """The stored personal baseline and the window summary (blocking)."""
    personal = storage.get_value("baseline", BASELINE_KEY)
    return BaselineOut(
        personal=None if personal is None else personal[0],
        personal_updated_at_unix_s=None if personal is None else personal[1],
        resonance_bpm=storage.latest_resonance_bpm(),
        windows=summarise_windows(storage, days=days, now=now),
    )


def summarise_windows(storage: Storage, *, days: float, now: float) -> WindowSummary:
    """Summarise the strap sessions' window metrics since ``max(reset, now - days)`` (blocking)."""
    reset = storage.get_value("baseline", "reset_at")
    reset_at = float(reset[0]) if reset is not None else None
    since = now - days * 86400.0
    if reset_at is not None:
        since = max(since, reset_at)
    rows = storage.strap_windows_recorded_since(since)
    values: dict[str, list[float]] = {k: [] for k in BASELINE_METRICS}
    sessions = set()
    for session_id, _, data in rows:
        used = False
        for key in BASELINE_METRICS:
            v = data.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                values[key].append(float(v))
                used = True
        if used:
            sessions.add(session_id)
    return WindowSummary(
        since_unix_s=since,
        reset_at_unix_s=reset_at,
        days=days,
        n_windows=max((len(v) for v in values.values()), default=0),
        n_sessions=len(sessions),
        metrics={k: _spread(v) for k, v in values.items()},
    )
