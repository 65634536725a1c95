"""The pacing stage of a session: the facade over ``breathing.PacingEngine``.

- :func:`make_pacer` the pacing facade for a session's mode (monitor, assessment, practice);
- :class:`Pacing`    what the loop and the breathing routes call (start, stop, guidance).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from api import payloads
from breathing.engine import (
    PRACTICE_INHALE_TO_EXHALE,
    PacingEngine,
    PacingMode,
    practice_rate_bpm,
)
from breathing.pacing_events import ModeChanged
from sensors.beat import Beat

__all__ = ["Pacing", "make_pacer"]


class Pacing:
    """The pacing facade of one session, over ``breathing.PacingEngine``.

    Inactive in ``monitor`` mode until a breathing command arrives (start an assessment, set a
    practice rate, go adaptive); then every beat goes to the engine. Times are on the session's
    beat timeline (``t_s``).
    """

    #: Guidance is re-sent at least this often (s of session time) while pacing is active.
    REFRESH_S = 10.0

    def __init__(
        self,
        engine: Any,
        mode_enum: Any,
        *,
        active: bool,
        default_rate_bpm: float = 6.0,
        assessed_rate_bpm: float | None = None,
    ) -> None:
        self.engine = engine
        self._modes = mode_enum
        self.active = active
        #: Called when a breathing command starts pacing (the session wires its source to it).
        self.on_start: Callable[[], None] | None = None
        self.default_rate_bpm = default_rate_bpm
        #: The person's latest stored resonance rate (``None``: never assessed).
        self.assessed_rate_bpm = assessed_rate_bpm
        self.last_sent_t_s = -math.inf
        #: Called when pacing stops (by a command or at the end of a practice's duration).
        self.on_stop: Callable[[], None] | None = None
        #: Session time when pacing last stopped (``None``: not yet).
        self.stopped_at_t_s: float | None = None
        # when the pacer ran: (start, stop) session times, oldest first (a run going: inf);
        # a session that paces from its start (practice, assessment) runs from 0
        self._runs: list[tuple[float, float]] = [(0.0, math.inf)] if active else []
        # when the engine stopped, as its stop event dates it (a practice's planned end, not
        # the beat that revealed it); ``None``: it has not stopped since it last started
        self._engine_stop_t_s: float | None = None

    def _note(self, events: list[Any]) -> list[Any]:
        """Remember when the engine stopped, from its events; the events."""
        for event in events:
            if isinstance(event, ModeChanged) and event.mode is self._modes.STOPPED:
                self._engine_stop_t_s = event.t_s
        return events

    @property
    def paced_until_t_s(self) -> float | None:
        """Session time up to which a pacer ran, for the micro-breaks' "before" windows.

        ``inf`` while it runs, else when it last stopped (``None``: it never ran).
        """
        return math.inf if self.active else self.stopped_at_t_s

    @property
    def paced_runs(self) -> tuple[tuple[float, float], ...]:
        """When the pacer ran: ``(start, stop)`` session times, oldest first.

        A run still going has ``stop`` ``inf``. The micro-breaks count the time it actually
        ran (:meth:`api.pipeline.microbreaks.MicroBreaks.on_window`).
        """
        return tuple(self._runs)

    def default_rate(self, t_s: float) -> float:
        """The rate to pace at when none is asked for (a practice, a breathing break).

        This session's assessed resonance rate, else the person's latest stored one
        (``default_rate_bpm``), else 6/min; an assessed rate as practised
        (:func:`breathing.engine.practice_rate_bpm`: within 4.5-7/min, to one decimal).
        """
        assessed = self.guidance(t_s).resonance_bpm
        return practice_rate_bpm(assessed) if assessed is not None else self.default_rate_bpm

    def resonance_rate(self, t_s: float) -> float | None:
        """The person's resonance rate as known at ``t_s``, as practised (``None``: none).

        This session's assessed rate, else the person's latest stored one, as practised
        (:func:`breathing.engine.practice_rate_bpm`): the rate :meth:`default_rate` paces a
        breathing break at, which a micro-break's suggestion names.
        """
        result = self.engine.assessment_result
        assessed = None if result is None else result.resonance_bpm
        if assessed is None:
            assessed = self.assessed_rate_bpm
        return None if assessed is None else practice_rate_bpm(assessed)

    def breathing_phase_cycles(self, t_s: float) -> float:
        """The pacer's phase in cycles at ``t_s``."""
        phase: float = self.engine.breathing_phase_cycles(t_s)
        return phase

    def on_beat(self, beat: Beat, *, nn: bool | None = None) -> list[Any]:
        """Feed a beat with its NN verdict (``None``: the engine judges it itself)."""
        events: list[Any] = self.engine.on_beat(
            beat.t_s, beat.rr_ms, gap_before=beat.gap_before, contact=beat.contact, nn=nn
        )
        return self._note(events)

    def _activate(self, t_s: float) -> None:
        if not self.active or not self._runs:
            self._runs.append((t_s, math.inf))
        self.active = True
        self._engine_stop_t_s = None
        if self.on_start is not None:
            self.on_start()

    @property
    def stopped(self) -> bool:
        """The engine stopped pacing (after ``stop`` or at the end of a practice's duration)."""
        return bool(self.engine.mode is self._modes.STOPPED)

    def deactivate(self, t_s: float | None = None) -> None:
        """Back to plain monitoring once the stop (published at ``t_s``) has been published.

        The running run of :attr:`paced_runs` (and :attr:`stopped_at_t_s`) ends when the engine
        stopped, as its stop event dates it, when that is before ``t_s``: a practice with a
        duration stops at its planned end, though the beat that reveals it may come much later
        (a beat gap); the gap is not paced time. Without ``t_s`` the run ends where it began:
        when the pacer stopped is not known, so none of its time is counted.
        """
        self.active = False
        if t_s is not None and self._engine_stop_t_s is not None:
            t_s = min(t_s, self._engine_stop_t_s)
        self._engine_stop_t_s = None
        if t_s is not None:
            self.stopped_at_t_s = t_s
        if self._runs and self._runs[-1][1] == math.inf:
            start = self._runs[-1][0]
            stop = start if t_s is None else max(start, t_s)
            self._runs[-1] = (start, stop)
        if self.on_stop is not None:
            self.on_stop()

    def advance(self, t_s: float) -> list[Any]:
        """Let session time pass to ``t_s`` without a beat (the end of a timed session)."""
        events: list[Any] = self.engine.advance(t_s)
        return self._note(events)

    def stop(self, *, t_s: float) -> list[Any]:
        """Stop pacing at ``t_s``; the events that gives."""
        events: list[Any] = self.engine.stop(t_s=t_s)
        return self._note(events)

    def start_fixed(
        self,
        rate_bpm: float,
        *,
        t_s: float,
        inhale_to_exhale: float | None = None,
        duration_s: float | None = None,
    ) -> list[Any]:
        """Pace at a fixed rate from ``t_s`` (for ``duration_s`` when given); the events.

        Pacing becomes active only once the engine accepted the command: a
        :class:`~breathing.BreathingError` leaves the pacer as it was (no run, no ``on_start``).
        """
        events: list[Any] = self.engine.start_fixed(
            rate_bpm, t_s=t_s, inhale_to_exhale=inhale_to_exhale, duration_s=duration_s
        )
        self._activate(t_s)
        return events

    def start_assessment(self, *, t_s: float) -> list[Any]:
        """Start a resonance assessment at ``t_s``; the events that gives (active once accepted)."""
        events: list[Any] = self.engine.start_assessment(t_s=t_s)
        self._activate(t_s)
        return events

    def start_adaptive(
        self,
        *,
        t_s: float,
        start_rate_bpm: float | None,
        inhale_to_exhale: float | None = None,
        duration_s: float | None = None,
    ) -> list[Any]:
        """Pace adaptively from ``t_s`` (at :meth:`default_rate` unless a start rate is given).

        Active once the engine accepted the command, as for :meth:`start_fixed`.
        """
        if start_rate_bpm is None:
            start_rate_bpm = self.default_rate(t_s)
        events: list[Any] = self.engine.start_adaptive(
            t_s=t_s,
            start_rate_bpm=start_rate_bpm,
            inhale_to_exhale=inhale_to_exhale,
            duration_s=duration_s,
        )
        self._activate(t_s)
        return events

    def guidance(self, t_s: float) -> payloads.Guidance:
        """The engine's guidance at ``t_s`` as its payload."""
        return payloads.Guidance.model_validate(self.engine.guidance(t_s))


