"""The power spectral density of an RR series: the one spectrum the frequency-domain HRV integrates.

:func:`power_spectrum` returns the density (ms^2/Hz) on its frequency bins together with the
settings it was computed with. :func:`hrv.frequency_domain` computes its band powers and peaks
from exactly this array (same resampling, detrending, segments, gap handling and estimator),
so a spectrum drawn from it shows the peaks and the areas that the metrics report.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from hrv._spectral import (
    RESAMPLE_HZ,
    SMOOTHNESS_PRIORS_LAMBDA,
    SPLINE_MARGIN,
    beat_times,
    check_detrend,
    detrended_hann_psd_rows,
    gather_rows,
    interior_grid_range,
    lomb_psd,
    scratch,
    spline_on_grid,
)
from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError

__all__ = [
    "DEFAULT_DETREND",
    "LOMB_DF_HZ",
    "METHODS",
    "SPECTRUM_MAX_HZ",
    "WELCH_HOP",
    "WELCH_NFFT",
    "WELCH_SEGMENT",
    "PowerSpectrum",
    "power_spectrum",
    "spectrum_settings",
]

#: The spectrum is computed below this frequency (Hz): the upper edge of the Task Force HF band.
SPECTRUM_MAX_HZ = 0.4
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
#: Detrending of the Welch segments unless told otherwise (Kubios' default method).
DEFAULT_DETREND: str | None = "smoothness_priors"
#: The spectral estimators.
METHODS = ("welch", "lomb")


@dataclass(frozen=True, slots=True, eq=False)
class PowerSpectrum:
    """Result of :func:`power_spectrum`: a one-sided density and the settings that made it.

    Attributes
    ----------
    freq_hz : numpy.ndarray of float64, shape (F,)
        Bin frequencies (Hz), evenly spaced by ``df_hz``, below :data:`SPECTRUM_MAX_HZ`:
        ``k * 4 / 512`` (``k >= 0``) for Welch, ``k / 1024`` (``k >= 1``) for Lomb-Scargle.
        Read-only.
    power_ms2_per_hz : numpy.ndarray of float64, shape (F,), or None
        One-sided power spectral density (ms^2/Hz) at ``freq_hz``; a band's power (ms^2) is
        ``df_hz * power_ms2_per_hz[lo <= freq_hz < hi].sum()``. ``None`` when the series is too
        short (or, for Welch, no gap-free 128-s segment fits). Read-only.
    df_hz : float
        Bin spacing (Hz).
    method : str
        ``"welch"`` or ``"lomb"``.
    detrend : str or None
        ``"smoothness_priors"``, ``"linear"`` or ``None`` (mean only).
    smoothness_lambda : float or None
        The smoothness-priors lambda on the 4 Hz samples (``None`` unless that detrending ran).
    resample_hz : float or None
        Tachogram sample rate (Welch: 4 Hz); ``None`` for Lomb-Scargle (no resampling).
    segment_s : float or None
        Welch segment length (128 s); ``None`` for Lomb-Scargle.
    n_segments : int
        Welch segments averaged (those wholly inside the interior that touch no gap); 0 for
        Lomb-Scargle and when ``power_ms2_per_hz`` is ``None``.
    n_segments_left_out : int
        Welch segments inside the interior left out because they touch a gap.
    n_beats : int
        Number of RR intervals given.
    """

    freq_hz: NDArray[np.float64]
    power_ms2_per_hz: NDArray[np.float64] | None
    df_hz: float
    method: str
    detrend: str | None
    smoothness_lambda: float | None
    resample_hz: float | None
    segment_s: float | None
    n_segments: int
    n_segments_left_out: int
    n_beats: int


def spectrum_settings(
    method: str = "welch", detrend: str | None = DEFAULT_DETREND
) -> dict[str, Any]:
    """The settings :func:`power_spectrum` (so :func:`hrv.frequency_domain`) computes with.

    A plain, JSON-ready dict built from this module's constants, for outputs that must say how
    their frequency values were made (the analyze tables' metadata, the HTML report's caption,
    the export sidecar), so that none of them restates a number that could drift from the
    code. Bands are the Task Force's (``hrv.frequency``); ``min_span_s`` is the shortest span of
    (gap-free) beats any spectrum needs, ``min_vlf_span_s`` the shortest span for which VLF is
    reported, ``vlf_span_slack_intervals`` the mean intervals added to a span taken from the
    beats themselves before that comparison, ``total_includes_vlf`` that ``total_ms2`` holds
    the 0.0033-0.04 Hz power also when ``vlf_ms2`` is withheld (:mod:`hrv.frequency`).

    Raises
    ------
    HrvInputError
        Unknown ``method`` or ``detrend``.

    Examples
    --------
    >>> s = spectrum_settings()
    >>> s["method"], s["resample_hz"], s["segment_s"], s["smoothness_priors_lambda"]
    ('welch', 4.0, 128.0, 500.0)
    """
    from hrv.frequency import (
        HF_BAND_HZ,
        LF_BAND_HZ,
        MIN_VLF_SPAN_S,
        VLF_BAND_HZ,
        VLF_SPAN_SLACK_INTERVALS,
    )

    method = check_method(method)
    detrend = check_detrend(detrend)
    out: dict[str, Any] = {"method": method}
    if method == "welch":
        out.update(
            resample_hz=RESAMPLE_HZ,
            interpolation="natural cubic spline",
            segment_s=WELCH_SEGMENT / RESAMPLE_HZ,
            segment_step_s=WELCH_HOP / RESAMPLE_HZ,
            window="hann (periodic)",
            nfft=WELCH_NFFT,
            df_hz=RESAMPLE_HZ / WELCH_NFFT,
            segments_touching_a_gap="left out",
        )
    else:
        out.update(df_hz=LOMB_DF_HZ)
    out.update(
        detrend=detrend,
        smoothness_priors_lambda=SMOOTHNESS_PRIORS_LAMBDA
        if detrend == "smoothness_priors"
        else None,
        bands_hz={"vlf": list(VLF_BAND_HZ), "lf": list(LF_BAND_HZ), "hf": list(HF_BAND_HZ)},
        min_span_s=MIN_SPAN_S,
        min_vlf_span_s=MIN_VLF_SPAN_S,
        vlf_span_slack_intervals=VLF_SPAN_SLACK_INTERVALS,
        total_includes_vlf=True,
    )
    return out


def welch_freqs() -> NDArray[np.float64]:
    """The Welch bins below :data:`SPECTRUM_MAX_HZ`: ``k * 4 / 512`` Hz, ``k >= 0``."""
    n_bins = math.ceil(SPECTRUM_MAX_HZ * WELCH_NFFT / RESAMPLE_HZ)
    return np.arange(n_bins, dtype=np.float64) * (RESAMPLE_HZ / WELCH_NFFT)


def lomb_freqs() -> NDArray[np.float64]:
    """The Lomb-Scargle bins below :data:`SPECTRUM_MAX_HZ`: ``k / 1024`` Hz, ``k >= 1``."""
    k_max = math.ceil(SPECTRUM_MAX_HZ / LOMB_DF_HZ)
    return np.arange(1, k_max, dtype=np.float64) * LOMB_DF_HZ


def check_method(method: Any) -> str:
    """``method`` checked against :data:`METHODS`."""
    if not isinstance(method, str) or method not in METHODS:
        raise HrvInputError(f"method: expected one of {METHODS}, got {method!r}")
    return method


def segment_range(m_lo: Any, m_hi: Any) -> tuple[Any, Any]:
    """First and last index ``j`` of the clock's Welch segments inside ``m_lo .. m_hi``.

    Segment ``j`` covers samples ``j*H .. j*H + L - 1``; works on arrays; ``last < first``
    when none fits.
    """
    hop, seg = WELCH_HOP, WELCH_SEGMENT
    first = -((-np.asarray(m_lo)) // hop)
    last = (np.asarray(m_hi) - seg + 1) // hop
    return first, last


def gap_free_segments(
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


#: ``np.take``'s mode in :func:`sum_runs`: its row indices are in range by construction (a
#: run that takes level ``k`` at ``pos`` ends at or before the last segment), and with ``out``
#: the default ``"raise"`` copies through a buffer (numpy's documentation), ~3x slower.
_IN_RANGE: Literal["clip"] = "clip"


def sum_runs(
    seg_psd: NDArray[np.float64],
    first: NDArray[np.int64],
    count: NDArray[np.int64],
    out: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """``sum(seg_psd[first[w] : first[w] + count[w]])`` for every ``w`` (``count >= 1``).

    Binary lifting: level ``k`` holds the sums of ``2**k`` consecutive rows, and a run is the sum
    of the levels of the binary digits of its length, largest first. The single-window and the
    batched paths both use this, so both add the same partial sums in the same order. Written
    to ``out`` (``(len(first), n_bins)``, C-contiguous) when given.
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
    # Spectra are >= +0.0, so adding a zero row leaves a sum's bits unchanged: a level that
    # most windows take is added to every window, with zeros for the windows that skip it (one
    # contiguous pass instead of a scattered read-modify-write); the first level taken is
    # written, not added to zeros.
    acc = np.empty((first.size, n_bins)) if out is None else out
    gathered = scratch("sum_runs.gathered", (first.size, n_bins))
    pos = first.copy()
    started = False
    for k in range(n_lev - 1, -1, -1):
        take = ((count >> k) & 1).astype(np.bool_)
        n_take = int(np.count_nonzero(take))
        if n_take == 0:
            continue
        if n_take == first.size:  # every window takes this level (the usual case)
            if started:
                acc += np.take(levels[k], pos, axis=0, out=gathered, mode=_IN_RANGE)
            else:
                np.take(levels[k], pos, axis=0, out=acc, mode=_IN_RANGE)
        elif 4 * n_take >= first.size:
            part = np.take(levels[k], np.where(take, pos, 0), axis=0, out=gathered, mode=_IN_RANGE)
            part[~take] = 0.0
            if started:
                acc += part
            else:
                acc[...] = part
        else:
            if not started:
                acc.fill(0.0)
            rows = np.flatnonzero(take)
            acc[rows] += np.take(
                levels[k], pos[rows], axis=0, out=gathered[:n_take], mode=_IN_RANGE
            )
        started = True
        pos[take] += 1 << k
    return acc


