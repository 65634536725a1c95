"""hrv.time_domain: definitions by hand, gaps, too few beats, bad input, Hypothesis properties."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hrv
from hrv import HrvInputError, TimeDomain, time_domain
from hrv.time_domain import successive_differences

METRICS = [f.name for f in fields(TimeDomain) if f.name != "n_beats"]


def test_small_series_by_hand() -> None:
    rr = [800.0, 860.0, 850.0, 800.0]
    # d = [60, -10, -50]
    td = time_domain(rr)
    assert td.n_beats == 4
    assert td.mean_rr_ms == pytest.approx(827.5)
    assert td.mean_hr_bpm == pytest.approx(np.mean([60000 / x for x in rr]))
    # sample variance: deviations -27.5, 32.5, 22.5, -27.5 -> squares sum 3075, / 3
    assert td.sdnn_ms == pytest.approx(math.sqrt(3075 / 3))
    assert td.rmssd_ms == pytest.approx(math.sqrt((3600 + 100 + 2500) / 3))
    assert td.ln_rmssd == pytest.approx(math.log(math.sqrt(6200 / 3)))
    # d has mean 0 -> sum of squares 6200, ddof 1 -> / 2
    assert td.sdsd_ms == pytest.approx(math.sqrt(6200 / 2))
    # only |60| is > 50 (|-50| is not: strictly greater) out of 3 differences
    assert td.pnn50_pct == pytest.approx(100 / 3)
    assert td.sd1_ms == pytest.approx(math.sqrt(0.5 * 6200 / 2))
    # pair sums p = 1660, 1710, 1650: mean 1673.33..., deviations -13.33, 36.67, -23.33,
    # squares sum 2066.67 = 6200 / 3, ddof 1 -> / 2; SD2 = sqrt(var(p) / 2)
    assert td.sd2_ms == pytest.approx(math.sqrt(6200 / 3 / 2 / 2), rel=1e-12)
    # the Brennan identity sqrt(2 SDNN^2 - SDSD^2 / 2) = 22.36 ms is a different number here
    assert td.sd2_ms != pytest.approx(math.sqrt(2 * 3075 / 3 - 0.5 * 6200 / 2), rel=1e-3)


def test_sd2_of_short_alternating_series_is_its_rotated_axis_spread() -> None:
    # 2 SDNN^2 = 2050 < 0.5 SDSD^2 = 2150: the identity's radicand is negative (it used to be
    # clipped to 0); the rotated axis is a standard deviation and needs no clipping
    rr = np.array([800.0, 860.0, 790.0, 800.0])
    td = time_domain(rr)
    assert td.sdnn_ms is not None and td.sdsd_ms is not None
    assert 2 * td.sdnn_ms**2 < 0.5 * td.sdsd_ms**2
    p = rr[:-1] + rr[1:]  # 1660, 1650, 1590
    assert td.sd2_ms == pytest.approx(float(np.std(p, ddof=1)) / math.sqrt(2), rel=1e-12)
    assert td.sd2_ms > 20.0


def test_sd2_pairs_do_not_cross_gaps() -> None:
    rr = np.array([800.0, 810.0, 1500.0, 1490.0, 1480.0, 1470.0])
    gaps = np.array([False, False, True, False, False, False])
    td = time_domain(rr, gaps=gaps)
    p = np.array([1610.0, 2990.0, 2970.0, 2950.0])  # not 810 + 1500 across the gap
    assert td.sd2_ms == pytest.approx(float(np.std(p, ddof=1)) / math.sqrt(2), rel=1e-12)


def test_pnn50_is_strictly_greater_than_50() -> None:
    # differences exactly 50 do not count; 50.5 does
    assert time_domain([800.0, 850.0, 800.0]).pnn50_pct == 0.0
    assert time_domain([800.0, 850.5, 800.0]).pnn50_pct == pytest.approx(100.0)
    assert time_domain([800.0, 850.5, 800.5]).pnn50_pct == pytest.approx(50.0)


def test_mean_hr_is_mean_of_instantaneous_hr_not_inverse_mean_rr() -> None:
    td = time_domain([500.0, 1000.0])
    assert td.mean_hr_bpm == pytest.approx((120.0 + 60.0) / 2)
    assert td.mean_hr_bpm != pytest.approx(60000.0 / 750.0)


def test_sd1_sd2_match_poincare_rotation_without_gaps() -> None:
    # Brennan 2001: SD1/SD2 are the std of the Poincaré cloud along the rotated axes.
    rng = np.random.default_rng(3)
    rr = 800.0 + np.cumsum(rng.normal(0.0, 10.0, 400)) * 0.3 + rng.normal(0.0, 20.0, 400)
    x, y = rr[:-1], rr[1:]
    sd1 = np.std((y - x) / np.sqrt(2), ddof=1)
    td = time_domain(rr)
    assert td.sd1_ms == pytest.approx(sd1, rel=1e-12)
    # SD2 is the rotated-axis estimate itself (Kubios 2.2, NeuroKit2)
    sd2 = np.std((y + x) / np.sqrt(2), ddof=1)
    assert td.sd2_ms == pytest.approx(sd2, rel=1e-12)


def test_gaps_remove_differences_but_keep_intervals() -> None:
    rr = np.array([800.0, 810.0, 1500.0, 1490.0, 1480.0])
    gaps = np.array([False, False, True, False, False])
    td = time_domain(rr, gaps=gaps)
    d = np.array([10.0, -10.0, -10.0])  # the 690 ms jump into beat 2 is not a difference
    np.testing.assert_array_equal(successive_differences(rr, gaps=gaps), d)
    assert td.rmssd_ms == pytest.approx(10.0)
    assert td.pnn50_pct == 0.0
    assert td.sdsd_ms == pytest.approx(np.std(d, ddof=1))
    assert td.mean_rr_ms == pytest.approx(rr.mean())
    assert td.sdnn_ms == pytest.approx(rr.std(ddof=1))
    assert td.n_beats == 5


def test_gap_at_index_zero_is_ignored() -> None:
    rr = [800.0, 820.0, 790.0]
    assert time_domain(rr, gaps=[True, False, False]) == time_domain(rr)


def test_empty_series_gives_all_none() -> None:
    td = time_domain([])
    assert td.n_beats == 0
    assert all(getattr(td, m) is None for m in METRICS)


def test_one_beat() -> None:
    td = time_domain([800.0])
    assert td.n_beats == 1
    assert td.mean_rr_ms == 800.0
    assert td.mean_hr_bpm == pytest.approx(75.0)
    for m in METRICS:
        if m not in ("mean_rr_ms", "mean_hr_bpm"):
            assert getattr(td, m) is None, m


def test_two_beats_have_rmssd_but_no_sdsd() -> None:
    td = time_domain([800.0, 830.0])
    assert td.rmssd_ms == pytest.approx(30.0)
    assert td.pnn50_pct == 0.0
    assert td.sdnn_ms is not None
    assert td.sdsd_ms is None
    assert td.sd1_ms is None
    assert td.sd2_ms is None


def test_all_differences_across_gaps_gives_none_for_difference_metrics() -> None:
    td = time_domain([800.0, 830.0, 900.0], gaps=[False, True, True])
    assert td.rmssd_ms is None
    assert td.pnn50_pct is None
    assert td.ln_rmssd is None
    assert td.sdnn_ms is not None


def test_constant_rr_gives_zero_and_no_log() -> None:
    td = time_domain([850.0] * 30)
    assert td.rmssd_ms == 0.0
    assert td.sdnn_ms == 0.0
    assert td.sdsd_ms == 0.0
    assert td.sd1_ms == 0.0
    assert td.sd2_ms == 0.0
    assert td.ln_rmssd is None


def test_result_is_frozen_and_exported() -> None:
    td = time_domain([800.0, 810.0, 820.0])
    with pytest.raises(FrozenInstanceError):
        td.rmssd_ms = 1.0  # type: ignore[misc]
    assert hrv.time_domain is time_domain
    assert "time_domain" in hrv.__all__


@pytest.mark.parametrize(
    ("rr", "gaps", "fragment"),
    [
        ([800.0, float("nan"), 790.0], None, "rr_ms: value at index 1"),
        ([800.0, -1.0], None, "must be > 0"),
        ([0.8, 0.81, 0.79], None, "looks like seconds"),
        ([[800.0, 810.0]], None, "1-D"),
        (["800", "810"], None, "dtype"),
        ([800.0, 810.0], [False], "gaps: expected shape"),
        ([800.0, 810.0], [0, 1], "gaps: expected booleans"),
    ],
)
def test_bad_input_raises_hrv_input_error(rr: object, gaps: object, fragment: str) -> None:
    with pytest.raises(HrvInputError, match=fragment):
        time_domain(rr, gaps=gaps)


# --- Hypothesis properties --------------------------------------------------------------------

_rr = arrays(
    np.float64,
    st.integers(min_value=0, max_value=60),
    elements=st.floats(min_value=300.0, max_value=2000.0, allow_nan=False),
)


@st.composite
def _rr_and_gaps(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    rr = draw(_rr)
    gaps = draw(arrays(np.bool_, rr.size))
    return rr, gaps


@settings(max_examples=150, deadline=None)
@given(_rr_and_gaps())
def test_metrics_are_non_negative_and_none_consistent(data: tuple[np.ndarray, np.ndarray]) -> None:
    rr, gaps = data
    td = time_domain(rr, gaps=gaps)
    nd = rr.size - 1 - int(gaps[1:].sum()) if rr.size else 0
    assert td.n_beats == rr.size
    assert (td.rmssd_ms is None) == (nd < 1)
    assert (td.sdsd_ms is None) == (nd < 2)
    assert (td.sdnn_ms is None) == (rr.size < 2)
    for m in ("sdnn_ms", "rmssd_ms", "sdsd_ms", "sd1_ms", "sd2_ms"):
        v = getattr(td, m)
        assert v is None or v >= 0.0
    if td.pnn50_pct is not None:
        assert 0.0 <= td.pnn50_pct <= 100.0


@settings(max_examples=150, deadline=None)
@given(_rr_and_gaps(), st.floats(min_value=-150.0, max_value=1000.0))
def test_shift_invariance(data: tuple[np.ndarray, np.ndarray], shift: float) -> None:
    rr, gaps = data
    a = time_domain(rr, gaps=gaps)
    b = time_domain(rr + shift, gaps=gaps)
    for m in ("sdnn_ms", "rmssd_ms", "sdsd_ms", "sd1_ms", "sd2_ms"):
        va, vb = getattr(a, m), getattr(b, m)
        assert (va is None) == (vb is None)
        if va is not None:
            assert vb == pytest.approx(va, rel=1e-7, abs=1e-6)
    if a.mean_rr_ms is not None:
        assert b.mean_rr_ms == pytest.approx(a.mean_rr_ms + shift)


@settings(max_examples=150, deadline=None)
@given(_rr_and_gaps(), st.floats(min_value=0.5, max_value=3.0))
def test_scales_linearly(data: tuple[np.ndarray, np.ndarray], factor: float) -> None:
    rr, gaps = data
    a = time_domain(rr, gaps=gaps)
    b = time_domain(rr * factor, gaps=gaps)
    for m in ("mean_rr_ms", "sdnn_ms", "rmssd_ms", "sdsd_ms", "sd1_ms", "sd2_ms"):
        va, vb = getattr(a, m), getattr(b, m)
        assert (va is None) == (vb is None)
        if va is not None:
            assert vb == pytest.approx(va * factor, rel=1e-7, abs=1e-6)
    if a.mean_hr_bpm is not None:
        assert b.mean_hr_bpm == pytest.approx(a.mean_hr_bpm / factor)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=50),
    st.floats(min_value=300.0, max_value=2000.0),
)
def test_constant_rr_gives_zero_variability(n: int, value: float) -> None:
    td = time_domain(np.full(n, value))
    if n >= 2:
        assert td.rmssd_ms == 0.0
        assert td.sdnn_ms == pytest.approx(0.0, abs=1e-9)
        assert td.pnn50_pct == 0.0


@settings(max_examples=150, deadline=None)
@given(_rr_and_gaps(), st.data())
def test_a_jump_at_a_gap_changes_no_difference_metric(
    data: tuple[np.ndarray, np.ndarray], draw: st.DataObject
) -> None:
    """Shifting every beat from a gap onwards (a huge jump at the gap) leaves d unchanged."""
    rr, gaps = data
    if rr.size < 2:
        return
    k = draw.draw(st.integers(min_value=1, max_value=rr.size - 1))
    gaps = gaps.copy()
    gaps[k] = True
    jumped = rr.copy()
    jumped[k:] += 1500.0
    a = time_domain(rr, gaps=gaps)
    b = time_domain(jumped, gaps=gaps)
    for m in ("rmssd_ms", "sdsd_ms", "pnn50_pct", "sd1_ms", "ln_rmssd"):
        va, vb = getattr(a, m), getattr(b, m)
        if m == "ln_rmssd" and (a.rmssd_ms or 0.0) < 1e-9:
            # ln of rounding noise: (x + 1500) - (y + 1500) can round to exactly 0 where x - y
            # was 6e-14 (RR 300 and 300 + 1 ulp), so one side is None, the other ln(6e-14)
            continue
        assert (va is None) == (vb is None)
        if va is not None:
            assert vb == pytest.approx(va, rel=1e-9, abs=1e-9)
