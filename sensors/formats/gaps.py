"""Finding missing beats in a recording from its timestamps (private, pure numpy).

The rule
--------
A file that stores a clock time per beat (phone arrival time, or hrvpace stream time) shows
that beats are missing even though every stored RR interval is valid: the clock moves on while
the running sum of RR intervals does not. With ``cum_s[i] = sum(rr_ms[:i+1]) / 1000`` (an
interval of 0 or below adding nothing, as on every reader's timeline) and the
beat's clock time ``clock_s[i]``, the *offset* ``d[i] = clock_s[i] - cum_s[i]`` is a constant
plus the latency of beat ``i`` (never negative) plus the duration of every beat lost before it.
Latency wanders (several beats share one notification, notifications come about once a second
whatever the heart rate, one may come late) but stays within a band; a loss moves the whole
band up for good. So, with ``W`` = 8 beats:

1. beat ``i`` follows a gap when *every* offset of the next ``W`` beats exceeds *every* offset
   of the previous ``W`` beats by more than 0.6 RR interval:
   ``min(d[i : i+W]) - max(d[i-W : i]) > 0.6 * rr_ms[i] / 1000`` (for an interval of 0 or
   below, an artefact, 0.6 of the recording's median interval);
2. of consecutive such beats only the first is a gap;
3. its missing time is the rise of the lower envelope, ``min(d[i:i+W]) - min(d[i-W:i])``
   (of a gap ``p`` fewer than ``W`` beats before it, from ``min(d[p:i])``: the earlier rise
   counted once);
4. the last ``W / 2 - 1`` beats are never a gap: too few beats follow them to tell a lost
   notification from a late one.

A late notification raises ``d`` for a few beats only and is not a gap. With timestamps that
are beat times (back-dated by RR, or hrvpace stream time) the band is flat and every loss of
more than 0.6 RR is found at its exact place. With phone *arrival* times the band is about one
notification period wide (about 1 s), so a loss is found only when it is longer than that band
plus 0.6 RR: dropouts and runs of lost notifications are found, a single lost beat often is
not. Checked on 43 real HRV Logger exports (16,012 beats, public repository
ChristianKoplenig/hrv_public, not copied here): 28 gaps, each at a 2-4 s jump in arrival time
after which the offset stays up, and no gap elsewhere. On a harsh simulated strap (latency up to
1 s, 3 % of notifications 0.5-2.5 s late, 1 % lost) about 2 false gaps per 10,000 beats
(``python -m bench.live_gaps --seeds 100-139``: 1.85; an earlier, unrecorded simulation gave one
per 90,000, not reproduced).
A phone clock stepped forward looks like a gap and is marked as one (a safe error: one
successive difference is skipped); a clock stepped back is ignored. With ``local_clock`` (the
file's times are the phone's naive local time) a rise of a daylight-saving step (1 h, or
Lord Howe's 30 min) within :data:`CLOCK_CHANGE_TOLERANCE_S` is the clock changing, not an hour
of lost beats, when the clocks of some zone of the tz database moved forward by that step
between the local times on either side of the jump (:func:`clock_stepped_forward`: the night
of 29 March 2026 from 01:59 to 03:00 is Europe's change; 1 June 21:47 to 22:47 is no zone's):
the step is taken off the missing time, and what remains is a gap only by the same 0.6-RR rule
(a recording over the spring-forward night keeps its length). Review: any such rise was taken
for the clock, so an hour without beats on any other day or time (a strap off for an hour)
lost its hour from the timeline and was no gap. A real dropout of exactly one hour (within
1.5 s) across a clock change of some zone is still read as the change: stated, and improbable.
Without a tz database (no zone listed) every such rise is the clock, as before. Only the first
:data:`CLOCK_CHANGE_CHECKS_MAX` (8) such rises of a file are looked up (each asks every zone of
the database, some milliseconds); any later one is a gap like any other rise: a real recording
(8 days at most) has one or two clock changes, and a crafted file with the clock going +1 h and
back every few rows cost minutes of CPU time (code review). A recording with more than 8
hour-long dropouts before a change reads that change as a gap of an hour (a safe error).

Live
----
A live source cannot wait for the ``W`` beats after a beat. :class:`LiveGapRule` applies the
causal half of rule 1 as each beat comes: beat ``i`` follows a gap when its *own* offset exceeds
every offset of the previous ``W`` beats by more than 0.6 RR,
``d[i] - max(d[i-W : i]) > 0.6 * rr_ms[i] / 1000``. Since ``d[i] >= min(d[i : i+W])``, every beat
:func:`infer_gaps` marks, this rule marks too (computed on the same floats: hrvpace recordings
keep ``t_s`` and ``rr_ms`` exactly), so a live stream and the replay of its recording (which
keeps the live marks and adds the inferred ones) have the same gaps. The price is a notification
that comes late by more than the latency band plus 0.6 RR, marked live as a gap it was not (a
safe error: one successive difference skipped): 1.7 % of beats with 3 % of notifications
0.5-2 s late, 2.5 % on the harsh strap above (``python -m bench.live_gaps``). Holding a jumped
beat until the next notification shows whether its offset stays up keeps this superset
property (it may clear a beat only by an offset among the next ``W`` at or below infer_gaps'
own threshold) but was not taken: with arrival times the band is about as wide as a lost
notification, so one later notification cannot tell late from lost
(``docs/live_gap_hold_protocol.md``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import zoneinfo
from collections import deque

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from sensors.formats._common import beat_elapsed_s

__all__ = [
    "CLOCK_CHANGE_CHECKS_MAX",
    "CLOCK_CHANGE_TOLERANCE_S",
    "ENVELOPE_BEATS",
    "LiveGapRule",
    "clock_stepped_forward",
    "infer_gaps",
    "timeline_with_gaps",
]

#: Width ``W`` (beats) of the windows before and after each beat.
ENVELOPE_BEATS = 8
#: A gap needs the offsets to rise by more than this fraction of the RR interval after it.
_GAP_FRACTION_OF_RR = 0.6
#: Daylight-saving steps of local clocks (s): one hour, and Lord Howe Island's half hour.
_CLOCK_STEPS_S = (3600.0, 1800.0)
#: How close a rise must be to a step to be read as the clock changing (about the width of
#: the band phone arrival times wander in, see the module docstring).
CLOCK_CHANGE_TOLERANCE_S = 1.5
#: How many rises of a daylight-saving step a file may have asked of the tz database (each
#: asks every zone, some milliseconds); later ones are gaps. A real recording has one or two
#: clock changes (at most 8 days long); a crafted one with thousands of 1-h jumps (the clock
#: going +1 h and back every few rows) cost minutes of CPU time (code review).
CLOCK_CHANGE_CHECKS_MAX = 8


def infer_gaps(
    rr_ms: NDArray[np.float64],
    clock_s: NDArray[np.float64],
    *,
    window: int = ENVELOPE_BEATS,
    local_clock: bool = False,
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Return ``(gaps, missing_s)``: where beats are missing and how much time they took.

    ``missing_s[i]`` is the estimated time lost before beat ``i`` (0 where ``gaps[i]`` is
    False). ``local_clock``: ``clock_s`` is naive local time, whose daylight-saving step is
    not a loss. See the module docstring for the rule.
    """
    n = rr_ms.shape[0]
    gaps = np.zeros(n, dtype=np.bool_)
    missing_s = np.zeros(n, dtype=np.float64)
    if n < 2:
        return gaps, missing_s
    d = clock_s - beat_elapsed_s(rr_ms)
    lo_pad = np.full(window, np.inf)
    hi_pad = np.full(window, -np.inf)
    mins = sliding_window_view(np.concatenate([lo_pad, d, lo_pad]), window).min(axis=1)
    maxs = sliding_window_view(np.concatenate([hi_pad, d, hi_pad]), window).max(axis=1)
    before_min, before_max = mins[0:n], maxs[0:n]
    after_min = mins[window : window + n]
    with np.errstate(invalid="ignore"):
        clear = after_min - before_max  # -inf at i == 0
    # an interval of 0 or below (an artefact) has no length to compare with: the median one's
    positive = rr_ms > 0
    typical = float(np.median(rr_ms[positive])) if positive.any() else 0.0
    scale = np.where(positive, rr_ms, typical)
    cand = clear > _GAP_FRACTION_OF_RR * scale / 1000.0
    cand[0] = False
    # The last beats have too few successors to tell a lost notification from a late one.
    cand[max(1, n - window // 2 + 1) :] = False
    cand[1:] &= ~cand[:-1]  # one gap per run of candidates: its first beat
    gaps[cand] = True
    missing_s[cand] = (after_min - before_min)[cand]
    # a gap within W beats after another: its rise counts from the beats since that one only
    # (rev12 review: a 150-ms place and a 0 five rows apart added the first's time twice)
    found = np.flatnonzero(cand)
    for p, i in itertools.pairwise(found):
        if i - p < window:
            missing_s[i] = after_min[i] - float(d[p:i].min())
    if local_clock:
        asked = 0
        for i in np.flatnonzero(cand):
            step = next(
                (c for c in _CLOCK_STEPS_S if abs(missing_s[i] - c) <= CLOCK_CHANGE_TOLERANCE_S),
                None,
            )
            if step is None or asked >= CLOCK_CHANGE_CHECKS_MAX:
                continue  # past the first few: a gap (a recording changes clocks once or twice)
            asked += 1
            forward = clock_stepped_forward(float(clock_s[i - 1]), float(clock_s[i]), step)
            if forward is False:  # no zone's clocks moved then: an hour of lost beats
                continue
            rest = max(0.0, float(missing_s[i]) - step)
            if rest > _GAP_FRACTION_OF_RR * scale[i] / 1000.0:
                missing_s[i] = rest  # the clock changed and beats were lost too
            else:
                gaps[i], missing_s[i] = False, 0.0
    return gaps, missing_s


@functools.lru_cache(maxsize=1)
def _zones() -> tuple[zoneinfo.ZoneInfo, ...]:
    """Every zone of the tz database (read once; empty when there is none)."""
    zones = []
    for key in sorted(zoneinfo.available_timezones()):
        try:
            zones.append(zoneinfo.ZoneInfo(key))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return tuple(zones)


def clock_stepped_forward(before_s: float, after_s: float, step_s: float) -> bool | None:
    """Whether the clocks of some zone moved forward by ``step_s`` between two local times.

    ``before_s`` and ``after_s`` are naive local date-times as seconds since 1970 read as UTC
    (how readers keep a phone's local time without a zone). True when, in some zone of the tz
    database, the time that passed between them is ``step_s`` (within 1 s) less than their
    difference on the clock: that zone's clocks sprang forward in between (a daylight-saving
    change, or a zone moving its standard time). ``None`` when there is no tz database to ask.

    References
    ----------
    IANA Time Zone Database (tzdata), read through :mod:`zoneinfo` (PEP 615).
    """
    zones = _zones()
    if not zones:
        return None
    try:
        a = dt.datetime.fromtimestamp(before_s, dt.UTC).replace(tzinfo=None)
        b = dt.datetime.fromtimestamp(after_s, dt.UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return False
    on_clock = after_s - before_s
    for zone in zones:
        try:
            passed = b.replace(tzinfo=zone).timestamp() - a.replace(tzinfo=zone).timestamp()
        except (OverflowError, OSError, ValueError):
            continue
        if abs(on_clock - passed - step_s) <= 1.0:
            return True
    return False


def timeline_with_gaps(
    rr_ms: NDArray[np.float64], missing_s: NDArray[np.float64], *, start_s: float = 0.0
) -> NDArray[np.float64]:
    """Beat times ``start_s + cumsum(rr) / 1000`` shifted by the time lost in earlier gaps.

    An interval of 0 or below adds no time (:func:`sensors.formats._common.beat_elapsed_s`).
    """
    return start_s + beat_elapsed_s(rr_ms) + np.cumsum(missing_s)


class LiveGapRule:
    """The causal half of :func:`infer_gaps`'s rule 1, one beat at a time (module docstring).

    Feed every beat of a stream, in order, from its first: ``rule.follows_gap(t_s, rr_ms)``
    says whether that beat follows a gap by its timing. Its offsets are computed as
    :func:`infer_gaps` computes them on the stream's recording (``t_s`` minus the running sum
    of the RR intervals, 0 or below adding nothing), so it marks every beat that function would.
    """

    def __init__(self, window: int = ENVELOPE_BEATS) -> None:
        self._cum_ms = 0.0
        self._before: deque[float] = deque(maxlen=window)

    def follows_gap(self, t_s: float, rr_ms: float) -> bool:
        """Take the next beat; True when its offset rose above the last ``W`` by > 0.6 RR."""
        self._cum_ms += max(rr_ms, 0.0)
        d = t_s - self._cum_ms / 1000.0
        gap = (
            bool(self._before)
            and rr_ms > 0
            and (d - max(self._before) > _GAP_FRACTION_OF_RR * rr_ms / 1000.0)
        )
        self._before.append(d)
        return gap
