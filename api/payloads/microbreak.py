"""Micro-break flags, actions, breaks and their effects (``breathing.microbreak``).

Also the monitor's status, its personal baseline and its settings.

A flag is raised on sustained low lnRMSSD with raised heart rate against the person's own
baseline (Plews et al. 2012; Kim et al. 2018), on accumulated stress load, or on time on task;
its ``reason`` carries a plain ``summary`` for the person and the numbers in ``details``. A
break's effect compares median RMSSD and HR of the 60-s windows before, during and after it.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field

import breathing
from api.payloads._base import Finite, OptFloat, Payload, register, to_model

__all__ = [
    "AnyMicroBreakEvent",
    "Baseline",
    "BreakBanner",
    "BreakEffect",
    "BreakEnded",
    "BreakKindName",
    "BreakStarted",
    "FlagAcknowledged",
    "MicroBreakDue",
    "MicroBreakEvent",
    "MicroBreakSettings",
    "MicroBreakStatus",
    "Reason",
    "Snoozed",
    "Suggestion",
    "micro_break_event",
]

#: A kind of break by name, as a request names it and a response says it: the values of
#: :class:`breathing.BreakKind` (a test holds the two together).
BreakKindName = Literal["breathing", "screen", "walk"]

#: What a page's micro-break banner shows for a running session, from the monitor's state in
#: memory: ``due`` (the latest event is a flag, neither acknowledged nor snoozed), ``break`` (a
#: break runs), ``measuring`` (a break ended, its effect not yet measured or told), ``none``.
BreakBanner = Literal["none", "due", "break", "measuring"]


@register(breathing.Baseline)
class Baseline(Payload):
    """A person's resting lnRMSSD and heart rate: mean, SD and the data behind them."""

    ln_rmssd_mean: Finite = Field(description="Mean lnRMSSD (ln of RMSSD in ms), calm windows.")
    ln_rmssd_sd: Finite = Field(description="SD of lnRMSSD.")
    hr_mean_bpm: Finite = Field(description="Mean heart rate of the same windows, beats/min.")
    hr_sd_bpm: Finite = Field(description="SD of that heart rate, beats/min.")
    weight_s: Finite = Field(description="Effective seconds of data behind it, prior included.")
    personal_s: Finite = Field(
        default=0.0, description="Seconds of the person's own calm signal learned so far."
    )


@register(breathing.Reason)
class Reason(Payload):
    """Why a break is due: a code, one plain sentence, and the numbers."""

    code: breathing.ReasonCode = Field(description="The rule that fired (stable).")
    summary: str = Field(
        # flags stored before issue 15 carry their one sentence as ``text``
        validation_alias=AliasChoices("summary", "text"),
        description="One plain sentence for the person (no statistics or metric names).",
    )
    details: str = Field(
        default="",
        description="The same reason with the numbers (RMSSD, HR, distance from baseline); "
        "'' in flags stored by an older version, which kept one sentence only.",
    )


@register(breathing.Suggestion)
class Suggestion(Payload):
    """What to do: the kind of break, how long, in words, and the evidence behind it."""

    kind: breathing.BreakKind = Field(description="breathing, screen or walk.")
    duration_s: Finite = Field(description="Suggested duration, s.")
    text: str = Field(description="The suggestion in words.")
    reference: str = Field(description="The evidence behind it.")


@register(breathing.MicroBreakDue)
class MicroBreakDue(Payload):
    """A micro-break is due (the flag)."""

    t_s: Finite = Field(description="Session time of the flag, s.")
    reason: Reason = Field(description="Why: code, plain summary, details.")
    suggestion: Suggestion = Field(description="What to do.")
    ln_rmssd: OptFloat = Field(description="lnRMSSD of the window (ln of RMSSD in ms).")
    ln_rmssd_z: OptFloat = Field(description="lnRMSSD z score against the baseline.")
    hr_bpm: OptFloat = Field(description="Mean heart rate of the window, beats/min.")
    hr_z: OptFloat = Field(description="Heart-rate z score against the baseline.")
    stress_fraction: Finite = Field(
        description="Share of the sustain period's windows that were stress windows, 0..1."
    )
    stress_load_min: Finite = Field(description="Accumulated stress load, minutes.")
    time_on_task_s: Finite = Field(description="Time since the last break, s.")
    baseline: Baseline = Field(description="The baseline the z scores are against.")
    type: Literal["micro_break"] = Field(default="micro_break", description="The event's kind.")


