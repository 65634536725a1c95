"""Typed payloads: Pydantic models mirroring the core's frozen dataclasses, field by field.

They are the OpenAPI and live-schema types of what an app receives: HRV window metrics
(:mod:`api.payloads.metrics`), the signal quality and rhythm of the recent beats
(:mod:`api.payloads.signal`), breathing guidance with the pacer's phase reference and the
breathing pattern (:mod:`api.payloads.guidance`), resonance assessments
(:mod:`api.payloads.assessment`), micro-break events, status and settings
(:mod:`api.payloads.microbreak`) and session sources (:mod:`api.payloads.sources`).
:func:`to_payload` turns a core result into its JSON-ready dict through its model; it is the
one converter between the core and the wire.
"""

from __future__ import annotations

from api.payloads._base import MODELS, Payload, core_field_names, to_model, to_payload
from api.payloads.assessment import AssessmentResult, Criterion, CriterionUse, RateResult
from api.payloads.guidance import (
    AdaptiveDecision,
    AdaptiveUpdate,
    AnyPacingEvent,
    AssessmentDone,
    AssessmentProgress,
    AssessmentStepDone,
    AssessmentStopped,
    BreathingPattern,
    Guidance,
    GuidanceChange,
    ModeChanged,
    PacerPhase,
    PacerReference,
    PacingEvent,
    RateChanged,
    pacing_event,
)
from api.payloads.metrics import MetricsSnapshot, WindowMetrics
from api.payloads.microbreak import (
    AnyMicroBreakEvent,
    Baseline,
    BreakBanner,
    BreakEffect,
    BreakEnded,
    BreakKindName,
    BreakStarted,
    FlagAcknowledged,
    MicroBreakDue,
    MicroBreakEvent,
    MicroBreakSettings,
    MicroBreakStatus,
    Reason,
    Snoozed,
    Suggestion,
    micro_break_event,
)
from api.payloads.records import (
    AssessmentRecord,
    StoredAssessmentComplete,
    StoredAssessmentStep,
    StoredAssessmentStopped,
)
from api.payloads.signal import WindowSignal
from api.payloads.sources import (
    BleSourceOut,
    ReplaySegment,
    ReplaySourceOut,
    SessionOptionsOut,
    SessionSource,
    SimulatorSourceOut,
    StrapStatus,
)

__all__ = [
    "MODELS",
    "AdaptiveDecision",
    "AdaptiveUpdate",
    "AnyMicroBreakEvent",
    "AnyPacingEvent",
    "AssessmentDone",
    "AssessmentProgress",
    "AssessmentRecord",
    "AssessmentResult",
    "AssessmentStepDone",
    "AssessmentStopped",
    "Baseline",
    "BleSourceOut",
    "BreakBanner",
    "BreakEffect",
    "BreakEnded",
    "BreakKindName",
    "BreakStarted",
    "BreathingPattern",
    "Criterion",
    "CriterionUse",
    "FlagAcknowledged",
    "Guidance",
    "GuidanceChange",
    "MetricsSnapshot",
    "MicroBreakDue",
    "MicroBreakEvent",
    "MicroBreakSettings",
    "MicroBreakStatus",
    "ModeChanged",
    "PacerPhase",
    "PacerReference",
    "PacingEvent",
    "Payload",
    "RateChanged",
    "RateResult",
    "Reason",
    "ReplaySegment",
    "ReplaySourceOut",
    "SessionOptionsOut",
    "SessionSource",
    "SimulatorSourceOut",
    "Snoozed",
    "StoredAssessmentComplete",
    "StoredAssessmentStep",
    "StoredAssessmentStopped",
    "StrapStatus",
    "Suggestion",
    "WindowMetrics",
    "WindowSignal",
    "core_field_names",
    "micro_break_event",
    "pacing_event",
    "to_model",
    "to_payload",
]
