"""Every HRV metric on every window of a whole recording, without a Python loop over windows.

:func:`rolling` evaluates the windows of ``docs/ARCHITECTURE.md`` ("Windows"): beat ``i`` happens
at ``t_s[i] = cumsum(rr_ms)[i] / 1000``; the window ending at ``t_end`` holds the beats with
``t_end - window_s < t_s <= t_end``; ``t_end = window_s + k * step_s`` for ``k = 0, 1, ...``
while ``t_end <= t_s[-1]``. Each window's metrics are, up to rounding (about 1e-11 relative on
real 24-hour recordings, tested to 1e-9), exactly the single-window functions applied to that
slice: :func:`hrv.time_domain`, :func:`hrv.dfa_alpha1`, :func:`hrv.stress_index` and the
spectral functions of ``hrv.frequency`` / ``hrv.coherence``.

How it stays fast:

- time domain (``hrv._rolling_time``): every window sum (RR, RR squared, 60000/RR, successive
  differences, their squares, the ``|d| > 50 ms`` count) is a difference of a running sum taken
  at the window's two ends. Recorded RR lie on a grid of ``2**-k`` ms (a strap's 1/1024 s,
  PhysioNet's 1/128 s, whole ms): there they are int64 and the sums exact, variance numerators
  included; off the grid, float sums over the segments between window boundaries
  (``np.add.reduceat``) with RR centred on a typical RR (Chan, Golub & LeVeque 1983).
  Either way a window whose RR (or kept differences) are all equal gets exactly 0 like the
  direct formula;
- DFA alpha1: the residual sum of squares of every box of every size (4-16 beats) at every
  start position is one small matrix product of the RR increments (a box's residual after a
  linear fit does not depend on the window it belongs to), and each window adds up the boxes
  it uses with per-residue prefix sums; with gaps a window's boxes are laid from the start of
  each run between the gaps inside it (:func:`hrv.dfa_alpha1` with gaps: no box spans a gap),
  the runs wholly inside a window summed once with running sums over the runs;
- stress index: per-segment histograms of 50-ms bins with cumulative counts, and range
  minimum/maximum queries over segments (sparse table) for MxDMn;
- frequency domain and coherence: :func:`hrv.coherence.spectral_windows` (one resampling
  of the whole recording per group, every Welch segment / coherence slot of every window in
  batched FFTs). Welch needs >= 128 s of data inside the spline's 20-beat margins, so on shorter
  windows (e.g. the live 60 s, anything under ~165 s at 70 bpm) the ``"frequency"`` columns
  are NaN; coherence uses the last 64 s of each window. Windows that
  hold a gap follow ``hrv.frequency``'s gap policy.

Output columns (a ``dict`` of 1-D numpy arrays, one value per window, in window order):
``t_s`` (window end, s), ``n_beats`` (int64), then per requested group:

- ``"time"``: every :class:`hrv.TimeDomain` field (``mean_rr_ms``, ``sdnn_ms``, ...);
- ``"frequency"``: every ``FrequencyDomain`` field of ``hrv.frequency``;
- ``"coherence"``: ``coherence_ratio``, ``coherence_peak_hz``, ``coherence_score``;
- ``"nonlinear"``: ``dfa_alpha1`` and ``stress_index`` (Baevsky's SI, ``StressIndex.value``).

A metric that is ``None`` for a window (too few beats) is NaN in its column. Columns of groups
that were not requested are absent.

Threads: with ``parallel=True`` (the default) the requested groups run at the same time in the
calling thread and a small pool of long-lived threads this module starts on first use (no I/O,
no clock, no event loop: the module stays pure). The groups share only read-only inputs; the
scratch memory the batched code reuses between calls is per thread (``threading.local`` in
``hrv._windows`` and ``hrv._spectral``), and the time group, the only user of the calling
thread's ``scratch_rows`` block after the beat timeline is built, is the only one that touches
it while the groups run. Several threads may call :func:`rolling` at once.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._rolling_time import beat_timeline, time_columns
from hrv._spectral import check_detrend
from hrv._validate import as_gaps, as_rr_ms_range
from hrv._windows import (
    Boundaries,
    Windows,
    bounds_by_count,
    running_sum_dd,
    scratch_rows,
    window_bounds,
    window_ends,
)
from hrv.coherence import coherence, spectral_windows
from hrv.errors import HrvInputError
from hrv.frequency import DEFAULT_DETREND, FREQUENCY_FIELDS, frequency_domain
from hrv.nonlinear import _FLAT_REL
from hrv.time_domain import TimeDomain

__all__ = [
    "COHERENCE_COLUMNS",
    "FREQUENCY_COLUMNS",
    "METRIC_GROUPS",
    "NONLINEAR_COLUMNS",
    "TIME_COLUMNS",
    "Windows",
    "check_metrics",
    "check_window",
    "rolling",
    "spectral_window",
    "window_bounds",
    "window_ends",
]

#: The metric groups :func:`rolling` and the streaming analyser know, in column order.
METRIC_GROUPS: tuple[str, ...] = ("time", "frequency", "coherence", "nonlinear")

#: Columns of the ``"time"`` group: the fields of :class:`hrv.TimeDomain` (``n_beats`` apart).
TIME_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(TimeDomain) if f.name != "n_beats")

#: Columns of the ``"frequency"`` group: the fields of :class:`hrv.FrequencyDomain`.
FREQUENCY_COLUMNS: tuple[str, ...] = FREQUENCY_FIELDS

#: Columns of the ``"coherence"`` group.
COHERENCE_COLUMNS: tuple[str, ...] = ("coherence_ratio", "coherence_peak_hz", "coherence_score")

#: Columns of the ``"nonlinear"`` group.
NONLINEAR_COLUMNS: tuple[str, ...] = ("dfa_alpha1", "stress_index")

#: Scale of the packed exact counts in the time-domain sums (needs recordings < 2**33 beats).
_COUNT_SCALE = float(2**20)

#: DFA box sizes (beats) and bin width of the stress index, as the single-window defaults.
_DFA_N_MIN = 4
_DFA_N_MAX = 16
_SI_BIN_MS = 50.0


def check_window(window_s: Any, step_s: Any) -> tuple[float, float]:
    """Return ``(window_s, step_s)`` as floats after checking they are finite and > 0.

    Raises
    ------
    HrvInputError
        Either is not a real number, not finite, or <= 0.
    """
    out = []
    for name, value in (("window_s", window_s), ("step_s", step_s)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise HrvInputError(f"{name}: expected a number of seconds, got {value!r}")
        v = float(value)
        if not math.isfinite(v) or v <= 0.0:
            raise HrvInputError(f"{name}: must be finite and > 0 seconds, got {value!r}")
        out.append(v)
    return out[0], out[1]


def check_metrics(metrics: Any) -> tuple[str, ...]:
    """Return the requested metric groups in canonical order (duplicates dropped).

    ``None`` means every group (:data:`METRIC_GROUPS`).

    Raises
    ------
    HrvInputError
        ``metrics`` is a bare string, empty, or names an unknown group.
    """
    if metrics is None:
        return METRIC_GROUPS
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise HrvInputError(
            f"metrics: expected a sequence of group names from {METRIC_GROUPS}, got {metrics!r}"
        )
    wanted = list(metrics)
    if not wanted:
        raise HrvInputError(f"metrics: is empty; choose from {METRIC_GROUPS}")
    for m in wanted:
        if m not in METRIC_GROUPS:
            raise HrvInputError(f"metrics: unknown group {m!r}; choose from {METRIC_GROUPS}")
    return tuple(g for g in METRIC_GROUPS if g in wanted)


# --------------------------------------------------------------------------------------------
# Nonlinear: DFA alpha1 and the stress index, batched
# --------------------------------------------------------------------------------------------


def _box_residual_ss(rr: NDArray[np.float64], sizes: NDArray[np.int64]) -> NDArray[np.float64]:
    """Residual sum of squares of the DFA box ``[a, a + s)`` for every start ``a`` and size ``s``.

    The residuals of a least-squares line through a box of the profile do not change when a
    constant or a linear trend is added, so each box is taken relative to its first point and
    to the slope of its first step: ``z_j = sum_{i=1..j} (rr[a+i] - rr[a+1])`` (the profile
    ``y[a+j] - y[a]`` minus the line ``j (rr[a+1] - mean)``; zero-padded past the end, where no
    box is ever used), ``j = 0 .. s-1``, so that ``z`` is of the size of the RR differences
    within the box, however far the box's RR are from the recording's mean (a long pause
    elsewhere moves the mean by seconds). With the running
    sums ``A = sum z_j``, ``B = sum z_j**2`` and ``C = sum j z_j`` over the box, the residual
    sum of squares of the line fit is

        ``SS = B - A**2 / s - (C - jbar A)**2 / Sxx``,  ``jbar = (s-1)/2``,
        ``Sxx = sum (j - jbar)**2 = s (s**2 - 1) / 12``

    (total minus the mean's and the slope's share; Draper & Smith 1998, ch. 1). ``A, B, C`` of
    size ``s + 1`` extend those of size ``s`` by one term, so every start and every size costs a
    few vector operations over the recording per size (O(N * s_max)), not a line fit per box.
    The sums are local to the box (its own increments, never a prefix sum of the whole
    profile), so no digits are lost to a wandering profile; a box that is exactly linear may
    come out a few ulps below zero and is clamped to 0. Returns ``(len(sizes), N)``; ``sizes``
    must be consecutive integers >= 2.
    """
    n = rr.size
    s_min, s_max = int(sizes[0]), int(sizes[-1])
    u = np.zeros(n - 1 + s_max - 1)  # u[a + i] = rr[a + 1 + i]
    u[: n - 1] = rr[1:]
    out = np.empty((sizes.size, n))
    # blocks of starts small enough for the five running arrays to stay in cache
    for a0 in range(0, n, _DFA_CHUNK):
        _box_residual_ss_block(u, a0, min(n, a0 + _DFA_CHUNK), s_min, s_max, out)
    return out


def _box_residual_ss_block(
    u: NDArray[np.float64], a0: int, a1: int, s_min: int, s_max: int, out: NDArray[np.float64]
) -> None:
    """:func:`_box_residual_ss` for the starts ``a0 .. a1 - 1`` (columns of ``out``)."""
    m = a1 - a0
    first = u[a0:a1]  # rr[a + 1], the box's first step
    z = np.zeros(m)
    a_sum = np.zeros(m)
    b_sum = np.zeros(m)
    c_sum = np.zeros(m)
    tmp = np.empty(m)
    row = 0
    for j in range(1, s_max):  # z_0 = 0 adds nothing; box size s = j + 1 after this step
        np.subtract(u[a0 + j - 1 : a1 + j - 1], first, out=tmp)
        z += tmp
        a_sum += z
        np.multiply(z, z, out=tmp)
        b_sum += tmp
        np.multiply(z, float(j), out=tmp)
        c_sum += tmp
        s = j + 1
        if s >= s_min:
            jbar = (s - 1) / 2.0
            sxx = s * (s * s - 1) / 12.0
            np.multiply(a_sum, -jbar, out=tmp)
            tmp += c_sum
            res = out[row, a0:a1]
            np.multiply(tmp, tmp, out=res)
            res /= -sxx
            res += b_sum
            np.multiply(a_sum, a_sum, out=tmp)
            tmp /= s
            res -= tmp
            np.maximum(res, 0.0, out=res)
            row += 1


#: Box starts per block of :func:`_box_residual_ss`: six 128 KB arrays stay in a 2 MB L2 cache
#: (the development machine's; about 1 ms less on nsr001 than 8,192, 32,768 no better).
_DFA_CHUNK = 16384


def _dfa_column(
    rr: NDArray[np.float64],
    win: Windows,
    bnd: Boundaries,
    constant: NDArray[np.bool_],
    gaps: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """DFA alpha1 of every window; same definition as :func:`hrv.dfa_alpha1` (4-16 beats).

    ``constant`` marks windows whose RR are all equal; like :func:`hrv.dfa_alpha1`, a window
    with some ``F(n) <= 1e-9 * mean RR`` (flat at that box size) gets NaN too. With ``gaps``
    (``gaps[i]``: beat ``i`` does not follow beat ``i - 1``) no box spans a gap, as
    :func:`hrv.dfa_alpha1` with the window's slice of ``gaps``: a window is the runs between
    the gaps inside it (a gap at its first beat is none), the boxes of each laid from the
    run's start (:func:`_gap_runs`); a window that holds no gap is summed exactly as without
    ``gaps``, bit for bit.
    """
    start, stop = win.start, win.stop
    n = stop - start
    n_win = int(n.size)
    alpha = np.full(n_win, np.nan)
    ok = (n >= 2 * _DFA_N_MAX) & ~constant
    if not ok.any():
        return alpha
    sizes = np.arange(_DFA_N_MIN, _DFA_N_MAX + 1)
    idx = np.flatnonzero(ok)
    lo = start[idx]
    nn = n[idx]
    runs = None if gaps is None else _gap_runs(gaps, lo, lo + nn)
    few = np.zeros(idx.size, dtype=np.bool_)  # fewer than two boxes of the largest size
    log_f = np.empty((idx.size, sizes.size))
    box_ss = _box_residual_ss(rr, sizes)
    mean_rr = bnd.window_sum(rr)[idx] / nn
    flat_f2 = (_FLAT_REL * mean_rr) ** 2
    flat = np.zeros(idx.size, dtype=np.bool_)
    # (ceil(N / s) + 1) * w <= (N / s + 2) * (s + 1) elements per size, w = s rounded up to even
    longest = max((-(-rr.size // int(s)) + 1) * (int(s) + int(s) % 2) for s in sizes)
    pad_buf, hi_buf, lo_buf = np.empty(longest), np.empty(longest), np.empty(longest)
    for col, size in enumerate(sizes):
        s = int(size)
        ss = box_ss[col]
        # per-residue running sums: c[q, r] = sum of ss[q' * s + r] for q' <= q, in
        # double-double so that a huge box (one holding a long pause) costs later windows no
        # digits (rows[0] is a zero row: c[q0 - 1] for q0 = 0). The residues are the columns
        # of a (rows + 1, w) array, w = s or s + 1 (a zero column) so that w is even; it is
        # summed as w / 2 complex columns: a complex addition is the two float additions of
        # its parts, so each residue gets the same sums in the same order, but two running
        # sums advance per step of the (latency-bound) cumulative sum.
        rows = -(-ss.size // s)
        w = s + s % 2
        length = (rows + 1) * w
        padded = pad_buf[:length].reshape(rows + 1, w)  # one buffer for every size
        padded[0] = 0.0
        full = ss.size // s
        padded[1 : full + 1, :s] = ss[: full * s].reshape(full, s)
        if full < rows:  # the last, partial row: zero after ss
            padded[rows, : ss.size - full * s] = ss[full * s :]
            padded[rows, ss.size - full * s : s] = 0.0
        padded[1:, s:] = 0.0
        running_sum_dd(  # into hi_buf, lo_buf
            padded.view(np.complex128),
            axis=0,
            out=(
                hi_buf[:length].reshape(rows + 1, w).view(np.complex128),
                lo_buf[:length].reshape(rows + 1, w).view(np.complex128),
            ),
        )
        chain = _BoxChains(hi_buf[:length], lo_buf[:length], s, w)
        if runs is None:  # the window is one run: its boxes start at lo + m*s
            boxes = nn // s
            total = chain(lo, boxes)
        else:
            boxes, total = _gap_run_boxes(runs, s, chain, lo)
            if s == _DFA_N_MAX:
                few = boxes < 2  # as dfa_alpha1: two boxes of n_max within runs
        with np.errstate(divide="ignore", invalid="ignore"):
            f2 = total / (boxes * s)
            flat |= f2 <= flat_f2  # F(n) <= 1e-9 * mean RR: alpha1 undefined, as dfa_alpha1
            log_f[:, col] = 0.5 * np.log10(f2)
    lx = np.log10(sizes.astype(np.float64))
    lxc = lx - lx.mean()
    with np.errstate(invalid="ignore"):
        slope = (log_f - log_f.mean(axis=1, keepdims=True)) @ lxc / float(lxc @ lxc)
    finite = np.isfinite(log_f).all(axis=1) & ~flat & ~few
    alpha[idx[finite]] = slope[finite]
    return alpha


@dataclass(frozen=True)
class _BoxChains:
    """Sums of boxes of size ``s`` from :func:`_dfa_column`'s per-residue running sums.

    ``hi``, ``lo``: the double-double running sums of the boxes' residual sums of squares,
    flat, ``(rows + 1, w)`` row-major with a zero row 0 (``w`` is ``s`` rounded up to even).
    """

    hi: NDArray[np.float64]
    lo: NDArray[np.float64]
    s: int
    w: int

    def __call__(self, a: NDArray[np.int64], count: NDArray[np.int64]) -> NDArray[np.float64]:
        """The sum over the boxes starting at ``a + m*s``, ``m < count`` (per element).

        It is ``hi[q1, r] - hi[q0, r]`` with ``r = a % s``, ``q0 = a // s``,
        ``q1 = q0 + count`` (``hi[q, r]`` holds the boxes starting before ``q*s + r``, the
        padded row 0 being zero); flat, ``hi[q, r]`` is element ``q*w + r``.
        """
        s, w = self.s, self.w
        i0 = (a // s) * w + a % s
        i1 = i0 + count * w
        out: NDArray[np.float64] = (self.hi[i1] - self.hi[i0]) + (self.lo[i1] - self.lo[i0])
        return out


@dataclass(frozen=True)
class _GapRuns:
    """The runs between gaps of the windows of :func:`_dfa_column` (by beat index).

    A window ``[lo, hi)`` holding the gaps ``g_1 < ... < g_m`` (``gaps[g]``, ``lo < g < hi``:
    a gap at its first beat is none) is the runs ``[lo, g_1)``, ``[g_1, g_2)``, ...,
    ``[g_m, hi)``. ``head_len``: every window's first run's length (``hi - lo`` without a gap
    inside). For the windows ``inside`` (those holding a gap): ``tail_start`` (``g_m``),
    ``tail_len`` (``hi - g_m``) and ``j0``, ``j1`` such that the inner runs ``[g_1, g_2)``, ...,
    ``[g_{m-1}, g_m)`` are ``run_start[j0:j1]`` (of ``run_len[j0:j1]`` beats): ``run_start``
    every gap, ``run_len`` the run after it (to the next gap or the recording's end).
    """

    head_len: NDArray[np.int64]
    inside: NDArray[np.intp]
    tail_start: NDArray[np.int64]
    tail_len: NDArray[np.int64]
    j0: NDArray[np.int64]
    j1: NDArray[np.int64]
    run_start: NDArray[np.int64]
    run_len: NDArray[np.int64]


def _gap_runs(gaps: NDArray[np.bool_], lo: NDArray[np.int64], hi: NDArray[np.int64]) -> _GapRuns:
    """The runs of each window ``[lo, hi)`` (:class:`_GapRuns`)."""
    at = np.flatnonzero(gaps[1:]).astype(np.int64) + 1
    ends = np.append(at, np.int64(gaps.size))  # at[j]'s run ends at ends[j + 1]
    first = np.searchsorted(at, lo, side="right").astype(np.int64)  # the first gap after lo
    stop = np.searchsorted(at, hi, side="left").astype(np.int64)  # past the last before hi
    head_len = np.minimum(ends[first], hi) - lo
    inside = np.flatnonzero(stop > first)
    tail_start = at[stop[inside] - 1]
    return _GapRuns(
        head_len=head_len,
        inside=inside,
        tail_start=tail_start,
        tail_len=hi[inside] - tail_start,
        j0=first[inside],
        j1=stop[inside] - 1,
        run_start=at,
        run_len=np.diff(ends),
    )


def _gap_run_boxes(
    runs: _GapRuns, s: int, chain: _BoxChains, lo: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Boxes of size ``s`` within the runs of each window, and their residual sum of squares.

    Each run of a window has ``floor(length / s)`` boxes from its start (:func:`hrv.dfa_alpha1`
    with gaps). The first run is every window's own: ``chain(lo, head)`` (the sum of ``head``
    boxes from ``lo``), which for a window holding no gap is ``chain(lo, nn // s)``, the sum
    without gaps, and then all there is. The inner runs are the same in every window that
    holds them: their sums are running sums over the runs (double-double, as the boxes' own),
    so a window adds those of its inner runs as one difference; the last run is again the
    window's own.
    """
    boxes = runs.head_len // s
    total = chain(lo, boxes)
    k = runs.inside
    if k.size == 0:
        return boxes, total
    run_boxes = runs.run_len // s
    run_ss = chain(runs.run_start, run_boxes)
    hi_c, lo_c = running_sum_dd(np.concatenate(([0.0], run_ss)))
    n_c = np.concatenate(([0], np.cumsum(run_boxes)))
    j0, j1 = runs.j0, runs.j1
    tail = runs.tail_len // s
    inner = (hi_c[j1] - hi_c[j0]) + (lo_c[j1] - lo_c[j0])
    boxes[k] += (n_c[j1] - n_c[j0]) + tail
    total[k] += inner + chain(runs.tail_start, tail)
    return boxes, total


def _sparse_table(values: NDArray[np.float64], op: Callable[..., Any]) -> list[NDArray[Any]]:
    table = [values]
    span = 1
    while 2 * span <= values.size:
        prev = table[-1]
        table.append(op(prev[: prev.size - span], prev[span:]))
        span *= 2
    return table


def _range_query(
    table: list[NDArray[Any]], lo: NDArray[np.int64], hi: NDArray[np.int64], op: Callable[..., Any]
) -> NDArray[Any]:
    """``op`` over ``values[lo:hi]`` for each pair (``hi > lo``)."""
    length = hi - lo
    level = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    out = np.empty(lo.size, dtype=table[0].dtype)
    for lev in np.unique(level):
        sel = level == lev
        t = table[int(lev)]
        out[sel] = op(t[lo[sel]], t[hi[sel] - (1 << int(lev))])
    return out


def _window_min_max(
    rr: NDArray[np.float64], win: Windows, bnd: Boundaries
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Largest and smallest RR of every window (NaN for a window without beats).

    Per-segment extremes (``np.maximum.reduceat``) and a sparse table over segments answer each
    window's range query in O(1).
    """
    n_win = int(win.t_end_s.size)
    mx = np.full(n_win, np.nan)
    mn = np.full(n_win, np.nan)
    bounds = bnd.bounds
    first, last = int(bounds[0]), int(bounds[-1])
    if last <= first:
        return mx, mn
    part = rr[first:last]
    seg_len = np.diff(bounds)
    nonempty = seg_len > 0
    seg_start = bounds[:-1][nonempty] - first
    seg_max = np.maximum.reduceat(part, seg_start)
    seg_min = np.minimum.reduceat(part, seg_start)
    # window k spans the segments pos_start[k] .. pos_stop[k]-1; rank counts non-empty ones
    rank = np.concatenate([[0], np.cumsum(nonempty)])
    s_lo = rank[bnd.pos_start]
    s_hi = rank[bnd.pos_stop]
    has = s_hi > s_lo
    lo_v, hi_v = s_lo[has], s_hi[has]
    mx[has] = _range_query(_sparse_table(seg_max, np.maximum), lo_v, hi_v, np.maximum)
    mn[has] = _range_query(_sparse_table(seg_min, np.minimum), lo_v, hi_v, np.minimum)
    return mx, mn


def _stress_column(
    rr: NDArray[np.float64], win: Windows, bnd: Boundaries, mxdmn_ms: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Baevsky's SI of every window; same definition as :func:`hrv.stress_index`.

    ``mxdmn_ms`` is each window's ``max - min`` (NaN when empty).
    """
    n = win.stop - win.start
    out = np.full(n.size, np.nan)
    bounds = bnd.bounds
    if rr.size == 0 or bounds.size < 2:
        return out
    first, last = int(bounds[0]), int(bounds[-1])
    if last <= first:
        return out
    part = rr[first:last]
    k = np.floor(part / _SI_BIN_MS).astype(np.int64)
    k_min = int(k.min())
    k -= k_min
    span = int(k.max()) + 1
    if span <= 4 * k.size + 64:
        # the occupied bins in order and each beat's rank among them, by counting (what
        # np.unique(k, return_inverse=True) gives, without sorting)
        present = np.bincount(k, minlength=span) > 0
        bins = np.flatnonzero(present) + k_min
        code = (np.cumsum(present) - 1)[k]
    else:  # RR spread over far more bins than beats (hours-long pauses): sort
        bins, code = np.unique(k, return_inverse=True)
        bins += k_min
    nbin = int(bins.size)
    # segment j holds beats bounds[j] .. bounds[j+1]-1
    seg_len = np.diff(bounds)
    seg_of_beat = np.repeat(np.arange(seg_len.size), seg_len)
    hist = np.bincount(seg_of_beat * nbin + code.ravel(), minlength=seg_len.size * nbin)
    cum = np.zeros((bounds.size, nbin), dtype=np.int64)
    np.cumsum(hist.reshape(seg_len.size, nbin), axis=0, out=cum[1:])
    counts = cum[bnd.pos_stop] - cum[bnd.pos_start]
    top = np.argmax(counts, axis=1)  # first maximum: the lowest bin on ties
    top_count = counts[np.arange(n.size), top]
    mode_ms = (bins[top] + 0.5) * _SI_BIN_MS

    with np.errstate(invalid="ignore"):
        valid = (n >= 2) & (mxdmn_ms > 0.0)
    amo_pct = 100.0 * top_count[valid].astype(np.float64) / n[valid]
    out[valid] = amo_pct / (2.0 * (mode_ms[valid] / 1000.0) * (mxdmn_ms[valid] / 1000.0))
    return out


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def rolling(
    rr_ms: Any,
    *,
    window_s: float = 300.0,
    step_s: float = 10.0,
    gaps: Any = None,
    metrics: Iterable[str] | None = METRIC_GROUPS,
    detrend: str | None = DEFAULT_DETREND,
    parallel: bool = True,
) -> dict[str, NDArray[Any]]:
    """HRV metrics of every window of a recording, as columns.

    Windows as in ``docs/ARCHITECTURE.md``: beat ``i`` at ``t_s[i] = cumsum(rr_ms)[i] / 1000``;
    the window ending at ``t_end`` holds the beats with ``t_end - window_s < t_s <= t_end``, for
    ``t_end = window_s, window_s + step_s, ...`` up to the last beat time (inclusive). Every
    window's values equal the single-window functions on that slice (``gaps[first]`` of the
    slice is irrelevant): :func:`hrv.time_domain` (``"time"``), :func:`hrv.dfa_alpha1` (4-16
    beats; no box spans a gap) and :func:`hrv.stress_index` (50-ms bins) (``"nonlinear"``) on
    the slice as it is, with the slice of ``gaps``;
    :func:`hrv.frequency_domain` (``"frequency"``) and :func:`hrv.coherence` (``"coherence"``)
    on the slice *with* ``t_s=`` its beat times on the recording's clock (the slice of
    ``cumsum(rr_ms) / 1000``: the resampling grid and the Welch segments sit on that clock)
    and, for frequency, ``span_s=window_s``; without them (the slice's own clock and span) the
    spectral values differ slightly and VLF may be ``None``.
    No Python loop runs over the windows; see the module docstring for how.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds of the whole recording (1-D, finite, > 0).
    window_s : float
        Window length in seconds (300 s is the Task Force short-term window).
    step_s : float
        Distance between successive window ends, in seconds.
    gaps : array_like of bool, optional
        ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1``: no successive difference
        is taken across it (time domain) and no DFA box spans it (nonlinear); the spectral
        groups follow ``hrv.frequency``'s gap policy. ``None`` means no gaps (as do all
        ``False``: the values are then those without ``gaps``, bit for bit).
    metrics : sequence of str, optional
        Groups to compute, any of ``"time"``, ``"frequency"``, ``"coherence"``,
        ``"nonlinear"`` (default: all four; ``None`` also means all).
    detrend : {"smoothness_priors", "linear", None}
        Detrending of the frequency group's Welch segments (:func:`hrv.frequency_domain`);
        every window's VLF needs ``window_s >= 300`` (its ``span_s`` is ``window_s``).
    parallel : bool
        With two or more groups, compute them concurrently: the calling thread and up to
        ``min(groups, os.cpu_count()) - 1`` threads of a small pool kept by this module (numpy
        and scipy.fft release the GIL in their array loops and FFTs). The values are the same
        bit for bit as with ``parallel=False`` (each group runs the same code, only on another
        thread). The wall time drops when a second core is idle (nsr001, all four groups, 2
        cores: ~108 -> ~88 ms, README "Performance"); the CPU time does not (it grows by
        ~25 %: the threads compete for the GIL between numpy calls and for memory), and with
        the other cores busy there is no gain (it can be slower).
        ``False`` (or a single core) runs the groups one after the other in the calling
        thread.

    Returns
    -------
    dict of str to numpy.ndarray
        ``t_s`` (window ends, float64), ``n_beats`` (int64) and the columns of the requested
        groups (float64; NaN where the single-window function gives ``None``). All columns
        have one value per window; zero windows (recording shorter than ``window_s``) gives
        empty columns.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms`` or ``gaps``, non-positive ``window_s`` / ``step_s``, or an unknown
        metric group.

    References
    ----------
    Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5), 1043-1065.
    Chan T.F., Golub G.H., LeVeque R.J. (1983). Algorithms for computing the sample variance:
    analysis and recommendations. The American Statistician 37(3), 242-247 (shifted data).
    Peng C.-K. et al. (1995). Chaos 5(1), 82-87 (DFA). Baevsky R.M., Chernikova A.G. (2017).
    Cardiometry 10, 66-76 (stress index).
    """
    window_s, step_s = check_window(window_s, step_s)
    groups = check_metrics(metrics)
    detrend = check_detrend(detrend)
    rr, rr_min, rr_max = as_rr_ms_range(rr_ms)
    gap_mask = as_gaps(gaps, rr.size) if gaps is not None else None
    if gap_mask is not None and not gap_mask[1:].any():
        gap_mask = None
    size = int(rr.size)
    rows = scratch_rows(10, size)
    timeline = beat_timeline(rr, rr_max, rows)
    win = bounds_by_count(timeline.count_upto, timeline.t_last_s, window_s=window_s, step_s=step_s)
    n_beats = win.stop - win.start
    out: dict[str, NDArray[Any]] = {"t_s": win.t_end_s, "n_beats": n_beats}
    if win.t_end_s.size == 0:
        for name in _columns_of(groups):
            out[name] = np.empty(0, dtype=np.float64)
        return out
    bnd = Boundaries(win, size)
    bnd.empty_idx  # noqa: B018 -- cached before the groups share ``bnd`` (maybe across threads)

    def time_group() -> dict[str, NDArray[Any]]:
        # the only user of ``rows`` (the calling thread's scratch) while the groups run
        return time_columns(rr, gap_mask, win, bnd, timeline, (rr_min, rr_max), rows)

    def spectral_group(group: str) -> Callable[[], dict[str, NDArray[Any]]]:
        return lambda: _spectral_columns(rr, gap_mask, win, window_s, (group,), detrend)

    def dfa_part() -> dict[str, NDArray[Any]]:
        mx, mn = _window_min_max(rr, win, bnd)  # computed by both parts: they may run at once
        return {"dfa_alpha1": _dfa_column(rr, win, bnd, mx == mn, gap_mask)}

    def stress_part() -> dict[str, NDArray[Any]]:
        mx, mn = _window_min_max(rr, win, bnd)
        return {"stress_index": _stress_column(rr, win, bnd, mx - mn)}

    # (group, task), longest first (nsr001: ~44, ~30, ~25, ~4 and ~2 ms of CPU); the
    # nonlinear group is two tasks so that two threads get about the same work
    tasks: list[tuple[str, Callable[[], dict[str, NDArray[Any]]]]] = [
        ("frequency", spectral_group("frequency")),
        ("coherence", spectral_group("coherence")),
        ("nonlinear", dfa_part),
        ("nonlinear", stress_part),
        ("time", time_group),
    ]
    tasks = [(g, task) for g, task in tasks if g in groups]
    results = _run_groups([task for _, task in tasks], parallel)
    columns: dict[str, NDArray[Any]] = {}
    for part in results:
        columns.update(part)
    for name in _columns_of(groups):  # canonical column order, whichever thread came first
        out[name] = columns[name]
    return out


_Columns = dict[str, NDArray[Any]]

#: The pool that runs metric groups beside the calling thread, created on first use (and again
#: in a forked child, where the parent's threads do not exist), with its process id.
_pool: tuple[ThreadPoolExecutor, int] | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads (and maybe a held lock) are not there."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)

#: Most groups that run at once (the calling thread included): there are four.
_MAX_CONCURRENT = len(METRIC_GROUPS)


def _helpers(n_tasks: int) -> tuple[ThreadPoolExecutor, int] | None:
    """The module's pool and how many of its threads a call with ``n_tasks`` groups uses.

    ``min(n_tasks, os.cpu_count()) - 1`` threads beside the caller; ``None`` when that is 0.
    """
    global _pool  # one pool per process, created lazily
    n = min(n_tasks, os.cpu_count() or 1) - 1
    if n < 1:
        return None
    with _pool_lock:
        if _pool is None or _pool[1] != os.getpid():
            # Long-lived threads (started as needed): each keeps its own scratch memory
            # (``threading.local`` in hrv._windows and hrv._spectral) warm between calls.
            pool = ThreadPoolExecutor(_MAX_CONCURRENT - 1, thread_name_prefix="hrv.rolling")
            _pool = (pool, os.getpid())
        return _pool[0], n


def _run_groups(tasks: list[Callable[[], _Columns]], parallel: bool) -> list[_Columns]:
    """Results of ``tasks`` (ordered longest first), concurrently when ``parallel``.

    The calling thread and up to ``len(tasks) - 1`` pool threads take the next task from the
    list until none is left (longest first: a simple longest-processing-time schedule). A pool
    thread that has not started when the caller runs out of tasks is cancelled, so a busy pool
    (other threads calling :func:`rolling` at the same time) never makes a caller wait for work
    it could not start: the caller then computes everything itself, as without ``parallel``.
    The tasks share only read-only arrays; their scratch memory is per thread.
    """
    helpers = _helpers(len(tasks)) if parallel else None
    if helpers is None:
        return [task() for task in tasks]
    pool, n_helpers = helpers
    results: list[_Columns] = [{} for _ in tasks]
    lock = threading.Lock()
    next_task = [0]

    def drain() -> None:
        while True:
            with lock:
                i = next_task[0]
                next_task[0] += 1
            if i >= len(tasks):
                return
            results[i] = tasks[i]()

    started: list[Future[None]] = [pool.submit(drain) for _ in range(n_helpers)]
    try:
        drain()
    finally:
        with lock:
            next_task[0] = len(tasks)  # after an error: start nothing new
        for future in started:
            if not future.cancel():
                future.result()  # a helper that started: wait, and re-raise its error
    return results


def _columns_of(groups: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for g in groups:
        if g == "time":
            names.extend(TIME_COLUMNS)
        elif g == "nonlinear":
            names.extend(NONLINEAR_COLUMNS)
        elif g == "coherence":
            names.extend(COHERENCE_COLUMNS)
        elif g == "frequency":
            names.extend(FREQUENCY_COLUMNS)
    return names


def spectral_window(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    t_s: NDArray[np.float64],
    groups: tuple[str, ...],
    window_s: float | None = None,
    detrend: str | None = DEFAULT_DETREND,
) -> dict[str, float | None]:
    """The ``"frequency"``/``"coherence"`` values of one window.

    :func:`hrv.frequency_domain` and :func:`hrv.coherence` on its beats, with their times
    ``t_s`` on the recording's clock (the 4 Hz resampling grid is that clock's, as in
    :func:`rolling`) and the window's length as the span that decides whether VLF is reported
    (``None``: the beats' own span).
    """
    values: dict[str, float | None] = {}
    if "frequency" in groups:
        fd = frequency_domain(rr, gaps=gap, t_s=t_s, detrend=detrend, span_s=window_s)
        values.update({name: getattr(fd, name) for name in FREQUENCY_COLUMNS})
    if "coherence" in groups:
        co = coherence(rr, gaps=gap, t_s=t_s)
        values.update(
            coherence_ratio=co.ratio, coherence_peak_hz=co.peak_hz, coherence_score=co.score
        )
    return values


def _spectral_columns(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    win: Windows,
    window_s: float,
    groups: tuple[str, ...],
    detrend: str | None,
) -> dict[str, NDArray[np.float64]]:
    """Spectral columns of every window from B's batched :func:`hrv.coherence.spectral_windows`.

    One resampling of the recording, batched FFTs.
    """
    wanted = tuple(g for g in groups if g in ("frequency", "coherence"))
    return spectral_windows(
        rr, t_end_s=win.t_end_s, window_s=window_s, gaps=gap, groups=wanted, detrend=detrend
    )