def welch_psd_single(
    t: NDArray[np.float64],
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_],
    detrend: str | None,
) -> NDArray[np.float64]:
    """Welch PSD (one row) of one window's beats.

    An empty (0, F) array when no usable segment fits.
    """
    return welch_single(t, rr, gap, detrend)[0]


def welch_single(
    t: NDArray[np.float64],
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_],
    detrend: str | None,
) -> tuple[NDArray[np.float64], int, int]:
    """:func:`welch_psd_single` and the numbers of segments averaged and left out (gaps)."""
    n_bins = welch_freqs().size
    if rr.size < WELCH_MIN_BEATS:
        return np.empty((0, n_bins)), 0, 0
    k = SPLINE_MARGIN
    m_lo, m_hi = interior_grid_range(t[k], t[-1 - k])
    j_lo, j_hi = (int(v) for v in segment_range(m_lo, m_hi))
    if j_hi < j_lo:
        return np.empty((0, n_bins)), 0, 0
    usable = gap_free_segments(t, np.flatnonzero(gap[1:]) + 1, j_lo, j_hi)
    n_usable = int(usable.sum())
    n_out = int(usable.size) - n_usable
    if n_usable == 0:
        return np.empty((0, n_bins)), 0, n_out
    series = spline_on_grid(t, rr, int(m_lo), int(m_hi))
    offsets = np.arange(j_lo, j_hi + 1, dtype=np.int64) * WELCH_HOP - int(m_lo)
    rows = gather_rows(series, offsets, WELCH_SEGMENT)
    p = detrended_hann_psd_rows(rows, n_bins, detrend)
    p[~usable] = 0.0
    count = np.array([j_hi - j_lo + 1], dtype=np.int64)
    acc = sum_runs(p, np.zeros(1, dtype=np.int64), count)
    out: NDArray[np.float64] = acc / float(n_usable)
    return out, n_usable, n_out


