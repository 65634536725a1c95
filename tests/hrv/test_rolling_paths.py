"""hrv.rolling time domain: every internal path gives the single-window definition.

``hrv._rolling_time`` sums RR as exact integers when they lie on a ``2**-k`` ms grid (``k`` from
the first 256 RR), falls back to float sums when the integers could overflow or the fixed-point
heart rate would be too coarse, and takes float sums off the grid. Each test builds data that
takes one path, checks that it really does (the internal functions are wrapped to record which
ran), and compares every window with :func:`hrv.time_domain` on that window's boolean-mask slice
(``_reference`` / ``_assert_matches`` of ``tests/hrv/test_rolling.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import hrv._rolling_time as rt
from hrv import rolling
from hrv._windows import scratch_rows, window_ends
from tests.conftest import load_rr_ms
from tests.hrv.test_rolling import GROUPS, _assert_matches

Series = NDArray[np.float64]
#: ms per tick of a chest strap's 1/1024-s clock (exact in binary: 125/128).
STRAP_TICK_MS = 1000.0 / 1024.0
#: every time column must be exactly 0 in a window of equal RR
ZERO_COLUMNS = ("sdnn_ms", "rmssd_ms", "sdsd_ms", "pnn50_pct", "sd1_ms")


@pytest.fixture(scope="module")
def nsr001(shared_data: Path) -> Series:
    """nsr2db record nsr001, RR in ms (22.5 h, 106k beats, 1/128-s grid, ectopics and pauses)."""
    return load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)


def _hours(rr: Series, start_h: float, hours: float) -> Series:
    """The beats of ``rr`` in ``(start_h, start_h + hours]`` hours."""
    t = np.cumsum(rr) / 1000.0
    return rr[(t > start_h * 3600.0) & (t <= (start_h + hours) * 3600.0)]


def _record_paths(setattr_: Callable[[Any, str, Any], None]) -> list[str]:
    """Wrap ``_grid_sums`` / ``_float_sums`` so every call is logged, in order.

    Entries: ``"grid k=<bits>"`` (integer sums used), ``"grid k=<bits> -> None"`` (the grid
    path gave up: overflow or a too coarse heart-rate unit) and ``"float"``.
    """
    log: list[str] = []
    real_grid, real_float = rt._grid_sums, rt._float_sums

    def grid_sums(*args: Any) -> Any:
        out = real_grid(*args)
        timeline = args[4]
        log.append(f"grid k={timeline.grid_bits}" + (" -> None" if out is None else ""))
        return out

    def float_sums(*args: Any) -> Any:
        log.append("float")
        return real_float(*args)

    setattr_(rt, "_grid_sums", grid_sums)
    setattr_(rt, "_float_sums", float_sums)
    return log


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The log of :func:`_record_paths` for one test."""
    return _record_paths(monkeypatch.setattr)


def _gaps(rng: np.random.Generator, n: int, with_gaps: bool) -> NDArray[np.bool_] | None:
    return rng.random(n) < 0.02 if with_gaps else None


def _on_grid(rr: Series, kind: str, rng: np.random.Generator) -> Series:
    """``rr`` (nsr001, 1/128 s = 2**-4 ms grid) moved onto another grid, or off any grid."""
    n = rr.size
    if kind == "k0":  # whole ms, as text files give them
        return np.round(rr)
    if kind == "k4":  # PhysioNet's 1/128 s, as recorded
        return rr.copy()
    if kind == "k7":  # a strap's 1/1024 s (jittered first: 1/128 s is already on that grid)
        return np.round((rr + rng.uniform(-4.0, 4.0, n)) / STRAP_TICK_MS) * STRAP_TICK_MS
    if kind == "k10":
        return np.round((rr + rng.uniform(-0.5, 0.5, n)) * 2.0**10) / 2.0**10
    if kind == "k16":  # finest grid: int64 sums of squares would overflow
        return rr + rng.integers(1, 2**16, n) * 2.0**-16
    if kind == "off":  # continuous jitter, on no grid of 2**-16 ms
        return rr + rng.uniform(-3.0, 3.0, n)
    raise AssertionError(kind)


