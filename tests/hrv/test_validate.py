"""Input checks shared by every HRV metric."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrv._validate import _median, as_gaps, as_rr_ms
from hrv.errors import HrvInputError


def test_accepts_lists_and_ints() -> None:
    out = as_rr_ms([800, 810, 790])
    assert out.dtype == np.float64
    assert out.tolist() == [800.0, 810.0, 790.0]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([800.0, float("nan"), 790.0], "index 1"),
        ([800.0, -5.0], "must be > 0"),
        ([800.0, 0.0], "must be > 0"),
        ([0.8, 0.81, 0.79], "looks like seconds"),
        ([[800.0, 810.0]], "1-D"),
        (["800", "810"], "dtype"),
        ([True, False], "dtype"),
    ],
)
def test_rejects_bad_input_with_a_named_problem(value: object, fragment: str) -> None:
    with pytest.raises(HrvInputError, match=fragment):
        as_rr_ms(value)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="rr_ms"):
        as_rr_ms([float("inf")])


def test_empty_allowed_or_not() -> None:
    assert as_rr_ms([]).size == 0
    with pytest.raises(HrvInputError, match="empty"):
        as_rr_ms([], allow_empty=False)


def test_gaps_shape_and_dtype() -> None:
    assert not as_gaps(None, 3).any()
    with pytest.raises(HrvInputError, match="shape"):
        as_gaps(np.zeros(2, dtype=bool), 3)
    with pytest.raises(HrvInputError, match="booleans"):
        as_gaps(np.zeros(3), 3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=1.0, max_value=1e5, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=300,
    )
)
def test_unit_check_median_equals_numpy_median(values: list[float]) -> None:
    # the unit check's own median (partial sort) must decide exactly as np.median would
    x = np.asarray(values)
    assert _median(x) == float(np.median(x))
