"""Windows of a recording: their ends, beat ranges and boundary sums (private to ``hrv``).

``docs/ARCHITECTURE.md`` ("Windows") defines them: beat ``i`` happens at
``t_s[i] = cumsum(rr_ms)[i] / 1000``; the window ending at ``t_end`` holds the beats with
``t_end - window_s < t_s <= t_end``, for ``t_end = window_s + k * step_s`` (``k = 0, 1, ...``)
while ``t_end <= t_s[-1]``. :mod:`hrv.rolling` and :mod:`hrv.streaming` both use these
functions, so their windows are the same beats.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Boundaries",
    "Windows",
    "bounds_by_count",
    "running_sum_dd",
    "scratch_rows",
    "window_bounds",
    "window_ends",
]


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

    def count_upto(keys_s: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.searchsorted(t_s, keys_s, side="right").astype(np.int64, copy=False)

    return bounds_by_count(
        count_upto, float(t_s[-1]) if n else -math.inf, window_s=window_s, step_s=step_s
    )


def bounds_by_count(
    count_upto: Callable[[NDArray[np.float64]], NDArray[np.int64]],
    t_last_s: float,
    *,
    window_s: float,
    step_s: float,
) -> Windows:
    """:func:`window_bounds` from ``count_upto(keys)``: how many beats have ``t_s <= key``.

    ``keys`` are non-decreasing times (s); ``t_last_s`` is the last beat's time (``-inf``
    without beats). Lets a caller search its own representation of the beat times.
    """
    t_end = window_ends(t_last_s, window_s, step_s)
    stop = count_upto(t_end)
    lower = t_end - window_s
    n_win = int(t_end.size)
    ratio = window_s / step_s
    m = round(ratio)
    stride = 0
    if m >= 1 and m == ratio and n_win > m and np.array_equal(lower[m:], t_end[:-m]):
        stride = m
        start = np.empty(n_win, dtype=np.int64)
        start[m:] = stop[:-m]
        start[:m] = count_upto(lower[:m])
    else:
        start = count_upto(lower)
    return Windows(t_end_s=t_end, start=start, stop=stop, stride=stride)


class Boundaries:
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
        self.n_beats = n_beats
        self.n_windows = k
        self.stride = m

    @cached_property
    def n_inner(self) -> int:
        """How many boundaries are below ``n_beats`` (``reduceat`` needs indices < n)."""
        return int(np.searchsorted(self.bounds, self.n_beats, side="left"))

    @cached_property
    def inner(self) -> NDArray[np.int64]:
        """The boundaries below ``n_beats``: where :meth:`prefix`'s segments start."""
        return self.bounds[: self.n_inner]

    @cached_property
    def empty_idx(self) -> NDArray[np.intp]:
        """Segments without beats (equal consecutive boundaries)."""
        inner = self.inner
        return np.flatnonzero(inner[:-1] == inner[1:])

    def segment_sums(self, x: NDArray[Any]) -> NDArray[Any]:
        """``seg[j] = sum(x[bounds[j]:bounds[j + 1]])`` for every segment between boundaries.

        ``np.add.reduceat`` over the boundaries below ``n_beats``; empty segments give 0.
        """
        nb = int(self.bounds.size)
        seg = np.zeros(max(nb - 1, 0), dtype=x.dtype)
        if self.n_inner == 0:
            return seg
        sums = np.add.reduceat(x, self.inner)
        if self.empty_idx.size:
            sums[self.empty_idx] = 0  # reduceat gives x[i] (not 0) for an empty segment [i, i)
        if self.n_inner == nb:
            seg[:] = sums[:-1]  # the last one runs past the last boundary: in no window
        else:
            seg[: self.n_inner] = sums  # later segments lie between boundaries equal to n
        return seg

    def window_sum(self, x: NDArray[Any]) -> NDArray[Any]:
        """``sum(x[start[k]:stop[k]])`` for every window ``k`` (float or complex ``x``).

        Accurate to a few ulps of the window's own sum of ``|x|``, however large the values
        before it: the running sum over segments is carried in two floats (each addition's
        rounding error recovered exactly by Knuth's TwoSum and summed separately), so a huge
        value early in a recording (the square of a 400-s pause, say) does not cost later
        windows their digits.
        """
        return self._window_sums(self.segment_sums(x), self.window_diff)

    def window_sum_inside(self, x: NDArray[Any]) -> NDArray[Any]:
        """``sum(x[start[k] + 1 : stop[k]])`` for every window (0 without two beats).

        For per-beat quantities of a beat's difference with the beat before: a window's own
        differences are those into its beats after the first. Segment sums leave out each
        segment's first beat, and the values at the boundary beats are added back for the
        boundaries strictly inside each window (so a window never subtracts its first value
        from a sum holding it, which would cancel digits when that value is huge).
        """
        inner = self.inner
        at = x[inner]
        x[inner] = 0
        interior = self._window_sums(self.segment_sums(x), self.window_diff)
        x[inner] = at
        # distinct boundary beats, and the rank of each boundary among them
        bounds = self.bounds
        new = np.ones(bounds.size, dtype=np.bool_)
        np.not_equal(bounds[1:], bounds[:-1], out=new[1:])
        rank = np.cumsum(new) - 1
        beats = bounds[new]
        vals = np.zeros(beats.size, dtype=x.dtype)
        real = beats < self.n_beats
        vals[real] = x[beats[real]]
        rank_start, rank_stop = rank[self.pos_start], rank[self.pos_stop]

        def between(q: NDArray[Any]) -> NDArray[Any]:
            # boundary beats b with start < b < stop: ranks rank_start + 1 .. rank_stop - 1
            out: NDArray[Any] = q[rank_stop] - q[np.minimum(rank_start + 1, rank_stop)]
            return out

        out: NDArray[Any] = interior + self._window_sums(vals, between)
        return out

    @staticmethod
    def _window_sums(
        values: NDArray[Any], take: Callable[[NDArray[Any]], NDArray[Any]]
    ) -> NDArray[Any]:
        """``take(Q)`` of the exclusive running sum ``Q`` of ``values``, in double-double."""
        hi = np.zeros(values.size + 1, dtype=values.dtype)
        lo = np.zeros_like(hi)
        running_sum_dd(values, out=(hi[1:], lo[1:]))
        out: NDArray[Any] = take(hi) + take(lo)
        return out

    def window_diff(self, q: NDArray[Any]) -> NDArray[Any]:
        """``q[..., stop] - q[..., start]`` of every window, from ``q`` at the boundaries.

        ``q[..., j]`` is a running sum taken at boundary ``bounds[j]`` (an exclusive
        cumulative sum indexed by :attr:`bounds`).
        """
        k = self.n_windows
        if self.stride:
            m = self.stride
            out: NDArray[Any] = q[..., m : m + k] - q[..., :k]
        else:
            out = q[..., self.pos_stop] - q[..., self.pos_start]
        return out


