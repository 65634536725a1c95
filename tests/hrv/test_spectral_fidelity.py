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
from hrv.frequency import FREQUENCY_FIELDS
from hrv.spectrum import WELCH_NFFT

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


# --------------------------------------------------------------------------------------------
# Item 3: detrending of the Welch segments, and VLF only for spans of 5 min or more


def _segments(seed: int = 1, n_rows: int = 4) -> Rr:
    """Rows of 512 samples (128 s at 4 Hz): a random walk (slow trend), an offset and two
    oscillations, as resampled RR would look."""
    rng = np.random.default_rng(seed)
    k = np.arange(512) / 4.0
    walk = np.cumsum(rng.normal(size=(n_rows, 512)), axis=1) * 3.0
    osc = 20.0 * np.sin(2 * np.pi * 0.1 * k) + 8.0 * np.sin(2 * np.pi * 0.27 * k + 1.0)
    out: Rr = 850.0 + walk + osc
    return out


@pytest.mark.parametrize("detrend", [None, "linear", "smoothness_priors"])
def test_segment_detrending_matches_neurokit2_and_scipy(detrend: str | None) -> None:
    """Per segment: the detrended, Hann-windowed periodogram equals NeuroKit2's
    ``signal_detrend(method="tarvainen2002", regularization=500)`` (lambda**2 in the matrix) /
    scipy's linear detrend / the mean removed, then ``scipy.signal.periodogram``."""
    import neurokit2 as nk
    from scipy.signal import detrend as sp_detrend
    from scipy.signal import periodogram

    from hrv._spectral import detrended_hann_psd_rows

    rows = _segments()
    ours = detrended_hann_psd_rows(rows.copy(), 52, detrend)
    for r, got in zip(rows, ours, strict=True):
        if detrend == "smoothness_priors":
            y = nk.signal_detrend(r, method="tarvainen2002", regularization=500)
        elif detrend == "linear":
            y = sp_detrend(r, type="linear")
        else:
            y = r - r.mean()
        _, want = periodogram(y, fs=4.0, window="hann", nfft=512, detrend=False)
        # NeuroKit2's sparse solve of the (ill-conditioned) system carries ~1e-11 of the peak
        np.testing.assert_allclose(got, want[:52], rtol=0.0, atol=1e-9 * want.max())


def test_smoothness_priors_cutoff_on_the_4_hz_grid() -> None:
    """lambda = 500 on the 4 Hz samples: half power at 0.0355 Hz (the 0.035 Hz Kubios quotes
    for lambda 500); the same lambda on one sample per beat (~1 Hz) would cut at ~0.009 Hz."""
    from hrv._spectral import smoothness_priors_cutoff_hz

    assert smoothness_priors_cutoff_hz(500.0, 4.0) == pytest.approx(0.0355, abs=1e-4)
    assert smoothness_priors_cutoff_hz(500.0, 1.0) == pytest.approx(0.0089, abs=1e-4)
    # lambda scales with fs**2 for a given cut-off: 500 / 16 on a 1 Hz series cuts at 0.0355
    assert smoothness_priors_cutoff_hz(500.0 / 16.0, 1.0) == pytest.approx(0.0355, abs=2e-4)
    # measured through the whole estimator: a 0.0355 Hz oscillation keeps about half its power
    rr = modulated_rr(freq_hz=0.0355, amplitude_ms=30.0, duration_s=900.0)
    kept = hrv.frequency_domain(rr, detrend="smoothness_priors").vlf_ms2
    raw = hrv.frequency_domain(rr, detrend=None).vlf_ms2
    assert kept is not None and raw is not None
    assert 0.35 < kept / raw < 0.65


def test_smoothness_priors_remove_a_slow_trend_and_keep_lf_and_hf() -> None:
    rr = modulated_rr(freq_hz=0.1, amplitude_ms=25.0, duration_s=900.0, noise_ms=2.0)
    t = np.cumsum(rr) / 1000.0
    rr_hf = 10.0 * np.sin(2 * np.pi * 0.25 * t)
    trend = 60.0 * t / t[-1] + 40.0 * np.sin(2 * np.pi * 0.008 * t)
    clean = hrv.frequency_domain(rr + rr_hf, t_s=t, detrend=None)
    raw = hrv.frequency_domain(rr + rr_hf + trend, t_s=t, detrend=None)
    sp = hrv.frequency_domain(rr + rr_hf + trend, t_s=t, detrend="smoothness_priors")
    lin = hrv.frequency_domain(rr + rr_hf + trend, t_s=t, detrend="linear")
    assert clean.lf_ms2 and raw.vlf_ms2 and sp.vlf_ms2 and sp.lf_ms2 and sp.hf_ms2 and lin.vlf_ms2
    assert clean.hf_ms2
    assert raw.vlf_ms2 > 50.0 * sp.vlf_ms2  # the trend's power is gone
    assert lin.vlf_ms2 > sp.vlf_ms2  # a line per 128-s segment leaves the 0.008 Hz wave's curve
    # LF at 0.1 Hz keeps ~98.7 % (the filter's gain), HF all of it
    assert sp.lf_ms2 == pytest.approx(clean.lf_ms2, rel=0.03)
    assert sp.hf_ms2 == pytest.approx(clean.hf_ms2, rel=0.01)
    assert sp.lf_peak_hz is not None and abs(sp.lf_peak_hz - 0.1) <= 0.002


