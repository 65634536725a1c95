"""Spectral building blocks shared by ``hrv.frequency`` and ``hrv.coherence`` (private).

Everything here is written so that a *batch* of windows of one recording and a *single* window
(the window's beats alone) give the same numbers, which is what lets ``hrv.rolling`` and the
streaming analyser agree to 1e-9 relative:

Resampling (the 4 Hz tachogram), two interpolants
    **Natural cubic spline** (``hrv.frequency``'s Welch, Kubios' resampling): the slopes at the
    beats solve the spline's tridiagonal system (:func:`spline_slopes`); a knot's influence
    decays at least like ``0.268**k`` over ``k`` beats, so a window's own spline and the whole
    recording's agree to ~4e-12 of the values' scale once :data:`SPLINE_MARGIN` = 20 beats
    are left out at each end: a window's tachogram is taken on ``[t[20], t[N-21]]`` only.
    At mean RR 1000 ms it keeps 93 % / 84 % of a 0.30 / 0.35 Hz oscillation's power (the local
    Hermite interpolant below: 86 % / 74 %), at 600 ms 99.4 % / 98.7 %, at 1200 ms 81 % / 60 %
    (tests/hrv/test_spectral_fidelity.py; sinusoids of 0.15-0.40 Hz at mean RR 600-1200 ms
    keep exactly what scipy's natural ``CubicSpline`` keeps).

    **Local cubic Hermite** (``hrv.coherence``, whose 64-s slot cannot spare 20 beats at each
    end): the RR series (value ``rr[i]`` at beat time ``t[i]``) is interpolated with a local
    cubic Hermite interpolant whose slope at beat ``i`` is the derivative of the quartic through
    beats ``i-2 .. i+2`` (five-point finite-difference slopes on the uneven beat times; de Boor
    2001, ch. IV, on Hermite interpolation with estimated slopes). On ``[t[i], t[i+1]]`` it
    depends on beats ``i-2 .. i+3`` only, and it is C1 and exact for cubics. A window's
    tachogram is therefore only taken on its *interior* ``[t[2], t[N-3]]`` (about two beats
    are left out at each end), where every interval has its neighbours inside the window:
    there it is identical to the same interpolant built on the whole recording (no end
    conditions enter). It attenuates fast oscillations more than the spline (above); at 0.1 Hz
    (coherence's range) the loss is below 0.5 %.
    The 4 Hz samples sit on the recording's clock: the grid points ``m / 4`` s (``m`` integer)
    of the beat timeline ``t``, not a grid started at the window's first beat. That is why the
    single-window functions take the beat times ``t_s`` (default ``cumsum(rr_ms) / 1000``).

Periodogram scaling
    One-sided power spectral density in ms^2/Hz: ``P[k] = c |X[k]|^2 / (fs * sum(w**2))`` with
    ``c = 2`` except at 0 Hz and Nyquist (``c = 1``), ``X`` the FFT of the mean-removed,
    windowed segment (the ``scaling="density"`` convention of ``scipy.signal.welch``). Band
    powers are rectangle sums ``df * sum(P[k])`` over the bins with ``lo <= f[k] < hi``.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv.errors import HrvInputError

__all__ = [
    "DETREND_METHODS",
    "RESAMPLE_HZ",
    "SMOOTHNESS_PRIORS_LAMBDA",
    "Tachogram",
    "beat_times",
    "centred_rows",
    "check_detrend",
    "detrended_hann_psd_rows",
    "gather_rows",
    "hann_periodic",
    "hermite_on_grid",
    "interior_grid_range",
    "lomb_psd",
    "power_spectrum_rows",
    "refined_peak_hz",
    "scratch",
    "spline_on_grid",
    "spline_slopes",
]

#: Resampling rate of the tachogram (Hz); the Kubios / pyHRV habit.
RESAMPLE_HZ = 4.0
#: Grid index <-> time: sample ``m`` sits at ``m / RESAMPLE_HZ`` seconds (exact in binary).
_FS = RESAMPLE_HZ
#: Beats left out at each end of a window by the local Hermite resampling (its stencil).
HERMITE_MARGIN = 2
#: Beats left out at each end of a window by the spline resampling: there a window's own
#: spline and the whole recording's differ by at most ~0.268**20 = 4e-12 of the values' scale.
SPLINE_MARGIN = 20
#: Elements per block of the blockwise resampling (128 kB arrays: the temporaries stay in cache).
_CHUNK = 16384
#: Intervals per block of the Hermite evaluation (~14,000 grid points at 4 Hz: cache-sized).
_INTERVALS = 4096
#: Lomb-Scargle works on (frequencies x beats) blocks of at most this many elements.
_LOMB_CHUNK = 2_000_000


#: Detrending options of the Welch segments (see :func:`detrended_hann_psd_rows`).
DETREND_METHODS: tuple[str | None, ...] = ("smoothness_priors", "linear", None)
#: Regularisation parameter of the smoothness-priors detrending (Tarvainen et al. 2002), as
#: Kubios' default, applied to the 4 Hz samples (see :func:`detrended_hann_psd_rows`).
SMOOTHNESS_PRIORS_LAMBDA = 500.0

_local = threading.local()
#: Largest scratch buffer kept per name and thread between calls, in float64 elements (32 MB).
_SCRATCH_KEEP = 2**22


def scratch(name: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """An uninitialised float64 array of ``shape``, reused across calls in the same thread.

    The batched spectral path of a whole recording needs several multi-megabyte intermediates;
    fresh ones cost more in page faults than the arithmetic done in them (a fresh 4 MB array
    here costs several ms). Each ``name`` is one buffer: callers use distinct names for
    arrays alive at the same time and never return a scratch array (or a view of one).
    Buffers larger than :data:`_SCRATCH_KEEP` elements are not kept.
    """
    size = math.prod(shape)
    pool: dict[str, NDArray[np.float64]] | None = getattr(_local, "pool", None)
    if pool is None:
        pool = {}
        _local.pool = pool
    buf = pool.get(name)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.float64)
        if size <= _SCRATCH_KEEP:
            pool[name] = buf
    return buf[:size].reshape(shape)


def beat_times(rr: NDArray[np.float64], t_s: Any) -> NDArray[np.float64]:
    """Beat times: ``t_s`` checked, or the default timeline.

    ``t_s`` must be 1-D, of the same length, finite and strictly increasing; the default is
    the timeline ``cumsum(rr) / 1000`` of docs/ARCHITECTURE.md.
    """
    if t_s is None:
        out: NDArray[np.float64] = np.cumsum(rr) / 1000.0
        return out
    try:
        t = np.asarray(t_s, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise HrvInputError(f"t_s: cannot be read as beat times in seconds ({exc})") from exc
    if t.shape != rr.shape:
        raise HrvInputError(f"t_s: expected shape {rr.shape} to match rr_ms, got {t.shape}")
    bad = ~np.isfinite(t)
    if bad.any():
        i = int(np.argmax(bad))
        raise HrvInputError(f"t_s: value at index {i} is {t[i]!r} (NaN or infinite)")
    if t.size > 1:
        dec = np.diff(t) <= 0.0
        if dec.any():
            i = int(np.argmax(dec)) + 1
            raise HrvInputError(
                f"t_s: must be strictly increasing; t_s[{i}] = {t[i]!r} is not after "
                f"t_s[{i - 1}] = {t[i - 1]!r}"
            )
    return t


def interior_grid_range(t_lo: Any, t_hi: Any) -> tuple[Any, Any]:
    """First and last grid index ``m`` with ``t_lo <= m / fs <= t_hi`` (works on arrays)."""
    return np.ceil(np.asarray(t_lo) * _FS).astype(np.int64), np.floor(
        np.asarray(t_hi) * _FS
    ).astype(np.int64)


#: For each of the four neighbours of :func:`_five_point_slopes`, the other three, in order.
_OTHERS = ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2))


def _five_point_slopes(t: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slope at beats ``2 .. N-3``: derivative at ``t[i]`` of the quartic through ``i-2 .. i+2``.

    Lagrange weights for uneven spacing: with ``d_k = t[i+k] - t[i]`` (``k = -2, -1, 1, 2``),
    ``w_0 = -sum(1 / d_k)`` and ``w_j = prod_{k != j} (-d_k) / (d_j prod_{k != j} (d_j - d_k))``;
    as the weights sum to zero the slope is ``sum_j w_j (y[i+j] - y[i])``.
    """
    n = t.size
    if n - 4 > _CHUNK:
        # elementwise: blocks of beats (with their 2-beat margins) give the same numbers, and
        # their temporaries stay in cache instead of faulting in fresh megabytes
        blocks = np.empty(n - 4, dtype=np.float64)
        for a in range(0, n - 4, _CHUNK):
            b = min(a + _CHUNK, n - 4)
            blocks[a:b] = _five_point_slopes(t[a : b + 4], y[a : b + 4])
        return blocks
    c = t[2 : n - 2]
    d = [t[2 + k : n - 2 + k] - c for k in (-2, -1, 1, 2)]
    # the weights sum to zero, so differences from the centre value can replace the values:
    # the same slope, but exactly 0 on a constant stretch and free of cancellation
    yv = [y[2 + k : n - 2 + k] - y[2 : n - 2] for k in (-2, -1, 1, 2)]
    neg = [-dk for dk in d]
    out: NDArray[np.float64] | None = None
    for j, others in enumerate(_OTHERS):
        # w_j = prod_{k != j} (-d_k) / (d_j prod_{k != j} (d_j - d_k)), multiplied left to right
        num = neg[others[0]] * neg[others[1]]
        num *= neg[others[2]]
        den = d[j] * (d[j] - d[others[0]])
        for k in others[1:]:
            den *= d[j] - d[k]
        num /= den
        num *= yv[j]
        if out is None:
            out = num
            out += 0.0  # as 0 + term: a -0.0 term gives +0.0, as in a sum started at zero
        else:
            out += num
    assert out is not None
    return out


