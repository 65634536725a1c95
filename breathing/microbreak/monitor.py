"""Micro-break flags: when a short break is due, why, what to do, and what it did.

:class:`MicroBreakMonitor` is a pure step machine over the live 60-s HRV windows of
:class:`hrv.LiveAnalyser` (the service and ``hrvpace replay`` drive the same object). The
analyser has already judged every beat and measured each window's signal quality; the monitor
never filters a beat again::

    analyser = hrv.LiveAnalyser(window_s=60.0, step_s=5.0)
    monitor = MicroBreakMonitor(baseline=stored_or_None)
    for each beat:    for w in analyser.push(beat.t_s, beat.rr_ms, gap_before=...,
                                             contact=...):
                          events = monitor.on_window(w, local_time=...)
    user actions:     monitor.start_break(t_s, kind) / end_break(t_s) / acknowledge(t_s)
                      / snooze(t_s, minutes)
    persist:          monitor.baseline.to_dict()

Nothing here reads a clock: session time (``t_s``) and the local time of day (for quiet hours)
are passed in.

The rule, its thresholds and the evidence behind the suggestions are described in
:mod:`breathing.microbreak`; its steps are the named private methods of
:meth:`MicroBreakMonitor.on_window`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import time
from typing import Any, Literal

from breathing.baseline import Baseline
from breathing.errors import BreathingError, MicroBreakStateError
from breathing.microbreak.breaks import BreakRecord, ValidWindow, break_effect
from breathing.microbreak.events import (
    SUGGESTIONS,
    SUMMARY_STRESS,
    SUMMARY_STRESS_LOAD,
    SUMMARY_TIME_ON_TASK,
    BreakEffect,
    BreakEnded,
    BreakKind,
    BreakStarted,
    FlagAcknowledged,
    MicroBreakDue,
    MicroBreakEvent,
    MicroBreakStatus,
    Reason,
    ReasonCode,
    Snoozed,
    breathing_suggestion,
)
from breathing.microbreak.reading import FROM_WINDOW, FromWindow, WindowReading, read_window
from breathing.microbreak.settings import MicroBreakSettings
from breathing.microbreak.stress import Judgement, StressHistory
from hrv.live import LiveWindow

__all__ = ["MicroBreakMonitor"]


@dataclass(frozen=True, slots=True)
class _Reading:
    """A window placed in session time: when it ends, how long it counts for, its numbers."""

    t: float  # end of the window (session time, s)
    weight: float  # time it counts for (s): since the previous window, capped at step_s
    w: WindowReading


@dataclass(frozen=True, slots=True)
class _PacedStretch:
    """The running paced stretch: the pacer's runs in it and the latest time it ran."""

    runs: tuple[tuple[float, float], ...]  # (start, stop) session times, merged, oldest first
    last: float  # the latest time the pacer ran

    @property
    def paced_s(self) -> float:
        """The time the pacer actually ran (s): the runs' total, gaps left out."""
        return sum(b - a for a, b in self.runs)


