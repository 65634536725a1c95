"""Practice control in the pacing engine: stop, a duration that ends by itself, inhale:exhale."""

from __future__ import annotations

import pytest

from breathing import BreathingError, PacingEngine, PacingMode
from breathing.engine import PRACTICE_INHALE_TO_EXHALE, ModeChanged
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
        assert [type(e) for e in events] == [ModeChanged]
        assert engine.mode is PacingMode.STOPPED
        g = engine.guidance(61.0)
        assert g.mode is PacingMode.STOPPED and g.ends_at_s is None
        # a stopped assessment is abandoned: no result arrives later
        more = feed(engine, 400.0)
        assert not [e for e in more if getattr(e, "type", "") == "assessment_complete"]
        assert engine.mode is PacingMode.STOPPED


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
