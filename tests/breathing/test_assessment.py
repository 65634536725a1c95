"""Resonance assessment: the engine against simulated people, and the choice on known tables."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breathing import (
    AssessmentDone,
    AssessmentProtocol,
    AssessmentResult,
    AssessmentStepDone,
    BreathingError,
    PacingEngine,
    PacingEvent,
    PacingMode,
    RateChanged,
    RateResult,
    analyse_rate,
    choose_resonance,
)
from breathing.engine import practice_rate_bpm
from breathing.resonance_choice import IRREGULAR_RHYTHM_NOTE, LOW_COHERENCE_NOTE
from sensors import SimulatedPerson


def run_assessment(
    resonance_bpm: float,
    *,
    seed: int,
    protocol: AssessmentProtocol | None = None,
    contact_ok: bool = True,
    follow: bool = True,
) -> tuple[AssessmentResult, list[PacingEvent], PacingEngine]:
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=protocol)
    person = SimulatedPerson(
        seed=seed,
        resonance_bpm=resonance_bpm,
        breathing=engine.breathing_phase_cycles if follow else None,
    )
    events: list[PacingEvent] = []
    for _ in range(5000):
        b = person.next_beat()
        new = engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=contact_ok)
        events += new
        for e in new:
            if isinstance(e, AssessmentDone):
                return e.result, events, engine
    raise AssertionError("assessment never finished")


@pytest.mark.parametrize(
    ("resonance_bpm", "seed"), [(4.5, 1), (4.8, 2), (5.2, 3), (5.5, 4), (5.9, 5), (6.5, 6)]
)
def test_finds_the_simulated_resonance_within_a_quarter_breath(
    resonance_bpm: float, seed: int
) -> None:
    result, events, engine = run_assessment(resonance_bpm, seed=seed)
    assert result.resonance_bpm is not None
    assert abs(result.resonance_bpm - resonance_bpm) <= 0.25, result.reason
    assert [r.rate_bpm for r in result.rates] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(r.usable and r.n_cycles >= 6 for r in result.rates)  # 90 s analysed per rate
    assert result.reason and result.method in {"phase_crossing", "phase_extrapolated"}
    # the engine then paces at the assessed rate as practised (4.5-7/min, one decimal)
    assert engine.mode is PacingMode.FIXED
    assert engine.rate_bpm == practice_rate_bpm(result.resonance_bpm)
    assert abs(engine.rate_bpm - min(7.0, max(4.5, result.resonance_bpm))) <= 0.05
    steps = [e for e in events if isinstance(e, AssessmentStepDone)]
    assert [s.step_index for s in steps] == [0, 1, 2, 3, 4]


def test_table_shows_the_resonance_curve() -> None:
    result, events, _ = run_assessment(5.5, seed=11)
    by_rate = {r.rate_bpm: r for r in result.rates}
    ptt = {k: v.peak_to_trough_bpm for k, v in by_rate.items()}
    assert max(ptt, key=lambda k: ptt[k] or 0.0) in (5.0, 5.5, 6.0)
    assert by_rate[4.5].phase_deg > 20.0  # type: ignore[operator]  # HR leads below
    assert by_rate[6.5].phase_deg < -20.0  # type: ignore[operator]  # and lags above
    names = {c.name for c in result.criteria}
    assert {"phase_zero_crossing", "max_peak_to_trough", "max_lf_power", "max_lf_peak"} <= names
    lf_rate = next(c.rate_bpm for c in result.criteria if c.name == "max_lf_power")
    assert lf_rate is not None and abs(lf_rate - 5.5) <= 0.5
    # rate changes happen at step boundaries, ~2 minutes apart
    changes = [e.t_s for e in events if isinstance(e, RateChanged)]
    gaps = [b - a for a, b in itertools.pairwise(changes)][:4]
    assert all(118.0 <= g <= 135.0 for g in gaps), gaps
    json.dumps(dataclasses.asdict(result))  # serialisable as is


def test_screening_variant_is_shorter_and_still_close() -> None:
    result, events, _ = run_assessment(5.5, seed=12, protocol=AssessmentProtocol.screening())
    done = next(e for e in events if isinstance(e, AssessmentDone))
    assert done.t_s < 6 * 60.0
    assert result.resonance_bpm is not None and abs(result.resonance_bpm - 5.5) <= 0.35


def test_no_contact_means_no_answer_not_a_wrong_one() -> None:
    result, _, engine = run_assessment(5.5, seed=13, contact_ok=False)
    assert result.resonance_bpm is None
    assert all(not r.usable for r in result.rates)
    assert "usable" in result.reason and "good contact" in result.reason
    assert "physiology" not in result.reason
    assert engine.rate_bpm == 6.0  # falls back to the default rate


def test_person_not_following_the_pacer_is_not_used() -> None:
    result, _, _ = run_assessment(5.5, seed=14, follow=False)
    assert sum(r.usable for r in result.rates) <= 2
    assert result.resonance_bpm is None
    # a clean signal that does not follow the pacer is not blamed on the contact
    assert "did not follow the breathing although the signal was clean" in result.reason
    assert "good contact" not in result.reason


def row(rate: float, phase: float | None, ptt: float | None, usable: bool = True) -> RateResult:
    return RateResult(
        rate_bpm=rate,
        peak_to_trough_bpm=ptt,
        amplitude_bpm=None if ptt is None else ptt / 2,
        phase_deg=phase,
        breathing_power_ms2=None,
        coherence=0.9,
        lf_power_ms2=ptt,
        lf_peak_hz=rate / 60,
        lf_peak_density_ms2_per_hz=ptt,
        n_cycles=10,
        n_beats=100,
        quality=1.0,
        usable=usable,
    )


def test_choice_interpolates_the_phase_zero_crossing() -> None:
    table = [
        row(6.5, -40, 10),
        row(6.0, -20, 13),
        row(5.5, 10, 15),
        row(5.0, 30, 12),
        row(4.5, 50, 9),
    ]
    r = choose_resonance(table)
    assert r.method == "phase_crossing"
    assert r.resonance_bpm == pytest.approx(5.5 + 0.5 * 10 / 30, abs=0.01)
    assert r.single_peak
    assert "5.5" in r.reason and "6" in r.reason


def _single_smooth_peak(r: AssessmentResult) -> tuple[float | None, str]:
    (c,) = [c for c in r.criteria if c.name == "single_smooth_peak"]
    return c.rate_bpm, c.detail


def test_single_smooth_peak_is_claimed_only_for_an_interior_peak() -> None:
    interior = choose_resonance(
        [row(6.5, -40, 10), row(6.0, -20, 13), row(5.5, 10, 15), row(5.0, 30, 12), row(4.5, 50, 9)]
    )
    assert interior.single_peak
    rate, detail = _single_smooth_peak(interior)
    assert rate is not None and "rises then falls" in detail and "5.5/min" in detail
    # largest at the highest rate: the curve only rises, the peak is not seen
    rising = choose_resonance(
        [
            row(6.5, -5, 16),
            row(6.0, 10, 14.5),
            row(5.5, 25, 13.4),
            row(5.0, 40, 12.4),
            row(4.5, 55, 9.1),
        ]
    )
    falling = choose_resonance(
        [
            row(6.5, -60, 9),
            row(6.0, -45, 11),
            row(5.5, -30, 13),
            row(5.0, -15, 14),
            row(4.5, -5, 16),
        ]
    )
    for r, edge in ((rising, "6.5/min"), (falling, "4.5/min")):
        assert not r.single_peak
        rate, detail = _single_smooth_peak(r)
        assert rate is None
        assert "rises then falls" not in detail and "edge" in detail and edge in detail
    assert "only rises" in _single_smooth_peak(rising)[1]
    assert "only falls" in _single_smooth_peak(falling)[1]
    few = choose_resonance(
        [row(6.5, -40, 10), row(6.0, -20, None), row(5.5, 10, 15), row(5.0, 30, None)]
    )
    assert not few.single_peak and "more than one peak" not in _single_smooth_peak(few)[1]


def test_single_smooth_peak_says_rises_then_falls_only_when_it_does() -> None:
    """The review's table (`hrvpace assess --simulate --resonance-bpm 6.25 --seed 10`): peak-to-
    trough 11.3, 11.9, 15.8, 15.4, 15.6 at 4.5-6.5/min dips and rises again within 10 %: one
    peak within that tolerance, but not a curve that "rises then falls"."""
    bumpy = choose_resonance(
        [
            row(6.5, -8, 15.6),
            row(6.0, 14, 15.4),
            row(5.5, 33, 15.8),
            row(5.0, 46, 11.9),
            row(4.5, 62, 11.3),
        ]
    )
    rate, detail = _single_smooth_peak(bumpy)
    assert bumpy.single_peak and rate is not None
    assert "rises then falls" not in detail
    assert "one peak at 5.5/min" in detail and "within 10%" in detail
    assert "rises again from 15.40 at 6 to 15.60 bpm at 6.5/min" in detail
    # a dip before an edge maximum: not "only rises"
    edge = choose_resonance(
        [row(6.5, 5, 16), row(6.0, 20, 14.5), row(5.5, 35, 14.8), row(5.0, 50, 12), row(4.5, 60, 9)]
    )
    rate, detail = _single_smooth_peak(edge)
    assert not edge.single_peak and rate is None
    assert "only rises" not in detail and "highest rate of the grid" in detail
    assert "dips from 14.80 at 5.5 to 14.50 bpm at 6/min" in detail


def test_resonance_near_the_grid_edge_does_not_claim_a_single_interior_peak() -> None:
    # what `hrvpace assess --simulate --resonance-bpm 6.3` shows: peak-to-trough is largest at
    # 6.5/min, the edge, while the phase crossing finds 6.3 inside the grid
    result, _, _ = run_assessment(6.3, seed=1)
    assert result.resonance_bpm == pytest.approx(6.3, abs=0.25)
    ptt = {r.rate_bpm: r.peak_to_trough_bpm or 0.0 for r in result.rates}
    assert max(ptt, key=lambda k: ptt[k]) == 6.5  # the scenario: largest at the edge
    rate, detail = _single_smooth_peak(result)
    assert not result.single_peak and rate is None
    assert "rises then falls" not in detail and "edge" in detail


def test_choice_extrapolates_at_most_half_a_step_beyond_the_grid() -> None:
    table = [row(6.5, 5, 15), row(6.0, 25, 13), row(5.5, 45, 11), row(5.0, 60, 9)]
    r = choose_resonance(table)
    assert r.method == "phase_extrapolated"
    assert r.resonance_bpm == pytest.approx(6.5 + 0.5 * 5 / 20, abs=0.01)
    far = choose_resonance([row(6.5, 60, 15), row(6.0, 61, 13), row(5.5, 62, 11)])
    assert far.resonance_bpm == pytest.approx(6.75)


def test_choice_falls_back_to_the_amplitude_peak_when_phase_is_noisy() -> None:
    table = [
        row(6.5, -10, 9),
        row(6.0, 10, 11),
        row(5.5, -10, 16),
        row(5.0, 10, 14),
        row(4.5, 30, 10),
    ]
    r = choose_resonance(table)
    assert r.method == "amplitude_peak"
    assert 5.25 <= (r.resonance_bpm or 0) <= 5.75
    assert "noisy" in r.reason


def test_unusable_rows_are_ignored_and_too_few_give_no_answer() -> None:
    table = [row(6.5, -40, 10), row(6.0, -20, 13, usable=False), row(5.5, 10, 15), row(5.0, 30, 12)]
    r = choose_resonance(table)
    assert r.resonance_bpm == pytest.approx(5.5 + 1.0 * 10 / 50, abs=0.01)  # 6.0 skipped
    assert len(r.rates) == 4  # the table keeps every row
    none = choose_resonance(table[:2])
    assert none.resonance_bpm is None and none.method == "none"


def test_too_few_rates_name_the_rates_and_what_failed() -> None:
    """Steps that failed only for coherence are physiology-or-pacer, the others contact."""
    low_coh = dataclasses.replace(
        row(5.0, None, 1, usable=False), coherence=0.1, note=LOW_COHERENCE_NOTE
    )
    noisy = dataclasses.replace(
        row(4.5, None, 1, usable=False), quality=0.5, note="signal quality 50% below 80%"
    )
    table = [
        row(6.5, -40, 10),
        row(6.0, -20, 13),
        low_coh,
        dataclasses.replace(low_coh, rate_bpm=5.5),
    ]
    r = choose_resonance(table)
    assert r.resonance_bpm is None
    assert "at 5, 5.5/min the heart rate did not follow the breathing" in r.reason
    assert "the rates that responded were 6, 6.5/min" in r.reason
    assert "good contact" not in r.reason
    r2 = choose_resonance([*table, noisy])
    assert "at 4.5/min the signal was not clean enough" in r2.reason
    # a step whose quality fell from frequent early beats names the rhythm, not the contact
    early = dataclasses.replace(noisy, note=f"{IRREGULAR_RHYTHM_NOTE} (signal quality 50%)")
    r3 = choose_resonance([*table, early])
    assert "at 4.5/min frequent early heartbeats" in r3.reason
    assert "the rhythm, not the contact" in r3.reason and "good contact" not in r3.reason
    assert "good contact" in r2.reason


def test_protocol_is_validated() -> None:
    with pytest.raises(BreathingError, match="at least 3"):
        AssessmentProtocol(rates_bpm=(6.0, 5.0))
    with pytest.raises(BreathingError, match="settle_s"):
        AssessmentProtocol(step_s=60.0, settle_s=50.0)


@given(
    resonance=st.floats(4.3, 6.7),
    q=st.floats(1.5, 4.0),
    noise=st.lists(st.floats(-3.0, 3.0), min_size=5, max_size=5),
)
@settings(max_examples=60, deadline=None)
def test_choice_on_an_ideal_resonator_is_within_0_15(
    resonance: float, q: float, noise: list[float]
) -> None:
    """Tables from the band-pass model itself (+-3 deg of phase noise), resonance near the grid."""
    rows = []
    for rate, e in zip((6.5, 6.0, 5.5, 5.0, 4.5), noise, strict=True):
        x = resonance / rate - rate / resonance
        phase = math.degrees(math.atan(q * x)) + e
        gain = 1.0 / math.sqrt(1.0 + (q * x) ** 2)
        rows.append(row(rate, phase, 15.0 * gain))
    r = choose_resonance(rows)
    assert r.resonance_bpm is not None
    # At an edge of the grid the crossing comes from the two outermost rates alone (or is
    # extrapolated half a step beyond them), so one rate's 3 deg of noise moves it further on a
    # broad (q = 1.5) resonance: hypothesis found 6.5625/min chosen as 6.72 with +3 deg at
    # 6.5/min. Such results say so (``range_edge``) and are held to 0.2; inside, 0.15.
    bound = 0.2 if r.range_edge is not None else 0.15
    assert abs(r.resonance_bpm - resonance) <= bound, (r.method, r.reason, r.range_edge)


@pytest.mark.parametrize(("resonance_bpm", "seed"), [(4.8, 21), (5.5, 22), (6.3, 23)])
def test_a_person_lagging_the_pacer_is_corrected_by_the_resonator_fit(
    resonance_bpm: float, seed: int
) -> None:
    """0.7 s behind the pacer moves the phase crossing ~0.4/min down; the fit undoes it."""
    engine = PacingEngine(mode=PacingMode.ASSESSMENT)
    person = SimulatedPerson(
        seed=seed,
        resonance_bpm=resonance_bpm,
        breathing=engine.breathing_phase_cycles,
        breathing_lag_s=0.7,
    )
    result = None
    while result is None:
        b = person.next_beat()
        for e in engine.on_beat(b.t_s, b.rr_ms):
            if isinstance(e, AssessmentDone):
                result = e.result
    crossing = next(c.rate_bpm for c in result.criteria if c.name == "phase_zero_crossing")
    assert crossing is not None and crossing < resonance_bpm - 0.2  # the bias is real
    assert result.method == "resonator_fit", result.reason
    assert result.resonance_bpm is not None
    assert abs(result.resonance_bpm - resonance_bpm) <= 0.25
    assert result.breathing_delay_s == pytest.approx(0.7, abs=0.3)
    assert "behind the pacer" in result.reason


def test_asymmetric_breathing_pattern_4_in_6_out() -> None:
    """Shaffer & Meehan's 4:6 inhale:exhale pattern: the volume reference follows the pattern."""
    protocol = AssessmentProtocol(inhale_to_exhale=4 / 6)
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=protocol)
    assert engine.pacer.pattern.inhale_to_exhale == pytest.approx(4 / 6)
    person = SimulatedPerson(
        seed=51, resonance_bpm=5.2, breathing=engine.breathing_phase_cycles, inhale_fraction=0.4
    )
    while engine.assessment_result is None:
        b = person.next_beat()
        engine.on_beat(b.t_s, b.rr_ms)
    result = engine.assessment_result
    assert result.resonance_bpm is not None and abs(result.resonance_bpm - 5.2) <= 0.25


