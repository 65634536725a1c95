"""Pacing engine: breathing pacer, resonance assessment, adaptive pacing and micro-break flags.

Pure policies over the HRV core's metrics: numpy arrays and frozen dataclasses in and out, time
passed in explicitly (``t_s``), never read from a clock. The policies take the verdicts and
windows of :class:`hrv.LiveAnalyser` (the one NN filter and signal quality, in ``hrv``) and
never filter a beat again.
"""

from breathing.adaptive import AdaptiveConfig, AdaptiveDecision, AdaptivePacing, SignalCheck
from breathing.assessment import (
    AssessmentProtocol,
    AssessmentResult,
    Criterion,
    CriterionUse,
    RateResult,
    ResonanceMethod,
    analyse_rate,
    choose_resonance,
)
from breathing.baseline import Baseline
from breathing.engine import (
    AdaptiveUpdate,
    AssessmentDone,
    AssessmentProgress,
    AssessmentStepDone,
    AssessmentStopped,
    Guidance,
    ModeChanged,
    PacingEngine,
    PacingEvent,
    PacingMode,
    RateChanged,
)
from breathing.errors import BreathingError, SettingError
from breathing.microbreak import (
    BreakEffect,
    BreakEnded,
    BreakKind,
    BreakStarted,
    FlagAcknowledged,
    MicroBreakDue,
    MicroBreakEvent,
    MicroBreakMonitor,
    MicroBreakSettings,
    MicroBreakStatus,
    Reason,
    ReasonCode,
    Snoozed,
    Suggestion,
)
from breathing.pacer import BreathingPattern, BreathStage, Pacer, PacerPhase, PacerReference

__all__ = [
    "AdaptiveConfig",
    "AdaptiveDecision",
    "AdaptivePacing",
    "AdaptiveUpdate",
    "AssessmentDone",
    "AssessmentProgress",
    "AssessmentProtocol",
    "AssessmentResult",
    "AssessmentStepDone",
    "AssessmentStopped",
    "Baseline",
    "BreakEffect",
    "BreakEnded",
    "BreakKind",
    "BreakStarted",
    "BreathStage",
    "BreathingError",
    "BreathingPattern",
    "Criterion",
    "CriterionUse",
    "FlagAcknowledged",
    "Guidance",
    "MicroBreakDue",
    "MicroBreakEvent",
    "MicroBreakMonitor",
    "MicroBreakSettings",
    "MicroBreakStatus",
    "ModeChanged",
    "Pacer",
    "PacerPhase",
    "PacerReference",
    "PacingEngine",
    "PacingEvent",
    "PacingMode",
    "RateChanged",
    "RateResult",
    "Reason",
    "ReasonCode",
    "ResonanceMethod",
    "SettingError",
    "SignalCheck",
    "Snoozed",
    "Suggestion",
    "analyse_rate",
    "choose_resonance",
]
