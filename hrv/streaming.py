"""Live HRV: a streaming analyser that takes one beat at a time and emits finished windows.

:class:`StreamingAnalyser` keeps the beats of the current window in a preallocated numpy ring
buffer (a linear buffer twice the capacity, compacted when full, so a window is always one
contiguous slice) and places windows exactly as :func:`hrv.rolling` does
(``docs/ARCHITECTURE.md``, "Windows"): beat ``i`` happens at ``t_s = sum(rr_ms[:i+1]) / 1000``
(the analyser's own timeline: the running sum of the intervals it was given), windows end at
``window_s + k * step_s`` and hold the beats with ``t_end - window_s < t_s <= t_end``. The
window ending at a boundary ``b`` is emitted when the first beat with ``t_s > b`` arrives (only
then is it known to be complete). Its metrics are the single-window functions applied to the
window's beats, so over a recording the analyser's output equals :func:`hrv.rolling` on the
same recording (to rounding, about 1e-11 relative; tested to 1e-9).

A push that completes no window costs a few microseconds (appending to the buffer); a push
that completes a window also pays for that window's metrics.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv._spectral import check_detrend
from hrv._validate import as_gaps, as_rr_ms
from hrv.errors import HrvInputError
from hrv.frequency import DEFAULT_DETREND
from hrv.nonlinear import dfa_alpha1, stress_index
from hrv.rolling import METRIC_GROUPS, check_metrics, check_window, spectral_window
from hrv.time_domain import time_domain

__all__ = ["StreamingAnalyser", "WindowMetrics", "window_metrics"]


@dataclass(frozen=True, slots=True)
class WindowMetrics:
    """Metrics of one window; the fields are the columns of :func:`hrv.rolling`.

    ``t_s`` is the window end (s) and ``n_beats`` the number of beats in the window. A metric is
    ``None`` when the window has too few beats for it or when its group was not requested.
    Time domain: see :class:`hrv.TimeDomain`; frequency domain: ``hrv.frequency``'s
    ``FrequencyDomain``; coherence: ``hrv.coherence``'s ``ratio``, ``peak_hz``, ``score``;
    ``dfa_alpha1`` (:func:`hrv.dfa_alpha1`) and ``stress_index`` (:func:`hrv.stress_index`
    ``.value``).
    """

    t_s: float
    n_beats: int
    mean_rr_ms: float | None = None
    sdnn_ms: float | None = None
    rmssd_ms: float | None = None
    sdsd_ms: float | None = None
    pnn50_pct: float | None = None
    sd1_ms: float | None = None
    sd2_ms: float | None = None
    mean_hr_bpm: float | None = None
    ln_rmssd: float | None = None
    vlf_ms2: float | None = None
    lf_ms2: float | None = None
    hf_ms2: float | None = None
    total_ms2: float | None = None
    lf_hf: float | None = None
    lf_nu: float | None = None
    hf_nu: float | None = None
    lf_peak_hz: float | None = None
    hf_peak_hz: float | None = None
    coherence_ratio: float | None = None
    coherence_peak_hz: float | None = None
    coherence_score: float | None = None
    dfa_alpha1: float | None = None
    stress_index: float | None = None


def window_metrics(
    rr_ms: Any,
    *,
    t_s: float,
    gaps: Any = None,
    metrics: Iterable[str] | None = METRIC_GROUPS,
    beat_t_s: Any = None,
    window_s: float | None = None,
    detrend: str | None = DEFAULT_DETREND,
) -> WindowMetrics:
    """Metrics of one window's beats: the single-window functions, gathered in one record.

    Parameters
    ----------
    rr_ms : array_like
        The window's RR intervals (ms); may be empty.
    t_s : float
        The window's end (s), stored as is.
    gaps : array_like of bool, optional
        ``gaps[i]`` True means beat ``i`` does not follow beat ``i-1`` (``gaps[0]`` is ignored).
    metrics : sequence of str, optional
        Groups to compute (``"time"``, ``"frequency"``, ``"coherence"``, ``"nonlinear"``); the
        fields of the others stay ``None`` (default: all four; ``None`` also means all).
    beat_t_s : array_like, optional
        The beats' times (s) on the recording's clock, default ``cumsum(rr_ms) / 1000``. The
        spectral metrics resample on a 4 Hz grid of this clock, so to reproduce a window of
        :func:`hrv.rolling` pass that window's slice of the recording's ``cumsum / 1000``.
    window_s : float, optional
        The window's length (s), the span :func:`hrv.frequency_domain` needs >= 300 s of to
        report VLF; default the beats' own span. :func:`hrv.rolling` uses its ``window_s``.
    detrend : {"smoothness_priors", "linear", None}
        Detrending of the Welch segments (:func:`hrv.frequency_domain`).

    Returns
    -------
    WindowMetrics
        :func:`hrv.time_domain`, the spectral functions, :func:`hrv.dfa_alpha1` and
        :func:`hrv.stress_index` of the window.

    Raises
    ------
    HrvInputError
        Unusable ``rr_ms``/``gaps`` or unknown metric group.

    References
    ----------
    See :func:`hrv.time_domain`, :func:`hrv.dfa_alpha1`, :func:`hrv.stress_index` and the
    spectral functions for the definitions and their sources.
    """
    groups = check_metrics(metrics)
    detrend = check_detrend(detrend)
    rr = as_rr_ms(rr_ms)
    gap = as_gaps(gaps, rr.size) if gaps is not None else None
    if beat_t_s is None:
        beats = np.cumsum(rr) / 1000.0
    else:
        beats = np.asarray(beat_t_s, dtype=np.float64)
        if beats.shape != rr.shape:
            raise HrvInputError(
                f"beat_t_s: expected shape {rr.shape} to match rr_ms, got {beats.shape}"
            )
    return _window_metrics(rr, gap, beats, float(t_s), groups, window_s, detrend)


def _window_metrics(
    rr: NDArray[np.float64],
    gap: NDArray[np.bool_] | None,
    beat_t_s: NDArray[np.float64],
    t_s: float,
    groups: tuple[str, ...],
    window_s: float | None = None,
    detrend: str | None = DEFAULT_DETREND,
) -> WindowMetrics:
    n = int(rr.size)
    values: dict[str, Any] = {}
    if "time" in groups:
        td = time_domain(rr, gaps=gap)
        values.update(
            mean_rr_ms=td.mean_rr_ms,
            sdnn_ms=td.sdnn_ms,
            rmssd_ms=td.rmssd_ms,
            sdsd_ms=td.sdsd_ms,
            pnn50_pct=td.pnn50_pct,
            sd1_ms=td.sd1_ms,
            sd2_ms=td.sd2_ms,
            mean_hr_bpm=td.mean_hr_bpm,
            ln_rmssd=td.ln_rmssd,
        )
    if "frequency" in groups or "coherence" in groups:
        values.update(spectral_window(rr, gap, beat_t_s, groups, window_s, detrend))
    if "nonlinear" in groups:
        values["dfa_alpha1"] = dfa_alpha1(rr, gaps=gap).alpha1
        values["stress_index"] = stress_index(rr).value
    return WindowMetrics(t_s=t_s, n_beats=n, **values)


class StreamingAnalyser:
    """Windowed HRV on a live stream of beats, one beat at a time.

    Parameters
    ----------
    window_s : float
        Window length (s). The live service uses 60 s (the micro-break engine 60 s too). On
        windows shorter than about 128 s plus 40 beats (~165 s at 70 bpm) the frequency-domain
        fields stay ``None`` (:func:`hrv.frequency_domain` needs 128 s of spline-resampled data
        inside a 20-beat margin at each end); coherence uses the last
        64 s of the window and the time domain and nonlinear metrics any length.
    step_s : float
        Distance between successive window ends (s).
    metrics : sequence of str, optional
        Groups computed for each window (see :func:`hrv.rolling`); default all four.
    detrend : {"smoothness_priors", "linear", None}
        Detrending of the frequency group's Welch segments (:func:`hrv.frequency_domain`), as
        :func:`hrv.rolling`'s.
    capacity_beats : int, optional
        Beats the ring buffer holds before it has to grow; by default enough for a window at
        240 beats/min (``4 * window_s + 16``). A window with more beats than this makes the
        buffer grow (a reallocation), it never loses beats.

    Notes
    -----
    Timeline: the analyser's own running sum of the RR intervals it was given (so a gap, whose
    missing intervals were never pushed, does not advance it), the same timeline as
    :func:`hrv.rolling` on the same intervals. Feeding a recording through :meth:`push` gives
    the windows of :func:`hrv.rolling` whose end is before the last beat; a window ending
    exactly at the last beat comes out of :meth:`flush`.

    Examples
    --------
    >>> an = StreamingAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    >>> done = [w for rr in [800.0] * 100 for w in an.push(rr)]
    >>> [(w.t_s, w.n_beats, w.rmssd_ms) for w in done]
    [(60.0, 75, 0.0), (70.0, 75, 0.0)]
    """

    def __init__(
        self,
        *,
        window_s: float = 60.0,
        step_s: float = 5.0,
        metrics: Iterable[str] | None = METRIC_GROUPS,
        capacity_beats: int | None = None,
        detrend: str | None = DEFAULT_DETREND,
    ) -> None:
        self._window_s, self._step_s = check_window(window_s, step_s)
        self._groups = check_metrics(metrics)
        self._detrend = check_detrend(detrend)
        if capacity_beats is None:
            capacity_beats = math.ceil(4.0 * self._window_s) + 16
        if isinstance(capacity_beats, bool) or not isinstance(capacity_beats, int | np.integer):
            raise HrvInputError(f"capacity_beats: expected an integer, got {capacity_beats!r}")
        if capacity_beats < 2:
            raise HrvInputError(f"capacity_beats: must be >= 2, got {capacity_beats}")
        self._capacity = int(capacity_beats)
        self._alloc(2 * self._capacity)
        self.reset()

    def _alloc(self, size: int) -> None:
        self._rr = np.empty(size, dtype=np.float64)
        self._t = np.empty(size, dtype=np.float64)
        self._gap = np.zeros(size, dtype=np.bool_)
        self._tl: list[float] = []  # beat times of the buffer (for bisect without numpy calls)

    def reset(self) -> None:
        """Forget every beat: the next push starts a new timeline at 0 s."""
        self._head = 0  # first live beat in the buffer
        self._end = 0  # one past the last beat
        self._tl = []
        self._sum_ms = 0.0
        self._k = 0
        self._next_end = self._window_s
        self._n_pushed = 0
        self._last_t = 0.0

    @property
    def window_s(self) -> float:
        """Window length (s)."""
        return self._window_s

    @property
    def step_s(self) -> float:
        """Distance between window ends (s)."""
        return self._step_s

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric groups computed for each window."""
        return self._groups

    @property
    def capacity_beats(self) -> int:
        """Beats the buffer holds before it grows (it grows when a window needs more)."""
        return self._capacity

    @property
    def n_pushed(self) -> int:
        """Beats pushed since creation or :meth:`reset`."""
        return self._n_pushed

    @property
    def t_s(self) -> float:
        """Time of the last beat on the analyser's timeline (s); 0 before the first."""
        return self._last_t

    @property
    def next_window_end_s(self) -> float:
        """End of the next window to be emitted (s)."""
        return self._next_end

    def push(self, rr_ms: float, *, gap_before: bool = False) -> list[WindowMetrics]:
        """Add one beat; return the windows it completes (usually none, sometimes one or more).

        Parameters
        ----------
        rr_ms : float
            The RR interval ending at this beat (ms), finite and > 0.
        gap_before : bool
            True when beats are missing before this one (no successive difference is taken
            between it and the previous beat).

        Returns
        -------
        list of WindowMetrics
            Windows ending at a boundary ``b`` with ``previous beat time <= b < this beat's
            time``, oldest first. Several come out at once after a pause longer than
            ``step_s``.

        Raises
        ------
        HrvInputError
            ``rr_ms`` not a finite number > 0; the analyser's state is unchanged. A completed
            window is never a reason to raise: one that the single-window functions refuse as
            a whole (its median RR above 10 s, say, after a dropout) comes out with its
            ``n_beats`` and every metric ``None`` (``hrv.rolling``, which checks the units of
            the whole recording once, does give values for such a window).
        """
        if isinstance(rr_ms, bool) or not isinstance(rr_ms, int | float | np.integer | np.floating):
            raise HrvInputError(f"rr_ms: expected a number of milliseconds, got {rr_ms!r}")
        rr = float(rr_ms)
        if not (rr > 0.0 and rr < math.inf):
            raise HrvInputError(f"rr_ms: must be finite and > 0, got {rr_ms!r}")
        total = self._sum_ms + rr
        t = total / 1000.0
        done: list[WindowMetrics] = []
        while t > self._next_end:
            done.append(self._emit(self._next_end))
            self._k += 1
            self._next_end = self._window_s + float(self._k) * self._step_s
        self._append(rr, t, bool(gap_before))
        self._sum_ms = total
        self._last_t = t
        self._n_pushed += 1
        return done

    def push_many(self, rr_ms: Any, *, gaps: Any = None) -> list[WindowMetrics]:
        """Push several beats in order; return every window they complete.

        Parameters
        ----------
        rr_ms : array_like
            RR intervals (ms), 1-D, finite, > 0.
        gaps : array_like of bool, optional
            ``gaps[i]`` is the ``gap_before`` of beat ``i``.

        Returns
        -------
        list of WindowMetrics
            The completed windows, oldest first.

        Raises
        ------
        HrvInputError
            Unusable ``rr_ms`` or ``gaps`` (checked before any beat is pushed).
        """
        rr = as_rr_ms(rr_ms)
        gap = as_gaps(gaps, rr.size)
        done: list[WindowMetrics] = []
        for value, g in zip(rr.tolist(), gap.tolist(), strict=True):
            done.extend(self.push(value, gap_before=g))
        return done

    def flush(self) -> list[WindowMetrics]:
        """Emit the window ending exactly at the last beat's time, if there is one.

        At the end of a recording, :func:`hrv.rolling` also includes a window whose end equals
        the last beat time; a live stream only emits it when the next beat arrives. After
        ``flush`` the analyser carries on as if that window had been emitted normally.
        """
        done: list[WindowMetrics] = []
        if self._n_pushed and self._next_end == self._last_t:
            done.append(self._emit(self._next_end))
            self._k += 1
            self._next_end = self._window_s + float(self._k) * self._step_s
        return done

    # ----------------------------------------------------------------------------------------

    def _append(self, rr: float, t: float, gap: bool) -> None:
        if self._end == self._rr.size:
            self._compact()
        i = self._end
        self._rr[i] = rr
        self._t[i] = t
        self._gap[i] = gap
        self._tl.append(t)
        self._end = i + 1

    def _compact(self) -> None:
        """Drop beats no future window needs; move the rest to the front (grow if still full)."""
        lower = self._next_end - self._window_s
        keep_from = self._head + bisect_right(self._tl, lower)
        n_keep = self._end - keep_from
        size = self._rr.size
        if n_keep > size // 2:
            while n_keep > size // 2:
                size *= 2
            self._capacity = size // 2
            rr, t, gap = self._rr, self._t, self._gap
            self._rr = np.empty(size, dtype=np.float64)
            self._t = np.empty(size, dtype=np.float64)
            self._gap = np.zeros(size, dtype=np.bool_)
        else:
            rr, t, gap = self._rr, self._t, self._gap
        self._rr[:n_keep] = rr[keep_from : self._end]
        self._t[:n_keep] = t[keep_from : self._end]
        self._gap[:n_keep] = gap[keep_from : self._end]
        self._tl = self._tl[keep_from - self._head :]
        self._head = 0
        self._end = n_keep

    def _emit(self, t_end: float) -> WindowMetrics:
        # every buffered beat has t <= t_end (windows before the last beat were emitted)
        lower = t_end - self._window_s
        start = self._head + bisect_right(self._tl, lower)
        # beats before ``start`` are older than every later window: release them
        del self._tl[: start - self._head]
        self._head = start
        stop = self._end
        rr = self._rr[start:stop]
        gap: NDArray[np.bool_] | None = self._gap[start:stop]
        if gap is not None and not gap[1:].any():
            gap = None
        try:
            return _window_metrics(
                rr, gap, self._t[start:stop], t_end, self._groups, self._window_s, self._detrend
            )
        except HrvInputError:
            # The single-window checks refuse this window as a whole (e.g. its median RR is
            # above 10 s after a dropout): report its count with no metrics rather than raise
            # mid-stream and stall every later window.
            return WindowMetrics(t_s=t_end, n_beats=stop - start)
