"""The resonance assessment on a held-out physiology: a continuous-time delayed baroreflex loop.

``tests/breathing/ursino.py`` has the model (Ursino 1998's baroreflex around a Windkessel), its
true resonance (a fine sweep of the noise-free model) and the people; it was not used in
designing any rule of ``breathing/``. README "Metrics" quotes the table ``python -m
tests.breathing.ursino`` prints.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from breathing import AssessmentProtocol
from tests.breathing.deboer import Errors, fit_hr
from tests.breathing.ursino import (
    PARAMETER_SETS,
    SEEDS,
    UrsinoParams,
    UrsinoPerson,
    errors,
    noise_free_choice,
    response_at,
    responses_of,
    true_resonance_bpm,
    true_resonances,
)

#: The one person for whom the assessment may give no rate: without the mechanical coupling the
#: direct vagal and the baroreflex responses cancel near 5/min (HR amplitude 0.4 bpm at 5/min
#: against 5.8 at 6.5/min, noise-free), the steps there fall below the coherence threshold and
#: fewer than 3 rates are usable.
WEAK = "delays 3 s, central coupling only"


@pytest.fixture(scope="module")
def two_minute() -> Errors:
    return errors()


@pytest.fixture(scope="module")
def one_minute() -> Errors:
    return errors(AssessmentProtocol.screening())


def _given(table: Errors, criterion: str) -> list[float]:
    """|found - true| of the runs that gave a rate; only WEAK may give none."""
    out = []
    for name, per in table.items():
        vals = per[criterion]
        if name != WEAK:
            assert all(v is not None for v in vals), (name, criterion, vals)
        out += [abs(v) for v in vals if v is not None]
    return out


def test_model_rests_at_its_working_point_and_a_kick_dies_out() -> None:
    for params in PARAMETER_SETS:
        # lungs held at their mean volume (phase 0.25: half full), no noise
        person = UrsinoPerson(params, breathing=lambda t: 0.25, noise=False)
        rr = [person.next_beat()[1] for _ in range(100)]
        assert np.allclose(rr, params.mean_rr_ms, atol=1e-3), params.name
        assert person.loop.pressure == pytest.approx(92.0)
        kicked = UrsinoPerson(params, breathing=lambda t: 0.25, noise=False)
        kicked.loop.pressure += 5.0
        kick = np.array([kicked.next_beat()[1] for _ in range(600)])
        assert np.ptp(kick[:100]) > 20.0, params.name  # the reflex answers the kick
        assert np.ptp(kick[-100:]) < 1.0, params.name  # and the loop is stable


def test_noise_gives_resting_variability_of_a_healthy_adult() -> None:
    """SDNN with lungs held still, no paced breathing: 10-60 ms over ~9 min."""
    for params in PARAMETER_SETS:
        person = UrsinoPerson(params, breathing=lambda t: 0.25, seed=1)
        rr = np.array([person.next_beat()[1] for _ in range(600)])
        assert 10.0 <= rr.std() <= 60.0, (params.name, rr.std())
        assert abs(rr.mean() - params.mean_rr_ms) < 15.0, params.name


def test_the_person_and_the_sweep_integrate_the_same_equations() -> None:
    """``UrsinoPerson`` (floats, one person, ``math``) and the sweep of :func:`responses_of`
    (arrays of many people and rates at once, ``numpy``) write the model out separately: noise-free
    at a constant rate they give the same HR response (to rounding), here for two people with
    different delays integrated together."""
    rate = 6.0
    people = (PARAMETER_SETS[3], PARAMETER_SETS[4])  # sympathetic delays 2.5 s / 2.5 s and 4 s
    swept = responses_of([(p, np.array([rate])) for p in people])
    for params, rows in zip(people, swept, strict=True):
        person = UrsinoPerson(params, breathing=lambda t: rate / 60.0 * t, noise=False)
        beats = []
        while (beat := person.next_beat())[0] <= 120.0 + 10 * 60.0 / rate:
            beats.append(beat)
        t_s, rr_ms = np.array(beats).T
        amp, lead = fit_hr(t_s, rr_ms, rate / 60.0, settle_s=120.0)
        assert amp == pytest.approx(rows[0, 0], rel=1e-9), params.name
        assert lead == pytest.approx(rows[0, 1], abs=1e-6), params.name


@pytest.mark.slow
def test_true_resonance_is_the_peak_of_the_swept_hr_amplitude() -> None:
    trues = [true_resonance_bpm(params) for params in PARAMETER_SETS]
    offsets = np.array([-0.3, -0.1, 0.0, 0.1, 0.3])
    # every person's five rates in one integration
    swept = responses_of(
        [(p, true + offsets) for p, true in zip(PARAMETER_SETS, trues, strict=True)]
    )
    for params, true, rows in zip(PARAMETER_SETS, trues, swept, strict=True):
        assert 4.5 <= true <= 6.5, (params.name, true)
        amps = rows[:, 0]
        assert np.argmax(amps) == 2, (params.name, amps)


@pytest.mark.slow
def test_resonance_emerges_from_the_baroreflex_delay_not_a_parameter() -> None:
    """Longer sympathetic delays resonate at a lower rate (Vaschillo et al. 2002's explanation);
    a slower heart (the same loop in seconds) barely moves it, unlike de Boer's beat-indexed
    loop."""
    base = UrsinoParams("base")
    slower = dataclasses.replace(base, symp_heart_delay_s=3.0, symp_resistance_delay_s=3.0)
    slow_heart = dataclasses.replace(base, mean_rr_ms=1100.0)
    f0, f_slower, f_slow_heart = true_resonances((base, slower, slow_heart))  # swept together
    assert f_slower < f0 - 0.5
    assert abs(f_slow_heart - f0) < 0.3


@pytest.mark.slow
def test_hr_lags_breathing_at_this_models_resonance() -> None:
    """Unlike the simulator (HR in phase with lung volume at resonance), HR lags by tens of
    degrees here when respiration acts through the pressure."""
    phases = {p.name: response_at(p, true_resonance_bpm(p))[1] for p in PARAMETER_SETS}
    assert sum(ph < -30.0 for ph in phases.values()) >= 6, phases


@pytest.mark.slow
def test_choice_on_noise_free_tables_of_the_model() -> None:
    """The model's own response at the five rates, no noise: within 0.35/min of the true
    resonance for every person (measured: +0.02 to +0.30, all above it, README; the bound is
    two-sided so that removing the bias passes). HR lags lung volume by
    1.6-2.2 s at every rate, which the choice reads as the person breathing behind the pacer,
    so it takes the band-pass fit for 5 of the 8 people."""
    for params in PARAMETER_SETS:
        result = noise_free_choice(params)
        assert result.resonance_bpm is not None, params.name
        assert abs(result.resonance_bpm - true_resonance_bpm(params)) <= 0.35, result.reason


@pytest.mark.slow
def test_assessment_error_on_the_held_out_model_2_minute_steps(two_minute: Errors) -> None:
    """Found minus true resonance over 8 people x 4 seeds: 29 of 32 runs give a rate (WEAK's
    3 do not), mean |error| 0.13/min, max 0.56 (README)."""
    chosen = _given(two_minute, "chosen")
    assert len(chosen) >= len(PARAMETER_SETS) * len(SEEDS) - 4, chosen
    assert np.mean(chosen) <= 0.2, chosen
    assert max(chosen) <= 0.75, chosen
    weak = [v for v in two_minute[WEAK]["chosen"] if v is not None]
    assert all(abs(v) <= 0.3 for v in weak), weak  # when it gives a rate, it is right
    # a property of the model, not a target for the method: HR is not in phase with lung volume
    # at resonance here (unlike the simulator), so the phase-zero criterion alone is far off;
    # this keeps the held-out model from being the simulator's physiology in disguise
    phase = _given(two_minute, "phase_zero_crossing")
    assert np.mean(phase) >= 0.5, phase


@pytest.mark.slow
def test_assessment_error_on_the_held_out_model_1_minute_steps(one_minute: Errors) -> None:
    """The screening protocol: 30 of 32 runs give a rate, mean |error| 0.17/min, max 0.69
    (README)."""
    chosen = _given(one_minute, "chosen")
    assert len(chosen) >= len(PARAMETER_SETS) * len(SEEDS) - 4, chosen
    assert np.mean(chosen) <= 0.25, chosen
    assert max(chosen) <= 0.9, chosen
    weak = [v for v in one_minute[WEAK]["chosen"] if v is not None]
    assert all(abs(v) <= 0.3 for v in weak), weak