def detrend_beats(
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


def lomb_psd_single(
    t: NDArray[np.float64], rr: NDArray[np.float64], detrend: str | None
) -> NDArray[np.float64]:
    """Lomb-Scargle PSD (one row) of the beats, or an empty (0, F) array when too short."""
    freqs = lomb_freqs()
    if rr.size < MIN_BEATS or float(t[-1] - t[0]) < MIN_SPAN_S:
        return np.empty((0, freqs.size))
    return lomb_psd(t, detrend_beats(t, rr, detrend), freqs)[None, :]


def power_spectrum(
    rr_ms: Any,
    *,
    gaps: Any = None,
    t_s: Any = None,
    method: str = "welch",
    detrend: str | None = DEFAULT_DETREND,
) -> PowerSpectrum:
    """Power spectral density (ms^2/Hz) of an RR series, as :func:`hrv.frequency_domain` uses it.

    The estimator is the one of the frequency-domain metrics (module docstring): Welch on the
    4 Hz natural-spline tachogram (128-s periodic-Hann segments every 8 s of the beat clock,
    each detrended, nfft 512, mean of the gap-free segments' spectra) or Lomb-Scargle on the
    beats. :func:`hrv.frequency_domain` called with the same arguments integrates exactly this
    array: its band powers are ``df_hz * power_ms2_per_hz[lo <= freq_hz < hi].sum()`` and its
    peaks are the largest density of each band refined between the bins
    (``hrv._spectral.refined_peak_hz``).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0; may be empty).
    gaps : array_like of bool, optional
        ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1``. Welch leaves out the
        segments that touch a gap; Lomb-Scargle uses the beats as they are.
    t_s : array_like, optional
        Beat times in seconds (strictly increasing), default ``cumsum(rr_ms) / 1000``.
    method : {"welch", "lomb"}
        Spectral estimator.
    detrend : {"smoothness_priors", "linear", None}
        Trend removed before the spectrum (module docstring; default smoothness priors,
        lambda 500 on the 4 Hz samples).

    Returns
    -------
    PowerSpectrum
        The bins, the density (``None`` when too short: fewer than 42 beats or no gap-free
        128-s segment for Welch; fewer than 6 beats or less than 128 s for Lomb-Scargle) and
        the settings used. Never raises for too few beats.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms``, ``gaps`` or ``t_s``, or an unknown ``method`` or ``detrend``.

    Examples
    --------
    >>> import numpy as np
    >>> import hrv
    >>> t = np.arange(400) * 0.8
    >>> rr = 800.0 + 40.0 * np.sin(2 * np.pi * 0.1 * t)
    >>> spec = hrv.power_spectrum(rr)
    >>> float(spec.freq_hz[np.argmax(spec.power_ms2_per_hz)])
    0.1015625

    References
    ----------
    Welch P.D. (1967). IEEE Trans Audio Electroacoust 15(2), 70-73.
    Lomb N.R. (1976). Astrophys Space Sci 39, 447-462. Scargle J.D. (1982). Astrophys J 263,
    835-853.
    Tarvainen M.P., Ranta-aho P.O., Karjalainen P.A. (2002). IEEE Trans Biomed Eng 49(2),
    172-175 (smoothness priors detrending).
    Tarvainen M.P. et al. (2014). Kubios HRV. Comput Methods Programs Biomed 113(1), 210-220.
    """
    method = check_method(method)
    detrend = check_detrend(detrend)
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size)
    return spectrum_of_beats(beat_times(rr, t_s), rr, gap, method, detrend)


