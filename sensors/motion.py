"""Movement level from a strap's accelerometer, per window (for the micro-break rule).

ENMO (Euclidean norm minus one g): for each accelerometer sample ``(x, y, z)`` in milli-g,
``max(sqrt(x^2 + y^2 + z^2) - 1000, 0)``: what is left of the acceleration after gravity, zero
when still whatever the posture. The window's movement level is the largest mean ENMO over its
5-s epochs, so a short movement (standing up takes a few seconds) is not averaged away over a
minute of sitting. ``breathing.MicroBreakMonitor.on_window(motion_mg=...)`` takes it.

References
----------
van Hees, V. T., et al. (2013). Separating movement and gravity components in an acceleration
signal and implications for the assessment of human daily physical activity. PLoS ONE, 8(4),
e61691.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.typing import NDArray

__all__ = ["MotionTracker", "enmo_mg"]


def enmo_mg(acc_mg: NDArray[np.float64]) -> NDArray[np.float64]:
    """ENMO of each sample of an ``(n, 3)`` array of accelerations in milli-g.

    Examples
    --------
    >>> enmo_mg(np.array([[0.0, 0.0, 1000.0], [0.0, 600.0, 1200.0]])).round(1)
    array([  0. , 341.6])
    """
    a = np.asarray(acc_mg, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"acc_mg must be an (n, 3) array of x, y, z, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("acc_mg must hold finite numbers")
    out: NDArray[np.float64] = np.maximum(np.sqrt((a**2).sum(axis=1)) - 1000.0, 0.0)
    return out


class MotionTracker:
    """Accelerometer samples in, the movement level of the last window out.

    Parameters
    ----------
    window_s
        The window (60 s, as the HRV windows).
    epoch_s
        The epochs whose mean ENMO is taken (5 s).
    """

    def __init__(self, *, window_s: float = 60.0, epoch_s: float = 5.0) -> None:
        if not 0 < epoch_s <= window_s:
            raise ValueError(f"need 0 < epoch_s <= window_s, got {epoch_s!r}, {window_s!r}")
        self.window_s = window_s
        self.epoch_s = epoch_s
        self._t: deque[float] = deque()
        self._enmo: deque[float] = deque()

    def push(self, t_s: NDArray[np.float64], acc_mg: NDArray[np.float64]) -> None:
        """Add samples taken at times ``t_s`` (seconds, increasing)."""
        e = enmo_mg(acc_mg)
        t = np.asarray(t_s, dtype=np.float64)
        if t.shape != e.shape:
            raise ValueError(f"{t.size} times for {e.size} samples")
        self._t.extend(t.tolist())
        self._enmo.extend(e.tolist())
        horizon = float(t[-1]) - 2 * self.window_s if t.size else None
        while horizon is not None and self._t and self._t[0] < horizon:
            self._t.popleft()
            self._enmo.popleft()

    def level_mg(self, t_end_s: float) -> float | None:
        """Largest 5-s mean ENMO (milli-g) in ``(t_end_s - window_s, t_end_s]``.

        ``None`` when fewer than half the window has samples (motion unknown, not "still").
        """
        t = np.fromiter(self._t, dtype=np.float64)
        e = np.fromiter(self._enmo, dtype=np.float64)
        inside = (t > t_end_s - self.window_s) & (t <= t_end_s)
        if not inside.any():
            return None
        t, e = t[inside], e[inside]
        if t[-1] - t[0] < self.window_s / 2:
            return None
        epoch = np.floor((t_end_s - t) / self.epoch_s).astype(np.int64)
        sums = np.bincount(epoch, weights=e)
        counts = np.bincount(epoch)
        means = sums[counts > 0] / counts[counts > 0]
        return float(means.max())
