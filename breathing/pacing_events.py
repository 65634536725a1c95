"""What the pacing engine says: its modes, the guidance a display needs, and its events.

Every event and the guidance are frozen dataclasses made of numbers, strings, tuples and other
such dataclasses (``json.dumps(dataclasses.asdict(x))`` always works); events carry a ``type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from breathing.adaptive import AdaptiveDecision
from breathing.assessment import AssessmentResult, RateResult
from breathing.pacer import BreathingPattern, PacerPhase, PacerReference

__all__ = [
    "PRACTICE_INHALE_TO_EXHALE",
    "AdaptiveUpdate",
    "AssessmentDone",
    "AssessmentProgress",
    "AssessmentStepDone",
    "AssessmentStopped",
    "Guidance",
    "ModeChanged",
    "PacingEvent",
    "PacingMode",
    "RateChanged",
]


class PacingMode(StrEnum):
    """What the engine does: pace at a fixed rate, assess, adapt, or nothing (stopped)."""

    FIXED = "fixed"
    ASSESSMENT = "assessment"
    ADAPTIVE = "adaptive"
    STOPPED = "stopped"


#: Inhale:exhale of practice when none is asked for: longer out than in (4 s : 6 s at 6/min),
#: as the break suggestions say; a long exhale is the usual advice of slow-breathing protocols
#: (Zaccaro et al. 2018, Front Hum Neurosci 12:353; Lehrer et al. 2020). The assessment keeps
#: the engine's own ratio so its steps compare like with like.
PRACTICE_INHALE_TO_EXHALE = 4.0 / 6.0


@dataclass(frozen=True, slots=True)
class AssessmentProgress:
    """Where a running (or finished) assessment is."""

    step_index: int
    n_steps: int
    rate_bpm: float
    step_start_s: float
    step_end_s: float
    fraction_done: float
    done: bool


@dataclass(frozen=True, slots=True)
class Guidance:
    """Everything a display needs at ``t_s``: mode, pattern, phase and its reference, progress."""

    t_s: float
    mode: PacingMode
    rate_bpm: float
    pattern: BreathingPattern
    reference: PacerReference
    phase: PacerPhase
    assessment: AssessmentProgress | None
    adaptive: AdaptiveDecision | None
    resonance_bpm: float | None
    ends_at_s: float | None = None


@dataclass(frozen=True, slots=True)
class RateChanged:
    """The pacer's rate changed at ``t_s``; ``reference`` anchors the new phase."""

    t_s: float
    rate_bpm: float
    previous_rate_bpm: float
    reason: str
    reference: PacerReference
    type: Literal["rate_change"] = "rate_change"


@dataclass(frozen=True, slots=True)
class ModeChanged:
    """The engine's mode changed at ``t_s``."""

    t_s: float
    mode: PacingMode
    previous_mode: PacingMode
    type: Literal["mode_change"] = "mode_change"


@dataclass(frozen=True, slots=True)
class AssessmentStepDone:
    """One assessment step was analysed: its row of the table (:class:`RateResult`)."""

    t_s: float
    step_index: int
    n_steps: int
    result: RateResult
    type: Literal["assessment_step"] = "assessment_step"


@dataclass(frozen=True, slots=True)
class AssessmentDone:
    """The assessment is over: the chosen resonance rate and the whole table."""

    t_s: float
    result: AssessmentResult
    type: Literal["assessment_complete"] = "assessment_complete"


@dataclass(frozen=True, slots=True)
class AssessmentStopped:
    """An assessment was abandoned at ``t_s`` before its verdict: unscored, no resonance rate.

    A stop, another practice or a restart abandons it.

    ``step_index`` is the step that was running (0-based) at ``rate_bpm``; ``steps_done`` the
    steps whose rows had been analysed (:class:`AssessmentStepDone`) before it.
    """

    t_s: float
    step_index: int
    n_steps: int
    rate_bpm: float
    steps_done: int
    type: Literal["assessment_stopped"] = "assessment_stopped"


@dataclass(frozen=True, slots=True)
class AdaptiveUpdate:
    """Adaptive pacing decided at the inhale onset ``t_s`` (hold, or step the rate)."""

    t_s: float
    decision: AdaptiveDecision
    type: Literal["adaptive_update"] = "adaptive_update"


PacingEvent = (
    RateChanged
    | ModeChanged
    | AssessmentStepDone
    | AssessmentDone
    | AssessmentStopped
    | AdaptiveUpdate
)
