"""Resonance-breathing measures: the heart-rate response to paced breathing.

Three families of measures, as used to find a person's resonance frequency (Lehrer, Vaschillo &
Vaschillo 2000; Shaffer & Meehan 2020):

* :func:`hr_oscillation` -- peak-to-trough heart rate per breath cycle (max HR - min HR of the
  beats inside each cycle) and its mean, the classic biofeedback measure of RSA amplitude.
* :func:`breathing_response` -- the heart-rate oscillation *at the breathing frequency*: its
  amplitude, its power in the RR series, its phase relative to lung volume (positive when HR
  leads, docs/ARCHITECTURE.md) and its coherence (share of HR variance it explains). At the
  resonance frequency HR and lung volume are in phase (0 deg); below it HR leads (up to +90 deg),
  above it HR lags (down to -90 deg) (Vaschillo et al. 2002).
* :func:`lf_band` -- LF power (0.04-0.15 Hz) and the LF peak of the RR spectrum (Task Force 1996)
  on segments too short for ``hrv.frequency_domain`` (< 128 s); documented on the function.

The lung-volume model shared by the pacer, the simulated person and these measures is
:func:`lung_volume`: volume 0 at the start of inhale, 1 at the end of inhale, half-cosine ramps,
optional holds.

Timeline: ``t_s[i]`` is the time of beat ``i`` (the R peak ending ``rr_ms[i]``); when ``t_s`` is
not given it is ``cumsum(rr_ms) / 1000`` (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError

__all__ = [
    "LF_BAND_HZ",
    "BreathingResponse",
    "HrOscillation",
    "LfBand",
    "breathing_response",
    "hr_oscillation",
    "lf_band",
    "lung_volume",
    "lung_volume_at",
]

#: LF band of the Task Force (1996), Hz: lower bound inclusive, upper bound exclusive.
LF_BAND_HZ: tuple[float, float] = (0.04, 0.15)
#: Resampling rate of the RR / HR series for spectral measures (Kubios convention: 4 Hz).
RESAMPLE_HZ = 4.0


# --------------------------------------------------------------------------------------------
# lung volume model


def lung_volume(
    phase_cycles: Any,
    *,
    inhale_fraction: float = 0.5,
    hold_after_inhale_fraction: float = 0.0,
    hold_after_exhale_fraction: float = 0.0,
) -> NDArray[np.float64]:
    """Normalised lung volume (0 = empty, 1 = full) at breathing phases given in cycles.

    One cycle is ``[inhale | hold after inhale | exhale | hold after exhale]``; phase 0 (and every
    integer) is the start of inhale. Inhale and exhale are half-cosine ramps, so the volume and
    its slope are continuous at the turns; holds are flat.

    Parameters
    ----------
    phase_cycles : array_like
        Breathing phase in cycles (any real; only the fractional part matters).
    inhale_fraction, hold_after_inhale_fraction, hold_after_exhale_fraction : float
        Fractions of a cycle. The exhale takes what is left; it must be > 0.

    Returns
    -------
    numpy.ndarray
        Volume in [0, 1], same shape as ``phase_cycles``.

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
    to increase cardiac variability. Applied Psychophysiology and Biofeedback, 25(3), 177-191.
    """
    fi, fh1, fh2 = (
        float(inhale_fraction),
        float(hold_after_inhale_fraction),
        float(hold_after_exhale_fraction),
    )
    fe = 1.0 - fi - fh1 - fh2
    if not (fi > 0 and fh1 >= 0 and fh2 >= 0 and fe > 0):
        raise HrvInputError(
            "lung_volume: need inhale_fraction > 0, holds >= 0 and an exhale fraction > 0; got "
            f"inhale={fi}, hold_after_inhale={fh1}, hold_after_exhale={fh2}"
        )
    frac = np.mod(np.asarray(phase_cycles, dtype=np.float64), 1.0)
    up = 0.5 * (1.0 - np.cos(np.pi * np.clip(frac / fi, 0.0, 1.0)))
    down = 0.5 * (1.0 + np.cos(np.pi * np.clip((frac - fi - fh1) / fe, 0.0, 1.0)))
    return np.where(frac < fi, up, np.where(frac < fi + fh1, 1.0, down))


def lung_volume_at(
    phase_cycles: float,
    *,
    inhale_fraction: float = 0.5,
    hold_after_inhale_fraction: float = 0.0,
    hold_after_exhale_fraction: float = 0.0,
) -> float:
    """Scalar :func:`lung_volume` (same model, no numpy overhead) for beat-by-beat generators."""
    fi, fh1 = inhale_fraction, hold_after_inhale_fraction
    fe = 1.0 - fi - fh1 - hold_after_exhale_fraction
    if not (fi > 0 and fh1 >= 0 and hold_after_exhale_fraction >= 0 and fe > 0):
        raise HrvInputError(
            "lung_volume_at: need inhale_fraction > 0, holds >= 0 and an exhale fraction > 0"
        )
    frac = phase_cycles % 1.0
    if frac < fi:
        return 0.5 * (1.0 - math.cos(math.pi * frac / fi))
    if frac < fi + fh1:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (frac - fi - fh1) / fe)))


# --------------------------------------------------------------------------------------------
# input helpers


def _beats(rr_ms: Any, t_s: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rr = as_rr_ms(rr_ms)
    if t_s is None:
        return rr, np.cumsum(rr) / 1000.0
    t = np.asarray(t_s, dtype=np.float64)
    if t.shape != rr.shape:
        raise HrvInputError(f"t_s: expected shape {rr.shape} to match rr_ms, got {t.shape}")
    if not np.all(np.isfinite(t)):
        i = int(np.argmax(~np.isfinite(t)))
        raise HrvInputError(f"t_s: value at index {i} is not finite")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0)) + 1
        raise HrvInputError(f"t_s: must be strictly increasing; index {i} is not after {i - 1}")
    return rr, t


def _onsets(inhale_onsets_s: Any) -> NDArray[np.float64]:
    on = np.asarray(inhale_onsets_s, dtype=np.float64)
    if on.ndim != 1:
        raise HrvInputError(f"inhale_onsets_s: expected a 1-D series, got shape {on.shape}")
    if not np.all(np.isfinite(on)):
        raise HrvInputError("inhale_onsets_s: contains NaN or infinite values")
    if on.size > 1 and np.any(np.diff(on) <= 0):
        i = int(np.argmax(np.diff(on) <= 0)) + 1
        raise HrvInputError(f"inhale_onsets_s: must be strictly increasing (index {i})")
    return on


def _reference(
    *, inhale_onsets_s: Any, rate_bpm: float | None, t0_s: float
) -> tuple[Callable[[Any], Any], Callable[[int], float], float, float]:
    """Phase function (cycles), time of cycle ``k``, and the span where the phase is defined."""
    if inhale_onsets_s is not None:
        if rate_bpm is not None:
            raise HrvInputError("give either inhale_onsets_s or rate_bpm (+ t0_s), not both")
        on = _onsets(inhale_onsets_s)
        if on.size < 2:
            return (lambda x: x), (lambda k: 0.0), 0.0, -1.0
        idx = np.arange(on.size, dtype=np.float64)
        return (
            (lambda x: np.interp(x, on, idx)),
            (lambda k: float(on[k])),
            float(on[0]),
            float(on[-1]),
        )
    if rate_bpm is None:
        raise HrvInputError("a phase reference is needed: inhale_onsets_s or rate_bpm (+ t0_s)")
    if not (math.isfinite(rate_bpm) and rate_bpm > 0 and math.isfinite(t0_s)):
        raise HrvInputError(f"rate_bpm: must be > 0 breaths/min, got {rate_bpm!r}")
    period = 60.0 / rate_bpm
    return (lambda x: (x - t0_s) / period), (lambda k: t0_s + k * period), -math.inf, math.inf


# --------------------------------------------------------------------------------------------
# peak-to-trough


@dataclass(frozen=True, slots=True)
class HrOscillation:
    """Peak-to-trough heart rate per breath cycle.

    ``mean_peak_to_trough_bpm`` is ``None`` when no cycle qualifies; ``per_cycle_bpm`` has one
    value per qualifying cycle, in order; ``n_cycles`` counts them.
    """

    mean_peak_to_trough_bpm: float | None
    per_cycle_bpm: tuple[float, ...]
    n_cycles: int


def hr_oscillation(
    rr_ms: Any,
    *,
    cycle_starts_s: Any,
    t_s: Any = None,
    gaps: Any = None,
    min_beats_per_cycle: int = 3,
) -> HrOscillation:
    """Peak-to-trough heart rate (max - min of ``60000 / rr``) within each breath cycle.

    Cycle ``k`` holds the beats with ``cycle_starts_s[k] <= t_s < cycle_starts_s[k+1]``; only
    complete cycles count. A cycle is left out when it has fewer than ``min_beats_per_cycle``
    beats or a beat in it follows a gap (missing beats could hide the extremes).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms (artefacts already removed: an ectopic beat inflates the range).
    cycle_starts_s : array_like
        Inhale onset times in seconds, strictly increasing.
    t_s : array_like, optional
        Beat times in s; default ``cumsum(rr_ms) / 1000``.
    gaps : array_like of bool, optional
        ``gaps[i]`` True when beat ``i`` does not follow beat ``i - 1``.
    min_beats_per_cycle : int
        Fewest beats for a cycle to count.

    Returns
    -------
    HrOscillation

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
    to increase cardiac variability. Applied Psychophysiology and Biofeedback, 25(3), 177-191.
    Shaffer, F., & Meehan, Z. M. (2020). A practical guide to resonance frequency assessment for
    heart rate variability biofeedback. Frontiers in Neuroscience, 14, 570400.
    """
    rr, t = _beats(rr_ms, t_s)
    g = as_gaps(gaps, rr.size)
    starts = _onsets(cycle_starts_s)
    if min_beats_per_cycle < 2:
        raise HrvInputError(f"min_beats_per_cycle: must be >= 2, got {min_beats_per_cycle}")
    hr = 60000.0 / rr
    idx = np.searchsorted(t, starts, side="left")
    values: list[float] = []
    for k in range(starts.size - 1):
        a, b = int(idx[k]), int(idx[k + 1])
        if b - a < min_beats_per_cycle or bool(g[a:b].any()):
            continue
        seg = hr[a:b]
        values.append(float(seg.max() - seg.min()))
    mean = float(np.mean(values)) if values else None
    return HrOscillation(mean, tuple(values), len(values))


# --------------------------------------------------------------------------------------------
# response at the breathing frequency


@dataclass(frozen=True, slots=True)
class BreathingResponse:
    """The heart-rate oscillation at the breathing frequency (see :func:`breathing_response`).

    Fields are ``None`` when the window holds less than one whole breath cycle of beats.
    """

    freq_hz: float | None
    amplitude_bpm: float | None
    phase_deg: float | None
    power_ms2: float | None
    coherence: float | None
    n_cycles: int
    n_beats: int


def _empty_response(n_beats: int) -> BreathingResponse:
    return BreathingResponse(None, None, None, None, None, 0, n_beats)


def _detrend(y: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    a = np.vstack([x - x.mean(), np.ones_like(x)]).T
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    out: NDArray[np.float64] = y - a @ coef
    return out


def breathing_response(
    rr_ms: Any,
    *,
    t_s: Any = None,
    inhale_onsets_s: Any = None,
    rate_bpm: float | None = None,
    t0_s: float = 0.0,
    inhale_fraction: float = 0.5,
    hold_after_inhale_fraction: float = 0.0,
    hold_after_exhale_fraction: float = 0.0,
    resample_hz: float = RESAMPLE_HZ,
) -> BreathingResponse:
    """Amplitude, power, phase and coherence of the HR oscillation at the breathing frequency.

    Method (complex demodulation over whole breath cycles): heart rate ``60000 / rr`` and the RR
    series, each value placed at the middle of its interval (the mean HR over an interval
    belongs there; at the end it would lag by half a beat, ~18 deg at 6 breaths/min), are
    resampled at ``resample_hz`` by linear interpolation, limited
    to the whole breath cycles the beats cover, and linearly detrended. With ``phi(t)`` the
    breathing phase in cycles, the fundamental of a signal ``y`` is
    ``Y = 2 mean(y(t) exp(-2 pi i phi(t)))``. The same is done for the lung volume
    (:func:`lung_volume` of ``phi``), and

    * ``phase_deg = angle(Y_hr / Y_volume)`` in (-180, 180], positive when HR leads lung volume
      (0 at resonance, Vaschillo et al. 2002);
    * ``amplitude_bpm = |Y_hr|``: amplitude of the fitted HR sinusoid (a pure sinusoid's
      peak-to-peak is twice this). Not :func:`hr_oscillation`'s peak-to-trough, the mean per
      breath of max - min HR over the beats, which also takes up beat-to-beat noise and the
      harmonics of a non-sinusoidal oscillation: on the simulated person it reads 2.2-2.5
      times this amplitude;
    * ``power_ms2 = |Y_rr|**2 / 2``: variance of the RR series at the breathing frequency;
    * ``coherence = (|Y_hr|**2 / 2) / var(hr)``: share of the HR variance in the window
      explained by the oscillation at the breathing frequency (near 1 when the heart follows
      the breathing, near 0 when the person does not breathe at the reference).

    Phase reference: either ``inhale_onsets_s`` (times of phase 0, 1, 2, ...; the phase is
    linear in between and the window is limited to ``[onsets[0], onsets[-1]]``) or a constant
    ``rate_bpm`` with ``t0_s`` a time of an inhale onset.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms (artefacts removed; removed beats are interpolated over).
    t_s : array_like, optional
        Beat times in s, default ``cumsum(rr_ms) / 1000``.
    inhale_onsets_s : array_like, optional
        Inhale onset times (s).
    rate_bpm : float, optional
        Constant breathing rate in breaths/min (with ``t0_s``).
    t0_s : float
        A time of inhale onset when ``rate_bpm`` is used.
    inhale_fraction, hold_after_inhale_fraction, hold_after_exhale_fraction : float
        The breathing pattern, for the lung-volume reference (see :func:`lung_volume`).
    resample_hz : float
        Resampling rate of the HR series.

    Returns
    -------
    BreathingResponse

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
    to increase cardiac variability. Applied Psychophysiology and Biofeedback, 25(3), 177-191.
    Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
    biofeedback as a method for assessing baroreflex function: a preliminary study of resonance
    in the cardiovascular system. Applied Psychophysiology and Biofeedback, 27(1), 1-27.
    McCraty, R., et al. (2009). The coherent heart. Integral Review, 5(2) (coherence ratio).
    """
    rr, t_beat = _beats(rr_ms, t_s)
    if not (math.isfinite(resample_hz) and resample_hz > 0):
        raise HrvInputError(f"resample_hz: must be > 0, got {resample_hz!r}")
    if rr.size < 3:
        return _empty_response(int(rr.size))
    # an interval's mean heart rate belongs to the middle of the interval, not to its end
    t = t_beat - rr / 2000.0
    phase_of, time_of, lo, hi = _reference(
        inhale_onsets_s=inhale_onsets_s, rate_bpm=rate_bpm, t0_s=t0_s
    )
    a, b = max(float(t[0]), lo), min(float(t[-1]), hi)
    if a >= b:
        return _empty_response(int(rr.size))
    first = math.ceil(float(phase_of(a)) - 1e-9)
    last = math.floor(float(phase_of(b)) + 1e-9)
    n_cycles = last - first
    if n_cycles < 1:
        return _empty_response(int(rr.size))
    t_first, t_last = time_of(first), time_of(last)
    grid = t_first + np.arange(0.0, t_last - t_first, 1.0 / resample_hz)
    phi = np.asarray(phase_of(grid), dtype=np.float64)
    n_beats = int(np.count_nonzero((t >= grid[0]) & (t <= grid[-1])))
    if grid.size < 8 or n_beats < 3:
        return _empty_response(n_beats)
    hr = _detrend(np.interp(grid, t, 60000.0 / rr), grid)
    rr_i = _detrend(np.interp(grid, t, rr), grid)
    vol = lung_volume(
        phi,
        inhale_fraction=inhale_fraction,
        hold_after_inhale_fraction=hold_after_inhale_fraction,
        hold_after_exhale_fraction=hold_after_exhale_fraction,
    )
    ref = np.exp(-2j * np.pi * phi)
    y_hr = 2.0 * np.mean(hr * ref)
    y_rr = 2.0 * np.mean(rr_i * ref)
    y_vol = 2.0 * np.mean((vol - vol.mean()) * ref)
    phase = math.degrees(float(np.angle(y_hr * np.conj(y_vol))))
    if phase <= -180.0:
        phase += 360.0
    var_hr = float(np.var(hr))
    amp = float(abs(y_hr))
    coherence = min(1.0, (amp**2 / 2.0) / var_hr) if var_hr > 0 else 0.0
    duration = float(grid[-1] - grid[0]) + 1.0 / resample_hz
    return BreathingResponse(
        freq_hz=n_cycles / duration,
        amplitude_bpm=amp,
        phase_deg=phase,
        power_ms2=float(abs(y_rr)) ** 2 / 2.0,
        coherence=coherence,
        n_cycles=n_cycles,
        n_beats=n_beats,
    )


# --------------------------------------------------------------------------------------------
# LF band


@dataclass(frozen=True, slots=True)
class LfBand:
    """LF power and LF peak of one RR segment (see :func:`lf_band`); ``None`` when too short."""

    lf_power_ms2: float | None
    lf_peak_hz: float | None
    lf_peak_density_ms2_per_hz: float | None
    n_beats: int


def lf_band(
    rr_ms: Any,
    *,
    t_s: Any = None,
    resample_hz: float = RESAMPLE_HZ,
    min_duration_s: float = 50.0,
) -> LfBand:
    """LF power (0.04-0.15 Hz) and the LF spectral peak of one RR segment.

    Our own estimate, for resonance assessment on short (40-120 s) paced-breathing segments
    (``hrv.frequency_domain`` needs at least 128 s for one Welch segment, more than one
    assessment step leaves after its settling time). On segments long enough for both, LF power
    agrees with ``hrv.frequency_domain`` within ~20 % and the LF peak within a bin (tested on
    real recordings); the difference is single periodogram vs averaged Welch segments. The
    RR series is resampled at 4 Hz with a cubic spline through the beat times (Kubios
    convention), linearly detrended, and its periodogram taken with a Hann window and zero
    padding to 0.001 Hz bins (one segment: a 2-min step is too short for Welch averaging). LF
    power is the integral (trapezoid) of the density over ``0.04 <= f < 0.15`` Hz; the LF peak is
    the frequency of the largest density in that band and its density value.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in ms (artefacts removed).
    t_s : array_like, optional
        Beat times in s, default ``cumsum(rr_ms) / 1000``.
    resample_hz : float
        Resampling rate.
    min_duration_s : float
        Shorter segments give ``None`` fields (the lowest LF frequency needs ~2 cycles of 25 s).

    Returns
    -------
    LfBand

    References
    ----------
    Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation, 93(5), 1043-1065.
    Tarvainen, M. P., et al. (2014). Kubios HRV -- heart rate variability analysis software.
    Computer Methods and Programs in Biomedicine, 113(1), 210-220.
    Shaffer, F., & Meehan, Z. M. (2020). A practical guide to resonance frequency assessment for
    heart rate variability biofeedback. Frontiers in Neuroscience, 14, 570400.
    """
    # local: scipy.interpolate and scipy.signal cost ~0.4 s at `import hrv`
    from scipy.interpolate import CubicSpline
    from scipy.signal import periodogram

    rr, t = _beats(rr_ms, t_s)
    if rr.size < 4 or float(t[-1] - t[0]) < min_duration_s:
        return LfBand(None, None, None, int(rr.size))
    grid = np.arange(t[0], t[-1], 1.0 / resample_hz)
    y = CubicSpline(t, rr)(grid)
    nfft = max(int(2 ** math.ceil(math.log2(resample_hz / 0.001))), grid.size)
    f, pxx = periodogram(
        y, fs=resample_hz, window="hann", nfft=nfft, detrend="linear", scaling="density"
    )
    band = (f >= LF_BAND_HZ[0]) & (f < LF_BAND_HZ[1])
    power = float(np.trapezoid(pxx[band], f[band]))
    i = int(np.argmax(pxx[band]))
    return LfBand(power, float(f[band][i]), float(pxx[band][i]), int(rr.size))