def spectrum_of_beats(
    t: NDArray[np.float64],
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_],
    method: str,
    detrend: str | None,
) -> PowerSpectrum:
    """:func:`power_spectrum` of checked beats (times ``t`` in s, ``rr`` in ms, gap flags)."""
    lam = SMOOTHNESS_PRIORS_LAMBDA if detrend == "smoothness_priors" else None
    if method == "welch":
        psd, n_used, n_out = welch_single(t, rr, gap, detrend)
        freqs, df = welch_freqs(), RESAMPLE_HZ / WELCH_NFFT
        resample_hz: float | None = RESAMPLE_HZ
        segment_s: float | None = WELCH_SEGMENT / RESAMPLE_HZ
    else:
        psd, n_used, n_out = lomb_psd_single(t, rr, detrend), 0, 0
        freqs, df = lomb_freqs(), LOMB_DF_HZ
        resample_hz = segment_s = None
    power: NDArray[np.float64] | None = None
    if psd.shape[0]:
        power = np.ascontiguousarray(psd[0])
        power.flags.writeable = False
    freqs.flags.writeable = False
    return PowerSpectrum(
        freq_hz=freqs,
        power_ms2_per_hz=power,
        df_hz=df,
        method=method,
        detrend=detrend,
        smoothness_lambda=lam,
        resample_hz=resample_hz,
        segment_s=segment_s,
        n_segments=n_used,
        n_segments_left_out=n_out,
        n_beats=int(rr.size),
    )
