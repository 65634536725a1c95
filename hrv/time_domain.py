"""Time-domain HRV metrics of one RR series (one window), Kubios conventions.

Definitions (``rr`` the RR intervals in ms, ``N = len(rr)``; ``d`` the successive differences
``rr[i] - rr[i-1]`` taken only at positions ``i >= 1`` where ``gaps[i]`` is False, so no
difference is ever taken across a gap):

================  ==========================================  ===============
field             definition                                  needs
================  ==========================================  ===============
``mean_rr_ms``    ``mean(rr)``                                ``N >= 1``
``mean_hr_bpm``   ``mean(60000 / rr)`` (instantaneous HR)     ``N >= 1``
``sdnn_ms``       ``std(rr, ddof=1)``                         ``N >= 2``
``rmssd_ms``      ``sqrt(mean(d**2))``                        ``len(d) >= 1``
``ln_rmssd``      ``ln(rmssd_ms)`` when ``rmssd_ms > 0``      ``len(d) >= 1``
``sdsd_ms``       ``std(d, ddof=1)``                          ``len(d) >= 2``
``pnn50_pct``     ``100 * count(|d| > 50) / len(d)``          ``len(d) >= 1``
``sd1_ms``        ``sqrt(0.5) * sdsd_ms``                     ``len(d) >= 2``
``sd2_ms``        ``std(p, ddof=1) / sqrt(2)``                ``len(d) >= 2``
================  ==========================================  ===============

``p`` are the sums ``rr[i-1] + rr[i]`` of the same adjacent pairs as ``d`` (never across a gap):
SD1 and SD2 are the standard deviations of the Poincaré cloud ``(rr[i-1], rr[i])`` along its
rotated axes ``(x_{n+1} - x_n) / sqrt(2)`` and ``(x_n + x_{n+1}) / sqrt(2)`` (Kubios 2.2's
published SD2 and NeuroKit2's ``HRV_SD2``; hrv-analysis and older hrvpace used the identity
``sqrt(2 SDNN**2 - SDSD**2 / 2)``, which differs by end effects, up to ~1 % on non-stationary
data).

A field whose requirement is not met is ``None``; too few beats never raises. ``hrv.rolling`` and
the streaming analyser reproduce exactly these definitions per window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._validate import as_gaps, as_rr_ms

__all__ = ["TimeDomain", "successive_differences", "time_domain"]

#: pNN50 threshold (ms): a successive difference counts when strictly greater than this.
PNN50_THRESHOLD_MS = 50.0


@dataclass(frozen=True, slots=True)
class TimeDomain:
    """Time-domain HRV metrics of one RR series; see :func:`time_domain` for the definitions.

    Every metric is ``None`` when the series has too few beats (or too few successive differences
    that do not cross a gap) for it. ``n_beats`` is the number of RR intervals used.
    """

    mean_rr_ms: float | None
    sdnn_ms: float | None
    rmssd_ms: float | None
    sdsd_ms: float | None
    pnn50_pct: float | None
    sd1_ms: float | None
    sd2_ms: float | None
    mean_hr_bpm: float | None
    ln_rmssd: float | None
    n_beats: int


def successive_differences(rr_ms: Any, *, gaps: Any = None) -> NDArray[np.float64]:
    """Successive RR differences ``rr[i] - rr[i-1]`` (ms) that do not cross a gap.

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0).
    gaps : array_like of bool, optional
        ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1`` (e.g. a dropped BLE packet);
        the difference ending at ``i`` is then left out. ``gaps[0]`` is ignored.

    Returns
    -------
    numpy.ndarray
        The kept differences in order, length ``N - 1 - (number of gaps at i >= 1)``.

    Raises
    ------
    HrvInputError
        ``rr_ms`` or ``gaps`` unusable (see ``hrv._validate``).

    References
    ----------
    Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5), 1043-1065.
    """
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size)
    return _diffs(rr, gap)


def _diffs(rr: NDArray[np.float64], gap: NDArray[np.bool_]) -> NDArray[np.float64]:
    if rr.size < 2:
        return np.empty(0, dtype=np.float64)
    d = np.diff(rr)
    return d[~gap[1:]]


def _pair_sums(rr: NDArray[np.float64], gap: NDArray[np.bool_]) -> NDArray[np.float64]:
    """``rr[i-1] + rr[i]`` for the pairs whose difference :func:`_diffs` keeps."""
    if rr.size < 2:
        return np.empty(0, dtype=np.float64)
    p = rr[:-1] + rr[1:]
    return p[~gap[1:]]


def time_domain(rr_ms: Any, *, gaps: Any = None) -> TimeDomain:
    """Time-domain HRV metrics of an RR series, with Kubios conventions.

    Let ``rr`` be the RR intervals (ms), ``N = len(rr)``, and ``d`` the successive differences
    ``rr[i] - rr[i-1]`` at positions ``i >= 1`` where ``gaps[i]`` is False (no difference across
    a gap; the intervals themselves all count for the mean and SDNN).

    - ``mean_rr_ms = mean(rr)`` (N >= 1).
    - ``mean_hr_bpm = mean(60000 / rr)``: instantaneous heart rate averaged, as Kubios does
      (not ``60000 / mean_rr_ms``) (N >= 1).
    - ``sdnn_ms = std(rr, ddof=1)`` (N >= 2).
    - ``rmssd_ms = sqrt(mean(d**2))`` (len(d) >= 1); ``ln_rmssd = ln(rmssd_ms)`` when
      ``rmssd_ms > 0``, else None.
    - ``sdsd_ms = std(d, ddof=1)`` (len(d) >= 2).
    - ``pnn50_pct = 100 * count(|d| > 50 ms) / len(d)``: strictly greater than 50 ms, over the
      differences (the N - 1 differences when there are no gaps) (len(d) >= 1).
    - ``sd1_ms = std(d, ddof=1) / sqrt(2)`` (``= sqrt(0.5) * sdsd_ms``) and
      ``sd2_ms = std(p, ddof=1) / sqrt(2)`` with ``p = rr[i-1] + rr[i]`` over the same pairs as
      ``d``: the standard deviations of the Poincaré plot ``(rr[i-1], rr[i])`` along its
      rotated axes (Brennan et al. 2001; Kubios 2.2 and NeuroKit2 compute SD2 this
      way) (len(d) >= 2). The identity ``SD2 = sqrt(2 SDNN**2 - SDSD**2 / 2)`` of Brennan et
      al. (used by hrv-analysis) holds only up to end effects (the first and last beat enter
      SDNN once and the pairs once): on hrv-analysis' 1000-beat fixture it gives 59.3867 ms,
      the rotated axis 59.4126 ms (+0.04 %).

    Parameters
    ----------
    rr_ms : array_like
        RR intervals in milliseconds (1-D, finite, > 0; may be empty).
    gaps : array_like of bool, optional
        Same length as ``rr_ms``; ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1``.
        ``None`` means no gaps.

    Returns
    -------
    TimeDomain
        The metrics; a metric whose requirement above is not met is ``None``. Never raises for
        too few beats.

    Raises
    ------
    HrvInputError
        ``rr_ms`` not 1-D, not numeric, NaN/inf, <= 0 or in the wrong units (e.g. seconds);
        ``gaps`` of the wrong shape or dtype.

    References
    ----------
    Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5), 1043-1065.
    Brennan M., Palaniswami M., Kamen P. (2001). Do existing measures of Poincaré plot geometry
    reflect nonlinear features of heart rate variability? IEEE Trans Biomed Eng 48(11), 1342-1347.
    Tarvainen M.P. et al. (2014). Kubios HRV - heart rate variability analysis software.
    Comput Methods Programs Biomed 113(1), 210-220 (and the Kubios HRV user's guide).
    """
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size)
    n = int(rr.size)
    d = _diffs(rr, gap)
    nd = int(d.size)

    mean_rr = float(np.mean(rr)) if n >= 1 else None
    mean_hr = float(np.mean(60000.0 / rr)) if n >= 1 else None
    sdnn = float(np.std(rr, ddof=1)) if n >= 2 else None

    rmssd: float | None = None
    ln_rmssd: float | None = None
    pnn50: float | None = None
    if nd >= 1:
        rmssd = math.sqrt(float(np.mean(d * d)))
        ln_rmssd = math.log(rmssd) if rmssd > 0.0 else None
        pnn50 = 100.0 * float(np.count_nonzero(np.abs(d) > PNN50_THRESHOLD_MS)) / nd

    sdsd: float | None = None
    sd1: float | None = None
    sd2: float | None = None
    if nd >= 2:
        sdsd = float(np.std(d, ddof=1))
        sd1 = math.sqrt(0.5) * sdsd
        sd2 = math.sqrt(0.5) * float(np.std(_pair_sums(rr, gap), ddof=1))

    return TimeDomain(
        mean_rr_ms=mean_rr,
        sdnn_ms=sdnn,
        rmssd_ms=rmssd,
        sdsd_ms=sdsd,
        pnn50_pct=pnn50,
        sd1_ms=sd1,
        sd2_ms=sd2,
        mean_hr_bpm=mean_hr,
        ln_rmssd=ln_rmssd,
        n_beats=n,
    )