def hermite_on_grid(
    t: NDArray[np.float64], y: NDArray[np.float64], m_lo: int, m_hi: int, fs: float = _FS
) -> NDArray[np.float64]:
    """The five-point-slope cubic Hermite interpolant of ``(t, y)`` at ``m / fs``.

    Evaluated for ``m = m_lo .. m_hi`` (inclusive), using only the interior intervals
    ``2 .. N-4``.

    On ``[t[i], t[i+1]]`` it depends on beats ``i-2 .. i+3`` only. The caller guarantees
    ``N >= 6`` and ``t[2] <= m_lo / fs``, ``m_hi / fs <= t[N-3]``. A grid point that falls
    exactly on a beat belongs to the interval that starts there (except the last beat). ``fs``
    (4 or 2 Hz) is the grid's rate: ``m`` counts its samples (at 2 Hz, sample ``m`` is the 4 Hz
    sample ``2 m``, with the same bits).
    """
    return _hermite_eval(t, y, _five_point_slopes(t, y), HERMITE_MARGIN, m_lo, m_hi, fs)


def spline_slopes(t: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """First derivatives at the knots of the natural cubic spline through ``(t, y)`` (N >= 3).

    C2 continuity at the inner knots, ``h[i] m[i-1] + 2 (h[i-1] + h[i]) m[i] + h[i-1] m[i+1] =
    3 (h[i] d[i-1] + h[i-1] d[i])`` with ``h[i] = t[i+1] - t[i]``, ``d[i] = (y[i+1] - y[i]) /
    h[i]``, and zero second derivative at both ends (``2 m[0] + m[1] = 3 d[0]``, likewise at
    the end): a tridiagonal system, solved in O(N) (de Boor 2001, ch. IV-V). The slope at a
    knot depends on every value, but the influence of a knot ``k`` beats away decays at least
    like ``0.268**k`` (the system is diagonally dominant with off-diagonals summing to half
    the diagonal whatever the spacing: Demko, Moss & Smith 1984), which is what makes a
    window's spline equal the whole recording's away from the window's ends.
    """
    from scipy.linalg import solve_banded  # local: scipy.linalg costs ~0.1 s at `import hrv`

    n = t.size
    h = np.diff(t)
    d = np.diff(y)
    d /= h
    ab = np.empty((3, n))
    ab[0, 0] = 0.0
    ab[0, 1] = 1.0  # super-diagonal of row 0
    ab[0, 2:] = h[:-1]  # row i (1 .. n-2): coefficient of m[i+1] is h[i-1]
    ab[1, 0] = 2.0
    diag = np.add(h[:-1], h[1:], out=ab[1, 1 : n - 1])
    diag *= 2.0
    ab[1, n - 1] = 2.0
    ab[2, : n - 2] = h[1:]  # row i: coefficient of m[i-1] is h[i]
    ab[2, n - 2] = 1.0
    ab[2, n - 1] = 0.0
    rhs = np.empty(n)
    rhs[0] = 3.0 * d[0]
    inner = np.multiply(h[1:], d[:-1], out=rhs[1 : n - 1])
    inner += np.multiply(ab[0, 2:], d[1:], out=h[:-1])  # h[:-1] * d[1:] (ab[0, 2:] = h[:-1])
    inner *= 3.0
    rhs[n - 1] = 3.0 * d[-1]
    out: NDArray[np.float64] = solve_banded(
        (1, 1), ab, rhs, overwrite_ab=True, overwrite_b=True, check_finite=False
    )
    return out


def spline_on_grid(
    t: NDArray[np.float64], y: NDArray[np.float64], m_lo: int, m_hi: int
) -> NDArray[np.float64]:
    """The natural cubic spline through ``(t, y)`` at ``m / fs`` for ``m = m_lo .. m_hi``.

    Uses only the intervals ``K .. N-2-K``, ``K = SPLINE_MARGIN``.

    The caller guarantees ``N >= 2 K + 2`` and ``t[K] <= m_lo / fs``,
    ``m_hi / fs <= t[N-1-K]``. Evaluated as the cubic Hermite interpolant with the spline's
    slopes (the same polynomial on each interval).
    """
    slopes = spline_slopes(t, y)
    k = SPLINE_MARGIN
    return _hermite_eval(t, y, slopes[k : t.size - k], k, m_lo, m_hi)


def _hermite_eval(
    t: NDArray[np.float64],
    y: NDArray[np.float64],
    slope: NDArray[np.float64],
    margin: int,
    m_lo: int,
    m_hi: int,
    fs: float = _FS,
) -> NDArray[np.float64]:
    """Cubic Hermite interpolant with the given slopes, at ``m / fs`` for ``m = m_lo .. m_hi``.

    Uses the intervals ``margin .. N-2-margin`` with the slopes of beats
    ``margin .. N-1-margin``; ``fs`` is a power of two, so ``m / fs`` is exact.
    """
    n = t.size
    a, b = margin, n - 1 - margin  # first and last knot used
    # grid points per interval: m with t[i] <= m / fs < t[i+1] (4 t is exact in binary)
    edges = np.ceil(t[a : b + 1] * fs).astype(np.int64)
    edges[0] = m_lo
    edges[-1] = m_hi + 1
    # (np.clip's value, without its per-call overhead: a live window resamples once a step)
    np.maximum(edges, m_lo, out=edges)
    np.minimum(edges, m_hi + 1, out=edges)
    out: NDArray[np.float64] = np.empty(m_hi + 1 - m_lo, dtype=np.float64)
    # Blocks of intervals: each block's cubic coefficients in s = (tau - t[i]) / h[i] and its
    # grid points stay in cache; per point the same operations in the same order as
    # y0 + s * (m0 + s * (c2 + s * c3)): the numbers do not depend on the blocking.
    n_int = b - a
    for i0 in range(0, n_int, _INTERVALS):
        i1 = min(i0 + _INTERVALS, n_int)
        g0, g1 = int(edges[i0]), int(edges[i1])
        if g1 <= g0:
            continue
        t0 = t[a + i0 : a + i1]
        h = t[a + i0 + 1 : a + i1 + 1] - t0
        y0 = y[a + i0 : a + i1]
        dy = y[a + i0 + 1 : a + i1 + 1] - y0
        m0 = h * slope[i0:i1]
        m1 = h * slope[i0 + 1 : i1 + 1]
        c2 = 3.0 * dy - 2.0 * m0 - m1
        c3 = m0 + m1 - 2.0 * dy
        ii = np.repeat(np.arange(i1 - i0), np.diff(edges[i0 : i1 + 1]))
        s_ = np.arange(g0, g1, dtype=np.float64)
        s_ /= fs  # tau
        s_ -= t0[ii]
        s_ /= h[ii]
        acc = c3[ii]
        acc *= s_
        acc += c2[ii]
        acc *= s_
        acc += m0[ii]
        acc *= s_
        np.add(y0[ii], acc, out=out[g0 - m_lo : g1 - m_lo])
    return out


class Tachogram:
    """The 4 Hz tachogram of a whole beat series over its interior, computed once on first use.

    Grid index ``m`` (time ``m / fs`` s; ``fs`` 4 Hz, or 2 Hz for coherence's 2 Hz clock) is
    at position ``m - m_first`` of :meth:`series`. The
    batched spectral functions of one recording share one instance, so the recording is
    resampled once however many metric groups are asked for.
    """

    def __init__(
        self,
        t: NDArray[np.float64],
        y: NDArray[np.float64],
        kind: str = "hermite",
        fs: float = _FS,
    ) -> None:
        self._t = t
        self._y = y
        self._kind = kind
        self.fs = fs
        k = HERMITE_MARGIN if kind == "hermite" else SPLINE_MARGIN
        if t.size >= 2 * k + 2:
            lo, hi = np.ceil(t[k] * fs), np.floor(t[-1 - k] * fs)
        else:
            lo, hi = 0, -1
        self.m_first = int(lo)
        self.m_last = int(hi)
        self._series: NDArray[np.float64] | None = None
        self._padded: dict[int, NDArray[np.float64]] = {}

    def series(self) -> NDArray[np.float64]:
        """Samples at ``m = m_first .. m_last``."""
        if self._series is None:
            if self.m_last < self.m_first:
                self._series = np.empty(0, dtype=np.float64)
            else:
                if self._kind == "hermite":
                    self._series = hermite_on_grid(
                        self._t, self._y, self.m_first, self.m_last, self.fs
                    )
                else:
                    self._series = spline_on_grid(self._t, self._y, self.m_first, self.m_last)
        return self._series

    def padded(self, pad: int) -> NDArray[np.float64]:
        """:meth:`series` with ``pad`` zeros on both sides (grid ``m`` at ``m - m_first + pad``)."""
        if pad not in self._padded:
            inner = self.series()
            out = np.zeros(inner.size + 2 * pad)
            out[pad : pad + inner.size] = inner
            self._padded[pad] = out
        return self._padded[pad]


@lru_cache(maxsize=16)
def hann_periodic(n: int) -> NDArray[np.float64]:
    """Periodic Hann window of length ``n`` (``scipy.signal.get_window("hann", n)``).

    Cached (one per length: a live session asks for the same one every window), read-only.
    """
    k = np.arange(n, dtype=np.float64)
    out: NDArray[np.float64] = 0.5 - 0.5 * np.cos(2.0 * math.pi * k / n)
    out.flags.writeable = False
    return out


def gather_rows(series: NDArray[np.float64], offsets: NDArray[np.int64], length: int) -> Any:
    """Rows ``series[o : o + length]`` for every offset: a copy, ``(len(offsets), length)``."""
    view = np.lib.stride_tricks.sliding_window_view(series, length)
    return view[offsets]


def centred_rows(
    series: NDArray[np.float64],
    offsets: NDArray[np.int64],
    length: int,
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Rows ``series[o : o + length] - series[o]`` for every offset, ``(len(offsets), length)``.

    What :func:`gather_rows` followed by ``rows -= rows[:, :1]`` gives, with the same numbers:
    evenly spaced offsets (the Welch segments of a stretch of the clock) are copied straight
    from a strided view (no index array), and the first values are then taken out of the
    contiguous copy, which is faster than one subtraction that reads the overlapping rows.
    Written to ``out`` when given.
    """
    view = np.lib.stride_tricks.sliding_window_view(series, length)
    k = int(offsets.size)
    step = int(offsets[1] - offsets[0]) if k > 1 else 1
    res: NDArray[np.float64] = np.empty((k, length)) if out is None else out
    if k >= 1 and step > 0 and int(offsets[-1]) == int(offsets[0]) + (k - 1) * step:
        np.copyto(res, view[int(offsets[0]) : int(offsets[-1]) + 1 : step])
        return np.subtract(res, res[:, :1].copy(), out=res)
    sel = view[offsets]
    return np.subtract(sel, sel[:, :1], out=res)


def power_spectrum_rows(
    rows: NDArray[np.float64],
    window: NDArray[np.float64],
    nfft: int,
    n_bins: int,
    fs: float = RESAMPLE_HZ,
    padded: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """One-sided PSD (ms^2/Hz) of every row: mean removed, windowed, zero-padded to ``nfft``.

    Only the first ``n_bins`` frequencies ``k * fs / nfft`` are returned (``n_bins < nfft / 2``,
    so the Nyquist bin is never among them). ``rows`` (sampled at ``fs``) is modified in place.
    ``padded``: a ``(len(rows), nfft)`` buffer whose columns from ``rows.shape[-1]`` on are zero;
    the windowed rows are written to its first columns and transformed there, which saves the
    FFT a fresh zero-padded copy of ``rows`` (the same numbers are transformed either way).
    """
    from scipy import fft as sp_fft  # local: scipy.fft costs ~0.2 s at `import hrv`

    rows -= rows[..., :1]  # first value out first: a constant row becomes exactly 0
    # the mean as ndarray.mean computes it (sum, then / n), without its Python wrapper
    rows -= np.add.reduce(rows, axis=-1, keepdims=True) / rows.shape[-1]
    if padded is None:
        rows *= window
        spec = sp_fft.rfft(rows, n=nfft, axis=-1)[..., :n_bins]
    else:
        np.multiply(rows, window, out=padded[..., : rows.shape[-1]])
        spec = sp_fft.rfft(padded, n=nfft, axis=-1)[..., :n_bins]
    p: NDArray[np.float64] = np.square(spec.real)
    p += np.square(spec.imag, out=scratch("power_spectrum_rows.imag2", p.shape))
    p *= 2.0 / (fs * float(np.dot(window, window)))
    p[..., 0] *= 0.5
    return p


def refined_peak_hz(
    psd: NDArray[np.float64],
    k: NDArray[np.int64],
    freqs: NDArray[np.float64],
    band: tuple[float, float],
) -> NDArray[np.float64]:
    """Peak frequency of every row of ``psd`` around its bin ``k[r]``, between the bins.

    Parabolic interpolation on log power (Gaussian interpolation): the parabola through
    ``ln P`` at bins ``k - 1, k, k + 1`` peaks at ``k + delta`` with
    ``delta = (ln P[k-1] - ln P[k+1]) / (2 (ln P[k-1] - 2 ln P[k] + ln P[k+1]))``
    (Smith & Serra 1987; Gasior & Gonzalez 2004). The main lobe of a Hann-windowed sinusoid is
    close to a Gaussian, so on log power the estimate is nearly unbiased (about 0.02 bins on
    the Welch bins of ``hrv.frequency``, far less with zero padding), where the bin centre is
    up to half a bin off. ``k`` must be a local maximum (``P[k] >= P[k +- 1]``), which keeps
    ``|delta| <= 0.5``; otherwise (the band's largest density at its edge, rising beyond it), or
    without both neighbours, the bin's own frequency is kept. The result is clipped to
    ``band`` (a peak in the last half bin of a band stays in the band). ``freqs`` are evenly
    spaced bin frequencies (``freqs[k]`` of ``psd[:, k]``).
    """
    n_bins = psd.shape[1]
    df = float(freqs[1] - freqs[0])
    rows = np.arange(psd.shape[0])
    inner = (k >= 1) & (k <= n_bins - 2)
    kk = np.minimum(np.maximum(k, 1), n_bins - 2)  # np.clip's value, cheaper on a few rows
    tiny = np.finfo(np.float64).tiny
    a = np.log(np.maximum(psd[rows, kk - 1], tiny))
    b = np.log(np.maximum(psd[rows, kk], tiny))
    c = np.log(np.maximum(psd[rows, kk + 1], tiny))
    denom = a - 2.0 * b + c
    local_max = inner & (b >= a) & (b >= c) & (denom < 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(local_max, 0.5 * (a - c) / denom, 0.0)
    step = np.minimum(np.maximum(delta, -0.5), 0.5)
    out: NDArray[np.float64] = np.minimum(np.maximum(freqs[k] + step * df, band[0]), band[1])
    return out


def check_detrend(detrend: Any) -> str | None:
    """``detrend`` checked against :data:`DETREND_METHODS`."""
    if detrend is not None and not (isinstance(detrend, str) and detrend in DETREND_METHODS):
        raise HrvInputError(f"detrend: expected one of {DETREND_METHODS}, got {detrend!r}")
    return detrend


def smoothness_priors_cutoff_hz(lam: float, fs: float) -> float:
    """Half-power frequency (Hz) of the smoothness-priors detrending at sample rate ``fs``.

    Away from the ends the detrending is the high-pass ``H = L x**2 / (1 + L x**2)`` with
    ``L = lam**2`` and ``x = (2 - 2 cos w)``, ``w = 2 pi f / fs``; ``H**2 = 1/2`` at
    ``L x**2 = 1 / (sqrt(2) - 1)``.
    """
    x = math.sqrt(1.0 / (math.sqrt(2.0) - 1.0)) / lam
    return math.acos(1.0 - x / 2.0) * fs / (2.0 * math.pi)


class _Detrender:
    """The detrending of a length-``n`` segment, in the DFT domain of the segment.

    Every option is ``y -> y - P y`` with ``P`` linear, and the DFT of ``P y`` is written as
    ``Y * (1 - m) + (y @ r) @ h``: ``m`` a multiplier per bin, ``r`` an ``(n, 2)`` matrix and
    ``h`` the DFTs of two fixed vectors. So the detrended DFT costs the segment's own FFT, an
    ``(n, 2)`` product and a few operations per kept bin, whatever the option.

    - ``None``: the mean (``m = 1`` except ``m[0] = 0``; ``r = 0``).
    - ``"linear"``: the least-squares line ``a + b k`` (``m = 1``; ``(a, b) = y @ r`` with ``r``
      the pseudo-inverse of ``[1, k]``, ``h`` the DFTs of ``1`` and ``k``).
    - ``"smoothness_priors"``: the trend ``z = (I + lam**2 D2' D2)^-1 y`` of Tarvainen et al.
      (2002), ``D2`` the ``(n - 2, n)`` second-difference matrix. ``A = I + lam**2 D2' D2`` is
      the circulant ``C = I + lam**2 T' T`` (``T`` the cyclic second difference, eigenvalues
      ``c_k = 1 + lam**2 (2 - 2 cos(2 pi k / n))**2``) minus the rank-2 term ``U U'`` of the
      two wrapped rows ``u1 = lam (e[n-2] - 2 e[n-1] + e[0])``, ``u2 = lam (e[n-1] - 2 e[0] +
      e[1])``. Woodbury: ``A^-1 y = C^-1 y + Q G^-1 Q' y`` with ``Q = C^-1 U`` and ``G = I - U'
      Q`` (C is symmetric, so ``U' C^-1 y = Q' y``). In the DFT domain ``C^-1`` is the
      multiplier ``1 / c_k``: ``m = 1 - 1 / c_k``, ``r = Q G^-T``, ``h`` the DFTs of ``Q``'s
      columns. Exact (to rounding), O(n) beyond the FFT.
    """

    def __init__(self, detrend: str | None, n: int, n_keep: int, lam: float) -> None:
        if detrend is None:
            self.m = np.ones(n_keep)
            self.m[0] = 0.0
            self.r: NDArray[np.float64] | None = None
            self.h: NDArray[np.complex128] | None = None
            return
        if detrend == "linear":
            basis = np.stack([np.ones(n), np.arange(n, dtype=np.float64)], axis=1)
            self.m = np.ones(n_keep)
            self.r = np.ascontiguousarray(np.linalg.pinv(basis).T)
            self.h = np.fft.rfft(basis, axis=0)[:n_keep].T.copy()
            return
        theta = 2.0 * math.pi * np.arange(n // 2 + 1, dtype=np.float64) / n
        c_half = 1.0 + lam * lam * (2.0 - 2.0 * np.cos(theta)) ** 2
        u = np.zeros((n, 2))
        u[[n - 2, n - 1, 0], 0] = (lam, -2.0 * lam, lam)
        u[[n - 1, 0, 1], 1] = (lam, -2.0 * lam, lam)
        u_hat = np.fft.rfft(u, axis=0)
        q = np.fft.irfft(u_hat / c_half[:, None], n=n, axis=0)  # C^-1 U
        g = np.eye(2) - u.T @ q
        self.m = 1.0 - 1.0 / c_half[:n_keep]
        self.m[0] = 0.0  # c_0 = 1: exactly
        self.r = np.ascontiguousarray(q @ np.linalg.inv(g).T)
        # the trend's DFT is Y / c + g1 Q1^ + g2 Q2^; Z = Y - trend^
        self.h = (u_hat / c_half[:, None])[:n_keep].T.copy()

    @property
    def m_complex(self) -> NDArray[np.complex128]:
        """:attr:`m` as complex numbers (imaginary parts +0), made once."""
        mc: NDArray[np.complex128] | None = getattr(self, "_m_complex", None)
        if mc is None:
            mc = self.m.astype(np.complex128)
            self._m_complex = mc
        return mc


_DETRENDERS: dict[tuple[str | None, int, int, float], _Detrender] = {}


def _detrender(detrend: str | None, n: int, n_keep: int, lam: float) -> _Detrender:
    key = (detrend, n, n_keep, lam)
    d = _DETRENDERS.get(key)
    if d is None:
        d = _DETRENDERS[key] = _Detrender(detrend, n, n_keep, lam)
    return d


def detrended_hann_psd_rows(
    rows: NDArray[np.float64],
    n_bins: int,
    detrend: str | None,
    fs: float = RESAMPLE_HZ,
    lam: float = SMOOTHNESS_PRIORS_LAMBDA,
    *,
    centred: bool = False,
) -> NDArray[np.float64]:
    """One-sided PSD (ms^2/Hz) of every row: detrended, periodic-Hann windowed, no zero padding.

    Bins ``k * fs / n`` for ``k < n_bins`` (``n`` the row length, ``n_bins < n / 2``); the same
    density convention as :func:`power_spectrum_rows`. ``detrend`` (see :class:`_Detrender`)
    is removed from each row before the window: ``None`` its mean, ``"linear"`` its
    least-squares line, ``"smoothness_priors"`` the smoothness-priors trend with
    regularisation ``lam`` (Tarvainen et al. 2002; the trend solves
    ``(I + lam**2 D2' D2) z = y``, the convention of NeuroKit2's ``signal_detrend``). The
    periodic Hann window of length ``n`` is applied in the DFT domain, where it is exactly the
    three-tap ``X[k] = Z[k] / 2 - (Z[k-1] + Z[k+1]) / 4``. ``rows`` is modified in place;
    ``centred=True`` says each row's first value has already been subtracted
    (:func:`centred_rows`), which this function otherwise does first.
    """
    from scipy import fft as sp_fft  # local: scipy.fft costs ~0.2 s at `import hrv`

    n = rows.shape[-1]
    n_keep = n_bins + 1
    det = _detrender(detrend, n, n_keep, lam)
    if not centred:
        rows -= rows[..., :1]  # first value out first: a constant row becomes exactly 0
    lead = rows.shape[:-1]
    # the kept bins, multiplied by m (as a complex array: the product numpy forms when it
    # casts the real m itself), into reused contiguous memory
    z = np.multiply(
        sp_fft.rfft(rows, axis=-1)[..., :n_keep],
        det.m_complex,
        out=scratch("detrended_hann_psd_rows.z", (*lead, 2 * n_keep)).view(np.complex128),
    )
    if det.r is not None and det.h is not None:
        z -= (rows @ det.r) @ det.h
    # The three-tap Hann window on the (real, imaginary) pairs: X[k] = Z[k] / 2 - Z[k-1] / 4 -
    # Z[k+1] / 4 (Z[-1] = conj(Z[1])), each part the same product or difference as in complex
    # arithmetic; a quarter of every bin is formed once.
    zr = z.view(np.float64)
    q = np.multiply(zr, 0.25, out=scratch("detrended_hann_psd_rows.q", zr.shape))
    x = np.multiply(
        zr[..., : 2 * n_bins], 0.5, out=scratch("detrended_hann_psd_rows.x", (*lead, 2 * n_bins))
    )
    x[..., 2:] -= q[..., : 2 * n_bins - 2]
    x[..., 0] -= q[..., 2]  # conj(Z[1]) / 4: real part Re Z[1] / 4 ...
    x[..., 1] += q[..., 3]  # ... imaginary part -Im Z[1] / 4, subtracted
    x -= q[..., 2 : 2 * n_keep]
    pairs = x.reshape(*lead, n_bins, 2)
    p: NDArray[np.float64] = np.square(pairs[..., 0])
    p += np.square(pairs[..., 1], out=scratch("detrended_hann_psd_rows.im2", p.shape))
    # sum(w**2) of the periodic Hann window of length n is 3 n / 8
    p *= 2.0 / (fs * (3.0 * n / 8.0))
    p[..., 0] *= 0.5
    return p


def lomb_psd(
    t: NDArray[np.float64], y: NDArray[np.float64], freq_hz: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Lomb-Scargle PSD (ms^2/Hz, one-sided) of ``y`` sampled at times ``t`` at ``freq_hz > 0``.

    The classical periodogram of Lomb (1976) and Scargle (1982) on the mean-removed series, with
    the time offset ``tau`` that makes the sine and cosine terms orthogonal::

        P(f) = 1/2 [ (sum y cos w(t - tau))^2 / sum cos^2 w(t - tau)
                     + (sum y sin w(t - tau))^2 / sum sin^2 w(t - tau) ],   w = 2 pi f

    scaled to a density: ``PSD(f) = 2 * T * P(f) / N`` with the duration
    ``T = (t[-1] - t[0]) * N / (N - 1)`` (N samples at their mean spacing). For evenly
    sampled data this equals the periodogram density, so a sinusoid of amplitude ``A``
    integrates to ``A**2 / 2`` (Press & Rybicki 1989; VanderPlas 2018).
    """
    n = t.size
    yc = y - y[0]  # exactly 0 for a constant series
    yc -= yc.mean()
    tc = t - t[0]
    p = np.empty(freq_hz.size, dtype=np.float64)
    step = max(1, _LOMB_CHUNK // max(n, 1))  # bound the (frequencies x beats) temporaries
    for a in range(0, freq_hz.size, step):
        w = 2.0 * math.pi * freq_hz[a : a + step]
        wt = np.outer(w, tc)
        c = np.cos(wt)
        s = np.sin(wt)
        yc_ = c @ yc  # sum y cos wt
        ys_ = s @ yc  # sum y sin wt
        c2 = np.einsum("ij,ij->i", c, c) - np.einsum("ij,ij->i", s, s)  # sum cos 2wt
        s2 = 2.0 * np.einsum("ij,ij->i", c, s)  # sum sin 2wt
        # tau: 2 w tau = atan2(s2, c2) makes the shifted cosines and sines orthogonal; then
        # sum cos^2 w(t - tau) = (N + |z2|) / 2 and sum sin^2 w(t - tau) = (N - |z2|) / 2
        half = 0.5 * np.arctan2(s2, c2)
        cos_h, sin_h = np.cos(half), np.sin(half)
        shifted_c = cos_h * yc_ + sin_h * ys_  # sum y cos w(t - tau)
        shifted_s = cos_h * ys_ - sin_h * yc_  # sum y sin w(t - tau)
        mod = np.hypot(c2, s2)
        cc = 0.5 * (n + mod)
        ss = 0.5 * (n - mod)
        with np.errstate(divide="ignore", invalid="ignore"):
            p[a : a + step] = 0.5 * (
                np.where(cc > 0, shifted_c**2 / cc, 0.0)
                + np.where(ss > 1e-9 * n, shifted_s**2 / ss, 0.0)
            )
    span = float(tc[-1])
    duration = span * n / (n - 1)
    out: NDArray[np.float64] = 2.0 * duration * p / n
    return out
