"""Frequency-domain HRV of one RR series (one window), and of every window of a recording.

Bands (Task Force 1996): VLF ``0.0033 <= f < 0.04`` Hz, LF ``0.04 <= f < 0.15`` Hz,
HF ``0.15 <= f < 0.4`` Hz. Powers are in ms^2: the one-sided power spectral density (ms^2/Hz)
summed over the frequency bins inside the band times the bin width (rectangle rule; a bin at
frequency ``f`` belongs to the band when ``lo <= f < hi``).

Two estimators:

``method="welch"`` (default), Welch (1967) on the 4 Hz resampled tachogram, as Kubios and pyHRV do
    1. **Resampling**: RR (ms) at the beat times, interpolated by a natural cubic spline (as
       Kubios), sampled at the grid points ``m / 4`` s of the beat timeline that fall in
       ``[t[20], t[N-21]]`` (the interior, where a window's own spline equals the whole
       recording's to ~4e-12: 20 beats are left out at each end; see ``hrv._spectral``, which
       also states the high-frequency power it keeps). ``n`` samples.
    2. **Segments on the recording's clock**: ``L = 512`` samples (128 s) starting at every
       multiple of ``H = 32`` samples (8 s) of the 4 Hz clock, i.e. covering grid indices
       ``j*H .. j*H + L - 1``; a window uses every such segment that lies wholly inside its
       interior (overlap 94 %; periodic Hann windows at this hop add up to a constant, so the
       window's data are weighted evenly except for the tapers at its two ends; up to 16 s at
       the ends of the interior fall in no whole segment). Fixing the segments on the clock
       means that overlapping windows share them, which is what makes the batched version fast.
    3. **Each segment**: detrended (``detrend=``, below), a periodic Hann window, FFT with
       ``nfft = 512`` (no zero padding: bins every ``4 / 512 = 0.0078125`` Hz), one-sided density
       ``2 |X|^2 / (fs * sum(w^2))``; the spectra of the window's segments are averaged (mean).

       **Detrending** (``detrend=``), per 128-s segment:

       - ``"smoothness_priors"`` (default, Kubios' default method): minus the trend
         ``z = (I + lam**2 D2' D2)^-1 y`` of Tarvainen, Ranta-aho & Karjalainen (2002), ``D2``
         the second-difference matrix, ``lam = 500`` (:data:`SMOOTHNESS_PRIORS_LAMBDA`; the
         ``lam**2`` convention of the paper and of NeuroKit2's ``signal_detrend``). What
         ``lam`` means depends on the sample rate: away from the segment's ends the detrending
         is the high-pass ``H(f) = L x**2 / (1 + L x**2)``, ``L = lam**2``,
         ``x = 2 - 2 cos(2 pi f / fs)``, so ``lam = 500`` on our **4 Hz samples** has its half
         power at **0.0355 Hz** (the 0.035 Hz Kubios quotes for lambda 500), keeps 63 % of the
         power at 0.04 Hz, 82 % at 0.05 Hz, 98.7 % at 0.1 Hz and all of HF, and removes VLF
         almost entirely (0.0078 Hz: 0.003 %). On a series of one sample per beat (~1 Hz)
         the same ``lam`` would cut at ~0.009 Hz; for a given cut-off ``lam`` scales with
         ``fs**2``.
       - ``"linear"``: minus the segment's least-squares line (``scipy.signal.welch``'s
         ``detrend="linear"``).
       - ``None``: minus the segment's mean only (``detrend="constant"``; NeuroKit2's Welch
         does not detrend beyond that).

       Where this knowingly differs from Kubios: Kubios detrends the whole analysed sample once
       before its Welch segments; here each 128-s segment is detrended on its own, which is
       what keeps a window's spectrum a function of the window's beats alone and lets
       overlapping windows share their segments (``hrv.rolling`` == single window ==
       streaming). The two agree away from segment ends; near them the Hann taper already
       weights the data down. Computed exactly in the DFT domain (``hrv._spectral``: the
       smoothness-priors system is a circulant plus a rank-2 term), for about the cost of
       the FFT itself.
    4. Needs ``N >= 42`` beats and at least one whole, gap-free segment in the interior (an
       interior of 128-136 s at least, i.e. about 128 s plus 40 beats of data; the Task Force
       asks for >= 2 min of data for LF); otherwise every metric is ``None``.

``method="lomb"``, Lomb-Scargle on the uneven series (Lomb 1976; Scargle 1982)
    The mean-removed RR values at the beat times themselves (no resampling, no window), on the
    frequency grid ``k / 1024`` Hz (``k >= 1``), scaled to a density so that a sinusoid of
    amplitude ``A`` ms integrates to ``A**2 / 2`` (see ``hrv._spectral.lomb_psd``). Needs
    ``N >= 6`` and ``t[N-1] - t[0] >= 128`` s.

**Gaps** (``gaps[i]``: beat ``i`` does not follow beat ``i-1``): the resampled tachogram would
bridge a gap with a cubic as if the beats followed each other, so ``method="welch"`` *leaves out
every segment that touches a gap*: a gap at beat ``g`` spoils the samples strictly between
``t[g-7]`` and ``t[g+6]`` (the spline's interval across the gap and the 6 intervals on each
side, where its response to the jump is above 0.05 % of it), and
a segment holding any of them is not averaged. When no usable segment is left, the metrics are
``None``. ``method="lomb"`` needs no special treatment: it works on the beats themselves. Pass
the real beat times as ``t_s`` when you have them, so that a hole keeps its duration (with the
default timeline ``cumsum(rr_ms)`` the lost beats' time is simply missing and the two sides are
spliced; the segments across the splice are left out all the same).

**VLF needs 5 minutes**: ``vlf_ms2`` is ``None`` when the analysed span is shorter than
300 s (:data:`MIN_VLF_SPAN_S`; Task Force 1996: VLF from short-term recordings of 5 min or less
"is a dubious measure and should be avoided"). The span is ``span_s`` when given (``hrv.rolling``
and the streaming analyser pass the window length, so a 5-min window reports VLF), else the time
the beats cover at their mean spacing, ``(t[-1] - t[0]) * N / (N - 1)``. ``total_ms2`` is still
the power of 0.0033-0.4 Hz.

Derived metrics: ``total_ms2 = vlf + lf + hf`` (0.0033-0.4 Hz), ``lf_hf = lf / hf``,
``lf_nu = 100 lf / (lf + hf)``, ``hf_nu = 100 hf / (lf + hf)`` (normalised units: power over
total minus VLF, Task Force 1996), ``lf_peak_hz`` / ``hf_peak_hz`` the frequency of the largest
density in the band, refined between the bins by a parabola through the log density of that
bin and its two neighbours (``hrv._spectral.refined_peak_hz``; Smith & Serra 1987): the Welch
bins are 0.0078 Hz apart (0.47 breaths/min), the refined peak of a sinusoidal modulation lies
within 0.0002 Hz of its frequency anywhere in the band (tested within 0.002 Hz). A band whose
largest density sits at its edge, rising beyond it, keeps that bin's frequency; refined peaks
are clipped to the band. ``None`` when the band holds no power. Ratios with a zero denominator
are ``None``.

Windows of a whole recording (:func:`frequency_domain_windows`) are computed in one batch: one
resampling of the whole recording, each clock segment transformed once (batched FFTs) and
shared by the windows that contain it. Each window's values equal :func:`frequency_domain`
applied to that window's beats *with their beat times* (``t_s=t_s[sel]``: the 4 Hz grid is
the recording's clock), to ~1e-12 relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._spectral import (
    DETREND_METHODS,
    RESAMPLE_HZ,
    SMOOTHNESS_PRIORS_LAMBDA,
    SPLINE_MARGIN,
    Tachogram,
    beat_times,
    check_detrend,
    detrended_hann_psd_rows,
    gather_rows,
    interior_grid_range,
    lomb_psd,
    refined_peak_hz,
    scratch,
    spline_on_grid,
)
from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError

__all__ = [
    "DEFAULT_DETREND",
    "DETREND_METHODS",
    "FREQUENCY_FIELDS",
    "HF_BAND_HZ",
    "LF_BAND_HZ",
    "MIN_VLF_SPAN_S",
    "SMOOTHNESS_PRIORS_LAMBDA",
    "VLF_BAND_HZ",
    "FrequencyDomain",
    "frequency_domain",
    "frequency_domain_windows",
]

#: Task Force (1996) bands, Hz: lower bound inclusive, upper bound exclusive.
VLF_BAND_HZ: tuple[float, float] = (0.0033, 0.04)
LF_BAND_HZ: tuple[float, float] = (0.04, 0.15)
HF_BAND_HZ: tuple[float, float] = (0.15, 0.4)

#: Welch segment length in samples at 4 Hz (128 s), FFT length, and the spacing (8 s) of the
#: segments on the recording's clock.
WELCH_SEGMENT = 512
WELCH_NFFT = 512
WELCH_HOP = 32
#: Lomb-Scargle frequency step (Hz) and the minimum span of the beats it needs (s).
LOMB_DF_HZ = 1.0 / 1024.0
MIN_SPAN_S = WELCH_SEGMENT / RESAMPLE_HZ
#: Fewest beats for any spectrum (Lomb-Scargle; coherence's resampling needs 2 beats at each
#: end).
MIN_BEATS = 6
#: Fewest beats for Welch: the spline resampling leaves SPLINE_MARGIN beats out at each end.
WELCH_MIN_BEATS = 2 * SPLINE_MARGIN + 2
#: Spline intervals on each side of a gap's own interval whose samples are left out with it
#: (the spline's response to the jump decays by 0.268 per beat: below 0.05 % after 6).
GAP_REACH = 6
#: Shortest span (s) for which VLF is reported (Task Force 1996: VLF from recordings of 5 min
#: or less "is a dubious measure and should be avoided").
MIN_VLF_SPAN_S = 300.0
#: Detrending of the Welch segments unless told otherwise (Kubios' default method).
DEFAULT_DETREND: str | None = "smoothness_priors"

#: The numeric fields of :class:`FrequencyDomain`, in order (the ``"frequency"`` columns).
FREQUENCY_FIELDS: tuple[str, ...] = (
    "vlf_ms2",
    "lf_ms2",
    "hf_ms2",
    "total_ms2",
    "lf_hf",
    "lf_nu",
    "hf_nu",
    "lf_peak_hz",
    "hf_peak_hz",
)

_METHODS = ("welch", "lomb")
#: Segments per FFT batch: 256 x 512 samples (1 MB) stay in cache through the mean removal,
#: windowing and FFT passes (4096-row batches of 16 MB ran ~25 % slower from memory).
_BATCH_SEGMENTS = 256


@dataclass(frozen=True, slots=True)
class FrequencyDomain:
    """Frequency-domain HRV of one RR series; see :func:`frequency_domain` for definitions.

    Every metric is ``None`` when the series is too short (or, for ratios and peaks, when a
    denominator or a band's power is zero). ``n_beats`` is the number of RR intervals given;
    ``method`` is the estimator used (``"welch"`` or ``"lomb"``).
    """

    vlf_ms2: float | None
    lf_ms2: float | None
    hf_ms2: float | None
    total_ms2: float | None
    lf_hf: float | None
    lf_nu: float | None
    hf_nu: float | None
    lf_peak_hz: float | None
    hf_peak_hz: float | None
    n_beats: int
    method: str


# --------------------------------------------------------------------------------------------
# Frequency grids and band metrics (shared by the single and the batched path)


def _welch_freqs() -> NDArray[np.float64]:
    n_bins = math.ceil(HF_BAND_HZ[1] * WELCH_NFFT / RESAMPLE_HZ)  # bins below 0.4 Hz
    return np.arange(n_bins, dtype=np.float64) * (RESAMPLE_HZ / WELCH_NFFT)


def _lomb_freqs() -> NDArray[np.float64]:
    k_max = math.ceil(HF_BAND_HZ[1] / LOMB_DF_HZ)
    return np.arange(1, k_max, dtype=np.float64) * LOMB_DF_HZ


def _band_slices(freqs: NDArray[np.float64]) -> list[slice]:
    out = []
    for lo, hi in (VLF_BAND_HZ, LF_BAND_HZ, HF_BAND_HZ):
        a = int(np.searchsorted(freqs, lo, side="left"))
        b = int(np.searchsorted(freqs, hi, side="left"))
        out.append(slice(a, b))
    return out


def _band_metrics(
    psd: NDArray[np.float64],
    freqs: NDArray[np.float64],
    df: float,
    span_s: NDArray[np.float64],
) -> dict[str, NDArray[np.float64]]:
    """Band powers, ratios and peaks of every row of ``psd`` (NaN where undefined); VLF is NaN
    where ``span_s`` (per row) is below :data:`MIN_VLF_SPAN_S`."""
    vlf_s, lf_s, hf_s = _band_slices(freqs)
    vlf = psd[:, vlf_s].sum(axis=1) * df
    lf = psd[:, lf_s].sum(axis=1) * df
    hf = psd[:, hf_s].sum(axis=1) * df
    total = vlf + lf + hf
    vlf = np.where(span_s >= MIN_VLF_SPAN_S, vlf, np.nan)
    lfhf_sum = lf + hf
    with np.errstate(divide="ignore", invalid="ignore"):
        lf_hf = np.where(hf > 0.0, lf / hf, np.nan)
        lf_nu = np.where(lfhf_sum > 0.0, 100.0 * lf / lfhf_sum, np.nan)
        hf_nu = np.where(lfhf_sum > 0.0, 100.0 * hf / lfhf_sum, np.nan)
    lf_k = lf_s.start + np.argmax(psd[:, lf_s], axis=1)
    hf_k = hf_s.start + np.argmax(psd[:, hf_s], axis=1)
    lf_peak = np.where(lf > 0.0, refined_peak_hz(psd, lf_k, freqs, LF_BAND_HZ), np.nan)
    hf_peak = np.where(hf > 0.0, refined_peak_hz(psd, hf_k, freqs, HF_BAND_HZ), np.nan)
    return {
        "vlf_ms2": vlf,
        "lf_ms2": lf,
        "hf_ms2": hf,
        "total_ms2": total,
        "lf_hf": lf_hf,
        "lf_nu": lf_nu,
        "hf_nu": hf_nu,
        "lf_peak_hz": lf_peak,
        "hf_peak_hz": hf_peak,
    }


def _segment_range(m_lo: Any, m_hi: Any) -> tuple[Any, Any]:
    """First and last index ``j`` of the clock's Welch segments (samples ``j*H .. j*H + L - 1``)
    that lie inside the sample range ``m_lo .. m_hi`` (works on arrays; ``last < first`` when
    none fits)."""
    hop, seg = WELCH_HOP, WELCH_SEGMENT
    first = -((-np.asarray(m_lo)) // hop)
    last = (np.asarray(m_hi) - seg + 1) // hop
    return first, last


def _gap_free_segments(
    t: NDArray[np.float64], gap_idx: NDArray[np.int64], j0: int, j1: int
) -> NDArray[np.bool_]:
    """Which clock segments ``j0 .. j1`` touch no gap (True = usable).

    A gap at beat ``g`` (beat ``g`` does not follow ``g-1``) spoils the spline's interval across
    it and :data:`GAP_REACH` intervals on each side, ``g-7 .. g+5``, i.e. the samples strictly
    between ``t[g-7]`` and ``t[g+6]`` (open-ended when those beats do not exist). A segment is
    left out when any of its samples falls there.
    """
    n = t.size
    ok = np.ones(j1 - j0 + 1, dtype=np.bool_)
    if gap_idx.size == 0 or ok.size == 0:
        return ok
    big = np.iinfo(np.int64).max // 4
    lo_beat = gap_idx - 1 - GAP_REACH
    hi_beat = gap_idx + GAP_REACH
    lo_m = np.where(
        lo_beat >= 0, np.floor(t[np.maximum(lo_beat, 0)] * RESAMPLE_HZ) + 1, -big
    ).astype(np.int64)
    hi_m = np.where(
        hi_beat <= n - 1, np.ceil(t[np.minimum(hi_beat, n - 1)] * RESAMPLE_HZ) - 1, big
    ).astype(np.int64)
    # segment j covers samples j*H .. j*H + L - 1: it meets [lo_m, hi_m] when
    # ceil((lo_m - L + 1) / H) <= j <= floor(hi_m / H)
    ja = np.maximum(-((WELCH_SEGMENT - 1 - lo_m) // WELCH_HOP), j0) - j0
    jb = np.minimum(hi_m // WELCH_HOP, j1) - j0
    keep = ja <= jb
    mark = np.zeros(ok.size + 1, dtype=np.int64)
    np.add.at(mark, ja[keep], 1)
    np.add.at(mark, jb[keep] + 1, -1)
    ok &= np.cumsum(mark[:-1]) == 0
    return ok


def _sum_runs(
    seg_psd: NDArray[np.float64], first: NDArray[np.int64], count: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``sum(seg_psd[first[w] : first[w] + count[w]])`` for every ``w`` (``count >= 1``).

    Binary lifting: level ``k`` holds the sums of ``2**k`` consecutive rows, and a run is the sum
    of the levels of the binary digits of its length, largest first. The single-window and the
    batched paths both use this, so both add the same partial sums in the same order.
    """
    n_rows, n_bins = seg_psd.shape
    n_lev = 1
    while (1 << n_lev) <= int(count.max()):
        n_lev += 1
    # the levels above 0 live in reused scratch memory (fresh multi-megabyte blocks cost more
    # in page faults than the additions); level k has n_rows - (2**k - 1) rows
    block = scratch("sum_runs.levels", (max(n_lev - 1, 0), n_rows, n_bins))
    levels = [seg_psd]
    for k in range(1, n_lev):
        prev = levels[-1]
        half = 1 << (k - 1)
        levels.append(np.add(prev[:-half], prev[half:], out=block[k - 1, : prev.shape[0] - half]))
    acc = np.zeros((first.size, n_bins))
    gathered = scratch("sum_runs.gathered", (first.size, n_bins))
    pos = first.copy()
    for k in range(n_lev - 1, -1, -1):
        rows = np.flatnonzero((count >> k) & 1)
        if rows.size == 0:
            continue
        at = pos[rows]
        if rows.size == first.size:  # every window takes this level (the usual case)
            acc += np.take(levels[k], at, axis=0, out=gathered)
        else:
            acc[rows] += np.take(levels[k], at, axis=0, out=gathered[: rows.size])
        pos[rows] = at + (1 << k)
    return acc


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _none_result(n_beats: int, method: str) -> FrequencyDomain:
    return FrequencyDomain(None, None, None, None, None, None, None, None, None, n_beats, method)


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or method not in _METHODS:
        raise HrvInputError(f"method: expected one of {_METHODS}, got {method!r}")
    return method


def _check_span(span_s: Any, t: NDArray[np.float64], rr: NDArray[np.float64]) -> float:
    """``span_s`` checked, or the default: the time the ``N`` beats cover at their mean spacing,
    ``(t[-1] - t[0]) * N / (N - 1)`` (about ``sum(rr_ms) / 1000`` on the default timeline;
    it depends on the beat times only)."""
    if span_s is None:
        n = int(rr.size)
        return float(t[-1] - t[0]) * n / (n - 1) if n >= 2 else 0.0
    if isinstance(span_s, bool) or not isinstance(span_s, int | float | np.integer | np.floating):
        raise HrvInputError(f"span_s: expected a number of seconds, got {span_s!r}")
    v = float(span_s)
    if not math.isfinite(v) or v < 0.0:
        raise HrvInputError(f"span_s: must be finite and >= 0 seconds, got {span_s!r}")
    return v


def _welch_psd_single(
    t: NDArray[np.float64],
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_],
    detrend: str | None,
) -> NDArray[np.float64]:
    """Welch PSD (one row) of one window's beats, or an empty (0, F) array when no usable
    segment fits."""
    n_bins = _welch_freqs().size
    if rr.size < WELCH_MIN_BEATS:
        return np.empty((0, n_bins))
    k = SPLINE_MARGIN
    m_lo, m_hi = interior_grid_range(t[k], t[-1 - k])
    j_lo, j_hi = (int(v) for v in _segment_range(m_lo, m_hi))
    if j_hi < j_lo:
        return np.empty((0, n_bins))
    usable = _gap_free_segments(t, np.flatnonzero(gap[1:]) + 1, j_lo, j_hi)
    n_usable = int(usable.sum())
    if n_usable == 0:
        return np.empty((0, n_bins))
    series = spline_on_grid(t, rr, int(m_lo), int(m_hi))
    offsets = np.arange(j_lo, j_hi + 1, dtype=np.int64) * WELCH_HOP - int(m_lo)
    rows = gather_rows(series, offsets, WELCH_SEGMENT)
    p = detrended_hann_psd_rows(rows, n_bins, detrend)
    p[~usable] = 0.0
    count = np.array([j_hi - j_lo + 1], dtype=np.int64)
    acc = _sum_runs(p, np.zeros(1, dtype=np.int64), count)
    out: NDArray[np.float64] = acc / float(n_usable)
    return out


