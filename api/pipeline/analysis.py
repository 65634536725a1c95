"""The HRV stage of a session: the NN filter and the streaming analyser it gates.

- :func:`make_analyser`  the streaming HRV analyser (``hrv.StreamingAnalyser``, 60 s / 5 s);
- :func:`make_nn_filter` the causal artefact filter deciding which beats the analyser sees.
"""

from __future__ import annotations

from typing import Any, Protocol

from breathing import ArtefactFilter
from hrv import StreamingAnalyser

__all__ = [
    "LIVE_STEP_S",
    "LIVE_WINDOW_S",
    "Analyser",
    "BeatFilter",
    "make_analyser",
    "make_nn_filter",
]

#: Live metrics: a 60 s window (RMSSD "over the last 60 s") every 5 s.
LIVE_WINDOW_S = 60.0
LIVE_STEP_S = 5.0


class Analyser(Protocol):
    """What the pipeline needs from a streaming HRV analyser."""

    def push(self, rr_ms: float, *, gap_before: bool = False) -> list[Any]: ...


def make_analyser() -> Analyser:
    """The streaming HRV analyser: ``hrv.StreamingAnalyser``, 60-s windows every 5 s."""
    analyser: Analyser = StreamingAnalyser(window_s=LIVE_WINDOW_S, step_s=LIVE_STEP_S)
    return analyser


class BeatFilter(Protocol):
    """Decides, beat by beat, whether a beat is a normal-to-normal interval."""

    def accept(
        self, rr_ms: float, *, contact: bool | None = None, gap_before: bool = False
    ) -> bool: ...


def make_nn_filter() -> BeatFilter:
    """The causal artefact filter that gates the live analyser (``breathing.ArtefactFilter``,
    the micro-break tracker's and pacing engine's rule).

    Live metrics are computed on NN intervals: a beat it rejects (ectopic, missed or extra
    detection, lost contact, RR outside 300-2000 ms) is stored and broadcast but not analysed,
    and the next accepted beat enters the analyser with ``gap_before=True`` (no successive
    difference across the artefact). One ectopic beat can otherwise multiply a 60 s RMSSD.
    """
    nn: BeatFilter = ArtefactFilter()
    return nn