# -- short steps: what a 1-minute step supports ------------------------------------------------


def _uses(r: RateResult) -> dict[str, bool]:
    return {c.name: c.used for c in r.criteria}


def test_screening_steps_say_which_criteria_they_serve() -> None:
    """A 1-min step leaves ~40 s: LF power (>= 30 s) at every rate, the LF peak (>= 60 s) at
    none, and the choice leaves the LF peak out instead of comparing what is not there."""
    result, _, _ = run_assessment(5.5, seed=12, protocol=AssessmentProtocol.screening())
    names = {c.name for c in result.criteria}
    for r in result.rates:
        assert r.usable
        assert {c.name for c in r.criteria} == names  # one entry per criterion of the choice
        uses = _uses(r)
        assert uses["phase_zero_crossing"] and uses["max_peak_to_trough"] and uses["max_lf_power"]
        assert r.lf_power_ms2 is not None  # the same 40-s segment at every rate
        assert not uses["max_lf_peak"] and r.lf_peak_hz is None
        why = next(c.why for c in r.criteria if c.name == "max_lf_peak")
        assert "60 s" in why
    crit = {c.name: c for c in result.criteria}
    assert crit["max_lf_power"].rate_bpm is not None
    assert crit["max_lf_peak"].rate_bpm is None and crit["max_lf_peak"].detail.startswith(
        "left out"
    )
    json.dumps(dataclasses.asdict(result))


