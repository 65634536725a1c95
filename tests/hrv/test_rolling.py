"""hrv.rolling: every column equals the single-window functions on that window's slice.

The reference is the plain definition: select the beats with ``t_end - window_s < t_s <= t_end``
by a boolean mask and call :func:`hrv.time_domain`, :func:`hrv.dfa_alpha1` and
:func:`hrv.stress_index` on them, window by window (a Python loop, which rolling never runs).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import hrv
from hrv import HrvInputError, rolling
from hrv.rolling import (
    COHERENCE_COLUMNS,
    FREQUENCY_COLUMNS,
    METRIC_GROUPS,
    NONLINEAR_COLUMNS,
    TIME_COLUMNS,
    window_bounds,
)
from tests.conftest import load_rr_ms

GROUPS = ("time", "nonlinear")
COLUMNS = TIME_COLUMNS + NONLINEAR_COLUMNS
RTOL = 1e-9


@pytest.fixture(scope="module")
def nsr001(shared_data: Path) -> NDArray[np.float64]:
    """nsr2db record nsr001, RR in ms (22.5 h, 106k beats, 1/128-s grid, ectopics and pauses)."""
    return load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)


def _two_hours(rr: NDArray[np.float64]) -> NDArray[np.float64]:
    t = np.cumsum(rr) / 1000.0
    # a 2-hour slice from hour 10 (awake/asleep transition region of this Holter record)
    return rr[(t > 10 * 3600) & (t <= 12 * 3600)]


def _reference(
    rr: NDArray[np.float64],
    t_end: float,
    window_s: float,
    gaps: NDArray[np.bool_] | None,
    t: NDArray[np.float64] | None = None,
    t_sorted: bool = False,
) -> tuple[int, dict[str, float | None]]:
    """The window's metrics by the single-window functions, on the beats in
    ``(t_end - window_s, t_end]`` s; ``t`` is ``np.cumsum(rr) / 1000`` when the caller has it
    (``t_sorted``: it never decreases)."""
    if t is None:
        t = np.cumsum(rr) / 1000.0
    sel: slice | NDArray[np.bool_]
    if t_sorted:
        # beat times never decrease: the mask below is this contiguous slice (searchsorted
        # is O(log n) per window where the mask was O(n), over every window of a whole record)
        sel = slice(
            int(np.searchsorted(t, t_end - window_s, side="right")),
            int(np.searchsorted(t, t_end, side="right")),
        )
    else:
        sel = (t > t_end - window_s) & (t <= t_end)
    w = rr[sel]
    g = gaps[sel] if gaps is not None else None
    td = hrv.time_domain(w, gaps=g)
    ref: dict[str, float | None] = {c: getattr(td, c) for c in TIME_COLUMNS}
    ref["dfa_alpha1"] = hrv.dfa_alpha1(w, gaps=g).alpha1
    ref["stress_index"] = hrv.stress_index(w).value
    return int(w.size), ref


def _assert_matches(
    out: dict[str, Any],
    rr: NDArray[np.float64],
    window_s: float,
    gaps: NDArray[np.bool_] | None,
    ks: Any,
    *,
    floor_ms: float = 0.0,
) -> None:
    """Every column of windows ``ks`` equals the definition to 1e-9 relative.

    ``floor_ms`` adds an absolute tolerance for adversarial synthetic series: a standard
    deviation whose true value is 0 (equal RR, or equal differences, in a 2-3 beat window) comes
    out of sums of squares as ~sqrt(eps) * scale instead of 0, and the direct formula itself
    gives ~1e-13 rather than 0 for equal values. Real recordings are checked with no floor.
    """
    t = np.cumsum(rr) / 1000.0  # once, not once a window
    t_sorted = bool(np.all(np.diff(t) >= 0.0))
    for k in ks:
        n, ref = _reference(rr, float(out["t_s"][k]), window_s, gaps, t, t_sorted)
        assert out["n_beats"][k] == n, k
        for col, want in ref.items():
            got = float(out[col][k])
            if want is None:
                assert np.isnan(got), (col, k, got)
            elif col == "ln_rmssd":
                # an absolute error in ln(RMSSD) is a relative error in RMSSD (ln is 0 at 1 ms)
                floor = floor_ms / math.exp(want)
                assert got == pytest.approx(want, rel=0.0, abs=RTOL + floor), (col, k)
            elif col in ("dfa_alpha1", "stress_index", "pnn50_pct", "mean_hr_bpm"):
                assert got == pytest.approx(want, rel=RTOL, abs=0.0), (col, k)
            else:
                assert got == pytest.approx(want, rel=RTOL, abs=floor_ms), (col, k)


@pytest.mark.parametrize("with_gaps", [False, True])
@pytest.mark.parametrize(("window_s", "step_s"), [(300.0, 10.0), (60.0, 7.0)])
def test_real_recording_every_window_equals_single_window_functions(
    nsr001: NDArray[np.float64], window_s: float, step_s: float, with_gaps: bool
) -> None:
    # (300, 10): window a multiple of the step (fast path); (60, 7): the general path
    rr = _two_hours(nsr001)
    gaps = np.random.default_rng(3).random(rr.size) < 0.02 if with_gaps else None
    out = rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    n_win = out["t_s"].size
    assert n_win == int((np.sum(rr) / 1000.0 - window_s) // step_s) + 1
    _assert_matches(out, rr, window_s, gaps, range(n_win))


def test_24_hour_recording_off_grid_matches_to_1e9(nsr001: NDArray[np.float64]) -> None:
    # Off the 1/128-s grid (continuous jitter) so no sum is exact; whole 22.5-h record, so the
    # prefix sums are as large as they get. Check a sample of windows across the day.
    rng = np.random.default_rng(7)
    rr = nsr001 + rng.uniform(-3.0, 3.0, nsr001.size)
    gaps = rng.random(rr.size) < 0.01
    out = rolling(rr, window_s=300.0, step_s=10.0, gaps=gaps, metrics=GROUPS)
    assert out["t_s"].size == 8067  # the figure quoted in issue 3 for this record
    ks = np.sort(rng.choice(out["t_s"].size, 120, replace=False))
    _assert_matches(out, rr, 300.0, gaps, ks)


@pytest.mark.parametrize("with_gaps", [False, True])
def test_real_recording_spectral_columns_equal_single_window_functions(
    nsr001: NDArray[np.float64], with_gaps: bool
) -> None:
    # The spectral columns come from the batched hrv.coherence.spectral_windows; each window
    # must equal hrv.frequency_domain / hrv.coherence on its beats with their recording times
    # (the 4 Hz grid is the recording's clock), also for windows that hold a gap (handled by
    # hrv.frequency's own gap policy).
    rr = _two_hours(nsr001)
    t = np.cumsum(rr) / 1000.0
    gaps = None
    if with_gaps:
        gaps = np.zeros(rr.size, dtype=bool)
        gaps[[1500, 4000, 7777]] = True
    out = rolling(rr, window_s=300.0, step_s=10.0, gaps=gaps, metrics=["frequency", "coherence"])
    assert list(out) == ["t_s", "n_beats", *FREQUENCY_COLUMNS, *COHERENCE_COLUMNS]
    ks = list(np.linspace(0, out["t_s"].size - 1, 10).astype(int))
    if gaps is not None:  # windows that hold a gap
        ks += [int(np.searchsorted(out["t_s"], t[i])) + 3 for i in (1500, 4000)]
    for k in ks:
        te = float(out["t_s"][k])
        sel = (t > te - 300.0) & (t <= te)
        g = gaps[sel] if gaps is not None else None
        fd = hrv.frequency_domain(rr[sel], gaps=g, t_s=t[sel], span_s=300.0)
        co = hrv.coherence(rr[sel], gaps=g, t_s=t[sel])
        want = {name: getattr(fd, name) for name in FREQUENCY_COLUMNS}
        want.update(
            coherence_ratio=co.ratio, coherence_peak_hz=co.peak_hz, coherence_score=co.score
        )
        for col, v in want.items():
            got = float(out[col][k])
            if v is None:
                assert np.isnan(got), (col, k)
            else:
                assert got == pytest.approx(v, rel=RTOL, abs=0.0), (col, k)


def _all_groups_reference(
    rr: NDArray[np.float64], t_end: float, window_s: float, gaps: NDArray[np.bool_] | None
) -> dict[str, float | None]:
    t = np.cumsum(rr) / 1000.0
    sel = (t > t_end - window_s) & (t <= t_end)
    g = gaps[sel] if gaps is not None else None
    _, ref = _reference(rr, t_end, window_s, gaps)
    fd = hrv.frequency_domain(rr[sel], gaps=g, t_s=t[sel], span_s=window_s)
    co = hrv.coherence(rr[sel], gaps=g, t_s=t[sel])
    ref.update({name: getattr(fd, name) for name in FREQUENCY_COLUMNS})
    ref.update(coherence_ratio=co.ratio, coherence_peak_hz=co.peak_hz, coherence_score=co.score)
    return ref


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("chf2db_chf201_rr_secs.txt", "physionet_rr_secs"),  # heart failure, Holter
        ("rrhealthy_000_rr_ms.txt", "plain"),  # healthy subject, ms
        ("hrvpkg_exercise_rri.hrm", "polar_hrm"),  # Polar strap, rest-exercise-recovery
    ],
)
def test_other_real_recordings_all_groups_equal_single_window_functions(
    shared_data: Path, name: str, fmt: str
) -> None:
    from sensors.recording import read_recording  # the product's reader (tests may use it)

    rec = read_recording(shared_data / name, format=fmt)
    rr = np.asarray(rec.rr_ms, dtype=np.float64)
    rr = rr[np.cumsum(rr) <= 2 * 3600 * 1000.0]  # at most two hours
    out = rolling(rr, window_s=300.0, step_s=10.0)
    assert out["t_s"].size > 100
    for k in np.linspace(0, out["t_s"].size - 1, 12).astype(int):
        ref = _all_groups_reference(rr, float(out["t_s"][k]), 300.0, None)
        for col, want in ref.items():
            got = float(out[col][k])
            if want is None:
                assert np.isnan(got), (col, k)
            else:
                assert got == pytest.approx(want, rel=RTOL, abs=0.0), (name, col, k)


def test_three_day_recording_beyond_the_kept_scratch_memory(nsr001: NDArray[np.float64]) -> None:
    # 3 x 22.5 h = 319k beats: the per-beat scratch rows exceed what a thread keeps between
    # calls, so this run uses fresh memory; values must not change.
    rr = np.tile(nsr001, 3)
    out = rolling(rr, window_s=300.0, step_s=60.0, metrics=["time"])
    again = rolling(rr, window_s=300.0, step_s=60.0, metrics=["time"])
    for col in TIME_COLUMNS:
        np.testing.assert_array_equal(out[col], again[col])
    t = np.cumsum(rr) / 1000.0
    for k in np.linspace(0, out["t_s"].size - 1, 6).astype(int):
        sel = (t > out["t_s"][k] - 300.0) & (t <= out["t_s"][k])
        td = hrv.time_domain(rr[sel])
        assert out["n_beats"][k] == td.n_beats
        for col in TIME_COLUMNS:
            assert out[col][k] == pytest.approx(getattr(td, col), rel=RTOL, abs=0.0), (col, k)


def test_columns_and_dtypes(nsr001: NDArray[np.float64]) -> None:
    out = rolling(nsr001[:2000], window_s=120.0, step_s=30.0, metrics=GROUPS)
    assert list(out) == ["t_s", "n_beats", *TIME_COLUMNS, *NONLINEAR_COLUMNS]
    assert out["n_beats"].dtype == np.int64
    n = out["t_s"].size
    assert n > 0
    for name in COLUMNS:
        assert out[name].dtype == np.float64
        assert out[name].shape == (n,)
    only_time = rolling(nsr001[:2000], window_s=120.0, step_s=30.0, metrics=["time"])
    assert list(only_time) == ["t_s", "n_beats", *TIME_COLUMNS]
    np.testing.assert_array_equal(only_time["rmssd_ms"], out["rmssd_ms"])


def test_window_ends_and_boundaries_follow_the_contract_on_exact_ties() -> None:
    # 1000-ms beats: beat i at t = i + 1 s exactly, so beat times fall on window boundaries.
    rr = np.full(30, 1000.0)
    out = rolling(rr, window_s=10.0, step_s=5.0, metrics=["time"])
    # ends 10, 15, 20, 25, 30: the last equals the last beat time and is included
    np.testing.assert_array_equal(out["t_s"], [10.0, 15.0, 20.0, 25.0, 30.0])
    # (t_end - 10, t_end] holds exactly 10 beats: the beat at t_end - 10 is out, t_end is in
    np.testing.assert_array_equal(out["n_beats"], [10, 10, 10, 10, 10])
    np.testing.assert_array_equal(out["rmssd_ms"], 0.0)
    np.testing.assert_array_equal(out["sdnn_ms"], 0.0)
    win = window_bounds(np.cumsum(rr) / 1000.0, window_s=10.0, step_s=5.0)
    np.testing.assert_array_equal(win.start, [0, 5, 10, 15, 20])
    np.testing.assert_array_equal(win.stop, [10, 15, 20, 25, 30])


def test_constant_rr_gives_zero_variability_and_undefined_nonlinear() -> None:
    out = rolling(np.full(600, 750.0), window_s=60.0, step_s=10.0, metrics=GROUPS)
    assert out["t_s"].size > 0
    for col in ("sdnn_ms", "rmssd_ms", "sdsd_ms", "pnn50_pct", "sd1_ms", "sd2_ms"):
        np.testing.assert_array_equal(out[col], 0.0)
    np.testing.assert_array_equal(out["mean_rr_ms"], 750.0)
    assert np.isnan(out["ln_rmssd"]).all()  # ln(0) is undefined: None in time_domain
    assert np.isnan(out["dfa_alpha1"]).all()  # F(n) = 0
    assert np.isnan(out["stress_index"]).all()  # MxDMn = 0


def test_empty_and_one_beat_windows_after_a_pause_are_nan_not_errors() -> None:
    # a 9-s pause (a plausible RR, < 10 s) longer than the 5-s window
    rr = np.concatenate([np.full(40, 800.0), [9_000.0], np.full(40, 800.0)])
    out = rolling(rr, window_s=5.0, step_s=1.0, metrics=GROUPS)
    n = out["n_beats"]
    assert (n == 0).any() and (n == 1).any()
    empty = n == 0
    for col in COLUMNS:
        assert np.isnan(out[col][empty]).all(), col
    one = n == 1
    np.testing.assert_array_equal(out["mean_rr_ms"][one], 9_000.0)
    assert np.isnan(out["sdnn_ms"][one]).all()
    assert np.isnan(out["rmssd_ms"][one]).all()
    _assert_matches(out, rr, 5.0, None, range(out["t_s"].size))


def test_recording_shorter_than_a_window_gives_empty_columns() -> None:
    out = rolling(np.full(10, 800.0), window_s=60.0, step_s=5.0, metrics=GROUPS)
    assert set(out) == {"t_s", "n_beats", *COLUMNS}
    assert all(v.size == 0 for v in out.values())
    out = rolling([], window_s=60.0, step_s=5.0, metrics=GROUPS)
    assert all(v.size == 0 for v in out.values())


def test_gaps_remove_only_the_differences_that_cross_them() -> None:
    rr = np.array([800.0, 900.0, 800.0, 900.0, 800.0, 900.0] * 20)
    gaps = np.zeros(rr.size, dtype=bool)
    gaps[1::2] = True  # every +100 jump crosses a gap: only the -100 differences remain
    out = rolling(rr, window_s=20.0, step_s=5.0, gaps=gaps, metrics=["time"])
    np.testing.assert_allclose(out["rmssd_ms"], 100.0, rtol=1e-12)
    np.testing.assert_array_equal(out["pnn50_pct"], 100.0)
    np.testing.assert_array_equal(out["sdsd_ms"], 0.0)
    no_gaps = rolling(rr, window_s=20.0, step_s=5.0, metrics=["time"])
    # without gaps the differences alternate +-100: mean 0 or 100/nd, so SDSD is near 100
    np.testing.assert_allclose(no_gaps["rmssd_ms"], 100.0, rtol=1e-12)
    nd = no_gaps["n_beats"] - 1
    odd = nd % 2 == 1  # an odd count of +-100 has mean +-100/nd; even counts have mean 0
    want = np.where(odd, np.sqrt((nd * 100.0**2 - 100.0**2 / nd) / (nd - 1)), 0.0)
    want[~odd] = np.sqrt(nd[~odd] * 100.0**2 / (nd[~odd] - 1))
    np.testing.assert_allclose(no_gaps["sdsd_ms"], want, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    rr=st.lists(st.floats(300.0, 1500.0), min_size=0, max_size=120),
    gap_p=st.sampled_from([0.0, 0.1, 0.5]),
    window_s=st.sampled_from([3.0, 10.0, 20.0, 33.3]),
    step_s=st.sampled_from([0.5, 1.0, 2.5, 10.0]),
    seed=st.integers(0, 2**16),
)
def test_property_rolling_equals_the_definition(
    rr: list[float], gap_p: float, window_s: float, step_s: float, seed: int
) -> None:
    arr = np.array(rr, dtype=np.float64)
    gaps = np.random.default_rng(seed).random(arr.size) < gap_p if gap_p else None
    out = rolling(arr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    n_win = out["t_s"].size
    if arr.size:
        t_last = float(np.cumsum(arr)[-1] / 1000.0)
        ends = [window_s + k * step_s for k in range(n_win + 1)]
        assert all(e <= t_last for e in ends[:n_win]) and ends[n_win] > t_last
    else:
        assert n_win == 0
    _assert_matches(out, arr, window_s, gaps, range(n_win), floor_ms=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": ["time", "spectral"]}, "unknown group 'spectral'"),
        ({"metrics": "time"}, "sequence of group names"),
        ({"metrics": []}, "empty"),
        ({"window_s": 0.0}, "window_s"),
        ({"step_s": -1.0}, "step_s"),
        ({"step_s": float("nan")}, "step_s"),
        ({"window_s": "300"}, "window_s"),
        ({"gaps": np.zeros(3, dtype=bool)}, "gaps"),
        ({"gaps": np.zeros(400)}, "gaps"),
    ],
)
def test_bad_options_raise_hrv_input_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(HrvInputError, match=match):
        rolling(np.full(400, 800.0), **kwargs)


@pytest.mark.parametrize(
    ("rr", "match"),
    [
        ([800.0, float("nan"), 810.0], "index 1"),
        ([800.0, -5.0, 810.0], "index 1"),
        ([0.8, 0.81, 0.79], "seconds"),
        (["800", "810"], "dtype"),
        (np.ones((3, 3)) * 800, "1-D"),
    ],
)
def test_bad_rr_raise_hrv_input_error(rr: Any, match: str) -> None:
    with pytest.raises(HrvInputError, match=match):
        rolling(rr, window_s=1.0, step_s=1.0)


def test_default_metrics_are_all_four_groups_in_column_order() -> None:
    out = rolling(np.full(400, 800.0), window_s=200.0, step_s=60.0)
    assert METRIC_GROUPS == ("time", "frequency", "coherence", "nonlinear")
    want = [*TIME_COLUMNS, *FREQUENCY_COLUMNS, *COHERENCE_COLUMNS, *NONLINEAR_COLUMNS]
    assert list(out) == ["t_s", "n_beats", *want]
    assert list(rolling(np.full(400, 800.0), metrics=None)) == list(out)
