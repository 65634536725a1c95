"""Time-domain columns of :func:`hrv.rolling` from running sums (private to ``hrv``).

Every window's time-domain metrics follow from a few sums over its beats: sum of RR, of RR
squared, of the instantaneous heart rate ``60000 / rr``, of the successive differences and
their squares, the number of differences over 50 ms, and for SD2 the sums of adjacent pairs
``rr[i-1] + rr[i]`` and their squares. Each sum is a difference of a running (cumulative) sum
taken at the window's two ends, so a whole recording costs a few passes over its beats,
whatever the number of windows. (On the grid the pair sums need no running sum of their own:
every beat of a window but its first and last is in two of its pairs, and
``(a + b)**2 = 2 (a**2 + b**2) - (a - b)**2``.)

Two ways to the same numbers:

- **On a grid** (every RR an exact multiple of ``2**-16`` ms, as recorded data is: a strap's
  RR come in 1/1024 s, PhysioNet's in 1/128 s or the ECG's sample period, text files in whole
  ms): RR are integers ``R = rr * 2**k`` for the smallest such ``k``, and every sum but the
  heart rate's is an int64 cumulative sum, exact; the variance numerators
  ``n * sum(R**2) - sum(R)**2`` are exact integers too (Cauchy-Schwarz: 0 exactly when every RR
  is equal). The heart rate is summed in fixed point of at least ``2**30`` units per bpm
  (error below ``1e-9`` bpm in a window's mean). Integer adds are also several times faster
  than float adds in a running sum (one cycle of latency, not four).
- **Off the grid** (or when int64 could overflow): float sums. RR are centred on a typical RR
  (the median) before squaring (Chan, Golub & LeVeque 1983) and summed per segment between
  window boundaries by ``np.add.reduceat``, two quantities per complex array; the running sums
  over segments are double-double, so a huge value (an hours-long RR) costs no other window
  its digits; windows whose differences are all exactly 0 are found exactly so they give 0
  like the direct formula.

Both agree with :func:`hrv.time_domain` on each window's slice to about 1e-11 relative
(tested to 1e-9 in ``tests/hrv/test_rolling.py``).

References
----------
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation 93(5), 1043-1065.
Chan T.F., Golub G.H., LeVeque R.J. (1983). Algorithms for computing the sample variance:
analysis and recommendations. The American Statistician 37(3), 242-247.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hrv._windows import Boundaries, Windows
from hrv.time_domain import PNN50_THRESHOLD_MS

__all__ = ["Timeline", "beat_timeline", "time_columns"]

#: RR on a grid of ``2**-k`` ms, ``k <= GRID_BITS``, are summed as integers.
GRID_BITS = 16
_GRID = float(2**GRID_BITS)
#: Running integer sums must stay below this (int64, with a bit to spare).
_INT_LIMIT = 2.0**62
#: Fewest fixed-point units per bpm for the integer heart-rate sum.
_HR_MIN_UNIT = 2.0**30


@dataclass(frozen=True)
class Timeline:
    """Beat times of a recording as a running sum of its RR, in scratch memory.

    Attributes
    ----------
    t_last_s
        Time of the last beat (s), ``-inf`` without beats.
    grid_bits
        ``k`` when every RR is a multiple of ``2**-k`` ms (then summed exactly as integers),
        else ``None``.
    grid
        ``rr_ms * 2**k`` as int64 on the grid, else ``None``.
    total
        Exclusive running sum of RR, ``total[i] = sum(rr[:i])`` (``rr.size + 1`` values): int64
        in units of ``2**-k`` ms on the grid, float64 ms otherwise.
    t_s
        Beat times ``total[1:] / 1000`` (s) off the grid, else ``None`` (not needed).
    """

    t_last_s: float
    grid_bits: int | None
    grid: NDArray[np.int64] | None
    total: NDArray[np.int64] | NDArray[np.float64]
    t_s: NDArray[np.float64] | None

    def count_upto(self, keys_s: NDArray[np.float64]) -> NDArray[np.int64]:
        """How many beats have ``t_s <= key``, for each key (s, non-decreasing).

        ``t_s = cumsum(rr) / 1000`` in float64, exactly as :func:`hrv.rolling` defines it.
        """
        if self.grid_bits is None:
            assert self.t_s is not None
            return np.searchsorted(self.t_s, keys_s, side="right").astype(np.int64, copy=False)
        last = _last_units_upto(keys_s, self.grid_bits)
        return np.searchsorted(self.total[1:], last, side="right").astype(np.int64, copy=False)


def _time_s(units: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    """``t_s`` of a running sum of ``units`` (``2**-k`` ms): ``fl(fl(units * 2**-k) / 1000)``."""
    out = units.astype(np.float64)  # exact below 2**53
    out *= 2.0**-k  # exact: a power of two
    out /= 1000.0
    return out


def _last_units_upto(keys_s: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Largest running sum ``u`` (units of ``2**-k`` ms) with ``t_s(u) <= key``, per key.

    ``t_s(u)`` is non-decreasing in ``u``, so "``t_s <= key``" is "``u <= `` this". The first
    guess ``floor(key * 1000 * 2**k)`` is off by at most a unit or two (rounding of the
    product and of ``t_s`` itself); it is corrected by evaluating ``t_s`` as rolling does.
    """
    u = np.floor(keys_s * 1000.0 * 2.0**k).astype(np.int64)
    for _ in range(16):
        up = _time_s(u + 1, k) <= keys_s
        down = _time_s(u, k) > keys_s
        if not (up.any() or down.any()):
            return u
        u += up
        u -= down
    raise AssertionError("window boundary search did not settle")  # pragma: no cover


