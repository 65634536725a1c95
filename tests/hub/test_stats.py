"""The T0/T1 statistics against scipy, on data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hub.stats import diff_in_diff, paired_change


def test_paired_change_on_known_differences() -> None:
    t0 = np.array([50.0, 55.0, 60.0, 65.0, 70.0])
    t1 = t0 + np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # mean 3, SD sqrt(2.5)
    r = paired_change(t0, t1)
    sd = math.sqrt(2.5)
    half = stats.t.ppf(0.975, 4) * sd / math.sqrt(5)
    assert r.n == 5 and r.mean_change == pytest.approx(3.0)
    assert r.sd_change == pytest.approx(sd)
    assert (r.ci_low, r.ci_high) == pytest.approx((3.0 - half, 3.0 + half))
    assert r.d_z == pytest.approx(3.0 / sd)
    assert r.mean_t0 == pytest.approx(60.0) and r.mean_t1 == pytest.approx(63.0)


def test_paired_change_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(17)
    t0 = rng.normal(45, 12, 40)
    t1 = t0 + rng.normal(4, 6, 40)
    r = paired_change(t0, t1)
    ci = stats.ttest_rel(t1, t0).confidence_interval(0.95)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.ci_low < 4 < r.ci_high  # the true shift (seeded: covered)
    d = t1 - t0
    assert r.d_z == pytest.approx(d.mean() / d.std(ddof=1))


def test_diff_in_diff_matches_welch_on_change_scores() -> None:
    rng = np.random.default_rng(3)
    a0, c0 = rng.normal(60, 8, 30), rng.normal(60, 8, 25)
    a1 = a0 + rng.normal(-5, 3, 30)  # treated: HR down 5
    c1 = c0 + rng.normal(-1, 6, 25)  # control: down 1
    did = diff_in_diff(paired_change(a0, a1), paired_change(c0, c1))
    welch = stats.ttest_ind(a1 - a0, c1 - c0, equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert did.estimate == pytest.approx((a1 - a0).mean() - (c1 - c0).mean())
    assert (did.ci_low, did.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert did.df == pytest.approx(welch.df)
    assert did.ci_low < -4 < did.ci_high


def test_constant_change_has_no_d_z_and_bad_input_is_refused() -> None:
    r = paired_change([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert r.sd_change == 0 and r.d_z is None and r.ci_low == r.ci_high == 1.0
    with pytest.raises(ValueError, match="at least 2 pairs"):
        paired_change([1.0], [2.0])
    with pytest.raises(ValueError, match="same length"):
        paired_change([1.0, 2.0], [2.0])
