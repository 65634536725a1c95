"""hrv.resonance on synthetic heartbeats with a known HR oscillation (amplitude, phase)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from hrv import (
    HrvInputError,
    breathing_response,
    frequency_domain,
    hr_oscillation,
    lf_band,
    lung_volume,
)
from hrv.resonance import lung_volume_at
from tests.conftest import load_rr_ms


def ipfm_beats(
    *,
    rate_bpm: float,
    amplitude_bpm: float,
    phase_deg: float,
    mean_hr_bpm: float = 65.0,
    duration_s: float = 240.0,
    dt: float = 0.002,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Beats of a heart whose rate is ``mean + A cos(...)`` leading lung volume by ``phase_deg``.

    Lung volume (1:1 breathing, inhale onset at t = 0) is ``(1 - cos(2 pi f t)) / 2``, whose
    fundamental is ``-cos(2 pi f t)``; HR leading it by ``phase`` is ``-cos(2 pi f t + phase)``.
    Beats come from integral pulse-frequency modulation (exact to ``dt``).
    """
    f = rate_bpm / 60.0
    t = np.arange(0.0, duration_s, dt)
    hr = mean_hr_bpm - amplitude_bpm * np.cos(2 * np.pi * f * t + math.radians(phase_deg))
    beats = np.cumsum(hr / 60.0 * dt)
    idx = np.searchsorted(beats, np.arange(1.0, beats[-1]))
    t_beat = t[idx]
    rr = np.diff(np.concatenate([[0.0], t_beat])) * 1000.0
    return t_beat, rr


@pytest.mark.parametrize("phase_deg", [-80.0, -30.0, 0.0, 25.0, 60.0, 90.0])
@pytest.mark.parametrize("rate_bpm", [4.5, 6.0, 7.0])
def test_breathing_response_recovers_known_phase_and_amplitude(
    phase_deg: float, rate_bpm: float
) -> None:
    t, rr = ipfm_beats(rate_bpm=rate_bpm, amplitude_bpm=6.0, phase_deg=phase_deg)
    r = breathing_response(rr, t_s=t, rate_bpm=rate_bpm, t0_s=0.0)
    assert r.phase_deg is not None and r.amplitude_bpm is not None
    assert r.phase_deg == pytest.approx(phase_deg, abs=1.5)
    # an RR interval averages HR over ~1 s: a few % below the true 6 bpm amplitude
    assert 5.6 < r.amplitude_bpm <= 6.05
    assert r.coherence is not None and r.coherence > 0.95
    assert r.freq_hz == pytest.approx(rate_bpm / 60.0, rel=0.01)
    # the first and last breaths are not wholly covered by beats
    assert r.n_cycles >= math.floor(240.0 * rate_bpm / 60.0) - 2


def test_onsets_reference_equals_rate_reference_for_constant_rate() -> None:
    t, rr = ipfm_beats(rate_bpm=5.5, amplitude_bpm=5.0, phase_deg=40.0)
    onsets = np.arange(0.0, 240.0, 60.0 / 5.5)
    a = breathing_response(rr, t_s=t, inhale_onsets_s=onsets)
    b = breathing_response(rr, t_s=t, rate_bpm=5.5)
    assert a.phase_deg == pytest.approx(b.phase_deg, abs=0.5)
    assert a.amplitude_bpm == pytest.approx(b.amplitude_bpm, rel=0.01)


def test_phase_follows_the_reference_shift() -> None:
    # moving the breathing reference later by a quarter breath makes HR lead it by 90 deg more
    t, rr = ipfm_beats(rate_bpm=6.0, amplitude_bpm=5.0, phase_deg=0.0)
    r = breathing_response(rr, t_s=t, rate_bpm=6.0, t0_s=2.5)
    assert r.phase_deg == pytest.approx(90.0, abs=1.5)


def test_asymmetric_breathing_reference_uses_volume_fundamental() -> None:
    # HR exactly proportional to a 1:2 lung volume is in phase with it (0 deg), although its
    # peak is not half-way through the breath
    rate, dt = 6.0, 0.002
    t = np.arange(0.0, 240.0, dt)
    vol = lung_volume(t * rate / 60.0, inhale_fraction=1 / 3)
    hr = 60.0 + 10.0 * (vol - 0.5)
    beats = np.cumsum(hr / 60.0 * dt)
    tb = t[np.searchsorted(beats, np.arange(1.0, beats[-1]))]
    rr = np.diff(np.concatenate([[0.0], tb])) * 1000.0
    r = breathing_response(rr, t_s=tb, rate_bpm=rate, inhale_fraction=1 / 3)
    assert r.phase_deg == pytest.approx(0.0, abs=2.0)
    sym = breathing_response(rr, t_s=tb, rate_bpm=rate)  # wrong pattern: a visible offset
    assert abs(sym.phase_deg or 0.0) > 5.0


def test_hr_oscillation_peak_to_trough() -> None:
    t, rr = ipfm_beats(rate_bpm=6.0, amplitude_bpm=5.0, phase_deg=0.0)
    starts = np.arange(0.0, 240.0 + 1e-9, 10.0)
    o = hr_oscillation(rr, t_s=t, cycle_starts_s=starts)
    assert o.n_cycles == len(starts) - 1 == len(o.per_cycle_bpm)
    # beats sample the sinusoid ~every 0.9 s: the range is a little below 2 A = 10 bpm
    assert o.mean_peak_to_trough_bpm is not None
    assert 9.0 < o.mean_peak_to_trough_bpm <= 10.0