def _merge_runs(runs: Any) -> tuple[tuple[float, float], ...]:
    """Overlapping or touching ``(start, stop)`` intervals merged, oldest first."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(runs):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def _check_runs(runs: Any, t: float) -> tuple[tuple[float, float], ...]:
    """``paced_runs`` as (start, stop) pairs of finite session times, clipped to end by ``t``."""
    out: list[tuple[float, float]] = []
    for i, run in enumerate(runs):
        try:
            a, b = (float(x) for x in run)
        except (TypeError, ValueError):
            raise BreathingError(
                f"micro-break on_window: paced_runs[{i}] must be a (start, stop) pair of"
                f" session times, got {run!r}"
            ) from None
        if not math.isfinite(a) or math.isnan(b) or b < a:
            raise BreathingError(
                f"micro-break on_window: paced_runs[{i}] = {run!r}: the start must be finite"
                " and the stop not earlier than it"
            )
        out.append((min(a, t), min(b, t)))  # no paced time counted past the window's end
    return tuple(out)


class MicroBreakMonitor:
    """Decides when a micro-break is due (the rule: :mod:`breathing.microbreak`).

    Parameters
    ----------
    settings : MicroBreakSettings, optional
        Thresholds; the defaults are documented there.
    baseline : Baseline, optional
        The person's stored baseline; by default the population default
        (:meth:`Baseline.population`).
    resonance_bpm : float, optional
        The person's assessed resonance rate (breaths/min), named by the breathing reset's
        suggestion (:func:`breathing_suggestion`); ``None``: not known, "about 6 breaths a
        minute". The attribute of the same name may be set as it becomes known.

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
        resonance_bpm: float | None = None,
    ) -> None:
        self._resonance_bpm: float | None = None
        self.resonance_bpm = resonance_bpm
        self.settings = settings or MicroBreakSettings()
        self._baseline = baseline or Baseline.population(
            prior_weight_s=self.settings.prior_weight_s
        )
        s = self.settings
        self._t: float | None = None  # latest time seen (window or user action)
        self._t_window: float | None = None  # end of the latest window
        self._task_start: float | None = None
        # the running paced stretch (the pacer's runs in it, merged), None when not pacing
        self._pacing: _PacedStretch | None = None
        self._paced_counted_until = -math.inf  # the end of the last paced stretch
        self._stress = StressHistory(s)
        self._history: deque[ValidWindow] = deque()  # valid (t, rmssd, hr, paced until)
        self._motion_mg: float | None = None  # the latest window's movement level, if known
        self._last_flag: MicroBreakDue | None = None
        self._last_stress_flag_t: float = -math.inf
        self._next_allowed: float = -math.inf
        self._snoozed_until: float | None = None
        self._break: BreakRecord | None = None
        self._pending: list[BreakRecord] = []
        self._breaks: list[BreakEffect] = []
        self._last = self._status(0.0, invalid_reason="no window yet")

    @property
    def resonance_bpm(self) -> float | None:
        """The rate the breathing reset's suggestion names (``None``: not known)."""
        return self._resonance_bpm

    @resonance_bpm.setter
    def resonance_bpm(self, rate_bpm: float | None) -> None:
        breathing_suggestion(rate_bpm)  # validates it: a finite 1-30/min, or None
        self._resonance_bpm = rate_bpm

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
            paced=False,
            stress_fraction=self._stress.fraction(t),
            stress_load_min=self._stress.load_min,
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

    # -- the step -------------------------------------------------------------------------------

    def on_window(
        self,
        window: LiveWindow | Any,
        *,
        t_s: float | None = None,
        contact: bool | Literal[FromWindow.FROM_WINDOW] | None = FROM_WINDOW,
        quality: float | None = None,
        local_time: time | None = None,
        motion_mg: float | None = None,
        paced: bool = False,
        paced_last_t_s: float | None = None,
        paced_runs: Any = None,
    ) -> list[MicroBreakEvent]:
        """Take one finished 60-s window; return the events it causes (a flag, a break effect).

        Parameters
        ----------
        window : hrv.LiveWindow, or any object with ``rmssd_ms``, ``mean_hr_bpm``, ``n_beats``
            A window of :class:`hrv.LiveAnalyser` (its NN metrics, its end on the beats' clock
            and its signal quality), or bare metrics such as :class:`hrv.WindowMetrics` (then
            ``quality`` is required). ``ln_rmssd`` is used when present.
        t_s : float, optional
            The window's end in session time (s); default ``window.t_s``. Non-decreasing.
        contact : bool or None, optional
            Skin contact over the window (``None``: the strap does not report it); default the
            live window's ``signal.contact``, or ``None`` for bare metrics.
        quality : float, optional
            Share of expected beats that are clean, 0..1 (:class:`hrv.WindowSignal`); default
            the live window's ``signal.quality``.
        local_time : datetime.time, optional
            Local time of day at the window's end, for quiet hours (``None``: not checked).
        motion_mg : float, optional
            The window's movement level from an accelerometer (milli-g, ``>= 0``; see
            ``MicroBreakSettings.motion_activity_mg``); ``None``: no motion data.
        paced : bool
            The window's beats overlap paced breathing (a pacer ran during some of it): it is
            no "before" window of a break (:func:`breathing.microbreak.breaks.break_effect`),
            is not learned into the baseline, is never a stress window, neither adds to nor
            decays the stress load, and raises no flag (a person doing a breathing exercise
            needs no break prompt); the status says so (``paced``). The paced stretch as a
            whole is recovery: when it ends (the first unpaced window), one at least as long
            as the 2-minute breathing reset counts as a break ended at the pacing's end (time
            on task restarts, the cooldown starts, the stress load is cleared); over a shorter
            one the load decays as over calm time.
        paced_last_t_s : float, optional
            With ``paced``: the latest session time within the window at which the pacer ran
            (default the window's end). A window in which pacing ran after a break ended is no
            "after" window of that break; pacing that stopped by the break's end is the
            break's own.
        paced_runs : sequence of (float, float), optional
            With ``paced``: when the pacer ran, as ``(start, stop)`` session times of the runs
            that overlap the window (a run still going: ``stop`` the window's end or ``inf``;
            stops are clipped to the window's end). The paced stretch's length is the time the
            pacer actually ran (the runs' total, gaps between runs left out), so three short
            pacings a minute apart are not two minutes of pacing, and pacing from the session's
            start counts from there. ``paced_last_t_s`` defaults to the latest stop. Without
            it the stretch is estimated from the windows: from the end of the window before
            the first paced one (the start of the first window of the session) to the latest
            time the pacer ran.

        Returns
        -------
        list of MicroBreakEvent
            Usually empty; a :class:`MicroBreakDue` when a break is due, a
            :class:`BreakEffect` when a finished break's "after" period is complete.

        Raises
        ------
        BreathingError
            ``t_s`` missing, not finite or earlier than a previous one; ``quality`` missing or
            not in 0..1; ``motion_mg`` negative; ``paced_runs`` not (start, stop) pairs, empty
            for a paced window or given for an unpaced one.
        """
        first = self._t_window is None
        r = self._read(window, t_s=t_s, contact=contact, quality=quality, motion_mg=motion_mg)
        t, w = r.t, r.w
        paced = bool(paced)
        runs = None if paced_runs is None else _check_runs(paced_runs, r.t)
        if runs is not None and bool(runs) != paced:
            raise BreathingError(
                "micro-break on_window: paced_runs must name the pacer's runs in a paced window"
                f" and be left out of an unpaced one (paced={paced}, paced_runs={paced_runs!r})"
            )
        self._advance_clock(t)
        paced_last = None
        if paced:
            if paced_last_t_s is not None:
                paced_last = min(float(paced_last_t_s), t)
            else:
                paced_last = t if runs is None else max(b for _, b in runs)
        # without runs, pacing in the first window of the session may have run from its start
        est_start = max(0.0, t - self.settings.window_s) if first else t - r.weight
        self._track_pacing(est_start, paced_last, runs)
        invalid = self._invalid_reason(w)
        if invalid:
            self._stress.add_invalid(t, r.weight)
            events = self._effects(t)
            self._last = self._status(t, invalid_reason=invalid, paced=paced)
            return events if paced else events + self._fallback(t, local_time)
        assert w.hr is not None and w.ln_rmssd is not None and w.rmssd is not None
        self._remember(t, w.rmssd, w.hr, paced_last=paced_last)
        j = self._judge(t, r.weight, w.ln_rmssd, w.hr, paced=paced)
        self._learn(r.weight, w.ln_rmssd, w.hr, j)
        events = self._effects(t)
        reason = self._stress_reason(w.ln_rmssd, w.hr, j)
        self._last = self._status(
            t,
            valid=True,
            ln_rmssd_z=j.z_ln,
            hr_z=j.z_hr,
            stressed=j.stressed,
            activity=j.activity or j.recovering,
            paced=paced,
            stress_fraction=j.fraction,
        )
        if paced:  # already breathing slowly: no break prompt (no stress reason arises either)
            return events
        if reason is not None and self._may_flag(t, local_time):
            return [*events, self._stress_flag(t, reason, w.ln_rmssd, w.hr, j)]
        return events + self._fallback(t, local_time, w.ln_rmssd, j.z_ln, w.hr, j.z_hr)

    # -- the steps of on_window ---------------------------------------------------------------

    def _read(
        self,
        window: Any,
        *,
        t_s: float | None,
        contact: bool | Literal[FromWindow.FROM_WINDOW] | None,
        quality: float | None,
        motion_mg: float | None,
    ) -> _Reading:
        """Check the window's inputs and place it in session time (:func:`read_window`)."""
        w = read_window(window, contact=contact, quality=quality, motion_mg=motion_mg)
        t_s = w.t_s if t_s is None else t_s
        if t_s is None:
            raise BreathingError("micro-break on_window: no t_s given and the window has none")
        # windows must not go back in time; a user action may have happened a moment after
        # the beat that ends this window (the window then counts at the action's time)
        last = -math.inf if self._t_window is None else self._t_window
        t = self._check_t(t_s, "on_window", previous=last)
        t = t if self._t is None else max(t, self._t)
        self._motion_mg = w.motion_mg
        prev, step = self._t_window, self.settings.step_s
        return _Reading(t, step if prev is None else min(max(t - prev, 0.0), step), w)

    def _advance_clock(self, t: float) -> None:
        """Time on task (an absence counts as a break) and the sustain period move to ``t``."""
        s = self.settings
        if self._task_start is None:
            self._task_start = max(0.0, t - s.window_s)
        elif self._t is not None and t - self._t >= s.away_s and self._break is None:
            # nothing for a while (no window, no action): an absence counts as a break
            self._task_start = max(self._task_start, t - s.window_s)
            self._stress.forget_recent()
        self._t = self._t_window = t
        self._stress.move_to(t)

    def _track_pacing(
        self,
        est_start: float,
        paced_last: float | None,
        runs: tuple[tuple[float, float], ...] | None,
    ) -> None:
        """A paced stretch is recovery, not work (step 9 of the rule).

        A paced window (``paced_last`` given: when the pacer last ran in it) starts or extends
        the paced stretch with the pacer's runs in it (``runs``). Without runs, the pacer is
        taken to have run from the stretch's estimated start (``est_start`` of its first
        window: the end of the window before it, which held no paced beat, or the start of the
        session's first window) to ``paced_last``. The first unpaced window ends the stretch
        at the latest time the pacer ran. A stretch in which the pacer ran at least as long as
        the breathing reset (``SUGGESTIONS[BreakKind.BREATHING].duration_s``, 2 minutes)
        counts as a break ended then (as :meth:`end_break`): time on task restarts and the
        cooldown starts at the pacing's end, and the stress load is cleared as a break clears
        it. A shorter one is no break: the load decays over the time the pacer ran as over
        calm unpaced time, and time on task runs on through it.
        """
        if paced_last is not None:
            if runs is None:
                start = est_start if self._pacing is None else self._pacing.runs[0][0]
                runs = ((start, max(start, paced_last)),)
            # a run counted in an earlier stretch (a window reaching back) is not counted again
            floor = self._paced_counted_until
            runs = tuple((max(a, floor), b) for a, b in runs if b > floor)
            old = () if self._pacing is None else self._pacing.runs
            last = paced_last if self._pacing is None else max(self._pacing.last, paced_last)
            self._pacing = _PacedStretch(_merge_runs(old + runs), last)
            return
        if self._pacing is None:
            return
        stretch, self._pacing = self._pacing, None
        end = stretch.last
        self._paced_counted_until = max(self._paced_counted_until, end)
        if stretch.paced_s >= SUGGESTIONS[BreakKind.BREATHING].duration_s:
            self._task_start = max(self._task_start_or(end), end)
            self._next_allowed = max(self._next_allowed, end + self.settings.cooldown_s)
            self._stress.start_break()
        else:
            self._stress.decay(stretch.paced_s)

    def _invalid_reason(self, r: WindowReading) -> str:
        """Why the window does not count (step 1 of the rule); empty when it does."""
        s = self.settings
        if r.contact is False:
            return "no skin contact"
        if r.quality < s.min_quality:
            if r.irregular_rhythm:  # the rhythm, not the strap, lowers the quality (hrv.rhythm)
                return (
                    f"irregular heartbeat: frequent early beats (signal quality {r.quality:.0%}),"
                    " not a strap problem"
                )
            return f"signal quality {r.quality:.0%} below {s.min_quality:.0%}"
        if r.n_beats < s.min_beats:
            return f"{r.n_beats} beats in the window (< {s.min_beats})"
        if r.hr is None or r.ln_rmssd is None or r.rmssd is None:
            return "RMSSD or heart rate not available"
        return ""

    def _remember(self, t: float, rmssd: float, hr: float, *, paced_last: float | None) -> None:
        """Keep a valid window for the effects of breaks (running, pending, or still to come)."""
        s = self.settings
        window = (t, rmssd, hr, paced_last)
        self._history.append(window)
        horizon = t - max(s.effect_before_s, s.window_s) - s.step_s
        while self._history and self._history[0][0] < horizon:
            self._history.popleft()
        if self._break is not None:
            self._break.windows.append(window)
        for pending in self._pending:
            pending.windows.append(window)

    def _judge(
        self, t: float, weight: float, ln_rmssd: float, hr: float, *, paced: bool
    ) -> Judgement:
        """Activity, recovery and stress of a valid window (steps 2-6); updates the load."""
        s = self.settings
        z_ln, z_hr = self._z(ln_rmssd, hr)
        return self._stress.judge(
            t,
            weight,
            z_ln=z_ln,
            z_hr=z_hr,
            hr_above_baseline_bpm=hr - self._baseline.hr_mean_bpm,
            moving=self._motion_mg is not None and self._motion_mg >= s.motion_activity_mg,
            warm=self._baseline.personal_s >= s.warmup_s,
            in_break=self._break is not None,
            paced=paced,
        )

    def _learn(self, weight: float, ln_rmssd: float, hr: float, j: Judgement) -> None:
        """Learn the baseline from calm windows (every non-activity window while warming up).

        A window overlapping paced breathing is never learned: slow breathing raises RMSSD by
        itself (Lehrer et al. 2000), and learning it would make later rest look like low HRV.
        """
        s = self.settings
        calm = (
            not j.paced
            and not j.activity
            and not j.recovering
            and self._break is None
            and not j.stressed
            and j.fraction < s.sustain_fraction / 2.0
        )
        if calm and (not j.warm or not (j.z_ln <= s.ln_rmssd_z and j.z_hr >= s.hr_z)):
            self._baseline = self._baseline.updated(
                ln_rmssd, hr, weight_s=weight, memory_s=s.memory_s
            )

    def _stress_reason(self, ln_rmssd: float, hr: float, j: Judgement) -> Reason | None:
        """The reason for a stress flag: sustained (step 5) or an accumulated load (step 6)."""
        s = self.settings
        if j.stressed and j.fraction >= s.sustain_fraction:
            return Reason(
                ReasonCode.STRESS,
                SUMMARY_STRESS,
                self._stress_text(ln_rmssd, j.z_ln, hr, j.z_hr)
                + f", in {j.fraction:.0%} of the last {s.sustain_s / 60:g} minutes.",
            )
        if j.stressed and self._stress.load_min >= s.load_flag_min:
            return Reason(
                ReasonCode.STRESS_LOAD,
                SUMMARY_STRESS_LOAD.format(minutes=max(1, round(self._stress.load_min))),
                self._stress_text(ln_rmssd, j.z_ln, hr, j.z_hr)
                + f"; stress has added up to {self._stress.load_min:.1f} minutes recently.",
            )
        return None

    def _stress_flag(
        self, t: float, reason: Reason, ln_rmssd: float, hr: float, j: Judgement
    ) -> MicroBreakDue:
        """Raise a stress flag: a walk after a recent stress flag or under a high load."""
        s = self.settings
        kind = BreakKind.BREATHING
        if t - self._last_stress_flag_t <= s.repeat_s or self._stress.load_min >= s.high_load_min:
            kind = BreakKind.WALK
        flag = self._flag(t, reason, kind, ln_rmssd, j.z_ln, hr, j.z_hr, j.fraction)
        self._last_stress_flag_t = t
        return flag

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
        return not (local_time is not None and s.in_quiet_hours(local_time))

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
            SUMMARY_TIME_ON_TASK.format(minutes=round(on_task / 60)),
            f"{on_task / 60:.0f} minutes without a break (the limit is "
            f"{s.time_on_task_s / 60:g} minutes).",
        )
        fraction = self._stress.fraction(t)
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
            suggestion=(
                breathing_suggestion(self.resonance_bpm)
                if kind is BreakKind.BREATHING
                else SUGGESTIONS[kind]
            ),
            ln_rmssd=ln_rmssd,
            ln_rmssd_z=z_ln,
            hr_bpm=hr,
            hr_z=z_hr,
            stress_fraction=fraction,
            stress_load_min=self._stress.load_min,
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
            paced=self._last.paced,
        )
        return flag

    def _effects(self, t: float) -> list[MicroBreakEvent]:
        """Break effects whose "after" period is complete at ``t``."""
        out: list[MicroBreakEvent] = []
        still: list[BreakRecord] = []
        for br in self._pending:
            if br.effect_due(t, self.settings):
                out.append(self._effect(br, t))
            else:
                still.append(br)
        self._pending = still
        return out

    def _effect(self, br: BreakRecord, t: float) -> BreakEffect:
        effect = break_effect(br, t, self.settings)
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
            raise MicroBreakStateError(
                "break_running",
                f"micro-break start_break: a {self._break.kind.value} break is already running "
                f"since t_s={self._break.start_t_s}",
            )
        flag = self._last_flag
        reason = (
            flag.reason.code
            if flag is not None and t - flag.t_s <= self.settings.cooldown_s
            else None
        )
        lo = t - self.settings.effect_before_s
        br = BreakRecord(t, k, reason, [w for w in self._history if lo <= w[0] <= t])
        self._break = br
        self._t = t
        self._stress.start_break()
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
            raise MicroBreakStateError(
                "no_break_running", "micro-break end_break: no break is running"
            )
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
        """The user saw the latest flag (no other effect: the cooldown already runs).

        Raises
        ------
        BreathingError
            No flag has been raised yet (nothing to acknowledge, as :meth:`end_break` with no
            break running), or ``t_s`` goes back in time.
        """
        t = self._check_t(t_s, "acknowledge")
        if self._last_flag is None:
            raise MicroBreakStateError(
                "no_flag", "micro-break acknowledge: no flag has been raised to acknowledge"
            )
        return [FlagAcknowledged(t, self._last_flag.t_s)]

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