def _detrend_beats(
    t: NDArray[np.float64], rr: NDArray[np.float64], detrend: str | None
) -> NDArray[np.float64]:
    """The uneven RR series detrended for Lomb-Scargle (its mean is removed there anyway).

    ``"linear"``: minus the least-squares line in ``t``. ``"smoothness_priors"``: minus the
    trend ``(I + l**2 D2' D2)^-1 rr`` on the beat series (one sample per beat), with
    ``l = lam / (4 * mean_rr_s)**2``, which puts the filter's cut-off at the same frequency in
    Hz as ``lam`` on the 4 Hz tachogram (the cut-off in samples scales as ``1 / sqrt(l)``).
    """
    if detrend is None:
        return rr
    if detrend == "linear":
        tc = t - t.mean()
        slope = float(np.dot(tc, rr - rr.mean()) / np.dot(tc, tc))
        out: NDArray[np.float64] = rr - slope * tc
        return out
    from scipy.linalg import solveh_banded  # local: scipy.linalg costs at `import hrv`

    n = rr.size
    mean_rr_s = float(t[-1] - t[0]) / (n - 1)
    lam = SMOOTHNESS_PRIORS_LAMBDA / (RESAMPLE_HZ * mean_rr_s) ** 2
    l2 = lam * lam
    # upper bands of I + l2 D2' D2: diagonals 0, 1, 2 (pentadiagonal, symmetric)
    d0 = np.full(n, 1.0 + 6.0 * l2)
    d0[[0, -1]] = 1.0 + l2
    d0[[1, -2]] = 1.0 + 5.0 * l2
    d1 = np.full(n - 1, -4.0 * l2)
    d1[[0, -1]] = -2.0 * l2
    d2 = np.full(n - 2, l2)
    ab = np.zeros((3, n))
    ab[0, 2:] = d2
    ab[1, 1:] = d1
    ab[2, :] = d0
    trend = solveh_banded(ab, rr - rr[0]) + rr[0]
    detrended: NDArray[np.float64] = rr - trend
    return detrended


