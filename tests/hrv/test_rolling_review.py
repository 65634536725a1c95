"""Review of the rolling time-domain rewrite (hrv._rolling_time, hrv._windows): edge cases.

Each test compares :func:`hrv.rolling` with the single-window definition (``hrv.time_domain``,
``hrv.dfa_alpha1`` on the boolean-mask slice of ``t_end - window_s < t_s <= t_end``) on inputs
the other rolling tests do not build: a first RR hours long off the grid, near-constant RR in
windows too long for the exact integer variance, integer sums near 2**53 units, read-only and
strided input, integer dtypes, concurrent threads, stale scratch memory, single-beat recordings.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import hrv
import hrv._rolling_time as rt
from hrv import rolling
from hrv._windows import _local, scratch_rows
from hrv.rolling import TIME_COLUMNS

Series = NDArray[np.float64]
RTOL = 1e-9
#: ms per tick of a chest strap's 1/1024-s clock (exact in binary: 125/128).
STRAP_TICK_MS = 1000.0 / 1024.0


def _window(rr: Series, t_end: float, window_s: float) -> NDArray[np.bool_]:
    t = np.cumsum(rr) / 1000.0
    return (t > t_end - window_s) & (t <= t_end)


def _check_time(
    out: dict[str, Any],
    rr: Series,
    window_s: float,
    gaps: NDArray[np.bool_] | None = None,
    ks: Any = None,
    columns: tuple[str, ...] = TIME_COLUMNS,
) -> int:
    """Every time column of windows ``ks`` equals ``hrv.time_domain`` to 1e-9; returns count."""
    checked = 0
    for k in range(out["t_s"].size) if ks is None else ks:
        sel = _window(rr, float(out["t_s"][k]), window_s)
        td = hrv.time_domain(rr[sel], gaps=None if gaps is None else gaps[sel])
        assert out["n_beats"][k] == td.n_beats, k
        for col in columns:
            want, got = getattr(td, col), float(out[col][k])
            if want is None:
                assert math.isnan(got), (col, k, got)
            else:
                assert got == pytest.approx(want, rel=RTOL, abs=0.0), (col, k)
        checked += 1
    return checked


# --------------------------------------------------------------------------------------------
# Bugs: these fail until hrv is fixed
# --------------------------------------------------------------------------------------------


def test_minimal_one_hour_first_rr_off_grid_keeps_sdnn_of_later_windows() -> None:
    # Off the 2**-16 grid: float path. Its centre is the recording's mean RR, dragged to ~600 s
    # by the first interval, so s2 - s1c**2 / n cancels ~11 digits for the later windows.
    rr = np.array([3.6e6, 800.1, 801.3, 799.7, 800.9, 800.2])
    out = rolling(rr, window_s=3.0, step_s=1.0, metrics=["time"])
    later = np.flatnonzero(out["t_s"] - 3.0 >= 3600.0)  # windows without the 1-h beat
    assert later.size == 2
    sel = _window(rr, float(out["t_s"][later[0]]), 3.0)
    assert hrv.time_domain(rr[sel]).sdnn_ms == pytest.approx(0.8326663997864058, rel=1e-12)
    # rolling gives 0.8326453866 (2.5e-5 relative) today
    assert _check_time(out, rr, 3.0, ks=later) == 2


@pytest.mark.parametrize(
    ("grid", "first_ms", "sd_ms"),
    [
        ("off", 3.6e6, 5.0),  # off any grid: float sums, plain float running sum of RR
        ("k16", 3.6e7, 0.5),  # 2**-16 grid: int64 would overflow, same float fallback
    ],
)
def test_a_first_rr_hours_long_does_not_cost_later_windows_their_sdnn(
    grid: str, first_ms: float, sd_ms: float
) -> None:
    rng = np.random.default_rng(101)
    tail = rng.normal(800.0, sd_ms, 3000)
    if grid == "k16":
        tail = np.round(tail * 2.0**16) / 2.0**16
    rr = np.concatenate([[first_ms], tail])
    out = rolling(rr, window_s=60.0, step_s=10.0, metrics=["time"])
    later = np.flatnonzero(out["t_s"] - 60.0 >= first_ms / 1000.0)
    assert later.size > 200
    _check_time(out, rr, 60.0, ks=later[::4])


def test_long_windows_of_near_constant_strap_rr_give_exact_sdnn() -> None:
    # A paced rhythm (1000 ms = 1024 ticks of 1/1024 s) with one beat a tick short every 1000
    # beats: grid k=7, and 3-h windows make 4 n max(R) sum(R) >= 2**62. A float variance
    # sum(R**2) - sum(R)**2 / n on R ~ 1.3e5 with a variance ~1e-3 ms**2 was ~7e-8 relative
    # off; such windows now take the float path, centred on a typical RR.
    rr = np.full(4 * 3600, 1024 * STRAP_TICK_MS)
    rr[::1000] = 1023 * STRAP_TICK_MS
    assert rt._grid_bits(rr[:256]) == 7
    window_s = 3 * 3600.0
    out = rolling(rr, window_s=window_s, step_s=600.0, metrics=["time"])
    r_max = float(rr.max()) * 2.0**7
    n_max = float(out["n_beats"].max())
    assert 4.0 * n_max * r_max * (n_max * r_max) >= 2.0**62  # exact_var is False
    assert _check_time(out, rr, window_s) == out["t_s"].size == 6


def test_dfa_alpha1_is_nan_where_the_single_window_function_finds_a_flat_box_size() -> None:
    # 40 equal RR then one of 1000 ms: for box size 4 (and others) the odd beat falls in the
    # dropped remainder, F(4) = 0 and hrv.dfa_alpha1 gives None; rolling only treats windows of
    # *all* equal RR as flat and returns alpha1 ~ 1.77 from rounding noise.
    rr = np.concatenate([np.full(40, 800.0), [1000.0]])
    assert hrv.dfa_alpha1(rr).alpha1 is None
    out = rolling(rr, window_s=float(np.sum(rr)) / 1000.0, step_s=1.0, metrics=["nonlinear"])
    assert out["n_beats"].tolist() == [41]
    assert math.isnan(out["dfa_alpha1"][0])


def test_dfa_alpha1_after_a_400_s_pause_keeps_its_digits() -> None:
    # Low variability (1 ms on the strap grid) and a 400-s pause: the box residuals of the boxes
    # over the pause are ~1.6e11 ms**2 and the per-residue running sums (plain float cumsum)
    # keep only ~1e-5 ms**2 of the later windows' ~10 ms**2 totals: alpha1 off by ~1e-6.
    rng = np.random.default_rng(1)
    rr = np.round(rng.normal(800.0, 1.0, 256) / STRAP_TICK_MS) * STRAP_TICK_MS
    rr[100] = 4e5
    out = rolling(rr, window_s=30.0, step_s=5.0, metrics=["nonlinear"])
    checked = 0
    for k, t_end in enumerate(out["t_s"]):
        sel = _window(rr, float(t_end), 30.0)
        if sel[100]:
            continue
        want = hrv.dfa_alpha1(rr[sel]).alpha1
        if want is None:
            assert math.isnan(out["dfa_alpha1"][k])
            continue
        assert out["dfa_alpha1"][k] == pytest.approx(want, rel=RTOL, abs=0.0), k
        checked += 1
    assert checked > 20


# --------------------------------------------------------------------------------------------
# Edge cases that pass
# --------------------------------------------------------------------------------------------


def test_a_first_rr_hours_long_on_the_integer_grid_is_exact() -> None:
    # the contrast to the float path above: whole ms, int64 sums, no cancellation
    rng = np.random.default_rng(103)
    rr = np.concatenate([[3.6e7], np.round(rng.normal(800.0, 0.5, 3000))])
    assert rt._grid_bits(rr[:256]) == 0
    out = rolling(rr, window_s=60.0, step_s=10.0, metrics=["time"])
    later = np.flatnonzero(out["t_s"] - 60.0 >= 3.6e4)
    _check_time(out, rr, 60.0, ks=later[::4])


@pytest.mark.parametrize(
    ("rr", "window_s", "want_n"),
    [
        ([800.0], 0.8, [1]),  # the only window ends exactly at the only beat
        ([800.0], 0.5, [0]),  # the only window ends before the only beat
        ([800.0], 0.9, []),  # the window is longer than the recording
        ([800.0, 900.0], 1.7, [2]),
        ([800.0, 900.0], 0.85, [1]),  # (0.0, 0.85]: beat 0 only; 1.7 > 0.85 + step
    ],
)
def test_one_and_two_beat_recordings(rr: list[float], window_s: float, want_n: list[int]) -> None:
    out = rolling(rr, window_s=window_s, step_s=1.0, metrics=["time", "nonlinear"])
    assert out["n_beats"].tolist() == want_n
    assert out["n_beats"].dtype == np.int64
    _check_time(out, np.asarray(rr), window_s)
    assert np.isnan(out["dfa_alpha1"]).all()  # fewer than 32 beats
    for k, t_end in enumerate(out["t_s"]):
        si = hrv.stress_index(np.asarray(rr)[_window(np.asarray(rr), float(t_end), window_s)])
        want = math.nan if si.value is None else si.value
        np.testing.assert_array_equal(out["stress_index"][k], want)


def test_gaps_at_index_0_every_beat_and_the_last_beat() -> None:
    rng = np.random.default_rng(107)
    rr = np.round(rng.normal(800.0, 40.0, 300))
    only_first = np.zeros(rr.size, dtype=bool)
    only_first[0] = True  # ignored: the same as no gaps
    base = rolling(rr, window_s=20.0, step_s=3.0, metrics=["time"])
    same = rolling(rr, window_s=20.0, step_s=3.0, gaps=only_first, metrics=["time"])
    for col in base:
        np.testing.assert_array_equal(base[col], same[col])
    every = np.ones(rr.size, dtype=bool)  # no successive difference anywhere
    out = rolling(rr, window_s=20.0, step_s=3.0, gaps=every, metrics=["time"])
    for col in ("rmssd_ms", "sdsd_ms", "pnn50_pct", "sd1_ms", "sd2_ms", "ln_rmssd"):
        assert np.isnan(out[col]).all(), col
    _check_time(out, rr, 20.0, every)
    last = np.zeros(rr.size, dtype=bool)
    last[-1] = True  # the window ending at the last beat loses its last difference
    out = rolling(rr, window_s=rr[-10:].sum() / 1000.0, step_s=0.5, gaps=last, metrics=["time"])
    assert out["t_s"][-1] <= np.sum(rr) / 1000.0
    _check_time(
        out, rr, rr[-10:].sum() / 1000.0, last, ks=range(out["t_s"].size - 40, out["t_s"].size)
    )


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int32, np.int64])
def test_integer_dtypes_equal_their_float64_values(dtype: Any) -> None:
    rng = np.random.default_rng(109)
    rr = np.round(rng.normal(800.0, 40.0, 400))
    out = rolling(rr.astype(dtype), window_s=30.0, step_s=4.0, metrics=["time", "nonlinear"])
    want = rolling(rr, window_s=30.0, step_s=4.0, metrics=["time", "nonlinear"])
    for col in want:
        np.testing.assert_array_equal(out[col], want[col])


@pytest.mark.parametrize("grid", ["k0", "k7", "off"])
def test_read_only_and_strided_inputs_are_neither_written_nor_misread(grid: str) -> None:
    rng = np.random.default_rng(113)
    both = rng.normal(800.0, 40.0, 6000)
    if grid == "k0":
        both = np.round(both)
    elif grid == "k7":
        both = np.round(both / STRAP_TICK_MS) * STRAP_TICK_MS
    gaps_both = rng.random(both.size) < 0.05
    keep_rr, keep_gaps = both.copy(), gaps_both.copy()
    both.setflags(write=False)
    gaps_both.setflags(write=False)
    rr, gaps = both[::2], gaps_both[::2]  # non-contiguous, read-only views
    groups = ["time", "nonlinear"]
    out = rolling(rr, window_s=60.0, step_s=7.0, gaps=gaps, metrics=groups)
    want = rolling(rr.copy(), window_s=60.0, step_s=7.0, gaps=gaps.copy(), metrics=groups)
    np.testing.assert_array_equal(both, keep_rr)
    np.testing.assert_array_equal(gaps_both, keep_gaps)
    for col in want:
        np.testing.assert_array_equal(out[col], want[col])
    _check_time(out, np.ascontiguousarray(rr), 60.0, gaps, ks=range(0, out["t_s"].size, 9))


@pytest.mark.parametrize("grid", ["k0", "off"])
def test_no_column_points_into_the_thread_scratch_and_stale_scratch_is_harmless(
    grid: str,
) -> None:
    rng = np.random.default_rng(127)

    def series(n: int) -> Series:
        rr = rng.normal(800.0, 40.0, n)
        return np.round(rr) if grid == "k0" else rr

    short, gaps = series(2000), rng.random(2000) < 0.03
    first = rolling(short, window_s=60.0, step_s=7.0, gaps=gaps, metrics=["time", "nonlinear"])
    kept = {col: v.copy() for col, v in first.items()}
    for v in first.values():
        assert not np.shares_memory(v, _local.buf)
    # a longer recording reuses (and grows) the scratch, then the short one again
    rolling(series(100_000), window_s=300.0, step_s=10.0, gaps=None, metrics=["time"])
    again = rolling(short, window_s=60.0, step_s=7.0, gaps=gaps, metrics=["time", "nonlinear"])
    for col in kept:
        np.testing.assert_array_equal(first[col], kept[col])  # not overwritten by later calls
        np.testing.assert_array_equal(again[col], kept[col])


def test_concurrent_calls_in_threads_equal_serial_results() -> None:
    rng = np.random.default_rng(131)
    base = rng.normal(800.0, 40.0, (6, 20_000))
    data = [
        np.round(base[0]),
        np.round(base[1] / STRAP_TICK_MS) * STRAP_TICK_MS,
        base[2],
        np.round(base[3] * 16.0) / 16.0,
        base[4],
        np.round(base[5]),
    ]
    gaps = [None if i % 2 else rng.random(20_000) < 0.03 for i in range(6)]
    kw: dict[str, Any] = {"window_s": 60.0, "step_s": 5.0, "metrics": ["time", "nonlinear"]}
    serial = [rolling(d, gaps=g, **kw) for d, g in zip(data, gaps, strict=True)]
    errors: list[str] = []

    def work(offset: int) -> None:
        for rep in range(2 * len(data)):
            i = (rep + offset) % len(data)
            got = rolling(data[i], gaps=gaps[i], **kw)
            for col, want in serial[i].items():
                if not np.array_equal(got[col], want, equal_nan=True):
                    errors.append(f"thread {offset} series {i} column {col}")

    threads = [threading.Thread(target=work, args=(j,)) for j in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


@pytest.mark.parametrize("bits", [7, 10, 16])
def test_count_upto_near_2_53_grid_units_equals_searchsorted(bits: int) -> None:
    # Half the RR huge (the median stays plausible) so the exact running sum reaches ~2**53
    # units: the boundary search must still reproduce the float beat times bit for bit. (With
    # k < 7 such RR exceed the 2**62 / 2**16 ms that _grid_bits accepts: the float timeline.)
    rng = np.random.default_rng(137 + bits)
    for _ in range(40):
        n_huge = int(rng.integers(1, 6))
        n = 2 * n_huge + 1
        limit = 2.0**53 / n
        huge = np.floor(rng.uniform(0.9, 0.999, n_huge) * limit) * 2.0**-bits
        low = np.round(rng.uniform(300.0, 2000.0, n - n_huge) * 2.0**bits) * 2.0**-bits
        rr = np.concatenate([low, huge])
        rng.shuffle(rr)
        timeline = rt.beat_timeline(rr, float(rr.max()), scratch_rows(8, rr.size))
        assert timeline.grid_bits is not None and timeline.grid_bits <= bits
        t = np.cumsum(rr) / 1000.0
        assert timeline.t_last_s == t[-1]
        keys = np.sort(
            np.concatenate(
                [t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), t - 1e-3, t + 1e-3]
            )
        )
        np.testing.assert_array_equal(
            timeline.count_upto(keys), np.searchsorted(t, keys, side="right")
        )


@pytest.mark.parametrize("grid", ["k0", "off"])
def test_tiny_rr_with_a_plausible_median(grid: str) -> None:
    rng = np.random.default_rng(139)
    rr = rng.normal(800.0, 40.0, 400)
    if grid == "k0":
        rr = np.round(rr)
    rr[[50, 51, 200]] = 1e-3  # spurious detections: off every grid, so the float path
    out = rolling(rr, window_s=10.0, step_s=1.0, metrics=["time"])
    assert _check_time(out, rr, 10.0) > 300


@pytest.mark.parametrize("grid", ["k7", "off"])
def test_streaming_gives_bit_identical_windows_after_a_huge_first_rr(grid: str) -> None:
    rng = np.random.default_rng(149)
    tail = rng.normal(800.0, 40.0, 600)
    first = 3.6e6 + 0.25
    if grid == "k7":
        tail = np.round(tail / STRAP_TICK_MS) * STRAP_TICK_MS
    else:
        first += 1e-7
    rr = np.concatenate([[first], tail])
    gaps = rng.random(rr.size) < 0.05
    an = hrv.StreamingAnalyser(window_s=20.0, step_s=3.0, metrics=("time",))
    emitted = an.push_many(rr, gaps=gaps) + an.flush()
    batch = rolling(rr, window_s=20.0, step_s=3.0, gaps=gaps, metrics=["time"])
    assert len(emitted) == batch["t_s"].size
    np.testing.assert_array_equal([w.t_s for w in emitted], batch["t_s"])
    np.testing.assert_array_equal([w.n_beats for w in emitted], batch["n_beats"])
    later = [k for k, w in enumerate(emitted) if w.t_s - 20.0 >= first / 1000.0]
    for k in later:
        for col in ("mean_rr_ms", "rmssd_ms", "pnn50_pct", "mean_hr_bpm"):
            want = getattr(emitted[k], col)
            got = float(batch[col][k])
            assert math.isnan(got) if want is None else got == pytest.approx(want, rel=RTOL)


@pytest.mark.parametrize("pause_ms", [None, 4e5])
def test_dfa_box_residuals_are_the_line_fits_of_each_box(
    shared_data: Any, pause_ms: float | None
) -> None:
    """The running-sum box residuals (hrv.rolling's DFA) equal a least-squares line fitted to
    each box of the profile (``numpy.polyfit``), box by box, to 1e-9 relative, on a real
    recording, with and without a pause that moves the mean by seconds."""
    from hrv.rolling import _box_residual_ss
    from tests.conftest import load_rr_ms

    rr = load_rr_ms(shared_data / "rrhealthy_007_rr_ms.txt", units="ms")[:3000].copy()
    if pause_ms is not None:
        rr[1500] = pause_ms
    sizes = np.arange(4, 17)
    ss = _box_residual_ss(rr, sizes).T
    profile = np.cumsum(rr - rr.mean())
    rng = np.random.default_rng(7)
    for a in [*rng.integers(0, rr.size - 16, 400).tolist(), 1490, 1495, 1500]:
        for col, s in enumerate(sizes.tolist()):
            x = np.arange(s, dtype=np.float64)
            box = profile[a : a + s]
            resid = box - np.polyval(np.polyfit(x, box, 1), x)
            want = float(resid @ resid)
            # the reference's own rounding: ~1e-16 of the box's spread about its mean, squared
            floor = 1e-12 * float(np.sum((box - box.mean()) ** 2))
            assert ss[a, col] == pytest.approx(want, rel=1e-9, abs=floor), (a, s)
