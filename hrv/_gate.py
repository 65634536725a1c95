"""Stage 1 of :func:`hrv.clean`: the physiological gate (private; rules in :mod:`hrv.clean`).

Intervals outside ``[min_rr_ms, max_rr_ms]`` cannot be heartbeats: too short ones are merged
with a neighbour (extra) or interpolated (short), too long ones split into missed beats,
interpolated (long) or removed as a gap, judged against the local running median of the
in-range intervals.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hrv._beat_series import (
    EXTRA,
    GAP,
    LONG,
    MISSED,
    SHORT,
    BeatSeries,
    drop,
    interpolate,
    label_inputs,
    rebuild,
)
from hrv._running_stats import running_median

__all__ = ["gate", "gate_reference"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def gate_reference(rr: FloatArray, out: BoolArray, median_window: int) -> FloatArray:
    """The local RR: a running median of ``rr`` with out-of-range intervals interpolated.

    The out-of-range intervals ``out`` are replaced by linear interpolation of the in-range
    ones (at least one must be in range) before the running median is taken.
    """
    ok = ~out
    idx = np.arange(rr.size, dtype=np.float64)
    filled = rr.copy()
    filled[out] = np.interp(idx[out], idx[ok], rr[ok])
    return running_median(filled, median_window)


def gate(
    s: BeatSeries,
    labels: NDArray[np.int8],
    *,
    min_rr_ms: float,
    max_rr_ms: float,
    median_window: int,
    max_parts: int,
) -> BeatSeries:
    low = s.rr < min_rr_ms
    high = s.rr > max_rr_ms
    out = low | high
    if not out.any():
        return s
    if out.all():  # nothing plausible to anchor on: every interval is an artefact
        for k in range(s.rr.size):
            label_inputs(labels, s, k, SHORT if low[k] else LONG)
        return BeatSeries(
            np.empty(0),
            np.empty(0, dtype=np.bool_),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.bool_),
        )
    ref = gate_reference(s.rr, out, median_window)
    # Far too long (more than ``max_parts`` local RR, a pause or a corrupt value such as 1e12):
    # a gap, removed before anything else, so that no value can make the series grow.
    ratio = np.zeros(s.rr.size)
    ratio[high] = s.rr[high] / ref[high]  # ref is in range, so this is finite
    far = high & (ratio >= max_parts + 0.5)
    if far.any():
        for k in np.flatnonzero(far).tolist():
            label_inputs(labels, s, k, GAP)
        s = drop(s, far)
        low, high = low[~far], high[~far]
        out = low | high
        if not out.any():
            return s
        ref = gate_reference(s.rr, out, median_window)
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
            label_inputs(labels, s, k, SHORT)
            continue
        j = k - 1 if err_left <= err_right else k
        join_next[j] = True
        label_inputs(labels, s, j, EXTRA)
        label_inputs(labels, s, j + 1, EXTRA)
    for k in np.flatnonzero(high).tolist():
        n = round(vals[k] / float(ref[k]))  # <= max_parts: the far ones are gone
        if n >= 2:
            n_split[k] = n
            label_inputs(labels, s, k, MISSED)
        else:
            interp[k] = True
            label_inputs(labels, s, k, LONG)
    s2, g_interp = rebuild(s, join_next=join_next, n_split=n_split, interp=interp)
    # A merge can leave an interval still out of range (several short ones in a row, or a
    # short one merged into a long one): interpolate those too.
    still_low = s2.rr < min_rr_ms
    still_high = s2.rr > max_rr_ms
    for k in np.flatnonzero(still_low | still_high).tolist():
        label_inputs(labels, s2, k, SHORT if still_low[k] else LONG)
    return interpolate(s2, g_interp | still_low | still_high)
