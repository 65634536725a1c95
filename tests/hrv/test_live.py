"""hrv.LiveAnalyser: one NN verdict per beat, rolling of the NN intervals, beat-time windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import (
    ArtefactFilter,
    HrvInputError,
    LiveAnalyser,
    LiveWindow,
    SignalQuality,
    StreamingAnalyser,
    rolling,
    time_domain,
)
from tests.conftest import load_rr_ms


def _beats_with_artefacts() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Ten minutes at ~75 bpm with RSA, three ectopic pairs and one 20-s dropout (a gap)."""
    rng = np.random.default_rng(3)
    n = 800
    rr = 800.0 + 40.0 * np.sin(np.arange(n) * 2 * np.pi / 8.0) + 8.0 * rng.standard_normal(n)
    for i in (100, 300, 520):
        rr[i], rr[i + 1] = 0.62 * rr[i], 1.38 * rr[i + 1]  # premature beat + compensatory pause
    t = np.cumsum(rr) / 1000.0
    gaps = np.zeros(n, dtype=np.bool_)
    gaps[400] = True
    t[400:] += 20.0  # 20 s of beats never arrived
    return rr, t, gaps


def _push_all(an: LiveAnalyser, rr: NDArray[np.float64], t: NDArray[np.float64],
              gaps: NDArray[np.bool_]) -> tuple[list[LiveWindow], list[bool]]:  # fmt: skip
    windows: list[LiveWindow] = []
    verdicts: list[bool] = []
    for ti, x, g in zip(t.tolist(), rr.tolist(), gaps.tolist(), strict=True):
        windows += an.push(ti, x, gap_before=g, contact=True)
        assert an.last_nn is not None
        verdicts.append(an.last_nn)
    return windows + an.flush(), verdicts


def test_live_windows_are_rolling_of_the_nn_intervals_with_beat_time_ends() -> None:
    rr, t, gaps = _beats_with_artefacts()
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    windows, verdicts = _push_all(an, rr, t, gaps)
    # one verdict per beat, the filter's
    flt = ArtefactFilter()
    expected = [flt.accept(x, contact=True, gap_before=g) for x, g in zip(rr, gaps, strict=True)]
    assert verdicts == expected and an.n_rejected == expected.count(False) == 6
    # the metrics are hrv.rolling of the NN intervals, a gap after each left-out beat
    keep = np.array(expected)
    nn = rr[keep]
    dropped = np.concatenate([[False], ~keep[:-1]])
    nn_gaps = (gaps | dropped)[keep]
    table = rolling(nn, window_s=60.0, step_s=5.0, gaps=nn_gaps, metrics=("time",))
    assert [w.t_nn_s for w in windows] == pytest.approx(table["t_s"].tolist(), rel=1e-12)
    assert [w.metrics.n_beats for w in windows] == table["n_beats"].tolist()
    rmssd = np.array([w.metrics.rmssd_ms for w in windows], dtype=np.float64)
    np.testing.assert_allclose(rmssd, table["rmssd_ms"], rtol=1e-9)
    # each window's end is on the beats' clock, through its last NN beat
    t_nn = np.cumsum(nn) / 1000.0
    last = np.searchsorted(t_nn, table["t_s"], side="right") - 1
    on_beats = t[keep][last] + (table["t_s"] - t_nn[last])
    assert [w.t_s for w in windows] == pytest.approx(on_beats.tolist(), rel=1e-12)
    assert all(w.metrics.t_s == w.t_s for w in windows)
    # before the first artefact the two clocks agree; after the gap they are 20 s apart plus
    # the time of the rejected beats
    first = windows[0]
    assert first.t_s == first.t_nn_s == 60.0
    rejected_s = float(rr[~keep].sum()) / 1000.0
    assert windows[-1].t_s - windows[-1].t_nn_s == pytest.approx(20.0 + rejected_s)


def test_after_a_gap_the_window_ends_at_the_beat_time() -> None:
    """Beats every 0.8 s; 30 s missing at 100 s: windows after it are on the beats' clock."""
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    beat_t = [0.8 * (i + 1) for i in range(125)] + [130.0 + 0.8 * i for i in range(200)]
    windows: list[LiveWindow] = []
    for i, t in enumerate(beat_t):
        windows += an.push(t, 800.0, gap_before=i == 125)
    windows += an.flush()
    after = [w for w in windows if w.t_nn_s > 100.0]
    assert after, "windows after the gap"
    for w in after:
        # the NN clock lost the 29.2 s of missing beats (130 - 100.8); the window ends where
        # its beats are: at the beat time of its last beat plus the part of a beat beyond it
        assert w.t_s == pytest.approx(w.t_nn_s + 29.2, abs=1e-9)
        last_beat = max(t for t in beat_t if t <= w.t_s + 1e-9)
        assert 0.0 <= w.t_s - last_beat < 0.8
    # the window flushed at the end ends exactly at the last beat
    assert windows[-1].t_s == pytest.approx(beat_t[-1], abs=1e-9)
    # and its signal counts the gap
    assert after[0].signal.n_gaps == 1 and after[0].signal.quality < 0.7


