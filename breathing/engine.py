"""The pacing engine facade: one step API for the command line and the live service.

``PacingEngine`` owns a :class:`~breathing.pacer.Pacer` and runs one of three modes:

* ``fixed`` -- pace at a constant rate;
* ``assessment`` -- the stepped resonance assessment (:mod:`breathing.assessment`), then fixed
  pacing (or adaptive pacing) at the assessed rate, or no pacing (``after_assessment``); an
  assessment abandoned before its verdict says so (:class:`AssessmentStopped`);
* ``adaptive`` -- adaptive pacing (:mod:`breathing.adaptive`), one decision per breath;
* ``stopped`` -- no pacing: after :meth:`PacingEngine.stop`, or when a practice started with a
  ``duration_s`` reaches its end (``Guidance.ends_at_s``), which ends it by itself.

Drive it with beats and time::

    engine = PacingEngine(mode=PacingMode.ASSESSMENT)
    person = SimulatedPerson(seed=1, breathing=engine.breathing_phase_cycles)
    for each beat:  events = engine.on_beat(beat.t_s, beat.rr_ms, gap_before=..., contact=...)
    at any time:    engine.guidance(t_s)   # pattern + phase reference + mode + progress
    without beats:  engine.advance(t_s)    # lets steps and breaths complete during a dropout

Every event and the guidance are frozen dataclasses made of numbers, strings, tuples and other
such dataclasses: ``json.dumps(dataclasses.asdict(x))`` always works. Events carry a ``type``.

Only NN beats enter the measures. The live service hands every beat's verdict in
(``on_beat(..., nn=...)`` from :class:`hrv.LiveAnalyser`), so the beat is judged once for the
whole session; without a verdict (a standalone engine) the engine asks its own
:class:`hrv.ArtefactFilter` (no contact, outside 300-2000 ms, or > 20 % from the last accepted
RR, Malik et al. 1989). Pure: time comes in as ``t_s``; nothing reads a clock.

References
----------
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability: rationale and manual for training. Applied Psychophysiology
and Biofeedback, 25(3), 177-191 (the stepped assessment, the adult resonance range 4.5-7/min).
Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
biofeedback as a method for assessing baroreflex function: a preliminary study of resonance in
the cardiovascular system. Applied Psychophysiology and Biofeedback, 27(1), 1-27 (HR's phase
to breathing below, at and above resonance, which adaptive pacing steers on).
Vaschillo, E. G., Vaschillo, B., & Lehrer, P. M. (2006). Characteristics of resonance in heart
rate variability stimulated by biofeedback. Applied Psychophysiology and Biofeedback, 31(2),
129-142 (at resonance HR oscillates in phase with breathing, with the largest amplitude).
Lehrer, P., Kaur, K., Sharma, A., Shah, K., Huseby, R., Bhavsar, J., & Zhang, Y. (2020). Heart
rate variability biofeedback improves emotional and physical health and performance: a
systematic review and meta analysis. Applied Psychophysiology and Biofeedback, 45(3), 109-129
(practice at the assessed rate).
Malik, M., et al. (1989). Influence of the recognition artefact in automatic analysis of
long-term electrocardiograms on time-domain measurement of heart rate variability. Medical &
Biological Engineering & Computing, 27(6), 603-611 (the engine's own NN rule).
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from breathing.adaptive import AdaptiveConfig, AdaptiveDecision, AdaptivePacing, SignalCheck
from breathing.assessment import (
    DELAY_THRESHOLD_S,
    AssessmentProtocol,
    AssessmentResult,
    RateResult,
    analyse_rate,
    choose_resonance,
)
from breathing.errors import BreathingError
from breathing.pacer import BreathingPattern, Pacer
from breathing.pacing_events import (
    PRACTICE_INHALE_TO_EXHALE,
    AdaptiveUpdate,
    AssessmentDone,
    AssessmentProgress,
    AssessmentStepDone,
    AssessmentStopped,
    Guidance,
    ModeChanged,
    PacingEvent,
    PacingMode,
    RateChanged,
)
from hrv.nn_filter import ArtefactFilter
from hrv.resonance import breathing_response
from hrv.rhythm import irregular_rhythm, premature_beats

__all__ = [
    "PRACTICE_INHALE_TO_EXHALE",
    "AdaptiveUpdate",
    "AssessmentDone",
    "AssessmentProgress",
    "AssessmentStepDone",
    "AssessmentStopped",
    "Guidance",
    "ModeChanged",
    "PacingEngine",
    "PacingEvent",
    "PacingMode",
    "RateChanged",
    "practice_rate_bpm",
]

DEFAULT_RATE_BPM = 6.0


def practice_rate_bpm(resonance_bpm: float, *, config: AdaptiveConfig | None = None) -> float:
    """The rate a practice at an assessed resonance rate paces at.

    The rate within the paced range (``config``'s ``min_rate_bpm .. max_rate_bpm``, by default
    4.5-7/min: the assessment's own rates and the adult resonance range, Lehrer et al. 2000),
    to one decimal, half up: the rate as the page shows it, so that a practice "at 5.0" paces
    at 5.0, not at an unshown 4.98 (an extrapolated 4.25 is practised at 4.5). Rounded on whole
    hundredths so that a display rounding the same way (the page's ``practiceRate``) agrees.

    Parameters
    ----------
    resonance_bpm : float
        Assessed resonance rate, breaths/min (finite).
    config : AdaptiveConfig, optional
        Gives the paced range (default :class:`AdaptiveConfig`).

    Returns
    -------
    float
        The rate to practise at, breaths/min.

    Raises
    ------
    BreathingError
        ``resonance_bpm`` is not finite.

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Applied Psychophysiology and
    Biofeedback, 25(3), 177-191 (resonance in adults at 4.5-7 breaths/min).
    """
    if not math.isfinite(resonance_bpm):
        raise BreathingError(f"practice rate: resonance_bpm must be finite, got {resonance_bpm!r}")
    cfg = config or AdaptiveConfig()
    # half up twice, as the page's Math.round does (Python's round is half-even: 5.045 would
    # give 5.0 here and 5.1 on the page)
    hundredths = math.floor(cfg.clamp(resonance_bpm) * 100 + 0.5)
    return ((hundredths + 5) // 10) / 10


#: A breath (or step) is analysed this long after it ends, so that the beat whose interval
#: spans its end has arrived; beat windows are padded by PAD_S on both sides and the measures
#: crop them to whole breaths.
ANALYSIS_LAG_S = 1.5
PAD_S = 3.0


class PacingEngine:
    """Pacer + assessment + adaptive pacing behind one step API (see the module docstring).

    Parameters
    ----------
    mode : PacingMode
        Starting mode.
    rate_bpm : float
        Rate of fixed pacing (and the start of adaptive pacing when not assessed).
    inhale_to_exhale : float
        Breathing pattern (inhale / exhale duration).
    protocol : AssessmentProtocol, optional
        Assessment protocol (default: 6.5-4.5 breaths/min, 2 minutes each).
    adaptive : AdaptiveConfig, optional
        Adaptive pacing settings.
    after_assessment : PacingMode
        Mode once the assessment is done: ``fixed`` or ``adaptive`` at the assessed rate, or
        ``stopped`` (the assessment ends the pacing; :meth:`start_fixed` at
        ``assessment_result.resonance_bpm`` practises at the rate it found).
    t0_s : float
        Start of the session on the beats' timeline (the first inhale onset).

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Applied Psychophysiology and
    Biofeedback, 25(3), 177-191 (the assessment protocol). Vaschillo, E. G., Vaschillo, B., &
    Lehrer, P. M. (2006). Applied Psychophysiology and Biofeedback, 31(2), 129-142 (resonance:
    HR in phase with breathing, largest amplitude; what adaptive pacing steers toward).
    Lehrer, P., et al. (2020). Applied Psychophysiology and Biofeedback, 45(3), 109-129.
    """

    def __init__(
        self,
        *,
        mode: PacingMode = PacingMode.FIXED,
        rate_bpm: float = DEFAULT_RATE_BPM,
        inhale_to_exhale: float = 1.0,
        protocol: AssessmentProtocol | None = None,
        adaptive: AdaptiveConfig | None = None,
        after_assessment: PacingMode = PacingMode.FIXED,
        t0_s: float = 0.0,
    ) -> None:
        if after_assessment is PacingMode.ASSESSMENT:
            raise BreathingError("after_assessment must be 'fixed', 'adaptive' or 'stopped'")
        self.protocol = protocol or AssessmentProtocol()
        self.adaptive_config = adaptive or AdaptiveConfig()
        self.after_assessment = after_assessment
        self._base_ratio = inhale_to_exhale
        self._ratio = inhale_to_exhale
        self._ends_at = math.inf
        self._pacer = Pacer(BreathingPattern(rate_bpm, inhale_to_exhale), t0_s=t0_s)
        self._mode = PacingMode.FIXED
        self._now = t0_s
        # beats (kept for the longest analysis window)
        self._t: list[float] = []
        self._rr: list[float] = []
        self._valid: list[bool] = []
        self._gap: list[bool] = []
        self._no_contact: list[bool] = []
        self._filter = ArtefactFilter()
        # assessment state
        self._step = 0
        self._step_start = t0_s
        self._step_end = math.inf
        self._steps_over = False
        self._pending: list[tuple[int, float, float, BreathingPattern]] = []
        self._table: list[RateResult] = []
        self._assessment: AssessmentResult | None = None
        self._assessing = False
        # adaptive state
        self._controller: AdaptivePacing | None = None
        self._adaptive_start = t0_s
        self._next_onset = math.inf
        self._last_decision: AdaptiveDecision | None = None
        if mode is PacingMode.ASSESSMENT:
            self.start_assessment(t_s=t0_s)
        elif mode is PacingMode.ADAPTIVE:
            self.start_adaptive(t_s=t0_s, start_rate_bpm=rate_bpm)

    # -- read-only views ------------------------------------------------------------------------

    @property
    def mode(self) -> PacingMode:
        """The pacing mode in force now."""
        return self._mode

    @property
    def pacer(self) -> Pacer:
        """The pacer that gives the breathing phase."""
        return self._pacer

    @property
    def rate_bpm(self) -> float:
        """The pacer's current breathing rate (breaths per minute)."""
        return self._pacer.rate_bpm

    @property
    def assessment_result(self) -> AssessmentResult | None:
        """The finished assessment's result, or ``None`` before one has finished."""
        return self._assessment

    def breathing_phase_cycles(self, t_s: float) -> float:
        """The pacer's phase in cycles (hand it to a simulated person as its breathing)."""
        return self._pacer.phase_cycles(t_s)

    def assessment_progress(self, t_s: float) -> AssessmentProgress | None:
        """Where the assessment is at ``t_s``; ``None`` when none has run or is running."""
        n = len(self.protocol.rates_bpm)
        if not self._assessing and self._assessment is None:
            return None
        if not self._assessing:
            return AssessmentProgress(
                n - 1, n, self.protocol.rates_bpm[-1], self._step_start, self._step_end, 1.0, True
            )
        span = self._step_end - self._step_start
        within = min(1.0, max(0.0, (t_s - self._step_start) / span)) if span > 0 else 0.0
        return AssessmentProgress(
            self._step,
            n,
            self.protocol.rates_bpm[self._step],
            self._step_start,
            self._step_end,
            (self._step + within) / n,
            False,
        )

    def guidance(self, t_s: float) -> Guidance:
        """Current pattern, phase and phase reference, mode and progress at ``t_s``."""
        return Guidance(
            t_s=t_s,
            mode=self._mode,
            rate_bpm=self._pacer.pattern_at(t_s).rate_bpm,
            pattern=self._pacer.pattern_at(t_s),
            reference=self._pacer.reference(t_s),
            phase=self._pacer.phase(t_s),
            assessment=self.assessment_progress(t_s),
            adaptive=self._last_decision,
            resonance_bpm=None if self._assessment is None else self._assessment.resonance_bpm,
            ends_at_s=self._ends_at if math.isfinite(self._ends_at) else None,
        )

    # -- mode changes ---------------------------------------------------------------------------

    def _set_mode(self, mode: PacingMode, t_s: float) -> list[PacingEvent]:
        if mode is self._mode:
            return []
        prev, self._mode = self._mode, mode
        return [ModeChanged(t_s, mode, prev)]

    def _set_rate(
        self, rate_bpm: float, t_s: float, reason: str, *, inhale_to_exhale: float | None = None
    ) -> list[PacingEvent]:
        prev = self._pacer.pattern
        pattern = BreathingPattern(rate_bpm, inhale_to_exhale or self._ratio)
        if pattern == prev:
            return []
        self._pacer.set_pattern(pattern, t_s=t_s)
        return [RateChanged(t_s, rate_bpm, prev.rate_bpm, reason, self._pacer.reference(t_s))]

    def _abandon_assessment(self, t_s: float) -> list[PacingEvent]:
        """An assessment still running is abandoned at ``t_s``: say so (else nothing)."""
        if not self._assessing:
            return []
        self._assessing = False
        self._pending = []
        n = len(self.protocol.rates_bpm)
        return [
            AssessmentStopped(
                t_s, self._step, n, self.protocol.rates_bpm[self._step], len(self._table)
            )
        ]

    def _check_time(self, t_s: float) -> float:
        if not math.isfinite(t_s):
            raise BreathingError(f"engine: t_s must be finite, got {t_s!r}")
        return max(t_s, self._now)

    def _practice_ratio(self, inhale_to_exhale: float | None, duration_s: float | None) -> float:
        """Validate a practice's ratio and duration before anything changes."""
        ratio = self._ratio if inhale_to_exhale is None else inhale_to_exhale
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise BreathingError(f"engine: duration_s must be finite and > 0, got {duration_s!r}")
        return ratio

    def start_fixed(
        self,
        rate_bpm: float,
        *,
        t_s: float,
        inhale_to_exhale: float | None = None,
        duration_s: float | None = None,
    ) -> list[PacingEvent]:
        """Pace at ``rate_bpm`` from ``t_s`` on (stops an assessment or adaptive pacing).

        ``inhale_to_exhale`` changes the pattern (default: keep the current one); with
        ``duration_s`` the practice ends by itself at ``t_s + duration_s`` (mode ``stopped``).
        """
        t_s = self._check_time(t_s)
        ratio = self._practice_ratio(inhale_to_exhale, duration_s)
        BreathingPattern(rate_bpm, ratio)  # validate before changing anything
        abandoned = self._abandon_assessment(t_s)
        self._controller = None
        self._ratio = ratio
        self._ends_at = math.inf if duration_s is None else t_s + duration_s
        events = abandoned + self._set_mode(PacingMode.FIXED, t_s)
        return events + self._set_rate(rate_bpm, t_s, "fixed rate")

    def stop(self, *, t_s: float) -> list[PacingEvent]:
        """Stop pacing at ``t_s``.

        An assessment in progress is abandoned, unscored (:class:`AssessmentStopped`).
        """
        t_s = self._check_time(t_s)
        abandoned = self._abandon_assessment(t_s)
        self._controller = None
        self._pending = []
        self._ends_at = math.inf
        return abandoned + self._set_mode(PacingMode.STOPPED, t_s)

    def start_assessment(
        self, *, t_s: float, protocol: AssessmentProtocol | None = None
    ) -> list[PacingEvent]:
        """Start the stepped assessment at ``t_s``.

        Restarts one in progress: that one is abandoned (:class:`AssessmentStopped`).
        """
        t_s = self._check_time(t_s)
        abandoned = self._abandon_assessment(t_s)
        if protocol is not None:
            self.protocol = protocol
        self._controller = None
        self._ends_at = math.inf
        self._ratio = self._base_ratio
        self._assessing = True
        self._assessment = None
        self._table = []
        self._pending = []
        self._steps_over = False
        events = abandoned + self._set_mode(PacingMode.ASSESSMENT, t_s)
        return events + self._begin_step(0, t_s)

    def start_adaptive(
        self,
        *,
        t_s: float,
        start_rate_bpm: float | None = None,
        breathing_delay_s: float | None = None,
        inhale_to_exhale: float | None = None,
        duration_s: float | None = None,
    ) -> list[PacingEvent]:
        """Start adaptive pacing at ``t_s``.

        ``start_rate_bpm`` defaults to the assessed rate as practised (:func:`practice_rate_bpm`:
        within the adaptive range, to one decimal, the rate a fixed practice after the verdict
        paces at), else 6.0; ``breathing_delay_s`` (how
        far the person breathes behind the pacer) to the assessment's estimate when it found a
        clear one (beyond ``DELAY_THRESHOLD_S``), else 0. ``inhale_to_exhale`` and
        ``duration_s`` as for :meth:`start_fixed`.
        """
        t_s = self._check_time(t_s)
        ratio = self._practice_ratio(inhale_to_exhale, duration_s)
        result = self._assessment
        if start_rate_bpm is None:
            assessed = None if result is None else result.resonance_bpm
            start_rate_bpm = (
                DEFAULT_RATE_BPM
                if assessed is None
                else practice_rate_bpm(assessed, config=self.adaptive_config)
            )
        if breathing_delay_s is None:
            d = None if result is None else result.breathing_delay_s
            breathing_delay_s = d if d is not None and abs(d) > DELAY_THRESHOLD_S else 0.0
        controller = AdaptivePacing(
            start_rate_bpm, config=self.adaptive_config, breathing_delay_s=breathing_delay_s
        )  # validates before anything changes
        BreathingPattern(controller.rate_bpm, ratio)
        abandoned = self._abandon_assessment(t_s)
        self._controller = controller
        self._ratio = ratio
        self._ends_at = math.inf if duration_s is None else t_s + duration_s
        events = abandoned + self._set_mode(PacingMode.ADAPTIVE, t_s)
        events += self._set_rate(self._controller.rate_bpm, t_s, "adaptive pacing starts")
        self._adaptive_start = t_s
        self._next_onset = self._pacer.next_inhale_onset(t_s)
        return events

    # -- beats and time -------------------------------------------------------------------------

    def on_beat(
        self,
        t_s: float,
        rr_ms: float,
        *,
        gap_before: bool = False,
        contact: bool | None = None,
        nn: bool | None = None,
    ) -> list[PacingEvent]:
        """Feed one beat (time and RR of the beat); returns the events it caused.

        ``nn`` is the beat's NN verdict when it has been judged already (the session's
        :class:`hrv.LiveAnalyser`, ``last_nn``): the engine then never judges it again. With
        ``None`` the engine's own :class:`hrv.ArtefactFilter` judges it.

        Raises
        ------
        BreathingError
            ``t_s`` not finite or earlier than a previous beat, ``rr_ms`` not finite and > 0.
        """
        if not (math.isfinite(t_s) and math.isfinite(rr_ms) and rr_ms > 0):
            raise BreathingError(f"engine: bad beat t_s={t_s!r}, rr_ms={rr_ms!r}")
        if self._t and t_s < self._t[-1]:
            raise BreathingError(
                f"engine: beat at t_s={t_s} is earlier than the previous one at {self._t[-1]}"
            )
        if nn is None:
            valid = self._filter.accept(rr_ms, contact=contact, gap_before=gap_before)
        else:
            valid = bool(nn)
        self._t.append(t_s)
        self._rr.append(rr_ms)
        self._valid.append(valid)
        self._gap.append(gap_before)
        self._no_contact.append(contact is False)
        return self.advance(t_s)

    def advance(self, t_s: float) -> list[PacingEvent]:
        """Let time pass to ``t_s``: finishes assessment steps and breaths that are due."""
        t_s = self._check_time(t_s)
        self._now = t_s
        events: list[PacingEvent] = []
        if t_s >= self._ends_at:  # a practice with a duration ends by itself
            events += self._end_of_duration(self._ends_at)
            self._trim(t_s)
            return events
        if self._assessing:
            while not self._steps_over and t_s >= self._step_end:
                events += self._end_step(t_s)
            while self._assessing and self._pending and t_s >= self._pending[0][2] + ANALYSIS_LAG_S:
                events += self._analyse_step(t_s, *self._pending.pop(0))
        elif self._controller is not None:
            while t_s >= self._next_onset + ANALYSIS_LAG_S:
                events += self._adaptive_cycle(self._next_onset, t_s)
        self._trim(t_s)
        return events

    # -- internals ------------------------------------------------------------------------------

    def _end_of_duration(self, t_s: float) -> list[PacingEvent]:
        """The practice's duration is over at ``t_s``: stop.

        An adaptive cycle still due is dropped; the stop is dated at the planned end, not at
        the beat that revealed it.
        """
        self._assessing = False
        self._controller = None
        self._ends_at = math.inf
        return self._set_mode(PacingMode.STOPPED, t_s)

    def _trim(self, t_s: float) -> None:
        if len(self._t) < 4000:
            return
        keep_s = max(300.0, self.protocol.step_s + 60.0)
        i = bisect.bisect_left(self._t, t_s - keep_s)
        for buf in (self._t, self._rr, self._valid, self._gap, self._no_contact):
            del buf[:i]
        self._pacer.forget_before(t_s - keep_s)

    def _window(self, lo: float, hi: float) -> slice:
        return slice(bisect.bisect_left(self._t, lo), bisect.bisect_right(self._t, hi))

    def _begin_step(self, index: int, t_s: float) -> list[PacingEvent]:
        rate = self.protocol.rates_bpm[index]
        events = self._set_rate(
            rate,
            t_s,
            f"assessment step {index + 1}/{len(self.protocol.rates_bpm)}",
            inhale_to_exhale=self.protocol.inhale_to_exhale,
        )
        self._step, self._step_start = index, t_s
        # the step ends on the first inhale onset after its nominal length
        self._step_end = self._pacer.next_inhale_onset(t_s + self.protocol.step_s - 1e-9)
        return events

    def _end_step(self, t_s: float) -> list[PacingEvent]:
        """The current step is over: queue its analysis and pace the next rate."""
        lo, hi = self._step_start + self.protocol.settle_s, self._step_end
        self._pending.append((self._step, lo, hi, self._pacer.pattern_at(hi - 1e-9)))
        if self._step + 1 < len(self.protocol.rates_bpm):
            return self._begin_step(self._step + 1, t_s)
        self._steps_over = True
        return []

    def _analyse_step(
        self, t_s: float, step: int, lo: float, hi: float, pattern: BreathingPattern
    ) -> list[PacingEvent]:
        p = self.protocol
        sl = self._window(lo - PAD_S, hi + PAD_S)
        onsets = self._pacer.inhale_onsets(lo, hi)
        row = analyse_rate(
            pattern.rate_bpm,
            t_s=self._t[sl],
            rr_ms=self._rr[sl],
            valid=np.asarray(self._valid[sl], dtype=np.bool_)
            & ~np.asarray(self._no_contact[sl], dtype=np.bool_),
            inhale_onsets_s=onsets,
            pattern=pattern,
            min_quality=p.min_quality,
            min_coherence=p.min_coherence,
            lf_span_s=p.step_s - p.settle_s,  # the same LF segment at every rate
            gap_before=self._gap[sl],
            no_contact=self._no_contact[sl],
        )
        self._table.append(row)
        events: list[PacingEvent] = [AssessmentStepDone(t_s, step, len(p.rates_bpm), row)]
        if not (self._steps_over and not self._pending):
            return events
        result = choose_resonance(self._table)
        self._assessment = result
        self._assessing = False
        events.append(AssessmentDone(t_s, result))
        cfg = self.adaptive_config
        rate = DEFAULT_RATE_BPM if result.resonance_bpm is None else result.resonance_bpm
        rate = practice_rate_bpm(rate, config=cfg)
        if self.after_assessment is PacingMode.ADAPTIVE:
            return events + self.start_adaptive(t_s=t_s, start_rate_bpm=rate)
        if self.after_assessment is PacingMode.STOPPED:
            return events + self._set_mode(PacingMode.STOPPED, t_s)
        events += self._set_mode(PacingMode.FIXED, t_s)
        return events + self._set_rate(rate, t_s, "assessed resonance rate")

    def _adaptive_cycle(self, onset_s: float, now_s: float) -> list[PacingEvent]:
        assert self._controller is not None
        w = self.adaptive_config.window_cycles
        prior = self._pacer.inhale_onsets(self._adaptive_start, onset_s)
        events: list[PacingEvent] = []
        if len(prior) < w + 1:
            decision = self._controller.decide(onset_s, None, SignalCheck(1.0))
        else:
            onsets = prior[-(w + 1) :]
            sl = self._window(onsets[0] - PAD_S, now_s)
            valid = np.asarray(self._valid[sl], dtype=np.bool_)
            n = int(valid.size)
            premature = premature_beats(
                self._rr[sl], gap_before=self._gap[sl], no_contact=self._no_contact[sl]
            )
            signal = SignalCheck(
                quality=float(valid.mean()) if n else 0.0,
                contact_lost=any(self._no_contact[sl]),
                gap=any(self._gap[sl]),
                irregular_rhythm=bool(irregular_rhythm(int(premature.sum()), n)),
            )
            response = None
            if n and int(valid.sum()) >= 6:
                t = np.asarray(self._t[sl])[valid]
                rr = np.asarray(self._rr[sl])[valid]
                fi, fh1, _, fh2 = self._pacer.pattern_at(onset_s - 1e-9).fractions()
                response = breathing_response(
                    rr,
                    t_s=t,
                    inhale_onsets_s=onsets,
                    inhale_fraction=fi,
                    hold_after_inhale_fraction=fh1,
                    hold_after_exhale_fraction=fh2,
                )
            decision = self._controller.decide(onset_s, response, signal)
        self._last_decision = decision
        events.append(AdaptiveUpdate(onset_s, decision))
        if not decision.holding:
            events += self._set_rate(decision.rate_bpm, now_s, decision.reason)
            self._next_onset = self._pacer.next_inhale_onset(now_s)
        else:
            self._next_onset = self._pacer.next_inhale_onset(onset_s)
        return events
