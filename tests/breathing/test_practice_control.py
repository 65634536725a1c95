"""Practice control in the pacing engine: stop, a duration that ends by itself, inhale:exhale."""

from __future__ import annotations

import pytest

from breathing import BreathingError, PacingEngine, PacingMode
from breathing.adaptive import AdaptiveConfig
from breathing.assessment import AssessmentProtocol
from breathing.engine import (
    PRACTICE_INHALE_TO_EXHALE,
    AssessmentDone,
    AssessmentStepDone,
    AssessmentStopped,
    ModeChanged,
    RateChanged,
    practice_rate_bpm,
)
from sensors import SimulatedPerson

_PEOPLE: dict[int, SimulatedPerson] = {}


def feed(engine: PacingEngine, seconds: float) -> list[object]:
    """Beats of a simulated person following the engine's pacer up to ``seconds``."""
    key = id(engine)
    if key not in _PEOPLE:
        _PEOPLE[key] = SimulatedPerson(seed=3, breathing=engine.breathing_phase_cycles)
    person = _PEOPLE[key]
    events: list[object] = []
    for beat in person.beats(seconds):
        events += engine.on_beat(beat.t_s, beat.rr_ms)
    return events


def test_stop_ends_any_mode_and_guidance_says_so() -> None:
    for start in ("fixed", "assessment", "adaptive"):
        engine = PacingEngine()
        if start == "fixed":
            engine.start_fixed(5.5, t_s=0.0)
        elif start == "assessment":
            engine.start_assessment(t_s=0.0)
        else:
            engine.start_adaptive(t_s=0.0)
        feed(engine, 60.0)
        events = engine.stop(t_s=60.0)
        said = [AssessmentStopped, ModeChanged] if start == "assessment" else [ModeChanged]
        assert [type(e) for e in events] == said
        assert engine.mode is PacingMode.STOPPED
        g = engine.guidance(61.0)
        assert g.mode is PacingMode.STOPPED and g.ends_at_s is None
        # a stopped assessment is abandoned: no result arrives later
        more = feed(engine, 400.0)
        assert not [e for e in more if getattr(e, "type", "") == "assessment_complete"]
        assert engine.mode is PacingMode.STOPPED


def test_an_assessment_stopped_in_its_third_step_says_where_and_what_was_done() -> None:
    """The steps analysed before the stop keep their rows; the stop names the running step."""
    engine = PacingEngine(protocol=AssessmentProtocol.screening())
    engine.start_assessment(t_s=0.0)
    done = [e for e in feed(engine, 150.0) if isinstance(e, AssessmentStepDone)]
    assert [e.step_index for e in done] == [0, 1]
    events = engine.stop(t_s=150.0)
    stopped = events[0]
    assert isinstance(stopped, AssessmentStopped)
    assert (stopped.step_index, stopped.n_steps, stopped.rate_bpm, stopped.steps_done) == (
        2,
        5,
        5.5,
        2,
    )
    assert stopped.t_s == 150.0
    assert engine.assessment_result is None
    # stopping again, or stopping a practice, abandons nothing
    assert [type(e) for e in engine.stop(t_s=151.0)] == []


@pytest.mark.parametrize("command", ["start_fixed", "start_adaptive", "start_assessment"])
def test_another_command_during_an_assessment_abandons_it_first(command: str) -> None:
    engine = PacingEngine(protocol=AssessmentProtocol.screening())
    engine.start_assessment(t_s=0.0)
    feed(engine, 70.0)
    if command == "start_fixed":
        events = engine.start_fixed(6.0, t_s=70.0)
    elif command == "start_adaptive":
        events = engine.start_adaptive(t_s=70.0)
    else:
        events = engine.start_assessment(t_s=70.0)
    assert isinstance(events[0], AssessmentStopped)
    assert (events[0].step_index, events[0].steps_done) == (1, 1)
    assert sum(isinstance(e, AssessmentStopped) for e in events) == 1