def test_two_minute_steps_serve_every_criterion() -> None:
    result, _, _ = run_assessment(5.2, seed=3)
    for r in result.rates:
        assert all(_uses(r).values()), r.criteria
        assert r.lf_peak_hz is not None
    assert all(not c.detail.startswith("left out") for c in result.criteria)


def test_an_lf_criterion_missing_at_one_rate_is_left_out_not_argmaxed() -> None:
    """LF power missing at the rate where it would be largest: the largest of the others (6.0)
    is not the answer, so the criterion is left out and says where and why."""
    table = [
        row(6.5, -40, 10),
        row(6.0, -20, 13),
        dataclasses.replace(row(5.5, 10, 15), lf_power_ms2=None),
        row(5.0, 30, 12),
        row(4.5, 50, 9),
    ]
    r = choose_resonance(table)
    (lf,) = [c for c in r.criteria if c.name == "max_lf_power"]
    assert lf.rate_bpm is None
    assert lf.detail.startswith("left out") and "5.5/min" in lf.detail
    (pk,) = [c for c in r.criteria if c.name == "max_lf_peak"]
    assert pk.rate_bpm == 5.5  # present everywhere: compared as before


# -- the chosen rate at an edge of the tested range ------------------------------------------------


@pytest.mark.parametrize(
    ("resonance_bpm", "seed", "edge"), [(4.5, 1, "low"), (5.5, 4, None), (6.5, 6, "high")]
)
def test_a_rate_at_the_edge_of_the_range_says_the_resonance_may_lie_beyond(
    resonance_bpm: float, seed: int, edge: str | None
) -> None:
    result, _, _ = run_assessment(resonance_bpm, seed=seed)
    assert result.range_edge == edge, result.resonance_bpm
    if edge is None:
        assert result.range_note == ""
    else:
        side, rate = ("below", "4.5/min") if edge == "low" else ("above", "6.5/min")
        assert f"may lie {side} {rate}" in result.range_note


