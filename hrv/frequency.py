"""Frequency-domain HRV of one RR series (one window), and of every window of a recording.

Bands (Task Force 1996): VLF ``0.0033 <= f < 0.04`` Hz, LF ``0.04 <= f < 0.15`` Hz,
HF ``0.15 <= f < 0.4`` Hz. Powers are in ms^2: the one-sided power spectral density (ms^2/Hz)
summed over the frequency bins inside the band times the bin width (rectangle rule; a bin at
frequency ``f`` belongs to the band when ``lo <= f < hi``).

The density is :func:`hrv.power_spectrum`'s (module :mod:`hrv.spectrum` states the estimator:
``method="welch"`` (default), Welch (1967) on the 4 Hz natural-spline tachogram, 128-s
periodic-Hann segments every 8 s of the beat clock, each detrended (``detrend=``, default
Tarvainen et al.'s smoothness priors, lambda 500), nfft 512; or ``method="lomb"``,
Lomb-Scargle on the beats; segments that touch a gap are left out). The metrics below are
computed from exactly that array, so a plot of :func:`hrv.power_spectrum` shows the reported
peaks and band areas.

**VLF needs 5 minutes**: ``vlf_ms2`` is ``None`` when the analysed span is shorter than
300 s (:data:`MIN_VLF_SPAN_S`; Task Force 1996: VLF from short-term recordings of 5 min or less
"is a dubious measure and should be avoided"). The span is ``span_s`` when given (``hrv.rolling``
and the streaming analyser pass the window length, so a 5-min window reports VLF; a segment its
nominal ``end - start``), else the time the beats cover at their mean spacing,
``(t[-1] - t[0]) * N / (N - 1)``, **plus one mean interval**: a recording of 5 min kept to whole
intervals holds a little less than 300 s (the interval that straddles its end is not in it: 284
beats of 299.48 s), as a 300-s window or a ``0-5:00`` segment does, and it stands for 5 min as
they do. One rule, then: beats that would fill 300 s but for part of one interval report VLF,
whether given as a file, a segment or a window (:data:`VLF_SPAN_SLACK_INTERVALS`).

``total_ms2`` is the power of 0.0033-0.4 Hz whether or not ``vlf_ms2`` is reported: the Task
Force's total power of a short-term recording is the variance of the NN intervals at <= 0.4 Hz,
VLF included (it withholds VLF as a *separate* number, not its share of the variance), and
Kubios' total power is the same sum. So ``total_ms2 - lf_ms2 - hf_ms2`` is the VLF power of a
short recording: our choice, to keep ``total_ms2`` comparable across recording lengths and with
Kubios; cite it as total power, not as LF + HF.

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
    centred_rows,
    check_detrend,
    detrended_hann_psd_rows,
    interior_grid_range,
    refined_peak_hz,
    scratch,
)
from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError
from hrv.spectrum import (
    DEFAULT_DETREND,
    MIN_BEATS,
    WELCH_HOP,
    WELCH_MIN_BEATS,
    WELCH_NFFT,
    WELCH_SEGMENT,
    PowerSpectrum,
    check_method,
    gap_free_segments,
    segment_range,
    spectrum_of_beats,
    sum_runs,
    welch_freqs,
)

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

#: Shortest span (s) for which VLF is reported (Task Force 1996: VLF from recordings of 5 min
#: or less "is a dubious measure and should be avoided").
MIN_VLF_SPAN_S = 300.0

#: A span taken from the beats themselves (no ``span_s``) is lengthened by this many mean RR
#: intervals before the :data:`MIN_VLF_SPAN_S` comparison: the part of one interval a
#: recording kept to whole intervals loses at its end (module docstring).
VLF_SPAN_SLACK_INTERVALS = 1.0
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
    """Band powers, ratios and peaks of every row of ``psd`` (NaN where undefined).

    VLF is NaN where ``span_s`` (per row) is below :data:`MIN_VLF_SPAN_S`.
    """
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


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _none_result(n_beats: int, method: str) -> FrequencyDomain:
    return FrequencyDomain(None, None, None, None, None, None, None, None, None, n_beats, method)


def _check_span(span_s: Any, t: NDArray[np.float64], rr: NDArray[np.float64]) -> float:
    """``span_s`` checked, or the default: the time the ``N`` beats cover at their mean spacing.

    The default is ``(t[-1] - t[0]) * (N + 1) / (N - 1)``: the ``N`` intervals at their mean
    spacing (about ``sum(rr_ms) / 1000`` on the default timeline; it depends on the beat times
    only) plus one more, the interval a recording cut to whole intervals loses at its end.
    """
    if span_s is None:
        n = int(rr.size)
        if n < 2:
            return 0.0
        # the beats' span at their mean spacing, plus the part of one interval a recording
        # kept to whole intervals misses at its end (VLF_SPAN_SLACK_INTERVALS)
        return float(t[-1] - t[0]) * (n + VLF_SPAN_SLACK_INTERVALS) / (n - 1)
    if isinstance(span_s, bool) or not isinstance(span_s, int | float | np.integer | np.floating):
        raise HrvInputError(f"span_s: expected a number of seconds, got {span_s!r}")
    v = float(span_s)
    if not math.isfinite(v) or v < 0.0:
        raise HrvInputError(f"span_s: must be finite and >= 0 seconds, got {span_s!r}")
    return v


def _metrics_single(spec: PowerSpectrum, span_s: float) -> FrequencyDomain:
    """The metrics of one spectrum: bands summed and peaks found on ``spec``'s own arrays."""
    if spec.power_ms2_per_hz is None:
        return _none_result(spec.n_beats, spec.method)
    psd = spec.power_ms2_per_hz[None, :]
    cols = _band_metrics(psd, spec.freq_hz, spec.df_hz, np.array([span_s]))
    v = {name: _nan_to_none(float(cols[name][0])) for name in FREQUENCY_FIELDS}
    return FrequencyDomain(**v, n_beats=spec.n_beats, method=spec.method)


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

    The density is :func:`hrv.power_spectrum` with the same arguments (Welch on the 4 Hz
    natural-spline tachogram, 128-s periodic-Hann segments every 8 s of the beat clock, each
    detrended, nfft 512, mean of the gap-free segments' spectra; or Lomb-Scargle on the
    beats); band powers in ms^2 are rectangle sums of that density over ``lo <= f < hi`` and
    the peaks its refined band maxima (module docstring).

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
        (>= 300 s); default ``(t[-1] - t[0]) * (N + 1) / (N - 1)``, the beats' span plus one
        mean interval (module docstring). :func:`hrv.rolling` passes its ``window_s``.

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
    method = check_method(method)
    detrend = check_detrend(detrend)
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size)
    t = beat_times(rr, t_s)
    span = _check_span(span_s, t, rr)
    return _metrics_single(spectrum_of_beats(t, rr, gap, method, detrend), span)


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
    """:func:`frequency_domain_windows`, sharing the resampled recording through a cache.

    The cache is ``tacho_cache`` (key ``"tachogram"``), shared with other batched spectral
    functions.
    """
    method = check_method(method)
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
            spec = spectrum_of_beats(t[a:b], rr[a:b], gap[a:b], "lomb", detrend)
            res = _metrics_single(spec, window_s)
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
    """Welch metrics of windows that have >= MIN_BEATS beats (NaN where no usable segment fits).

    The clock's segments are shared by every window that contains them, so each segment's
    spectrum is computed once (batched FFTs over the whole recording) and every window averages
    the spectra of its segments; segments that touch a gap (``gap_idx``: beats that do not
    follow their predecessor) are left out, as in the single-window function.
    """
    freqs = welch_freqs()
    n_bins = freqs.size
    w = start.size
    cols = {name: np.full(w, np.nan) for name in FREQUENCY_FIELDS}
    m_lo, m_hi = interior_grid_range(t[start + SPLINE_MARGIN], t[stop - 1 - SPLINE_MARGIN])
    j_lo, j_hi = segment_range(m_lo, m_hi)
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
    usable = gap_free_segments(t, gap_idx, seg_lo, seg_hi)
    needed = (np.cumsum(used[:-1]) > 0) & usable
    need = np.flatnonzero(needed)
    seg_psd = scratch("welch.seg_psd", (seg_hi - seg_lo + 1, n_bins))  # reused memory
    seg_psd[~needed] = 0.0  # every other row is written below; unusable segments stay 0
    for a in range(0, need.size, _BATCH_SEGMENTS):
        idx = need[a : a + _BATCH_SEGMENTS]
        rows = centred_rows(
            series,
            g_lo + idx * WELCH_HOP,
            WELCH_SEGMENT,
            out=scratch("welch.rows", (idx.size, WELCH_SEGMENT)),
        )
        seg_psd[idx] = detrended_hann_psd_rows(rows, n_bins, detrend, centred=True)
    # each window: the mean of its usable segments' spectra
    n_usable_before = np.concatenate([[0], np.cumsum(usable, dtype=np.int64)])
    n_usable = n_usable_before[j_lo - seg_lo + count] - n_usable_before[j_lo - seg_lo]
    some = n_usable >= 1
    # the window means in reused memory (fresh multi-megabyte arrays cost page faults)
    psd = sum_runs(seg_psd, j_lo - seg_lo, count, out=scratch("welch.psd", (j_lo.size, n_bins)))
    with np.errstate(divide="ignore", invalid="ignore"):
        psd /= n_usable[:, None]
    n_some = int(np.count_nonzero(some))
    span = np.full(n_some, window_s)
    psd_some = psd if n_some == psd.shape[0] else psd[some]
    metrics = _band_metrics(psd_some, freqs, RESAMPLE_HZ / WELCH_NFFT, span)
    for name in FREQUENCY_FIELDS:
        cols[name][ok[some]] = metrics[name]
    return cols
