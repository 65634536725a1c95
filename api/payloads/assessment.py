"""Resonance assessments (``breathing.AssessmentResult`` and its per-rate rows).

The ``assessment_step`` / ``assessment_complete`` pacing events and the stored results.

The method (stepped rates, 2 min each, HR oscillation at the breathing frequency, phase and
LF peak criteria) follows Lehrer, Vaschillo & Vaschillo (2000) and Shaffer & Meehan (2020);
each criterion is described in ``breathing.assessment``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import breathing
from api.payloads._base import Finite, OptFloat, Payload, register

__all__ = ["AssessmentResult", "Criterion", "CriterionUse", "RateResult"]


@register(breathing.CriterionUse)
class CriterionUse(Payload):
    """Whether one step's measures serve one criterion of the choice, and why (not)."""

    name: str = Field(description="The criterion (e.g. peak_to_trough, phase, lf_peak).")
    used: bool = Field(description="This step's measures count for the criterion.")
    why: str = Field(description="Why (not), in words.")


@register(breathing.RateResult)
class RateResult(Payload):
    """The response measured at one paced rate (one row of the assessment table)."""

    rate_bpm: Finite = Field(description="The paced rate of this step, breaths/min.")
    peak_to_trough_bpm: OptFloat = Field(
        description="Mean per-breath max - min heart rate, beats/min."
    )
    amplitude_bpm: OptFloat = Field(
        description="Amplitude of the HR oscillation at the breathing frequency, beats/min."
    )
    phase_deg: OptFloat = Field(
        description="Phase of HR relative to lung volume, degrees (positive: HR leads)."
    )
    breathing_power_ms2: OptFloat = Field(description="RR power at the breathing frequency, ms^2.")
    coherence: OptFloat = Field(
        description="Share of the HR variance at the breathing frequency, 0..1 "
        "(hrv.breathing_response)."
    )
    lf_power_ms2: OptFloat = Field(description="LF band power (0.04-0.15 Hz), ms^2.")
    lf_peak_hz: OptFloat = Field(description="Frequency of the LF peak, Hz.")
    lf_peak_density_ms2_per_hz: OptFloat = Field(
        description="Spectral density at the LF peak, ms^2/Hz."
    )
    n_cycles: int = Field(description="Breathing cycles analysed.")
    n_beats: int = Field(description="Beats analysed.")
    quality: Finite = Field(description="Share of clean beats, 0..1.")
    usable: bool = Field(description="The step's measures are good enough to count.")
    note: str = Field(default="", description="Why a step is not usable, in words.")
    criteria: list[CriterionUse] = Field(
        default_factory=list, description="For each criterion: used or not, and why."
    )


@register(breathing.Criterion)
class Criterion(Payload):
    """One published criterion and the rate it points to (``null`` when it cannot tell)."""

    name: str = Field(description="The criterion's name.")
    rate_bpm: OptFloat = Field(description="The rate it points to, breaths/min.")
    detail: str = Field(description="How it got there, in words.")


@register(breathing.AssessmentResult)
class AssessmentResult(Payload):
    """Outcome of an assessment: the resonance rate, how it was found, and the table."""

    resonance_bpm: OptFloat = Field(
        description="Estimated resonance rate, breaths/min (null: too few usable rates)."
    )
    method: breathing.ResonanceMethod = Field(
        description="phase_crossing, phase_extrapolated, resonator_fit or amplitude_peak; none "
        "when no rate was found (resonance_bpm null)."
    )
    reason: str = Field(description="A sentence a person can read.")
    single_peak: bool = Field(
        description="Peak-to-trough HR rises then falls (within 10 %) with its maximum at an "
        "interior rate (a maximum tied with an edge rate is at the edge)."
    )
    criteria: list[Criterion] = Field(description="The rate each criterion points to.")
    rates: list[RateResult] = Field(description="The per-rate table, in protocol order.")
    breathing_delay_s: OptFloat = Field(
        default=None,
        description="Delay of the person's breathing behind the pacer, s (null: not fitted).",
    )
    range_edge: Literal["low", "high"] | None = Field(
        default=None,
        description="The chosen rate is at (or beyond) the lowest/highest usable rate tested.",
    )
    range_note: str = Field(default="", description="range_edge in words ('' otherwise).")