def _lomb_psd_single(
    t: NDArray[np.float64], rr: NDArray[np.float64], detrend: str | None
) -> NDArray[np.float64]:
    freqs = _lomb_freqs()
    if rr.size < MIN_BEATS or float(t[-1] - t[0]) < MIN_SPAN_S:
        return np.empty((0, freqs.size))
    return lomb_psd(t, _detrend_beats(t, rr, detrend), freqs)[None, :]


def _metrics_single(
    psd: NDArray[np.float64], method: str, n_beats: int, span_s: float
) -> FrequencyDomain:
    if psd.shape[0] == 0:
        return _none_result(n_beats, method)
    if method == "welch":
        freqs, df = _welch_freqs(), RESAMPLE_HZ / WELCH_NFFT
    else:
        freqs, df = _lomb_freqs(), LOMB_DF_HZ
    cols = _band_metrics(psd, freqs, df, np.array([span_s]))
    v = {name: _nan_to_none(float(cols[name][0])) for name in FREQUENCY_FIELDS}
    return FrequencyDomain(**v, n_beats=n_beats, method=method)


def frequency_domain(
    rr_ms: Any,
    *,
    gaps: Any = None,
    t_s: Any = None,
    method: str = "welch",
    detrend: str | None = DEFAULT_DETREND,
    span_s: float | None = None,
) -> FrequencyDomain:
    """Frequency-domain HRV (VLF, LF, HF powers, LF/HF, normalised units, peaks) of an RR series.

    See the module docstring for the exact estimator: Welch on the 4 Hz resampled tachogram
    (128-s periodic-Hann segments every 8 s of the beat clock, mean removed per segment,
    nfft 512, mean of the segment spectra) or Lomb-Scargle on the beats, and band powers in
    ms^2 as rectangle sums of the density over ``lo <= f < hi``.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0; may be empty).
    gaps : array_like of bool, optional
        ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1`` (``gaps[0]`` is ignored).
        Welch leaves out the segments that touch a gap (module docstring); Lomb-Scargle uses
        the beats as they are.
    t_s : array_like, optional
        Beat times in seconds (strictly increasing), default ``cumsum(rr_ms) / 1000``. The 4 Hz
        samples sit at multiples of 0.25 s of this clock, so to reproduce a window of
        ``hrv.rolling`` / :func:`frequency_domain_windows` pass that window's slice of the
        recording's ``cumsum(rr_ms) / 1000``.
    method : {"welch", "lomb"}
        Spectral estimator.
    detrend : {"smoothness_priors", "linear", None}
        Trend removed from each Welch segment (module docstring): Tarvainen et al.'s smoothness
        priors with lambda 500 on the 4 Hz samples (default; half power at 0.0355 Hz), the
        least-squares line, or the mean only. With ``method="lomb"`` the same options apply to
        the beat series itself, the smoothness priors with ``lambda / (4 * mean_rr_s)**2`` so
        that the cut-off stays at 0.0355 Hz.
    span_s : float, optional
        The duration the beats stand for (s), which decides whether VLF is reported
        (>= 300 s); default ``(t[-1] - t[0]) * N / (N - 1)``. :func:`hrv.rolling` passes
        its ``window_s``.

    Returns
    -------
    FrequencyDomain
        ``vlf_ms2, lf_ms2, hf_ms2, total_ms2`` (ms^2), ``lf_hf``, ``lf_nu, hf_nu`` (%),
        ``lf_peak_hz, hf_peak_hz``, ``n_beats`` and the ``method`` used. All metrics ``None``
        when there are fewer than 6 beats or less than 128 s of (gap-free, for Welch) data;
        ``vlf_ms2`` ``None`` for a span under 300 s; see the module docstring. Never raises
        for too few beats.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms``, ``gaps`` or ``t_s`` (wrong shape, NaN, not increasing, seconds
        passed as ms, ...), or an unknown ``method``.

    References
    ----------
    Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5), 1043-1065.
    Welch P.D. (1967). The use of fast Fourier transform for the estimation of power spectra.
    IEEE Trans Audio Electroacoust 15(2), 70-73.
    Lomb N.R. (1976). Astrophys Space Sci 39, 447-462. Scargle J.D. (1982). Astrophys J 263,
    835-853.
    Tarvainen M.P., Ranta-aho P.O., Karjalainen P.A. (2002). An advanced detrending method with
    application to HRV analysis. IEEE Trans Biomed Eng 49(2), 172-175.
    Smith J.O., Serra X. (1987). PARSHL: an analysis/synthesis program for non-harmonic sounds
    based on a sinusoidal representation. Proc ICMC 1987 (peak interpolation on log magnitude).
    Tarvainen M.P. et al. (2014). Kubios HRV - heart rate variability analysis software.
    Comput Methods Programs Biomed 113(1), 210-220 (4 Hz cubic resampling, Welch spectrum).
    """
    method = _check_method(method)
    detrend = check_detrend(detrend)
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size)
    t = beat_times(rr, t_s)
    span = _check_span(span_s, t, rr)
    if method == "welch":
        psd = _welch_psd_single(t, rr, gap, detrend)
    else:
        psd = _lomb_psd_single(t, rr, detrend)
    return _metrics_single(psd, method, int(rr.size), span)