@register(breathing.FlagAcknowledged)
class FlagAcknowledged(Payload):
    """The person saw the flag."""

    t_s: Finite = Field(description="Session time, s.")
    flag_t_s: OptFloat = Field(description="Session time of the flag acknowledged, s.")
    type: Literal["micro_break_acknowledged"] = Field(
        default="micro_break_acknowledged", description="The event's kind."
    )


@register(breathing.Snoozed)
class Snoozed(Payload):
    """No flag until ``until_s``."""

    t_s: Finite = Field(description="Session time, s.")
    until_s: Finite = Field(description="Session time the snooze ends, s.")
    type: Literal["micro_break_snoozed"] = Field(
        default="micro_break_snoozed", description="The event's kind."
    )


@register(breathing.BreakStarted)
class BreakStarted(Payload):
    """A break began (after a flag, ``reason`` is that flag's code; else null)."""

    t_s: Finite = Field(description="Session time, s.")
    kind: breathing.BreakKind = Field(description="breathing, screen or walk.")
    reason: breathing.ReasonCode | None = Field(description="The flag's reason code, if any.")
    type: Literal["break_started"] = Field(default="break_started", description="The event's kind.")


@register(breathing.BreakEnded)
class BreakEnded(Payload):
    """A break ended; its effect follows once the 'after' period has passed."""

    t_s: Finite = Field(description="Session time, s.")
    start_t_s: Finite = Field(description="Session time the break started, s.")
    kind: breathing.BreakKind = Field(description="breathing, screen or walk.")
    type: Literal["break_ended"] = Field(default="break_ended", description="The event's kind.")


@register(breathing.BreakEffect)
class BreakEffect(Payload):
    """What a break did: median RMSSD and HR before, during and after it.

    Medians of the valid 60-s windows of each period (null when a period had none).
    """

    t_s: Finite = Field(description="Session time the effect was measured, s.")
    start_t_s: Finite = Field(description="Session time the break started, s.")
    end_t_s: Finite = Field(description="Session time the break ended, s.")
    kind: breathing.BreakKind = Field(description="breathing, screen or walk.")
    reason: breathing.ReasonCode | None = Field(description="The flag's reason code, if any.")
    rmssd_before_ms: OptFloat = Field(description="RMSSD before the break (T0), ms.")
    rmssd_during_ms: OptFloat = Field(description="RMSSD during the break, ms.")
    rmssd_after_ms: OptFloat = Field(description="RMSSD after the break (T1), ms.")
    hr_before_bpm: OptFloat = Field(description="Heart rate before, beats/min.")
    hr_during_bpm: OptFloat = Field(description="Heart rate during, beats/min.")
    hr_after_bpm: OptFloat = Field(description="Heart rate after, beats/min.")
    rmssd_change_pct: OptFloat = Field(description="RMSSD after vs before, %.")
    n_windows_before: int = Field(description="Windows behind the 'before' figures.")
    n_windows_during: int = Field(description="Windows behind the 'during' figures.")
    n_windows_after: int = Field(description="Windows behind the 'after' figures.")
    n_windows_before_paced: int = Field(
        default=0,
        description="Windows of the 'before' period left out because their beats overlap "
        "paced breathing (a practice, an assessment, an earlier breathing break): paced "
        "breathing is not the rest a break is compared with. With no other 'before' window, "
        "the 'before' figures and rmssd_change_pct are null.",
    )
    n_windows_after_paced: int = Field(
        default=0,
        description="Windows of the 'after' period left out because pacing ran in them after "
        "the break ended (a practice or an assessment started right after it): the break is "
        "not credited with the pacing's RMSSD. A breathing break's own pacing is its 'during'. "
        "With no other 'after' window, the 'after' figures and rmssd_change_pct are null.",
    )
    type: Literal["break_effect"] = Field(default="break_effect", description="The event's kind.")


AnyMicroBreakEvent = (
    MicroBreakDue | FlagAcknowledged | Snoozed | BreakStarted | BreakEnded | BreakEffect
)
#: A micro-break event (``breathing.MicroBreakEvent``), told apart by ``type``.
MicroBreakEvent = Annotated[AnyMicroBreakEvent, Field(discriminator="type")]


def micro_break_event(obj: Any) -> AnyMicroBreakEvent:
    """The payload of one ``breathing.MicroBreakEvent``.

    Raises
    ------
    TypeError
        ``obj`` is not a micro-break event.
    """
    model = to_model(obj)
    if not isinstance(
        model, (MicroBreakDue, FlagAcknowledged, Snoozed, BreakStarted, BreakEnded, BreakEffect)
    ):
        raise TypeError(f"not a micro-break event: {type(obj).__qualname__}")
    return model