#: grid -> (first-256 grid bits, the path log rolling's time domain must show)
GRID_CASES = {
    "k0": (0, ["grid k=0"]),
    "k4": (4, ["grid k=4"]),
    "k7": (7, ["grid k=7"]),
    "k10": (10, ["grid k=10"]),
    "k16": (16, ["grid k=16 -> None", "float"]),
    "off": (None, ["float"]),
}


# --------------------------------------------------------------------------------------------
# 1. every grid, its overflow fallback and the off-grid path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_gaps", [False, True])
@pytest.mark.parametrize(("window_s", "step_s"), [(300.0, 10.0), (60.0, 7.0)])
@pytest.mark.parametrize("kind", list(GRID_CASES))
def test_each_grid_and_the_float_paths_equal_the_definition(
    nsr001: Series,
    paths: list[str],
    kind: str,
    window_s: float,
    step_s: float,
    with_gaps: bool,
) -> None:
    rng = np.random.default_rng(11)
    rr = _on_grid(_hours(nsr001, 10.0, 1.0), kind, rng)
    bits, want_paths = GRID_CASES[kind]
    assert rt._grid_bits(rr[:256]) == bits
    if kind == "k16":  # the reason for the fallback: sum of squares beyond int64
        r_max = float(rr.max()) * 2.0**16
        assert rr.size * r_max * r_max >= 2.0**62
    gaps = _gaps(rng, rr.size, with_gaps)
    out = rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    assert paths == want_paths
    n_win = out["t_s"].size
    assert n_win == int((np.sum(rr) / 1000.0 - window_s) // step_s) + 1
    _assert_matches(out, rr, window_s, gaps, range(n_win))


# --------------------------------------------------------------------------------------------
# 2. the first 256 RR on a grid that the rest leaves
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "tail", "head_bits"),
    [("k0", "k4", 0), ("k4", "k7", 4)],  # whole ms then 1/128 s; 1/128 s then 1/1024 s
)
@pytest.mark.parametrize("with_gaps", [False, True])
def test_series_leaving_the_grid_of_its_first_256_rr_takes_the_float_path(
    nsr001: Series, paths: list[str], head: str, tail: str, head_bits: int, with_gaps: bool
) -> None:
    rng = np.random.default_rng(5)
    base = _hours(nsr001, 10.0, 1.0)
    rr = np.concatenate([_on_grid(base[:256], head, rng), _on_grid(base[256:], tail, rng)])
    assert rt._grid_bits(rr[:256]) == head_bits  # the head check passes ...
    assert rt._grid_bits(rr[256:512]) != head_bits  # ... and the next RR are on a finer grid
    gaps = _gaps(rng, rr.size, with_gaps)
    out = rolling(rr, window_s=300.0, step_s=10.0, gaps=gaps, metrics=GROUPS)
    assert paths == ["float"]
    _assert_matches(out, rr, 300.0, gaps, range(out["t_s"].size))


