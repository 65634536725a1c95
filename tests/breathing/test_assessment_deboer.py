"""The resonance assessment on a physiology it does not assume: de Boer's beat-to-beat model.

``tests/breathing/deboer.py`` has the model, its true resonance (a fine sweep of the noise-free
model) and the parameter sets; README "Metrics" quotes the table ``python -m
tests.breathing.deboer`` prints.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from breathing import AssessmentProtocol, choose_resonance
from tests.breathing.deboer import (
    PARAMETER_SETS,
    SEEDS,
    DeBoerParams,
    DeBoerPerson,
    errors,
    response_at,
    true_resonance_bpm,
)
from tests.breathing.test_assessment import row

Errors = dict[str, dict[str, list[float | None]]]


@pytest.fixture(scope="module")
def two_minute() -> Errors:
    return errors()


@pytest.fixture(scope="module")
def one_minute() -> Errors:
    return errors(AssessmentProtocol.screening())


def _abs(table: Errors, criterion: str) -> list[float]:
    out = []
    for per in table.values():
        vals = per[criterion]
        assert all(v is not None for v in vals), (criterion, vals)
        out += [abs(v) for v in vals if v is not None]
    return out


def test_model_rests_at_its_working_point_without_breathing_or_noise() -> None:
    for params in PARAMETER_SETS:
        # lungs held at their mean volume (phase 0.25: half full), no noise
        person = DeBoerPerson(params, breathing=lambda t: 0.25, noise=False)
        rr = [person.next_beat()[1] for _ in range(200)]
        assert np.allclose(rr, params.mean_rr_ms, atol=1e-6)
        assert person.s == pytest.approx(120.0) and person.tc == pytest.approx(1425.0)


def test_true_resonance_is_the_peak_of_the_swept_hr_amplitude() -> None:
    for params in PARAMETER_SETS:
        true = true_resonance_bpm(params)
        assert 4.3 <= true <= 6.5, params.name
        peak = response_at(params, true)[0]
        for off in (-0.3, -0.1, 0.1, 0.3):
            assert response_at(params, true + off)[0] < peak, (params.name, off)


def test_resonance_emerges_from_the_baroreflex_delay_not_a_parameter() -> None:
    """The same loop one beat slower, or with longer beats, resonates at a lower rate."""
    base = DeBoerParams("base", mean_rr_ms=900.0, symp_t_scale=0.6)
    slower = dataclasses.replace(
        base,
        symp_rr_kernel=(0.0, *base.symp_rr_kernel),
        symp_t_kernel=(0.0, *base.symp_t_kernel),
    )
    longer_beats = dataclasses.replace(base, mean_rr_ms=1000.0)
    f0 = true_resonance_bpm(base)
    assert true_resonance_bpm(slower) < f0 - 0.4
    assert true_resonance_bpm(longer_beats) < f0 - 0.3


def test_hr_is_not_in_phase_with_breathing_at_this_models_resonance() -> None:
    """What makes the model independent of the simulator (where HR and lung volume are in phase
    at resonance): with the mechanical coupling HR lags by tens of degrees there."""
    phases = {p.name: response_at(p, true_resonance_bpm(p))[1] for p in PARAMETER_SETS}
    assert sum(ph < -30.0 for ph in phases.values()) >= 5, phases
    assert any(ph > 10.0 for ph in phases.values()), phases


def test_choice_on_noise_free_tables_of_the_model() -> None:
    """The model's own response at the five rates, no noise: the choice lands within 0.15/min of
    the true resonance for every person. With central coupling the phase crosses 0 near 6.2/min,
    within a step of the amplitude peak (5.7), but the band-pass model does not explain the
    phases, so the amplitude peak decides (the crossing alone would be 0.5/min off)."""
    for params in PARAMETER_SETS:
        true = true_resonance_bpm(params)
        table = []
        for rate in (6.5, 6.0, 5.5, 5.0, 4.5):
            amp, phase = response_at(params, rate)
            table.append(row(rate, phase, 2.0 * amp))
        result = choose_resonance(table)
        assert result.resonance_bpm is not None
        assert abs(result.resonance_bpm - true) <= 0.15, (params.name, result.reason)
        if "central" in params.name:
            crossing = next(c for c in result.criteria if c.name == "phase_zero_crossing")
            assert crossing.rate_bpm is not None and crossing.rate_bpm - true > 0.4
            assert result.method == "amplitude_peak"
            assert "does not explain the phases" in result.reason


def test_assessment_error_on_the_de_boer_model_2_minute_steps(two_minute: Errors) -> None:
    """Found minus true resonance over 7 people x 4 seeds: mean |error| 0.16/min, max 0.44
    (README). The phase crossing alone is off by ~1/min here, the amplitude peak by 0.12."""
    chosen = _abs(two_minute, "chosen")
    assert len(chosen) == len(PARAMETER_SETS) * len(SEEDS)
    assert np.mean(chosen) <= 0.25, chosen
    assert max(chosen) <= 0.6, chosen
    amplitude = _abs(two_minute, "max_peak_to_trough")
    assert np.mean(amplitude) <= 0.2 and max(amplitude) <= 0.4, amplitude
    # the phase criterion's assumption does not hold in this model: it points ~1/min too low
    phase = _abs(two_minute, "phase_zero_crossing")
    assert np.mean(phase) >= 0.5, phase


def test_assessment_error_on_the_de_boer_model_1_minute_steps(one_minute: Errors) -> None:
    """The screening protocol: mean |error| 0.21/min, max 0.78 (README)."""
    chosen = _abs(one_minute, "chosen")
    assert np.mean(chosen) <= 0.3, chosen
    assert max(chosen) <= 1.0, chosen