def frequency_domain_windows(
    rr_ms: Any,
    *,
    t_end_s: Any,
    window_s: float,
    gaps: Any = None,
    method: str = "welch",
    detrend: str | None = DEFAULT_DETREND,
) -> dict[str, NDArray[np.float64]]:
    """:func:`frequency_domain` of every window of a recording, batched.

    Window ``k`` holds the beats with ``t_end_s[k] - window_s < t_s <= t_end_s[k]``, where
    ``t_s = cumsum(rr_ms) / 1000`` (docs/ARCHITECTURE.md). Its values equal
    ``frequency_domain(rr_ms[sel], gaps=gaps[sel], t_s=t_s[sel], method=method,
    detrend=detrend, span_s=window_s)`` (to ~1e-12 relative; ``gaps[sel][0]`` is
    irrelevant).

    How: the tachogram of the whole recording is resampled once (the interpolant's value on a
    window's interior does not depend on beats outside it); the Welch segments sit on the
    recording's clock, so each is transformed once (batched FFTs) and shared by every window
    that contains it; each window averages its segments' spectra (vectorised over windows, a
    loop over the segment rank only); segments that touch a gap are left out exactly as in the
    single-window function. With ``method="lomb"`` the windows are computed one by one (about
    10 ms per 5-min window: slow for whole recordings).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals (ms) of the whole recording.
    t_end_s : array_like
        Window ends (s), 1-D, finite.
    window_s : float
        Window length (s), > 0.
    gaps : array_like of bool, optional
        As for :func:`frequency_domain`.
    method : {"welch", "lomb"}
        Spectral estimator.
    detrend : {"smoothness_priors", "linear", None}
        As for :func:`frequency_domain`.

    Returns
    -------
    dict of str to numpy.ndarray
        One float64 column per field of :data:`FREQUENCY_FIELDS`, one value per window, NaN
        where the single-window result is ``None`` (VLF: with ``span_s=window_s``).

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms``, ``gaps``, ``t_end_s``, ``window_s`` or ``method``.

    References
    ----------
    See :func:`frequency_domain`.
    """
    return _frequency_windows(
        rr_ms,
        t_end_s=t_end_s,
        window_s=window_s,
        gaps=gaps,
        method=method,
        detrend=detrend,
        tacho_cache={},
    )