def test_after_assessment_stopped_ends_the_pacing_with_the_verdict() -> None:
    """``after_assessment=stopped``: the verdict, then the pacer stops; nothing paces at the
    found rate until asked (then the assessed rate is there to ask for)."""
    engine = PacingEngine(
        protocol=AssessmentProtocol.screening(), after_assessment=PacingMode.STOPPED
    )
    engine.start_assessment(t_s=0.0)
    events = feed(engine, 400.0)
    i = next(k for k, e in enumerate(events) if isinstance(e, AssessmentDone))
    after = events[i + 1 :]
    assert [type(e) for e in after] == [ModeChanged]
    assert after[0].mode is PacingMode.STOPPED  # type: ignore[attr-defined]
    assert not any(isinstance(e, RateChanged) for e in after)
    assert engine.mode is PacingMode.STOPPED
    assert engine.assessment_result is not None
    assert engine.guidance(400.0).resonance_bpm == engine.assessment_result.resonance_bpm
    # the default (fixed) still paces on at the assessed rate, as `hrvpace assess` expects
    fixed = PacingEngine(protocol=AssessmentProtocol.screening())
    fixed.start_assessment(t_s=0.0)
    feed(fixed, 400.0)
    assert fixed.mode is PacingMode.FIXED


def test_a_practice_with_a_duration_ends_by_itself_at_its_end() -> None:
    engine = PacingEngine()
    engine.start_fixed(6.0, t_s=10.0, duration_s=120.0)
    assert engine.guidance(11.0).ends_at_s == pytest.approx(130.0)
    events = feed(engine, 200.0)
    stops = [e for e in events if isinstance(e, ModeChanged) and e.mode is PacingMode.STOPPED]
    assert len(stops) == 1
    assert stops[0].t_s == pytest.approx(130.0)  # dated at the planned end, not the next beat
    assert stops[0].previous_mode is PacingMode.FIXED
    assert engine.mode is PacingMode.STOPPED and engine.guidance(200.0).ends_at_s is None


def test_adaptive_with_a_duration_ends_too_and_a_new_start_clears_it() -> None:
    engine = PacingEngine()
    engine.start_adaptive(t_s=0.0, duration_s=90.0)
    feed(engine, 100.0)
    assert engine.mode is PacingMode.STOPPED
    engine.start_fixed(6.0, t_s=100.0)  # no duration: runs until stopped
    assert engine.guidance(101.0).ends_at_s is None
    assert engine.mode is PacingMode.FIXED


def test_inhale_to_exhale_is_carried_in_the_guidance_pattern() -> None:
    engine = PacingEngine()
    engine.start_fixed(6.0, t_s=0.0, inhale_to_exhale=PRACTICE_INHALE_TO_EXHALE)
    g = engine.guidance(1.0)
    assert g.pattern.inhale_to_exhale == pytest.approx(4 / 6)
    assert g.reference.pattern.inhale_to_exhale == pytest.approx(4 / 6)
    # at 6/min a 4:6 breath is 4 s in and 6 s out
    assert g.pattern.fractions()[0] * g.pattern.period_s == pytest.approx(4.0)
    # the ratio stays through adaptive rate changes
    engine.start_adaptive(t_s=2.0)
    assert engine.guidance(3.0).pattern.inhale_to_exhale == pytest.approx(4 / 6)
    # the assessment steps keep the engine's own ratio (1:1 here)
    engine.start_assessment(t_s=4.0)
    assert engine.guidance(5.0).pattern.inhale_to_exhale == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"duration_s": 0.0}, "duration_s"),
        ({"duration_s": float("inf")}, "duration_s"),
        ({"inhale_to_exhale": 0.0}, "inhale_to_exhale"),
    ],
)
def test_bad_practice_options_change_nothing(kwargs: dict[str, float], match: str) -> None:
    engine = PacingEngine()
    engine.start_fixed(5.0, t_s=0.0)
    with pytest.raises(BreathingError, match=match):
        engine.start_fixed(6.0, t_s=1.0, **kwargs)
    assert engine.rate_bpm == 5.0 and engine.mode is PacingMode.FIXED
    assert engine.guidance(2.0).ends_at_s is None