_local = threading.local()
#: Largest scratch buffer kept per thread, in float64 elements (16 MB).
_SCRATCH_MAX = 2**21


def scratch_rows(rows: int, n: int) -> NDArray[np.float64]:
    """A C-contiguous ``(rows, m)`` float64 scratch block, ``m >= n + 1`` and even.

    Reused across calls in the same thread: fresh multi-megabyte temporaries cost more in page
    faults than the arithmetic done in them (a 24-hour recording is 0.85 MB per array), so the
    per-beat intermediates of :func:`hrv.rolling` live here. A row holds one per-beat array plus
    a leading running-sum slot; an even width keeps every row 16-byte aligned for complex
    views, and consecutive rows form one contiguous stretch. Nothing returned to a caller of
    ``hrv`` may point into it. Blocks over :data:`_SCRATCH_MAX` elements are not kept.
    """
    m = n + 2 - n % 2
    size = rows * m
    if size > _SCRATCH_MAX:
        return np.empty((rows, m), dtype=np.float64)
    buf: NDArray[np.float64] | None = getattr(_local, "buf", None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.float64)
        _local.buf = buf
    return buf[:size].reshape(rows, m)


def running_sum_dd(
    values: NDArray[Any],
    axis: int = 0,
    out: tuple[NDArray[Any], NDArray[Any]] | None = None,
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Inclusive running sum of ``values`` along ``axis`` as an unevaluated pair ``hi + lo``.

    ``hi`` is ``np.cumsum``'s float sum; ``lo`` the running sum of the exact rounding error of
    each of its additions (TwoSum, Knuth 1969), so ``hi + lo`` carries about twice the digits:
    a difference of two running sums keeps its own digits even after a huge value earlier on
    (``(hi[b] - hi[a]) + (lo[b] - lo[a])``). Float or complex values (componentwise).

    References
    ----------
    Knuth D.E. (1969). The Art of Computer Programming, vol. 2, section 4.2.2 (TwoSum).
    Ogita T., Rump S.M., Oishi S. (2005). Accurate sum and dot product. SIAM J. Sci. Comput.
    26(6), 1955-1988.
    """
    hi, lo = out if out is not None else (np.empty_like(values), np.empty_like(values))
    np.cumsum(values, axis=axis, out=hi)  # sequential: hi[j] = fl(hi[j - 1] + values[j])
    # TwoSum of hi[j] = fl(before + v) with before = hi[j - 1], v = values[j]:
    # err = (before - (hi - bv)) + (v - bv), bv = hi - before; at j = 0 (before = 0) it is 0
    err = np.empty_like(hi)
    first = [slice(None)] * hi.ndim
    cur = [slice(None)] * hi.ndim
    prev = [slice(None)] * hi.ndim
    first[axis], cur[axis], prev[axis] = slice(0, 1), slice(1, None), slice(None, -1)
    err[tuple(first)] = 0.0
    e, h, before, v = err[tuple(cur)], hi[tuple(cur)], hi[tuple(prev)], values[tuple(cur)]
    np.subtract(h, before, out=e)  # bv
    tmp = h - e
    np.subtract(before, tmp, out=tmp)
    np.subtract(v, e, out=e)
    e += tmp
    np.cumsum(err, axis=axis, out=lo)
    return hi, lo
