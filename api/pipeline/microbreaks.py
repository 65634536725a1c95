"""The micro-break stage of a session: flags, breaks and the personal baseline.

- :func:`make_microbreaks`   micro-break flags (``breathing.MicroBreakMonitor``), every session;
- :class:`MicroBreaks`       what the loop and the micro-break routes call;
- :func:`microbreak_settings` ``MicroBreakSettings`` from the stored overrides.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from api import payloads
from breathing import Baseline, MicroBreakMonitor, MicroBreakSettings
from breathing.errors import BreathingError, SettingError

__all__ = [
    "BASELINE_KEY",
    "MICROBREAK_SETTINGS_KEY",
    "MicroBreaks",
    "PlanDay",
    "make_microbreaks",
    "microbreak_settings",
    "usable_overrides",
]

log = logging.getLogger(__name__)


#: Key of the micro-break monitor's personal baseline in the ``baseline`` table.
BASELINE_KEY = "personal"
#: Key of the micro-break settings overrides in the ``settings`` table.
MICROBREAK_SETTINGS_KEY = "microbreak"

#: Quiet hours as ``MicroBreakSettings`` takes them: (start, end) local times of day.
QuietPairs: TypeAlias = tuple[tuple[datetime.time, datetime.time], ...]
#: The day plan's local time now (its zone, on the service's plan clock) and its quiet hours
#: (:meth:`api.scheduler.PromptScheduler.plan_day`): what a session's flags are quiet by.
PlanDay: TypeAlias = Callable[[], tuple[datetime.time, QuietPairs]]


class MicroBreaks:
    """The micro-break flags of one session, over ``breathing.MicroBreakMonitor``.

    Every finished 60 s window of the live analyser (``hrv.LiveWindow``: NN metrics, end on
    the beats' clock, signal quality and contact) goes to the monitor, with the movement level
    of the same 60 s when the source has an accelerometer (:attr:`motion`). User actions
    (acknowledge, snooze, start/end a break) act at the session's current time.
    """

    def __init__(
        self,
        monitor: Any,
        *,
        plan_day: PlanDay | None,
        motion: Callable[[float], float | None] | None = None,
    ):
        self.monitor = monitor
        #: The day plan's local time and quiet hours, read at each window (a plan saved during
        #: the session applies from its next window); ``None``: never quiet.
        self._plan_day = plan_day
        #: The movement level (milli-g) of the 60 s ending at a session time on the beats'
        #: clock, or ``None`` while unknown (``sensors.motion_of``); ``None``: the source has no
        #: accelerometer, and the monitor says HR and RMSSD alone cannot tell movement apart.
        self.motion = motion
        self.baseline_dirty = False
        self.persist = True  # False after a baseline reset: this session's learning is not kept
        #: Session time at which the running break ends by itself (a break with a duration).
        self.break_ends_at_s: float | None = None
        #: The running break started the pacer (a timed breathing break): ending it stops that.
        #: A practice or an assessment started since clears it (``api.routes.breathing``): that
        #: pacing is not the break's, and ending the break leaves it running.
        self.break_paces = False
        #: The person's resonance rate known at a session time (``None``: not assessed), which
        #: a breathing reset's suggestion names (:meth:`api.pipeline.pacing.Pacing.resonance_rate`;
        #: ``None``: no pacer, the suggestion says "about 6 breaths a minute").
        self.resonance_rate: Callable[[float], float | None] | None = None
        #: The banner the latest published event leaves (:attr:`banner`), kept as they are
        #: published (:meth:`note`): the state a page reads, whether or not it is written yet.
        self._banner_after: payloads.BreakBanner = "none"
        #: Breaks ended (published) whose effect is not yet published: an earlier break's
        #: effect told while a later one is measured leaves the banner ``measuring``.
        self._awaiting_effect = 0

    def on_window(
        self,
        window: Any,
        *,
        paced_until_t_s: float | None = None,
        paced_runs: Sequence[tuple[float, float]] | None = None,
    ) -> list[Any]:
        """Judge one metrics window; the micro-break events it gives.

        ``paced_runs``: when the session's pacer ran, ``(start, stop)`` session times (a run
        going: ``inf``; :attr:`api.pipeline.pacing.Pacing.paced_runs`). A window whose beats
        reach into a run overlaps paced breathing: it is no "before" window of a break, nor an
        "after" window when the pacing ran after the break ended, and the runs it overlaps go
        to the monitor, which counts the time the pacer actually ran (a paced stretch of two
        minutes or more is a break). ``paced_until_t_s`` (used without ``paced_runs``): the
        session time up to which a pacer ran (``inf`` while it runs, ``None`` if it never
        ran); the monitor then estimates the paced time from its windows.
        """
        before = self.monitor.baseline
        # where the window's beats begin (a live window is 60 s of NN intervals: after rejected
        # beats or a dropout it reaches further back in beat time); bare metrics: window_s
        start = getattr(window, "start_t_s", None)
        if start is None:
            start = window.t_s - self.monitor.settings.window_s
        runs: tuple[tuple[float, float], ...] | None = None
        if paced_runs is not None:
            runs = tuple((a, b) for a, b in paced_runs if b > start and a < window.t_s)
            paced_until_t_s = max((b for _, b in runs), default=None)
        paced = paced_until_t_s is not None and paced_until_t_s > start
        paced_last = None if not paced else min(paced_until_t_s, window.t_s)
        pacing: dict[str, Any] = {"paced": paced, "paced_last_t_s": paced_last}
        if runs:
            pacing["paced_runs"] = runs
        if self.resonance_rate is not None:
            self.monitor.resonance_bpm = self.resonance_rate(window.t_s)
        local_time = None
        if self._plan_day is not None:
            local_time, quiet = self._plan_day()
            if quiet != self.monitor.settings.quiet_hours:  # the plan's, one set for everything
                self.monitor.settings = dataclasses.replace(
                    self.monitor.settings, quiet_hours=quiet
                )
        events: list[Any] = self.monitor.on_window(
            window,
            local_time=local_time,
            motion_mg=None if self.motion is None else self.motion(window.t_s),
            **pacing,
        )
        if self.monitor.baseline != before:
            self.baseline_dirty = True
        return events

    def act(self, action: str, t_s: float, **kwargs: Any) -> list[Any]:
        """Run a user action.

        One of acknowledge, snooze (minutes=), start_break (kind=), end_break, finish.
        """
        if action not in ("acknowledge", "snooze", "start_break", "end_break", "finish"):
            raise ValueError(f"unknown micro-break action {action!r}")
        duration_s = kwargs.pop("duration_s", None)
        events: list[Any] = getattr(self.monitor, action)(t_s, **kwargs)
        if action == "start_break":
            self.break_ends_at_s = None if duration_s is None else t_s + duration_s
        elif action in ("end_break", "finish"):
            self.break_ends_at_s = None
        return events

    def end_if_due(self, t_s: float) -> list[Any]:
        """End a break with a duration once session time reaches its end (else nothing)."""
        if self.break_ends_at_s is None or t_s < self.break_ends_at_s:
            return []
        self.break_ends_at_s = None
        self.break_paces = False  # its pacer ends at the same time, by its own duration
        if not self.monitor.in_break:
            return []
        events: list[Any] = self.monitor.end_break(t_s)
        return events

    def note(self, events: Sequence[Any]) -> None:
        """Events being published: the banner they leave (the newest decides).

        A break's effect leaves ``measuring`` while another ended break still waits for its
        effect (two breaks close together: the first one's effect comes after the second
        ended), else ``none``.
        """
        for event in events:
            kind = getattr(event, "type", "")
            if kind == "break_ended":
                self._awaiting_effect += 1
            elif kind == "break_effect":
                self._awaiting_effect = max(0, self._awaiting_effect - 1)
            banner = _BANNER_AFTER.get(kind, "none")
            if kind == "break_effect" and self._awaiting_effect:
                banner = "measuring"
            self._banner_after = banner

    @property
    def banner(self) -> payloads.BreakBanner:
        """What the micro-break banner shows now (``payloads.BreakBanner``).

        A running break is ``break`` whatever came since (an earlier break's effect measured
        during it); otherwise the latest published event decides: a flag is ``due``, a break
        ended ``measuring``, an acknowledgement or a snooze ``none``, an effect ``none`` or,
        while a later break's effect is still to come, ``measuring``.
        """
        return "break" if self.monitor.in_break else self._banner_after

    def status(self) -> payloads.MicroBreakStatus:
        """The monitor's current status."""
        return payloads.MicroBreakStatus.model_validate(self.monitor.status)

    def baseline_dict(self) -> dict[str, float]:
        """The monitor's personal baseline as stored (``breathing.Baseline.to_dict``)."""
        data: dict[str, float] = self.monitor.baseline.to_dict()
        return data


