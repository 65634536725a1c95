"""A session's micro-break suggestion names the rate its breathing break paces at (review
finding 5): the person's stored resonance rate, then the session's own assessment."""

from __future__ import annotations

from api.pipeline import session_stages
from api.pipeline.microbreaks import MicroBreaks
from api.pipeline.pacing import Pacing, make_pacer
from breathing.engine import practice_rate_bpm
from hrv import LiveAnalyser
from sensors import Beat, SimulatedPerson


def _run(pacer: Pacing, flags: MicroBreaks, seconds: float) -> list[float | None]:
    """A simulated person (resonance 4.8/min) breathing with the pacer; the monitor's rate at
    every window."""
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    person = SimulatedPerson(seed=3, resonance_bpm=4.8, breathing=pacer.breathing_phase_cycles)
    seen: list[float | None] = []
    while person.t_s < seconds:
        b = person.next_beat()  # one at a time: the person follows the pacer as it changes
        pacer.on_beat(Beat(b.t_s, b.rr_ms, arrived_at=0.0, contact=True))
        for w in an.push(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=True):
            flags.on_window(w)
            seen.append(flags.monitor.resonance_bpm)
    return seen


def test_the_monitor_is_told_the_stored_rate_then_the_sessions_assessed_one() -> None:
    pacer = make_pacer("assessment", {}, assessed_rate_bpm=6.2)
    flags = session_stages(pacer=pacer).microbreaks
    assert flags is not None
    seen = _run(pacer, flags, 720.0)  # the 10-min assessment ends within this
    result = pacer.engine.assessment_result
    assert result is not None and result.resonance_bpm is not None
    assert abs(result.resonance_bpm - 6.2) > 0.5  # the premise: the two differ
    assert seen[0] == 6.2 == seen[len(seen) // 2]  # the stored rate while it assesses
    # the break's rate: the found rate as practised (within 4.5-7/min, one decimal)
    assert seen[-1] == practice_rate_bpm(result.resonance_bpm) == pacer.default_rate(720.0)


def test_never_assessed_leaves_the_generic_suggestion() -> None:
    pacer = make_pacer("monitor", {}, assessed_rate_bpm=None)
    flags = session_stages(pacer=pacer).microbreaks
    assert flags is not None
    assert set(_run(pacer, flags, 120.0)) == {None}


def test_practice_and_breaks_pace_a_stored_rate_within_the_paced_range() -> None:
    """A stored rate outside 4.5-7/min (an extrapolated verdict) is practised at the range's
    edge, and the suggestion names that rate: the rate the break paces at."""
    for stored, practised in ((4.25, 4.5), (7.3, 7.0), (5.37, 5.4)):
        pacer = make_pacer("monitor", {}, assessed_rate_bpm=stored)
        assert pacer.default_rate(0.0) == practised
        assert pacer.resonance_rate(0.0) == practised
        guidance = pacer.guidance(0.0)
        assert guidance.rate_bpm == practised  # a practice session without a rate starts there
        pacer.start_adaptive(t_s=1.0, start_rate_bpm=None)  # adaptive: from there too
        assert pacer.guidance(1.0).rate_bpm == practised
