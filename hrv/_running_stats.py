"""Centred running order statistics of a beat series (private to :mod:`hrv.clean`).

Quantiles over a window of beats centred on each beat (the window shrinks at the ends, like
pandas' ``min_periods=1``), linear-interpolated between order statistics (numpy's default),
and the Lipponen & Tarvainen (2019) threshold ``alpha * QD`` with the contamination guard
documented in :mod:`hrv.clean`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "QD_CAP",
    "THRESHOLD_FLOOR_MS",
    "order_stat",
    "quartile_threshold",
    "running_median",
    "running_quantiles",
]

FloatArray = NDArray[np.float64]

#: Contamination guard: a quartile deviation is capped at this many times the window's median
#: of the same absolute values (where that median is > 0). See the module docstring.
QD_CAP = 1.25
#: Every threshold (Th1, Th2) is at least this many ms.
THRESHOLD_FLOOR_MS = 1.0


def order_stat(sorted_or_part: FloatArray, q: float, n: int) -> FloatArray:
    """Linear-interpolated quantile ``q`` of rows of length ``n`` already partitioned/sorted."""
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_or_part[..., lo] + frac * (sorted_or_part[..., hi] - sorted_or_part[..., lo])


def running_quantiles(a: FloatArray, window: int, qs: tuple[float, ...]) -> list[FloatArray]:
    """Quantiles ``qs`` of ``a`` over the ``window`` values centred on each index.

    Near the ends the window is truncated to the values that exist (``window // 2`` on each side
    at most); quantiles interpolate linearly between order statistics (numpy's default).
    """
    n = a.size
    half = window // 2
    outs = [np.empty(n, dtype=np.float64) for _ in qs]
    if n == 0:
        return outs
    if n > window:
        from scipy import ndimage  # local: scipy.ndimage costs ~0.2 s at `import hrv`

        # full windows: order statistics from scipy's running rank filter (exact); the ends,
        # where the filter would pad, are recomputed below on the truncated windows
        ranks: dict[int, FloatArray] = {}
        for out, q in zip(outs, qs, strict=True):
            pos = q * (window - 1)
            lo = math.floor(pos)
            hi = min(lo + 1, window - 1) if pos > lo else lo  # an exact rank needs one pass
            for k in (lo, hi):
                if k not in ranks:
                    ranks[k] = ndimage.rank_filter(a, rank=k, size=window, mode="nearest")
            out[:] = ranks[lo] + (pos - lo) * (ranks[hi] - ranks[lo])
        edge = list(range(half)) + list(range(n - half, n))
    else:
        edge = list(range(n))
    for i in edge:
        seg = np.sort(a[max(0, i - half) : min(n, i + half + 1)])
        for out, q in zip(outs, qs, strict=True):
            out[i] = order_stat(seg, q, seg.size)
    return outs


def quartile_threshold(a: FloatArray, window: int, alpha: float) -> FloatArray:
    """``alpha * QD`` of ``|a|`` over a centred window, QD = (Q3 - Q1) / 2, floored at 1 ms.

    QD is capped at ``QD_CAP`` times the window's median of ``|a|`` where that median is > 0
    (contamination guard, see the module docstring).
    """
    q1, q3, q2 = running_quantiles(np.abs(a), window, (0.25, 0.75, 0.5))
    qd = np.where(q2 > 0, np.minimum((q3 - q1) / 2.0, QD_CAP * q2), (q3 - q1) / 2.0)
    th: FloatArray = alpha * qd
    return np.maximum(th, THRESHOLD_FLOOR_MS)


def running_median(a: FloatArray, window: int) -> FloatArray:
    return running_quantiles(a, window, (0.5,))[0]