#: The banner each kind of micro-break event leaves (others: none).
_BANNER_AFTER: dict[str, payloads.BreakBanner] = {
    "micro_break": "due",
    "break_started": "break",
    "break_ended": "measuring",
}


def make_microbreaks(
    *,
    baseline: dict[str, Any] | None,
    settings: dict[str, Any] | None,
    plan_day: PlanDay | None,
) -> MicroBreaks:
    """Micro-break flags for a session (``breathing.MicroBreakMonitor``).

    ``baseline`` is the stored personal baseline (``Baseline.to_dict``), ``settings`` stored
    overrides of ``MicroBreakSettings``. Quiet hours are the day plan's, in the plan's zone on
    the service's plan clock (``plan_day``: :meth:`api.scheduler.PromptScheduler.plan_day`);
    a session without one (a replay, a command's own session) is never quiet.
    """
    quiet = None if plan_day is None else plan_day()[1]
    usable, dropped = usable_overrides(settings)
    if dropped:  # stored by an older version with wider ranges: the defaults for those
        log.warning("micro-break settings: stored overrides out of range ignored: %s", dropped)
    ms = microbreak_settings(usable, MicroBreakSettings, quiet_hours=quiet)
    monitor = MicroBreakMonitor(
        settings=ms, baseline=None if baseline is None else Baseline.from_dict(baseline)
    )
    return MicroBreaks(monitor, plan_day=plan_day)


