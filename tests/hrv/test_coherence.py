"""HeartMath-style coherence: synthetic rhythms with a known answer, an independent recomputation
with scipy, batched windows == single window on a real recording, too short, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.signal import periodogram

import hrv
from hrv import Coherence, HrvInputError, coherence, coherence_windows
from tests.conftest import load_rr_ms
from tests.hrv.test_frequency import modulated_rr

Rr = NDArray[np.float64]


def test_breathing_at_six_per_minute_gives_a_high_ratio_at_0_1_hz() -> None:
    rr = modulated_rr(freq_hz=0.1, amplitude_ms=60.0, duration_s=120.0, noise_ms=5.0)
    c = coherence(rr)
    assert c.peak_hz is not None and abs(c.peak_hz - 0.1) <= 4.0 / 1024
    assert c.ratio is not None and c.ratio > 3.0
    assert c.score == pytest.approx(math.log1p(c.ratio))
    # only the last 64 s count
    t = np.cumsum(rr) / 1000.0
    assert c.n_beats == int(np.count_nonzero(t > t[-1] - 64.0))


def test_peak_follows_the_breathing_rate_inside_the_coherence_band() -> None:
    for f in (0.06, 0.1, 0.2):
        c = coherence(modulated_rr(freq_hz=f, amplitude_ms=50.0, duration_s=100.0, noise_ms=3.0))
        assert c.peak_hz == pytest.approx(f, abs=2 * 4.0 / 1024)


def test_white_noise_rr_gives_a_low_ratio() -> None:
    rng = np.random.default_rng(11)
    ratios = []
    for _ in range(20):
        rr = 850.0 + rng.normal(0.0, 40.0, 120)
        c = coherence(rr)
        assert c.ratio is not None
        ratios.append(c.ratio)
    coherent = coherence(modulated_rr(freq_hz=0.1, amplitude_ms=40.0, duration_s=100.0))
    assert float(np.median(ratios)) < 0.6
    assert coherent.ratio is not None and coherent.ratio > 5 * max(ratios)


def test_more_noise_lowers_coherence() -> None:
    scores = [
        coherence(
            modulated_rr(freq_hz=0.1, amplitude_ms=40.0, duration_s=100.0, noise_ms=n, seed=2)
        ).score
        for n in (0.0, 10.0, 30.0, 80.0)
    ]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]


def test_ratio_matches_an_independent_scipy_recomputation() -> None:
    """Same recipe with other tools: cubic spline on the 2 Hz clock, scipy periodogram (Hann,
    nfft 512)."""
    rr = modulated_rr(freq_hz=0.12, amplitude_ms=30.0, duration_s=90.0, noise_ms=15.0, seed=5)
    t = np.cumsum(rr) / 1000.0
    keep = t > t[-1] - 64.0
    tk, rk = t[keep], rr[keep]
    m_end = math.floor(t[-1] * 2.0)
    grid = np.arange(m_end - 127, m_end + 1) / 2.0
    inside = (grid >= tk[2]) & (grid <= tk[-3])
    y = CubicSpline(tk, rk)(grid)
    first, last = np.flatnonzero(inside)[[0, -1]]
    y[:first] = y[first]
    y[last + 1 :] = y[last]
    f, p = periodogram(y, fs=2.0, window="hann", nfft=512, detrend="constant")
    band = (f >= 0.04) & (f <= 0.26)
    k = int(np.flatnonzero(band)[np.argmax(p[band])])
    peak = p[np.abs(f - f[k]) <= 0.015 + 1e-12].sum()
    total = p[(f >= 0.0033) & (f < 0.4)].sum()
    expected = peak / (total - peak)
    c = coherence(rr)
    # the peak between the bins: vertex of the parabola through log power at k-1, k, k+1
    a2, a1, _ = np.polyfit(f[k - 1 : k + 2], np.log(p[k - 1 : k + 2]), 2)
    assert c.peak_hz == pytest.approx(-a1 / (2.0 * a2), abs=2e-4)
    assert abs(c.peak_hz - f[k]) <= 0.5 * (f[1] - f[0])
    # the spline and our Hermite resampling differ slightly at high frequencies
    assert c.ratio == pytest.approx(expected, rel=0.03)


def test_too_short_or_constant_gives_none_fields() -> None:
    for rr in (np.array([]), np.full(5, 800.0), np.full(50, 800.0), np.full(200, 812.3)):
        c = coherence(rr)
        assert (c.ratio, c.peak_hz, c.score) == (None, None, None)
    assert coherence(np.full(50, 800.0)).n_beats == 50  # 40 s: too short
    assert coherence(np.array([])).n_beats == 0


def test_window_length_is_configurable_and_checked() -> None:
    rr = modulated_rr(freq_hz=0.1, amplitude_ms=40.0, duration_s=200.0, noise_ms=5.0)
    c = coherence(rr, window_s=128.0)
    assert c.peak_hz == pytest.approx(0.1, abs=2.0 / 512)
    t = np.cumsum(rr) / 1000.0
    assert c.n_beats == int(np.count_nonzero(t > t[-1] - 128.0))
    for bad in (0.0, -64.0, float("nan"), 8.0, "64"):
        with pytest.raises(HrvInputError, match="window_s"):
            coherence(rr, window_s=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rr_ms": [800.0, float("inf")]}, "index 1"),
        ({"rr_ms": [0.8, 0.9, 0.85]}, "seconds"),
        ({"rr_ms": [800.0, 810.0], "gaps": [1, 0]}, "gaps"),
        ({"rr_ms": [800.0, 810.0], "t_s": [2.0, 2.0]}, "increasing"),
    ],
)
def test_bad_input_raises(kwargs: dict[str, object], match: str) -> None:
    rr = kwargs.pop("rr_ms")
    with pytest.raises(HrvInputError, match=match):
        coherence(rr, **kwargs)  # type: ignore[arg-type]


def test_exported_and_frozen() -> None:
    c = hrv.coherence(np.full(100, 800.0))
    assert isinstance(c, Coherence)
    with pytest.raises(AttributeError):
        c.ratio = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Batched windows == single window


@pytest.fixture(scope="module")
def rr_real(shared_data: Path) -> Rr:
    rr = load_rr_ms(shared_data / "rrhealthy_007_rr_ms.txt", units="ms")
    return rr[np.cumsum(rr) <= 3_600_000.0]


@pytest.mark.parametrize(("window_s", "step_s"), [(300.0, 23.0), (56.0, 7.0), (64.0, 64.0)])
def test_windows_equal_single_window(rr_real: Rr, window_s: float, step_s: float) -> None:
    t = np.cumsum(rr_real) / 1000.0
    t_end = np.concatenate([[-1.0, 30.0], np.arange(window_s, t[-1], step_s)])
    cols = coherence_windows(rr_real, t_end_s=t_end, window_s=window_s)
    assert set(cols) == {"coherence_ratio", "coherence_peak_hz", "coherence_score"}
    checked = 0
    for k, te in enumerate(t_end):
        sel = (t > te - window_s) & (t <= te)
        single = coherence(rr_real[sel], t_s=t[sel])
        for name, col in (
            ("ratio", "coherence_ratio"),
            ("peak_hz", "coherence_peak_hz"),
            ("score", "coherence_score"),
        ):
            v = getattr(single, name)
            if v is None:
                assert np.isnan(cols[col][k]), (k, name)
            else:
                checked += 1
                assert cols[col][k] == pytest.approx(v, rel=1e-9), (k, name)
    assert checked > 100


def test_windows_bad_input(rr_real: Rr) -> None:
    with pytest.raises(HrvInputError, match="coherence_s"):
        coherence_windows(rr_real, t_end_s=[300.0], window_s=300.0, coherence_s=1.0)
    with pytest.raises(HrvInputError, match="window_s"):
        coherence_windows(rr_real, t_end_s=[300.0], window_s=-1.0)
    out = coherence_windows(rr_real, t_end_s=[], window_s=300.0)
    assert all(v.size == 0 for v in out.values())


def test_spectral_windows_equals_the_two_batched_functions(rr_real: Rr) -> None:
    from hrv.coherence import spectral_windows
    from hrv.frequency import FREQUENCY_FIELDS

    t = np.cumsum(rr_real) / 1000.0
    t_end = np.arange(300.0, t[-1], 60.0)
    gaps = np.zeros(rr_real.size, dtype=bool)
    gaps[2000] = True  # Welch leaves out the segments around it
    both = spectral_windows(rr_real, t_end_s=t_end, window_s=300.0, gaps=gaps)
    freq = hrv.frequency_domain_windows(rr_real, t_end_s=t_end, window_s=300.0, gaps=gaps)
    coh = coherence_windows(rr_real, t_end_s=t_end, window_s=300.0, gaps=gaps)
    assert set(both) == set(FREQUENCY_FIELDS) | set(coh)
    for name, col in {**freq, **coh}.items():
        np.testing.assert_array_equal(both[name], col)
    only = spectral_windows(rr_real, t_end_s=t_end, window_s=300.0, groups=("coherence",))
    assert set(only) == set(coh)
    with pytest.raises(HrvInputError, match="groups"):
        spectral_windows(rr_real, t_end_s=t_end, window_s=300.0, groups=("time",))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shift_half_s=st.integers(-2000, 2000),
    # 850 ms +- scale * (40 ms + ~4 sigma of noise) must stay a valid (positive) RR series
    scale=st.floats(0.2, 3.0),
    noise_ms=st.floats(0.0, 30.0),
)
def test_properties(seed: int, shift_half_s: int, scale: float, noise_ms: float) -> None:
    """Ratio >= 0 and score = ln(1 + ratio); the ratio does not depend on the RR amplitude
    (scaling the deviations) nor on moving the clock by whole 0.5-s samples."""
    rng = np.random.default_rng(seed)
    rr = modulated_rr(
        freq_hz=0.05 + 0.2 * rng.random(),
        amplitude_ms=40.0,
        duration_s=80.0,
        noise_ms=noise_ms,
        seed=seed,
    )
    t = np.cumsum(rr) / 1000.0
    base = coherence(rr, t_s=t)
    assert base.ratio is not None and base.ratio >= 0.0
    assert base.score == pytest.approx(math.log1p(base.ratio))
    assert base.peak_hz is not None and 0.04 <= base.peak_hz <= 0.26
    scaled = coherence(850.0 + scale * (rr - 850.0), t_s=t)
    assert scaled.ratio == pytest.approx(base.ratio, rel=1e-9)
    moved = coherence(rr, t_s=t + 0.5 * shift_half_s)
    assert moved.ratio == pytest.approx(base.ratio, rel=1e-6)
    assert moved.peak_hz == pytest.approx(base.peak_hz, rel=1e-9)


def test_cached_slot_constants_are_read_only_and_unchanged() -> None:
    """The Hann window and the slot's bin frequencies are cached across windows (a live session
    asks for the same ones every 5 s), so they must be read-only: a caller that scaled one in
    place would change every later window. Values as computed per call before."""
    from scipy.signal import get_window

    from hrv._spectral import hann_periodic
    from hrv.coherence import _slot_bins

    w = hann_periodic(128)
    assert not w.flags.writeable
    np.testing.assert_allclose(w, get_window("hann", 128), rtol=0, atol=1e-15)
    assert hann_periodic(128) is w
    nfft, df, n_bins, f, *_ = _slot_bins(128)
    assert not f.flags.writeable
    assert (nfft, df, n_bins) == (512, 2.0 / 512, math.ceil(0.4 / (2.0 / 512)))
    np.testing.assert_array_equal(f, np.arange(n_bins) * df)


def test_hold_edges_one_row_equals_the_batched_rows() -> None:
    """The single-window path holds the edges of its one row with slices; the batched path
    (hrv.rolling) with ragged indices: the same values, edges at the ends and in between."""
    from hrv.coherence import _hold_edges

    rng = np.random.default_rng(11)
    n = 16
    cases = [(0, n - 1), (0, 5), (7, n - 1), (3, 12), (5, 5), (1, n - 2)]
    rows = rng.standard_normal((len(cases), n))
    lo = np.array([c[0] for c in cases], dtype=np.int64)
    hi = np.array([c[1] for c in cases], dtype=np.int64)
    batched = rows.copy()
    _hold_edges(batched, lo, hi)
    for r in range(len(cases)):
        one = rows[r : r + 1].copy()
        _hold_edges(one, lo[r : r + 1], hi[r : r + 1])
        np.testing.assert_array_equal(one[0], batched[r])
        assert np.all(one[0, : lo[r]] == rows[r, lo[r]])
        assert np.all(one[0, hi[r] + 1 :] == rows[r, hi[r]])
        np.testing.assert_array_equal(one[0, lo[r] : hi[r] + 1], rows[r, lo[r] : hi[r] + 1])
