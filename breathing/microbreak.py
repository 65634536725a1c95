"""Micro-break flags: when a short break is due, why, what to do, and what it did.

:class:`MicroBreakMonitor` is a pure step machine over the live 60-s HRV windows (the service
and ``hrvpace replay`` drive the same object)::

    tracker = SignalTracker()                 # beat-level signal quality
    monitor = MicroBreakMonitor(baseline=stored_or_None)
    for each beat:    tracker.on_beat(beat.t_s, beat.rr_ms, gap_before=..., contact=...)
    for each window:  sig = tracker.window(w.t_s)
                      events = monitor.on_window(w, t_s=sig.t_s, contact=sig.contact,
                                                 quality=sig.quality, local_time=...)
    user actions:     monitor.start_break(t_s, kind) / end_break(t_s) / acknowledge(t_s)
                      / snooze(t_s, minutes)
    persist:          monitor.baseline.to_dict()

Nothing here reads a clock: session time (``t_s``) and the local time of day (for quiet hours)
are passed in.

The rule (every threshold is a field of :class:`MicroBreakSettings`)
-------------------------------------------------------------------
1. **Valid windows only.** A window counts only with skin contact (or a strap that does not
   report it), signal quality >= 0.9 (share of expected beats that are clean, gaps count as
   missing beats) and enough beats. An invalid window is neither stressed nor calm: it never
   adds to a flag and is never learned.
2. **Personal baseline** (:class:`breathing.Baseline`): lnRMSSD and HR, mean and SD, learned
   from calm valid windows (not stressed, not active, not during a break), starting from a
   population default. Until ``warmup_s`` of valid signal has ever been learned every valid
   window that is not physical activity is learned and no stress flag is raised (the default
   alone would flag anybody whose resting HR is simply above the population mean).
3. **Stress window**: lnRMSSD z <= -1 *and* HR z >= +0.5 against the baseline. Stress lowers
   vagally mediated HRV and raises heart rate together (Kim et al. 2018; Castaldo et al.
   2015); requiring both excludes a slow-breathing stretch (HRV up) and a posture change alone.
4. **Physical activity is not stress**: a window with HR more than 25 bpm above baseline is
   activity; it, and the ``activity_recovery_s`` (5 min) after the last such window, are
   excluded, and stress windows just before it (the ramp-up) are struck off. When the strap's
   accelerometer gives the window's movement (``motion_mg``), movement above
   ``motion_activity_mg`` is activity too (standing up, walking); without it, HR and RMSSD
   alone cannot tell those from stress, and a stress flag says so.
5. **Sustained**: a stress flag needs stress windows covering >= 70 % of the last 3 minutes.
6. **Stress load** accumulates: + the window's time (minutes) for each stress window,
   exponential decay (tau 10 min) for each calm valid window; a load of 6 minutes also flags
   (intermittent stress that never reaches 70 % of 3 minutes).
7. **Time on task**: 90 minutes without a break (or without an absence of 10 minutes, when no
   window arrives) flags regardless of physiology; unheeded, it is repeated every 30 minutes.
8. **Cooldown and quiet hours**: no flag within 20 minutes of the previous flag or of the end
   of a break, while snoozed, during a break, or in quiet hours (local times passed in).

**No validated threshold exists in the literature** for deciding from wearable HRV that a
micro-break is due: these values are reasoned defaults (documented on each field) to be tuned
per person and per study, not clinical cut-offs.

Suggestions
-----------
* sustained stress, first time: a 2-minute resonance-breathing reset (slow paced breathing
  near 6/min; Lehrer et al. 2020 meta-analysis of HRV biofeedback, Zaccaro et al. 2018);
* stress again within an hour, or a high load: a short walk (5 minutes of light activity);
* time on task: a 10-minute screen break (Albulescu et al. 2022: micro-breaks of up to 10
  minutes raise vigour and lower fatigue; longer breaks also help performance).

References
----------
Albulescu, P., Macsinga, I., Rusu, A., Sulea, C., Bodnaru, A., & Tulbure, B. T. (2022). "Give
me a break!" A systematic review and meta-analysis on the efficacy of micro-breaks for
increasing well-being and performance. PLoS ONE, 17(8), e0272460.
Lehrer, P., Kaur, K., Sharma, A., Shah, K., Huseby, R., Bhavsar, J., & Zhang, Y. (2020). Heart
rate variability biofeedback improves emotional and physical health and performance: a
systematic review and meta analysis. Applied Psychophysiology and Biofeedback, 45(3), 109-129.
Kim, H.-G., Cheon, E.-J., Bai, D.-S., Lee, Y. H., & Koo, B.-H. (2018). Stress and heart rate
variability: a meta-analysis and review of the literature. Psychiatry Investigation, 15(3),
235-245.
Castaldo, R., Melillo, P., Bracale, U., Caserta, M., Triassi, M., & Pecchia, L. (2015). Acute
mental stress assessment via short term HRV analysis in healthy adults: a systematic review
with meta-analysis. Biomedical Signal Processing and Control, 18, 370-377.
van Hees, V. T., et al. (2013). Separating movement and gravity components in an acceleration
signal and implications for the assessment of human daily physical activity. PLoS ONE, 8(4),
e61691 (ENMO: Euclidean norm minus one g).
Zaccaro, A., et al. (2018). How breath-control can change your life: a systematic review on
psycho-physiological correlates of slow breathing. Frontiers in Human Neuroscience, 12, 353.
Nunan, D., Sandercock, G. R. H., & Brodie, D. A. (2010). Pacing and Clinical
Electrophysiology, 33(11), 1407-1417 (population default of the baseline).
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from dataclasses import dataclass, fields
from datetime import time
from enum import StrEnum
from typing import Any, Literal

from breathing.baseline import Baseline
from breathing.engine import ArtefactFilter
from breathing.errors import BreathingError
from hrv.time_domain import TimeDomain, time_domain

__all__ = [
    "BreakEffect",
    "BreakEnded",
    "BreakKind",
    "BreakStarted",
    "FlagAcknowledged",
    "MicroBreakDue",
    "MicroBreakEvent",
    "MicroBreakMonitor",
    "MicroBreakSettings",
    "MicroBreakStatus",
    "Reason",
    "ReasonCode",
    "SignalTracker",
    "Snoozed",
    "Suggestion",
    "WindowSignal",
]

#: Beats whose median RR sets the typical interval used to count the beats lost in a gap.
_TYPICAL_RR_BEATS = 9


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
class MicroBreakSettings:
    """Tunable thresholds of the micro-break monitor (all times in seconds of session time).

    No validated threshold exists in the literature for flagging a micro-break from wearable
    HRV: every default below is a reasoned starting point, to be tuned per person and per study.

    Attributes
    ----------
    min_quality : float
        Least share of expected beats that are clean for a window to count (0.9). Below it the
        window's RMSSD is dominated by artefacts (one ectopic beat can double RMSSD).
    min_beats : int
        Least beats in a 60-s window (30): fewer means dropouts or a strap off.
    ln_rmssd_z : float
        A stress window has lnRMSSD z <= this (-1.0): about one day-to-day SD below baseline,
        roughly the "smallest worthwhile change" of lnRMSSD monitoring (Plews et al. 2012).
    hr_z : float
        ... together with HR z >= this (+0.5): HR rises under mental stress (Kim et al. 2018),
        but less than HRV falls, so the bar is lower.
    min_ln_rmssd_sd, min_hr_sd_bpm : float
        Floors on the baseline SDs used for z (0.15 and 2.0 bpm), so a very steady baseline does
        not turn small changes into large z.
    sustain_s, sustain_fraction : float
        Stress windows must cover ``sustain_fraction`` (0.7) of the last ``sustain_s`` (180 s):
        minutes, not a moment (a sigh, a phone call); invalid windows count as not stressed.
    activity_hr_bpm : float
        HR more than this above baseline (25 bpm) is taken as physical activity, not stress:
        mental stress typically raises HR by 5-20 bpm, walking or stairs by more. A z-score
        rule (z > 3) is deliberately not used: with a personal HR SD of 3-5 bpm it would call
        a +10-15 bpm stress response "activity" and hide it.
    activity_recovery_s : float
        Windows within this time (300 s) after the last activity window are excluded: low HRV
        and raised HR after exercise are recovery, not stress.
    motion_activity_mg : float
        When the window's movement level is known (``on_window(motion_mg=...)``: the largest
        5-s mean ENMO of the window from the strap's accelerometer, :mod:`sensors.motion`), a
        level of this many milli-g (40) or more makes the window physical activity whatever
        the heart rate: standing up, walking, climbing stairs. Sitting still stays under about
        10 mg, walking is about 100 mg and more (van Hees et al. 2013): the value is a reasoned
        default between them, not a validated cut-off. Without motion data, a posture change
        or a stroll lowers RMSSD and raises HR much as stress does, and HR and RMSSD alone
        cannot tell them apart: the flag's explanation says so.
    load_tau_s : float
        Time constant (600 s) of the stress load's decay during calm valid windows.
    load_flag_min : float
        A stress load of this many minutes (6) flags even if not sustained (intermittent).
    high_load_min : float
        From this load (10 min) the suggestion is a walk rather than a breathing reset.
    time_on_task_s : float
        Time without a break that flags regardless of physiology (5400 s = 90 min; ultradian
        work-rest cycles and office guidance of a break every 60-90 minutes).
    time_on_task_repeat_s : float
        A time-on-task flag that was not followed by a break is repeated after this long
        (1800 s), not at every cooldown: a reminder, not nagging.
    away_s : float
        No window for this long (600 s) counts as a break taken (strap off, person away).
    cooldown_s : float
        No flag within this time (1200 s = 20 min) of the previous flag or of a break's end.
    repeat_s : float
        A stress flag within this time (3600 s) of a previous stress flag suggests a walk.
    quiet_hours : tuple of (datetime.time, datetime.time)
        Local time intervals ``[start, end)`` without flags (may wrap midnight); the local time
        is passed to :meth:`MicroBreakMonitor.on_window`, never read. Default 22:00-07:00.
    warmup_s : float
        Valid signal (240 s) the person's baseline needs before stress flags are raised.
    prior_weight_s : float
        Weight of the population default in the baseline (300 s of data).
    memory_s : float
        Forgetting horizon of the baseline (28,800 s = 8 h of calm signal).
    effect_before_s, effect_after_s : float
        Windows ending in the ``effect_before_s`` (120 s) before a break are its "before" (T0);
        those ending from one window length after its end, for ``effect_after_s`` (120 s), are
        its "after" (T1): their 60 s no longer overlap the break.
    """

    min_quality: float = 0.9
    min_beats: int = 30
    ln_rmssd_z: float = -1.0
    hr_z: float = 0.5
    min_ln_rmssd_sd: float = 0.15
    min_hr_sd_bpm: float = 2.0
    sustain_s: float = 180.0
    sustain_fraction: float = 0.7
    activity_hr_bpm: float = 25.0
    activity_recovery_s: float = 600.0
    motion_activity_mg: float = 40.0
    load_tau_s: float = 600.0
    load_flag_min: float = 6.0
    high_load_min: float = 10.0
    time_on_task_s: float = 5400.0
    time_on_task_repeat_s: float = 1800.0
    away_s: float = 600.0
    cooldown_s: float = 1200.0
    repeat_s: float = 3600.0
    quiet_hours: tuple[tuple[time, time], ...] = ((time(22, 0), time(7, 0)),)
    warmup_s: float = 240.0
    prior_weight_s: float = 300.0
    memory_s: float = 28_800.0
    window_s: float = 60.0
    step_s: float = 10.0
    effect_before_s: float = 120.0
    effect_after_s: float = 120.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "quiet_hours":
                for pair in v:
                    if not (
                        isinstance(pair, tuple)
                        and len(pair) == 2
                        and all(isinstance(x, time) for x in pair)
                    ):
                        raise BreathingError(
                            f"micro-break settings: quiet_hours must be (start, end) pairs of "
                            f"datetime.time, got {pair!r}"
                        )
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise BreathingError(f"micro-break settings: {f.name} must be finite, got {v!r}")
        positive = [
            "min_beats",
            "sustain_s",
            "activity_hr_bpm",
            "motion_activity_mg",
            "load_tau_s",
            "load_flag_min",
            "high_load_min",
            "time_on_task_s",
            "time_on_task_repeat_s",
            "away_s",
            "prior_weight_s",
            "memory_s",
            "window_s",
            "step_s",
            "effect_before_s",
            "effect_after_s",
            "min_ln_rmssd_sd",
            "min_hr_sd_bpm",
        ]
        for name in positive:
            if getattr(self, name) <= 0:
                raise BreathingError(
                    f"micro-break settings: {name} must be > 0, got {getattr(self, name)}"
                )
        for name in ("activity_recovery_s", "cooldown_s", "repeat_s", "warmup_s"):
            if getattr(self, name) < 0:
                raise BreathingError(
                    f"micro-break settings: {name} must be >= 0, got {getattr(self, name)}"
                )
        if not 0.0 <= self.min_quality <= 1.0:
            raise BreathingError(
                f"micro-break settings: min_quality must be in [0, 1], got {self.min_quality}"
            )
        if not 0.0 < self.sustain_fraction <= 1.0:
            raise BreathingError(
                "micro-break settings: sustain_fraction must be in (0, 1], got "
                f"{self.sustain_fraction}"
            )
        if self.ln_rmssd_z >= 0 or self.hr_z < 0:
            raise BreathingError(
                "micro-break settings: ln_rmssd_z must be < 0 and hr_z >= 0, got "
                f"{self.ln_rmssd_z} and {self.hr_z}"
            )
        if self.memory_s <= self.step_s:
            raise BreathingError("micro-break settings: memory_s must exceed step_s")


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
_SUMMARY_STRESS = (
    "Your heart rate has been higher and steadier than usual for you for the last few minutes, "
    "a pattern that often comes with stress."
)
_SUMMARY_STRESS_LOAD = (
    "Your heart has shown a stress pattern again and again recently, about {minutes} minutes "
    "in all. A short break helps you recover before it builds up further."
)
_SUMMARY_TIME_ON_TASK = (
    "You have been working for {minutes} minutes without a break. A short pause away from the "
    "screen helps you stay fresh."
)

_SUGGESTIONS: dict[BreakKind, Suggestion] = {
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
    stress_fraction: float
    stress_load_min: float
    time_on_task_s: float
    in_break: bool
    break_kind: BreakKind | None
    snoozed_until_s: float | None
    next_flag_allowed_s: float
    last_flag: MicroBreakDue | None
    breaks: tuple[BreakEffect, ...]


@dataclass(frozen=True, slots=True)
class WindowSignal:
    """Signal quality of one window's beats (from :class:`SignalTracker`).

    ``t_s`` is the window's end on the source's timeline (seconds since the stream began, gaps
    included); ``quality`` the share of expected beats that are clean; ``contact`` False when
    more than 10 % of the window's beats had no skin contact, None when the strap never said.
    ``clean`` is :func:`hrv.time_domain` of the window's clean beats only (a removed beat
    breaks the chain of successive differences, as a gap does): one ectopic beat can multiply
    a 60-s RMSSD several times, so the monitor should be given ``clean``, not the raw window.
    """

    t_s: float
    quality: float
    contact: bool | None
    n_beats: int
    n_gaps: int
    clean: TimeDomain


@dataclass(slots=True)
class _Beat:
    t_an: float  # time on the analyser's timeline (running sum of RR)
    rr_ms: float
    t_src: float  # time on the source's timeline
    valid: bool
    missing: float  # beats estimated missing before this one (gap)
    no_contact: bool
    contact_known: bool


#: How far before the newest beat a window may still end (s); older beats are released.
_KEEP_MARGIN_S = 30.0


class SignalTracker:
    """Beat-level signal quality for the windows of a :class:`hrv.StreamingAnalyser`.

    Beats are judged by the pacing engine's causal rule (:class:`breathing.ArtefactFilter`): a
    beat is clean when the strap does not report lost contact, its RR is within 300-2000 ms and
    within 20 % of the last accepted RR (Malik et al. 1989). Beats missing in a gap are counted
    from the source time they skip (``t_s - previous t_s - rr``, at least one beat, in units of
    the median of the last 9 RR).

    The tracker keeps the analyser's timeline (the running sum of the RR it was given) next to
    the source's ``t_s``, so :meth:`window` selects exactly the beats of the analyser's window
    ending at ``t_end`` and reports that end on the source's timeline.

    Parameters
    ----------
    window_s : float
        Window length (s); the analyser's (60 s).
    nn_timeline : bool
        The analyser is given only the beats this tracker's filter accepts (NN intervals, as
        the live service does): the analyser's timeline is then the running sum of the
        accepted RR, and a rejected beat sits at the time of the accepted beat before it.
        Default False: the analyser gets every beat.
    """

    def __init__(self, *, window_s: float = 60.0, nn_timeline: bool = False) -> None:
        if not (math.isfinite(window_s) and window_s > 0):
            raise BreathingError(f"signal tracker: window_s must be > 0, got {window_s!r}")
        self.window_s = float(window_s)
        self.nn_timeline = bool(nn_timeline)
        self._beats: list[_Beat] = []
        self._t_an: list[float] = []
        self._sum_ms = 0.0
        self._recent: deque[float] = deque(maxlen=_TYPICAL_RR_BEATS)
        self._filter = ArtefactFilter()

    def on_beat(
        self,
        t_s: float,
        rr_ms: float,
        *,
        gap_before: bool = False,
        contact: bool | None = None,
    ) -> None:
        """Record one beat (the same beats, in the same order, as the analyser gets).

        Raises
        ------
        BreathingError
            ``t_s`` or ``rr_ms`` not finite, ``rr_ms`` <= 0.
        """
        if not (math.isfinite(t_s) and math.isfinite(rr_ms) and rr_ms > 0):
            raise BreathingError(f"signal tracker: bad beat t_s={t_s!r}, rr_ms={rr_ms!r}")
        valid = self._filter.accept(rr_ms, contact=contact, gap_before=gap_before)
        missing = 0.0
        if gap_before and self._beats:
            skipped_s = t_s - self._beats[-1].t_src - rr_ms / 1000.0
            typical_ms = statistics.median(self._recent) if self._recent else rr_ms
            missing = max(1.0, skipped_s * 1000.0 / typical_ms)
        if gap_before:
            self._recent.clear()
        self._recent.append(rr_ms)
        if valid or not self.nn_timeline:
            self._sum_ms += rr_ms
        t_an = self._sum_ms / 1000.0
        prev_t_an = self._t_an[-1] if self._t_an else t_an
        self._beats.append(
            _Beat(
                t_an,
                float(rr_ms),
                float(t_s),
                valid,
                missing,
                contact is False,
                contact is not None,
            )
        )
        self._t_an.append(t_an)
        # keep only what a window :meth:`window` may still be asked for can hold (one ending at
        # or after the previous beat, or at most _KEEP_MARGIN_S before this one); trim in
        # chunks of about a window (at 500 sessions, thousands of kept beats each load the GC)
        oldest_needed = min(t_an - _KEEP_MARGIN_S, prev_t_an) - self.window_s
        if self._t_an[0] <= oldest_needed - self.window_s:
            self._trim(oldest_needed)

    def _trim(self, before: float) -> None:
        i = bisect.bisect_right(self._t_an, before)
        del self._beats[:i]
        del self._t_an[:i]

    def window(self, t_end_s: float) -> WindowSignal:
        """Quality of the beats with ``t_end_s - window_s < t <= t_end_s`` (analyser time).

        Parameters
        ----------
        t_end_s : float
            The window's end as the analyser reports it (``WindowMetrics.t_s``): at or after the
            previous beat's analyser time, or at most 30 s before the newest beat's (older
            beats are released).

        Returns
        -------
        WindowSignal
            Quality, contact and counts; ``t_s`` mapped to the source's timeline.
        """
        lo = bisect.bisect_right(self._t_an, t_end_s - self.window_s)
        hi = bisect.bisect_right(self._t_an, t_end_s)
        beats = self._beats[lo:hi]
        if not beats:
            return WindowSignal(float(t_end_s), 0.0, None, 0, 0, time_domain([]))
        n = len(beats)
        n_valid = sum(b.valid for b in beats[1:] if not b.missing) + (
            beats[0].valid and not beats[0].missing
        )
        missing = sum(b.missing for b in beats)
        n_gaps = sum(1 for b in beats if b.missing)
        quality = n_valid / (n + missing)
        no_contact = sum(b.no_contact for b in beats)
        known = any(b.contact_known for b in beats)
        contact = None if not known else no_contact <= 0.1 * n
        rr: list[float] = []
        gaps: list[bool] = []
        dropped = False
        for b in beats:
            if b.valid:
                rr.append(b.rr_ms)
                gaps.append(dropped or b.missing > 0)
                dropped = False
            else:
                dropped = True
        last = beats[-1]
        if self.nn_timeline:  # map through the last accepted beat: a rejected one adds no time
            last = next((b for b in reversed(beats) if b.valid), last)
        return WindowSignal(
            t_s=last.t_src + (t_end_s - last.t_an),
            quality=float(quality),
            contact=contact,
            n_beats=n,
            n_gaps=n_gaps,
            clean=time_domain(rr, gaps=gaps if rr else None),
        )


@dataclass(slots=True)
class _Recent:
    t_s: float
    weight_s: float
    stressed: bool


@dataclass(slots=True)
class _Break:
    start_t_s: float
    kind: BreakKind
    reason: ReasonCode | None
    windows: list[tuple[float, float, float]]  # valid (t, rmssd, hr) from T0 on
    end_t_s: float | None = None


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _in_quiet_hours(local: time, quiet: tuple[tuple[time, time], ...]) -> bool:
    for start, end in quiet:
        if start <= end:
            if start <= local < end:
                return True
        elif local >= start or local < end:
            return True
    return False


def _metric(window: Any, name: str) -> float | None:
    v = getattr(window, name, None)
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class MicroBreakMonitor:
    """Decides when a micro-break is due (see the module docstring for the rule).

    Parameters
    ----------
    settings : MicroBreakSettings, optional
        Thresholds; the defaults are documented there.
    baseline : Baseline, optional
        The person's stored baseline; by default the population default
        (:meth:`Baseline.population`).

    Notes
    -----
    Windows may come at any step (the service sends one every 5 s, the specification speaks of
    every 10 s): each window counts for the time since the previous one, capped at
    ``settings.step_s``, so the rule is the same at any rate.
    """

    def __init__(
        self,
        *,
        settings: MicroBreakSettings | None = None,
        baseline: Baseline | None = None,
    ) -> None:
        self.settings = settings or MicroBreakSettings()
        self._baseline = baseline or Baseline.population(
            prior_weight_s=self.settings.prior_weight_s
        )
        s = self.settings
        self._t: float | None = None  # latest time seen (window or user action)
        self._t_window: float | None = None  # end of the latest window
        self._task_start: float | None = None
        self._recent: deque[_Recent] = deque()
        self._history: deque[tuple[float, float, float]] = deque()  # valid (t, rmssd, hr)
        self._load_min = 0.0
        self._last_activity_t: float = -math.inf
        self._motion_mg: float | None = None  # the latest window's movement level, if known
        self._last_flag: MicroBreakDue | None = None
        self._last_stress_flag_t: float = -math.inf
        self._next_allowed: float = -math.inf
        self._snoozed_until: float | None = None
        self._break: _Break | None = None
        self._pending: list[_Break] = []
        self._breaks: list[BreakEffect] = []
        self._last = MicroBreakStatus(
            t_s=0.0,
            baseline=self._baseline,
            baseline_personal=self._baseline.personal_s >= s.warmup_s,
            valid=False,
            invalid_reason="no window yet",
            ln_rmssd_z=None,
            hr_z=None,
            stressed=False,
            activity=False,
            stress_fraction=0.0,
            stress_load_min=0.0,
            time_on_task_s=0.0,
            in_break=False,
            break_kind=None,
            snoozed_until_s=None,
            next_flag_allowed_s=-math.inf,
            last_flag=None,
            breaks=(),
        )

    # -- read-only state ------------------------------------------------------------------------

    @property
    def baseline(self) -> Baseline:
        """The current baseline (persist it with ``to_dict`` and pass it back next time)."""
        return self._baseline

    @property
    def breaks(self) -> tuple[BreakEffect, ...]:
        """Every break whose effect is known, oldest first."""
        return tuple(self._breaks)

    @property
    def in_break(self) -> bool:
        """True between :meth:`start_break` and :meth:`end_break`."""
        return self._break is not None

    @property
    def status(self) -> MicroBreakStatus:
        """The state after the last window or action."""
        return self._last

    # -- helpers --------------------------------------------------------------------------------

    def _check_t(self, t_s: float, what: str, previous: float | None = None) -> float:
        if isinstance(t_s, bool) or not isinstance(t_s, int | float) or not math.isfinite(t_s):
            raise BreathingError(f"micro-break {what}: t_s must be a finite number, got {t_s!r}")
        t = float(t_s)
        previous = self._t if previous is None else previous
        if previous is not None and t < previous - 1e-9:
            raise BreathingError(
                f"micro-break {what}: t_s={t} is earlier than the previous time {previous}"
            )
        return t

    def _z(self, ln_rmssd: float, hr: float) -> tuple[float, float]:
        s, b = self.settings, self._baseline
        z_ln = (ln_rmssd - b.ln_rmssd_mean) / max(b.ln_rmssd_sd, s.min_ln_rmssd_sd)
        z_hr = (hr - b.hr_mean_bpm) / max(b.hr_sd_bpm, s.min_hr_sd_bpm)
        return z_ln, z_hr

    def _task_start_or(self, t: float) -> float:
        return t if self._task_start is None else self._task_start

    def _time_on_task(self, t: float) -> float:
        return 0.0 if self._task_start is None else max(0.0, t - self._task_start)

    def _status(self, t: float, **kw: Any) -> MicroBreakStatus:
        s = self.settings
        base: dict[str, Any] = dict(
            t_s=t,
            baseline=self._baseline,
            baseline_personal=self._baseline.personal_s >= s.warmup_s,
            valid=False,
            invalid_reason="",
            ln_rmssd_z=None,
            hr_z=None,
            stressed=False,
            activity=False,
            stress_fraction=self._stress_fraction(t),
            stress_load_min=self._load_min,
            time_on_task_s=self._time_on_task(t),
            in_break=self._break is not None,
            break_kind=self._break.kind if self._break is not None else None,
            snoozed_until_s=self._snoozed_until,
            next_flag_allowed_s=self._next_allowed,
            last_flag=self._last_flag,
            breaks=tuple(self._breaks),
        )
        base.update(kw)
        return MicroBreakStatus(**base)

    def _stress_fraction(self, t: float) -> float:
        s = self.settings
        lo = t - s.sustain_s
        covered = sum(min(r.weight_s, r.t_s - lo) for r in self._recent if r.stressed)
        return min(1.0, max(0.0, covered / s.sustain_s))

    # -- the step -------------------------------------------------------------------------------

    def on_window(
        self,
        window: Any,
        *,
        t_s: float | None = None,
        contact: bool | None,
        quality: float,
        local_time: time | None = None,
        motion_mg: float | None = None,
    ) -> list[MicroBreakEvent]:
        """Take one finished 60-s window; return the events it causes (a flag, a break effect).

        Parameters
        ----------
        window : hrv.WindowMetrics or any object with ``rmssd_ms``, ``mean_hr_bpm``, ``n_beats``
            The window's metrics (``ln_rmssd`` is used when present).
        t_s : float, optional
            The window's end in session time (s); default ``window.t_s``. Non-decreasing.
        contact : bool or None
            Skin contact over the window (``None``: the strap does not report it).
        quality : float
            Share of expected beats that are clean, 0..1 (:class:`SignalTracker`).
        local_time : datetime.time, optional
            Local time of day at the window's end, for quiet hours (``None``: not checked).
        motion_mg : float, optional
            The window's movement level from an accelerometer (milli-g, ``>= 0``; see
            ``MicroBreakSettings.motion_activity_mg``); ``None``: no motion data.

        Returns
        -------
        list of MicroBreakEvent
            Usually empty; a :class:`MicroBreakDue` when a break is due, a
            :class:`BreakEffect` when a finished break's "after" period is complete.

        Raises
        ------
        BreathingError
            ``t_s`` missing, not finite or earlier than a previous one; ``quality`` not in 0..1.
        """
        s = self.settings
        if t_s is None:
            t_s = getattr(window, "t_s", None)
            if t_s is None:
                raise BreathingError("micro-break on_window: no t_s given and the window has none")
        # windows must not go back in time; a user action may have happened a moment after
        # the beat that ends this window (the window then counts at the action's time)
        last = -math.inf if self._t_window is None else self._t_window
        t = self._check_t(t_s, "on_window", previous=last)
        t = t if self._t is None else max(t, self._t)
        if (
            isinstance(quality, bool)
            or not isinstance(quality, int | float)
            or not 0.0 <= quality <= 1.0
        ):
            raise BreathingError(
                f"micro-break on_window: quality must be in [0, 1], got {quality!r}"
            )
        if motion_mg is not None and (
            isinstance(motion_mg, bool)
            or not isinstance(motion_mg, int | float)
            or not math.isfinite(motion_mg)
            or motion_mg < 0
        ):
            raise BreathingError(
                f"micro-break on_window: motion_mg must be a finite number >= 0, got {motion_mg!r}"
            )
        self._motion_mg = None if motion_mg is None else float(motion_mg)
        prev = self._t_window
        if self._task_start is None:
            self._task_start = max(0.0, t - s.window_s)
        elif self._t is not None and t - self._t >= s.away_s and self._break is None:
            # nothing for a while (no window, no action): an absence counts as a break
            self._task_start = max(self._task_start, t - s.window_s)
            self._recent.clear()
        weight = s.step_s if prev is None else min(max(t - prev, 0.0), s.step_s)
        self._t = self._t_window = t
        while self._recent and self._recent[0].t_s <= t - s.sustain_s:
            self._recent.popleft()

        events: list[MicroBreakEvent] = []
        hr = _metric(window, "mean_hr_bpm")
        rmssd = _metric(window, "rmssd_ms")
        ln_rmssd = _metric(window, "ln_rmssd")
        if ln_rmssd is None and rmssd is not None and rmssd > 0:
            ln_rmssd = math.log(rmssd)
        n_beats = int(getattr(window, "n_beats", 0) or 0)

        invalid = ""
        if contact is False:
            invalid = "no skin contact"
        elif quality < s.min_quality:
            invalid = f"signal quality {quality:.0%} below {s.min_quality:.0%}"
        elif n_beats < s.min_beats:
            invalid = f"{n_beats} beats in the window (< {s.min_beats})"
        elif hr is None or ln_rmssd is None or rmssd is None:
            invalid = "RMSSD or heart rate not available"

        if invalid:
            self._recent.append(_Recent(t, weight, False))
            events += self._effects(t)
            self._last = self._status(t, invalid_reason=invalid)
            return events + self._fallback(t, local_time)

        assert hr is not None and ln_rmssd is not None and rmssd is not None
        self._history.append((t, rmssd, hr))
        horizon = t - max(s.effect_before_s, s.window_s) - s.step_s
        while self._history and self._history[0][0] < horizon:
            self._history.popleft()
        if self._break is not None:
            self._break.windows.append((t, rmssd, hr))
        for pending in self._pending:
            pending.windows.append((t, rmssd, hr))

        z_ln, z_hr = self._z(ln_rmssd, hr)
        moving = motion_mg is not None and motion_mg >= s.motion_activity_mg
        activity = moving or hr - self._baseline.hr_mean_bpm > s.activity_hr_bpm
        if activity:
            if t - self._last_activity_t > s.activity_recovery_s:
                # onset of activity: the stress windows of its ramp-up were activity too
                struck = sum(r.weight_s for r in self._recent if r.stressed) / 60.0
                self._load_min = max(0.0, self._load_min - struck)
            self._recent.clear()
            self._last_activity_t = t
        recovering = not activity and t - self._last_activity_t <= s.activity_recovery_s
        warm = self._baseline.personal_s >= s.warmup_s
        in_break = self._break is not None
        stressed = (
            warm
            and not activity
            and not recovering
            and not in_break
            and z_ln <= s.ln_rmssd_z
            and z_hr >= s.hr_z
        )
        self._recent.append(_Recent(t, weight, stressed))
        fraction = self._stress_fraction(t)
        if stressed:
            self._load_min += weight / 60.0
        elif not activity and not recovering:
            self._load_min *= math.exp(-weight / s.load_tau_s)

        # learn the baseline from calm windows (every non-activity window while warming up)
        calm = (
            not activity
            and not recovering
            and not in_break
            and not stressed
            and fraction < s.sustain_fraction / 2.0
        )
        if calm and (not warm or not (z_ln <= s.ln_rmssd_z and z_hr >= s.hr_z)):
            self._baseline = self._baseline.updated(
                ln_rmssd, hr, weight_s=weight, memory_s=s.memory_s
            )

        events += self._effects(t)
        reason: Reason | None = None
        if stressed and fraction >= s.sustain_fraction:
            reason = Reason(
                ReasonCode.STRESS,
                _SUMMARY_STRESS,
                self._stress_text(ln_rmssd, z_ln, hr, z_hr)
                + f", in {fraction:.0%} of the last {s.sustain_s / 60:g} minutes.",
            )
        elif stressed and self._load_min >= s.load_flag_min:
            reason = Reason(
                ReasonCode.STRESS_LOAD,
                _SUMMARY_STRESS_LOAD.format(minutes=max(1, round(self._load_min))),
                self._stress_text(ln_rmssd, z_ln, hr, z_hr)
                + f"; stress has added up to {self._load_min:.1f} minutes recently.",
            )
        self._last = self._status(
            t,
            valid=True,
            ln_rmssd_z=z_ln,
            hr_z=z_hr,
            stressed=stressed,
            activity=activity or recovering,
            stress_fraction=fraction,
        )
        if reason is not None and self._may_flag(t, local_time):
            kind = BreakKind.BREATHING
            if t - self._last_stress_flag_t <= s.repeat_s or self._load_min >= s.high_load_min:
                kind = BreakKind.WALK
            events.append(self._flag(t, reason, kind, ln_rmssd, z_ln, hr, z_hr, fraction))
            self._last_stress_flag_t = t
            return events
        return events + self._fallback(t, local_time, ln_rmssd, z_ln, hr, z_hr)

    def _stress_text(self, ln_rmssd: float, z_ln: float, hr: float, z_hr: float) -> str:
        b = self._baseline
        motion = (
            " (no motion data: standing up or walking look the same in heart rate and RMSSD)"
            if self._motion_mg is None
            else f" while still (movement {self._motion_mg:.0f} mg)"
        )
        return (
            f"RMSSD {math.exp(ln_rmssd):.0f} ms (lnRMSSD {ln_rmssd:.2f}) is {-z_ln:.1f} SD below "
            f"your baseline of {b.rmssd_ms:.0f} ms while heart rate {hr:.0f} bpm is "
            f"{hr - b.hr_mean_bpm:+.0f} bpm ({z_hr:+.1f} SD) above your baseline of "
            f"{b.hr_mean_bpm:.0f} bpm{motion}"
        )

    def _may_flag(self, t: float, local_time: time | None) -> bool:
        s = self.settings
        if self._break is not None or t < self._next_allowed:
            return False
        if self._snoozed_until is not None and t < self._snoozed_until:
            return False
        return not (local_time is not None and _in_quiet_hours(local_time, s.quiet_hours))

    def _fallback(
        self,
        t: float,
        local_time: time | None,
        ln_rmssd: float | None = None,
        z_ln: float | None = None,
        hr: float | None = None,
        z_hr: float | None = None,
    ) -> list[MicroBreakEvent]:
        s = self.settings
        on_task = self._time_on_task(t)
        if on_task < s.time_on_task_s or not self._may_flag(t, local_time):
            return []
        last = self._last_flag
        if (
            last is not None
            and last.reason.code is ReasonCode.TIME_ON_TASK
            and last.t_s >= self._task_start_or(t)
            and t - last.t_s < s.time_on_task_repeat_s
        ):
            return []
        reason = Reason(
            ReasonCode.TIME_ON_TASK,
            _SUMMARY_TIME_ON_TASK.format(minutes=round(on_task / 60)),
            f"{on_task / 60:.0f} minutes without a break (the limit is "
            f"{s.time_on_task_s / 60:g} minutes).",
        )
        fraction = self._stress_fraction(t)
        return [self._flag(t, reason, BreakKind.SCREEN, ln_rmssd, z_ln, hr, z_hr, fraction)]

    def _flag(
        self,
        t: float,
        reason: Reason,
        kind: BreakKind,
        ln_rmssd: float | None,
        z_ln: float | None,
        hr: float | None,
        z_hr: float | None,
        fraction: float,
    ) -> MicroBreakDue:
        flag = MicroBreakDue(
            t_s=t,
            reason=reason,
            suggestion=_SUGGESTIONS[kind],
            ln_rmssd=ln_rmssd,
            ln_rmssd_z=z_ln,
            hr_bpm=hr,
            hr_z=z_hr,
            stress_fraction=fraction,
            stress_load_min=self._load_min,
            time_on_task_s=self._time_on_task(t),
            baseline=self._baseline,
        )
        self._last_flag = flag
        self._next_allowed = t + self.settings.cooldown_s
        self._last = self._status(
            t,
            valid=self._last.valid,
            invalid_reason=self._last.invalid_reason,
            ln_rmssd_z=self._last.ln_rmssd_z,
            hr_z=self._last.hr_z,
            stressed=self._last.stressed,
            activity=self._last.activity,
        )
        return flag

    def _effects(self, t: float) -> list[MicroBreakEvent]:
        """Break effects whose "after" period is complete at ``t``."""
        s = self.settings
        out: list[MicroBreakEvent] = []
        still: list[_Break] = []
        for br in self._pending:
            assert br.end_t_s is not None
            if t > br.end_t_s + s.window_s + s.effect_after_s:
                out.append(self._effect(br, t))
            else:
                still.append(br)
        self._pending = still
        return out

    def _effect(self, br: _Break, t: float) -> BreakEffect:
        s = self.settings
        assert br.end_t_s is not None
        wins = br.windows
        before = [w for w in wins if w[0] <= br.start_t_s]
        duration = br.end_t_s - br.start_t_s
        during_from = br.start_t_s + min(s.window_s, duration / 2.0)
        during = [w for w in wins if during_from < w[0] <= br.end_t_s]
        after_lo = br.end_t_s + s.window_s
        after = [w for w in wins if after_lo <= w[0] <= after_lo + s.effect_after_s]
        rb = _median([w[1] for w in before])
        ra = _median([w[1] for w in after])
        effect = BreakEffect(
            t_s=t,
            start_t_s=br.start_t_s,
            end_t_s=br.end_t_s,
            kind=br.kind,
            reason=br.reason,
            rmssd_before_ms=rb,
            rmssd_during_ms=_median([w[1] for w in during]),
            rmssd_after_ms=ra,
            hr_before_bpm=_median([w[2] for w in before]),
            hr_during_bpm=_median([w[2] for w in during]),
            hr_after_bpm=_median([w[2] for w in after]),
            rmssd_change_pct=None if rb is None or ra is None else (ra - rb) / rb * 100.0,
            n_windows_before=len(before),
            n_windows_during=len(during),
            n_windows_after=len(after),
        )
        self._breaks.append(effect)
        return effect

    # -- user actions ---------------------------------------------------------------------------

    def start_break(
        self, t_s: float, kind: BreakKind | str = BreakKind.BREATHING
    ) -> list[BreakStarted]:
        """The user starts a break (from a flag or on their own).

        Raises
        ------
        BreathingError
            A break is already running, ``kind`` unknown, or ``t_s`` goes back in time.
        """
        t = self._check_t(t_s, "start_break")
        try:
            k = BreakKind(kind)
        except ValueError:
            names = ", ".join(k.value for k in BreakKind)
            raise BreathingError(
                f"micro-break start_break: kind {kind!r} is not one of {names}"
            ) from None
        if self._break is not None:
            raise BreathingError(
                f"micro-break start_break: a {self._break.kind.value} break is already running "
                f"since t_s={self._break.start_t_s}"
            )
        flag = self._last_flag
        reason = (
            flag.reason.code
            if flag is not None and t - flag.t_s <= self.settings.cooldown_s
            else None
        )
        lo = t - self.settings.effect_before_s
        br = _Break(t, k, reason, [w for w in self._history if lo <= w[0] <= t])
        self._break = br
        self._t = t
        self._load_min = 0.0
        self._recent.clear()
        self._last = self._status(t)
        return [BreakStarted(t, k, reason)]

    def end_break(self, t_s: float) -> list[BreakEnded]:
        """The break ends now; time on task restarts and the cooldown begins.

        Raises
        ------
        BreathingError
            No break is running, or ``t_s`` goes back in time.
        """
        t = self._check_t(t_s, "end_break")
        br = self._break
        if br is None:
            raise BreathingError("micro-break end_break: no break is running")
        br.end_t_s = t
        self._break = None
        self._pending.append(br)
        self._t = t
        self._task_start = t
        self._next_allowed = max(self._next_allowed, t + self.settings.cooldown_s)
        self._last = self._status(t)
        return [BreakEnded(t, br.start_t_s, br.kind)]

    def finish(self, t_s: float) -> list[MicroBreakEvent]:
        """End of the session: the effects of finished breaks, with what is known so far."""
        t = self._check_t(t_s, "finish")
        out: list[MicroBreakEvent] = []
        if self._break is not None:
            out += self.end_break(t)
        out += [self._effect(br, t) for br in self._pending]
        self._pending = []
        return out

    def acknowledge(self, t_s: float) -> list[FlagAcknowledged]:
        """The user saw the latest flag (no other effect: the cooldown already runs)."""
        t = self._check_t(t_s, "acknowledge")
        flag_t = self._last_flag.t_s if self._last_flag is not None else None
        return [FlagAcknowledged(t, flag_t)]

    def snooze(self, t_s: float, minutes: float) -> list[Snoozed]:
        """No flag for ``minutes`` from ``t_s`` (0 cancels a snooze).

        Raises
        ------
        BreathingError
            ``minutes`` negative or not finite, or ``t_s`` goes back in time.
        """
        t = self._check_t(t_s, "snooze")
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int | float)
            or not (math.isfinite(minutes) and minutes >= 0)
        ):
            raise BreathingError(f"micro-break snooze: minutes must be >= 0, got {minutes!r}")
        until = t + 60.0 * float(minutes)
        self._snoozed_until = until if minutes > 0 else None
        self._last = self._status(t)
        return [Snoozed(t, until)]