def microbreak_settings(
    stored: dict[str, Any] | None, settings_cls: Any, *, quiet_hours: QuietPairs | None = None
) -> Any:
    """``MicroBreakSettings`` from stored JSON overrides, with the day plan's quiet hours.

    Quiet hours are the day plan's (``quiet_hours``; ``None``: the settings' default): a
    ``quiet_hours`` override stored by an older version is not used here; the service moves it
    into the plan at start-up when no plan is stored (``api.dayplan.adopt_old_quiet_hours``).
    """
    kwargs = dict(stored or {})
    kwargs.pop("quiet_hours", None)
    if quiet_hours is not None:
        kwargs["quiet_hours"] = quiet_hours
    return settings_cls(**kwargs)


def usable_overrides(stored: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """The stored overrides that make valid settings, and the names of those left out.

    Overrides stored before a setting's range was narrowed (an upper bound added) would
    otherwise stop every session's micro-breaks; each one the settings refuse is left out (its
    default used) until the next ``PUT /microbreaks/settings`` replaces or clears it.
    """
    usable = dict(stored or {})
    dropped: list[str] = []
    while usable:
        try:
            microbreak_settings(usable, MicroBreakSettings)
            break
        except SettingError as exc:
            if exc.field not in usable:  # a combination (memory_s vs step_s): drop both
                dropped += sorted(usable)
                return {}, dropped
            dropped.append(exc.field)
            del usable[exc.field]
        except (BreathingError, TypeError):  # not a known setting's shape at all
            return {}, sorted(usable)
    return usable, dropped