def test_after_a_rejected_beat_the_window_ends_at_the_beat_time() -> None:
    an = LiveAnalyser(window_s=10.0, step_s=10.0, metrics=("time",))
    rr = [800.0] * 5 + [1600.0] + [800.0] * 20  # a missed detection: one 1.6 s interval
    t = np.cumsum(rr) / 1000.0
    windows = [w for ti, x in zip(t.tolist(), rr, strict=True) for w in an.push(ti, x)]
    assert an.n_rejected == 1
    w = windows[0]
    assert w.t_nn_s == 10.0
    last_nn_beat_t = float(t[12])  # the 12th NN beat: 9.6 s on the NN clock, 11.2 s on the beats'
    assert w.t_s == pytest.approx(last_nn_beat_t + 0.4) == pytest.approx(11.6)
    assert w.signal.n_beats == 13 and w.metrics.n_beats == 12


def test_window_signal_counts_artefacts_and_lost_contact() -> None:
    rr = [800.0 + 10.0 * np.sin(i) for i in range(100)]
    rr[40], rr[41] = 520.0, 1080.0  # premature beat + compensatory pause
    an = LiveAnalyser(window_s=60.0, step_s=60.0, metrics=("time",))
    t = 0.0
    windows: list[LiveWindow] = []
    for i, x in enumerate(rr):
        t += x / 1000.0
        windows += an.push(t, x, contact=not 60 <= i < 70)  # 10 beats without contact
    (w,) = windows
    n_nn = w.metrics.n_beats
    assert an.n_rejected == 12 and w.signal.n_beats == n_nn + 12 and w.signal.n_gaps == 0
    assert w.signal.quality == pytest.approx(n_nn / (n_nn + 12))
    assert w.signal.contact is False  # 10 of ~87 beats without contact is more than 10 %
    raw = time_domain(rr[:75])
    assert w.metrics.rmssd_ms is not None and raw.rmssd_ms is not None
    assert w.metrics.rmssd_ms < 20.0 < raw.rmssd_ms  # the analyser never saw the ectopic pair


def test_signal_quality_keeps_only_the_beats_its_windows_need() -> None:
    """Two hours of beats: every window holds exactly its beats; about two windows are kept."""
    rng = np.random.default_rng(5)
    rr = 800.0 + 30.0 * rng.standard_normal(9000)
    t_nn = np.cumsum(rr) / 1000.0
    q = SignalQuality(window_s=60.0)
    next_end = 60.0
    kept = 0
    for i, x in enumerate(rr):
        while t_nn[i] > next_end:
            expected = int(np.count_nonzero((t_nn[:i] > next_end - 60.0) & (t_nn[:i] <= next_end)))
            assert q.window(next_end).n_beats == expected, next_end
            next_end += 5.0
        q.on_beat(float(t_nn[i]), float(x), t_nn_s=float(t_nn[i]), nn=True, contact=True)
        kept = max(kept, q.n_kept)
    assert kept <= (2 * 60.0 + 30.0) / 0.7
    end = float(t_nn[-1]) - 29.0
    expected = int(np.count_nonzero((t_nn > end - 60.0) & (t_nn <= end)))
    assert q.window(end).n_beats == expected


def test_live_analyser_equals_the_streaming_analyser_on_a_clean_real_recording(
    shared_data: Path,
) -> None:
    """On beats the filter all accepts, nothing changes: same windows, same clock."""
    rr = load_rr_ms(shared_data / "hrvpkg_rest_rri_ms.txt", units="ms")[:300]
    while True:  # an NN series: left out until the filter leaves nothing out
        flt = ArtefactFilter()
        keep = [flt.accept(x) for x in rr.tolist()]
        if all(keep):
            break
        rr = rr[np.array(keep)]
    t = np.cumsum(rr) / 1000.0
    live = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    plain = StreamingAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    got = [w for ti, x in zip(t.tolist(), rr.tolist(), strict=True) for w in live.push(ti, x)]
    want = plain.push_many(rr)
    assert live.n_rejected == 0
    assert len(got) == len(want) > 0
    assert [w.metrics for w in got] == want and [w.t_s for w in got] == [w.t_s for w in want]


def test_bad_beats_raise_and_change_nothing() -> None:
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    an.push(1.0, 800.0)
    for t_s, rr_ms, what in [
        (2.0, float("nan"), "rr_ms"),
        (2.0, -5.0, "rr_ms"),
        (float("inf"), 800.0, "t_s"),
        (0.5, 800.0, "earlier than the previous"),
    ]:
        with pytest.raises(HrvInputError, match=what):
            an.push(t_s, rr_ms)
    assert an.last_nn is True and an.analyser.n_pushed == 1
    with pytest.raises(HrvInputError, match="bad beat"):
        SignalQuality().on_beat(1.0, float("nan"), t_nn_s=1.0, nn=True)
    with pytest.raises(HrvInputError, match="window_s"):
        SignalQuality(window_s=0.0)


def test_numpy_numbers_are_beats_too() -> None:
    an = LiveAnalyser(window_s=10.0, step_s=5.0, metrics=("time",))
    for i in range(30):
        an.push(np.float32(0.8 * (i + 1)), np.int64(800))  # type: ignore[arg-type]
    assert an.analyser.n_pushed == 30 and an.last_nn is True
    with pytest.raises(HrvInputError, match="rr_ms"):
        an.push(30.0, "800")  # type: ignore[arg-type]