def test_range_edge_on_tables() -> None:
    # extrapolated beyond the top of the grid
    r = choose_resonance([row(6.5, 5, 15), row(6.0, 25, 13), row(5.5, 45, 11), row(5.0, 60, 9)])
    assert r.resonance_bpm is not None and r.resonance_bpm > 6.5
    assert r.range_edge == "high" and "above 6.5/min" in r.range_note
    # beyond the range is not "at the edge"; the note names the extrapolation's limit
    assert f"{r.resonance_bpm:.2f}/min lies above the tested range (5-6.5/min)" in r.range_note
    assert "edge" not in r.range_note and "half a step beyond it (6.75/min)" in r.range_note
    far = choose_resonance([row(4.5, -60, 15), row(5.0, -61, 13), row(5.5, -62, 11)])
    assert far.resonance_bpm == pytest.approx(4.25)
    assert far.range_edge == "low" and "edge" not in far.range_note
    assert far.range_note.startswith("4.25/min lies below the tested range (4.5-5.5/min)")
    assert "may lie below 4.5/min, possibly further out than 4.25" in far.range_note
    # interpolated just inside the lowest step (within a quarter step of 4.5): still the edge
    low = choose_resonance(
        [row(6.5, -70, 8), row(6.0, -60, 9), row(5.5, -45, 11), row(5.0, -20, 13), row(4.5, 2, 15)]
    )
    assert low.resonance_bpm is not None and 4.5 < low.resonance_bpm < 4.625
    assert low.range_edge == "low" and "below 4.5/min" in low.range_note
    assert "is at the low edge of the tested range (4.5-6.5/min)" in low.range_note
    # a quarter step and more inside: not an edge
    inside = choose_resonance(
        [row(6.5, -70, 8), row(6.0, -60, 9), row(5.5, -45, 11), row(5.0, -10, 14), row(4.5, 10, 13)]
    )
    assert inside.resonance_bpm == pytest.approx(4.75, abs=0.01)
    assert inside.range_edge is None and inside.range_note == ""
    # the range is the usable rates': with 4.5 unusable the lowest tested rate is 5.0
    cut = choose_resonance(
        [
            row(6.5, -60, 8),
            row(6.0, -40, 10),
            row(5.5, -20, 12),
            row(5.0, 2, 15),
            row(4.5, 20, 13, usable=False),
        ]
    )
    assert cut.range_edge == "low" and "below 5/min" in cut.range_note
    none = choose_resonance([row(6.5, -40, 10), row(6.0, -20, 13)])
    assert none.resonance_bpm is None and none.range_edge is None


