"""Artefact detection and correction of RR series (Lipponen & Tarvainen 2019, as Kubios).

:func:`clean` takes raw RR intervals from a strap or a recording and returns a
:class:`Cleaned`: the corrected series, one label per *input* beat, and a quality figure.
The rules below are implemented in private modules, one per job: ``hrv._gate`` (stage 1),
``hrv._lipponen_tarvainen`` (stage 2: classification and correction), ``hrv._beat_series``
(label codes, the working series and its rebuilds) and ``hrv._running_stats`` (the centred
running quantiles and thresholds).

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
``Cleaned.source_index`` maps each output interval back to its first input interval,
``Cleaned.end_index`` to the input interval whose recorded R peak it ends at (-1 for a peak the
correction inserted).

Validation against truth, and why NeuroKit2 differs
---------------------------------------------------

MIT-BIH Arrhythmia Database, all 48 records (Moody & Mark 2001; Goldberger et al. 2000; 30 min
each, cardiologists' beat labels; tests/data/mitdb_beats.csv.gz). Truth: an interval is
artefactual unless both its beats are normal (N, or L/R: sinus beats through a bundle branch
block); the NN RMSSD takes successive differences only between consecutive NN intervals. Pooled
over the 25 sinus records with < 10 % ectopic beats (found = ectopic beats next to a flagged
interval; RMSSD error = median / worst over the records):

=====================================  ===========  ======  =====  ==============
method                                 found        FP / h  F1     RMSSD error
=====================================  ===========  ======  =====  ==============
hrvpace ``clean``                      766 / 939    54.6    0.726  5.8 % / 61 %
NeuroKit2 kubios, ``iterative=False``  695 / 939    42.0    0.710  8.8 % / 317 %
NeuroKit2 kubios, ``iterative=True``   -            -       -      8.1 % / 199 %
=====================================  ===========  ======  =====  ==============

Record 100 (33 atrial, 1 ventricular premature beat): hrvpace 34 / 34 found, F1 0.932, RMSSD
27.45 ms against the NN 27.48 ms (-0.1 %); NeuroKit2 34 / 34, F1 0.925, +31 % (``iterative=True``
+17 %). hrvpace is far closer where isolated premature beats are many (116: -3.8 % against
+317 %) but worse than NeuroKit2 on 14 of the 25 records: with almost no ectopic beats it flags
more normal intervals and lowers RMSSD by up to 10 % (NeuroKit2 by about 5 %), and it splits
pauses between two normal beats (non-conducted P waves, 2:1 AV block), which the truth counts as
NN, as missed beats (118: -61 %). With ectopic beats in runs (10 records, >= 10 % ectopic:
bigeminy, trigeminy) both fail, since the ectopic beats set the local quartiles: median error
+320 % (NeuroKit2 +573 %, raw +641 %); :func:`hrv.ectopy_check` (``hrv/ectopy.py``) flags a
corrected series where that happened. Atrial fibrillation (7 records): median 19 % (NeuroKit2
25 % / 16 %). Per record, groups and reasons: docs/mitdb_validation.md
(``python -m tests.hrv.test_clean_mitdb``).

On premature beats both classify alike (same beats, same F1 on record 100); the corrections
differ. In NeuroKit2 0.3 (``signal_fixpeaks``, ``_correct_artifacts``), every flagged index,
"ectopic" and "longshort" alike, is a *peak* moved to the midpoint of its uncorrected neighbours
(``_correct_misaligned``), all at once. For an atrial premature beat ``b`` it flags the premature
peak ``b`` (as long/short, 32 of 34 on record 100) *and* the normal peak ``b+1`` that ends the
compensatory pause (as ectopic, 34 of 34), and moves both: the normal peak leaves its true place
and the two intervals after it keep a residual of about half the prematurity (45 of the 79 peaks
it moves on record 100 are normal beats). hrvpace moves only the premature peak (the one between
the short and the long interval), which restores the two NN intervals when the pause is
compensatory; long/short beats it interpolates as Kubios does instead of moving a peak. Its
``iterative=True`` default repeats that on the corrected series and returns the flags of the
last pass only.

Injected artefacts (tests/hrv/test_clean_injected.py): premature beats 15-40 % early with and
without compensatory pause, interpolated beats, bigeminy runs of 2-4 couplets, missed and extra
beats, at random positions in raw real recordings (one event per 100 beats; beats flagged before
injection not scored, nor the few a harmless swap of two intervals at the same positions already
flips to flagged: the running thresholds move with any change of their 91-beat window, so beats
at the threshold flip with or without an artefact): F1 0.979-0.989 over all shapes, corrected
RMSSD within 4.9 % of the uninjected recording's. Per shape the F1 is >= 0.95 except
non-compensatory premature beats (0.940-0.941 on two of three recordings): a beat 15-20 % early
whose next interval is also shorter than the one before it leaves a rebound under Th1, so the
paper's short rule does not fire, and the paper's long-beat pattern labels normal intervals
one or two beats before the premature drop or a few beats away (a supplementary short-beat
rule was judged twice on annotated ECG and not adopted: more false positives; bounding the
long-beat pattern by mRR reached 0.951-0.958 within the bounds on annotated ECG but departs
from the paper and was not adopted either; see docs/noncomp_short_beat_protocol.md); on a
quiet 128-Hz Holter hour whose beats the method already flags at 7 % without injection, F1
drops to 0.88-0.99 (README).

Choices, deviations and limits
------------------------------
- ``|mRR| > 3`` flags a beat as long/short on its own, as the paper's decision rule reads.
  NeuroKit2 (0.2.x) tests it only for beats whose ``|dRR| > Th1``, so it flags slightly fewer
  beats; on the real recordings in ``../shared/data`` the two agree on >= 90 % of NeuroKit2's
  flags and >= 85 % of ours lie on or next to one of NeuroKit2's. Both readings measured
  against the cardiologists' labels of the 48 MIT-BIH records (``python -m
  bench.clean_gate_reading``; docs/mitdb_validation.md): NeuroKit2's gate removes 0.2 false
  positives per hour on the 35 sinus records but raises their median RMSSD error (8.38 ->
  8.44 %) and misses premature beats inside runs, where dRR is small and mRR large (record 220:
  +55 -> +89 %), so the stand-alone rule stays.
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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._beat_series import GAP, LABEL_NAMES, NORMAL, BeatLabel, BeatSeries
from hrv._gate import gate
from hrv._lipponen_tarvainen import classify, correct
from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError

__all__ = ["LABEL_NAMES", "BeatLabel", "Cleaned", "clean", "corrected_pct"]


#: Largest accepted ``max_rr_ms`` option (ms): no RR interval lasts a minute.
_MAX_GATE_MS = 60_000.0
#: Below this many intervals the classification is skipped (quartiles of a handful of beats
#: are meaningless); the gate still applies.
_MIN_BEATS_TO_CLASSIFY = 20

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
    end_index : numpy.ndarray of int64, shape (M,)
        Index of the input interval whose end (the recorded R peak) output interval ``k`` ends
        at: the last input interval it derives from (an unchanged, moved or interpolated beat
        ends at its own recorded beat, a merged one at the last of those merged); -1 where the
        correction inserted that R peak (every part of a split interval but the last, also one
        merged with the interval before it).
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
    end_index: IntArray
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
    s = BeatSeries(raw, gap_in, idx, idx + 1, np.zeros(n, dtype=np.bool_))
    s = gate(
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
        codes, n_parts, med = classify(
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
        s = correct(s, codes, n_parts, med, labels)
        iterations += 1
        previous = flagged

    # Output k ends at the recorded end of its last input interval unless the next output
    # still derives from that input range: then k ends inside it, at a peak the correction
    # inserted (a split interval's parts but the last, also when its first part was merged
    # into the interval before, which gives it an earlier src_start than the parts after it).
    end_index = s.src_stop - 1
    end_index[:-1][s.src_start[1:] < s.src_stop[:-1]] = -1
    for arr in (s.rr, s.gaps, s.src_start, end_index, s.corrected, labels, gated):
        arr.setflags(write=False)
    quality = float(np.count_nonzero(labels == NORMAL) / n) if n else None
    return Cleaned(
        rr_ms=s.rr,
        gaps=s.gaps,
        source_index=s.src_start,
        end_index=end_index,
        corrected=s.corrected,
        labels=labels,
        gated=gated,
        quality=quality,
        n_beats=n,
        n_iterations=iterations,
    )


def corrected_pct(labels: Any) -> float | None:
    """Share of the input intervals the correction changed, in %; removed gaps not counted.

    The one definition of the corrected share: the ``corrected_pct`` of ``hrvpace analyze``'s
    summary and the 20 % rule of :func:`hrv.ectopy_check` both use it. An interval counts as
    changed when :func:`clean` labelled it anything but normal and not a gap (it was merged,
    split, moved or interpolated: its value is partly the correction's). An interval removed
    as a gap is left out of both counts: nothing was made up for it, and a recording with
    many dropouts is not thereby "mostly corrected".

    Parameters
    ----------
    labels : array_like of int
        One label per input interval, :attr:`Cleaned.labels` (see :class:`BeatLabel`).

    Returns
    -------
    float or None
        ``100 * changed / (intervals - gaps)``; ``None`` when no interval is left once the
        gaps are left out (an empty input, or every interval a gap).

    Raises
    ------
    HrvInputError
        ``labels`` not 1-D.

    References
    ----------
    Lipponen J.A., Tarvainen M.P. (2019). A robust algorithm for heart rate variability time
    series artefact correction using novel beat classification. J Med Eng Technol 43(3),
    173-181 (the corrections counted here).

    Examples
    --------
    >>> corrected_pct([0, 1, 1, 6])  # two ectopic of three, the gap left out
    66.66666666666667
    >>> corrected_pct([6, 6]) is None
    True
    """
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise HrvInputError(f"labels: expected a 1-D array, got shape {lab.shape}")
    counted = int(np.count_nonzero(lab != GAP))
    if not counted:
        return None
    changed = int(np.count_nonzero((lab != NORMAL) & (lab != GAP)))
    return 100.0 * changed / counted
