"""Nonlinear and geometric HRV metrics of one RR series: DFA alpha1 and Baevsky's stress index.

- :func:`dfa_alpha1`: short-term scaling exponent of detrended fluctuation analysis (Peng et al.
  1995) over box sizes ``n_min..n_max`` beats (default 4-16), non-overlapping boxes, never
  across a gap (``gaps=``: boxes are laid within each run of beats between gaps).
- :func:`stress_index`: Baevsky's stress index SI = AMo / (2 Mo MxDMn) on a 50-ms histogram
  (Baevsky & Chernikova 2017), reported *without* the square root that Kubios applies. It
  takes no gaps: a histogram of the intervals and their range use no pairs of neighbours, so a
  gap joins nothing (the intervals on either side are each counted once, as they should be).

Poincaré SD1/SD2 live in :func:`hrv.time_domain` (they are functions of SDNN and SDSD).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError

__all__ = ["Dfa", "StressIndex", "dfa_alpha1", "dfa_settings", "stress_index"]


@dataclass(frozen=True, slots=True)
class Dfa:
    """Short-term DFA scaling exponent; ``alpha1`` is ``None`` when there are too few beats.

    ``n_beats`` is the number of RR intervals given.
    """

    alpha1: float | None
    n_beats: int


@dataclass(frozen=True, slots=True)
class StressIndex:
    """Baevsky's stress index and its parts (see :func:`stress_index`).

    ``value`` is SI = AMo / (2 Mo MxDMn) with Mo and MxDMn in seconds (not square-rooted);
    ``mode_ms`` the centre of the modal histogram bin; ``amo_pct`` the percentage of beats in
    that bin; ``mxdmn_ms`` = max - min of the RR intervals. Fields are ``None`` when there are too
    few beats (``value`` also when all intervals are equal, where SI is unbounded).
    """

    value: float | None
    mode_ms: float | None
    amo_pct: float | None
    mxdmn_ms: float | None
    n_beats: int


#: F(n) at or below this fraction of mean RR is rounding noise of a flat profile (1e-6 ms at
#: 1000 ms; real RR resolution is ~1 ms): the exponent is then undefined and reported as None.
_FLAT_REL = 1e-9


#: F(n) of every box size in one pass over a box layout (:func:`_fluctuations`) when the layout
#: holds at most this many points: (number of box sizes) x (beats), 13,000 = about 1,000 beats
#: at the default sizes 4-16 (a live window of 60 s holds about 50-130); bigger ones one size at
#: a time (:func:`_fluctuation`). Measured (code review, CPU per call, one pass against per
#: size): 0.12x at 130 beats, 0.85x at 1,000, 1.05x at 1,200, 1.64x at 2,048; and a layout
#: grows with the box sizes too (90 MB at 2,048 beats with sizes 4-1024).
_ONE_PASS_MAX_POINTS = 13_000
#: Gap-free layouts of at most this many points (512 beats at the default sizes) come from a
#: cache of ``_LAYOUT_CACHE_SIZE`` (a live session's windows differ by a few beats from one to
#: the next; a layout is ~35 KB at 100 beats and 13 sizes, so the cache holds at most ~3 MB,
#: ~0.6 MB live, whatever the box sizes). Layouts with gaps are built per call (they change
#: with every window that holds the gap).
_LAYOUT_CACHE_MAX_POINTS = 13 * 512
_LAYOUT_CACHE_SIZE = 16


def _box_starts(runs: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """First index of every full box of ``n`` points laid from the start of each run.

    ``runs`` is ``(k, 2)``: each run's first index and length. The remainder of a run (fewer
    than ``n`` points at its end) is dropped, as at the end of a series without gaps.
    """
    counts = runs[:, 1] // n
    total = int(counts.sum())
    # the k-th box of its run: run start + n * (its rank within the run)
    first_box = np.cumsum(counts) - counts
    rank = np.arange(total, dtype=np.int64) - np.repeat(first_box, counts)
    return np.repeat(runs[:, 0], counts) + n * rank


def _fluctuation(profile: NDArray[np.float64], n: int, runs: NDArray[np.int64]) -> float:
    """Root-mean-square residual of a least-squares line fitted in each full box of ``n`` points.

    Boxes lie within the runs (``_box_starts``); without gaps (one run) they are
    ``profile[: m * n].reshape(m, n)``. One box size at a time, for layouts of more than
    ``_ONE_PASS_MAX_POINTS`` (:func:`_fluctuations` does every size in one pass).
    """
    starts = _box_starts(runs, n)
    boxes = profile[starts[:, None] + np.arange(n)[None, :]]
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0  # centred abscissa: sum(x) == 0
    sxx = float(np.dot(x, x))
    slope = boxes @ x / sxx  # least-squares slope per box
    resid = boxes - boxes.mean(axis=1, keepdims=True) - slope[:, None] * x[None, :]
    return math.sqrt(float(np.mean(resid * resid)))


@dataclass(frozen=True)
class _BoxLayout:
    """Where the DFA boxes of every box size lie in the profile, flat (read-only arrays).

    The boxes are listed by size, then by run, then from the run's start; ``index`` holds the
    profile index of each of their points in that order (``index.size`` is the sum over the
    sizes of boxes * size). ``x`` is each point's centred abscissa ``j - (n - 1) / 2`` within
    its box of ``n``; ``box`` the box each point belongs to; ``box_ptr`` the first point of
    each box, ``box_n`` its size and ``box_sxx`` its ``sum x**2 = n (n**2 - 1) / 12``;
    ``size_ptr`` the first point of each size and ``size_points`` its number of points
    (boxes * n).
    """

    index: NDArray[np.intp]
    x: NDArray[np.float64]
    box: NDArray[np.intp]
    box_ptr: NDArray[np.intp]
    box_n: NDArray[np.float64]
    box_sxx: NDArray[np.float64]
    size_ptr: NDArray[np.intp]
    size_points: NDArray[np.float64]


def _box_layout(run_lengths: tuple[int, ...], n_min: int, n_max: int) -> _BoxLayout:
    """The boxes of the sizes ``n_min..n_max`` in runs that follow each other from index 0.

    A run of ``L`` points holds ``floor(L / n)`` boxes of ``n`` from its start (the remainder at
    its end is dropped, as at the end of a series without gaps); every size must have a box.
    """
    lengths = np.array(run_lengths, dtype=np.intp)
    starts = np.cumsum(lengths) - lengths
    n = np.arange(n_min, n_max + 1, dtype=np.intp)
    counts = (lengths[None, :] // n[:, None]).ravel()  # (size, run) pairs, size-major
    pair_size = np.repeat(n, lengths.size)
    pair_start = np.tile(starts, n.size)
    n_boxes = int(counts.sum())
    # the k-th box of its (size, run) pair starts at run start + k * size
    first_box = np.cumsum(counts) - counts
    rank = np.arange(n_boxes, dtype=np.intp) - np.repeat(first_box, counts)
    box_size = np.repeat(pair_size, counts)
    box_start = np.repeat(pair_start, counts) + rank * box_size
    box_ptr = np.cumsum(box_size) - box_size
    n_points = int(box_size.sum())
    box = np.repeat(np.arange(n_boxes, dtype=np.intp), box_size)
    j = np.arange(n_points, dtype=np.intp) - box_ptr[box]  # position within the box
    index = box_start[box] + j
    x = j - (box_size[box] - 1) / 2.0  # centred abscissa: sum(x) == 0 in every box
    size_boxes = np.add.reduceat(counts, np.arange(0, counts.size, lengths.size))
    size_points = size_boxes * n
    size_ptr = np.cumsum(size_points) - size_points
    bs = box_size.astype(np.float64)
    layout = _BoxLayout(
        index=index,
        x=x,
        box=box,
        box_ptr=box_ptr,
        box_n=bs,
        box_sxx=bs * (bs * bs - 1.0) / 12.0,
        size_ptr=size_ptr,
        size_points=size_points.astype(np.float64),
    )
    for field in dataclasses.fields(layout):  # shared by every call that gets it from the cache
        getattr(layout, field.name).flags.writeable = False
    return layout


#: :func:`_box_layout`, cached (gap-free windows of a live session: one layout per beat count).
_cached_box_layout = lru_cache(maxsize=_LAYOUT_CACHE_SIZE)(_box_layout)


@lru_cache(maxsize=16)
def _log_sizes(n_min: int, n_max: int) -> tuple[NDArray[np.float64], float]:
    """``log10 n`` of the box sizes ``n_min..n_max``, centred, and its sum of squares."""
    lx = np.log10(np.arange(n_min, n_max + 1).astype(np.float64))
    lxc = lx - lx.mean()
    lxc.flags.writeable = False
    return lxc, float(np.dot(lxc, lxc))


def _fluctuations(profile: NDArray[np.float64], layout: _BoxLayout) -> NDArray[np.float64]:
    """``F(n)`` of each size of ``layout``: RMS residual of a least-squares line in each box.

    Per box (as a line fit with the centred abscissa ``x``): the box's values less their mean,
    ``v``; the slope ``sum(x v) / sum(x**2)``; the residuals ``v - slope * x``. ``F(n)`` is the
    root mean square of the residuals over all boxes of size ``n``. Taking the box mean off
    first keeps the digits of a profile far from zero (a long pause moves it by seconds): an
    error ``d`` in the mean adds only ``d**2`` per point to the squared residuals.
    """
    v = profile[layout.index]  # a copy: the boxes' points, box after box
    v -= (np.add.reduceat(v, layout.box_ptr) / layout.box_n)[layout.box]
    xv = v * layout.x
    slope = np.add.reduceat(xv, layout.box_ptr) / layout.box_sxx
    np.multiply(slope[layout.box], layout.x, out=xv)
    v -= xv
    v *= v
    out: NDArray[np.float64] = np.sqrt(np.add.reduceat(v, layout.size_ptr) / layout.size_points)
    return out


def dfa_alpha1(rr_ms: Any, *, n_min: int = 4, n_max: int = 16, gaps: Any = None) -> Dfa:
    """Short-term scaling exponent alpha1 of detrended fluctuation analysis.

    Exactly (Peng et al. 1995, first-order DFA):

    1. profile ``y = cumsum(rr - mean(rr))`` (``rr`` in ms);
    2. for every integer box size ``n`` in ``n_min..n_max``: split ``y`` into
       ``floor(N / n)`` non-overlapping boxes of ``n`` points from the start (the remainder at
       the end is dropped), fit a least-squares straight line in each box and take
       ``F(n) = sqrt(mean of the squared residuals over all full boxes)``;
    3. ``alpha1`` = the least-squares slope of ``log10 F(n)`` on ``log10 n`` (every box size
       weighted equally).

    With ``gaps`` (beats that do not follow their predecessor) the series is a set of runs
    between gaps, and no box may span a gap: the intervals either side of one are not
    neighbours, and a box across the join would fit a line through a jump of unknown time.
    The profile is still ``cumsum(rr - mean(rr))`` over all intervals (a line fitted in a box
    removes any offset, so each run's profile is its own up to a constant), and the boxes of
    size ``n`` are laid from the start of each run, ``floor(L / n)`` per run of ``L``
    intervals (each run's remainder dropped, as the series' remainder is without gaps);
    ``F(n)`` is the root mean square over the boxes of every run. Without gaps this is
    exactly the definition above.

    Requires at least two boxes of the largest size (``N >= 2 * n_max`` intervals without
    gaps; with gaps, two boxes of ``n_max`` within runs), else ``alpha1`` is ``None``.
    ``alpha1`` is also ``None`` when some ``F(n)`` is zero up to rounding
    (``F(n) <= 1e-9 * mean(rr)``, e.g. constant RR), where the exponent is undefined. White
    noise gives about 0.5 asymptotically (about 0.58 at box sizes 4-16: the small-scale bias of
    DFA), 1/f noise about 1.0 and Brownian motion (integrated white noise) about 1.5; healthy
    adults at rest are typically between about 1.0 and 1.5.

    NeuroKit2's ``hrv_nonlinear`` differs by default: box sizes 4-11 and boxes overlapping by
    half; ``nk.fractal_dfa(rr, scale=range(4, 17), overlap=False)`` computes this definition
    (the slope does not depend on the base of the logarithm).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0).
    n_min, n_max : int
        Smallest and largest box size in beats; ``3 <= n_min < n_max``.
    gaps : array_like of bool, optional
        ``gaps[i]`` True means interval ``i`` does not follow interval ``i-1`` (``gaps[0]`` is
        ignored); boxes never span one. ``None``: no gaps.

    Returns
    -------
    Dfa
        ``alpha1`` (or ``None``) and ``n_beats``.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms`` or ``gaps`` (see ``hrv._validate``) or box sizes out of range.

    References
    ----------
    Peng C.-K., Havlin S., Stanley H.E., Goldberger A.L. (1995). Quantification of scaling
    exponents and crossover phenomena in nonstationary heartbeat time series. Chaos 5(1), 82-87.
    Tarvainen M.P. et al. (2014). Kubios HRV - heart rate variability analysis software.
    Comput Methods Programs Biomed 113(1), 210-220 (alpha1 over 4-16 beats).
    """
    if isinstance(n_min, bool) or not isinstance(n_min, int | np.integer):
        raise HrvInputError(f"n_min: expected an integer number of beats, got {n_min!r}")
    if isinstance(n_max, bool) or not isinstance(n_max, int | np.integer):
        raise HrvInputError(f"n_max: expected an integer number of beats, got {n_max!r}")
    if n_min < 3:
        raise HrvInputError(
            f"n_min: must be >= 3 beats (a line through 2 points fits exactly), got {n_min}"
        )
    if n_max <= n_min:
        raise HrvInputError(f"n_max: must be greater than n_min={n_min}, got {n_max}")
    rr = as_rr_ms(rr_ms)
    n_beats = int(rr.size)
    gap = as_gaps(gaps, n_beats)
    if n_beats < 2 * n_max:
        return Dfa(alpha1=None, n_beats=n_beats)
    # runs between gaps: their lengths, one after the other from index 0
    cuts = np.flatnonzero(gap[1:]) + 1
    if cuts.size == 0:
        lengths = np.array([n_beats])
    else:
        lengths = np.diff(np.concatenate(([0], cuts, [n_beats])))
    if int(np.sum(lengths // n_max)) < 2:
        return Dfa(alpha1=None, n_beats=n_beats)
    mean_rr = rr.mean()
    profile = np.cumsum(rr - mean_rr)
    points = (int(n_max) - int(n_min) + 1) * n_beats
    if points <= _ONE_PASS_MAX_POINTS:  # every size in one pass
        key = tuple(lengths.tolist())
        if len(key) == 1 and points <= _LAYOUT_CACHE_MAX_POINTS:
            layout = _cached_box_layout(key, int(n_min), int(n_max))
        else:
            layout = _box_layout(key, int(n_min), int(n_max))
        f = _fluctuations(profile, layout)
    else:  # one size at a time: the gathered boxes stay about N points
        runs = np.stack((np.cumsum(lengths) - lengths, lengths), axis=1).astype(np.int64)
        f = np.array([_fluctuation(profile, n, runs) for n in range(int(n_min), int(n_max) + 1)])
    if not np.all(f > _FLAT_REL * float(mean_rr)):
        return Dfa(alpha1=None, n_beats=n_beats)
    lxc, sxx = _log_sizes(int(n_min), int(n_max))
    ly = np.log10(f)
    alpha = float(np.dot(lxc, ly - ly.mean()) / sxx)
    return Dfa(alpha1=alpha, n_beats=n_beats)


def dfa_settings() -> dict[str, Any]:
    """How :func:`dfa_alpha1` computes with its defaults, as a JSON-ready dict.

    ``n_min`` and ``n_max`` (read from the signature, never retyped) and ``boxes``, the rule
    for the boxes: non-overlapping, a straight line fitted in each, none across a gap. The one
    text that ``hrvpace analyze`` (``method_parameters``) and the live sessions
    (:func:`hrv.live_settings`) record, so that an output says which rule its alpha1 follows
    (windows that held a gap were computed with boxes across it before the rule came in).

    Examples
    --------
    >>> dfa_settings()["n_min"], dfa_settings()["n_max"]
    (4, 16)
    """
    params = inspect.signature(dfa_alpha1).parameters
    return {
        "n_min": params["n_min"].default,
        "n_max": params["n_max"].default,
        "boxes": "non-overlapping, linear detrend per box, none across a gap",
    }


def stress_index(rr_ms: Any, *, bin_ms: float = 50.0) -> StressIndex:
    """Baevsky's stress index SI = AMo / (2 Mo MxDMn), not square-rooted.

    Exactly: histogram bins of width ``bin_ms`` anchored at 0 ms (interval ``rr`` falls in bin
    ``k = floor(rr / bin_ms)``); the modal bin is the one with the most intervals, the lowest
    such bin on ties. Then

    - ``amo_pct`` (AMo) = 100 * (intervals in the modal bin) / N;
    - ``mode_ms`` (Mo) = centre of the modal bin, ``(k + 0.5) * bin_ms``;
    - ``mxdmn_ms`` (MxDMn) = ``max(rr) - min(rr)``;
    - ``value`` = AMo / (2 * Mo[s] * MxDMn[s]) with Mo and MxDMn in **seconds**.

    Kubios HRV reports the square root of this quantity as its "Stress index" (to make it closer
    to normally distributed); compare ``sqrt(value)`` with Kubios. SI rises under mental or
    physical load (sympathetic activation narrows the RR histogram: AMo up, MxDMn down).

    ``mode_ms``, ``amo_pct`` and ``mxdmn_ms`` need ``N >= 1``; ``value`` needs ``N >= 2`` and
    ``MxDMn > 0`` (with all intervals equal SI is unbounded): otherwise those fields are ``None``.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0).
    bin_ms : float
        Histogram bin width in ms (50 ms in Baevsky's method), finite and > 0.

    Returns
    -------
    StressIndex
        ``value``, ``mode_ms``, ``amo_pct``, ``mxdmn_ms`` and ``n_beats``.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms`` (see ``hrv._validate``) or a ``bin_ms`` that is not finite and > 0.

    References
    ----------
    Baevsky R.M., Chernikova A.G. (2017). Heart rate variability analysis: physiological
    foundations and main methods. Cardiometry 10, 66-76. doi:10.12710/cardiometry.2017.10.6676
    Tarvainen M.P., Lipponen J., Niskanen J.-P., Ranta-aho P.O. (2021). Kubios HRV (ver. 3.5)
    user's guide (stress index as the square root of Baevsky's SI).
    """
    if isinstance(bin_ms, bool) or not isinstance(bin_ms, int | float | np.floating | np.integer):
        raise HrvInputError(f"bin_ms: expected a number of milliseconds, got {bin_ms!r}")
    width = float(bin_ms)
    if not math.isfinite(width) or width <= 0.0:
        raise HrvInputError(f"bin_ms: must be finite and > 0, got {bin_ms!r}")
    rr = as_rr_ms(rr_ms)
    n = int(rr.size)
    if n == 0:
        return StressIndex(value=None, mode_ms=None, amo_pct=None, mxdmn_ms=None, n_beats=0)
    k = np.floor(rr / width).astype(np.int64)
    bins, counts = np.unique(k, return_counts=True)  # bins sorted ascending
    top = int(np.argmax(counts))  # argmax returns the first, i.e. lowest, bin on ties
    mode_bin = int(bins[top])
    amo_pct = 100.0 * float(counts[top]) / n
    mode_ms = (mode_bin + 0.5) * width
    mxdmn_ms = float(rr.max() - rr.min())
    value: float | None = None
    if n >= 2 and mxdmn_ms > 0.0:
        value = amo_pct / (2.0 * (mode_ms / 1000.0) * (mxdmn_ms / 1000.0))
    return StressIndex(value=value, mode_ms=mode_ms, amo_pct=amo_pct, mxdmn_ms=mxdmn_ms, n_beats=n)