# --------------------------------------------------------------------------------------------
# 3. windows so long that the grid path's variance numerators are not exact integers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_gaps", [False, True])
def test_long_windows_beyond_int64_variances_fall_back_to_the_float_path(
    nsr001: Series, paths: list[str], with_gaps: bool
) -> None:
    rng = np.random.default_rng(17)
    rr = _on_grid(_hours(nsr001, 10.0, 5.0), "k7", rng)
    gaps = _gaps(rng, rr.size, with_gaps)
    window_s, step_s = 3 * 3600.0, 60.0
    out = rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    assert paths == ["grid k=7 -> None", "float"]
    # the int64 variance numerators could overflow (4 n max(R) sum(R) of the longest window
    # >= 2**62) though the running sums could not (2 max(R) sum(R) < 2**62)
    r_max = float(rr.max()) * 2.0**7
    n_max = float(out["n_beats"].max())
    t = np.concatenate([[0.0], np.cumsum(rr)])
    sel_max = float(
        np.max(
            t[np.searchsorted(t / 1000.0, out["t_s"], side="right") - 1]
            - t[np.searchsorted(t / 1000.0, out["t_s"] - window_s, side="right") - 1]
        )
    )
    assert 4.0 * n_max * r_max * sel_max * 2.0**7 >= 2.0**62
    assert 2.0 * r_max * float(np.sum(rr)) * 2.0**7 < 2.0**62
    n_win = out["t_s"].size
    assert n_win == int((np.sum(rr) / 1000.0 - window_s) // step_s) + 1 > 100
    _assert_matches(out, rr, window_s, gaps, range(n_win))


# --------------------------------------------------------------------------------------------
# 4. tiny RR: the fixed-point heart rate would be too coarse, so the grid path gives up
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("whole_record", "tiny_ms"),
    [(True, 1.0), (False, 2.0**-4)],  # 1 ms needs > 71.6k beats; 1/16 ms > 4.5k beats
)
@pytest.mark.parametrize("with_gaps", [False, True])
def test_tiny_rr_fall_back_to_float_sums_and_still_match(
    nsr001: Series, paths: list[str], whole_record: bool, tiny_ms: float, with_gaps: bool
) -> None:
    rng = np.random.default_rng(23)
    base = nsr001 if whole_record else _hours(nsr001, 10.0, 2.0)
    at = np.array([100, base.size // 3, base.size // 3, (4 * base.size) // 5])
    rr = np.insert(base, at, tiny_ms)  # spurious detections: a few near-zero RR
    assert rt._grid_bits(rr[:256]) == 4
    size = float(rr.size)
    r_max = float(rr.max()) * 2.0**4
    # no overflow (2 max(R) sum(R) < 2**62): only the heart-rate unit is too small
    assert 2.0 * r_max * float(np.sum(rr)) * 2.0**4 < 2.0**62
    hr_unit = 2.0 ** math.floor(math.log2(2.0**62 / (size * 60000.0 / tiny_ms)))
    assert hr_unit < 2.0**30
    gaps = _gaps(rng, rr.size, with_gaps)
    window_s, step_s = (300.0, 60.0) if whole_record else (60.0, 7.0)
    out = rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    assert paths == ["grid k=4 -> None", "float"]
    t = np.cumsum(rr) / 1000.0
    with_tiny = np.unique(np.searchsorted(out["t_s"], t[rr == tiny_ms]))
    assert with_tiny.size >= 3  # windows holding a tiny RR exist and are checked
    _assert_matches(out, rr, window_s, gaps, range(out["t_s"].size))


# --------------------------------------------------------------------------------------------
# 5. windows of equal RR, and windows emptied by a long pause
# --------------------------------------------------------------------------------------------


def _constant_stretch_case(nsr001: Series, kind: str) -> tuple[Series, int, int, float, float]:
    """A real series with a stretch of equal RR longer than the window in its middle.

    Returns ``rr``, the stretch's beat range ``[i0, i1)``, ``window_s`` and ``step_s``.
    """
    rng = np.random.default_rng(29)
    if kind == "k0":  # whole ms around 800 ms: exact integer variances
        grid, value, n_const, window = "k0", 800.0, 500, (60.0, 7.0)
    elif kind == "off":  # 812.3 ms (no binary fraction) amid jittered RR: float sums
        grid, value, n_const, window = "off", 812.3, 500, (60.0, 7.0)
    else:  # 3.5 h of 1000 ms amid 2**-10-ms RR, 3-h windows: beyond int64, the float path
        grid, value, n_const, window = "k10", 1000.0, 12_600, (3 * 3600.0, 60.0)
    before = _on_grid(_hours(nsr001, 10.0, 0.5), grid, rng)
    after = _on_grid(_hours(nsr001, 11.0, 0.5), grid, rng)
    rr = np.concatenate([before, np.full(n_const, value), after])
    return rr, before.size, before.size + n_const, window[0], window[1]


@pytest.mark.parametrize(
    ("kind", "want_paths"),
    [("k0", ["grid k=0"]), ("off", ["float"]), ("k10_long", ["grid k=10 -> None", "float"])],
)
@pytest.mark.parametrize("with_gaps", [False, True])
def test_windows_of_equal_rr_give_exact_zero_variability(
    nsr001: Series, paths: list[str], kind: str, want_paths: list[str], with_gaps: bool
) -> None:
    rr, i0, i1, window_s, step_s = _constant_stretch_case(nsr001, kind)
    assert (rr[i0:i1] == rr[i0]).all() and (i1 - i0) * rr[i0] > window_s * 1000.0
    gaps = None
    if with_gaps:
        # gaps into and out of the stretch (its only non-zero differences) and a few inside:
        # windows reaching past the stretch keep only zero differences but unequal RR
        gaps = np.random.default_rng(31).random(rr.size) < 0.02
        gaps[[i0, i1, (i0 + i1) // 2]] = True
    out = rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    assert paths == want_paths
    if kind == "k10_long":  # on the grid, but the integer variance numerators could overflow
        r_max = float(rr.max()) * 2.0**10
        assert float(out["n_beats"].max()) ** 2 * r_max * r_max >= 2.0**62
    t = np.cumsum(rr) / 1000.0
    first = np.searchsorted(t, out["t_s"] - window_s, side="right")
    stop = np.searchsorted(t, out["t_s"], side="right")
    inside = (first >= i0) & (stop <= i1) & (stop - first >= 3)
    assert inside.sum() >= 3
    for col in ZERO_COLUMNS:
        assert (out[col][inside] == 0.0).all(), col  # exactly, not rounding noise
    assert np.isnan(out["ln_rmssd"][inside]).all()
    np.testing.assert_allclose(out["mean_rr_ms"][inside], rr[i0], rtol=1e-12)
    # hrv.time_domain's SDNN of equal values like 812.3 is ~1e-13, not 0: a 1e-9-ms floor
    _assert_matches(out, rr, window_s, gaps, range(out["t_s"].size), floor_ms=1e-9)


@pytest.mark.parametrize(
    ("grid", "want_paths"), [("k0", ["grid k=0"]), ("k4", ["grid k=4"]), ("off", ["float"])]
)
@pytest.mark.parametrize("step_s", [7.0, 0.5])
def test_a_400_s_pause_gives_empty_and_one_beat_windows_like_the_definition(
    nsr001: Series, paths: list[str], grid: str, want_paths: list[str], step_s: float
) -> None:
    rng = np.random.default_rng(37)
    before = _on_grid(_hours(nsr001, 10.0, 0.25), grid, rng)
    after = _on_grid(_hours(nsr001, 11.0, 0.25), grid, rng)
    rr = np.concatenate([before, [400_000.0], after])
    p = before.size  # the pause beat
    gaps = _gaps(rng, rr.size, True)
    out = rolling(rr, window_s=60.0, step_s=step_s, gaps=gaps, metrics=GROUPS)
    assert paths == want_paths
    n = out["n_beats"]
    assert (n == 0).sum() >= 40  # window ends inside the pause, 340 s of them
    for col in ("mean_rr_ms", "mean_hr_bpm", "rmssd_ms", "sdnn_ms", "ln_rmssd"):
        assert np.isnan(out[col][n == 0]).all(), col
    # hrv.time_domain rejects a slice whose median RR is over 10 s (a units check), so the
    # windows holding the pause beat and at most one other have no single-window reference:
    # only their beat count is checked there.
    t = np.cumsum(rr) / 1000.0
    first = np.searchsorted(t, out["t_s"] - 60.0, side="right")
    stop = np.searchsorted(t, out["t_s"], side="right")
    np.testing.assert_array_equal(n, stop - first)
    no_reference = (first == p) & (stop - first <= 2)
    if step_s < rr[p - 1] / 1000.0:  # a window ends while the beat before the pause is alone
        assert (~no_reference & (n == 1)).any()
    _assert_matches(out, rr, 60.0, gaps, np.flatnonzero(~no_reference))


# --------------------------------------------------------------------------------------------
# 6. the window boundary search on the integer running sum
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "bits"), [("k0", 0), ("k4", 4), ("k7", 7), ("k16", 16)])
def test_count_upto_on_the_grid_equals_searchsorted_on_float_beat_times(
    nsr001: Series, kind: str, bits: int
) -> None:
    rr = _on_grid(nsr001, kind, np.random.default_rng(41))  # the whole 22.5 h: largest sums
    t = np.cumsum(rr) / 1000.0
    ends = [window_ends(float(t[-1]), w, s) for w, s in ((300.0, 10.0), (60.0, 7.0), (1.0, 0.1))]
    keys = np.sort(
        np.concatenate(
            [
                t,
                np.nextafter(t, -np.inf),
                np.nextafter(t, np.inf),
                *ends,
                *(e - w for e, w in zip(ends, (300.0, 60.0, 1.0), strict=True)),
                [0.0, -1.0, float(t[-1]) + 1.0],
            ]
        )
    )
    timeline = rt.beat_timeline(rr, float(rr.max()), scratch_rows(8, rr.size))
    assert timeline.grid_bits == bits  # the integer search, not the float fallback
    assert timeline.t_last_s == t[-1]
    got = timeline.count_upto(keys)
    want = np.searchsorted(t, keys, side="right")
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(float(keys[i]), int(got[i]), int(want[i])) for i in bad[:5]]


# --------------------------------------------------------------------------------------------
# 7. property: any grid, any window and step
# --------------------------------------------------------------------------------------------


@st.composite
def _grid_series(draw: st.DrawFn) -> tuple[int, list[int]]:
    """Grid bits ``k`` and RR as integers of ``2**-k`` ms, 300-2000 ms."""
    k = draw(st.integers(0, 16))
    units = draw(st.lists(st.integers(300 << k, 2000 << k), min_size=1, max_size=120))
    return k, units


def _finest_bits(k: int, units: list[int]) -> int:
    """Smallest ``j`` with every ``units[i] * 2**-k`` a multiple of ``2**-j``."""
    zeros = min((u & -u).bit_length() - 1 for u in units)
    return max(k - zeros, 0)


@settings(max_examples=50, deadline=None)
@given(
    series=_grid_series(),
    gap_p=st.sampled_from([0.0, 0.1, 0.5]),
    window_s=st.one_of(st.sampled_from([3.0, 10.0, 20.0]), st.floats(0.5, 40.0)),
    step_s=st.one_of(st.sampled_from([0.5, 1.0, 2.5, 10.0]), st.floats(0.5, 15.0)),
    seed=st.integers(0, 2**16),
)
def test_property_grid_series_equal_the_definition(
    series: tuple[int, list[int]], gap_p: float, window_s: float, step_s: float, seed: int
) -> None:
    k, units = series
    rr = np.array(units, dtype=np.float64) * 2.0**-k  # exact: integers below 2**53
    gaps = np.random.default_rng(seed).random(rr.size) < gap_p if gap_p else None
    with pytest.MonkeyPatch.context() as mp:
        paths = _record_paths(mp.setattr)
        out = rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    n_win = out["t_s"].size
    t_last = float(np.cumsum(rr)[-1] / 1000.0)
    ends = [window_s + float(i) * step_s for i in range(n_win + 1)]
    assert all(e <= t_last for e in ends[:n_win]) and ends[n_win] > t_last
    grid = f"grid k={_finest_bits(k, units)}"
    if not n_win:
        assert paths == []
    elif paths != [grid]:
        # the documented fallback: on the finest grids (k up to 16) a window's integer variance
        # numerators n * sum(R**2) can pass int64 (n * max(R) * sum(R) of a 40-s window of
        # 300-2000 ms RR at 2**-16 ms reaches ~10**19); the float path must then be the one taken
        # (found by a CI run: 2**-16-ms units, 10-s windows)
        assert paths == [f"{grid} -> None", "float"]
        assert _finest_bits(k, units) >= 12
    _assert_matches(out, rr, window_s, gaps, range(n_win), floor_ms=1e-5)
