"""Heart-rhythm coherence after HeartMath (McCraty et al. 2009), one window or every window.

Definition used here (the published HeartMath recipe; its 0-16 "coherence score" scaling is
proprietary and not reproduced):

1. **Data**: the beats of the last ``window_s = 64`` s, i.e. ``t_last - 64 < t_s <= t_last``
   with ``t_last`` the time of the last beat given (HeartMath analyses "the most current 64
   seconds of IBI data", updated every 5 s).
2. **Spectrum**: the RR series resampled on the recording's 4 Hz clock like
   :func:`hrv.frequency_domain`'s, but by the local five-point cubic Hermite interpolant (the
   spline needs 20 beats of margin at each end, which a 64-s slot cannot spare; over the
   interior ``[t[2], t[N-3]]`` of these beats; see ``hrv._spectral``),
   taken every second sample, i.e. on the 2 Hz clock (``t = k / 2`` s), as HeartMath does
   ("interpolated every 500 ms for a total of 128 in the 64 sec window"): a slot of
   ``2 * window_s = 128`` samples ending at the last 2 Hz grid point ``<= t_last``; slot samples
   outside the interior (a few beats at each end) hold the first / last interior value. Mean
   removed, periodic Hann window, FFT with ``nfft = 512`` (bins of 2/512 = 0.0039 Hz),
   one-sided density in ms^2/Hz.
3. **Peak**: the bin with the largest density in ``0.04 <= f <= 0.26`` Hz; ``peak_hz`` is
   refined between the bins (0.0039 Hz apart) by a parabola through the log density of that bin
   and its two neighbours (``hrv._spectral.refined_peak_hz``), within 0.0001 Hz of a sinusoidal
   modulation's frequency (tested within 0.002 Hz).
4. **Peak power**: density summed (rectangle rule) over the bins within ``+-0.015`` Hz of the
   peak bin (HeartMath's 0.030 Hz wide window; on our bins: 7 bins, 0.027 Hz); **total power**:
   over ``0.0033 <= f < 0.4`` Hz.
5. ``ratio = peak power / (total power - peak power)``: **not squared**; we follow the formula
   as published by McCraty et al. (2009). (A squared variant would rank windows identically.)
6. ``score = ln(1 + ratio)``: our own monotone compression of the ratio (0 for no peak, about 1
   for a ratio of 1.7, about 2.4 for 10), not HeartMath's proprietary 0-16 scale.

Needs at least 6 beats in the last 64 s and an interpolated interior covering at least 75 % of
the slot (48 s of 64); otherwise every field is ``None``. ``gaps`` are accepted but not used:
the interpolation bridges a dropped packet (pass real beat times as ``t_s`` so the hole keeps its
duration).

:func:`coherence_windows` evaluates the coherence of the last 64 s of every window of a recording
in one batch (one resampling, one batched FFT); each window's values equal :func:`coherence` on
that window's beats with their beat times (``t_s=t_s[sel]``), to ~1e-12 relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._spectral import (
    RESAMPLE_HZ,
    Tachogram,
    beat_times,
    hann_periodic,
    power_spectrum_rows,
    refined_peak_hz,
    scratch,
)
from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError
from hrv.frequency import DEFAULT_DETREND, _frequency_windows, check_windows
from hrv.spectrum import MIN_BEATS

__all__ = [
    "COHERENCE_PEAK_BAND_HZ",
    "COHERENCE_PEAK_HALF_WIDTH_HZ",
    "Coherence",
    "coherence",
    "coherence_windows",
    "spectral_windows",
]

#: Where the coherence peak is searched (HeartMath: 0.04-0.26 Hz), both ends inclusive.
COHERENCE_PEAK_BAND_HZ: tuple[float, float] = (0.04, 0.26)
#: Half width of the peak window (HeartMath: a 0.030 Hz wide window centred on the peak).
COHERENCE_PEAK_HALF_WIDTH_HZ = 0.015
#: Band of the total power, lower bound inclusive, upper exclusive.
_TOTAL_BAND_HZ: tuple[float, float] = (0.0033, 0.4)
#: The coherence spectrum uses every second sample of the 4 Hz tachogram (2 Hz, as HeartMath).
_DECIM = 2
#: Zero padding: nfft is this many times the slot length (next power of two).
_PAD = 4
#: Fraction of the slot the interpolated interior must cover.
_MIN_COVER = 0.75
#: Windows per FFT batch: 512 pays the per-batch Python and numpy call overhead half as often
#: as 256 (~2 ms less CPU on nsr001 on the development machine, 2 MB L2 per core; 1,024 gains
#: nothing more); a multiple of 4, so the FFT's vectorised row groups are the same rows.
_BATCH = 512


@dataclass(frozen=True, slots=True)
class Coherence:
    """HeartMath-style coherence of the last 64 s of an RR series; see :func:`coherence`.

    ``ratio`` (peak power / other power, not squared), ``peak_hz`` (the coherence peak) and
    ``score = ln(1 + ratio)`` are ``None`` when there is too little data or no power;
    ``n_beats`` is the number of beats in the analysed window.
    """

    ratio: float | None
    peak_hz: float | None
    score: float | None
    n_beats: int


def _check_length(window_s: Any) -> int:
    if isinstance(window_s, bool) or not isinstance(
        window_s, int | float | np.integer | np.floating
    ):
        raise HrvInputError(f"window_s: expected a number of seconds, got {window_s!r}")
    w = float(window_s)
    if not math.isfinite(w) or w < 16.0 or w > 3600.0:
        raise HrvInputError(f"window_s: must be between 16 and 3600 seconds, got {window_s!r}")
    return round(w * RESAMPLE_HZ / _DECIM)


def _ragged(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Row index and rank ``0 .. counts[r]-1`` of every element of ragged rows."""
    row = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    rank = np.arange(row.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, rank


def _hold_edges(
    rows: NDArray[np.float64], lo_off: NDArray[np.int64], hi_off: NDArray[np.int64]
) -> None:
    """Hold each row's first and last interpolated values outside its range, in place.

    Sets ``rows[r, c]`` before ``lo_off[r]`` to ``rows[r, lo_off[r]]`` and after ``hi_off[r]``
    to ``rows[r, hi_off[r]]``.

    Only the few outside samples are touched; a constant row stays exactly constant.
    """
    n = rows.shape[1]
    if rows.shape[0] == 1:  # one window (the single-window function): the same, in slices
        lo, hi = int(lo_off[0]), int(hi_off[0])
        if lo > 0:
            rows[0, : min(lo, n)] = rows[0, lo]
        if hi < n - 1:
            rows[0, max(hi + 1, 0) :] = rows[0, hi]
        return
    n_lo = np.minimum(np.maximum(lo_off, 0), n)  # np.clip's value, cheaper on a few rows
    n_hi = np.minimum(np.maximum(n - 1 - hi_off, 0), n)
    r_lo, c_lo = _ragged(n_lo)
    rows[r_lo, c_lo] = rows[r_lo, lo_off[r_lo]]
    r_hi, c_hi = _ragged(n_hi)
    rows[r_hi, n - 1 - c_hi] = rows[r_hi, hi_off[r_hi]]


@lru_cache(maxsize=16)
def _slot_bins(n_slot: int) -> tuple[int, float, int, NDArray[np.float64], int, int, int, int]:
    """The FFT bins of a slot of ``n_slot`` samples at 2 Hz (cached: the same every window).

    ``nfft`` (the slot zero-padded), the bin width ``df``, the bins kept ``n_bins`` (up to the
    total band's upper edge), their frequencies ``f`` (read-only), the first bin of the total
    band ``tot_a``, the peak band's bins ``pk_a .. pk_b - 1`` and the peak window's half width
    in bins ``half``.
    """
    fs = RESAMPLE_HZ / _DECIM
    nfft = _PAD * (1 << (n_slot - 1).bit_length())
    df = fs / nfft
    n_bins = math.ceil(_TOTAL_BAND_HZ[1] / df)
    f = np.arange(n_bins, dtype=np.float64) * df
    f.flags.writeable = False
    tot_a = int(np.searchsorted(f, _TOTAL_BAND_HZ[0], side="left"))
    pk_a = int(np.searchsorted(f, COHERENCE_PEAK_BAND_HZ[0], side="left"))
    pk_b = int(np.searchsorted(f, COHERENCE_PEAK_BAND_HZ[1], side="right"))
    half = math.floor(COHERENCE_PEAK_HALF_WIDTH_HZ / df + 1e-9)
    return nfft, df, n_bins, f, tot_a, pk_a, pk_b, half


def _coherence_core(
    t: NDArray[np.float64],
    tacho: Tachogram,
    first: NDArray[np.int64],
    last: NDArray[np.int64],
    n_slot: int,
) -> dict[str, NDArray[np.float64]]:
    """Coherence of the beat ranges ``first[k] .. last[k]`` (inclusive) of one beat series.

    Windows with too few beats or too little interior get NaN. The single-window function
    calls this with one range, so both paths run the same arithmetic.
    """
    w = first.size
    ratio = np.full(w, np.nan)
    peak_hz = np.full(w, np.nan)
    count = last - first + 1
    cand = np.flatnonzero(count >= MIN_BEATS)
    if cand.size == 0:
        return {"ratio": ratio, "peak_hz": peak_hz}
    # indices of the 2 Hz clock (sample g at g / 2 s, the 4 Hz sample 2 g): the interior, and
    # the slot, whose sample k sits at slot_start + k
    fs = RESAMPLE_HZ / _DECIM
    g_lo = np.ceil(t[first[cand] + 2] * fs).astype(np.int64)
    g_hi = np.floor(t[last[cand] - 2] * fs).astype(np.int64)
    slot_end = np.floor(t[last[cand]] * fs).astype(np.int64)
    slot_start = slot_end - (n_slot - 1)
    k_lo = np.maximum(g_lo - slot_start, 0)
    k_hi = np.minimum(g_hi - slot_start, n_slot - 1)
    good = k_hi - k_lo + 1 >= math.ceil(_MIN_COVER * n_slot)
    cand, k_lo, k_hi, slot_start = cand[good], k_lo[good], k_hi[good], slot_start[good]
    if cand.size == 0:
        return {"ratio": ratio, "peak_hz": peak_hz}
    # padded so that every slot can be sliced: grid point g sits at g - m_first + pad
    pad = n_slot
    series = tacho.padded(pad)
    nfft, df, n_bins, f, tot_a, pk_a, pk_b, half = _slot_bins(n_slot)
    window = hann_periodic(n_slot)
    # the FFT's input: the windowed slots in the first n_slot columns of a reused buffer whose
    # other columns stay zero (the zero padding, made once per call instead of once per batch)
    padded = scratch("coherence.padded", (min(_BATCH, cand.size), nfft))
    padded[:, n_slot:] = 0.0
    for a in range(0, cand.size, _BATCH):
        b = min(a + _BATCH, cand.size)
        at = slot_start[a:b] - tacho.m_first + pad
        if b - a == 1:  # one window: a slice, copied (what the strided view's gather copies)
            rows = series[int(at[0]) : int(at[0]) + n_slot][None, :].copy()
        else:
            rows = np.lib.stride_tricks.sliding_window_view(series, n_slot)[at]
        _hold_edges(rows, k_lo[a:b], k_hi[a:b])
        psd = power_spectrum_rows(rows, window, nfft, n_bins, fs, padded=padded[: b - a])
        k_pk = pk_a + np.argmax(psd[:, pk_a:pk_b], axis=1)
        csum = scratch("coherence.csum", (b - a, n_bins + 1))
        csum[:, 0] = 0.0
        np.cumsum(psd, axis=1, out=csum[:, 1:])
        r = np.arange(b - a)
        p_lo = np.maximum(k_pk - half, 0)
        p_hi = np.minimum(k_pk + half + 1, n_bins)
        peak = (csum[r, p_hi] - csum[r, p_lo]) * df
        total = (csum[:, n_bins] - csum[:, tot_a]) * df
        rest = total - peak
        with np.errstate(divide="ignore", invalid="ignore"):
            rat = np.where((total > 0.0) & (rest > 0.0), peak / rest, np.nan)
        idx = cand[a:b]
        ratio[idx] = rat
        refined = refined_peak_hz(psd, k_pk, f, COHERENCE_PEAK_BAND_HZ)
        peak_hz[idx] = np.where(np.isnan(rat), np.nan, refined)
    return {"ratio": ratio, "peak_hz": peak_hz}


def coherence(
    rr_ms: Any,
    *,
    gaps: Any = None,
    t_s: Any = None,
    window_s: float = 64.0,
) -> Coherence:
    """HeartMath-style heart-rhythm coherence of the last ``window_s`` seconds of an RR series.

    ``ratio = peak power / (total power - peak power)`` (not squared), with the peak the largest
    density in 0.04-0.26 Hz, peak power over its +-0.015 Hz window and total power over
    0.0033-0.4 Hz; ``score = ln(1 + ratio)``. The module docstring gives every detail (2 Hz
    clock of the 4 Hz resampling, 128-sample Hann slot, nfft 512, rectangle sums).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0; may be empty).
    gaps : array_like of bool, optional
        Checked for shape and dtype, otherwise not used (the interpolation bridges gaps).
    t_s : array_like, optional
        Beat times in seconds (strictly increasing), default ``cumsum(rr_ms) / 1000``; the
        resampling grid is ``m / 4`` s of this clock (see :func:`hrv.frequency_domain`).
    window_s : float
        Length of the analysed stretch, 16-3600 s (HeartMath: 64 s).

    Returns
    -------
    Coherence
        ``ratio``, ``peak_hz``, ``score`` (``None`` with fewer than 6 beats in the stretch, an
        interior shorter than 75 % of it, or no power) and ``n_beats`` (beats in the stretch).

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms``, ``gaps``, ``t_s`` or ``window_s``.

    References
    ----------
    McCraty R., Atkinson M., Tomasino D., Bradley R.T. (2009). The coherent heart: heart-brain
    interactions, psychophysiological coherence, and the emergence of system-wide order.
    Integral Review 5(2), 10-115 (coherence ratio: peak in 0.04-0.26 Hz, 0.030 Hz window).
    HeartMath knowledge base, "How is Coherence determined by HeartMath programs?" (64 s of
    interbeat intervals, spectrum updated every 5 s).
    Task Force of the ESC and NASPE (1996). Circulation 93(5), 1043-1065 (0.0033-0.4 Hz).
    """
    n_slot = _check_length(window_s)
    rr = as_rr_ms(rr_ms)
    as_gaps(gaps, rr.size)
    t = beat_times(rr, t_s)
    if rr.size == 0:
        return Coherence(None, None, None, 0)
    first = int(np.searchsorted(t, t[-1] - window_s, side="right"))
    ts, rs = t[first:], rr[first:]
    cols = _coherence_core(
        ts,
        Tachogram(ts, rs, fs=RESAMPLE_HZ / _DECIM),
        np.array([0], dtype=np.int64),
        np.array([rs.size - 1], dtype=np.int64),
        n_slot,
    )
    r = float(cols["ratio"][0])
    if math.isnan(r):
        return Coherence(None, None, None, int(rs.size))
    return Coherence(r, float(cols["peak_hz"][0]), math.log1p(r), int(rs.size))


def coherence_windows(
    rr_ms: Any,
    *,
    t_end_s: Any,
    window_s: float,
    gaps: Any = None,
    coherence_s: float = 64.0,
) -> dict[str, NDArray[np.float64]]:
    """:func:`coherence` of the last ``coherence_s`` seconds of every window, batched.

    Window ``k`` holds the beats with ``t_end_s[k] - window_s < t_s <= t_end_s[k]``
    (``t_s = cumsum(rr_ms) / 1000``); its values equal
    ``coherence(rr_ms[sel], t_s=t_s[sel], window_s=coherence_s)`` to ~1e-12 relative: the
    stretch is the last ``coherence_s`` seconds *before the window's last beat* (and inside the
    window). One resampling of the whole recording, slots gathered per window, batched FFTs.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals (ms) of the whole recording.
    t_end_s : array_like
        Window ends (s), 1-D, finite.
    window_s : float
        Window length (s), > 0.
    gaps : array_like of bool, optional
        Checked, not used (see :func:`coherence`).
    coherence_s : float
        Length of the analysed stretch (HeartMath: 64 s).

    Returns
    -------
    dict of str to numpy.ndarray
        ``coherence_ratio``, ``coherence_peak_hz``, ``coherence_score``: float64, one value per
        window, NaN where :func:`coherence` gives ``None``.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms``, ``gaps``, ``t_end_s``, ``window_s`` or ``coherence_s``.

    References
    ----------
    See :func:`coherence`.
    """
    return _coherence_windows(
        rr_ms,
        t_end_s=t_end_s,
        window_s=window_s,
        gaps=gaps,
        coherence_s=coherence_s,
        tacho_cache={},
    )


def _coherence_windows(
    rr_ms: Any,
    *,
    t_end_s: Any,
    window_s: float,
    gaps: Any,
    coherence_s: float,
    tacho_cache: dict[str, Tachogram],
) -> dict[str, NDArray[np.float64]]:
    try:
        n_slot = _check_length(coherence_s)
    except HrvInputError as exc:
        raise HrvInputError(str(exc).replace("window_s", "coherence_s", 1)) from None
    rr = as_rr_ms(rr_ms)
    as_gaps(gaps, rr.size)
    t_end, window_s = check_windows(t_end_s, window_s)
    t = np.cumsum(rr) / 1000.0
    start = np.searchsorted(t, t_end - window_s, side="right").astype(np.int64)
    stop = np.searchsorted(t, t_end, side="right").astype(np.int64)
    nonempty = np.flatnonzero(stop > start)
    ratio = np.full(t_end.size, np.nan)
    peak_hz = np.full(t_end.size, np.nan)
    if nonempty.size:
        last = stop[nonempty] - 1
        first = np.searchsorted(t, t[last] - float(coherence_s), side="right").astype(np.int64)
        first = np.maximum(first, start[nonempty])
        tacho = tacho_cache.setdefault("hermite_2hz", Tachogram(t, rr, fs=RESAMPLE_HZ / _DECIM))
        cols = _coherence_core(t, tacho, first, last, n_slot)
        ratio[nonempty] = cols["ratio"]
        peak_hz[nonempty] = cols["peak_hz"]
    return {
        "coherence_ratio": ratio,
        "coherence_peak_hz": peak_hz,
        "coherence_score": np.log1p(ratio),
    }


def spectral_windows(
    rr_ms: Any,
    *,
    t_end_s: Any,
    window_s: float,
    gaps: Any = None,
    method: str = "welch",
    groups: tuple[str, ...] = ("frequency", "coherence"),
    coherence_s: float = 64.0,
    detrend: str | None = DEFAULT_DETREND,
) -> dict[str, NDArray[np.float64]]:
    """:func:`hrv.frequency_domain_windows` and :func:`coherence_windows` in one call.

    Same windows, same values and same columns as the two functions (the ``"frequency"``
    columns are the fields of :data:`hrv.frequency.FREQUENCY_FIELDS`, the ``"coherence"``
    columns ``coherence_ratio``, ``coherence_peak_hz``, ``coherence_score``), but the recording
    is resampled once for both. This is what ``hrv.rolling`` calls for its spectral groups.

    Parameters
    ----------
    rr_ms, t_end_s, window_s, gaps, method, detrend
        As for :func:`hrv.frequency_domain_windows` (``detrend`` applies to the frequency
        group only: coherence removes each slot's mean, as HeartMath's recipe).
    groups : tuple of str
        Any of ``"frequency"`` and ``"coherence"``.
    coherence_s : float
        As for :func:`coherence_windows`.

    Returns
    -------
    dict of str to numpy.ndarray
        The requested columns, one float64 value per window, NaN where undefined.

    Raises
    ------
    HrvInputError
        Bad input (see the two functions) or an unknown group.

    References
    ----------
    See :func:`hrv.frequency_domain` and :func:`coherence`.
    """
    for g in groups:
        if g not in ("frequency", "coherence"):
            raise HrvInputError(f"groups: unknown spectral group {g!r}")
    out: dict[str, NDArray[np.float64]] = {}
    tacho_cache: dict[str, Tachogram] = {}
    if "frequency" in groups:
        out.update(
            _frequency_windows(
                rr_ms,
                t_end_s=t_end_s,
                window_s=window_s,
                gaps=gaps,
                method=method,
                detrend=detrend,
                tacho_cache=tacho_cache,
            )
        )
    if "coherence" in groups:
        out.update(
            _coherence_windows(
                rr_ms,
                t_end_s=t_end_s,
                window_s=window_s,
                gaps=gaps,
                coherence_s=coherence_s,
                tacho_cache=tacho_cache,
            )
        )
    return out
