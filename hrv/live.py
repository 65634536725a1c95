"""Live HRV on raw beats: one NN verdict per beat, windows on the beats' own timeline.

:class:`LiveAnalyser` is what a live session runs. It composes the three parts of live HRV so
that each decision is made once, here:

1. every beat is judged once by the causal NN filter (:class:`hrv.ArtefactFilter`); the
   verdict is kept (:attr:`LiveAnalyser.last_nn`) for the pacing policies, which never judge
   a beat again;
2. accepted beats (NN intervals) go to a :class:`hrv.StreamingAnalyser`; the first one after a
   rejected beat or a gap enters with ``gap_before=True`` (no successive difference across an
   artefact); its window boundaries stay on the running sum of the NN intervals, so its
   metrics equal :func:`hrv.rolling` of the NN intervals exactly;
3. every beat, rejected or not, goes to a :class:`hrv.SignalQuality`, so each window carries
   the quality and skin contact of the beats it should hold.

Each emitted :class:`LiveWindow` (and its ``metrics``) carries ``t_s`` on the beats' own
timeline (the clock of the recording or session, gaps and rejected beats included): the
window's boundary mapped through its last NN beat, ``t_s = beat_t_s + (t_end - beat_t_nn)``
(:func:`hrv.timeline.to_beat_clock`, the same mapping ``hrvpace analyze`` and ``report`` use).
Without gaps or artefacts this is the boundary itself; after them the running sum of the NN
intervals falls behind the beats' clock and the mapping puts the window where its beats are.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hrv.errors import HrvInputError
from hrv.frequency import DEFAULT_DETREND
from hrv.nn_filter import RR_RANGE_MS, ArtefactFilter
from hrv.nonlinear import dfa_settings
from hrv.rolling import METRIC_GROUPS
from hrv.signal_quality import SignalQuality, WindowSignal
from hrv.spectrum import spectrum_settings
from hrv.streaming import StreamingAnalyser, WindowMetrics
from hrv.timeline import to_beat_clock

__all__ = ["LIVE_STEP_S", "LIVE_WINDOW_S", "LiveAnalyser", "LiveWindow", "live_settings"]

#: The live service's windows: 60 s (RMSSD "over the last 60 s") every 5 s; the defaults of
#: :class:`LiveAnalyser` (``api.pipeline`` runs it with them, the report's trend uses them).
LIVE_WINDOW_S = 60.0
LIVE_STEP_S = 5.0

_NUMBER = (int, float, np.integer, np.floating)


@dataclass(frozen=True, slots=True)
class LiveWindow:
    """One finished live window: its NN metrics, its signal quality and where it ends.

    Attributes
    ----------
    t_s : float
        The window's end on the beats' own timeline (s), see the module docstring.
    t_nn_s : float
        The window's end on the analyser's timeline (the running sum of the NN intervals),
        the ``t_s`` of the matching :func:`hrv.rolling` window of the NN intervals.
    metrics : WindowMetrics
        The metrics of the window's NN intervals; its ``t_s`` is this window's ``t_s``.
    signal : WindowSignal
        Quality and skin contact of all the beats in the window, the rejected ones included.
    start_t_s : float or None
        Where the window's beats begin on the beats' own timeline (its first beat less its RR
        interval, :meth:`hrv.SignalQuality.window_start`; ``None``: no beat). Without gaps or
        artefacts about ``t_s - window_s``; after them earlier.
    """

    t_s: float
    t_nn_s: float
    metrics: WindowMetrics
    signal: WindowSignal
    start_t_s: float | None = None


class LiveAnalyser:
    """Windowed HRV of a live stream of raw beats: filter, analyser and signal quality in one.

    Parameters
    ----------
    window_s, step_s, metrics, detrend
        As :class:`hrv.StreamingAnalyser` (the live service: 60 s every 5 s, all metrics).
    nn_filter : ArtefactFilter, optional
        The causal NN rule (default :class:`hrv.ArtefactFilter` with its defaults).

    References
    ----------
    Malik, M., et al. (1989). Medical & Biological Engineering & Computing, 27(6), 603-611
    (the NN rule, :class:`hrv.ArtefactFilter`). Task Force of the ESC and NASPE (1996).
    Circulation, 93(5), 1043-1065 (HRV of NN intervals; :class:`hrv.SignalQuality`).

    Examples
    --------
    >>> an = LiveAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    >>> rr = [800.0] * 50 + [400.0] + [800.0] * 50  # one extra detection at 40.4 s
    >>> t = [sum(rr[: i + 1]) / 1000.0 for i in range(len(rr))]
    >>> done = [w for ti, x in zip(t, rr) for w in an.push(ti, x)]
    >>> [(w.t_nn_s, w.t_s, w.signal.n_beats, w.metrics.n_beats) for w in done]
    [(60.0, 60.4, 76, 75), (70.0, 70.4, 76, 75)]
    """

    def __init__(
        self,
        *,
        window_s: float = LIVE_WINDOW_S,
        step_s: float = LIVE_STEP_S,
        metrics: Iterable[str] | None = METRIC_GROUPS,
        detrend: str | None = DEFAULT_DETREND,
        nn_filter: ArtefactFilter | None = None,
    ) -> None:
        self._analyser = StreamingAnalyser(
            window_s=window_s, step_s=step_s, metrics=metrics, detrend=detrend
        )
        self._filter = ArtefactFilter() if nn_filter is None else nn_filter
        self._quality = SignalQuality(window_s=self._analyser.window_s)
        self._last_t: float | None = None
        self._last_nn_beat: tuple[float, float] | None = None  # (beat t_s, its NN time)
        self._dropped_before = False
        self._last_nn: bool | None = None
        self._n_rejected = 0

    @property
    def analyser(self) -> StreamingAnalyser:
        """The streaming analyser of the NN intervals (its timeline is their running sum)."""
        return self._analyser

    @property
    def window_s(self) -> float:
        """Window length (s)."""
        return self._analyser.window_s

    @property
    def last_nn(self) -> bool | None:
        """The verdict on the last beat pushed (True: an NN interval); None before any."""
        return self._last_nn

    @property
    def n_rejected(self) -> int:
        """Beats the filter left out so far."""
        return self._n_rejected

    @property
    def signal(self) -> SignalQuality:
        """The beat-level signal bookkeeping behind each window's :class:`WindowSignal`."""
        return self._quality

    def push(
        self,
        t_s: float,
        rr_ms: float,
        *,
        gap_before: bool = False,
        contact: bool | None = None,
    ) -> list[LiveWindow]:
        """Judge one beat, analyse it if it is an NN interval; return the windows it completes.

        Parameters
        ----------
        t_s : float
            The beat's time on its own timeline (s); never earlier than the previous beat's.
        rr_ms : float
            Its RR interval (ms), finite and > 0.
        gap_before : bool
            Beats are missing before this one.
        contact : bool or None
            Skin contact reported with the beat (None: the strap does not say).

        Returns
        -------
        list of LiveWindow
            Usually none; the windows whose end the running sum of the NN intervals has just
            passed, oldest first. A rejected beat completes none.

        Raises
        ------
        HrvInputError
            ``t_s`` or ``rr_ms`` not finite, ``rr_ms`` <= 0, ``t_s`` earlier than the previous
            beat's; nothing is changed then.
        """
        if isinstance(rr_ms, bool) or not isinstance(rr_ms, _NUMBER):
            raise HrvInputError(f"rr_ms: expected a number of milliseconds, got {rr_ms!r}")
        if isinstance(t_s, bool) or not isinstance(t_s, _NUMBER) or not math.isfinite(t_s):
            raise HrvInputError(f"t_s: expected a finite number of seconds, got {t_s!r}")
        t_s, rr_ms = float(t_s), float(rr_ms)
        if not (math.isfinite(rr_ms) and rr_ms > 0):
            raise HrvInputError(f"rr_ms: must be finite and > 0, got {rr_ms!r}")
        if self._last_t is not None and t_s < self._last_t:
            raise HrvInputError(
                f"t_s: beat at {t_s} s is earlier than the previous one at {self._last_t} s"
            )
        self._last_t = t_s
        nn = self._filter.accept(rr_ms, contact=contact, gap_before=gap_before)
        self._last_nn = nn
        finished: list[WindowMetrics] = []
        if nn:
            finished = self._analyser.push(rr_ms, gap_before=gap_before or self._dropped_before)
            self._dropped_before = False
        else:
            self._dropped_before = True
            self._n_rejected += 1
        # the beat goes to the signal bookkeeping before the windows it completes are read:
        # it judges whether the beat before it started a premature pattern (hrv.rhythm), and
        # that beat belongs to those windows
        self._quality.on_beat(
            t_s,
            rr_ms,
            t_nn_s=self._analyser.t_s,
            nn=nn,
            gap_before=gap_before,
            contact=contact,
        )
        done = [self._live(w) for w in finished]  # mapped through the NN beat before this one
        if nn:
            self._last_nn_beat = (t_s, self._analyser.t_s)
        return done

    def flush(self) -> list[LiveWindow]:
        """Emit the window ending exactly at the last NN beat, if there is one (end of stream)."""
        return [self._live(w) for w in self._analyser.flush()]

    def _live(self, window: WindowMetrics) -> LiveWindow:
        t_nn = window.t_s
        signal = self._quality.window(t_nn)
        last = self._last_nn_beat
        t_s = (
            t_nn
            if last is None
            else float(to_beat_clock([t_nn], anchor_nn_s=[last[1]], anchor_t_s=[last[0]])[0])
        )
        return LiveWindow(
            t_s=t_s,
            t_nn_s=t_nn,
            metrics=dataclasses.replace(window, t_s=t_s),
            signal=signal,
            start_t_s=self._quality.window_start(t_nn),
        )


