"""hrv.clean on values no RR interval can have: 0, negative, absurdly long, the largest floats.

Issue 12 item 2: such values are labelled, never a reason to refuse the series, and no value can
make time or memory grow beyond O(n) (a 1e12 ms value used to be split into ~10^9 "missed"
beats, 7.35 GiB; 1e308 raised OverflowError). A too-long interval hides at most
``max_missed_beats`` (default 3) missed beats; a longer one is a gap.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from hrv import BeatLabel, HrvInputError, clean, time_domain
from tests.conftest import load_rr_ms

FloatArray = NDArray[np.float64]

#: finite values no RR interval can have, from both ends of the float range
ABSURD = (
    0.0,
    -5.0,
    -1e12,
    5e-324,
    1e12,
    1e308,
    sys.float_info.max,
    -sys.float_info.max,
    np.nextafter(sys.float_info.max, 0.0),
)


@pytest.fixture(scope="module")
def rest(shared_data: Path) -> FloatArray:
    return load_rr_ms(shared_data / "hrvpkg_rest_rri_ms.txt", units="ms")


@pytest.fixture(scope="module")
def nsr_hour(shared_data: Path) -> FloatArray:
    """The first hour of nsr2db nsr001 (RR in seconds in the file)."""
    rr = load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="s")
    return rr[np.cumsum(rr) <= 3_600_000.0]


def peak_bytes_and_seconds(rr: FloatArray) -> tuple[int, float]:
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        clean(rr)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, elapsed


@pytest.mark.parametrize("value", ABSURD, ids=repr)
def test_absurd_value_in_a_real_recording_is_labelled_not_refused(
    value: float, rest: FloatArray
) -> None:
    bad = rest.copy()
    bad[300] = value
    result = clean(bad)
    assert result.labels[300] != BeatLabel.NORMAL
    assert result.gated[300]
    # what comes out is a usable RR series: in range, same length give or take the artefact
    assert result.rr_ms.min() >= 300.0
    assert result.rr_ms.max() <= 2000.0
    assert abs(result.rr_ms.size - rest.size) <= 1
    # the rest of the recording is untouched by the value (labels far from it as without it)
    ref = clean(rest).labels
    np.testing.assert_array_equal(result.labels[:280], ref[:280])
    np.testing.assert_array_equal(result.labels[320:], ref[320:])
    rmssd = time_domain(result.rr_ms, gaps=result.gaps).rmssd_ms
    ref_rmssd = time_domain(clean(rest).rr_ms).rmssd_ms
    assert rmssd == pytest.approx(ref_rmssd, rel=0.02)


@pytest.mark.parametrize("value", [60_000.0, 1e12, 1e308, sys.float_info.max])
def test_far_too_long_interval_is_a_gap_not_missed_beats(value: float, rest: FloatArray) -> None:
    bad = rest.copy()
    bad[500] = value
    result = clean(bad)
    assert result.label_names[500] == "gap"
    assert result.rr_ms.size == rest.size - 1  # removed, nothing invented
    # the interval after it starts a gap: no successive difference across it
    after = int(np.searchsorted(result.source_index, 501))
    assert result.source_index[after] == 501
    assert result.gaps[after]
    assert result.gaps.sum() == 1
    assert not result.corrected[after]  # the next interval itself is kept as it was
    assert result.rr_ms[after] == rest[501]


def test_gap_bound_is_the_number_of_missed_beats(rest: FloatArray) -> None:
    """At most ``max_missed_beats`` hidden beats are split; one more makes it a gap."""
    local = float(np.median(rest[490:510]))
    for hidden, expected in ((1, "missed"), (3, "missed"), (4, "gap"), (9, "gap")):
        bad = rest.copy()
        bad[500] = local * (hidden + 1)
        result = clean(bad)
        assert result.label_names[500] == expected, hidden
        grown = result.rr_ms.size - rest.size
        assert grown == (hidden if expected == "missed" else -1)
    bad = rest.copy()
    bad[500] = local * 5
    assert clean(bad, max_missed_beats=4).label_names[500] == "missed"
    assert clean(bad, max_missed_beats=3).label_names[500] == "gap"


def test_runs_of_absurd_values_and_gaps_given_with_them(rest: FloatArray) -> None:
    bad = rest.copy()
    bad[100:103] = [1e12, 0.0, 1e308]  # a corrupt stretch
    bad[600:604] = -5.0
    gaps = np.zeros(bad.size, dtype=np.bool_)
    gaps[101] = True
    gaps[700] = True
    result = clean(bad, gaps=gaps)
    assert result.label_names[100] == "gap"
    assert result.label_names[102] == "gap"
    assert result.labels[101] != BeatLabel.NORMAL
    assert all(result.labels[600:604] != BeatLabel.NORMAL)
    assert result.rr_ms.min() >= 300.0
    assert result.rr_ms.max() <= 2000.0
    # the given gap at 700 survives, and the corrupt stretch ends in one
    assert 700 in result.source_index[result.gaps].tolist()
    first_after = int(np.searchsorted(result.source_index, 103))
    assert result.gaps[first_after]


def test_every_value_out_of_range_gives_an_empty_series() -> None:
    result = clean([3000.0, 1e12, 0.0, -5.0, 2500.0, 1e308, 2800.0])
    assert result.rr_ms.size == 0
    assert result.n_artefacts == 7
    assert result.quality == 0.0


def test_units_check_still_judges_the_positive_values() -> None:
    # a series whose typical positive value is absurd is a units problem, said as such
    with pytest.raises(HrvInputError, match="implausible"):
        clean([1e12, 0.0, -5.0, 1e308])


@pytest.mark.parametrize("value", [1e12, 1e308, sys.float_info.max, -sys.float_info.max])
def test_memory_and_time_stay_linear_whatever_the_values(
    value: float, nsr_hour: FloatArray
) -> None:
    """Peak memory of clean() on an hour (~4,000 beats) with 1 % absurd values stays within a
    small multiple of the same call on the clean hour; time likewise (generous factor: the
    machine is shared). Before the bound one 1e12 value allocated 7.35 GiB."""
    base_peak, base_s = peak_bytes_and_seconds(nsr_hour)
    bad = nsr_hour.copy()
    rng = np.random.default_rng(7)
    bad[rng.choice(np.arange(50, bad.size - 50), size=bad.size // 100, replace=False)] = value
    peak, elapsed = peak_bytes_and_seconds(bad)
    assert peak <= 3 * base_peak + 1_000_000
    assert elapsed <= 10 * base_s + 0.5


def test_an_option_cannot_reopen_the_overflow() -> None:
    with pytest.raises(HrvInputError, match="max_rr_ms"):
        clean([800.0] * 50, max_rr_ms=1e308)
    for bad in (0, 11, 2.5, True):
        with pytest.raises(HrvInputError, match="max_missed_beats"):
            clean([800.0] * 50, max_missed_beats=bad)  # type: ignore[arg-type]
    # the largest accepted gate still keeps a value past it a bounded gap
    result = clean([800.0] * 30 + [1e308] + [800.0] * 30, max_rr_ms=60_000.0)
    assert result.label_names[30] == "gap"


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=12
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_finite_values_in_a_real_series_are_labelled_and_bounded(
    values: list[float], seed: int, rest: FloatArray
) -> None:
    """Whatever finite values are mixed into a real series: no error, a labelled result in the
    physiological range, and at most ``max_missed_beats`` extra intervals per input interval."""
    base = rest[:200]
    rng = np.random.default_rng(seed)
    bad = base.copy()
    bad[rng.choice(np.arange(bad.size), size=len(values), replace=False)] = values
    result = clean(bad)
    assert result.labels.size == bad.size
    assert result.rr_ms.size <= 4 * bad.size
    if result.rr_ms.size:
        assert result.rr_ms.min() >= 300.0
        assert result.rr_ms.max() <= 2000.0
    out_of_range = (bad < 300.0) | (bad > 2000.0)
    assert (result.labels[out_of_range] != BeatLabel.NORMAL).all()
    assert np.isfinite(result.rr_ms).all()
