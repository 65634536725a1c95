"""What the micro-break monitor tells: flags with their reason and suggestion, breaks, status.

Every event is a frozen dataclass of numbers, strings, enums and other such dataclasses, with a
``type`` a client can switch on. The suggestions and their evidence are listed in
:mod:`breathing.microbreak`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from breathing.baseline import Baseline
from breathing.errors import BreathingError
from breathing.pacer import MAX_RATE_BPM, MIN_RATE_BPM

__all__ = [
    "SUGGESTIONS",
    "SUMMARY_STRESS",
    "SUMMARY_STRESS_LOAD",
    "SUMMARY_TIME_ON_TASK",
    "BreakEffect",
    "BreakEnded",
    "BreakKind",
    "BreakStarted",
    "FlagAcknowledged",
    "MicroBreakDue",
    "MicroBreakEvent",
    "MicroBreakStatus",
    "Reason",
    "ReasonCode",
    "Snoozed",
    "Suggestion",
    "breathing_suggestion",
]


class BreakKind(StrEnum):
    """Kinds of break the monitor suggests (and the user may start)."""

    BREATHING = "breathing"  # 2-minute resonance-breathing reset
    SCREEN = "screen"  # 10-minute break away from the screen
    WALK = "walk"  # a short walk


class ReasonCode(StrEnum):
    """Why a micro-break is due (machine code)."""

    STRESS = "stress"  # sustained low lnRMSSD with raised HR
    STRESS_LOAD = "stress_load"  # accumulated intermittent stress
    TIME_ON_TASK = "time_on_task"  # too long without a break


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a break is due, for a machine, for the person and for the curious.

    Attributes
    ----------
    code : ReasonCode
        The rule that fired (stable, for clients and statistics).
    summary : str
        One plain sentence for the person: no SD, z scores, logarithms or metric names. The
        page's banner, system notifications and the break history show it.
    details : str
        The same reason with the numbers (RMSSD, heart rate, how far from the person's
        baseline), shown on demand.
    """

    code: ReasonCode
    summary: str
    details: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What to do: the kind of break, how long, in words, and the evidence behind it."""

    kind: BreakKind
    duration_s: float
    text: str
    reference: str


# Plain-language summaries of each reason (issue 15): no statistics, no metric names. A low
# RMSSD with a raised heart rate reads as "higher and steadier than usual for you".
SUMMARY_STRESS = (
    "Your heart rate has been higher and steadier than usual for you for the last few minutes, "
    "a pattern that often comes with stress."
)
SUMMARY_STRESS_LOAD = (
    "Your heart has shown a stress pattern again and again recently, about {minutes} minutes "
    "in all. A short break helps you recover before it builds up further."
)
SUMMARY_TIME_ON_TASK = (
    "You have been working for {minutes} minutes without a break. A short pause away from the "
    "screen helps you stay fresh."
)

SUGGESTIONS: dict[BreakKind, Suggestion] = {
    BreakKind.BREATHING: Suggestion(
        BreakKind.BREATHING,
        120.0,
        "Take a 2-minute breathing reset: breathe slowly with the pacer, about 6 breaths a "
        "minute, longer out than in.",
        "Lehrer et al. 2020 (HRV biofeedback meta-analysis); Zaccaro et al. 2018 (slow "
        "breathing review)",
    ),
    BreakKind.WALK: Suggestion(
        BreakKind.WALK,
        300.0,
        "Stand up and take a short walk (about 5 minutes), away from the screen.",
        "Albulescu et al. 2022 (micro-break meta-analysis: breaks up to 10 min, physical "
        "activity breaks)",
    ),
    BreakKind.SCREEN: Suggestion(
        BreakKind.SCREEN,
        600.0,
        "Take a 10-minute break away from the screen: stretch, look into the distance, get a "
        "drink of water.",
        "Albulescu et al. 2022 (micro-break meta-analysis: vigour up, fatigue down; longer "
        "breaks also help performance)",
    ),
}


def breathing_suggestion(resonance_bpm: float | None = None) -> Suggestion:
    """The breathing reset's suggestion, naming the person's resonance rate when it is known.

    Parameters
    ----------
    resonance_bpm : float, optional
        The rate the break's pacer will pace at: the practice rate of the person's assessed
        resonance rate (breaths/min; ``breathing.engine.practice_rate_bpm``: within
        4.5-7/min). ``None`` (not assessed): the generic "about 6 breaths a minute" of
        :data:`SUGGESTIONS`, the pacer's default.

    Returns
    -------
    Suggestion
        The same kind, duration and reference as ``SUGGESTIONS[BreakKind.BREATHING]``.

    Raises
    ------
    BreathingError
        ``resonance_bpm`` is not a finite rate the pacer paces (1-30/min).
    """
    generic = SUGGESTIONS[BreakKind.BREATHING]
    if resonance_bpm is None:
        return generic
    if not (math.isfinite(resonance_bpm) and MIN_RATE_BPM <= resonance_bpm <= MAX_RATE_BPM):
        raise BreathingError(
            f"microbreak: resonance_bpm must be within {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g}, got "
            f"{resonance_bpm!r}"
        )
    text = (
        "Take a 2-minute breathing reset: breathe slowly with the pacer at your practice "
        f"rate from your resonance assessment, {resonance_bpm:.1f} breaths a minute, longer "
        "out than in."
    )
    return Suggestion(generic.kind, generic.duration_s, text, generic.reference)


@dataclass(frozen=True, slots=True)
class MicroBreakDue:
    """A micro-break is due (the flag), at ``t_s`` (session time, s)."""

    t_s: float
    reason: Reason
    suggestion: Suggestion
    ln_rmssd: float | None
    ln_rmssd_z: float | None
    hr_bpm: float | None
    hr_z: float | None
    stress_fraction: float
    stress_load_min: float
    time_on_task_s: float
    baseline: Baseline
    type: Literal["micro_break"] = "micro_break"


@dataclass(frozen=True, slots=True)
class FlagAcknowledged:
    """The user saw the flag raised at ``flag_t_s``."""

    t_s: float
    flag_t_s: float | None
    type: Literal["micro_break_acknowledged"] = "micro_break_acknowledged"


@dataclass(frozen=True, slots=True)
class Snoozed:
    """No flag until ``until_s``."""

    t_s: float
    until_s: float
    type: Literal["micro_break_snoozed"] = "micro_break_snoozed"


@dataclass(frozen=True, slots=True)
class BreakStarted:
    """A break began (after a flag, ``reason`` is that flag's; else ``None``)."""

    t_s: float
    kind: BreakKind
    reason: ReasonCode | None
    type: Literal["break_started"] = "break_started"


@dataclass(frozen=True, slots=True)
class BreakEnded:
    """A break ended; its :class:`BreakEffect` follows once the "after" period has passed."""

    t_s: float
    start_t_s: float
    kind: BreakKind
    type: Literal["break_ended"] = "break_ended"


@dataclass(frozen=True, slots=True)
class BreakEffect:
    """What a break did: RMSSD and HR before (T0), during and after (T1) it.

    Each figure is the median over the valid 60-s windows of that period (``None`` when there
    was none): before = windows ending in the ``effect_before_s`` before the start; during =
    windows ending inside the break (those after its first minute when the break is longer
    than a window, so they hold only break beats); after = windows ending from one window
    length after the end, for ``effect_after_s``. ``rmssd_change_pct`` is after vs before.
    Windows overlapping paced breathing are not "before" windows (paced breathing is not the
    rest a break is compared with): ``n_windows_before_paced`` counts those left out, and the
    "before" figures are ``None`` when no other window was there. Symmetrically, windows in
    which pacing ran after the break ended (a practice or an assessment started right after
    it) are not "after" windows (``n_windows_after_paced``; the "after" figures ``None`` when
    no other window was there); a breathing break's own pacing is its "during".
    """

    t_s: float
    start_t_s: float
    end_t_s: float
    kind: BreakKind
    reason: ReasonCode | None
    rmssd_before_ms: float | None
    rmssd_during_ms: float | None
    rmssd_after_ms: float | None
    hr_before_bpm: float | None
    hr_during_bpm: float | None
    hr_after_bpm: float | None
    rmssd_change_pct: float | None
    n_windows_before: int
    n_windows_during: int
    n_windows_after: int
    n_windows_before_paced: int = 0
    n_windows_after_paced: int = 0
    type: Literal["break_effect"] = "break_effect"


MicroBreakEvent = (
    MicroBreakDue | FlagAcknowledged | Snoozed | BreakStarted | BreakEnded | BreakEffect
)


@dataclass(frozen=True, slots=True)
class MicroBreakStatus:
    """The monitor's state at ``t_s`` (for a status endpoint or a display)."""

    t_s: float
    baseline: Baseline
    baseline_personal: bool
    valid: bool
    invalid_reason: str
    ln_rmssd_z: float | None
    hr_z: float | None
    stressed: bool
    activity: bool
    paced: bool
    stress_fraction: float
    stress_load_min: float
    time_on_task_s: float
    in_break: bool
    break_kind: BreakKind | None
    snoozed_until_s: float | None
    next_flag_allowed_s: float
    last_flag: MicroBreakDue | None
    breaks: tuple[BreakEffect, ...]