def test_analyse_rate_lf_segment_length_decides_what_is_reported() -> None:
    """The same 2 min of beats: LF power and peak on 90 s, LF power only on 40 s, none on 20 s."""
    person = SimulatedPerson(seed=7, resonance_bpm=5.5, breathing=lambda t: t * 5.5 / 60)
    beats = [person.next_beat() for _ in range(130)]
    t = [b.t_s for b in beats]
    rr = [b.rr_ms for b in beats]
    onsets = [k * 60 / 5.5 for k in range(1, 12) if k * 60 / 5.5 <= t[-1]]
    rows = {
        span: analyse_rate(5.5, t_s=t, rr_ms=rr, inhale_onsets_s=onsets, lf_span_s=span)
        for span in (90.0, 40.0, 20.0)
    }
    assert rows[90.0].lf_power_ms2 is not None and rows[90.0].lf_peak_hz is not None
    assert rows[40.0].lf_power_ms2 is not None and rows[40.0].lf_peak_hz is None
    assert rows[20.0].lf_power_ms2 is None and rows[20.0].lf_peak_hz is None
    for span, r in rows.items():
        assert r.usable and r.phase_deg == rows[90.0].phase_deg  # the rest is the whole window
        uses = {c.name: c for c in r.criteria}
        assert uses["max_lf_power"].used is (span >= 30.0), uses["max_lf_power"]
        assert uses["max_lf_peak"].used is (span >= 60.0), uses["max_lf_peak"]
    with pytest.raises(BreathingError, match="lf_span_s"):
        analyse_rate(5.5, t_s=t, rr_ms=rr, inhale_onsets_s=onsets, lf_span_s=0.0)


