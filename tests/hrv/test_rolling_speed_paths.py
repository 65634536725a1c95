"""The faster internal forms used by ``hrv.rolling`` give the numbers of their plain forms.

Issue 12's speed work rewrote some building blocks so that they do fewer passes over memory
while doing the same floating-point operations in the same order. These tests pin that down
bit for bit against the straightforward form (written out here), and check the stress index's
two ways of numbering the histogram bins (counting, or sorting when the RR spread over far
more bins than there are beats) against :func:`hrv.stress_index` window by window.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import rolling, stress_index
from hrv._spectral import centred_rows, gather_rows
from hrv._windows import running_sum_dd

Series = NDArray[np.float64]


def _running_sum_dd_plain(values: Series) -> tuple[Series, Series]:
    """TwoSum running sum along axis 0 written out with a shifted copy (the former form)."""
    hi = np.cumsum(values, axis=0)
    before = np.zeros_like(hi)
    before[1:] = hi[:-1]
    b_virtual = hi - before
    err = (before - (hi - b_virtual)) + (values - b_virtual)
    return hi, np.cumsum(err, axis=0)


@pytest.mark.parametrize("shape", [(1,), (7,), (5000,), (400, 4), (257, 13)])
def test_running_sum_dd_equals_the_plain_twosum_form_bit_for_bit(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(shape) * 1000 + shape[0])
    values = rng.normal(0.0, 1.0, shape) * 10.0 ** rng.integers(-3, 9, shape)
    values.flat[values.size // 3] = 4e11  # a huge value early on: lo must carry its error
    hi, lo = running_sum_dd(values, axis=0)
    want_hi, want_lo = _running_sum_dd_plain(values)
    assert np.array_equal(hi, want_hi)
    assert np.array_equal(lo, want_lo)
    assert not np.signbit(lo.reshape(values.shape[0], -1)[0]).any()  # row 0: +0.0, as before


def test_running_sum_dd_keeps_the_digits_of_a_late_difference() -> None:
    """After a huge value, hi + lo still gives a small window sum exactly (math.fsum)."""
    values = np.array([1e16, *([0.1] * 50), 3.3, 0.7])
    hi, lo = running_sum_dd(values)
    got = (hi[-1] - hi[10]) + (lo[-1] - lo[10])
    assert got == pytest.approx(math.fsum(values[11:]), rel=1e-15)


@pytest.mark.parametrize(
    "offsets",
    [
        [0],
        [3, 35, 67, 99, 131],  # evenly spaced (a stretch of Welch segments): strided view
        [3, 35, 99, 131],  # a hole (a segment left out): fancy indexing
        [40, 8, 72],  # not increasing
        [5, 5, 5],  # step 0
    ],
)
def test_centred_rows_equal_gathered_rows_minus_their_first_value(offsets: list[int]) -> None:
    series = np.random.default_rng(3).uniform(600.0, 1100.0, 700)
    off = np.array(offsets, dtype=np.int64)
    want = gather_rows(series, off, 512)
    want -= want[:, :1]
    got = centred_rows(series, off, 512)
    assert np.array_equal(got, want)
    out = np.full((off.size, 512), np.nan)
    assert centred_rows(series, off, 512, out=out) is out
    assert np.array_equal(out, want)


@pytest.mark.parametrize(
    ("pause_ms", "sorts"), [(None, False), (1.0e5, False), (3.0e5, True), (2.0e7, True)]
)
def test_stress_index_columns_equal_the_single_window_function(
    monkeypatch: pytest.MonkeyPatch, pause_ms: float | None, sorts: bool
) -> None:
    """Both bin numberings: counting while the 50-ms bins from the shortest to the longest RR
    number at most 4 per beat + 64 (a 100-s pause among 600 beats: 2,000), sorting beyond (a
    300-s pause: 6,000 bins; 2e7 ms, 5.6 h: 400,000)."""
    rr = np.random.default_rng(11).uniform(550.0, 1150.0, 600)
    if pause_ms is not None:
        rr[250] = pause_ms
    calls: list[int] = []
    unique = np.unique

    def recording_unique(*args: object, **kwargs: object) -> object:
        if kwargs.get("return_inverse"):  # the bin numbering (the range queries sort too)
            calls.append(1)
        return unique(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(np, "unique", recording_unique)
    out = rolling(rr, window_s=120.0, step_s=7.0, metrics=["nonlinear"])
    monkeypatch.undo()
    assert bool(calls) == sorts
    t = np.cumsum(rr) / 1000.0
    checked = 0
    for k, t_end in enumerate(out["t_s"].tolist()):
        sel = (t > t_end - 120.0) & (t <= t_end)
        want = stress_index(rr[sel]).value
        got = float(out["stress_index"][k])
        if want is None:
            assert math.isnan(got), k
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=0.0), k
            checked += 1
    assert checked >= 20
