"""hrv.StreamingAnalyser: one beat at a time gives the same windows as hrv.rolling."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import hrv
from hrv import HrvInputError, StreamingAnalyser, WindowMetrics, rolling
from hrv.frequency import FREQUENCY_FIELDS
from hrv.rolling import NONLINEAR_COLUMNS, TIME_COLUMNS
from hrv.streaming import window_metrics
from tests.conftest import load_rr_ms

GROUPS = ("time", "nonlinear")
COLUMNS = TIME_COLUMNS + NONLINEAR_COLUMNS


@pytest.fixture(scope="module")
def one_hour(shared_data: Path) -> NDArray[np.float64]:
    """One hour of nsr2db record nsr001 (hour 3 to 4), RR in ms."""
    rr = load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)
    t = np.cumsum(rr) / 1000.0
    return rr[(t > 3 * 3600) & (t <= 4 * 3600)]


def _as_columns(windows: list[WindowMetrics], names: tuple[str, ...]) -> dict[str, NDArray[Any]]:
    cols: dict[str, NDArray[Any]] = {
        "t_s": np.array([w.t_s for w in windows], dtype=np.float64),
        "n_beats": np.array([w.n_beats for w in windows], dtype=np.int64),
    }
    for name in names:
        vals = [getattr(w, name) for w in windows]
        cols[name] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    return cols


def _assert_same(
    stream: dict[str, NDArray[Any]], batch: dict[str, NDArray[Any]], *, floor: float = 0.0
) -> None:
    """Same windows, same counts, every value to 1e-9 relative.

    ``floor`` is an absolute tolerance for adversarial synthetic series only (see
    ``tests/hrv/test_rolling.py``: a standard deviation that is exactly 0 comes out of sums of
    squares as ~sqrt(eps) * scale); real recordings use none.
    """
    assert set(batch) <= set(stream)
    np.testing.assert_array_equal(stream["t_s"], batch["t_s"])
    np.testing.assert_array_equal(stream["n_beats"], batch["n_beats"])
    for name in batch:
        atol = 0.0 if name in ("dfa_alpha1", "stress_index", "pnn50_pct") else floor
        np.testing.assert_allclose(stream[name], batch[name], rtol=1e-9, atol=atol, err_msg=name)


@pytest.mark.parametrize("capacity", [None, 8])
@pytest.mark.parametrize(("window_s", "step_s"), [(60.0, 10.0), (60.0, 5.0), (300.0, 7.0)])
def test_real_recording_streaming_equals_rolling(
    one_hour: NDArray[np.float64], window_s: float, step_s: float, capacity: int | None
) -> None:
    # capacity 8 forces the buffer to grow and compact many times over the hour
    gaps = np.random.default_rng(11).random(one_hour.size) < 0.02
    an = StreamingAnalyser(
        window_s=window_s, step_s=step_s, metrics=GROUPS, capacity_beats=capacity
    )
    emitted: list[WindowMetrics] = []
    for rr, g in zip(one_hour.tolist(), gaps.tolist(), strict=True):
        emitted.extend(an.push(rr, gap_before=g))
    emitted.extend(an.flush())
    batch = rolling(one_hour, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    assert len(emitted) == batch["t_s"].size > 0
    _assert_same(_as_columns(emitted, COLUMNS), batch)
    assert an.n_pushed == one_hour.size
    assert an.t_s == pytest.approx(float(np.sum(one_hour)) / 1000.0, rel=1e-12)


def test_real_recording_all_groups_streaming_equals_rolling(one_hour: NDArray[np.float64]) -> None:
    # frequency and coherence too: the analyser hands each window's beat times (its own
    # running sum, the recording's clock) to the spectral functions, as rolling's batch does.
    gaps = np.zeros(one_hour.size, dtype=bool)
    gaps[[700, 2900]] = True  # windows holding these take hrv.frequency's gap path
    # 180-s windows: Welch needs >= 128 s inside the spline's margins (20 beats at each end;
    # hrv.frequency), coherence the last 64 s
    an = StreamingAnalyser(window_s=180.0, step_s=10.0)
    assert an.metrics == ("time", "frequency", "coherence", "nonlinear")
    emitted = an.push_many(one_hour, gaps=gaps) + an.flush()
    batch = rolling(one_hour, window_s=180.0, step_s=10.0, gaps=gaps)
    assert len(batch) == 2 + len(COLUMNS) + len(FREQUENCY_FIELDS) + 3
    names = tuple(c for c in batch if c not in ("t_s", "n_beats"))
    stream = _as_columns(emitted, names)
    _assert_same(stream, batch)
    # the spectral columns are really there (not all NaN)
    assert np.isfinite(stream["coherence_ratio"]).mean() > 0.9
    assert np.isfinite(stream["hf_ms2"]).mean() > 0.9


def test_window_is_emitted_when_the_first_later_beat_arrives() -> None:
    an = StreamingAnalyser(window_s=10.0, step_s=5.0, metrics=["time"])
    # 1000-ms beats: beat i at t = i s. Window (0, 10] is complete only after t = 11 arrives.
    for _ in range(10):
        assert an.push(1000.0) == []
    assert an.t_s == 10.0
    out = an.push(1000.0)
    assert [(w.t_s, w.n_beats) for w in out] == [(10.0, 10)]
    assert out[0].rmssd_ms == 0.0 and out[0].mean_rr_ms == 1000.0
    assert an.next_window_end_s == 15.0


def test_flush_emits_the_window_ending_exactly_at_the_last_beat() -> None:
    rr = np.full(20, 1000.0)
    an = StreamingAnalyser(window_s=10.0, step_s=5.0, metrics=["time"])
    out = an.push_many(rr)
    assert [w.t_s for w in out] == [10.0, 15.0]  # 20.0 == last beat time: not yet known complete
    tail = an.flush()
    assert [w.t_s for w in tail] == [20.0]
    assert an.flush() == []  # nothing more
    batch = rolling(rr, window_s=10.0, step_s=5.0, metrics=["time"])
    _assert_same(_as_columns(out + tail, TIME_COLUMNS), batch)


def test_a_long_pause_emits_every_window_it_completes_including_empty_ones() -> None:
    rr = np.concatenate([np.full(30, 700.0), [9000.0], np.full(30, 700.0)])
    an = StreamingAnalyser(window_s=5.0, step_s=1.0, metrics=GROUPS)
    per_push = [an.push(v) for v in rr.tolist()]
    assert max(len(p) for p in per_push) >= 8  # the 9-s beat completes ~9 windows at once
    emitted = [w for p in per_push for w in p] + an.flush()
    assert any(w.n_beats == 0 and w.mean_rr_ms is None for w in emitted)
    _assert_same(
        _as_columns(emitted, COLUMNS), rolling(rr, window_s=5.0, step_s=1.0, metrics=GROUPS)
    )


@settings(max_examples=40, deadline=None)
@given(
    rr=st.lists(st.floats(300.0, 2500.0), min_size=0, max_size=150),
    gap_p=st.sampled_from([0.0, 0.2]),
    window_s=st.sampled_from([2.0, 10.0, 30.0]),
    step_s=st.sampled_from([0.7, 1.0, 5.0]),
    capacity=st.sampled_from([2, 5, 64]),
    seed=st.integers(0, 2**16),
)
def test_property_streaming_plus_flush_equals_rolling(
    rr: list[float], gap_p: float, window_s: float, step_s: float, capacity: int, seed: int
) -> None:
    arr = np.array(rr, dtype=np.float64)
    gaps = np.random.default_rng(seed).random(arr.size) < gap_p
    an = StreamingAnalyser(
        window_s=window_s, step_s=step_s, metrics=GROUPS, capacity_beats=capacity
    )
    emitted = an.push_many(arr, gaps=gaps) + an.flush()
    batch = rolling(arr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=GROUPS)
    _assert_same(_as_columns(emitted, COLUMNS), batch, floor=1e-5)


def test_window_metrics_fields_are_the_rolling_columns() -> None:
    names = [f.name for f in dataclasses.fields(WindowMetrics)]
    rolling_cols = list(rolling(np.full(400, 800.0), window_s=200.0, step_s=100.0))
    assert names == rolling_cols  # same names, same order
    assert [f.name for f in dataclasses.fields(hrv.FrequencyDomain)][:9] == list(FREQUENCY_FIELDS)
    w = window_metrics([800.0, 810.0, 790.0], t_s=3.0, metrics=["time"])
    assert w.n_beats == 3 and w.t_s == 3.0
    assert w.rmssd_ms == hrv.time_domain([800.0, 810.0, 790.0]).rmssd_ms
    assert w.dfa_alpha1 is None and w.stress_index is None  # group not requested
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.t_s = 4.0  # type: ignore[misc]


def test_reset_starts_a_new_timeline() -> None:
    an = StreamingAnalyser(window_s=10.0, step_s=5.0, metrics=["time"])
    first = an.push_many(np.full(25, 1000.0))
    an.reset()
    assert an.n_pushed == 0 and an.t_s == 0.0 and an.next_window_end_s == 10.0
    again = an.push_many(np.full(25, 1000.0))
    assert first == again


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -800.0, True, "800", None])
def test_bad_beat_raises_and_leaves_the_state_unchanged(bad: Any) -> None:
    an = StreamingAnalyser(window_s=10.0, step_s=5.0, metrics=["time"])
    an.push_many(np.full(9, 1000.0))
    with pytest.raises(HrvInputError, match="rr_ms"):
        an.push(bad)
    assert an.n_pushed == 9 and an.t_s == 9.0
    assert [w.t_s for w in an.push_many(np.full(2, 1000.0))] == [10.0]


def test_a_window_the_single_window_checks_refuse_never_raises_mid_stream() -> None:
    # After a dropout a 30-s window can hold only 12-s intervals: time_domain & co refuse a
    # series whose median is above 10 s. The analyser reports the window without metrics and
    # carries on with the next ones.
    an = StreamingAnalyser(window_s=30.0, step_s=5.0)
    out = an.push_many(np.array([800.0] * 40 + [12_000.0] * 10 + [800.0] * 80))
    refused = [w for w in out if w.n_beats and w.mean_rr_ms is None]
    assert refused and all(w.rmssd_ms is None and w.dfa_alpha1 is None for w in refused)
    assert out[-1].mean_rr_ms == 800.0  # later windows are computed again
    assert [w.t_s for w in out] == [30.0 + 5.0 * k for k in range(len(out))]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window_s": 0.0}, "window_s"),
        ({"step_s": float("inf")}, "step_s"),
        ({"metrics": ["time", "fractal"]}, "unknown group"),
        ({"capacity_beats": 1}, "capacity_beats"),
        ({"capacity_beats": 10.5}, "capacity_beats"),
    ],
)
def test_bad_options_raise(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(HrvInputError, match=match):
        StreamingAnalyser(**kwargs)


def test_defaults_suit_the_live_service() -> None:
    an = StreamingAnalyser()
    assert an.window_s == 60.0 and an.step_s == 5.0
    assert an.metrics[0] == "time" and "nonlinear" in an.metrics
    assert an.capacity_beats >= 240  # a 60-s window at 240 beats/min fits without growing