def test_analyse_rate_names_frequent_early_beats_when_they_lower_the_quality() -> None:
    """The same paced beats, every fourth one early with its pause: the filter's verdicts make
    the quality low either way; the note names the rhythm only when the beats show it."""
    person = SimulatedPerson(seed=7, resonance_bpm=5.5, breathing=lambda t: t * 5.5 / 60)
    beats = [person.next_beat() for _ in range(130)]
    rr = np.array([b.rr_ms for b in beats])
    rr[2::4] *= 0.7
    rr[3::4] *= 1.3
    t = np.cumsum(rr) / 1000.0
    onsets = [k * 60 / 5.5 for k in range(1, 12) if k * 60 / 5.5 <= t[-1]]
    valid = np.ones(rr.size, dtype=np.bool_)
    valid[2::4] = valid[3::4] = False  # what the NN filter does with them
    row = analyse_rate(5.5, t_s=t, rr_ms=rr, valid=valid, inhale_onsets_s=onsets)
    assert not row.usable and row.note.startswith(IRREGULAR_RHYTHM_NOTE)
    # with a gap before every early beat the pattern is not judged: the signal is blamed
    gaps = np.zeros(rr.size, dtype=np.bool_)
    gaps[2::4] = True
    row2 = analyse_rate(5.5, t_s=t, rr_ms=rr, valid=valid, inhale_onsets_s=onsets, gap_before=gaps)
    assert not row2.usable and row2.note.startswith("signal quality ")
    assert "below 80%" in row2.note


