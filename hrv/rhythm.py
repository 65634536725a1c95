"""Premature beats in a stream of raw beats: when the rhythm, not the signal, is the cause.

A live session's NN filter (:class:`hrv.ArtefactFilter`) rejects a premature beat and its
pause just as it rejects a missed or extra detection, so a window's quality falls alike for a
loose strap and for frequent early beats (bigeminy, trigeminy, runs of extra beats). This rule
tells the two apart from the intervals alone, so that the live consumers can say "irregular
heartbeat" instead of blaming the strap. It is not a diagnosis.

The rule
--------
Beat ``i`` *starts a premature pattern* when

* ``RR[i] <= 0.80 RR[i-1]``: it comes at least 20 % early (the 20 % criterion for non-sinus
  intervals of Malik et al. 1989);
* ``RR[i+1] >= 1.25 RR[i]``: the next interval rebounds (a pause, compensatory or not);
* ``RR[i] + RR[i+1] >= 1.50 RR[i-1]``: the two together exceed one and a half intervals (an
  extra R detected inside one normal interval splits it into two that sum to about one; a
  premature beat and its pause sum to about two, or 1.75-2 without a full pause);

with no gap before beat ``i`` or beat ``i + 1`` and none of the three beats reported without
skin contact. A missed beat (one interval about twice the others) is a rise, not a drop, and
does not match; nor does respiratory sinus arrhythmia, which changes RR smoothly, by well under
20 % from one beat to the next even at resonance.

**Known limit**: in *sustained* bigeminy the interval before an early beat is the previous
one's pause, so an early beat that comes before 2/3 of the normal interval fails the span test
and is not flagged (600 / 1,400-ms couplets: none; MIT-BIH 106: 73 of its 290 bigeminal
ventricular beats); the consumers then say what they said before (poor signal). A median
reference fixes that but reads an extra detection's second part as an early beat, and guarding
against that cost sensitivity; both were judged and not kept (docs/live_rhythm_protocol.md).

A window's rhythm is *irregular* (:func:`irregular_rhythm`) when at least 5 % of its beats
start a premature pattern: each pattern costs the NN filter about two beats, so from there the
rhythm alone takes the window's quality to about 0.9, the level below which the live policies
stop trusting the window. It is not judged under 20 beats.

The rule and the criteria it was judged by were written before it was run on any data
(docs/live_rhythm_protocol.md; ``python -m bench.live_rhythm``). First judging (reference: the
one interval before the beat): MIT-BIH windows with frequent ectopy flagged 0.756 (0.80 asked;
many of their ectopic beats are not early: fusion beats, runs at a steady rate), so it was not
used. Second judging, of the criterion it is for, on a database not used before (European
ST-T, 79 records): of the windows with frequent ectopy *and* quality below 0.9, 0.809 flagged;
of the 7,983 windows without ectopy, none; no window of injected strap artefacts (missed and
extra detections) and 0.18 % of the windows of healthy recordings flagged. Two revisions for
the known limit above were judged after it; neither is used. The live
consumers use it: the pacer's and the micro-break monitor's reasons, the assessment's step
notes, and the page.

References
----------
Malik, M., et al. (1989). Influence of the recognition artefact in automatic analysis of
long-term electrocardiograms on time-domain measurement of heart rate variability. Medical &
Biological Engineering & Computing, 27(6), 603-611.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from hrv.errors import HrvInputError

__all__ = [
    "IRREGULAR_SHARE",
    "PREMATURE_DROP",
    "PREMATURE_REBOUND",
    "PREMATURE_SPAN",
    "PREVIOUS_NOT_EARLY",
    "REFERENCE_BEATS",
    "RHYTHM_MIN_BEATS",
    "irregular_rhythm",
    "is_premature",
    "premature_beats",
]

#: A premature beat's interval is at most this share of the one before it ...
PREMATURE_DROP = 0.80
#: ... the next interval at least this multiple of the beat's ...
PREMATURE_REBOUND = 1.25
#: ... and the two together at least this multiple of the one before.
PREMATURE_SPAN = 1.50
#: Share of a window's beats starting a premature pattern from which its rhythm is irregular.
IRREGULAR_SHARE = 0.05
#: Fewest beats in a window for a verdict on its rhythm.
RHYTHM_MIN_BEATS = 20
#: Intervals before a beat whose median is its reference: 1, the interval just before it (the
#: rule as judged; a median of 8 was tried and withdrawn: docs/live_rhythm_protocol.md).
REFERENCE_BEATS = 1
#: Whether the interval before an early beat must not be early itself (the second revision,
#: not adopted; with one reference interval it is always so).
PREVIOUS_NOT_EARLY = False


def _flags(values: ArrayLike | None, n: int, name: str) -> NDArray[np.bool_]:
    if values is None:
        return np.zeros(n, dtype=np.bool_)
    out = np.asarray(values, dtype=np.bool_)
    if out.shape != (n,):
        raise HrvInputError(f"premature_beats: {name} must have one value per beat ({n})")
    return out


def premature_beats(
    rr_ms: ArrayLike,
    *,
    gap_before: ArrayLike | None = None,
    no_contact: ArrayLike | None = None,
    reference_beats: int = REFERENCE_BEATS,
) -> NDArray[np.bool_]:
    """Which beats start a premature pattern (the module docstring's rule).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals of consecutive beats (ms), each > 0.
    gap_before : array_like of bool, optional
        Beats missing before each beat: no pattern is judged across a gap, and the reference
        takes no interval from before one.
    no_contact : array_like of bool, optional
        Beats the strap reported without skin contact: no pattern is judged with one.
    reference_beats : int
        The reference interval of beat ``i`` is the median of the up to this many intervals
        before it (since the last gap); 1 is the interval just before it.

    Returns
    -------
    numpy.ndarray of bool
        One flag per beat; the first and the last beat are never flagged (a pattern needs the
        interval before and after).

    Raises
    ------
    HrvInputError
        ``rr_ms`` not one-dimensional, not finite or not > 0; flags of another length;
        ``reference_beats`` not an integer >= 1.

    Examples
    --------
    >>> premature_beats([1000.0, 1000.0, 700.0, 1300.0, 1000.0]).tolist()
    [False, False, True, False, False]
    >>> premature_beats([1000.0, 1000.0, 300.0, 700.0, 1000.0]).tolist()  # an extra R
    [False, False, False, False, False]
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1 or not np.all(np.isfinite(rr)) or np.any(rr <= 0):
        raise HrvInputError("premature_beats: rr_ms must be one-dimensional, finite and > 0")
    if (
        isinstance(reference_beats, bool)
        or not isinstance(reference_beats, int)
        or (reference_beats < 1)
    ):
        raise HrvInputError(
            f"premature_beats: reference_beats must be an integer >= 1, got {reference_beats!r}"
        )
    n = rr.size
    gap = _flags(gap_before, n, "gap_before")
    lost = _flags(no_contact, n, "no_contact")
    out = np.zeros(n, dtype=np.bool_)
    if n < 3:
        return out
    ref = _reference(rr, gap, reference_beats)[1:-1]
    out[1:-1] = (
        is_premature(ref, rr[:-2], rr[1:-1], rr[2:])
        & ~gap[1:-1]
        & ~gap[2:]
        & ~lost[:-2]
        & ~lost[1:-1]
        & ~lost[2:]
    )
    return out


@overload
def is_premature(ref_ms: float, prev_rr_ms: float, rr_ms: float, next_rr_ms: float) -> bool: ...
@overload
def is_premature(
    ref_ms: NDArray[np.float64],
    prev_rr_ms: NDArray[np.float64],
    rr_ms: NDArray[np.float64],
    next_rr_ms: NDArray[np.float64],
) -> NDArray[np.bool_]: ...
def is_premature(ref_ms: Any, prev_rr_ms: Any, rr_ms: Any, next_rr_ms: Any) -> Any:
    """The interval tests of the rule, for one beat (floats) or many (arrays).

    ``ref_ms`` is the beat's reference interval, ``prev_rr_ms`` the interval before the beat's,
    ``rr_ms`` its interval and ``next_rr_ms`` the next one; the gap and contact conditions are
    the caller's (:func:`premature_beats`, :class:`hrv.SignalQuality`).
    """
    hit = (
        (rr_ms <= PREMATURE_DROP * ref_ms)
        & (next_rr_ms >= PREMATURE_REBOUND * rr_ms)
        & (rr_ms + next_rr_ms >= PREMATURE_SPAN * ref_ms)
    )
    if PREVIOUS_NOT_EARLY:  # the second part of a split interval follows a short first part
        hit = hit & (prev_rr_ms >= PREMATURE_DROP * ref_ms)
    return hit


def _reference(rr: NDArray[np.float64], gap: NDArray[np.bool_], k: int) -> NDArray[np.float64]:
    """Per beat, the median of the up to ``k`` intervals before it since the last gap.

    NaN for the first beat (no interval before it).
    """
    n = rr.size
    if k == 1:
        return np.concatenate(([np.nan], rr[:-1]))
    pad = np.full(k, np.nan)
    window = sliding_window_view(np.concatenate((pad, rr)), k)[:n]  # rr[i-k .. i-1]
    gaps_upto = np.cumsum(gap)  # gaps at indices <= j
    at_j = sliding_window_view(np.concatenate((np.full(k, -1), gaps_upto)), k)[:n]
    at_i_minus_1 = np.concatenate(([0], gaps_upto[:-1]))
    window = np.where(at_j == at_i_minus_1[:, None], window, np.nan)  # no gap in (j, i)
    ref = np.full(n, np.nan)
    some = np.any(~np.isnan(window), axis=1)
    ref[some] = np.nanmedian(window[some], axis=1)
    return ref


def irregular_rhythm(n_premature: int, n_beats: int) -> bool | None:
    """Whether a window of ``n_beats`` with ``n_premature`` premature patterns is irregular.

    Returns
    -------
    bool or None
        True from 5 % of the beats on, False below, None under 20 beats (not judged).

    Examples
    --------
    >>> irregular_rhythm(3, 60), irregular_rhythm(2, 60), irregular_rhythm(5, 19)
    (True, False, None)
    """
    if n_beats < RHYTHM_MIN_BEATS:
        return None
    return n_premature >= IRREGULAR_SHARE * n_beats
