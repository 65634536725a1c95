"""The breathing pacer: phase continuity through rate changes, stages, reference, onsets."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breathing import BreathingError, BreathingPattern, BreathStage, Pacer
from breathing.pacer import PacerReference
from hrv.resonance import lung_volume_at

changes = st.lists(st.tuples(st.floats(0.5, 120.0), st.floats(3.0, 12.0)), min_size=1, max_size=12)


def build(start_rate: float, steps: list[tuple[float, float]]) -> tuple[Pacer, list[float]]:
    pacer = Pacer(BreathingPattern(start_rate))
    t, times = 0.0, []
    for dt, rate in steps:
        t += dt
        pacer.set_rate(rate, t_s=t)
        times.append(t)
    return pacer, times


@given(start=st.floats(3.0, 12.0), steps=changes)
@settings(max_examples=100, deadline=None)
def test_phase_is_continuous_and_increasing_through_rate_changes(
    start: float, steps: list[tuple[float, float]]
) -> None:
    pacer, times = build(start, steps)
    eps = 1e-6
    for t in times:
        before, at, after = (
            pacer.phase_cycles(t - eps),
            pacer.phase_cycles(t),
            pacer.phase_cycles(t + eps),
        )
        # no jump: the left and right limits agree to the slope times eps
        assert abs(at - before) < 12.0 / 60.0 * eps * 1.01 + 1e-9
        assert abs(after - at) < 12.0 / 60.0 * eps * 1.01 + 1e-9
    grid = [i * 0.37 for i in range(int((times[-1] + 30) / 0.37))]
    phases = [pacer.phase_cycles(x) for x in grid]
    assert all(b > a for a, b in itertools.pairwise(phases))


def page_volume(ref: PacerReference, t_s: float) -> float:
    """Lung volume as api/static/js/pacer.js computes it: phaseAt(ref, t) then breathAt."""
    phase = ref.phase_cycles + (t_s - ref.t_s) * ref.rate_bpm / 60.0
    fi, fh1, _, fh2 = ref.pattern.fractions()
    return lung_volume_at(
        phase, inhale_fraction=fi, hold_after_inhale_fraction=fh1, hold_after_exhale_fraction=fh2
    )


@given(
    start=st.floats(3.0, 12.0),
    steps=changes,
    ratio=st.floats(0.5, 2.0),
    holds=st.tuples(st.floats(0.0, 1.2), st.floats(0.0, 1.2)),
)
@settings(max_examples=100, deadline=None)
def test_lung_volume_is_continuous_through_rate_changes_with_holds(
    start: float, steps: list[tuple[float, float]], ratio: float, holds: tuple[float, float]
) -> None:
    """Holds keep their seconds, so the stage shares change with the rate: a change keeps the
    cycle, the stage and the share of it elapsed, and the lung volume does not jump."""
    pattern = BreathingPattern(
        start, inhale_to_exhale=ratio, hold_after_inhale_s=holds[0], hold_after_exhale_s=holds[1]
    )
    pacer = Pacer(pattern)
    t, times = 0.0, []
    for dt, rate in steps:
        t += dt
        old_ref = pacer.reference(t)  # what the page animates from until the change
        before = pacer.phase(t)
        pacer.set_rate(rate, t_s=t)
        times.append(t)
        at, after = pacer.phase(t), pacer.phase(t + 1e-6)
        # the volume's slope is at most (pi / 2) / inhale duration (> 0.8 s here): < 2 per second
        assert at.lung_volume == pytest.approx(before.lung_volume, abs=1e-9)
        assert after.lung_volume == pytest.approx(at.lung_volume, abs=1e-5)
        assert at.cycle_index == before.cycle_index or (
            at.phase_cycles == at.cycle_index and before.fraction > 1.0 - 1e-9
        )
        if 1e-9 < before.stage_progress < 1.0 - 1e-9:
            assert at.stage is before.stage
            assert at.stage_progress == pytest.approx(before.stage_progress, abs=1e-9)
        # the page switches to the new reference at the change: no jump on the page either
        new_ref = pacer.reference(t)
        assert page_volume(new_ref, t) == pytest.approx(page_volume(old_ref, t), abs=1e-9)
        assert page_volume(new_ref, t + 0.4) == pytest.approx(
            pacer.phase(t + 0.4).lung_volume, abs=1e-9
        )
    # inhale onsets still strictly increase through every change
    onsets = pacer.inhale_onsets(0.0, t + 30.0)
    assert all(b > a for a, b in itertools.pairwise(onsets))


def test_the_reported_hold_case_keeps_the_volume() -> None:
    # 6 -> 4.5/min with a 1-s hold after the inhale, 0.8 s into the exhale: the old pacer kept
    # the phase and the volume fell from 0.990 to 0.979 (0.966 later in the exhale)
    pacer = Pacer(BreathingPattern(6.0, hold_after_inhale_s=1.0))
    t = 5.8
    before = pacer.phase(t)
    assert before.stage is BreathStage.EXHALE and before.lung_volume == pytest.approx(
        0.989, abs=1e-3
    )
    pacer.set_rate(4.5, t_s=t)
    after = pacer.phase(t)
    assert after.lung_volume == pytest.approx(before.lung_volume, abs=1e-12)
    assert after.stage_progress == pytest.approx(before.stage_progress, abs=1e-12)
    # the rest of the exhale takes its share of the new length: 4.5 s at 6/min -> 6.17 s
    exhale_s = pacer.pattern.fractions()[2] * pacer.pattern.period_s
    assert exhale_s == pytest.approx((40.0 / 3.0 - 1.0) / 2.0)
    remaining_s = (1.0 - after.stage_progress) * exhale_s
    assert pacer.phase(t + remaining_s - 1e-6).stage is BreathStage.EXHALE
    assert pacer.next_inhale_onset(t) == pytest.approx(t + remaining_s)


@given(start=st.floats(3.0, 12.0), steps=changes)
@settings(max_examples=100, deadline=None)
def test_phase_is_the_integral_of_the_rate(start: float, steps: list[tuple[float, float]]) -> None:
    pacer, times = build(start, steps)
    expected, t_prev, rate = 0.0, 0.0, start
    for t, (_, new_rate) in zip(times, steps, strict=True):
        expected += (t - t_prev) * rate / 60.0
        assert pacer.phase_cycles(t) == pytest.approx(expected, abs=1e-9)
        t_prev, rate = t, new_rate
    assert pacer.phase_cycles(t_prev + 10.0) == pytest.approx(expected + 10.0 * rate / 60.0)


@given(start=st.floats(3.0, 12.0), steps=changes, t=st.floats(0.0, 1500.0))
@settings(max_examples=100, deadline=None)
def test_reference_lets_an_app_reproduce_the_phase(
    start: float, steps: list[tuple[float, float]], t: float
) -> None:
    pacer, times = build(start, steps)
    ref = pacer.reference(t)
    later = t + 3.0
    if any(t < x <= later for x in times):
        return  # a change in between: the app gets a new reference then
    predicted = ref.phase_cycles + (later - ref.t_s) * ref.rate_bpm / 60.0
    assert pacer.phase_cycles(later) == pytest.approx(predicted, abs=1e-9)
    # the onset is where the current rate, extrapolated back, puts a whole cycle
    back = ref.phase_cycles - (ref.t_s - ref.inhale_onset_t_s) * ref.rate_bpm / 60.0
    assert back == pytest.approx(math.floor(ref.phase_cycles), abs=1e-9)
    assert 0.0 <= ref.t_s - ref.inhale_onset_t_s < 60.0 / ref.rate_bpm


def test_stages_follow_ratio_and_holds() -> None:
    # 6/min: a 10-s breath = 3 s inhale, 1 s hold, 5 s exhale, 1 s hold (ratio 3:5)
    pattern = BreathingPattern(
        6.0, inhale_to_exhale=0.6, hold_after_inhale_s=1.0, hold_after_exhale_s=1.0
    )
    pacer = Pacer(pattern, t0_s=100.0)
    expect = [
        (100.0, BreathStage.INHALE, 0.0),
        (101.5, BreathStage.INHALE, 0.0),
        (103.5, BreathStage.HOLD_AFTER_INHALE, 1.0),
        (106.5, BreathStage.EXHALE, None),
        (109.5, BreathStage.HOLD_AFTER_EXHALE, 0.0),
    ]
    for t, stage, volume in expect:
        ph = pacer.phase(t)
        assert ph.stage is stage, t
        if volume is not None:
            assert ph.lung_volume == pytest.approx(volume if t != 101.5 else 0.5, abs=1e-9)
    assert pacer.phase(101.5).stage_progress == pytest.approx(0.5)
    assert pacer.phase(106.5).stage_progress == pytest.approx(0.5)
    assert pacer.phase(113.0).cycle_index == 1


def test_inhale_onsets_across_changes() -> None:
    pacer = Pacer(BreathingPattern(6.0))
    pacer.set_rate(4.0, t_s=25.0)  # phase 2.5 at 25 s, then 15-s breaths
    onsets = pacer.inhale_onsets(0.0, 60.0)
    assert onsets == pytest.approx((0.0, 10.0, 20.0, 32.5, 47.5))
    assert pacer.next_inhale_onset(47.5) == pytest.approx(62.5)
    assert pacer.next_inhale_onset(30.0) == pytest.approx(32.5)


def test_history_is_never_rewritten_and_patterns_are_validated() -> None:
    pacer = Pacer(BreathingPattern(6.0))
    pacer.set_rate(5.0, t_s=30.0)
    with pytest.raises(BreathingError, match="before the latest change"):
        pacer.set_rate(5.5, t_s=20.0)
    with pytest.raises(BreathingError, match="rate_bpm"):
        BreathingPattern(0.0)
    with pytest.raises(BreathingError, match="holds"):
        BreathingPattern(6.0, hold_after_inhale_s=4.0, hold_after_exhale_s=2.0)
    with pytest.raises(BreathingError, match="inhale_to_exhale"):
        BreathingPattern(6.0, inhale_to_exhale=0.0)


def test_outputs_are_json_serialisable() -> None:
    pacer = Pacer(BreathingPattern(5.5, inhale_to_exhale=0.8))
    for obj in (pacer.reference(12.3), pacer.phase(12.3)):
        text = json.dumps(dataclasses.asdict(obj))
        assert "rate_bpm" in text
