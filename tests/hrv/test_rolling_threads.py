"""hrv.rolling with its groups in threads: the sequential bits, and no scratch shared by threads.

``parallel=True`` runs the requested groups in the calling thread and a small pool. Each group
runs the same code either way, so every column must be identical bit for bit (compared as raw
bytes: NaN payloads and signed zeros included) to ``parallel=False``; and since the batched
code keeps scratch memory between calls, several threads calling :func:`hrv.rolling` at once
with different recordings must each get their own sequential result (a buffer shared between
threads would mix them up). ``os.cpu_count`` is raised to 4 in these tests so that the threaded
path runs even on a one-core CI machine.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import rolling
from tests.conftest import load_rr_ms

ROLLING = sys.modules["hrv.rolling"]  # the module (``hrv.rolling`` the name is the function)
Columns = dict[str, NDArray[Any]]


@pytest.fixture(autouse=True)
def _four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)


@pytest.fixture(scope="module")
def nsr001(shared_data: Path) -> NDArray[np.float64]:
    """nsr2db record nsr001, RR in ms (22.5 h, 106k beats, 1/128-s grid, ectopics and pauses)."""
    return load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)


def _assert_same_bits(got: Columns, want: Columns) -> None:
    assert list(got) == list(want)  # same columns in the same order
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        assert got[name].shape == want[name].shape, name
        assert got[name].tobytes() == want[name].tobytes(), name


def _variant(rr: NDArray[np.float64], name: str) -> tuple[NDArray[np.float64], dict[str, Any]]:
    """The recording variants of the issue 12 speed work: rolling's keyword arguments for each."""
    rng = np.random.default_rng(12)
    if name == "plain":
        return rr, {}
    if name == "gaps":
        return rr, {"gaps": rng.random(rr.size) < 0.02}
    if name == "off_grid":  # jittered off the 1/128-s grid: the float paths
        return rr + rng.uniform(-0.5, 0.5, rr.size), {"gaps": rng.random(rr.size) < 0.01}
    if name == "short_windows":  # 120-s windows every 5 s: no Welch, a different stride
        return rr, {"window_s": 120.0, "step_s": 5.0}
    if name == "linear":
        return rr, {"detrend": "linear"}
    if name == "no_detrend":
        return rr, {"detrend": None}
    raise AssertionError(name)


VARIANTS = ("plain", "gaps", "off_grid", "short_windows", "linear", "no_detrend")


@pytest.mark.parametrize("variant", VARIANTS)
def test_parallel_equals_sequential_bit_for_bit_on_nsr001(
    nsr001: NDArray[np.float64], variant: str
) -> None:
    rr, kw = _variant(nsr001, variant)
    want = rolling(rr, metrics=None, parallel=False, **kw)
    assert want["t_s"].size > 8000
    for _ in range(3):  # thread timing differs from call to call
        _assert_same_bits(rolling(rr, metrics=None, parallel=True, **kw), want)


@pytest.mark.parametrize(
    "metrics",
    [
        ["time", "frequency"],
        ["frequency", "coherence"],
        ["nonlinear", "coherence"],
        ["time", "nonlinear"],
        ["coherence", "time", "frequency"],
    ],
)
def test_any_two_or_three_groups_give_the_sequential_bits(
    nsr001: NDArray[np.float64], metrics: list[str]
) -> None:
    rr = nsr001[: nsr001.size // 4]  # ~5.6 h
    gaps = np.random.default_rng(5).random(rr.size) < 0.01
    want = rolling(rr, gaps=gaps, metrics=metrics, parallel=False)
    for _ in range(3):
        _assert_same_bits(rolling(rr, gaps=gaps, metrics=metrics, parallel=True), want)


def test_several_threads_calling_rolling_at_once_each_get_their_own_result(
    nsr001: NDArray[np.float64],
) -> None:
    # Different lengths, window settings, gaps and detrending per caller, so that scratch
    # buffers of one call left in (or taken from) another thread would change some column.
    # One recording array is shared by two callers, read-only: no group may write into it.
    t = np.cumsum(nsr001) / 1000.0
    shared = nsr001[(t > 3600.0) & (t <= 3 * 3600.0)].copy()
    shared.flags.writeable = False
    rng = np.random.default_rng(99)
    jobs: list[tuple[NDArray[np.float64], dict[str, Any]]] = [
        (shared, {}),
        (shared, {"window_s": 120.0, "step_s": 5.0, "detrend": "linear"}),
        (nsr001[(t > 5 * 3600.0) & (t <= 6.5 * 3600.0)] + rng.uniform(-0.5, 0.5), {}),
        (
            nsr001[(t > 12 * 3600.0) & (t <= 14 * 3600.0)],
            {"window_s": 300.0, "step_s": 7.0, "detrend": None, "metrics": ["frequency", "time"]},
        ),
        (
            nsr001[(t > 20 * 3600.0) & (t <= 21 * 3600.0)],
            {"gaps": rng.random(6000) < 0.05, "metrics": ["nonlinear", "coherence"]},
        ),
    ]
    jobs = [(rr, {**kw, "gaps": kw["gaps"][: rr.size]} if "gaps" in kw else kw) for rr, kw in jobs]
    kws = [{"metrics": None, **kw} for _, kw in jobs]
    want = [rolling(rr, parallel=False, **kw) for (rr, _), kw in zip(jobs, kws, strict=True)]
    start = threading.Barrier(len(jobs))

    def call(i: int) -> list[Columns]:
        start.wait()
        return [rolling(jobs[i][0], parallel=True, **kws[i]) for _ in range(4)]

    with ThreadPoolExecutor(len(jobs)) as callers:
        results = list(callers.map(call, range(len(jobs))))
    for got_all, expected in zip(results, want, strict=True):
        for got in got_all:
            _assert_same_bits(got, expected)


def test_groups_do_run_in_two_threads_and_parallel_false_keeps_one(
    nsr001: NDArray[np.float64], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each spectral group records its thread and holds on for 50 ms (a sleep lets the other
    # thread in): with parallel=True the two must have run on different threads.
    seen: list[int] = []
    real = ROLLING._spectral_columns

    def spy(*args: Any, **kwargs: Any) -> Columns:
        seen.append(threading.get_ident())
        time.sleep(0.05)
        out: Columns = real(*args, **kwargs)
        return out

    monkeypatch.setattr(ROLLING, "_spectral_columns", spy)
    rr = nsr001[:6000]
    rolling(rr, metrics=["frequency", "coherence"], parallel=True)
    assert len(seen) == 2 and seen[0] != seen[1]
    seen.clear()
    rolling(rr, metrics=["frequency", "coherence"], parallel=False)
    assert seen == [threading.get_ident()] * 2
    seen.clear()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    rolling(rr, metrics=["frequency", "coherence"], parallel=True)
    assert seen == [threading.get_ident()] * 2


def test_an_error_in_a_group_reaches_the_caller_from_either_thread(
    nsr001: NDArray[np.float64], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.02)
        raise MemoryError("dfa")

    monkeypatch.setattr(ROLLING, "_dfa_column", broken)
    rr = nsr001[:6000]
    for parallel in (True, False):
        with pytest.raises(MemoryError, match="dfa"):
            rolling(rr, metrics=None, parallel=parallel)
    # the pool is still usable afterwards
    _assert_same_bits(
        rolling(rr, metrics=["time", "coherence"], parallel=True),
        rolling(rr, metrics=["time", "coherence"], parallel=False),
    )
