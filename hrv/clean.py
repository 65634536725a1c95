"""Artefact detection and correction of RR series (Lipponen & Tarvainen 2019, as Kubios).

:func:`clean` takes raw RR intervals from a strap or a recording and returns a
:class:`Cleaned`: the corrected series, one label per *input* beat, and a quality figure.

Two stages
----------
1. **Physiological gate** (applied first). Intervals outside ``[min_rr_ms, max_rr_ms]``
   (300-2000 ms by default, i.e. 30-200 bpm) cannot be heartbeats. Too short ones, including
   the 0 ms or negative values that some devices emit for a duplicated beat, are merged with
   the neighbour that brings the sum closest to the local median (label ``extra``); too long
   ones are split into ``n = round(rr / local median)`` equal parts when ``2 <= n <=
   max_missed_beats + 1`` (label ``missed``; default at most 3 beats missed in a row, i.e.
   4 parts), replaced by interpolation when ``n == 1`` (label ``long``), and removed as a **gap**
   when ``n`` is larger (label ``gap``): a pause of a minute, a strap off the chest, a corrupt
   1e12 or 1e308 is not a run of missed beats. A gap interval leaves the output; the next
   interval carries ``gaps=True`` so no successive difference is taken across it. Time and memory
   are therefore O(n) whatever the values (before this bound one 1e12 ms value was split into
   ~10^9 "beats"). Values <= 0 and tiny positive ones are never refused. A too-short interval
   that is closer to the local median than any merge with a neighbour would be (a premature
   beat at a high heart rate, say) is interpolated instead (label ``short``), and so is a
   merged interval that is still out of range. The local median is the
   ``median_window``-beat running median of the in-range intervals.
2. **Lipponen & Tarvainen (2019)** beat classification on the gated series, with the
   published constants as defaults (``c1 = 0.13``, ``c2 = 0.17``, ``alpha = 5.2``, 91-beat
   quartile-deviation window, 11-beat median):

   - ``dRR[j] = RR[j] - RR[j-1]`` (0 for the first beat and for a beat after a gap), divided
     by ``Th1 = alpha * QD(|dRR|)`` where ``QD = (Q3 - Q1) / 2`` over the 91 beats centred on
     ``j`` (fewer at the ends of the series, linear-interpolated quartiles);
   - ``mRR[j] = RR[j] - med11(RR)[j]``, doubled where negative, divided by
     ``Th2 = alpha * QD(|mRR|)``;
   - contamination guard (not in the paper): each QD is capped at 1.25 times the median of the
     same absolute values in the same window, where that median is > 0. QD breaks down when more
     than a quarter of a window is artefactual (Q3 then lies among the artefacts, and whole
     bigeminy runs went unflagged); the median holds up to half. On cleaned real recordings
     QD / median is 0.4-1.0 (99th percentile 0.9-1.25), so the cap rarely binds on normal
     data: it adds under 1 % flags on the long recordings (rrhealthy_000: 2,776 -> 2,791);
   - subspaces ``S11 = dRR[j]``; ``S12 = max(dRR[j-1], dRR[j+1])`` if ``dRR[j] > 0`` else the
     min; ``S21 = dRR[j]``; ``S22 = min(dRR[j+1], dRR[j+2])`` if ``dRR[j] >= 0`` else the max
     (missing neighbours beyond the ends count as 0);
   - **ectopic**: ``S11 > 1 and S12 < -c1 S11 - c2`` or ``S11 < -1 and S12 > -c1 S11 + c2``
     (the negative-positive-negative or positive-negative-positive dRR pattern; the flagged
     beat is the middle of the pattern, the misplaced R peak is the one before it);
   - otherwise **long** if ``S21 > 1 and S22 < -1``, **short** if ``S21 < -1 and S22 > 1``,
     and also long/short when ``|mRR| > 3`` (by the sign of mRR);
   - a long beat is **missed** if ``|RR[j] / n - med11[j]| < Th2[j]`` with
     ``n = max(2, round(RR[j] / med11[j]))`` and ``n <= max_missed_beats + 1`` (the paper's rule
     is n = 2; larger n covers several missed beats in a row); a short beat is **extra** if
     ``|RR[j] + RR[j+1] - med11[j]| < Th2[j]``.

   Thresholds are floored at 1 ms so a perfectly constant stretch does not divide by zero.
   One detection/correction pass by default, as in the paper. ``max_iterations > 1`` repeats
   detection on the corrected series while the number of flagged beats keeps decreasing (as
   NeuroKit2's ``iterative=True`` does). Measured here on artefacts injected into real
   recordings, repeating lowers precision: each pass re-estimates the thresholds without the
   removed artefacts and starts flagging the tails of normal variability (F1 about 0.98 with one
   pass, 0.88-0.92 with three, on a 1-h slice of rrhealthy_000 with 150 injected artefacts).

Correction (all but the last keep the timeline: the sum of the intervals is preserved)
--------------------------------------------------------------------------------------
- extra: the interval is merged with the next one (the spurious R peak is removed);
- missed: the interval is split into ``n`` equal parts (R peaks are inserted);
- ectopic: the misplaced R peak is moved halfway between its neighbours, i.e. the two
  intervals around it are both set to their mean. Ectopic centre ``j`` (the compensatory pause
  after a premature beat) proposes the pair ``(j-1, j)``; a pair is averaged only when one
  interval is shorter and the other longer than the local median by comparable amounts (the
  smaller deviation at least a third of the larger when the short interval comes first, a
  premature beat and its pause; two thirds when the long one does, a late R peak, which is a
  detection error and rarer), and overlapping proposals (a bigeminy run
  flags every interval) are resolved by the disjoint pairs of largest total gain (gain = how
  much closer to the median the two intervals get), found by dynamic programming, so that each
  premature-compensatory couplet of a run is paired with itself. A centre no pair resolves (a
  premature beat without compensatory pause, say) is interpolated, with its partner when that
  one is further from the median;
- long / short: the interval is replaced by linear interpolation (over beat index) of the
  neighbouring corrected intervals, as Kubios interpolates; this one changes the total
  duration.

- gap (gate only): the interval is removed and the next one starts a gap, as a dropped
  connection would (this one also changes the total duration).

Labels are per input beat (``Cleaned.labels`` has the input's length): every input interval
that contributed to a corrected output interval gets that correction's label, so an ectopic
beat labels the two intervals around the misplaced peak (or the one or two it interpolated), an
extra beat the two halves that were merged, a gap the removed interval.
``Cleaned.source_index`` maps each output interval back to its first input interval.

Validation against truth, and why NeuroKit2 differs
---------------------------------------------------

MIT-BIH Arrhythmia Database record 100 (Moody & Mark 2001; 30 min, cardiologists' labels: 2,239
normal, 33 atrial premature, 1 ventricular premature beat; tests/data/mitdb_100_beats.csv). Truth:
an interval is artefactual unless both its beats are normal; the NN RMSSD takes successive
differences only between consecutive NN intervals (27.48 ms; raw RMSSD 63.23 ms):

=====================================  =========  ===========  ========  =====  ============
method                                 flagged    ectopic      FP / h    F1     RMSSD vs NN
=====================================  =========  ===========  ========  =====  ============
hrvpace ``clean``                      78         34 / 34      20        0.932  27.45 (-0.1 %)
NeuroKit2 kubios, ``iterative=False``  79         34 / 34      22        0.925  36.09 (+31 %)
NeuroKit2 kubios, ``iterative=True``   -          -            -         -      32.15 (+17 %)
=====================================  =========  ===========  ========  =====  ============

Both classify alike (same beats, same F1); the corrections differ. In NeuroKit2 0.3
(``signal_fixpeaks``, ``_correct_artifacts``), every flagged index, "ectopic" and "longshort"
alike, is a *peak* moved to the midpoint of its uncorrected neighbours (``_correct_misaligned``),
all at once. For an atrial premature beat ``b`` it flags the premature peak ``b`` (as
long/short, 32 of 34 here) *and* the normal peak ``b+1`` that ends the compensatory pause (as
ectopic, 34 of 34), and moves both: the normal peak leaves its true place and the two intervals
after it keep a residual of about half the prematurity (45 of the 79 peaks it moves on record
100 are normal beats). hrvpace moves only the premature peak (the one between the short and the
long interval), which restores the two NN intervals when the pause is compensatory; long/short
beats it interpolates as Kubios does instead of moving a peak. Its ``iterative=True`` default
repeats that on the corrected series and returns the flags of the last pass only.

Injected artefacts (tests/hrv/test_clean_injected.py): premature beats 15-40 % early with and
without compensatory pause, interpolated beats, bigeminy runs of 2-4 couplets, missed and extra
beats, at random positions in raw real recordings (one event per 100 beats, beats flagged before
injection not scored): F1 0.979-0.983 over all shapes, corrected RMSSD within 4.9 % of the
uninjected recording's. Per shape the F1 is >= 0.95 except missed beats on one hour (0.93) and
non-compensatory premature beats (0.94-0.95); on a quiet 128-Hz Holter hour whose beats the
method already flags at 7 % without injection, F1 drops to 0.84-0.99 (README).

Choices, deviations and limits
------------------------------
- ``|mRR| > 3`` flags a beat as long/short on its own, as the paper's decision rule reads.
  NeuroKit2 (0.2.x) tests it only for beats whose ``|dRR| > Th1``, so it flags slightly fewer
  beats; on the real recordings in ``../shared/data`` the two agree on >= 90 % of NeuroKit2's
  flags and >= 85 % of ours lie on or next to one of NeuroKit2's.
- Series shorter than 20 intervals get the gate only: quartiles of a handful of beats do not
  estimate anything.
- The method is statistical: on broadband (Gaussian) variability under 0.1 % of normal beats
  exceed the thresholds by chance. Strictly periodic series whose ``|dRR|`` is nearly constant
  (for example a pure RSA sinusoid at exactly 4 beats per breath with little noise) have a
  quartile deviation near zero and can be flagged heavily; real recordings are not like that,
  synthetic test signals can be.
- On the "artefact-free" rest recording (hrvpkg_rest_rri_ms) the method still flags 16 of 910
  beats (NeuroKit2: 11 beats): physiological extremes the paper's thresholds call artefacts.
  Correcting them lowers RMSSD from 55.1 to 51.0 ms; ``labels`` tell which beats were touched.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError

__all__ = ["LABEL_NAMES", "BeatLabel", "Cleaned", "clean"]


class BeatLabel(enum.IntEnum):
    """Code of a beat label in :attr:`Cleaned.labels` (an ``int8`` array)."""

    NORMAL = 0
    ECTOPIC = 1
    LONG = 2
    SHORT = 3
    MISSED = 4
    EXTRA = 5
    GAP = 6


#: ``LABEL_NAMES[code]`` is the lower-case name of a label code.
LABEL_NAMES: tuple[str, ...] = tuple(label.name.lower() for label in BeatLabel)

#: Contamination guard: a quartile deviation is capped at this many times the window's median
#: of the same absolute values (where that median is > 0). See the module docstring.
_QD_CAP = 1.25
#: Every threshold (Th1, Th2) is at least this many ms.
_THRESHOLD_FLOOR_MS = 1.0
#: Largest accepted ``max_rr_ms`` option (ms): no RR interval lasts a minute.
_MAX_GATE_MS = 60_000.0
#: Below this many intervals the classification is skipped (quartiles of a handful of beats
#: are meaningless); the gate still applies.
_MIN_BEATS_TO_CLASSIFY = 20

_NORMAL = np.int8(BeatLabel.NORMAL)
_ECTOPIC = np.int8(BeatLabel.ECTOPIC)
_LONG = np.int8(BeatLabel.LONG)
_SHORT = np.int8(BeatLabel.SHORT)
_MISSED = np.int8(BeatLabel.MISSED)
_EXTRA = np.int8(BeatLabel.EXTRA)
_GAP = np.int8(BeatLabel.GAP)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class Cleaned:
    """Result of :func:`clean`. Arrays are read-only.

    Attributes
    ----------
    rr_ms : numpy.ndarray of float64, shape (M,)
        The corrected RR intervals (ms). M differs from the input length when beats were merged
        (extra) or split (missed).
    gaps : numpy.ndarray of bool, shape (M,)
        ``gaps[k]`` True when output beat ``k`` does not follow ``k-1`` (carried over from the
        input ``gaps``; never created by the correction).
    source_index : numpy.ndarray of int64, shape (M,)
        Index of the first input interval that output interval ``k`` derives from.
    corrected : numpy.ndarray of bool, shape (M,)
        True where the output interval is not an unchanged normal input interval.
    labels : numpy.ndarray of int8, shape (N,)
        One code per *input* interval, see :class:`BeatLabel` and :data:`LABEL_NAMES`
        (0 normal, 1 ectopic, 2 long, 3 short, 4 missed, 5 extra, 6 gap).
    gated : numpy.ndarray of bool, shape (N,)
        Input intervals outside the physiological range ``[min_rr_ms, max_rr_ms]`` (including
        values <= 0).
    quality : float or None
        Fraction of input intervals labelled normal, in [0, 1]; ``None`` for an empty input.
    n_beats : int
        Number of input intervals N.
    n_iterations : int
        Detection passes of the Lipponen-Tarvainen stage that were applied.
    """

    rr_ms: FloatArray
    gaps: BoolArray
    source_index: IntArray
    corrected: BoolArray
    labels: NDArray[np.int8]
    gated: BoolArray
    quality: float | None
    n_beats: int
    n_iterations: int

    @property
    def label_names(self) -> tuple[str, ...]:
        """The label of every input interval as a name ("normal", "ectopic", ...)."""
        return tuple(LABEL_NAMES[int(c)] for c in self.labels)

    @property
    def counts(self) -> dict[str, int]:
        """Number of input intervals per label name (every name present, zeros included)."""
        binc = np.bincount(self.labels.astype(np.int64), minlength=len(LABEL_NAMES))
        return {name: int(binc[i]) for i, name in enumerate(LABEL_NAMES)}

    @property
    def n_artefacts(self) -> int:
        """Number of input intervals not labelled normal."""
        return int(np.count_nonzero(self.labels))


# ---------------------------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------------------------


def _as_raw_rr_ms(rr_ms: Any) -> FloatArray:
    """``as_rr_ms`` that lets values <= 0 through (they are artefacts to label), as a copy."""
    return as_rr_ms(rr_ms, allow_nonpositive=True).copy()


def _check_options(
    *,
    min_rr_ms: float,
    max_rr_ms: float,
    c1: float,
    c2: float,
    alpha: float,
    qd_window: int,
    median_window: int,
    max_iterations: int,
    max_missed_beats: int,
) -> None:
    for name, value in (("min_rr_ms", min_rr_ms), ("max_rr_ms", max_rr_ms)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise HrvInputError(f"{name}: expected a finite number > 0, got {value!r}")
    if max_rr_ms > _MAX_GATE_MS:
        raise HrvInputError(f"max_rr_ms: expected at most {_MAX_GATE_MS:g} ms, got {max_rr_ms:g}")
    if not min_rr_ms < max_rr_ms:
        raise HrvInputError(f"min_rr_ms ({min_rr_ms:g}) must be below max_rr_ms ({max_rr_ms:g})")
    for name, value in (("c1", c1), ("c2", c2), ("alpha", alpha)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise HrvInputError(f"{name}: expected a finite number > 0, got {value!r}")
    for name, win in (("qd_window", qd_window), ("median_window", median_window)):
        if not isinstance(win, int) or isinstance(win, bool) or win < 3 or win % 2 == 0:
            raise HrvInputError(f"{name}: expected an odd integer >= 3, got {win!r}")
    if not isinstance(max_iterations, int) or isinstance(max_iterations, bool):
        raise HrvInputError(f"max_iterations: expected an integer, got {max_iterations!r}")
    if max_iterations < 0:
        raise HrvInputError(f"max_iterations: expected >= 0, got {max_iterations}")
    if (
        not isinstance(max_missed_beats, int)
        or isinstance(max_missed_beats, bool)
        or not 1 <= max_missed_beats <= 10
    ):
        raise HrvInputError(
            f"max_missed_beats: expected an integer in 1-10, got {max_missed_beats!r}"
        )


# ---------------------------------------------------------------------------------------------
# centred running order statistics (windows shrink at the ends, like pandas min_periods=1)
# ---------------------------------------------------------------------------------------------


def _order_stat(sorted_or_part: FloatArray, q: float, n: int) -> FloatArray:
    """Linear-interpolated quantile ``q`` of rows of length ``n`` already partitioned/sorted."""
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_or_part[..., lo] + frac * (sorted_or_part[..., hi] - sorted_or_part[..., lo])


def _running_quantiles(a: FloatArray, window: int, qs: tuple[float, ...]) -> list[FloatArray]:
    """Quantiles ``qs`` of ``a`` over the ``window`` values centred on each index.

    Near the ends the window is truncated to the values that exist (``window // 2`` on each side
    at most); quantiles interpolate linearly between order statistics (numpy's default).
    """
    n = a.size
    half = window // 2
    outs = [np.empty(n, dtype=np.float64) for _ in qs]
    if n == 0:
        return outs
    if n > window:
        from scipy import ndimage  # local: scipy.ndimage costs ~0.2 s at `import hrv`

        # full windows: order statistics from scipy's running rank filter (exact); the ends,
        # where the filter would pad, are recomputed below on the truncated windows
        ranks: dict[int, FloatArray] = {}
        for out, q in zip(outs, qs, strict=True):
            pos = q * (window - 1)
            lo = math.floor(pos)
            hi = min(lo + 1, window - 1) if pos > lo else lo  # an exact rank needs one pass
            for k in (lo, hi):
                if k not in ranks:
                    ranks[k] = ndimage.rank_filter(a, rank=k, size=window, mode="nearest")
            out[:] = ranks[lo] + (pos - lo) * (ranks[hi] - ranks[lo])
        edge = list(range(half)) + list(range(n - half, n))
    else:
        edge = list(range(n))
    for i in edge:
        seg = np.sort(a[max(0, i - half) : min(n, i + half + 1)])
        for out, q in zip(outs, qs, strict=True):
            out[i] = _order_stat(seg, q, seg.size)
    return outs


def _quartile_threshold(a: FloatArray, window: int, alpha: float) -> FloatArray:
    """``alpha * QD`` of ``|a|`` over a centred window, QD = (Q3 - Q1) / 2, floored at 1 ms.

    QD is capped at ``_QD_CAP`` times the window's median of ``|a|`` where that median is > 0
    (contamination guard, see the module docstring)."""
    q1, q3, q2 = _running_quantiles(np.abs(a), window, (0.25, 0.75, 0.5))
    qd = np.where(q2 > 0, np.minimum((q3 - q1) / 2.0, _QD_CAP * q2), (q3 - q1) / 2.0)
    th: FloatArray = alpha * qd
    return np.maximum(th, _THRESHOLD_FLOOR_MS)


def _running_median(a: FloatArray, window: int) -> FloatArray:
    return _running_quantiles(a, window, (0.5,))[0]


# ---------------------------------------------------------------------------------------------
# one rebuild of the series: merges, splits, pair averaging, interpolation
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Series:
    """Working state: current intervals and, per interval, the input range it derives from."""

    rr: FloatArray
    gaps: BoolArray
    src_start: IntArray  # first input index (inclusive)
    src_stop: IntArray  # last input index + 1
    corrected: BoolArray


def _rebuild(
    s: _Series,
    *,
    join_next: BoolArray,
    n_split: IntArray,
    interp: BoolArray,
) -> tuple[_Series, BoolArray]:
    """Apply merges (``join_next[k]``: merge k with k+1) and splits into ``n_split[k]`` equal
    parts; return the new series and the ``interp`` marks carried over to its intervals (an
    output interval is marked when any interval it came from was)."""
    m = s.rr.size
    if m == 0:
        return s, interp
    touched = join_next.copy()
    touched[1:] |= join_next[:-1]
    touched |= (n_split > 1) | interp
    starts = np.flatnonzero(np.concatenate(([True], ~join_next[:-1])))
    stops = np.concatenate((starts[1:], [m])) - 1  # last member of each group
    rr = np.add.reduceat(s.rr, starts)
    gaps = s.gaps[starts]
    src_start = s.src_start[starts]
    src_stop = s.src_stop[stops]
    corrected = np.logical_or.reduceat(s.corrected | touched, starts)
    g_interp = np.logical_or.reduceat(interp, starts)
    g_split = np.maximum.reduceat(n_split, starts)
    if (g_split > 1).any():
        rr = np.repeat(rr / g_split, g_split)
        first = np.zeros(rr.size, dtype=np.bool_)
        first[np.concatenate(([0], np.cumsum(g_split)[:-1]))] = True
        gaps = np.repeat(gaps, g_split) & first
        src_start = np.repeat(src_start, g_split)
        src_stop = np.repeat(src_stop, g_split)
        corrected = np.repeat(corrected, g_split)
        g_interp = np.repeat(g_interp, g_split)
    return _Series(rr, gaps, src_start, src_stop, corrected), g_interp


def _interpolate(s: _Series, mask: BoolArray) -> _Series:
    """Replace the intervals in ``mask`` by linear interpolation (over beat index) of the others."""
    keep = ~mask
    if not mask.any() or not keep.any():
        return s
    idx = np.arange(s.rr.size, dtype=np.float64)
    rr = s.rr.copy()
    rr[mask] = np.interp(idx[mask], idx[keep], rr[keep])
    return _Series(rr, s.gaps, s.src_start, s.src_stop, s.corrected | mask)


def _drop(s: _Series, mask: BoolArray) -> _Series:
    """Remove the intervals in ``mask``; the interval after a removed one starts a gap (no
    successive difference is taken across it). The first remaining interval has no gap flag
    (it has no predecessor anyway)."""
    if not mask.any():
        return s
    keep = ~mask
    after_drop = np.concatenate(([False], mask[:-1]))
    gaps = (s.gaps | after_drop)[keep]
    if gaps.size:
        gaps[0] = False
    return _Series(s.rr[keep], gaps, s.src_start[keep], s.src_stop[keep], s.corrected[keep])


def _label_inputs(labels: NDArray[np.int8], s: _Series, k: int, code: np.int8) -> None:
    """Give ``code`` to the still-normal input intervals behind current interval ``k``."""
    seg = labels[s.src_start[k] : s.src_stop[k]]
    seg[seg == _NORMAL] = code


# ---------------------------------------------------------------------------------------------
# stage 1: physiological gate
# ---------------------------------------------------------------------------------------------


def _gate_reference(rr: FloatArray, out: BoolArray, median_window: int) -> FloatArray:
    """Running median of ``rr`` with the out-of-range intervals ``out`` replaced by linear
    interpolation of the in-range ones (at least one must be in range): the local RR."""
    ok = ~out
    idx = np.arange(rr.size, dtype=np.float64)
    filled = rr.copy()
    filled[out] = np.interp(idx[out], idx[ok], rr[ok])
    return _running_median(filled, median_window)


def _gate(
    s: _Series,
    labels: NDArray[np.int8],
    *,
    min_rr_ms: float,
    max_rr_ms: float,
    median_window: int,
    max_parts: int,
) -> _Series:
    low = s.rr < min_rr_ms
    high = s.rr > max_rr_ms
    out = low | high
    if not out.any():
        return s
    if out.all():  # nothing plausible to anchor on: every interval is an artefact
        for k in range(s.rr.size):
            _label_inputs(labels, s, k, _SHORT if low[k] else _LONG)
        return _Series(
            np.empty(0),
            np.empty(0, dtype=np.bool_),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.bool_),
        )
    ref = _gate_reference(s.rr, out, median_window)
    # Far too long (more than ``max_parts`` local RR, a pause or a corrupt value such as 1e12):
    # a gap, removed before anything else, so that no value can make the series grow.
    ratio = np.zeros(s.rr.size)
    ratio[high] = s.rr[high] / ref[high]  # ref is in range, so this is finite
    far = high & (ratio >= max_parts + 0.5)
    if far.any():
        for k in np.flatnonzero(far).tolist():
            _label_inputs(labels, s, k, _GAP)
        s = _drop(s, far)
        low, high = low[~far], high[~far]
        out = low | high
        if not out.any():
            return s
        ref = _gate_reference(s.rr, out, median_window)
    rr = s.rr
    m = rr.size
    vals: list[float] = rr.tolist()  # Python floats: sums of extreme values overflow quietly

    join_next = np.zeros(m, dtype=np.bool_)
    n_split = np.ones(m, dtype=np.int64)
    interp = np.zeros(m, dtype=np.bool_)
    for k in np.flatnonzero(low).tolist():
        if k > 0 and join_next[k - 1]:
            continue  # already merged into its left neighbour (a run of short intervals)
        left_ok = k > 0 and not s.gaps[k]
        right_ok = k + 1 < m and not s.gaps[k + 1]
        r = float(ref[k])
        err_left = abs(vals[k] + vals[k - 1] - r) if left_ok else math.inf
        err_right = abs(vals[k] + vals[k + 1] - r) if right_ok else math.inf
        if min(err_left, err_right) >= abs(vals[k] - r):  # merging would not help
            interp[k] = True
            _label_inputs(labels, s, k, _SHORT)
            continue
        j = k - 1 if err_left <= err_right else k
        join_next[j] = True
        _label_inputs(labels, s, j, _EXTRA)
        _label_inputs(labels, s, j + 1, _EXTRA)
    for k in np.flatnonzero(high).tolist():
        n = round(vals[k] / float(ref[k]))  # <= max_parts: the far ones are gone
        if n >= 2:
            n_split[k] = n
            _label_inputs(labels, s, k, _MISSED)
        else:
            interp[k] = True
            _label_inputs(labels, s, k, _LONG)
    s2, g_interp = _rebuild(s, join_next=join_next, n_split=n_split, interp=interp)
    # A merge can leave an interval still out of range (several short ones in a row, or a
    # short one merged into a long one): interpolate those too.
    still_low = s2.rr < min_rr_ms
    still_high = s2.rr > max_rr_ms
    for k in np.flatnonzero(still_low | still_high).tolist():
        _label_inputs(labels, s2, k, _SHORT if still_low[k] else _LONG)
    return _interpolate(s2, g_interp | still_low | still_high)


# ---------------------------------------------------------------------------------------------
# stage 2: Lipponen & Tarvainen (2019)
# ---------------------------------------------------------------------------------------------


def _classify(
    rr: FloatArray,
    gaps: BoolArray,
    *,
    c1: float,
    c2: float,
    alpha: float,
    qd_window: int,
    median_window: int,
    max_parts: int,
) -> tuple[NDArray[np.int8], IntArray, FloatArray]:
    """Label every interval of ``rr`` (codes of :class:`BeatLabel`) and, for missed beats, the
    number of parts to split into (1 elsewhere); also return the running median med11."""
    m = rr.size
    codes = np.zeros(m, dtype=np.int8)
    n_parts = np.ones(m, dtype=np.int64)
    if m < 3:
        return codes, n_parts, rr.copy()
    drr = np.empty(m)
    drr[0] = 0.0
    drr[1:] = np.diff(rr)
    drr[gaps] = 0.0  # no difference across a gap (and none before the first beat)
    th1 = _quartile_threshold(drr, qd_window, alpha)
    d = drr / th1

    med = _running_median(rr, median_window)
    mrr = rr - med
    mrr[mrr < 0] *= 2.0
    th2 = _quartile_threshold(mrr, qd_window, alpha)
    mn = mrr / th2

    pad = np.concatenate(([0.0], d, [0.0, 0.0]))  # neighbours beyond the ends count as 0
    prev_d, next_d, next2_d = pad[:-3], pad[2:-1], pad[3:]
    s12 = np.where(
        d > 0,
        np.maximum(prev_d, next_d),
        np.where(d < 0, np.minimum(prev_d, next_d), 0.0),
    )
    s22 = np.where(d >= 0, np.minimum(next_d, next2_d), np.maximum(next_d, next2_d))

    ectopic = ((d > 1) & (s12 < -c1 * d - c2)) | ((d < -1) & (s12 > -c1 * d + c2))
    eq3 = (d > 1) & (s22 < -1)
    eq5 = (d < -1) & (s22 > 1)
    eq4 = np.abs(mn) > 3
    is_long = ~ectopic & (eq3 | (eq4 & (mn > 0) & ~eq5))
    is_short = ~ectopic & ~is_long & (eq5 | (eq4 & (mn < 0)))

    # parts of a missed beat's split, capped (no value can make the series grow unboundedly):
    # an interval that hides more than max_parts - 1 beats stays "long" and is interpolated
    n = np.maximum(2, np.rint(np.minimum(rr / med, max_parts + 1))).astype(np.int64)
    missed = is_long & (n <= max_parts) & (np.abs(rr / n - med) < th2)
    nxt = np.concatenate((rr[1:], [np.inf]))
    nxt[np.concatenate((gaps[1:], [True]))] = np.inf  # never merge across a gap
    extra = is_short & (np.abs(rr + nxt - med) < th2)

    codes[is_long] = _LONG
    codes[is_short] = _SHORT
    codes[missed] = _MISSED
    codes[extra] = _EXTRA
    codes[ectopic] = _ECTOPIC
    n_parts[missed] = n[missed]
    return codes, n_parts, med


def _ectopic_pairs(rr: FloatArray, gaps: BoolArray, med: FloatArray, centres: IntArray) -> IntArray:
    """Choose which ectopic pairs ``(j, j + 1)`` to average: the first index ``j`` of each.

    Ectopic centre ``k`` proposes the pair ``(k - 1, k)`` (no gap between them). Moving the R
    peak between the two to their midpoint helps only when one interval is shorter and the other
    longer than the local median ``med[k]`` by comparable amounts (the smaller deviation at
    least a third of the larger for short-then-long, two thirds for long-then-short); its gain
    is how much closer to the median the two get,
    ``|a - med| + |b - med| - 2 |(a + b)/2 - med|``. Overlapping proposals (a run of ectopic
    beats: bigeminy) are resolved by the set of disjoint pairs of largest total gain (a weighted
    matching on a path, by dynamic programming over each run of adjacent proposals), so that
    every premature-compensatory couplet of a run is paired, not every other one.
    """
    ok = centres[(centres > 0) & ~gaps[np.maximum(centres, 1)]]
    j = np.unique(ok - 1)
    if j.size == 0:
        return j
    ref = med[j + 1]
    da, db = rr[j] - ref, rr[j + 1] - ref
    gain = np.abs(da) + np.abs(db) - np.abs(da + db)
    # a moved peak shortens one interval and lengthens the other by about as much: both on one
    # side of the median, or one deviation under a third of the other, is something else
    # (long then short, a late R peak, is an artefact of detection; short then long, a premature
    # beat and its pause, is physiology and far more common: the first must balance closer)
    lo, hi = np.minimum(np.abs(da), np.abs(db)), np.maximum(np.abs(da), np.abs(db))
    balance = np.where(da < 0, 1.0 / 3.0, 2.0 / 3.0)
    gain[(da * db >= 0) | (lo < balance * hi)] = 0.0
    chosen: list[int] = []
    js, gs = j.tolist(), gain.tolist()
    start = 0
    while start < len(js):
        stop = start + 1
        while stop < len(js) and js[stop] == js[stop - 1] + 1:
            stop += 1
        # run js[start:stop] of overlapping pairs: best[i] = best total of the first i pairs
        best = [0.0, max(gs[start], 0.0)]
        for i in range(start + 1, stop):
            best.append(max(best[-1], best[-2] + gs[i]))
        i = stop - start
        while i > 0:  # trace back
            if (
                gs[start + i - 1] > 0
                and best[i] == (best[i - 2] if i >= 2 else 0.0) + gs[start + i - 1]
            ):
                chosen.append(js[start + i - 1])
                i -= 2
            else:
                i -= 1
        start = stop
    return np.asarray(sorted(chosen), dtype=np.int64)


def _correct(
    s: _Series,
    codes: NDArray[np.int8],
    n_parts: IntArray,
    med: FloatArray,
    labels: NDArray[np.int8],
) -> _Series:
    """Correct the flagged intervals of ``s`` and label the input intervals behind them."""
    m = s.rr.size
    rr = s.rr.copy()
    claimed = np.zeros(m, dtype=np.bool_)
    join_next = np.zeros(m, dtype=np.bool_)
    n_split = np.ones(m, dtype=np.int64)
    interp = np.zeros(m, dtype=np.bool_)
    averaged = np.zeros(m, dtype=np.bool_)
    flagged = np.flatnonzero(codes)
    # Priority as in the paper's flow: ectopic decisions first, then the long/short family.
    ectopic = flagged[codes[flagged] == _ECTOPIC]
    for j in _ectopic_pairs(s.rr, s.gaps, med, ectopic).tolist():
        mean = 0.5 * (rr[j] + rr[j + 1])
        rr[j] = rr[j + 1] = mean
        claimed[j] = claimed[j + 1] = averaged[j] = averaged[j + 1] = True
        _label_inputs(labels, s, j, _ECTOPIC)
        _label_inputs(labels, s, j + 1, _ECTOPIC)
    order = np.concatenate((ectopic, flagged[codes[flagged] != _ECTOPIC]))
    for k in order.tolist():
        code = codes[k]
        if claimed[k]:
            continue
        if code == _ECTOPIC:
            if k > 0 and averaged[k - 1] and not s.gaps[k]:
                continue  # its partner is in a chosen pair: the centre is resolved
            # no pair helps (not a balanced short-long couplet): interpolate it, and its
            # partner too when that one is further from the local median
            claimed[k] = interp[k] = True
            _label_inputs(labels, s, k, _ECTOPIC)
            if (
                k > 0
                and not s.gaps[k]
                and not claimed[k - 1]
                and abs(rr[k - 1] - med[k]) > abs(rr[k] - med[k])
            ):
                claimed[k - 1] = interp[k - 1] = True
                _label_inputs(labels, s, k - 1, _ECTOPIC)
        elif code == _EXTRA and k + 1 < m and not claimed[k + 1]:
            join_next[k] = True
            claimed[k] = claimed[k + 1] = True
            _label_inputs(labels, s, k, _EXTRA)
            _label_inputs(labels, s, k + 1, _EXTRA)
        elif code == _MISSED:
            n_split[k] = n_parts[k]
            claimed[k] = True
            _label_inputs(labels, s, k, _MISSED)
        else:  # long, short, or an extra whose partner is taken
            claimed[k] = interp[k] = True
            _label_inputs(labels, s, k, _LONG if code == _LONG else _SHORT)
    base = _Series(rr, s.gaps, s.src_start, s.src_stop, s.corrected | averaged)
    s2, g_interp = _rebuild(base, join_next=join_next, n_split=n_split, interp=interp)
    return _interpolate(s2, g_interp)


def clean(
    rr_ms: Any,
    *,
    gaps: Any = None,
    min_rr_ms: float = 300.0,
    max_rr_ms: float = 2000.0,
    c1: float = 0.13,
    c2: float = 0.17,
    alpha: float = 5.2,
    qd_window: int = 91,
    median_window: int = 11,
    max_iterations: int = 1,
    max_missed_beats: int = 3,
) -> Cleaned:
    """Detect and correct artefacts (ectopic, long, short, missed, extra beats) in an RR series.

    A physiological gate first handles intervals outside ``[min_rr_ms, max_rr_ms]``, then the
    beat classification of Lipponen & Tarvainen (2019) runs on the gated series and the
    flagged beats are corrected. The full rules, the corrections and the label conventions are
    in the docstring of the module ``hrv/clean.py``.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds, 1-D, finite. Values <= 0 (a duplicated beat time, as some
        devices emit) and absurdly large ones (up to the largest finite float) are accepted and
        labelled by the gate, not rejected.
    gaps : array_like of bool, optional
        ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1`` (dropped packet): no
        difference is taken and no intervals are merged across a gap. ``None``: no gaps.
    min_rr_ms, max_rr_ms : float
        Physiological gate, default 300 and 2000 ms (200 and 30 bpm); ``max_rr_ms`` at most
        60,000 ms.
    c1, c2 : float
        Slope and intercept of the ectopic decision boundary in the (S11, S12) plane, default
        0.13 and 0.17 (Lipponen & Tarvainen 2019).
    alpha : float
        Threshold multiplier of the quartile deviation, default 5.2.
    qd_window : int
        Odd number of beats of the centred quartile-deviation window, default 91.
    median_window : int
        Odd number of beats of the centred running median (mRR and the gate), default 11.
    max_iterations : int
        At most this many detection/correction passes of the Lipponen-Tarvainen stage,
        default 1 (the paper's single pass); 0 applies the gate only. After the first pass, a
        pass is applied only when it flags fewer beats than the previous one (NeuroKit2's
        iterative rule).
    max_missed_beats : int
        A too-long interval is split into missed beats only when it hides at most this many
        (1-10, default 3); a longer one is a gap (removed, ``gaps`` set on the next interval).

    Returns
    -------
    Cleaned
        Corrected ``rr_ms`` with its ``gaps`` and ``source_index``, one label per input interval
        (``labels``, codes of :class:`BeatLabel`), ``quality`` = fraction of input intervals
        labelled normal (``None`` for an empty input), ``n_beats``, ``gated``.

    Raises
    ------
    HrvInputError
        ``rr_ms`` not 1-D, not numeric (strings, bool, object), NaN or infinite, or in the wrong
        units (median of the positive values below 100 ms, i.e. seconds, or above 10 s);
        ``gaps`` of the wrong shape or dtype; an option out of range.

    References
    ----------
    Lipponen J.A., Tarvainen M.P. (2019). A robust algorithm for heart rate variability time
    series artefact correction using novel beat classification. J Med Eng Technol 43(3),
    173-181. doi:10.1080/03091902.2019.1640306
    Tarvainen M.P. et al. (2014). Kubios HRV - heart rate variability analysis software.
    Comput Methods Programs Biomed 113(1), 210-220.
    """
    _check_options(
        min_rr_ms=min_rr_ms,
        max_rr_ms=max_rr_ms,
        c1=c1,
        c2=c2,
        alpha=alpha,
        qd_window=qd_window,
        median_window=median_window,
        max_iterations=max_iterations,
        max_missed_beats=max_missed_beats,
    )
    max_parts = max_missed_beats + 1
    raw = _as_raw_rr_ms(rr_ms)
    n = raw.size
    gap_in = as_gaps(gaps, n).copy()
    if n:
        gap_in[0] = False
    labels = np.zeros(n, dtype=np.int8)
    gated = (raw < min_rr_ms) | (raw > max_rr_ms)
    idx = np.arange(n, dtype=np.int64)
    s = _Series(raw, gap_in, idx, idx + 1, np.zeros(n, dtype=np.bool_))
    s = _gate(
        s,
        labels,
        min_rr_ms=min_rr_ms,
        max_rr_ms=max_rr_ms,
        median_window=median_window,
        max_parts=max_parts,
    )

    iterations = 0
    previous = math.inf
    while iterations < max_iterations and s.rr.size >= _MIN_BEATS_TO_CLASSIFY:
        codes, n_parts, med = _classify(
            s.rr,
            s.gaps,
            c1=c1,
            c2=c2,
            alpha=alpha,
            qd_window=qd_window,
            median_window=median_window,
            max_parts=max_parts,
        )
        flagged = int(np.count_nonzero(codes))
        if flagged == 0 or flagged >= previous:
            break
        s = _correct(s, codes, n_parts, med, labels)
        iterations += 1
        previous = flagged

    for arr in (s.rr, s.gaps, s.src_start, s.corrected, labels, gated):
        arr.setflags(write=False)
    quality = float(np.count_nonzero(labels == _NORMAL) / n) if n else None
    return Cleaned(
        rr_ms=s.rr,
        gaps=s.gaps,
        source_index=s.src_start,
        corrected=s.corrected,
        labels=labels,
        gated=gated,
        quality=quality,
        n_beats=n,
        n_iterations=iterations,
    )
