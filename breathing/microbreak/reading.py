"""What the micro-break monitor reads from a window: its numbers and its signal, checked.

A window is a :class:`hrv.LiveWindow` (NN metrics, end on the beats' clock, signal quality) or
bare metrics with the quality and contact passed beside them. :func:`read_window` checks the
inputs and returns the numbers the rule uses (:class:`WindowReading`); a bad input raises a
:class:`breathing.BreathingError` naming it. lnRMSSD is the natural log of RMSSD when the
window does not carry it (Plews et al. 2012 monitor lnRMSSD for its near-normal distribution).

References
----------
Plews, D. J., Laursen, P. B., Kilding, A. E., & Buchheit, M. (2012). Heart rate variability in
elite triathletes, is variation in variability the key to effective training? A case
comparison. European Journal of Applied Physiology, 112(11), 3729-3741.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from breathing.errors import BreathingError
from hrv.live import LiveWindow

__all__ = ["FROM_WINDOW", "FromWindow", "WindowReading", "read_window"]


class FromWindow(Enum):
    """Marker type of :data:`FROM_WINDOW`."""

    FROM_WINDOW = 0


#: "Take it from the window": a :class:`hrv.LiveWindow` carries its own skin contact.
FROM_WINDOW: Literal[FromWindow.FROM_WINDOW] = FromWindow.FROM_WINDOW


@dataclass(frozen=True, slots=True)
class WindowReading:
    """One window's numbers as the rule reads them (``None``: not available)."""

    t_s: float | None  # the window's own end, if it carries one
    contact: bool | None
    quality: float
    irregular_rhythm: bool | None  # frequent early beats (hrv.rhythm), from a live window
    motion_mg: float | None
    n_beats: int
    hr: float | None
    rmssd: float | None
    ln_rmssd: float | None


def _metric(window: Any, name: str) -> float | None:
    v = getattr(window, name, None)
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def read_window(
    window: LiveWindow | Any,
    *,
    contact: bool | Literal[FromWindow.FROM_WINDOW] | None = FROM_WINDOW,
    quality: float | None = None,
    motion_mg: float | None = None,
) -> WindowReading:
    """Check a window's inputs and read its numbers.

    Parameters
    ----------
    window : hrv.LiveWindow, or any object with ``rmssd_ms``, ``mean_hr_bpm``, ``n_beats``
        The window (see :meth:`breathing.MicroBreakMonitor.on_window`).
    contact, quality : optional
        Override the live window's signal; required (``quality``) for bare metrics.
    motion_mg : float, optional
        The window's movement level (milli-g, finite, >= 0).

    Returns
    -------
    WindowReading
        The numbers, non-finite metrics as ``None``.

    Raises
    ------
    BreathingError
        ``quality`` missing or outside 0..1; ``motion_mg`` negative or not finite.
    """
    metrics = window
    irregular: bool | None = None
    if isinstance(window, LiveWindow):
        metrics = window.metrics
        irregular = window.signal.irregular_rhythm
        quality = window.signal.quality if quality is None else quality
        contact = window.signal.contact if contact is FROM_WINDOW else contact
    if contact is FROM_WINDOW:
        contact = None
    if isinstance(quality, bool) or not isinstance(quality, int | float) or not 0 <= quality <= 1:
        raise BreathingError(f"micro-break on_window: quality must be in [0, 1], got {quality!r}")
    if motion_mg is not None and (
        isinstance(motion_mg, bool)
        or not isinstance(motion_mg, int | float)
        or not math.isfinite(motion_mg)
        or motion_mg < 0
    ):
        raise BreathingError(
            f"micro-break on_window: motion_mg must be a finite number >= 0, got {motion_mg!r}"
        )
    rmssd = _metric(metrics, "rmssd_ms")
    ln_rmssd = _metric(metrics, "ln_rmssd")
    if ln_rmssd is None and rmssd is not None and rmssd > 0:
        ln_rmssd = math.log(rmssd)
    t_s = getattr(window, "t_s", None)
    return WindowReading(
        t_s=None if t_s is None else float(t_s),
        contact=contact,
        quality=float(quality),
        irregular_rhythm=irregular,
        motion_mg=None if motion_mg is None else float(motion_mg),
        n_beats=int(getattr(metrics, "n_beats", 0) or 0),
        hr=_metric(metrics, "mean_hr_bpm"),
        rmssd=rmssd,
        ln_rmssd=ln_rmssd,
    )