def _grid_bits(head: NDArray[np.float64]) -> int | None:
    """Smallest ``k <= 16`` with every value of ``head`` a multiple of ``2**-k`` (else None)."""
    scaled = head * _GRID
    if not float(scaled.max()) < 2.0**62:
        return None
    ints = scaled.astype(np.int64)
    if not np.array_equal(ints, scaled):
        return None
    low = int(np.bitwise_or.reduce(ints))
    if low == 0:
        return 0
    return GRID_BITS - min((low & -low).bit_length() - 1, GRID_BITS)


def beat_timeline(rr: NDArray[np.float64], rr_max: float, rows: NDArray[np.float64]) -> Timeline:
    """The running sum of ``rr`` (``rr_max`` its largest value), bit for bit as in float64.

    The running sum is the float64 one of adding left to right (``np.cumsum``, and the
    streaming analyser's ``total += rr`` beat by beat), so rolling and streaming put every
    beat on the same side of every window boundary. When every RR is a multiple of ``2**-k``
    ms and the total stays below ``2**53`` such units, every partial sum is exactly
    representable: the float running sum is then exact and equal to the int64 cumulative sum
    of ``rr * 2**k``, which is what is computed (about ten times faster than a float
    ``cumsum``, whose adds wait on each other). ``k`` is the finest grid of the first 256 RR;
    a series that leaves it later, or lies on no grid of ``2**-16`` ms, takes ``np.cumsum``.

    ``rows`` is scratch of :func:`hrv._windows.scratch_rows` with at least 4 rows; the result
    lives in rows 0-2.
    """
    n = int(rr.size)
    k = _grid_bits(rr[:256]) if n else None
    if k is not None and rr_max * 2.0**k * n < 2.0**53:
        scaled = np.multiply(rr, 2.0**k, out=rows[2, :n])  # exact: a power of two
        if np.array_equal(np.floor(scaled, out=rows[3, :n]), scaled):
            grid = rows[0, :n].view(np.int64)
            np.copyto(grid, scaled, casting="unsafe")
            itotal = rows[1, : n + 1].view(np.int64)
            itotal[0] = 0
            np.cumsum(grid, out=itotal[1:])
            t_last = float(_time_s(itotal[n:], k)[0])
            return Timeline(t_last_s=t_last, grid_bits=k, grid=grid, total=itotal, t_s=None)
    ftotal = rows[1, : n + 1]
    ftotal[0] = 0.0
    np.cumsum(rr, out=ftotal[1:])
    t_s = np.divide(ftotal[1:], 1000.0, out=rows[2, :n])
    t_last = float(t_s[-1]) if n else -math.inf
    return Timeline(t_last_s=t_last, grid_bits=None, grid=None, total=ftotal, t_s=t_s)


@dataclass
class _Sums:
    """Per-window sums the columns are made of (ms units; float64, one value per window)."""

    n: NDArray[np.float64]  # beats
    nd: NDArray[np.float64]  # successive differences kept (not across a gap)
    sum_rr: NDArray[np.float64]
    sum_hr: NDArray[np.float64]
    var: NDArray[np.float64]  # sample variance of RR (ddof 1)
    sum_d2: NDArray[np.float64]  # sum of squared differences, >= 0
    var_d: NDArray[np.float64]  # sample variance of the differences (ddof 1)
    var_p: NDArray[np.float64]  # sample variance of the adjacent-pair sums (ddof 1)
    n_big: NDArray[np.float64]  # differences with |d| > 50 ms


