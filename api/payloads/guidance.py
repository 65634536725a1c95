"""Breathing guidance (``breathing.Guidance``) and the pacing events that change it.

The pacer's **phase reference** is what an app animates the pacer from on its own: at
``reference.t_s`` the phase is ``reference.phase_cycles`` (an integer = an inhale onset), and it
advances at ``rate_bpm / 60`` cycles per second with ``reference.pattern`` until the next
reference. Slow paced breathing near 6 breaths/min after Lehrer, Vaschillo & Vaschillo (2000);
adaptive pacing steers by the phase of HR relative to lung volume (``breathing.adaptive``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

import breathing
from api.payloads._base import Finite, OptFloat, Payload, register, to_model
from api.payloads.assessment import AssessmentResult, RateResult

__all__ = [
    "AdaptiveDecision",
    "AdaptiveUpdate",
    "AnyPacingEvent",
    "AssessmentDone",
    "AssessmentProgress",
    "AssessmentStepDone",
    "AssessmentStopped",
    "BreathingPattern",
    "Guidance",
    "GuidanceChange",
    "ModeChanged",
    "PacerPhase",
    "PacerReference",
    "PacingEvent",
    "RateChanged",
    "pacing_event",
]


@register(breathing.BreathingPattern)
class BreathingPattern(Payload):
    """A breathing pattern: rate, inhale:exhale, holds."""

    rate_bpm: Finite = Field(
        description="Breaths per minute (one breath = inhale, hold, exhale, hold)."
    )
    inhale_to_exhale: Finite = Field(
        default=1.0,
        description="Inhale duration / exhale duration (1.0 = 1:1; 4 s in, 6 s out = 0.667).",
    )
    hold_after_inhale_s: Finite = Field(default=0.0, description="Hold after inhale, s.")
    hold_after_exhale_s: Finite = Field(default=0.0, description="Hold after exhale, s.")


@register(breathing.PacerReference)
class PacerReference(Payload):
    """The pacer's phase reference: enough to animate the pacer without asking again."""

    t_s: Finite = Field(description="Session time of the reference, s.")
    phase_cycles: Finite = Field(
        description="Pacer phase at t_s, cycles (integer part: breaths since the start)."
    )
    rate_bpm: Finite = Field(
        description="Rate from t_s on, breaths/min: the phase advances rate_bpm/60 cycles per s."
    )
    inhale_onset_t_s: Finite = Field(
        description="Session time of the latest inhale onset at or before t_s, s."
    )
    pattern: BreathingPattern = Field(description="The pattern from t_s on.")


@register(breathing.PacerPhase)
class PacerPhase(Payload):
    """The pacer at one instant."""

    t_s: Finite = Field(description="Session time, s.")
    phase_cycles: Finite = Field(description="Pacer phase, cycles.")
    cycle_index: int = Field(description="Breaths since the pacer started.")
    fraction: Finite = Field(description="Position within the breath, 0..1.")
    stage: breathing.BreathStage = Field(description="Where in the breath the phase falls.")
    stage_progress: Finite = Field(description="Position within the stage, 0..1.")
    lung_volume: Finite = Field(
        description="Target lung volume, 0 (empty) .. 1 (full), for the pacer's animation."
    )
    rate_bpm: Finite = Field(description="Current rate, breaths/min.")


@register(breathing.AssessmentProgress)
class AssessmentProgress(Payload):
    """Where a running (or finished) resonance assessment is."""

    step_index: int = Field(description="Current step (0-based).")
    n_steps: int = Field(description="Steps of the protocol.")
    rate_bpm: Finite = Field(description="Rate of the current step, breaths/min.")
    step_start_s: Finite = Field(description="Session time the step started, s.")
    step_end_s: Finite = Field(description="Session time the step ends, s.")
    fraction_done: Finite = Field(description="Share of the whole assessment done, 0..1.")
    done: bool = Field(description="The assessment has finished.")


@register(breathing.AdaptiveDecision)
class AdaptiveDecision(Payload):
    """One per-breath decision of adaptive pacing: the new rate and why."""

    t_s: Finite = Field(description="Session time of the decision, s.")
    rate_bpm: Finite = Field(description="The rate from now on, breaths/min.")
    step_bpm: Finite = Field(description="Change of rate, breaths/min (0 when holding).")
    phase_deg: OptFloat = Field(
        description="Phase of HR relative to lung volume, degrees (positive: HR leads, "
        "the rate goes up)."
    )
    amplitude_bpm: OptFloat = Field(
        description="HR oscillation amplitude at the breathing frequency, beats/min."
    )
    coherence: OptFloat = Field(
        description="Share of the HR variance at the breathing frequency, 0..1."
    )
    holding: bool = Field(description="The rate was kept.")
    reason: str = Field(description="Why, in words.")


