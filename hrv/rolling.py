"""Every HRV metric on every window of a whole recording, without a Python loop over windows.

:func:`rolling` evaluates the windows of ``docs/ARCHITECTURE.md`` ("Windows"): beat ``i`` happens
at ``t_s[i] = cumsum(rr_ms)[i] / 1000``; the window ending at ``t_end`` holds the beats with
``t_end - window_s < t_s <= t_end``; ``t_end = window_s + k * step_s`` for ``k = 0, 1, ...``
while ``t_end <= t_s[-1]``. Each window's metrics are, up to rounding (about 1e-11 relative on
real 24-hour recordings, tested to 1e-9), exactly the single-window functions applied to that
slice: :func:`hrv.time_domain`, :func:`hrv.dfa_alpha1`, :func:`hrv.stress_index` and the
spectral functions of ``hrv.frequency`` / ``hrv.coherence``.

How it stays fast:

- time domain: window sums of centred RR, squared RR, instantaneous HR, squared successive
  differences and exact counts (``|d| > 50 ms``, ``d != 0``) are differences of prefix sums
  taken only at the window boundaries (``np.add.reduceat`` over the segments between
  boundaries, then a cumulative sum over the segments), five per-beat rows in one batch. The
  RR values are centred on the recording's mean before squaring so that the variance
  ``(S2 - S1**2 / n) / (n - 1)`` does not lose digits to cancellation (Chan, Golub & LeVeque
  1983), and a window whose kept differences are all 0 gets exactly 0 like the direct formula;
- DFA alpha1: the residual sum of squares of every box of every size (4-16 beats) at every
  start position is one small matrix product of the RR increments (a box's residual after a
  linear fit does not depend on the window it belongs to), and each window adds up the boxes
  it uses with per-residue prefix sums;
- stress index: per-segment histograms of 50-ms bins with cumulative counts, and range
  minimum/maximum queries over segments (sparse table) for MxDMn;
- frequency domain and coherence: :func:`hrv.coherence.spectral_windows` (one 4 Hz resampling
  of the whole recording, every Welch segment / coherence slot of every window in batched
  FFTs). Welch needs >= 128 s of data, so on shorter windows (e.g. the live 60 s) the
  ``"frequency"`` columns are NaN; coherence uses the last 64 s of each window. Windows that
  hold a gap follow ``hrv.frequency``'s gap policy.

Output columns (a ``dict`` of 1-D numpy arrays, one value per window, in window order):
``t_s`` (window end, s), ``n_beats`` (int64), then per requested group:

- ``"time"``: every :class:`hrv.TimeDomain` field (``mean_rr_ms``, ``sdnn_ms``, ...);
- ``"frequency"``: every ``FrequencyDomain`` field of ``hrv.frequency``;
- ``"coherence"``: ``coherence_ratio``, ``coherence_peak_hz``, ``coherence_score``;
- ``"nonlinear"``: ``dfa_alpha1`` and ``stress_index`` (Baevsky's SI, ``StressIndex.value``).

A metric that is ``None`` for a window (too few beats) is NaN in its column. Columns of groups
that were not requested are absent.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._validate import as_gaps, as_rr_ms
from hrv.coherence import coherence, spectral_windows
from hrv.errors import HrvInputError
from hrv.frequency import FREQUENCY_FIELDS, frequency_domain
from hrv.time_domain import PNN50_THRESHOLD_MS, TimeDomain

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


@dataclass(frozen=True)
class Windows:
    """The windows of a recording: window ``k`` is the slice ``rr_ms[start[k]:stop[k]]``.

    Attributes
    ----------
    t_end_s
        Window ends ``window_s + k * step_s`` (s), float64.
    start, stop
        Beat index ranges (int64): the beats with ``t_end - window_s < t_s <= t_end``.
    stride
        ``m`` when ``window_s == m * step_s`` exactly (then ``start[k] == stop[k - m]`` for
        ``k >= m``), else 0. Internal fast path.
    """

    t_end_s: NDArray[np.float64]
    start: NDArray[np.int64]
    stop: NDArray[np.int64]
    stride: int


def window_ends(t_last_s: float, window_s: float, step_s: float) -> NDArray[np.float64]:
    """Window ends ``window_s + k * step_s`` (``k = 0, 1, ...``) that are ``<= t_last_s``.

    The same float arithmetic (``window_s + float(k) * step_s``) is used by the streaming
    analyser, so both see bit-identical boundaries.
    """
    if not t_last_s >= window_s:
        return np.empty(0, dtype=np.float64)
    k = int((t_last_s - window_s) // step_s) + 1
    # Guard the estimate against rounding in the division: adjust until exact.
    while k > 0 and window_s + float(k - 1) * step_s > t_last_s:
        k -= 1
    while window_s + float(k) * step_s <= t_last_s:
        k += 1
    return window_s + np.arange(k, dtype=np.float64) * step_s


def window_bounds(t_s: NDArray[np.float64], *, window_s: float, step_s: float) -> Windows:
    """Beat index range of every window over a beat timeline ``t_s`` (non-decreasing, seconds).

    Parameters
    ----------
    t_s : numpy.ndarray
        Beat times ``cumsum(rr_ms) / 1000``.
    window_s, step_s : float
        Window length and step (s).

    Returns
    -------
    Windows
        Ends and ``[start, stop)`` index ranges of the windows.
    """
    n = int(t_s.size)
    t_end = window_ends(float(t_s[-1]) if n else -math.inf, window_s, step_s)
    stop = np.searchsorted(t_s, t_end, side="right").astype(np.int64, copy=False)
    lower = t_end - window_s
    n_win = int(t_end.size)
    ratio = window_s / step_s
    m = round(ratio)
    stride = 0
    if m >= 1 and m == ratio and n_win > m and np.array_equal(lower[m:], t_end[:-m]):
        stride = m
        start = np.empty(n_win, dtype=np.int64)
        start[m:] = stop[:-m]
        start[:m] = np.searchsorted(t_s, lower[:m], side="right")
    else:
        start = np.searchsorted(t_s, lower, side="right").astype(np.int64, copy=False)
    return Windows(t_end_s=t_end, start=start, stop=stop, stride=stride)


# --------------------------------------------------------------------------------------------
# Scratch memory
# --------------------------------------------------------------------------------------------

_local = threading.local()
#: Largest scratch buffer kept per thread, in float64 elements (16 MB).
_SCRATCH_MAX = 2**21


def _scratch(size: int) -> NDArray[np.float64]:
    """A flat float64 scratch buffer of ``size`` elements, reused across calls in one thread.

    Fresh multi-megabyte temporaries cost more in page faults than the arithmetic done in them
    (a 24-h recording is 0.85 MB per array); the per-beat intermediates of :func:`rolling` live
    here instead. Nothing returned to the caller ever points into it. Buffers larger than
    :data:`_SCRATCH_MAX` elements (several days of beats) are not kept between calls.
    """
    if size > _SCRATCH_MAX:
        return np.empty(size, dtype=np.float64)
    buf: NDArray[np.float64] | None = getattr(_local, "buf", None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.float64)
        _local.buf = buf
    return buf[:size]


# --------------------------------------------------------------------------------------------
# The beat timeline
# --------------------------------------------------------------------------------------------

#: RR values on a grid of ``2**-16`` ms (a strap's 1/1024 s, whole ms, PhysioNet's 1/128 s,
#: ...) are summed as integers: see :func:`_running_sum_ms`.
_GRID = float(2**16)


def _running_sum_ms(
    rr: NDArray[np.float64], out: NDArray[np.float64], work: NDArray[np.float64]
) -> None:
    """``out[0] = 0``, ``out[i + 1] = rr[0] + ... + rr[i]`` as a running float64 sum.

    Bit-identical to adding left to right in float64 (``np.cumsum``, and the streaming
    analyser's ``total += rr`` beat by beat), so rolling and streaming put every beat on the
    same side of every window boundary. When every value is a multiple of ``2**-16`` ms and the
    total stays below ``2**35`` ms (a year), every partial sum is exactly representable: the
    running float sum is then exact, and equal to the integer cumulative sum of
    ``rr * 2**16``, which is several times faster (an integer add has a 1-cycle latency, a
    float add 4). Other series take ``np.cumsum``. ``out`` has ``rr.size + 1`` elements,
    ``work`` (scratch) ``2 * rr.size``.
    """
    out[0] = 0.0
    n = rr.size
    if n and float(np.sum(rr)) < 2.0**51 / _GRID:
        scaled = np.multiply(rr, _GRID, out=work[:n])  # exact: a power of two
        ints = work[n : 2 * n].view(np.int64)
        np.copyto(ints, scaled, casting="unsafe")  # truncates whatever is off the grid
        if np.array_equal(ints, scaled):
            acc = work[:n].view(np.int64)
            np.cumsum(ints, out=acc)
            np.multiply(acc, 1.0 / _GRID, out=out[1:])  # < 2**53: exact, then exact scaling
            return
    np.cumsum(rr, out=out[1:])


# --------------------------------------------------------------------------------------------
# Window sums through boundary prefix sums
# --------------------------------------------------------------------------------------------


class _Boundaries:
    """Sorted window boundaries and where each window's start and stop sit among them."""

    def __init__(self, win: Windows, n_beats: int) -> None:
        k = int(win.t_end_s.size)
        m = win.stride
        if m:
            # start[:m] then all stops: already non-decreasing (start[m-1] <= stop[0]).
            self.bounds = np.concatenate([win.start[:m], win.stop])
            self.pos_start = np.arange(k, dtype=np.int64)
            self.pos_stop = np.arange(m, m + k, dtype=np.int64)
        else:
            cat = np.concatenate([win.start, win.stop])
            order = np.argsort(cat, kind="stable")
            self.bounds = cat[order]
            pos = np.empty_like(order)
            pos[order] = np.arange(2 * k, dtype=order.dtype)
            self.pos_start = pos[:k].astype(np.int64, copy=False)
            self.pos_stop = pos[k:].astype(np.int64, copy=False)
        b = self.bounds
        # reduceat needs indices < n; boundaries equal to n (windows reaching the end) sit last.
        self.n_inner = int(np.searchsorted(b, n_beats, side="left"))
        inner = b[: self.n_inner]
        self.inner = inner
        self.empty_idx = np.flatnonzero(inner[:-1] == inner[1:])
        self.n_beats = n_beats
        self.n_windows = k
        self.stride = m

    def prefix(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``Q[..., j] = sum(x[..., bounds[0]:bounds[j]])`` for every boundary ``j``.

        ``x`` is 1-D (one per-beat quantity) or 2-D (one quantity per row).
        """
        nb = int(self.bounds.size)
        q = np.zeros((*x.shape[:-1], nb), dtype=x.dtype)
        if self.n_inner == 0:
            return q
        seg = np.add.reduceat(x, self.inner, axis=-1)
        if self.empty_idx.size:
            # reduceat gives x[i] (not 0) for an empty segment [i, i).
            seg[..., self.empty_idx] = 0.0
        if self.n_inner == nb:
            # the last segment runs past the last boundary
            np.cumsum(seg[..., :-1], axis=-1, out=q[..., 1:])
        else:
            np.cumsum(seg, axis=-1, out=q[..., 1 : self.n_inner + 1])
            q[..., self.n_inner + 1 :] = q[..., self.n_inner : self.n_inner + 1]
        return q

    def window_sum(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``sum(x[..., start[k]:stop[k]])`` for every window ``k`` (1-D or row-wise 2-D)."""
        q = self.prefix(x)
        k = self.n_windows
        if self.stride:
            m = self.stride
            out: NDArray[np.float64] = q[..., m : m + k] - q[..., :k]
        else:
            out = q[..., self.pos_stop] - q[..., self.pos_start]
        return out


def _nan_where(values: NDArray[np.float64], invalid: NDArray[np.bool_]) -> NDArray[np.float64]:
    values[invalid] = np.nan
    return values


def _time_columns(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    win: Windows,
    bnd: _Boundaries,
    total_ms: NDArray[np.float64],
    work: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """Time-domain columns from window sums; same definitions as :func:`hrv.time_domain`.

    ``total_ms`` is the running sum of :func:`_running_sum_ms` (``rr.size + 1`` values);
    ``work`` is scratch of ``5 * rr.size`` float64 values.
    """
    size = rr.size
    start, stop = win.start, win.stop
    n_int = stop - start
    n = n_int.astype(np.float64)
    all_nonempty = bool(n_int.min() >= 1)
    has1 = None if all_nonempty else n_int >= 1
    first = start if all_nonempty else np.minimum(start, size - 1)  # read only where n >= 1
    last = np.maximum(stop - 1, 0)  # read only where the window has two beats

    # Sum of RR: a difference of the running sum (exact when the RR lie on a 2**-16 ms grid).
    s1 = total_ms[stop] - total_ms[start]
    centre = float(total_ms[size]) / size  # the mean RR: centring keeps the variance's digits

    # Per-beat quantities, two per complex array (real, imaginary), summed over every window
    # by one np.add.reduceat per array: (centred RR squared, instantaneous HR) and (squared
    # successive difference, |difference| > 50 ms).
    pair_a = work[: 2 * size]
    pair_b = work[2 * size : 4 * size]
    d = work[4 * size : 5 * size]
    np.subtract(rr, centre, out=d)
    np.multiply(d, d, out=pair_a[0::2])
    np.divide(60000.0, rr, out=pair_a[1::2])
    # Successive differences d[i] = rr[i] - rr[i-1] (i >= 1), zero where they cross a gap. A
    # window [start, stop) uses d[start + 1 : stop]: its sums leave out d[start].
    d[0] = 0.0
    np.subtract(rr[1:], rr[:-1], out=d[1:])
    nd = np.maximum(n - 1.0, 0.0)
    cut: NDArray[np.bool_] | None = None
    if gap is not None:
        cut = gap.copy()
        cut[0] = True  # d[0] is not a difference
        cut_idx = np.flatnonzero(cut)
        # differences in a window: positions start+1 .. stop-1 that are not cut
        n_cut = np.searchsorted(cut_idx, stop, side="left") - np.searchsorted(
            cut_idx, start + 1, side="left"
        )
        nd = np.where(n_int >= 1, n - 1.0 - np.maximum(n_cut, 0), 0.0)
        moving = np.flatnonzero(cut & (d != 0.0))  # dropped differences that still change RR
        d[cut] = 0.0
    d2 = pair_b[0::2]
    big = pair_b[1::2]
    np.multiply(d, d, out=d2)
    # |d| > 50 exactly when d*d > 2500: fl(d*d) is monotone in |d| and 2500 is exact
    np.greater(d2, PNN50_THRESHOLD_MS * PNN50_THRESHOLD_MS, out=big, casting="unsafe")
    sums_a = bnd.window_sum(pair_a.view(np.complex128))
    sums_b = bnd.window_sum(pair_b.view(np.complex128))
    s2, shr = sums_a.real, sums_a.imag
    sd2, n_big = sums_b.real, sums_b.imag
    # the window's differences are d[start+1 : stop]: take d[start] back out
    if all_nonempty:
        sd2 -= d2[first]
        n_big -= big[first]
    else:
        sd2[has1] -= d2[first[has1]]
        n_big[has1] -= big[first[has1]]
    if gap is None:
        # the differences telescope: sum(d[start+1:stop]) = rr[stop-1] - rr[start]
        sd = rr[last] - rr[first]
        if not all_nonempty:
            sd[n_int < 2] = 0.0
    else:
        sd = bnd.window_sum(d)
        if all_nonempty:
            sd -= d[first]
        else:
            sd[has1] -= d[first[has1]]

    # Windows whose kept differences are all exactly 0 get exactly 0 like the direct formula,
    # not the rounding noise of the prefix sums (~1e-16 of the recording's total): the few
    # windows whose sum is that small are checked exactly against the non-zero differences.
    var_zero: NDArray[np.intp] | None = None
    suspects = np.flatnonzero(sd2 <= 1e-9 * float(np.sum(d2)))
    if suspects.size:
        nonzero = np.flatnonzero(d)
        lo, hi = start[suspects] + 1, stop[suspects]
        still = np.searchsorted(nonzero, hi) == np.searchsorted(nonzero, lo)
        zero = suspects[still]
        sd2[zero] = 0.0
        sd[zero] = 0.0
        if gap is not None:
            lo, hi = lo[still], hi[still]
            zero = zero[np.searchsorted(moving, hi) == np.searchsorted(moving, lo)]
        var_zero = zero  # every RR of the window equal

    with np.errstate(divide="ignore", invalid="ignore"):
        mean_rr = s1 / n
        mean_hr = shr / n
        s1c = s1 - n * centre
        var = np.maximum(s2 - s1c * s1c / n, 0.0) / (n - 1.0)
        if var_zero is not None:
            var[var_zero] = 0.0
        sdnn = np.sqrt(var)
        np.maximum(sd2, 0.0, out=sd2)
        rmssd = np.sqrt(sd2 / nd)
        dvar = np.maximum(sd2 - sd * sd / nd, 0.0) / (nd - 1.0)
        sdsd = np.sqrt(dvar)
        pnn50 = 100.0 * n_big / nd
        sd1 = math.sqrt(0.5) * sdsd
        sd2_ms = np.sqrt(np.maximum(2.0 * var - 0.5 * dvar, 0.0))
        ln_rmssd = np.log(rmssd)

    cols = {
        "mean_rr_ms": mean_rr,
        "sdnn_ms": sdnn,
        "rmssd_ms": rmssd,
        "sdsd_ms": sdsd,
        "pnn50_pct": pnn50,
        "sd1_ms": sd1,
        "sd2_ms": sd2_ms,
        "mean_hr_bpm": mean_hr,
        "ln_rmssd": ln_rmssd,
    }
    if var_zero is not None:
        ln_rmssd[~(rmssd > 0.0)] = np.nan
    if float(nd.min()) < 2.0:
        # too few beats or differences: NaN where the single-window function gives None
        few1, few2 = n < 1.0, n < 2.0
        dfew1, dfew2 = nd < 1.0, nd < 2.0
        for name, invalid in (
            ("mean_rr_ms", few1),
            ("sdnn_ms", few2),
            ("rmssd_ms", dfew1),
            ("sdsd_ms", dfew2),
            ("pnn50_pct", dfew1),
            ("sd1_ms", dfew2),
            ("sd2_ms", few2 | dfew2),
            ("mean_hr_bpm", few1),
            ("ln_rmssd", dfew1),
        ):
            _nan_where(cols[name], invalid)
    return {name: cols[name] for name in TIME_COLUMNS}


# --------------------------------------------------------------------------------------------
# Nonlinear: DFA alpha1 and the stress index, batched
# --------------------------------------------------------------------------------------------


def _box_residual_matrix(size: int) -> NDArray[np.float64]:
    """Matrix ``B`` (``size x size-1``) mapping a box's increments to its detrended profile.

    A box of the profile holds ``y[a], ..., y[a+size-1]`` with ``y[a+j] = y[a] + sum(u[a+1 ..
    a+j])``. The residuals of a least-squares line through the box do not depend on ``y[a]``
    (a constant) nor on any linear trend, so they are ``(I - H) L v`` with ``v`` the ``size-1``
    increments, ``L`` the lower-triangular summation matrix (first row zero) and ``H`` the hat
    matrix of ``[1, j]``.
    """
    lower = np.zeros((size, size - 1))
    for j in range(1, size):
        lower[j, :j] = 1.0
    design = np.column_stack([np.ones(size), np.arange(size, dtype=np.float64)])
    hat = design @ np.linalg.pinv(design)
    out: NDArray[np.float64] = (np.eye(size) - hat) @ lower
    return out


#: Beats per block of the batched box residuals (a ~4 MB temporary: stays in cache).
_DFA_CHUNK = 4096


def _box_residual_ss(rr: NDArray[np.float64], sizes: NDArray[np.int64]) -> NDArray[np.float64]:
    """Residual sum of squares of the DFA box ``[a, a + s)`` for every start ``a`` and size ``s``.

    Row ``a`` holds the increments ``u[a+1 .. a+s_max-1]`` (``u`` the RR centred on their mean;
    zero-padded past the end, where no box is ever used); one matrix product with the stacked
    ``(I - H) L`` maps them to the residuals of every box size at once (see
    :func:`_box_residual_matrix`), whose squares are summed per size. Returns ``(N, len(sizes))``.
    """
    s_max = int(sizes[-1])
    u = np.zeros(rr.size - 1 + s_max - 1)
    np.subtract(rr[1:], float(np.mean(rr)), out=u[: rr.size - 1])
    lagged = np.lib.stride_tricks.sliding_window_view(u, s_max - 1)  # (N, s_max - 1), a view
    blocks = [_box_residual_matrix(int(s)) for s in sizes]
    stacked = np.zeros((s_max - 1, sum(b.shape[0] for b in blocks)))
    col_start = np.zeros(len(blocks), dtype=np.int64)
    c = 0
    for j, b in enumerate(blocks):
        stacked[: b.shape[1], c : c + b.shape[0]] = b.T
        col_start[j] = c
        c += b.shape[0]
    out = np.empty((lagged.shape[0], len(blocks)))
    for a in range(0, lagged.shape[0], _DFA_CHUNK):
        resid = lagged[a : a + _DFA_CHUNK] @ stacked
        np.multiply(resid, resid, out=resid)
        out[a : a + _DFA_CHUNK] = np.add.reduceat(resid, col_start, axis=1)
    return out


def _dfa_column(
    rr: NDArray[np.float64], win: Windows, constant: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """DFA alpha1 of every window; same definition as :func:`hrv.dfa_alpha1` (4-16 beats).

    ``constant`` marks windows whose RR are all equal (F(n) = 0: alpha1 undefined, NaN).
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
    log_f = np.empty((idx.size, sizes.size))
    box_ss = _box_residual_ss(rr, sizes)
    for col, size in enumerate(sizes):
        s = int(size)
        ss = box_ss[:, col]
        # per-residue prefix sums: c[q, r] = sum of ss[q' * s + r] for q' <= q
        rows = -(-ss.size // s)
        padded = np.zeros(rows * s)
        padded[: ss.size] = ss
        c = np.cumsum(padded.reshape(rows, s), axis=0)
        boxes = nn // s
        q0 = lo // s
        r = lo % s
        q1 = q0 + boxes - 1
        total = c[q1, r] - np.where(q0 > 0, c[np.maximum(q0 - 1, 0), r], 0.0)
        # The boxes of the window starting at lo are lo + m*s; they share residue r only when
        # lo % s == r, which holds by construction (q*s + r == lo + m*s).
        with np.errstate(divide="ignore"):
            log_f[:, col] = 0.5 * np.log10(total / (boxes * s))
    lx = np.log10(sizes.astype(np.float64))
    lxc = lx - lx.mean()
    with np.errstate(invalid="ignore"):
        slope = (log_f - log_f.mean(axis=1, keepdims=True)) @ lxc / float(lxc @ lxc)
    finite = np.isfinite(log_f).all(axis=1)
    alpha[idx[finite]] = slope[finite]
    return alpha


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
    rr: NDArray[np.float64], win: Windows, bnd: _Boundaries
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
    rr: NDArray[np.float64], win: Windows, bnd: _Boundaries, mxdmn_ms: NDArray[np.float64]
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
    bins, code = np.unique(k, return_inverse=True)
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
) -> dict[str, NDArray[Any]]:
    """HRV metrics of every window of a recording, as columns.

    Windows as in ``docs/ARCHITECTURE.md``: beat ``i`` at ``t_s[i] = cumsum(rr_ms)[i] / 1000``;
    the window ending at ``t_end`` holds the beats with ``t_end - window_s < t_s <= t_end``, for
    ``t_end = window_s, window_s + step_s, ...`` up to the last beat time (inclusive). Every
    window's values equal the single-window functions on that slice (``gaps[first]`` of the
    slice is irrelevant): :func:`hrv.time_domain` (``"time"``), the ``FrequencyDomain`` function
    of ``hrv.frequency`` (``"frequency"``), ``hrv.coherence`` (``"coherence"``),
    :func:`hrv.dfa_alpha1` (4-16 beats) and :func:`hrv.stress_index` (50-ms bins) (``"nonlinear"``).
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
        is taken across it (time domain). ``None`` means no gaps.
    metrics : sequence of str, optional
        Groups to compute, any of ``"time"``, ``"frequency"``, ``"coherence"``,
        ``"nonlinear"`` (default: all four; ``None`` also means all).

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
    rr = as_rr_ms(rr_ms)
    gap_mask = as_gaps(gaps, rr.size) if gaps is not None else None
    if gap_mask is not None and not gap_mask[1:].any():
        gap_mask = None
    size = int(rr.size)
    work = _scratch(7 * size + 1)
    total_ms = work[5 * size : 6 * size + 1]
    _running_sum_ms(rr, total_ms, work[: 2 * size])
    t_s = np.divide(total_ms[1:], 1000.0, out=work[6 * size + 1 :])  # == cumsum(rr) / 1000
    win = window_bounds(t_s, window_s=window_s, step_s=step_s)
    n_beats = win.stop - win.start
    out: dict[str, NDArray[Any]] = {"t_s": win.t_end_s, "n_beats": n_beats}
    if win.t_end_s.size == 0:
        for name in _columns_of(groups):
            out[name] = np.empty(0, dtype=np.float64)
        return out
    bnd = _Boundaries(win, size)
    if "time" in groups:
        out.update(_time_columns(rr, gap_mask, win, bnd, total_ms, work[: 5 * size]))
    if "frequency" in groups or "coherence" in groups:
        out.update(_spectral_columns(rr, gap_mask, win, window_s, groups))
    if "nonlinear" in groups:
        mx, mn = _window_min_max(rr, win, bnd)
        out["dfa_alpha1"] = _dfa_column(rr, win, mx == mn)
        out["stress_index"] = _stress_column(rr, win, bnd, mx - mn)
    return out


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
) -> dict[str, float | None]:
    """The ``"frequency"``/``"coherence"`` values of one window: :func:`hrv.frequency_domain`
    and :func:`hrv.coherence` on its beats, with their times ``t_s`` on the recording's clock
    (the 4 Hz resampling grid is that clock's, as in :func:`rolling`)."""
    values: dict[str, float | None] = {}
    if "frequency" in groups:
        fd = frequency_domain(rr, gaps=gap, t_s=t_s)
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
) -> dict[str, NDArray[np.float64]]:
    """Spectral columns of every window from B's batched :func:`hrv.coherence.spectral_windows`
    (one resampling of the recording, batched FFTs)."""
    wanted = tuple(g for g in groups if g in ("frequency", "coherence"))
    return spectral_windows(rr, t_end_s=win.t_end_s, window_s=window_s, gaps=gap, groups=wanted)
