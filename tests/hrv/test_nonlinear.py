"""hrv.dfa_alpha1 and hrv.stress_index: known answers, NeuroKit2 DFA, properties, bad input."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError

import neurokit2 as nk
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hrv
from hrv import Dfa, HrvInputError, StressIndex, dfa_alpha1, stress_index

# --- DFA alpha1 -------------------------------------------------------------------------------


def _expected_alpha(integrations: int, n_min: int = 4, n_max: int = 16) -> float:
    """Expected alpha1 of DFA1 for unit white noise integrated ``integrations`` times.

    Independent of the box code: inside a box of n points the profile is (a line, removed by the
    fit) plus ``L^k e`` with L the n x n lower-triangular matrix of ones (k = 1 for white-noise RR,
    k = 2 for a random-walk RR), so E[F^2(n)] = ||M L^k||_F^2 / n with M the projection off
    span{1, x}. At these small box sizes white noise gives about 0.58, not the asymptotic 0.5
    (the known small-scale bias of DFA, Kantelhardt et al. 2001, Physica A 295, 441-454).
    """
    sizes = np.arange(n_min, n_max + 1)
    f2 = []
    for n in range(n_min, n_max + 1):
        a = np.column_stack([np.ones(n), np.arange(n)])
        m = np.identity(n) - a @ np.linalg.pinv(a)
        k = np.linalg.matrix_power(np.tril(np.ones((n, n))), integrations)
        f2.append(np.sum((m @ k) ** 2) / n)
    return float(np.polyfit(np.log10(sizes), 0.5 * np.log10(f2), 1)[0])


def test_white_noise_gives_about_one_half() -> None:
    expected = _expected_alpha(1)
    assert 0.5 < expected < 0.6
    alphas = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        a = dfa_alpha1(800.0 + 50.0 * rng.standard_normal(1500)).alpha1
        assert a is not None
        alphas.append(a)
    assert np.mean(alphas) == pytest.approx(expected, abs=0.03)
    assert all(abs(a - 0.5) < 0.15 for a in alphas)


def test_random_walk_gives_about_one_and_a_half() -> None:
    expected = _expected_alpha(2)
    assert expected == pytest.approx(1.5, abs=0.05)
    alphas = []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        rr = 800.0 + np.cumsum(rng.standard_normal(1500))
        a = dfa_alpha1(rr).alpha1
        assert a is not None
        alphas.append(a)
    assert np.mean(alphas) == pytest.approx(expected, abs=0.06)


def test_box_fluctuation_by_hand() -> None:
    # Two box sizes only, the slope of two points is exact: check F(n) through an explicit loop.
    rng = np.random.default_rng(7)
    rr = 800.0 + 40.0 * rng.standard_normal(40)
    y = np.cumsum(rr - rr.mean())
    logf = []
    for n in (3, 4):
        res = []
        for b in range(len(y) // n):
            seg = y[b * n : (b + 1) * n]
            coef = np.polyfit(np.arange(n), seg, 1)
            res.extend(seg - np.polyval(coef, np.arange(n)))
        logf.append(math.log10(math.sqrt(np.mean(np.square(res)))))
    slope = (logf[1] - logf[0]) / (math.log10(4) - math.log10(3))
    assert dfa_alpha1(rr, n_min=3, n_max=4).alpha1 == pytest.approx(slope, rel=1e-9)


def test_agrees_with_neurokit2_non_overlapping() -> None:
    rng = np.random.default_rng(11)
    rr = 900.0 + np.convolve(rng.standard_normal(700), np.ones(5) / 5, mode="same") * 60.0
    ours = dfa_alpha1(rr).alpha1
    theirs, _ = nk.fractal_dfa(rr, scale=np.arange(4, 17), overlap=False)
    assert ours == pytest.approx(float(theirs), rel=1e-9)


def test_needs_two_boxes_of_the_largest_size() -> None:
    rng = np.random.default_rng(1)
    rr = 800.0 + 30.0 * rng.standard_normal(40)
    assert dfa_alpha1(rr[:31]) == Dfa(alpha1=None, n_beats=31)
    assert dfa_alpha1(rr[:32]).alpha1 is not None
    assert dfa_alpha1(rr[:19], n_max=10).alpha1 is None
    assert dfa_alpha1(rr[:20], n_max=10).alpha1 is not None
    assert dfa_alpha1([]) == Dfa(alpha1=None, n_beats=0)


def test_constant_rr_has_no_exponent() -> None:
    assert dfa_alpha1([800.0] * 64) == Dfa(alpha1=None, n_beats=64)
    # a constant whose mean is inexact in binary: the profile is rounding noise, still None
    assert dfa_alpha1([800.1 * 0.7] * 64).alpha1 is None


@settings(max_examples=60, deadline=None)
@given(
    # RR on a 1 ms grid (straps report 1/1024 s): variability far above rounding noise
    arrays(
        np.float64,
        st.integers(min_value=32, max_value=120),
        elements=st.integers(min_value=400, max_value=1500).map(float),
    ),
    st.floats(min_value=-200.0, max_value=500.0),
    st.floats(min_value=0.5, max_value=2.0),
)
def test_dfa_invariant_to_shift_and_scale(rr: np.ndarray, shift: float, factor: float) -> None:
    a = dfa_alpha1(rr).alpha1
    b = dfa_alpha1((rr + shift) * factor).alpha1
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert b == pytest.approx(a, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_min": 2}, "n_min: must be >= 3"),
        ({"n_min": 8, "n_max": 8}, "n_max: must be greater"),
        ({"n_min": 4.0}, "n_min: expected an integer"),
        ({"n_max": True}, "n_max: expected an integer"),
    ],
)
def test_dfa_bad_options(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(HrvInputError, match=fragment):
        dfa_alpha1([800.0] * 40, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[800.0, float("nan")] * 20, [0.8] * 40, [[800.0] * 40]])
def test_dfa_bad_rr(bad: object) -> None:
    with pytest.raises(HrvInputError, match="rr_ms"):
        dfa_alpha1(bad)


# --- stress index -----------------------------------------------------------------------------


def test_stress_index_by_hand() -> None:
    # bins of 50 ms from 0: 800-849.99 -> bin 16 (centre 825), 850-899.99 -> bin 17 (centre 875)
    rr = [810.0, 820.0, 849.9, 850.0, 870.0, 990.0]
    si = stress_index(rr)
    assert si.n_beats == 6
    assert si.mode_ms == 825.0
    assert si.amo_pct == pytest.approx(50.0)
    assert si.mxdmn_ms == pytest.approx(180.0)
    assert si.value == pytest.approx(50.0 / (2 * 0.825 * 0.180))


def test_ties_go_to_the_lowest_bin() -> None:
    si = stress_index([910.0, 920.0, 760.0, 770.0])
    assert si.mode_ms == 775.0
    assert si.amo_pct == pytest.approx(50.0)


def test_bin_width_option() -> None:
    si = stress_index([810.0, 820.0, 849.9, 850.0, 870.0, 990.0], bin_ms=100.0)
    assert si.mode_ms == 850.0  # 800-899.99 holds 5 of 6
    assert si.amo_pct == pytest.approx(500.0 / 6)


def test_stress_rises_when_variability_falls() -> None:
    rng = np.random.default_rng(5)
    relaxed = 900.0 + 60.0 * rng.standard_normal(300)
    stressed = 600.0 + 10.0 * rng.standard_normal(300)
    a, b = stress_index(relaxed).value, stress_index(stressed).value
    assert a is not None and b is not None
    assert b > 5 * a


def test_too_few_beats_and_constant_rr() -> None:
    assert stress_index([]) == StressIndex(None, None, None, None, 0)
    one = stress_index([800.0])
    assert one.value is None and one.mode_ms == 825.0 and one.amo_pct == 100.0
    const = stress_index([800.0] * 10)
    assert const.value is None
    assert const.mxdmn_ms == 0.0


@pytest.mark.parametrize(
    ("rr", "bin_ms", "fragment"),
    [
        ([800.0, 810.0], 0.0, "bin_ms: must be finite and > 0"),
        ([800.0, 810.0], float("nan"), "bin_ms: must be finite"),
        ([800.0, 810.0], "50", "bin_ms: expected a number"),
        ([800.0, -810.0], 50.0, "rr_ms: value at index 1"),
        ([0.8, 0.81], 50.0, "looks like seconds"),
    ],
)
def test_stress_index_bad_input(rr: object, bin_ms: object, fragment: str) -> None:
    with pytest.raises(HrvInputError, match=fragment):
        stress_index(rr, bin_ms=bin_ms)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(min_value=1, max_value=80),
        elements=st.floats(min_value=300.0, max_value=2000.0),
    )
)
def test_stress_index_parts_are_consistent(rr: np.ndarray) -> None:
    si = stress_index(rr)
    assert si.amo_pct is not None and si.mode_ms is not None and si.mxdmn_ms is not None
    assert 100.0 / rr.size - 1e-9 <= si.amo_pct <= 100.0
    k = math.floor((si.mode_ms - 25.0) / 50.0)
    in_bin = np.floor(rr / 50.0) == k
    assert si.amo_pct == pytest.approx(100.0 * in_bin.sum() / rr.size)
    assert si.mxdmn_ms == pytest.approx(rr.max() - rr.min())
    if si.value is not None:
        assert si.value > 0.0


def test_results_are_frozen_and_exported() -> None:
    with pytest.raises(FrozenInstanceError):
        stress_index([800.0, 900.0]).value = 1.0  # type: ignore[misc]
    assert hrv.dfa_alpha1 is dfa_alpha1
    assert hrv.stress_index is stress_index