@pytest.mark.parametrize(
    ("resonance", "practised"),
    [
        (5.37, 5.4),
        (4.98, 5.0),  # "Practise at 5.0" paces at 5.0, not at an unshown 4.98
        (5.25, 5.3),  # half up, as the page shows it (not Python's half-even 5.2)
        (5.35, 5.4),  # half up although 5.35 is stored just below it in binary
        (4.25, 4.5),  # an extrapolated rate below the paced range: its slowest rate
        (4.47, 4.5),
        (7.6, 7.0),  # above: its fastest
        (6.0, 6.0),
        (5.045, 5.1),  # half up at the hundredths too, as the page's Math.round (was 5.0)
        (6.445, 6.5),
    ],
)
def test_a_practice_at_an_assessed_rate_is_within_the_paced_range_to_one_decimal(
    resonance: float, practised: float
) -> None:
    assert practice_rate_bpm(resonance) == practised


def test_the_practice_rates_range_is_a_keyword_argument() -> None:
    """``config`` is keyword-only, as the rest of the engine's options (``start_adaptive(*,
    ...)``, ``PacingEngine(*, adaptive=...)``): a positional one is refused, not read as
    something else."""
    narrow = AdaptiveConfig(min_rate_bpm=5.0, max_rate_bpm=6.0)
    assert practice_rate_bpm(4.5, config=narrow) == 5.0
    assert practice_rate_bpm(6.74, config=narrow) == 6.0
    with pytest.raises(TypeError):
        practice_rate_bpm(4.5, narrow)  # type: ignore[misc]


def test_the_practice_rate_of_an_assessment_that_paces_on_is_that_rate() -> None:
    """The engine that paces on after its verdict paces at the practised rate."""
    fixed = PacingEngine(mode=PacingMode.ASSESSMENT)
    person = SimulatedPerson(seed=41, resonance_bpm=5.3, breathing=fixed.breathing_phase_cycles)
    while fixed.assessment_result is None:
        b = person.next_beat()  # one at a time: the person follows the pacer's steps
        fixed.on_beat(b.t_s, b.rr_ms)
    result = fixed.assessment_result
    assert result is not None and result.resonance_bpm is not None
    assert fixed.mode is PacingMode.FIXED
    assert fixed.rate_bpm == practice_rate_bpm(result.resonance_bpm)
    with pytest.raises(BreathingError, match="finite"):
        practice_rate_bpm(float("nan"))


def test_adaptive_pacing_after_an_assessment_starts_at_the_practised_rate() -> None:
    """``start_adaptive()`` without a start rate, after a verdict, starts where a practice at
    the assessed rate paces (:func:`practice_rate_bpm`: in range, one decimal), as the fixed
    practice after the verdict and the service's adaptive start do; it used the raw
    assessed rate (an unshown 5.27 where the page says 5.3)."""
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, after_assessment=PacingMode.STOPPED)
    person = SimulatedPerson(seed=41, resonance_bpm=5.3, breathing=engine.breathing_phase_cycles)
    while engine.assessment_result is None:
        b = person.next_beat()
        engine.on_beat(b.t_s, b.rr_ms)
    assessed = engine.assessment_result.resonance_bpm
    assert assessed is not None
    practised = practice_rate_bpm(assessed)
    assert practised != assessed  # else this would not tell the two apart
    events = engine.start_adaptive(t_s=b.t_s + 1.0)
    assert engine.mode is PacingMode.ADAPTIVE and engine.rate_bpm == practised
    assert [e.rate_bpm for e in events if isinstance(e, RateChanged)] == [practised]