def _frequency_windows(
    rr_ms: Any,
    *,
    t_end_s: Any,
    window_s: float,
    gaps: Any,
    method: str,
    detrend: str | None,
    tacho_cache: dict[str, Tachogram],
) -> dict[str, NDArray[np.float64]]:
    """:func:`frequency_domain_windows`, sharing the resampled recording through
    ``tacho_cache`` (key ``"tachogram"``) with other batched spectral functions."""
    method = _check_method(method)
    detrend = check_detrend(detrend)
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size)
    t_end, window_s = check_windows(t_end_s, window_s)
    t = np.cumsum(rr) / 1000.0
    start = np.searchsorted(t, t_end - window_s, side="right").astype(np.int64)
    stop = np.searchsorted(t, t_end, side="right").astype(np.int64)
    out = {name: np.full(t_end.size, np.nan) for name in FREQUENCY_FIELDS}
    n_beats = stop - start
    valid = n_beats >= (WELCH_MIN_BEATS if method == "welch" else MIN_BEATS)
    if method == "welch" and valid.any():
        idx = np.flatnonzero(valid)
        tacho = tacho_cache.setdefault("spline", Tachogram(t, rr, kind="spline"))
        gap_idx = np.flatnonzero(gap[1:]) + 1 if gap.size > 1 else np.empty(0, np.int64)
        cols = welch_windows(t, tacho, start[idx], stop[idx], gap_idx, detrend, window_s)
        for name in FREQUENCY_FIELDS:
            out[name][idx] = cols[name]
    elif method == "lomb":
        for k in np.flatnonzero(valid):  # Lomb-Scargle: one window at a time (documented)
            a, b = int(start[k]), int(stop[k])
            psd = _lomb_psd_single(t[a:b], rr[a:b], detrend)
            res = _metrics_single(psd, "lomb", b - a, window_s)
            for name in FREQUENCY_FIELDS:
                v = getattr(res, name)
                out[name][k] = np.nan if v is None else v
    return out


