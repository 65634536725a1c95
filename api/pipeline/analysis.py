"""The HRV stage of a session: the live analyser and its one NN verdict per beat.

- :func:`make_analyser` the live HRV analyser (``hrv.LiveAnalyser``, 60 s / 5 s): one NN
  verdict per beat, windows on the beats' clock with their signal quality, and the signal
  quality of the last 60 s of beats (:attr:`Analyser.signal`), also while no window ends.
"""

from __future__ import annotations

from typing import Any, Protocol

from hrv import LiveAnalyser, SignalQuality
from hrv.live import LIVE_STEP_S, LIVE_WINDOW_S, live_settings

__all__ = [
    "LIVE_STEP_S",
    "LIVE_WINDOW_S",
    "Analyser",
    "analyser_settings",
    "make_analyser",
]

#: Live metrics: a 60 s window (RMSSD "over the last 60 s") every 5 s (hrv.live's constants,
#: which the export sidecar states through hrv.live_settings).


class Analyser(Protocol):
    """What the pipeline needs from the live HRV analyser (``hrv.LiveAnalyser``)."""

    @property
    def last_nn(self) -> bool | None:
        """The verdict on the last beat pushed (True: an NN interval); ``None`` before any."""
        ...

    @property
    def signal(self) -> SignalQuality:
        """The beat-level signal bookkeeping; ``signal.recent()`` is the last 60 s of beats."""
        ...

    def push(
        self, t_s: float, rr_ms: float, *, gap_before: bool = False, contact: bool | None = None
    ) -> list[Any]:
        """Judge one beat, analyse it if it is an NN interval; return the windows it completes."""
        ...


def make_analyser() -> Analyser:
    """The live HRV analyser: ``hrv.LiveAnalyser``, 60-s windows every 5 s.

    It makes the session's one NN verdict per beat (``hrv.ArtefactFilter``: lost contact, RR
    outside 300-2000 ms, > 20 % from the last accepted RR). A rejected beat is stored and
    broadcast but not analysed, and the next accepted beat enters the windows with a gap (no
    successive difference across the artefact); the pacer and the micro-break monitor take
    that verdict and those windows, and never judge a beat again. Each window's ``t_s`` is on
    the beats' clock (the session's ``t_s``), also after gaps and artefacts.
    """
    analyser: Analyser = LiveAnalyser(window_s=LIVE_WINDOW_S, step_s=LIVE_STEP_S)
    return analyser


def analyser_settings() -> dict[str, Any]:
    """How :func:`make_analyser`'s analyser makes its windows (``hrv.live_settings``).

    Stored with a session when it starts (``sessions.live_settings_json``), so that its export
    states the settings in force then, whatever version exports it.
    """
    return live_settings(window_s=LIVE_WINDOW_S, step_s=LIVE_STEP_S)
