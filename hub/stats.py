"""Statistics of intervention studies (T0/T1): paired mean change and difference in differences.

Pure functions on numpy arrays (the hub's only numerics); scipy gives the t quantiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

__all__ = ["DiffInDiff", "PairedChange", "diff_in_diff", "paired_change"]


@dataclass(frozen=True)
class PairedChange:
    """Mean change T0 -> T1 over ``n`` pairs with its 95 % CI and Cohen's d_z."""

    n: int
    mean_t0: float
    mean_t1: float
    mean_change: float
    sd_change: float
    ci_low: float
    ci_high: float
    d_z: float | None


@dataclass(frozen=True)
class DiffInDiff:
    """Mean change of the intervention group minus that of the control group, Welch 95 % CI."""

    estimate: float
    ci_low: float
    ci_high: float
    df: float


def paired_change(t0: ArrayLike, t1: ArrayLike, *, confidence: float = 0.95) -> PairedChange:
    r"""Mean of the paired differences ``t1 - t0`` with a t-distribution confidence interval.

    Definition: with differences :math:`d_i = x_{1,i} - x_{0,i}`, :math:`\bar d` their mean and
    :math:`s_d` their sample SD (ddof 1), the interval is
    :math:`\bar d \pm t_{1-\alpha/2,\,n-1}\, s_d/\sqrt n` (the paired t-test's interval)
    and Cohen's :math:`d_z = \bar d / s_d` (``None`` when :math:`s_d = 0`).

    Parameters
    ----------
    t0, t1
        Each member's value at T0 and at T1, same order, at least two pairs, finite.
    confidence
        Coverage of the interval (default 0.95).

    Returns
    -------
    PairedChange

    Examples
    --------
    >>> r = paired_change([60.0, 62.0, 58.0], [57.0, 60.0, 55.0])
    >>> round(r.mean_change, 3), r.n
    (-2.667, 3)

    References
    ----------
    Student (1908) The probable error of a mean. Biometrika 6:1-25.
    Lakens D (2013) Calculating and reporting effect sizes to facilitate cumulative science: a
    practical primer for t-tests and ANOVAs. Front Psychol 4:863 (d_z, eq. 6).
    """
    x0 = np.asarray(t0, dtype=float)
    x1 = np.asarray(t1, dtype=float)
    if x0.shape != x1.shape or x0.ndim != 1:
        raise ValueError(f"t0 and t1 must be 1-D of the same length, got {x0.shape}, {x1.shape}")
    n = int(x0.size)
    if n < 2:
        raise ValueError(f"a paired change needs at least 2 pairs, got {n}")
    d = x1 - x0
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return PairedChange(
        n=n,
        mean_t0=float(x0.mean()),
        mean_t1=float(x1.mean()),
        mean_change=mean,
        sd_change=sd,
        ci_low=mean - half,
        ci_high=mean + half,
        d_z=mean / sd if sd > 0 else None,
    )


def diff_in_diff(
    treated: PairedChange, control: PairedChange, *, confidence: float = 0.95
) -> DiffInDiff:
    r"""Difference in differences of two independent groups' mean changes, Welch interval.

    Definition: :math:`\hat\delta = \bar d_T - \bar d_C` with standard error
    :math:`\sqrt{s_T^2/n_T + s_C^2/n_C}` and Welch-Satterthwaite degrees of freedom; this is
    Welch's two-sample t interval on the change scores (the pre/post design's DiD).

    Examples
    --------
    >>> t = paired_change([60.0, 62.0, 58.0], [57.0, 60.0, 55.0])
    >>> c = paired_change([61.0, 59.0, 60.0], [61.0, 58.0, 60.0])
    >>> round(diff_in_diff(t, c).estimate, 3)
    -2.333

    References
    ----------
    Welch BL (1947) The generalization of "Student's" problem when several different population
    variances are involved. Biometrika 34:28-35.
    Angrist JD, Pischke J-S (2009) Mostly Harmless Econometrics, ch. 5 (differences in
    differences). Princeton University Press.
    """
    v_t = treated.sd_change**2 / treated.n
    v_c = control.sd_change**2 / control.n
    se = math.sqrt(v_t + v_c)
    estimate = treated.mean_change - control.mean_change
    if se == 0:
        return DiffInDiff(estimate, estimate, estimate, float(treated.n + control.n - 2))
    df = (v_t + v_c) ** 2 / (v_t**2 / (treated.n - 1) + v_c**2 / (control.n - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return DiffInDiff(estimate, estimate - half, estimate + half, float(df))