def test_analyse_rate_names_bigeminy_that_leaves_no_nn_beat() -> None:
    """A run of bigeminy: the filter keeps no beat, so the step has too few NN beats; the note
    still names the rhythm (and the result does not ask for better contact)."""
    rr = np.array([700.0, 1300.0] * 60)
    t = np.cumsum(rr) / 1000.0
    onsets = [k * 60 / 5.5 for k in range(1, 12) if k * 60 / 5.5 <= t[-1]]
    valid = np.zeros(rr.size, dtype=np.bool_)  # what the NN filter does with all of them
    row = analyse_rate(5.5, t_s=t, rr_ms=rr, valid=valid, inhale_onsets_s=onsets)
    assert not row.usable and row.note == f"{IRREGULAR_RHYTHM_NOTE} (signal quality 0%)"
    result = choose_resonance([row, dataclasses.replace(row, rate_bpm=6.0)])
    assert "frequent early heartbeats" in result.reason and "good contact" not in result.reason


def test_single_smooth_peak_words_flat_steps_and_tied_maxima_as_they_are() -> None:
    """Review: flat steps read "rises then falls" (8, 8, 10, 9, 9 at 4.5-6.5/min), and a tie at
    the maximum (10, 10, 9, 8, 7) named only the lowest rate as the largest."""

    def detail(ptt: list[float]) -> tuple[bool, str]:
        rates = [4.5, 5.0, 5.5, 6.0, 6.5]
        phases = [50, 30, 10, -20, -40]
        r = choose_resonance([row(x, p, a) for x, p, a in zip(rates, phases, ptt, strict=True)])
        return r.single_peak, _single_smooth_peak(r)[1]

    single, words = detail([8.0, 8.0, 10.0, 9.0, 9.0])
    assert single  # the verdict is as before: one peak, at 5.5
    assert "rises then falls" not in words
    assert "one peak at 5.5/min" in words and "flat at 8.00 bpm from 4.5 to 5/min" in words
    single, words = detail([10.0, 10.0, 9.0, 8.0, 7.0])
    assert not single
    assert "only falls" not in words
    assert "largest at 4.5 and 5/min (equal, 10.00 bpm)" in words and "lowest rate" in words
    single, words = detail([8.0, 10.0, 10.0, 9.0, 7.0])
    assert single and "rises then falls" not in words
    assert "one peak at 5 and 5.5/min (equal, 10.00 bpm)" in words and "flat at" not in words
    # strictly rising then falling still says so
    single, words = detail([8.0, 9.0, 10.0, 9.0, 7.0])
    assert single and "rises then falls along the rates (one peak at 5.5/min)" in words


