"""A day's resting HRV: the one definition the dashboard and the hub's daily aggregates share.

The resting measure of a session is the median RMSSD (and median mean heart rate) of its
60-s windows ending at session time 60-360 s (:data:`RESTING_WINDOW_END_S`: the first 5
minutes after the first complete window); a day's is that of its first strap session
(``source.kind == "ble"``; simulations and replays are not the person). It assumes the person
puts the strap on at rest, as morning HRV measures do (Plews et al. 2012, 2013: a short
resting recording each day, lnRMSSD tracked over days).

References
----------
Plews DJ, Laursen PB, Kilding AE, Buchheit M. Heart rate variability in elite triathletes, is
variation in variability the key to effective training? Eur J Appl Physiol. 2012;112:3729-41.
Plews DJ, Laursen PB, Stanley J, Kilding AE, Buchheit M. Training adaptation and heart rate
variability in elite endurance athletes. Sports Med. 2013;43(9):773-781.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from api.storage.queries import Queries

__all__ = ["RESTING_WINDOW_END_S", "Resting", "number", "resting_of_day", "resting_of_session"]

#: Session time (s) of the windows that count as the day's resting measure.
RESTING_WINDOW_END_S = (60.0, 360.0)


@dataclass(frozen=True)
class Resting:
    """A day's resting measure (see the module).

    Medians over the windows of session time 60-360 s of the day's first strap session, and
    how many windows.
    """

    rmssd_ms: float | None
    hr_bpm: float | None
    n_windows: int


def number(v: Any) -> float | None:
    """``v`` as a float when it is a number (not a bool), else ``None``."""
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def resting_of_session(db: Queries, session_id: str) -> Resting:
    """The resting measure of one session.

    Median RMSSD and mean-HR of its 60-s windows of session time
    :data:`RESTING_WINDOW_END_S`.
    """
    lo, hi = RESTING_WINDOW_END_S
    rmssd: list[float] = []
    hr: list[float] = []
    for _, data in db.session_windows(session_id, t_from=lo, t_to=hi):
        if (v := number(data.get("rmssd_ms"))) is not None:
            rmssd.append(v)
        if (h := number(data.get("mean_hr_bpm"))) is not None:
            hr.append(h)
    return Resting(
        rmssd_ms=statistics.median(rmssd) if rmssd else None,
        hr_bpm=statistics.median(hr) if hr else None,
        n_windows=len(rmssd),
    )


def resting_of_day(db: Queries, start: float, end: float) -> Resting:
    """The resting measure of the day ``[start, end)`` (Unix s, the day plan's local day).

    That of the first strap session begun in it (``source.kind == "ble"``).
    """
    session_id = db.first_strap_session(start, end)
    if session_id is None:
        return Resting(None, None, 0)
    return resting_of_session(db, session_id)