def check_windows(t_end_s: Any, window_s: Any) -> tuple[NDArray[np.float64], float]:
    if isinstance(window_s, bool) or not isinstance(
        window_s, int | float | np.integer | np.floating
    ):
        raise HrvInputError(f"window_s: expected a number of seconds, got {window_s!r}")
    w = float(window_s)
    if not math.isfinite(w) or w <= 0.0:
        raise HrvInputError(f"window_s: must be finite and > 0 seconds, got {window_s!r}")
    try:
        t_end = np.asarray(t_end_s, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise HrvInputError(f"t_end_s: cannot be read as window ends in seconds ({exc})") from exc
    if t_end.ndim != 1:
        raise HrvInputError(f"t_end_s: expected a 1-D array, got shape {t_end.shape}")
    if not np.all(np.isfinite(t_end)):
        i = int(np.argmax(~np.isfinite(t_end)))
        raise HrvInputError(f"t_end_s: value at index {i} is not finite")
    return t_end, w


def welch_windows(
    t: NDArray[np.float64],
    tacho: Tachogram,
    start: NDArray[np.int64],
    stop: NDArray[np.int64],
    gap_idx: NDArray[np.int64],
    detrend: str | None,
    window_s: float,
) -> dict[str, NDArray[np.float64]]:
    """Welch metrics of windows that have >= MIN_BEATS beats (NaN where no usable segment
    fits).

    The clock's segments are shared by every window that contains them, so each segment's
    spectrum is computed once (batched FFTs over the whole recording) and every window averages
    the spectra of its segments; segments that touch a gap (``gap_idx``: beats that do not
    follow their predecessor) are left out, as in the single-window function.
    """
    freqs = _welch_freqs()
    n_bins = freqs.size
    w = start.size
    cols = {name: np.full(w, np.nan) for name in FREQUENCY_FIELDS}
    m_lo, m_hi = interior_grid_range(t[start + SPLINE_MARGIN], t[stop - 1 - SPLINE_MARGIN])
    j_lo, j_hi = _segment_range(m_lo, m_hi)
    count = j_hi - j_lo + 1
    ok = np.flatnonzero(count >= 1)
    if ok.size == 0:
        return cols
    j_lo, count = j_lo[ok], count[ok]
    # the segments any window uses, and the resampled recording they span
    seg_lo = int(j_lo.min())
    seg_hi = int((j_lo + count - 1).max())
    series = tacho.series()
    g_lo = seg_lo * WELCH_HOP - tacho.m_first  # position of the first segment's first sample
    used = np.zeros(seg_hi - seg_lo + 2, dtype=np.int64)  # segments some window needs
    np.add.at(used, j_lo - seg_lo, 1)
    np.add.at(used, j_lo + count - seg_lo, -1)
    usable = _gap_free_segments(t, gap_idx, seg_lo, seg_hi)
    need = np.flatnonzero((np.cumsum(used[:-1]) > 0) & usable)
    seg_psd = scratch("welch.seg_psd", (seg_hi - seg_lo + 1, n_bins))  # reused memory
    seg_psd.fill(0.0)  # rows of unusable segments stay 0
    for a in range(0, need.size, _BATCH_SEGMENTS):
        idx = need[a : a + _BATCH_SEGMENTS]
        rows = gather_rows(series, g_lo + idx * WELCH_HOP, WELCH_SEGMENT)
        seg_psd[idx] = detrended_hann_psd_rows(rows, n_bins, detrend)
    # each window: the mean of its usable segments' spectra
    n_usable_before = np.concatenate([[0], np.cumsum(usable, dtype=np.int64)])
    n_usable = n_usable_before[j_lo - seg_lo + count] - n_usable_before[j_lo - seg_lo]
    some = n_usable >= 1
    with np.errstate(divide="ignore", invalid="ignore"):
        psd = _sum_runs(seg_psd, j_lo - seg_lo, count) / n_usable[:, None]
    span = np.full(int(some.sum()), window_s)
    metrics = _band_metrics(psd[some], freqs, RESAMPLE_HZ / WELCH_NFFT, span)
    for name in FREQUENCY_FIELDS:
        cols[name][ok[some]] = metrics[name]
    return cols
