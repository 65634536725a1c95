"""Adaptive pacing: the per-breath controller, and the engine settling on simulated people."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from breathing import (
    AdaptiveConfig,
    AdaptivePacing,
    AdaptiveUpdate,
    AssessmentProtocol,
    AssessmentStepDone,
    BreathingError,
    Guidance,
    PacingEngine,
    PacingMode,
    RateChanged,
    SignalCheck,
)
from hrv import BreathingResponse
from sensors import SimulatedPerson

GOOD = SignalCheck(quality=1.0)


def response(phase_deg: float | None, coherence: float = 0.9) -> BreathingResponse:
    return BreathingResponse(0.1, 5.0, phase_deg, 1000.0, coherence, 5, 50)


def test_phase_sign_sets_the_direction_and_steps_are_bounded() -> None:
    c = AdaptivePacing(6.0)
    up = c.decide(10.0, response(+10.0), GOOD)  # HR leads: below resonance -> faster
    assert not up.holding and up.rate_bpm == pytest.approx(6.0 + 0.004 * 10)
    down = c.decide(20.0, response(-80.0), GOOD)  # far above: a full, bounded step down
    assert down.step_bpm == pytest.approx(-0.1) and down.rate_bpm == pytest.approx(5.94)
    still = c.decide(30.0, response(2.0), GOOD)
    assert still.holding and "in phase" in still.reason and still.rate_bpm == down.rate_bpm


def test_rate_stays_within_4_5_and_7() -> None:
    c = AdaptivePacing(6.95)
    for i in range(5):
        d = c.decide(float(i), response(60.0), GOOD)
    assert d.rate_bpm == 7.0 and d.holding and "limit" in d.reason
    low = AdaptivePacing(3.0)  # clamped at the start
    assert low.rate_bpm == 4.5


@pytest.mark.parametrize(
    ("signal", "resp", "reason"),
    [
        (SignalCheck(1.0, contact_lost=True), response(40.0), "contact"),
        (SignalCheck(1.0, gap=True), response(40.0), "gap"),
        (SignalCheck(0.5), response(40.0), "quality"),
        (GOOD, response(40.0, coherence=0.1), "not following"),
        (GOOD, None, "not enough"),
        (GOOD, response(None), "not enough"),
    ],
)
def test_holds_still_when_the_signal_cannot_be_trusted(
    signal: SignalCheck, resp: BreathingResponse | None, reason: str
) -> None:
    c = AdaptivePacing(6.0)
    d = c.decide(1.0, resp, signal)
    assert d.holding and d.rate_bpm == 6.0 and reason in d.reason


def test_config_is_validated() -> None:
    with pytest.raises(BreathingError):
        AdaptiveConfig(min_rate_bpm=7.0, max_rate_bpm=4.5)
    with pytest.raises(BreathingError):
        AdaptiveConfig(max_step_bpm=0.0)


def practice(
    resonance_bpm: float,
    *,
    seed: int,
    minutes: float = 10.0,
    follow: bool = True,
    contact: bool | None = True,
    start_rate_bpm: float = 6.0,
) -> tuple[PacingEngine, list[AdaptiveUpdate], list[RateChanged]]:
    engine = PacingEngine(mode=PacingMode.ADAPTIVE, rate_bpm=start_rate_bpm)
    person = SimulatedPerson(
        seed=seed,
        resonance_bpm=resonance_bpm,
        breathing=engine.breathing_phase_cycles if follow else None,
    )
    updates: list[AdaptiveUpdate] = []
    changes: list[RateChanged] = []
    while True:
        b = person.next_beat()
        if b.t_s > minutes * 60.0:
            return engine, updates, changes
        for e in engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=contact):
            if isinstance(e, AdaptiveUpdate):
                updates.append(e)
            elif isinstance(e, RateChanged):
                changes.append(e)


@pytest.mark.parametrize(
    ("resonance_bpm", "seed"), [(4.5, 1), (5.2, 2), (5.8, 3), (6.4, 4), (7.0, 5)]
)
def test_settles_near_the_resonance_anywhere_in_4_5_to_7(resonance_bpm: float, seed: int) -> None:
    engine, updates, changes = practice(resonance_bpm, seed=seed)
    assert abs(engine.rate_bpm - resonance_bpm) <= 0.25
    # and stays there over the last 3 minutes, not just at the end
    tail = [u.decision.rate_bpm for u in updates if u.t_s > 7 * 60.0]
    assert tail and max(abs(r - resonance_bpm) for r in tail) <= 0.3
    # one decision per breath, never a step beyond the bound
    assert all(abs(c.rate_bpm - c.previous_rate_bpm) <= 0.1 + 1e-9 for c in changes)
    assert all(4.5 <= u.decision.rate_bpm <= 7.0 for u in updates)
    breaths = [u.t_s for u in updates]
    intervals = [b - a for a, b in itertools.pairwise(breaths)]
    assert all(60 / 7.0 - 0.2 <= d <= 60 / 4.5 + 0.2 for d in intervals)


def test_starts_from_the_assessed_rate() -> None:
    engine, updates, _ = practice(5.0, seed=6, minutes=1.0, start_rate_bpm=5.1)
    assert updates[0].decision.rate_bpm == pytest.approx(5.1)
    assert engine.mode is PacingMode.ADAPTIVE


def test_holds_when_the_person_does_not_follow_the_pacer() -> None:
    engine, updates, changes = practice(5.0, seed=7, minutes=5.0, follow=False)
    assert engine.rate_bpm == 6.0 and not changes
    assert sum("not following" in u.decision.reason for u in updates) >= len(updates) - 6


def test_holds_when_contact_is_lost() -> None:
    engine, updates, changes = practice(5.0, seed=8, minutes=4.0, contact=False)
    assert engine.rate_bpm == 6.0 and not changes
    assert all(u.decision.holding for u in updates)


def test_pacer_phase_stays_continuous_through_adaptive_changes() -> None:
    engine, _, changes = practice(5.0, seed=9, minutes=4.0)
    assert len(changes) >= 5
    for c in changes:
        eps = 1e-6
        jump = engine.pacer.phase_cycles(c.t_s + eps) - engine.pacer.phase_cycles(c.t_s - eps)
        assert 0.0 < jump < 1e-6


def test_guidance_is_json_serialisable_and_complete() -> None:
    engine, _, _ = practice(5.5, seed=10, minutes=2.0)
    g = engine.guidance(120.0)
    assert isinstance(g, Guidance) and g.mode is PacingMode.ADAPTIVE
    assert g.adaptive is not None and g.reference.rate_bpm == g.rate_bpm
    data = json.loads(json.dumps(dataclasses.asdict(g)))
    assert data["mode"] == "adaptive" and data["reference"]["pattern"]["rate_bpm"] == g.rate_bpm


def test_engine_rejects_out_of_order_beats_and_switches_modes() -> None:
    engine = PacingEngine()
    assert engine.mode is PacingMode.FIXED and engine.rate_bpm == 6.0
    engine.on_beat(10.0, 900.0)
    with pytest.raises(BreathingError, match="earlier"):
        engine.on_beat(9.0, 900.0)
    with pytest.raises(BreathingError, match="bad beat"):
        engine.on_beat(11.0, float("nan"))
    events = engine.start_fixed(5.0, t_s=12.0)
    assert [e.type for e in events] == ["rate_change"] and engine.rate_bpm == 5.0
    events = engine.start_assessment(t_s=13.0)
    assert [e.type for e in events] == ["mode_change", "rate_change"]
    progress = engine.guidance(20.0).assessment
    assert progress is not None and progress.step_index == 0 and progress.rate_bpm == 6.5
    events = engine.start_adaptive(t_s=30.0)
    assert engine.mode is PacingMode.ADAPTIVE and engine.rate_bpm == 6.0
    assert engine.guidance(31.0).assessment is None


def test_dropouts_hold_the_rate_for_the_breaths_they_touch() -> None:
    engine = PacingEngine(mode=PacingMode.ADAPTIVE)
    person = SimulatedPerson(
        seed=21,
        resonance_bpm=5.0,
        breathing=engine.breathing_phase_cycles,
        dropout_rate=0.01,
        dropout_s=(3.0, 6.0),
    )
    gaps, holds_for_gap = [], []
    while True:
        b = person.next_beat()
        if b.t_s > 600.0:
            break
        if b.gap_before:
            gaps.append(b.t_s)
        for e in engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=True):
            if isinstance(e, AdaptiveUpdate) and e.decision.reason == "gap in the signal":
                holds_for_gap.append(e.t_s)
    assert gaps and holds_for_gap
    # every hold for a gap has a gap in its 5-breath window, and the rate still adapts
    assert all(any(0 <= h - g <= 5 * 60 / 4.5 + 5 for g in gaps) for h in holds_for_gap)
    assert engine.rate_bpm < 5.8


def test_time_passing_without_beats_still_ends_the_assessment() -> None:
    engine = PacingEngine(mode=PacingMode.ASSESSMENT)
    events = []
    for t in range(0, 800, 5):
        events += engine.advance(float(t))
    done = [e for e in events if e.type == "assessment_complete"]
    assert len(done) == 1
    assert done[0].result.resonance_bpm is None  # type: ignore[union-attr]
    assert engine.mode is PacingMode.FIXED and engine.rate_bpm == 6.0
    assert [e.type for e in events].count("assessment_step") == 5


def test_known_breathing_delay_corrects_the_phase() -> None:
    # at 6/min a 0.5-s delay is 18 deg: a measured -18 deg is really in phase
    c = AdaptivePacing(6.0, breathing_delay_s=0.5)
    d = c.decide(1.0, response(-18.0), GOOD)
    assert d.holding and "in phase" in d.reason
    plain = AdaptivePacing(6.0).decide(1.0, response(-18.0), GOOD)
    assert not plain.holding and plain.step_bpm < 0
    with pytest.raises(BreathingError, match="breathing_delay_s"):
        AdaptivePacing(6.0, breathing_delay_s=float("nan"))


def test_assessment_then_adaptive_settles_for_a_person_lagging_the_pacer() -> None:
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, after_assessment=PacingMode.ADAPTIVE)
    person = SimulatedPerson(
        seed=41, resonance_bpm=5.3, breathing=engine.breathing_phase_cycles, breathing_lag_s=0.7
    )
    done_at = None
    while True:
        b = person.next_beat()
        for e in engine.on_beat(b.t_s, b.rr_ms):
            if e.type == "assessment_complete":
                done_at = e.t_s
        if done_at is not None and b.t_s > done_at + 600.0:
            break
    assert engine.mode is PacingMode.ADAPTIVE
    assert abs(engine.rate_bpm - 5.3) <= 0.25


def test_long_sessions_keep_bounded_memory() -> None:
    """Four hours of beats and a rate change every minute: history is trimmed, not kept."""
    engine = PacingEngine()
    t = 0.0
    for i in range(4 * 3600):
        t += 1.0
        engine.on_beat(t, 1000.0)
        if i % 60 == 0:
            engine.start_fixed(5.0 if (i // 60) % 2 else 6.0, t_s=t)
    assert len(engine._t) < 4000
    assert len(engine.pacer._segments) < 100  # trimmed with the beats (~hourly here)
    # the phase is still the integral of the rate after trimming
    ref = engine.pacer.reference(t)
    assert engine.pacer.phase_cycles(t + 6.0) == pytest.approx(
        ref.phase_cycles + 6.0 * ref.rate_bpm / 60.0
    )


def test_the_engine_takes_a_given_nn_verdict_and_never_judges_the_beat_again() -> None:
    """In a session the beat is judged once (hrv.LiveAnalyser); the engine takes that verdict.

    The step quality is the share of NN beats: with the engine's own filter the simulated
    person's artefacts lower it; declared all NN it is 1; with every fifth beat declared not
    NN it is ~0.8, although the engine's own filter would have accepted most of those beats."""

    def first_step_quality(verdict: str | None) -> float:
        engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=AssessmentProtocol.screening())
        person = SimulatedPerson(seed=4, breathing=engine.breathing_phase_cycles)
        for i, b in enumerate(person.beats(80.0)):
            nn = None if verdict is None else verdict == "all" or i % 5 != 0
            for e in engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, nn=nn):
                if isinstance(e, AssessmentStepDone):
                    return e.result.quality
        raise AssertionError("no assessment step finished")

    assert 0.9 < first_step_quality(None) < 1.0
    assert first_step_quality("all") == 1.0
    assert first_step_quality("four_in_five") == pytest.approx(0.8, abs=0.02)


def test_low_quality_from_the_rhythm_is_named_not_blamed_on_the_strap() -> None:
    c = AdaptivePacing(6.0)
    poor = c.decide(10.0, response(+10.0), SignalCheck(quality=0.5))
    assert poor.holding and poor.reason == "poor signal quality (50%)"
    rhythm = c.decide(20.0, response(+10.0), SignalCheck(quality=0.5, irregular_rhythm=True))
    assert rhythm.holding and rhythm.rate_bpm == 6.0
    assert rhythm.reason.startswith("irregular heartbeat: frequent early beats")
    assert "not a strap problem" in rhythm.reason and "50%" in rhythm.reason
    # a lost contact or a gap still comes first: those are the signal's
    lost = c.decide(
        30.0, response(+10.0), SignalCheck(0.5, contact_lost=True, irregular_rhythm=True)
    )
    assert lost.reason == "contact lost"
