"""The tunable thresholds of the micro-break monitor, each with the reasoning behind it.

No validated threshold exists in the literature for flagging a micro-break from wearable HRV:
every default is a reasoned starting point (documented on its field), to be tuned per person
and per study. :mod:`breathing.microbreak` describes the rule they parameterise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import time

from breathing.errors import SettingError

__all__ = [
    "MAX_HEART_RATE_BPM",
    "SETTING_LIMITS",
    "SETTING_RANGES",
    "MicroBreakSettings",
    "SettingRange",
]

_DAY_S = 86_400.0

#: The largest value each numeric setting takes and, where given, the smallest (else 0;
#: :data:`SETTING_RANGES` adds which ends are open).
#: The reasoning: a threshold that no session can reach only hides a typo (``1e300``), so
#: - session-time thresholds stop at a day (86,400 s): a session is a working day at most;
#: - ``window_s`` and ``step_s`` at 600 s: short-term HRV is measured over 1-5 min (Task Force
#:   1996); a 10-min window no longer tells what the person is doing now;
#: - ``memory_s`` and ``prior_weight_s`` at a week (604,800 s): the baseline follows the person
#:   over days; a longer memory never adapts within the period anyone keeps a strap on;
#: - load minutes at a day (1,440 min), as the seconds;
#: - ``activity_hr_bpm`` at 200 bpm (above any resting-to-maximal rise), ``min_hr_sd_bpm`` at
#:   50 bpm and ``min_ln_rmssd_sd`` at 5 (ln units: a 150-fold RMSSD spread), far above any
#:   person's day-to-day SD (Plews et al. 2012: about 0.1-0.3);
#: - ``motion_activity_mg`` at 16,000 mg, the ±16 g full range of strap accelerometers;
#: - ``min_beats`` at 2,400, a 600-s window at 240 beats/min;
#: - ``min_quality`` and ``sustain_fraction`` are shares, at most 1;
#: - ``ln_rmssd_z`` no lower than -10 and ``hr_z`` no higher than 10: z scores past 10 SD do not
#:   occur, so such a bar never flags.
SETTING_LIMITS: dict[str, tuple[float | None, float]] = {
    "min_quality": (0.0, 1.0),
    "sustain_fraction": (None, 1.0),
    "min_beats": (None, 2400),
    "ln_rmssd_z": (-10.0, 0.0),
    "hr_z": (None, 10.0),
    "min_ln_rmssd_sd": (None, 5.0),
    "min_hr_sd_bpm": (None, 50.0),
    "sustain_s": (None, _DAY_S),
    "activity_hr_bpm": (None, 200.0),
    "activity_recovery_s": (None, _DAY_S),
    "motion_activity_mg": (None, 16_000.0),
    "load_tau_s": (None, _DAY_S),
    "load_flag_min": (None, 1440.0),
    "high_load_min": (None, 1440.0),
    "time_on_task_s": (None, _DAY_S),
    "time_on_task_repeat_s": (None, _DAY_S),
    "away_s": (None, _DAY_S),
    "cooldown_s": (None, _DAY_S),
    "repeat_s": (None, _DAY_S),
    "warmup_s": (None, _DAY_S),
    "prior_weight_s": (None, 7 * _DAY_S),
    "memory_s": (None, 7 * _DAY_S),
    "window_s": (None, 600.0),
    "step_s": (None, 600.0),
    "effect_before_s": (None, _DAY_S),
    "effect_after_s": (None, _DAY_S),
}


#: Beats per minute no heart reaches (the combination check of ``min_beats`` and
#: ``window_s``): above any human rate, exercise and tachycardia included (a resting adult is
#: 50-100, a maximal one about 220 minus age).
MAX_HEART_RATE_BPM = 300.0

#: Settings that must be above 0 (a zero window, time constant or floor means nothing).
_POSITIVE = (
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
)


@dataclass(frozen=True, slots=True)
class SettingRange:
    """The values a numeric setting takes: from ``low`` to ``high``, each end open or closed.

    Attributes
    ----------
    low, high : float
        The ends of the range.
    low_open, high_open : bool
        Whether ``low`` (``high``) itself is left out (``0 < x`` rather than ``0 <= x``).
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"


def _ranges() -> dict[str, SettingRange]:
    out: dict[str, SettingRange] = {}
    for name, (low, high) in SETTING_LIMITS.items():
        if name == "ln_rmssd_z":  # a stress bar is below the baseline: 0 itself is not
            out[name] = SettingRange(-10.0 if low is None else low, high, high_open=True)
        else:  # from 0: above it for windows, time constants, floors and a share of windows
            open_ = name in _POSITIVE or name == "sustain_fraction"
            out[name] = SettingRange(0.0 if low is None else low, high, low_open=open_)
    return out


#: The full range of every numeric setting: :data:`SETTING_LIMITS`' bounds with the lower
#: ends (above 0 for windows, time constants and floors; 0 allowed where it turns a rule off;
#: ``ln_rmssd_z`` below 0, ``hr_z`` from 0) and which ends are open. The settings refuse a
#: value outside it, and the service publishes it in its OpenAPI schema.
SETTING_RANGES: dict[str, SettingRange] = _ranges()


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

    Each numeric setting has a range (:data:`SETTING_RANGES`; the upper bounds' reasoning in
    :data:`SETTING_LIMITS`); a value out of range raises
    :class:`~breathing.errors.SettingError` naming the setting. So do two combinations no
    session can use: ``memory_s`` not above ``step_s``, and ``min_beats`` more than a
    ``window_s`` window holds at :data:`MAX_HEART_RATE_BPM` (``window_s * 300 / 60``).

    References
    ----------
    Task Force of the European Society of Cardiology and the North American Society of Pacing
    and Electrophysiology (1996) Heart rate variability: standards of measurement,
    physiological interpretation and clinical use. Circulation 93(5):1043-1065.
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
                        raise SettingError(
                            "quiet_hours",
                            f"micro-break settings: quiet_hours must be (start, end) pairs of "
                            f"datetime.time, got {pair!r}",
                        )
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SettingError(
                    f.name, f"micro-break settings: {f.name} must be finite, got {v!r}"
                )
        for name, allowed in SETTING_RANGES.items():
            v = getattr(self, name)
            if v not in allowed:
                raise SettingError(
                    name, f"micro-break settings: {name} must be in {allowed}, got {v:g}"
                )
        most = self.window_s * MAX_HEART_RATE_BPM / 60.0
        if self.min_beats > most:
            raise SettingError(
                "min_beats",
                f"micro-break settings: min_beats {self.min_beats} with window_s "
                f"{self.window_s:g}: a {self.window_s:g}-s window holds at most {most:g} beats "
                f"(at {MAX_HEART_RATE_BPM:g} beats/min), so no window would count; lower "
                "min_beats or lengthen window_s",
                others=("window_s",),
            )
        if self.memory_s <= self.step_s:
            raise SettingError(
                "memory_s",
                f"micro-break settings: memory_s must exceed step_s ({self.step_s:g}), got "
                f"{self.memory_s:g}",
                others=("step_s",),
            )

    def in_quiet_hours(self, local: time) -> bool:
        """Whether the local time of day ``local`` falls in one of :attr:`quiet_hours`."""
        for start, end in self.quiet_hours:
            if start <= end:
                if start <= local < end:
                    return True
            elif local >= start or local < end:
                return True
        return False