def time_columns(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    win: Windows,
    bnd: Boundaries,
    timeline: Timeline,
    rr_range: tuple[float, float],
    rows: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """Every :class:`hrv.TimeDomain` field of every window, as columns (NaN for ``None``).

    Same definitions as :func:`hrv.time_domain` on each window's slice (Kubios conventions:
    SDNN, SDSD and SD1/SD2 with ``ddof=1``, SD2 along the Poincaré plot's rotated axis; RMSSD
    over the differences; pNN50 over N-1 differences; ``gap[i]`` drops the difference into
    beat ``i`` and its pair). ``rr_range`` is the smallest and largest RR; ``rows`` is the
    scratch :func:`beat_timeline` wrote ``timeline`` into, with at least 10 rows; it is
    overwritten.
    """
    sums = None
    if timeline.grid_bits is not None:
        sums = _grid_sums(rr, gap, win, bnd, timeline, rr_range, rows)
    if sums is None:  # off the grid, or beyond int64
        sums = _float_sums(rr, gap, win, bnd, rows)
    return _columns(sums)


@dataclass
class _Cuts:
    """Dropped differences: the mask, their beat indices, and each window's range of them."""

    mask: NDArray[np.bool_]  # cut[i]: no difference into beat i (beat 0 and every gap)
    idx: NDArray[np.int64]  # flatnonzero(mask)
    lo: NDArray[np.int64]  # per window: first position in idx at or after start + 1
    hi: NDArray[np.int64]  # per window: first position in idx at or after stop

    def window_sum(self, values: NDArray[np.int64]) -> NDArray[np.int64]:
        """Per window, the sum of ``values[j]`` over its cuts (int64, exact).

        ``values`` holds one value per cut, in ``idx`` order; a window without cuts inside
        sums to 0.
        """
        run = np.zeros(values.size + 1, dtype=np.int64)
        np.cumsum(values, out=run[1:])
        out: NDArray[np.int64] = run[np.maximum(self.hi, self.lo)] - run[self.lo]
        return out


def _kept_differences(
    gap: NDArray[np.bool_] | None, win: Windows, n: NDArray[np.float64]
) -> tuple[NDArray[np.float64], _Cuts | None]:
    """Number of successive differences in each window, and the dropped ones.

    A window ``[start, stop)`` holds the differences into beats ``start + 1 .. stop - 1`` that
    do not cross a gap. The cuts (``None`` without gaps) mark every dropped difference,
    including the non-difference at beat 0.
    """
    nd = np.maximum(n - 1.0, 0.0)
    if gap is None:
        return nd, None
    cut = gap.copy()
    cut[0] = True
    cut_idx = np.flatnonzero(cut)
    hi = np.searchsorted(cut_idx, win.stop, side="left")
    lo = np.searchsorted(cut_idx, win.start + 1, side="left")
    n_cut = hi - lo
    cuts = _Cuts(mask=cut, idx=cut_idx, lo=lo, hi=hi)
    return np.where(n >= 1.0, nd - np.maximum(n_cut, 0), 0.0), cuts


def _minus_first(
    sums: NDArray[np.float64] | NDArray[np.int64],
    values: NDArray[np.float64] | NDArray[np.int64],
    start: NDArray[np.int64],
    nonempty: NDArray[np.bool_] | None,
) -> None:
    """``sums -= values[start]`` in the windows that hold a beat (``nonempty``; None: all).

    Per-beat difference quantities sit at the later beat, so a window's own differences are
    ``values[start + 1 : stop]``: its sum over ``[start, stop)`` has one value too many.
    """
    if nonempty is None:
        sums -= values[start]
    else:
        sums[nonempty] -= values[start[nonempty]]


def _grid_sums(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    win: Windows,
    bnd: Boundaries,
    timeline: Timeline,
    rr_range: tuple[float, float],
    rows: NDArray[np.float64],
) -> _Sums | None:
    """Window sums in exact integer arithmetic; ``None`` when int64 could overflow."""
    assert timeline.grid is not None and timeline.grid_bits is not None
    size = int(rr.size)
    r = timeline.grid  # RR in units of 2**-k ms
    k = timeline.grid_bits
    r_max = rr_range[1] * 2.0**k
    r_total = float(timeline.total[size])
    hr_max = 60000.0 / rr_range[0]
    # Bounds on every integer sum: sum(R**2) <= max(R) * sum(R), and |D| <= max(R) with
    # sum(|D|) <= 2 * sum(R) for the differences D, so sum(D**2) <= 2 * max(R) * sum(R).
    if 2.0 * r_max * r_total >= _INT_LIMIT:
        return None
    hr_unit = 2.0 ** math.floor(math.log2(_INT_LIMIT / (size * hr_max)))
    if hr_unit < _HR_MIN_UNIT:
        return None

    start, stop = win.start, win.stop
    n_int = stop - start
    n = n_int.astype(np.float64)
    nonempty = None if int(n_int.min()) >= 1 else n_int >= 1
    first = start if nonempty is None else np.minimum(start, size - 1)
    bounds = bnd.bounds
    sum_r = bnd.window_diff(timeline.total[bounds])  # before rows[1] is reused
    # A window's n * sum(R**2) and sum(R)**2 are at most n * max(R) * sum(R); for the
    # differences, n * sum(D**2) <= 2 n max(R) sum(R) and sum(D)**2 <= (2 sum(R))**2 <=
    # 4 n max(R) sum(R). Beyond int64 the numerators would need float cancellation: the float
    # path (centred on a typical RR) is then the accurate one.
    if 4.0 * float(n_int.max()) * r_max * float(sum_r.max()) >= _INT_LIMIT:
        return None

    prefix = rows[2, : size + 1].view(np.int64)
    prefix[0] = 0

    def window_sum(x: NDArray[np.int64]) -> NDArray[np.int64]:
        np.cumsum(x, out=prefix[1:])
        out: NDArray[np.int64] = bnd.window_diff(prefix[bounds])
        return out

    nd, cuts = _kept_differences(gap, win, n)
    cut = None if cuts is None else cuts.mask
    d = rows[1, :size].view(np.int64)
    d[0] = 0
    np.subtract(r[1:], r[:-1], out=d[1:])
    if cut is not None:
        d[cut] = 0
    tmp = rows[3, :size].view(np.int64)
    np.multiply(d, d, out=tmp)
    sum_d2 = window_sum(tmp)
    _minus_first(sum_d2, tmp, first, nonempty)
    # |d| > 50 ms exactly when d**2 > (50 * 2**k)**2; (limit - d**2) >> 63 is -1 there, else 0
    np.subtract(int(PNN50_THRESHOLD_MS) ** 2 << (2 * k), tmp, out=tmp)
    np.right_shift(tmp, 63, out=tmp)
    n_big = window_sum(tmp)
    _minus_first(n_big, tmp, first, nonempty)
    if cut is None:
        # the differences telescope: sum(d[start+1:stop]) = r[stop-1] - r[start]
        sum_d = r[np.maximum(stop - 1, 0)] - r[first]
        if int(n_int.min()) < 2:
            sum_d[n_int < 2] = 0
    else:
        sum_d = window_sum(d)
        _minus_first(sum_d, d, first, nonempty)
    np.multiply(r, r, out=tmp)
    sum_r2 = window_sum(tmp)
    # The adjacent pairs (r[i-1], r[i]) of the kept differences, for SD2: the sum of the pair
    # sums p = r[i-1] + r[i] and of their squares p**2 = 2 (r[i-1]**2 + r[i]**2) - d**2 follow
    # from the window's sums: every beat but the first and the last is in two pairs. The pairs
    # of dropped differences (gaps inside the window) are taken out again, cut by cut.
    r_first = r[first]
    r_last = r[np.maximum(stop - 1, 0)]
    sum_p = 2 * sum_r - r_first - r_last
    sum_q = 2 * sum_r2 - r_first * r_first - r_last * r_last  # sum of r[i-1]**2 + r[i]**2
    if cuts is not None:
        j = cuts.idx[1:]  # cut 0 is beat 0: no pair
        a, b = r[j - 1], r[j]
        cut_p = np.zeros(cuts.idx.size, dtype=np.int64)
        cut_q = np.zeros(cuts.idx.size, dtype=np.int64)
        np.add(a, b, out=cut_p[1:])
        np.add(a * a, b * b, out=cut_q[1:])
        sum_p -= cuts.window_sum(cut_p)
        sum_q -= cuts.window_sum(cut_q)
    sum_p2 = 2 * sum_q - sum_d2
    hr = np.divide(60000.0 * hr_unit, rr, out=rows[4, :size])
    np.copyto(tmp, hr, casting="unsafe")  # truncation: under 1 unit per beat
    sum_hr = np.multiply(window_sum(tmp), 1.0 / hr_unit, dtype=np.float64)

    unit = 2.0**-k
    unit2 = unit * unit
    with np.errstate(divide="ignore", invalid="ignore"):
        # n * sum(x**2) - sum(x)**2 = n * (n - 1) * var, exactly, in int64
        var = (n_int * sum_r2 - sum_r * sum_r) * unit2  # to float64: exact below 2**53
        var /= n * (n - 1.0)
        num_d = nd.astype(np.int64) * sum_d2 - sum_d * sum_d
        var_d = np.multiply(num_d, unit2, dtype=np.float64)
        var_d /= nd * (nd - 1.0)
        num_p = nd.astype(np.int64) * sum_p2 - sum_p * sum_p
        var_p = np.multiply(num_p, unit2, dtype=np.float64)
        var_p /= nd * (nd - 1.0)
    return _Sums(
        n=n,
        nd=nd,
        sum_rr=sum_r * unit,
        sum_hr=sum_hr,
        var=var,
        sum_d2=np.multiply(sum_d2, unit2, dtype=np.float64),
        var_d=var_d,
        var_p=var_p,
        n_big=np.negative(n_big, dtype=np.float64),
    )


def _float_sums(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    win: Windows,
    bnd: Boundaries,
    rows: NDArray[np.float64],
) -> _Sums:
    """Window sums in float64: per-segment sums (reduceat) and running sums over segments.

    RR are centred on a typical RR (the median of a strided sample) before summing, so the
    variance ``(S2 - S1**2 / n) / (n - 1)`` of centred sums keeps its digits (Chan, Golub &
    LeVeque 1983) even when a few huge RR (an hours-long pause) would drag the mean far from
    every window; the running sums over segments are double-double
    (:meth:`hrv._windows.Boundaries.window_sum`), so no window pays for values it does not hold.
    """
    size = int(rr.size)
    start, stop = win.start, win.stop
    n_int = stop - start
    n = n_int.astype(np.float64)
    first = np.minimum(start, size - 1)
    centre = float(np.median(rr[:: max(1, size // 2048)]))

    # Two quantities per complex array (real, imaginary), one np.add.reduceat each: (centred
    # RR, its square) in rows 4-5, (squared difference, |difference| > 50 ms) in rows 6-7; the
    # instantaneous HR in row 2 and the differences in row 0 (rows 1 and 3 may hold the
    # timeline, no longer needed).
    pair_a = rows[4:6].reshape(-1)[: 2 * size]
    pair_b = rows[6:8].reshape(-1)[: 2 * size]
    centred = np.subtract(rr, centre, out=pair_a[0::2])
    np.multiply(centred, centred, out=pair_a[1::2])
    hr = np.divide(60000.0, rr, out=rows[2, :size])
    d = rows[0, :size]
    d[0] = 0.0
    np.subtract(rr[1:], rr[:-1], out=d[1:])
    nd, cuts = _kept_differences(gap, win, n)
    cut = None if cuts is None else cuts.mask
    moving = None
    if cut is not None:
        moving = np.flatnonzero(cut & (d != 0.0))  # dropped differences that still change RR
        d[cut] = 0.0
    d2 = pair_b[0::2]
    big = pair_b[1::2]
    np.multiply(d, d, out=d2)
    # |d| > 50 exactly when d*d > 2500: fl(d*d) is monotone in |d| and 2500 is exact
    np.greater(d2, PNN50_THRESHOLD_MS * PNN50_THRESHOLD_MS, out=big, casting="unsafe")
    # the sums of adjacent pairs, centred (p - 2 centre), and their squares (rows 8-9), for SD2
    pair_p = rows[8:10].reshape(-1)[: 2 * size]
    pc = pair_p[0::2]
    pc[0] = 0.0
    np.add(centred[1:], centred[:-1], out=pc[1:])
    if cut is not None:
        pc[cut] = 0.0
    np.multiply(pc, pc, out=pair_p[1::2])
    sums_p = bnd.window_sum_inside(pair_p.view(np.complex128))
    sums_a = bnd.window_sum(pair_a.view(np.complex128))
    sum_hr = bnd.window_sum(hr)
    sums_b = bnd.window_sum_inside(pair_b.view(np.complex128))
    s1c, s2 = sums_a.real, sums_a.imag
    sum_d2, n_big = sums_b.real.copy(), sums_b.imag
    if cut is None:
        sum_d = rr[np.maximum(stop - 1, 0)] - rr[first]
        if int(n_int.min()) < 2:
            sum_d[n_int < 2] = 0.0
    else:
        sum_d = bnd.window_sum_inside(d)

    # Windows whose kept differences are all exactly 0 get exactly 0 like the direct formula,
    # not rounding noise: the few windows whose sum is that small are checked exactly against
    # the non-zero differences.
    equal_rr = None
    suspects = np.flatnonzero(sum_d2 <= 1e-9 * float(np.sum(d2)))
    if suspects.size:
        nonzero = np.flatnonzero(d)
        lo, hi = start[suspects] + 1, stop[suspects]
        still = np.searchsorted(nonzero, hi) == np.searchsorted(nonzero, lo)
        zero = suspects[still]
        sum_d2[zero] = 0.0
        sum_d[zero] = 0.0
        if moving is not None:
            lo, hi = lo[still], hi[still]
            zero = zero[np.searchsorted(moving, hi) == np.searchsorted(moving, lo)]
        equal_rr = zero

    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(s2 - s1c * s1c / n, 0.0) / (n - 1.0)
        if equal_rr is not None:
            var[equal_rr] = 0.0
        np.maximum(sum_d2, 0.0, out=sum_d2)
        var_d = np.maximum(sum_d2 - sum_d * sum_d / nd, 0.0) / (nd - 1.0)
        s1p, s2p = sums_p.real, sums_p.imag
        var_p = np.maximum(s2p - s1p * s1p / nd, 0.0) / (nd - 1.0)
    _zero_equal_pairs(rr, cut, win, var_p)
    return _Sums(
        n=n,
        nd=nd,
        sum_rr=n * centre + s1c,
        sum_hr=sum_hr,
        var=var,
        sum_d2=sum_d2,
        var_d=var_d,
        var_p=var_p,
        n_big=n_big,
    )


def _zero_equal_pairs(
    rr: NDArray[np.float64],
    cut: NDArray[np.bool_] | None,
    win: Windows,
    var_p: NDArray[np.float64],
) -> None:
    """Set ``var_p`` to exactly 0 in the windows whose kept pair sums are all equal.

    Like equal RR for SDNN: the float sums of squares leave ~sqrt(eps) * scale of noise where
    the direct formula gives 0 (an alternating series ``a, b, a, b`` has equal pair sums).
    Equal pair sums are found exactly: the window's kept pairs hold no change of value.
    """
    size = int(rr.size)
    kept = np.arange(1, size) if cut is None else np.flatnonzero(~cut)
    if kept.size == 0:
        return
    v = rr[kept - 1] + rr[kept]
    changes = np.zeros(v.size, dtype=np.int64)
    np.cumsum(v[1:] != v[:-1], out=changes[1:])
    a = np.searchsorted(kept, win.start + 1, side="left")
    b = np.searchsorted(kept, win.stop, side="left")  # kept pairs a .. b - 1
    some = b - a >= 2
    last = np.maximum(b - 1, 0)
    first = np.minimum(a, v.size - 1)
    equal = some & (changes[last] == changes[first])
    var_p[equal] = 0.0


def _columns(s: _Sums) -> dict[str, NDArray[np.float64]]:
    """The :class:`hrv.TimeDomain` columns from the window sums, NaN where it gives ``None``."""
    n, nd = s.n, s.nd
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_rr = s.sum_rr / n
        mean_hr = s.sum_hr / n
        sdnn = np.sqrt(s.var)
        rmssd = np.sqrt(s.sum_d2 / nd)
        sdsd = np.sqrt(s.var_d)
        pnn50 = 100.0 * s.n_big / nd
        sd1 = math.sqrt(0.5) * sdsd
        sd2 = np.sqrt(0.5 * s.var_p)
        ln_rmssd = np.log(rmssd)
    zero = rmssd == 0.0
    if zero.any():
        ln_rmssd[zero] = np.nan  # log(0): TimeDomain gives None
    cols = {
        "mean_rr_ms": mean_rr,
        "sdnn_ms": sdnn,
        "rmssd_ms": rmssd,
        "sdsd_ms": sdsd,
        "pnn50_pct": pnn50,
        "sd1_ms": sd1,
        "sd2_ms": sd2,
        "mean_hr_bpm": mean_hr,
        "ln_rmssd": ln_rmssd,
    }
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
            ("sd2_ms", dfew2),
            ("mean_hr_bpm", few1),
            ("ln_rmssd", dfew1),
        ):
            cols[name][invalid] = np.nan
    return cols
