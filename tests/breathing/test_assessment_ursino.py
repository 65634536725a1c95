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

from tests.breathing.ursino import (
    PARAMETER_SETS,
    UrsinoParams,
    UrsinoPerson,
    response_at,
    responses,
    true_resonance_bpm,
)


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


@pytest.mark.slow
def test_true_resonance_is_the_peak_of_the_swept_hr_amplitude() -> None:
    for params in PARAMETER_SETS:
        true = true_resonance_bpm(params)
        assert 4.5 <= true <= 6.5, (params.name, true)
        amps = responses(params, true + np.array([-0.3, -0.1, 0.0, 0.1, 0.3]))[:, 0]
        assert np.argmax(amps) == 2, (params.name, amps)


@pytest.mark.slow
def test_resonance_emerges_from_the_baroreflex_delay_not_a_parameter() -> None:
    """Longer sympathetic delays resonate at a lower rate (Vaschillo et al. 2002's explanation);
    a slower heart (the same loop in seconds) barely moves it, unlike de Boer's beat-indexed
    loop."""
    base = UrsinoParams("base")
    slower = dataclasses.replace(base, symp_heart_delay_s=3.0, symp_resistance_delay_s=3.0)
    slow_heart = dataclasses.replace(base, mean_rr_ms=1100.0)
    f0 = true_resonance_bpm(base)
    assert true_resonance_bpm(slower) < f0 - 0.5
    assert abs(true_resonance_bpm(slow_heart) - f0) < 0.3


@pytest.mark.slow
def test_hr_lags_breathing_at_this_models_resonance() -> None:
    """Unlike the simulator (HR in phase with lung volume at resonance), HR lags by tens of
    degrees here when respiration acts through the pressure."""
    phases = {p.name: response_at(p, true_resonance_bpm(p))[1] for p in PARAMETER_SETS}
    assert sum(ph < -30.0 for ph in phases.values()) >= 6, phases