def live_settings(
    *,
    window_s: float = LIVE_WINDOW_S,
    step_s: float = LIVE_STEP_S,
    detrend: str | None = DEFAULT_DETREND,
    nn_filter: ArtefactFilter | None = None,
) -> dict[str, Any]:
    """How :class:`LiveAnalyser` makes its windows, as a JSON-ready dict (export sidecar).

    ``window_s``/``step_s``, ``metric_groups``, the causal ``nn_filter`` (the rule and the
    parameters of :class:`hrv.ArtefactFilter`, default: its defaults), ``frequency``
    (:func:`hrv.spectrum.spectrum_settings`, as ``hrvpace analyze`` records them),
    ``frequency_columns``: why the frequency columns of every window are empty when the window
    is shorter than the spectrum's minimum span (a 60-s window < the 128 s of gap-free beats
    Welch needs; VLF needs 300 s); ``dfa_alpha1``: its box sizes and the rule for boxes
    (:func:`hrv.dfa_settings`, as ``hrvpace analyze`` records them: a session stored before
    the rule "none across a gap" came in lacks the key).

    Examples
    --------
    >>> s = live_settings()
    >>> s["window_s"], s["step_s"], s["nn_filter"]["max_change"]
    (60.0, 5.0, 0.2)
    """
    rule = ArtefactFilter() if nn_filter is None else nn_filter
    freq = spectrum_settings("welch", detrend)
    if freq["min_span_s"] > window_s:
        why = (
            f"always empty: a {window_s:g}-s live window is shorter than the "
            f"{freq['min_span_s']:g} s of gap-free beats the {freq['method']} spectrum needs "
            f"(one {freq['segment_s']:g}-s segment; VLF also needs {freq['min_vlf_span_s']:g} "
            "s); the columns are kept so that the table has the columns of hrvpace analyze "
            "--windows (300-s windows by default)"
        )
    else:
        why = "computed per window; empty where the window holds no gap-free segment"
    return {
        "window_s": float(window_s),
        "step_s": float(step_s),
        "t_s": "the window's end on the session's beat timeline, mapped through its last NN "
        "beat (hrv.LiveAnalyser)",
        "metric_groups": list(METRIC_GROUPS),
        "nn_filter": {
            "name": "hrv.ArtefactFilter (Malik et al. 1989)",
            "rule": "a beat is left out without skin contact, outside rr_range_ms, or more "
            "than max_change from the last accepted RR; the next accepted beat enters "
            "after a gap (no successive difference across it)",
            "rr_range_ms": list(RR_RANGE_MS),
            "max_change": rule.max_change,
            "reanchor_after": rule.reanchor_after,
        },
        "frequency": freq,
        "frequency_columns": why,
        "dfa_alpha1": dfa_settings(),
    }