@register(breathing.MicroBreakStatus)
class MicroBreakStatus(Payload):
    """The micro-break monitor's state at ``t_s``."""

    t_s: Finite = Field(description="Session time, s.")
    baseline: Baseline = Field(description="The person's baseline now.")
    baseline_personal: bool = Field(
        description="The baseline has learned enough of the person (past the warm-up)."
    )
    valid: bool = Field(description="The latest window was usable.")
    invalid_reason: str = Field(description="Why not ('' when valid).")
    ln_rmssd_z: OptFloat = Field(description="lnRMSSD z score of the latest window.")
    hr_z: OptFloat = Field(description="Heart-rate z score of the latest window.")
    stressed: bool = Field(description="The latest window was a stress window.")
    activity: bool = Field(description="The latest window was taken as physical activity.")
    paced: bool = Field(
        description="The latest window overlaps paced breathing (a practice, an assessment, a "
        "breathing break): not learned into the baseline, never a stress window, no flag."
    )
    stress_fraction: Finite = Field(description="Share of recent stress windows, 0..1.")
    stress_load_min: Finite = Field(description="Accumulated stress load, minutes.")
    time_on_task_s: Finite = Field(description="Time since the last break, s.")
    in_break: bool = Field(description="A break is running.")
    break_kind: breathing.BreakKind | None = Field(description="Kind of the running break.")
    snoozed_until_s: OptFloat = Field(description="Snoozed until this session time, s.")
    next_flag_allowed_s: OptFloat = Field(
        description="No flag before this session time, s (null: no cooldown running yet)."
    )
    last_flag: MicroBreakDue | None = Field(description="The latest flag (null: none yet).")
    breaks: list[BreakEffect] = Field(description="Effects of this session's breaks.")


def _times_to_text(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [
            [t.isoformat(timespec="minutes") if isinstance(t, datetime.time) else t for t in pair]
            if isinstance(pair, list | tuple)
            else pair
            for pair in value
        ]
    return value


QuietHours = Annotated[list[tuple[str, str]], BeforeValidator(_times_to_text)]


@register(breathing.MicroBreakSettings)
class MicroBreakSettings(Payload):
    """The micro-break monitor's thresholds (``breathing.MicroBreakSettings``).

    That class's docstring gives each default's reasoning and sources. Times are seconds of
    session time.
    """

    min_quality: Finite = Field(description="Least share of clean beats for a window, 0..1.")
    min_beats: int = Field(description="Least beats in a 60-s window.")
    ln_rmssd_z: Finite = Field(description="A stress window has lnRMSSD z <= this.")
    hr_z: Finite = Field(description="... and heart-rate z >= this.")
    min_ln_rmssd_sd: Finite = Field(description="Floor on the baseline's lnRMSSD SD.")
    min_hr_sd_bpm: Finite = Field(description="Floor on the baseline's HR SD, beats/min.")
    sustain_s: Finite = Field(description="Period stress windows must cover, s.")
    sustain_fraction: Finite = Field(description="Share of sustain_s they must cover, 0..1.")
    activity_hr_bpm: Finite = Field(
        description="HR this far above baseline is physical activity, beats/min."
    )
    activity_recovery_s: Finite = Field(description="Windows this soon after activity skip, s.")
    motion_activity_mg: Finite = Field(
        description="Movement from this level is physical activity, milli-g (ENMO)."
    )
    load_tau_s: Finite = Field(description="Decay time constant of the stress load, s.")
    load_flag_min: Finite = Field(description="A stress load of this many minutes flags.")
    high_load_min: Finite = Field(description="From this load (min) a walk is suggested.")
    time_on_task_s: Finite = Field(description="Time without a break that flags, s.")
    time_on_task_repeat_s: Finite = Field(description="Repeat of a time-on-task flag, s.")
    away_s: Finite = Field(description="No window this long counts as a break, s.")
    cooldown_s: Finite = Field(description="No flag this soon after a flag or break, s.")
    repeat_s: Finite = Field(description="A second stress flag this soon suggests a walk, s.")
    quiet_hours: QuietHours = Field(
        description='Local times [start, end) without flags, "HH:MM" pairs (may wrap midnight).'
    )
    warmup_s: Finite = Field(description="Valid signal the baseline needs before flags, s.")
    prior_weight_s: Finite = Field(description="Weight of the population default, s of data.")
    memory_s: Finite = Field(description="Forgetting horizon of the baseline, s.")
    window_s: Finite = Field(description="Window length, s.")
    step_s: Finite = Field(description="Window step, s.")
    effect_before_s: Finite = Field(description="Period before a break (T0), s.")
    effect_after_s: Finite = Field(description="Period after a break (T1), s.")