def test_default_detrend_is_smoothness_priors() -> None:
    rr = modulated_rr(freq_hz=0.1, amplitude_ms=25.0, duration_s=400.0, noise_ms=5.0)
    assert hrv.frequency_domain(rr) == hrv.frequency_domain(rr, detrend="smoothness_priors")
    assert hrv.frequency_domain(rr) != hrv.frequency_domain(rr, detrend=None)


def test_unknown_detrend_is_named() -> None:
    rr = modulated_rr(freq_hz=0.1, amplitude_ms=25.0)
    with pytest.raises(hrv.HrvInputError, match="detrend"):
        hrv.frequency_domain(rr, detrend="kubios")
    with pytest.raises(hrv.HrvInputError, match="detrend"):
        hrv.rolling(rr, window_s=150.0, metrics=["frequency"], detrend="quadratic")
    with pytest.raises(hrv.HrvInputError, match="detrend"):
        hrv.StreamingAnalyser(window_s=150.0, detrend=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("detrend", [None, "linear", "smoothness_priors"])
def test_rolling_equals_single_window_equals_streaming_under_each_detrend(
    detrend: str | None,
) -> None:
    rr = np.concatenate(
        [
            modulated_rr(freq_hz=0.09, amplitude_ms=30.0, noise_ms=8.0, duration_s=500.0),
            modulated_rr(freq_hz=0.2, amplitude_ms=15.0, noise_ms=8.0, duration_s=500.0) + 60.0,
        ]
    )
    rr = np.round(rr * 128.0) / 128.0
    gaps = np.zeros(rr.size, dtype=bool)
    gaps[700] = True
    t = np.cumsum(rr) / 1000.0
    w, step = 300.0, 25.0
    out = hrv.rolling(
        rr, window_s=w, step_s=step, gaps=gaps, metrics=["frequency"], detrend=detrend
    )
    an = hrv.StreamingAnalyser(window_s=w, step_s=step, metrics=["frequency"], detrend=detrend)
    live = [m for i, r in enumerate(rr) for m in an.push(float(r), gap_before=bool(gaps[i]))]
    live += an.flush()
    assert len(live) == out["t_s"].size > 20
    checked = 0
    for k, t_end in enumerate(out["t_s"]):
        sel = (t > t_end - w) & (t <= t_end)
        g = gaps[sel].copy()
        single = hrv.frequency_domain(rr[sel], gaps=g, t_s=t[sel], detrend=detrend, span_s=w)
        for name in FREQUENCY_FIELDS:
            want = getattr(single, name)
            got_live = getattr(live[k], name)
            if want is None:
                assert np.isnan(out[name][k]) and got_live is None, (name, k)
                continue
            checked += 1
            assert out[name][k] == pytest.approx(want, rel=1e-9, abs=1e-12), (name, k)
            assert got_live == pytest.approx(want, rel=1e-9, abs=1e-12), (name, k)
    assert checked > 100


def test_vlf_needs_five_minutes() -> None:
    """Task Force (1996): VLF from recordings of 5 min or less is dubious; a 216-s recording
    reported 4,196 ms^2 of it before."""
    rr = modulated_rr(freq_hz=0.1, amplitude_ms=25.0, duration_s=216.0, noise_ms=10.0)
    fd = hrv.frequency_domain(rr)
    assert fd.vlf_ms2 is None
    assert fd.lf_ms2 is not None and fd.hf_ms2 is not None and fd.total_ms2 is not None
    assert hrv.frequency_domain(rr, span_s=300.0).vlf_ms2 is not None
    long = modulated_rr(freq_hz=0.1, amplitude_ms=25.0, duration_s=301.0, noise_ms=10.0)
    assert hrv.frequency_domain(long).vlf_ms2 is not None
    assert hrv.frequency_domain(long, method="lomb").vlf_ms2 is not None
    assert hrv.frequency_domain(rr, method="lomb").vlf_ms2 is None
    # rolling: a 5-min window reports VLF in every window, a 4-min window in none
    rec = modulated_rr(freq_hz=0.1, amplitude_ms=25.0, duration_s=900.0, noise_ms=10.0)
    five = hrv.rolling(rec, window_s=300.0, step_s=30.0, metrics=["frequency"])
    four = hrv.rolling(rec, window_s=240.0, step_s=30.0, metrics=["frequency"])
    assert not np.isnan(five["vlf_ms2"]).any()
    assert np.isnan(four["vlf_ms2"]).all() and not np.isnan(four["lf_ms2"]).any()
    with pytest.raises(hrv.HrvInputError, match="span_s"):
        hrv.frequency_domain(rr, span_s=-1.0)


# --------------------------------------------------------------------------------------------
# Item 4: HF fidelity of the 4 Hz tachogram (natural cubic spline, Kubios' resampling)


def _hf_power_kept(rr: Rr, f0: float, amplitude: float) -> float:
    """Welch power within +-0.03 Hz of ``f0`` (no detrending) over the sinusoid's A**2 / 2."""
    from hrv.spectrum import welch_freqs as _welch_freqs
    from hrv.spectrum import welch_psd_single as _welch_psd_single

    t = np.cumsum(rr) / 1000.0
    psd = _welch_psd_single(t, rr, np.zeros(rr.size, dtype=bool), None)[0]
    f = _welch_freqs()
    near = np.abs(f - f0) <= 0.03
    return float(psd[near].sum() * (f[1] - f[0])) / (amplitude**2 / 2.0)


def _scipy_spline_power_kept(rr: Rr, f0: float, amplitude: float) -> float:
    """The same with scipy's natural cubic spline and scipy's Welch on the same samples."""
    from scipy.interpolate import CubicSpline
    from scipy.signal import welch

    from hrv._spectral import SPLINE_MARGIN as K

    t = np.cumsum(rr) / 1000.0
    m_lo, m_hi = math.ceil(4 * t[K]), math.floor(4 * t[-1 - K])
    j_lo, j_hi = -(-m_lo // 32), (m_hi - 511) // 32
    grid = np.arange(32 * j_lo, 32 * j_hi + 512) / 4.0
    x = CubicSpline(t, rr, bc_type="natural")(grid)
    f, p = welch(x, fs=4.0, window="hann", nperseg=512, noverlap=480, detrend="constant")
    near = (np.abs(f - f0) <= 0.03) & (f < 0.4)  # our bins stop below 0.4 Hz
    return float(p[near].sum() * f[1]) / (amplitude**2 / 2.0)


@pytest.mark.parametrize("mean_rr_ms", [600.0, 800.0, 1000.0, 1200.0])
@pytest.mark.parametrize("f0", [0.16, 0.20, 0.25, 0.30, 0.35, 0.39])
def test_hf_power_is_a_natural_splines(mean_rr_ms: float, f0: float) -> None:
    """Every sinusoid of 0.15-0.40 Hz at mean RR 600-1200 ms keeps the power a natural cubic
    spline keeps (the resampling is that spline, away from the window's ends)."""
    rr = modulated_rr(freq_hz=f0, amplitude_ms=20.0, duration_s=600.0, base_ms=mean_rr_ms)
    ours = _hf_power_kept(rr, f0, 20.0)
    spline = _scipy_spline_power_kept(rr, f0, 20.0)
    assert ours == pytest.approx(spline, rel=1e-9)


@pytest.mark.parametrize(("f0", "natural_spline"), [(0.30, 0.93), (0.35, 0.84)])
def test_hf_fidelity_at_mean_rr_1000_ms(f0: float, natural_spline: float) -> None:
    """Issue 12: at mean RR 1000 ms the old local Hermite resampler kept 86 % / 74 % of a 0.30 /
    0.35 Hz oscillation's power, a natural cubic spline 93 % / 84 %."""
    from hrv._spectral import hermite_on_grid, interior_grid_range

    rr = modulated_rr(freq_hz=f0, amplitude_ms=20.0, duration_s=600.0, base_ms=1000.0)
    kept = _hf_power_kept(rr, f0, 20.0)
    assert kept >= natural_spline - 0.005
    assert hrv.frequency_domain(rr, detrend=None).hf_ms2 == pytest.approx(kept * 200.0, rel=0.01)
    # the local Hermite interpolant (still coherence's) on the same beats keeps less
    t = np.cumsum(rr) / 1000.0
    lo, hi = (int(v) for v in interior_grid_range(t[2], t[-3]))
    x = hermite_on_grid(t, rr, lo, hi)
    from scipy.signal import welch

    f, p = welch(x, fs=4.0, window="hann", nperseg=512, noverlap=480, detrend="constant")
    hermite = float(p[np.abs(f - f0) <= 0.03].sum() * f[1]) / 200.0
    assert hermite < kept - 0.05


def test_window_spline_equals_the_recordings_spline_inside_the_margin() -> None:
    from hrv._spectral import SPLINE_MARGIN as K
    from hrv._spectral import interior_grid_range, spline_on_grid

    rng = np.random.default_rng(8)
    rr = 800.0 + 60.0 * rng.standard_normal(2000)
    rr[700] = 3000.0  # a pause: the spline's coupling is still local
    t = np.cumsum(rr) / 1000.0
    lo, hi = (int(v) for v in interior_grid_range(t[K], t[-1 - K]))
    whole = spline_on_grid(t, rr, lo, hi)
    for a, b in [(0, 300), (650, 900), (1500, 2000)]:
        wlo, whi = (int(v) for v in interior_grid_range(t[a + K], t[b - 1 - K]))
        part = spline_on_grid(t[a:b], rr[a:b], wlo, whi)
        np.testing.assert_allclose(part, whole[wlo - lo : whi - lo + 1], rtol=0.0, atol=1e-9)
