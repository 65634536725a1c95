"""Spectral fidelity (issue 12, items 3, 4 and 6): peak frequencies between the bins, the
detrending options and the high-frequency power kept by the 4 Hz resampling.

Every signal here is synthetic with a known answer: RR whose value at each beat time ``t`` is
``base + A sin(2 pi f t + phase)`` (plus noise where said), i.e. a tachogram oscillating at
exactly ``f``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

import hrv
from hrv.frequency import FREQUENCY_FIELDS, WELCH_NFFT

Rr = NDArray[np.float64]
WELCH_BIN_HZ = 4.0 / WELCH_NFFT


def modulated_rr(
    *,
    freq_hz: float,
    amplitude_ms: float,
    duration_s: float = 300.0,
    base_ms: float = 1000.0,
    noise_ms: float = 0.0,
    phase: float = 0.3,
    seed: int = 0,
) -> Rr:
    """RR whose value at each beat time t is ``base + A sin(2 pi f t + phase)`` (+ noise)."""
    rng = np.random.default_rng(seed)
    rr: list[float] = []
    t = 0.0
    while t < duration_s:
        r = base_ms + amplitude_ms * math.sin(2.0 * math.pi * freq_hz * t + phase)
        r += noise_ms * float(rng.standard_normal())
        t += r / 1000.0
        rr.append(r)
    return np.array(rr)


# --------------------------------------------------------------------------------------------
# Item 6: peak frequencies located between the bins


def test_lf_peak_between_bins_is_located_within_0_002_hz() -> None:
    # 0.0950 Hz lies 0.16 bins above the Welch bin 0.09375 Hz and 0.36 below 0.1016 Hz
    f0 = 0.0950
    assert abs(f0 / WELCH_BIN_HZ - round(f0 / WELCH_BIN_HZ)) > 0.1
    rr = modulated_rr(freq_hz=f0, amplitude_ms=40.0, noise_ms=5.0)
    fd = hrv.frequency_domain(rr)
    assert fd.lf_peak_hz is not None
    assert abs(fd.lf_peak_hz - f0) <= 0.002
    assert abs(fd.lf_peak_hz - f0) < 0.5 * abs(0.09375 - f0)  # closer than the nearest bin
    co = hrv.coherence(rr)
    assert co.peak_hz is not None and abs(co.peak_hz - f0) <= 0.002
    lomb = hrv.frequency_domain(rr, method="lomb")
    assert lomb.lf_peak_hz is not None and abs(lomb.lf_peak_hz - f0) <= 0.002


@pytest.mark.parametrize("f0", [0.0450, 0.0617, 0.0781, 0.0893, 0.1049, 0.1227, 0.1385])
def test_lf_peak_error_across_the_band(f0: float) -> None:
    rr = modulated_rr(freq_hz=f0, amplitude_ms=30.0, noise_ms=3.0, seed=int(f0 * 1e4))
    fd = hrv.frequency_domain(rr)
    assert fd.lf_peak_hz is not None and abs(fd.lf_peak_hz - f0) <= 0.002
    co = hrv.coherence(rr)
    assert co.peak_hz is not None and abs(co.peak_hz - f0) <= 0.002


@pytest.mark.parametrize("f0", [0.1633, 0.2051, 0.2500, 0.2968, 0.3447, 0.3850])
def test_hf_peak_error_across_the_band(f0: float) -> None:
    rr = modulated_rr(freq_hz=f0, amplitude_ms=15.0, noise_ms=2.0, base_ms=850.0)
    fd = hrv.frequency_domain(rr)
    assert fd.hf_peak_hz is not None and abs(fd.hf_peak_hz - f0) <= 0.002
    lomb = hrv.frequency_domain(rr, method="lomb")
    assert lomb.hf_peak_hz is not None and abs(lomb.hf_peak_hz - f0) <= 0.002


def test_peak_at_the_band_edge_stays_in_the_band() -> None:
    # a strong oscillation just above the LF band: the LF "peak" is the band's edge bin, not
    # extrapolated past 0.15 Hz
    rr = modulated_rr(freq_hz=0.17, amplitude_ms=40.0, noise_ms=2.0, base_ms=850.0)
    fd = hrv.frequency_domain(rr)
    assert fd.lf_peak_hz is not None and 0.04 <= fd.lf_peak_hz <= 0.15
    assert fd.hf_peak_hz is not None and abs(fd.hf_peak_hz - 0.17) <= 0.002


def test_refined_peaks_keep_rolling_equal_to_single_window() -> None:
    rr = np.concatenate(
        [
            modulated_rr(freq_hz=0.0950, amplitude_ms=40.0, noise_ms=5.0, duration_s=400.0),
            modulated_rr(freq_hz=0.1120, amplitude_ms=40.0, noise_ms=5.0, duration_s=400.0),
        ]
    )
    t = np.cumsum(rr) / 1000.0
    out = hrv.rolling(rr, window_s=300.0, step_s=50.0, metrics=("frequency", "coherence"))
    for k, t_end in enumerate(out["t_s"]):
        sel = (t > t_end - 300.0) & (t <= t_end)
        fd = hrv.frequency_domain(rr[sel], t_s=t[sel])
        co = hrv.coherence(rr[sel], t_s=t[sel])
        for name in ("lf_peak_hz", "hf_peak_hz"):
            want = getattr(fd, name)
            assert out[name][k] == pytest.approx(want, rel=1e-9), (name, k)
        assert out["coherence_peak_hz"][k] == pytest.approx(co.peak_hz, rel=1e-9)
    assert set(FREQUENCY_FIELDS) <= set(out)
