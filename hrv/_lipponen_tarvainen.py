"""Stage 2 of :func:`hrv.clean`: Lipponen & Tarvainen (2019) beat classification and correction.

Classifies the beats and corrects the flagged ones (private; the rules and their sources are
in :mod:`hrv.clean`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hrv._beat_series import (
    ECTOPIC,
    EXTRA,
    LONG,
    MISSED,
    SHORT,
    BeatSeries,
    interpolate,
    label_inputs,
    rebuild,
)
from hrv._running_stats import quartile_threshold, running_median

__all__ = ["classify", "correct", "ectopic_pairs"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def classify(
    rr: FloatArray,
    gaps: BoolArray,
    *,
    c1: float,
    c2: float,
    alpha: float,
    qd_window: int,
    median_window: int,
    max_parts: int,
    long_min_mrr: float = -np.inf,
) -> tuple[NDArray[np.int8], IntArray, FloatArray]:
    """Label every interval of ``rr`` (codes of :class:`BeatLabel`).

    For missed beats, also give the number of parts to split into (1 elsewhere); the running
    median med11 is returned as well. ``long_min_mrr``: the paper's long-beat pattern
    (``S21 > 1 and S22 < -1``) labels a beat long only when its normalised ``mRR`` is above
    this (the default, no bound, is the paper's rule).
    """
    m = rr.size
    codes = np.zeros(m, dtype=np.int8)
    n_parts = np.ones(m, dtype=np.int64)
    if m < 3:
        return codes, n_parts, rr.copy()
    drr = np.empty(m)
    drr[0] = 0.0
    drr[1:] = np.diff(rr)
    drr[gaps] = 0.0  # no difference across a gap (and none before the first beat)
    th1 = quartile_threshold(drr, qd_window, alpha)
    d = drr / th1

    med = running_median(rr, median_window)
    mrr = rr - med
    mrr[mrr < 0] *= 2.0
    th2 = quartile_threshold(mrr, qd_window, alpha)
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
    eq3 = (d > 1) & (s22 < -1) & (mn > long_min_mrr)
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

    codes[is_long] = LONG
    codes[is_short] = SHORT
    codes[missed] = MISSED
    codes[extra] = EXTRA
    codes[ectopic] = ECTOPIC
    n_parts[missed] = n[missed]
    return codes, n_parts, med


def ectopic_pairs(rr: FloatArray, gaps: BoolArray, med: FloatArray, centres: IntArray) -> IntArray:
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


def correct(
    s: BeatSeries,
    codes: NDArray[np.int8],
    n_parts: IntArray,
    med: FloatArray,
    labels: NDArray[np.int8],
) -> BeatSeries:
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
    ectopic = flagged[codes[flagged] == ECTOPIC]
    for j in ectopic_pairs(s.rr, s.gaps, med, ectopic).tolist():
        mean = 0.5 * (rr[j] + rr[j + 1])
        rr[j] = rr[j + 1] = mean
        claimed[j] = claimed[j + 1] = averaged[j] = averaged[j + 1] = True
        label_inputs(labels, s, j, ECTOPIC)
        label_inputs(labels, s, j + 1, ECTOPIC)
    order = np.concatenate((ectopic, flagged[codes[flagged] != ECTOPIC]))
    for k in order.tolist():
        code = codes[k]
        if claimed[k]:
            continue
        if code == ECTOPIC:
            if k > 0 and averaged[k - 1] and not s.gaps[k]:
                continue  # its partner is in a chosen pair: the centre is resolved
            # no pair helps (not a balanced short-long couplet): interpolate it, and its
            # partner too when that one is further from the local median
            claimed[k] = interp[k] = True
            label_inputs(labels, s, k, ECTOPIC)
            if (
                k > 0
                and not s.gaps[k]
                and not claimed[k - 1]
                and abs(rr[k - 1] - med[k]) > abs(rr[k] - med[k])
            ):
                claimed[k - 1] = interp[k - 1] = True
                label_inputs(labels, s, k - 1, ECTOPIC)
        elif code == EXTRA and k + 1 < m and not claimed[k + 1]:
            join_next[k] = True
            claimed[k] = claimed[k + 1] = True
            label_inputs(labels, s, k, EXTRA)
            label_inputs(labels, s, k + 1, EXTRA)
        elif code == MISSED:
            n_split[k] = n_parts[k]
            claimed[k] = True
            label_inputs(labels, s, k, MISSED)
        else:  # long, short, or an extra whose partner is taken
            claimed[k] = interp[k] = True
            label_inputs(labels, s, k, LONG if code == LONG else SHORT)
    base = BeatSeries(rr, s.gaps, s.src_start, s.src_stop, s.corrected | averaged)
    s2, g_interp = rebuild(base, join_next=join_next, n_split=n_split, interp=interp)
    return interpolate(s2, g_interp)