@pytest.mark.parametrize(
    ("ptt", "edge", "words"),
    [
        (
            [10.0, 10.0, 9.0, 8.0, 7.0],
            4.5,
            "largest at 4.5 and 5/min (equal, 10.00 bpm), the lowest",
        ),
        (
            [7.0, 8.0, 9.0, 10.0, 10.0],
            6.5,
            "largest at 6 and 6.5/min (equal, 10.00 bpm), the highest",
        ),
    ],
)
def test_a_tied_largest_peak_to_trough_at_either_edge_is_no_interior_peak(
    ptt: list[float], edge: float, words: str
) -> None:
    """Review: a tie of the largest peak-to-trough that includes the highest rate counted as an
    interior peak (the first of the tied, 6/min: single_peak true, the amplitude peak a parabola
    at 6.25) while the mirror tie at the lowest rate did not (4.5/min, at the edge). A largest
    value reached at an edge rate is at the edge, at either end: not an interior peak, the
    amplitude criterion at that rate, the verdict's edge note on that side."""
    rates = [4.5, 5.0, 5.5, 6.0, 6.5]
    # no phase measured: no crossing, no band-pass fit; the amplitude peak decides
    r = choose_resonance([row(x, None, a) for x, a in zip(rates, ptt, strict=True)])
    rate, detail = _single_smooth_peak(r)
    assert r.single_peak is False and rate is None
    assert words in detail and "among them" in detail and "no interior peak" in detail
    (amp,) = [c for c in r.criteria if c.name == "max_peak_to_trough"]
    assert amp.rate_bpm == edge and "(edge of the grid)" in amp.detail
    assert r.method == "amplitude_peak" and r.resonance_bpm == edge
    assert r.range_edge == ("low" if edge == 4.5 else "high")


def test_a_largest_peak_to_trough_tied_at_both_edges_names_both() -> None:
    r = choose_resonance([row(4.5, 30, 10.0), row(5.0, 20, 9.5), row(5.5, 10, 10.0)])
    assert not r.single_peak
    assert "the lowest and the highest rate of the grid among them" in _single_smooth_peak(r)[1]


@pytest.mark.parametrize(
    ("lf", "expected"),
    [
        ([10.0, 10.0, 9.0, 8.0, 7.0], 4.5),  # tie reaching the lowest rate: that edge
        ([7.0, 8.0, 9.0, 10.0, 10.0], 6.5),  # tie reaching the highest rate: that edge
        ([7.0, 10.0, 10.0, 8.0, 7.0], 5.0),  # interior tie: the first (lowest) of them
    ],
)
def test_lf_criteria_break_ties_as_the_amplitude_peak_does(
    lf: list[float], expected: float
) -> None:
    """Review: LF power and LF peak ties went to the higher rate (``max`` over (value, rate)
    tuples) while the amplitude criterion's went to the edge or the first: the same rule now."""
    rates = [4.5, 5.0, 5.5, 6.0, 6.5]
    rows = [
        dataclasses.replace(row(x, None, 5.0), lf_power_ms2=v, lf_peak_density_ms2_per_hz=v)
        for x, v in zip(rates, lf, strict=True)
    ]
    r = choose_resonance(rows[::-1])  # given highest rate first: order must not matter
    crit = {c.name: c.rate_bpm for c in r.criteria}
    assert crit["max_lf_power"] == expected and crit["max_lf_peak"] == expected