@register(breathing.Guidance)
class Guidance(Payload):
    """Everything a display needs at t_s: mode, pattern, phase and its reference, progress."""

    t_s: Finite = Field(description="Session time of this guidance, s (the beats' timeline).")
    mode: breathing.PacingMode = Field(description="fixed, assessment, adaptive or stopped.")
    rate_bpm: Finite = Field(description="Current rate, breaths/min.")
    pattern: BreathingPattern = Field(description="Current pattern (rate, inhale:exhale, holds).")
    reference: PacerReference = Field(description="The pacer's phase reference.")
    phase: PacerPhase = Field(description="The pacer at t_s.")
    assessment: AssessmentProgress | None = Field(
        description="Progress of the assessment (null when none ran)."
    )
    adaptive: AdaptiveDecision | None = Field(
        description="Latest adaptive decision (null when not adaptive)."
    )
    resonance_bpm: OptFloat = Field(
        description="Resonance rate this session's assessment found, breaths/min."
    )
    ends_at_s: OptFloat = Field(
        default=None,
        description="Session time the practice ends by itself, s (null: until stopped).",
    )


@register(breathing.RateChanged)
class RateChanged(Payload):
    """The pacing rate changed (a command, an assessment step, an adaptive step)."""

    t_s: Finite = Field(description="Session time, s.")
    rate_bpm: Finite = Field(description="New rate, breaths/min.")
    previous_rate_bpm: Finite = Field(description="Rate before, breaths/min.")
    reason: str = Field(description="Why, in words.")
    reference: PacerReference = Field(description="The pacer's phase reference from now on.")
    type: Literal["rate_change"] = Field(default="rate_change", description="The event's kind.")


@register(breathing.ModeChanged)
class ModeChanged(Payload):
    """The pacing mode changed."""

    t_s: Finite = Field(description="Session time, s.")
    mode: breathing.PacingMode = Field(description="New mode.")
    previous_mode: breathing.PacingMode = Field(description="Mode before.")
    type: Literal["mode_change"] = Field(default="mode_change", description="The event's kind.")


@register(breathing.AssessmentStepDone)
class AssessmentStepDone(Payload):
    """One step of the assessment finished, with its measures."""

    t_s: Finite = Field(description="Session time, s.")
    step_index: int = Field(description="The step that finished (0-based).")
    n_steps: int = Field(description="Steps of the protocol.")
    result: RateResult = Field(description="What was measured at that rate.")
    type: Literal["assessment_step"] = Field(
        default="assessment_step", description="The event's kind."
    )


@register(breathing.AssessmentDone)
class AssessmentDone(Payload):
    """The assessment finished, with its verdict."""

    t_s: Finite = Field(description="Session time, s.")
    result: AssessmentResult = Field(description="The resonance rate and the table.")
    type: Literal["assessment_complete"] = Field(
        default="assessment_complete", description="The event's kind."
    )


@register(breathing.AssessmentStopped)
class AssessmentStopped(Payload):
    """The assessment was abandoned before its verdict: no resonance rate.

    Stopped, replaced by a practice, or restarted; the steps finished before it keep their rows.
    """

    t_s: Finite = Field(description="Session time it was abandoned, s.")
    step_index: int = Field(description="The step that was running (0-based).")
    n_steps: int = Field(description="Steps of the protocol.")
    rate_bpm: Finite = Field(description="Rate of that step, breaths/min.")
    steps_done: int = Field(description="Steps analysed before it (their assessment_step rows).")
    type: Literal["assessment_stopped"] = Field(
        default="assessment_stopped", description="The event's kind."
    )


@register(breathing.AdaptiveUpdate)
class AdaptiveUpdate(Payload):
    """Adaptive pacing made its per-breath decision."""

    t_s: Finite = Field(description="Session time, s.")
    decision: AdaptiveDecision = Field(description="The decision.")
    type: Literal["adaptive_update"] = Field(
        default="adaptive_update", description="The event's kind."
    )


AnyPacingEvent = (
    RateChanged
    | ModeChanged
    | AssessmentStepDone
    | AssessmentDone
    | AssessmentStopped
    | AdaptiveUpdate
)
#: A pacing event (``breathing.PacingEvent``), told apart by ``type``.
PacingEvent = Annotated[AnyPacingEvent, Field(discriminator="type")]


def pacing_event(obj: Any) -> AnyPacingEvent:
    """The payload of one ``breathing.PacingEvent``.

    Raises
    ------
    TypeError
        ``obj`` is not a pacing event.
    """
    model = to_model(obj)
    if not isinstance(
        model,
        (
            RateChanged,
            ModeChanged,
            AssessmentStepDone,
            AssessmentDone,
            AssessmentStopped,
            AdaptiveUpdate,
        ),
    ):
        raise TypeError(f"not a pacing event: {type(obj).__qualname__}")
    return model


class GuidanceChange(Guidance):
    """Stored guidance at one change, with the pacing events that caused it."""

    recorded_at: float = Field(description="When it was stored, Unix seconds.")
    events: list[PacingEvent] = Field(
        default_factory=list, description="The pacing events of this change."
    )