def make_pacer(
    mode: str, options: dict[str, Any], *, assessed_rate_bpm: float | None = None
) -> Pacing:
    """The pacing facade for a session, over a new ``breathing.PacingEngine``.

    ``mode``: ``monitor`` (inactive until a breathing command), ``assessment`` (the stepped
    resonance assessment) or ``practice`` (fixed at
    ``options["practice_rate_bpm"]``, or adaptive from it when ``options["adaptive"]``).
    Without an explicit rate, practice starts at ``assessed_rate_bpm`` (the person's latest
    stored assessment result, :meth:`api.storage.Storage.latest_resonance_bpm`, as practised:
    :func:`breathing.engine.practice_rate_bpm`), else 6/min.
    An assessment, in any mode, ends the pacing when it has its verdict (the session goes on
    monitoring; a practice at the rate it found is the next command's): the pacer does not go
    on at a rate nobody asked for.
    """
    default_rate = 6.0 if assessed_rate_bpm is None else practice_rate_bpm(assessed_rate_bpm)
    rate = options.get("practice_rate_bpm") or default_rate
    if mode == "assessment":
        engine = PacingEngine(mode=PacingMode.ASSESSMENT, after_assessment=PacingMode.STOPPED)
    else:  # practice, or monitor (whose first breathing command sets what it needs)
        engine = PacingEngine(
            mode=PacingMode.FIXED, rate_bpm=rate, after_assessment=PacingMode.STOPPED
        )
        ratio = options.get("inhale_to_exhale") or PRACTICE_INHALE_TO_EXHALE
        if mode == "practice" and options.get("adaptive"):
            engine.start_adaptive(t_s=0.0, start_rate_bpm=rate, inhale_to_exhale=ratio)
        elif mode == "practice":
            engine.start_fixed(rate, t_s=0.0, inhale_to_exhale=ratio)
    return Pacing(
        engine,
        PacingMode,
        active=mode != "monitor",
        default_rate_bpm=default_rate,
        assessed_rate_bpm=assessed_rate_bpm,
    )