def test_hr_oscillation_skips_cycles_with_gaps_and_too_few_beats() -> None:
    t, rr = ipfm_beats(rate_bpm=6.0, amplitude_bpm=5.0, phase_deg=0.0, duration_s=60.0)
    starts = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    gaps = np.zeros(rr.size, dtype=bool)
    gaps[int(np.searchsorted(t, 25.0))] = True
    o = hr_oscillation(rr, t_s=t, cycle_starts_s=starts, gaps=gaps)
    assert o.n_cycles == 4
    few = hr_oscillation(rr[:2], t_s=t[:2], cycle_starts_s=[0.0, 10.0])
    assert few.mean_peak_to_trough_bpm is None and few.n_cycles == 0


def test_lf_band_finds_a_0_1_hz_oscillation() -> None:
    # RR modulated at 0.1 Hz with a 40-ms amplitude: variance A^2/2 = 800 ms^2 in the LF band
    t = np.cumsum(np.full(200, 0.9))
    rr = 900.0 + 40.0 * np.sin(2 * np.pi * 0.1 * t)
    lf = lf_band(rr, t_s=t)
    assert lf.lf_peak_hz == pytest.approx(0.1, abs=0.003)
    assert lf.lf_power_ms2 == pytest.approx(800.0, rel=0.1)
    assert lf.lf_peak_density_ms2_per_hz is not None and lf.lf_peak_density_ms2_per_hz > 0


def test_lf_band_ignores_hf_power() -> None:
    t = np.cumsum(np.full(200, 0.9))
    rr = 900.0 + 40.0 * np.sin(2 * np.pi * 0.3 * t)
    lf = lf_band(rr, t_s=t)
    assert lf.lf_power_ms2 is not None and lf.lf_power_ms2 < 20.0


def test_too_short_gives_none_not_an_error() -> None:
    assert breathing_response([900.0, 910.0], rate_bpm=6.0).phase_deg is None
    r = breathing_response([900.0] * 8, rate_bpm=6.0)  # 7 s: not one whole breath
    assert r.phase_deg is None and r.n_cycles == 0
    assert lf_band([900.0] * 20).lf_power_ms2 is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rr_ms": [0.9, 0.8, 0.9], "rate_bpm": 6.0}, "seconds"),
        ({"rr_ms": [900.0] * 3, "t_s": [1.0, 1.0, 2.0], "rate_bpm": 6.0}, "increasing"),
        ({"rr_ms": [900.0] * 3, "t_s": [1.0, 2.0], "rate_bpm": 6.0}, "shape"),
        ({"rr_ms": [900.0] * 30}, "phase reference"),
        ({"rr_ms": [900.0] * 30, "rate_bpm": 6.0, "inhale_onsets_s": [0, 10]}, "either"),
        ({"rr_ms": [900.0] * 30, "rate_bpm": -1.0}, "rate_bpm"),
        ({"rr_ms": [900.0] * 30, "inhale_onsets_s": [0.0, 10.0, 5.0]}, "increasing"),
    ],
)
def test_bad_input_raises_named_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(HrvInputError, match=match):
        breathing_response(**kwargs)  # type: ignore[arg-type]


def test_lung_volume_shape() -> None:
    phase = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 3.5])
    np.testing.assert_allclose(lung_volume(phase), [0.0, 0.5, 1.0, 0.5, 0.0, 1.0], atol=1e-12)
    held = lung_volume(
        np.array([0.3, 0.45, 0.95]),
        inhale_fraction=0.3,
        hold_after_inhale_fraction=0.2,
        hold_after_exhale_fraction=0.1,
    )
    np.testing.assert_allclose(held, [1.0, 1.0, 0.0], atol=1e-12)
    with pytest.raises(HrvInputError, match="exhale"):
        lung_volume(phase, inhale_fraction=0.8, hold_after_inhale_fraction=0.2)


@given(
    phase=st.floats(-50, 50, allow_nan=False),
    inhale=st.floats(0.2, 0.7),
    hold_in=st.floats(0.0, 0.1),
    hold_out=st.floats(0.0, 0.1),
)
@settings(max_examples=200, deadline=None)
def test_lung_volume_scalar_matches_vector_and_is_bounded(
    phase: float, inhale: float, hold_in: float, hold_out: float
) -> None:
    kw = {
        "inhale_fraction": inhale,
        "hold_after_inhale_fraction": hold_in,
        "hold_after_exhale_fraction": hold_out,
    }
    v = lung_volume_at(phase, **kw)
    assert 0.0 <= v <= 1.0
    assert v == pytest.approx(float(lung_volume(np.array([phase]), **kw)[0]), abs=1e-9)


@pytest.mark.parametrize(
    ("name", "units", "skip_first"),
    [
        ("rrhealthy_000_rr_ms.txt", "ms", False),
        ("hrvpkg_rest_rri_ms.txt", "ms", False),
        ("nsr2db_nsr001_rr_secs.txt", "s", True),
    ],
)
def test_lf_band_agrees_with_frequency_domain_on_real_recordings(
    shared_data: Path, name: str, units: str, skip_first: bool
) -> None:
    """On 5-min artefact-free stretches of real recordings (no gap, >= 128 s for Welch)."""
    rr = load_rr_ms(shared_data / name, units=units, skip_first_line=skip_first)[:300]
    ref = frequency_domain(rr, detrend=None)  # Welch as it was: mean removed per segment
    ours = lf_band(rr)
    assert ref.lf_ms2 is not None and ours.lf_power_ms2 is not None
    assert ours.lf_power_ms2 == pytest.approx(ref.lf_ms2, rel=0.25)
    assert ours.lf_peak_hz == pytest.approx(ref.lf_peak_hz, abs=0.008)
