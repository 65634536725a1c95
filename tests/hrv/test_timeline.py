"""hrv.to_beat_clock and hrv.clean_anchors: window ends put on the recorded beats' clock.

Expected values are worked out by hand (or from the recorded beat times directly), not by
calling the functions under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from hrv import HrvInputError, clean, clean_anchors, rolling, to_beat_clock


def test_without_anchors_times_are_kept() -> None:
    out = to_beat_clock([0.5, 60.0], anchor_nn_s=[], anchor_t_s=[])
    assert out.tolist() == [0.5, 60.0]


def test_a_time_before_the_first_anchor_is_kept_and_capped_at_it() -> None:
    # first anchor: 2.0 s on the analysed timeline, 1.5 s on the beats' clock
    out = to_beat_clock([1.0, 1.8, 2.0], anchor_nn_s=[2.0], anchor_t_s=[1.5])
    assert out.tolist() == [1.0, 1.5, 1.5]


def test_sparse_anchors_take_the_offset_afresh_at_each() -> None:
    # anchors at 10 s (beats' clock 10 s), 20 s (50 s: 30 s were not analysed), 40 s (75 s:
    # another 5 s); times run on from the last anchor at or before them
    out = to_beat_clock(
        [10.0, 15.0, 20.0, 25.0, 40.0, 42.5],
        anchor_nn_s=[10.0, 20.0, 40.0],
        anchor_t_s=[10.0, 50.0, 75.0],
    )
    np.testing.assert_allclose(out, [10.0, 15.0, 50.0, 55.0, 75.0, 77.5], rtol=0, atol=1e-12)


def test_a_time_is_never_later_than_the_next_anchor() -> None:
    # the analysed interval to the second anchor is 2 s, the recorded one 0.5 s: a time 1.5 s
    # after the first anchor is capped at the second one's time, not 1 s past it
    out = to_beat_clock([11.0, 11.5, 12.0, 12.5], anchor_nn_s=[10.0, 12.0], anchor_t_s=[10.0, 10.5])
    np.testing.assert_allclose(out, [10.5, 10.5, 10.5, 11.0], rtol=0, atol=1e-12)


def test_to_beat_clock_refuses_bad_anchors() -> None:
    with pytest.raises(HrvInputError, match="lengths differ"):
        to_beat_clock([1.0], anchor_nn_s=[1.0, 2.0], anchor_t_s=[1.0])
    with pytest.raises(HrvInputError, match="non-decreasing"):
        to_beat_clock([1.0], anchor_nn_s=[2.0, 1.0], anchor_t_s=[1.0, 2.0])


def test_without_cleaning_every_beat_is_an_anchor() -> None:
    nn, t = clean_anchors([800.0, 800.0, 1000.0], [0.8, 61.6, 62.6])
    np.testing.assert_allclose(nn, [0.8, 1.6, 2.6], rtol=0, atol=1e-12)
    assert t.tolist() == [0.8, 61.6, 62.6]


def _steady(n: int = 300) -> np.ndarray:
    return np.full(n, 800.0)


def test_an_inserted_peak_is_no_anchor() -> None:
    rr = _steady()
    rr[100] = 1600.0  # a missed detection: split in two, the peak between them is made up
    t = np.cumsum(rr) / 1000.0
    c = clean(rr)
    nn, at = clean_anchors(c.rr_ms, t, cleaned=c)
    # every recorded beat is an anchor, at its own time; on the cleaned timeline (800 ms
    # intervals, one more of them) the beats before the split are where they were, and so are
    # the ones after it (splitting keeps the duration)
    assert at.tolist() == t.tolist()
    np.testing.assert_allclose(nn, t, rtol=0, atol=1e-9)
    assert 80.8 not in np.round(nn, 6).tolist()  # the inserted peak at 80.8 s


def test_a_merged_beat_is_anchored_at_the_last_beat_merged() -> None:
    rr = _steady()
    rr[100], rr[101] = 300.0, 500.0  # a spurious R peak 300 ms into an 800-ms interval
    t = np.cumsum(rr) / 1000.0
    c = clean(rr)
    nn, at = clean_anchors(c.rr_ms, t, cleaned=c)
    expected_t = np.delete(t, 100)  # every recorded beat but the spurious one
    assert at.tolist() == expected_t.tolist()
    np.testing.assert_allclose(nn, 0.8 * np.arange(1, 300), rtol=0, atol=1e-9)


def test_a_removed_gap_shifts_the_anchors_after_it() -> None:
    rr = _steady()
    rr[100] = 20000.0  # 20 s without a beat: removed as a gap
    t = np.cumsum(rr) / 1000.0
    c = clean(rr)
    nn, at = clean_anchors(c.rr_ms, t, cleaned=c)
    assert at.tolist() == np.delete(t, 100).tolist()
    np.testing.assert_allclose(nn, 0.8 * np.arange(1, 300), rtol=0, atol=1e-9)
    # the beat before the gap ends at 80.0 s analysed / 80.0 s recorded, the one after it at
    # 80.8 s analysed / 100.8 s recorded: 84.0 s analysed is 3.2 s after that one
    out = to_beat_clock([80.4, 84.0], anchor_nn_s=nn, anchor_t_s=at)
    np.testing.assert_allclose(out, [80.4, 104.0], rtol=0, atol=1e-9)


def test_a_bigeminy_recording_keeps_its_windows_on_the_recording() -> None:
    """A regular bigeminy: the correction changes almost every interval, and lengthens them.

    The windows of the cleaned series must still end within the recording, each one between
    the recorded time of its last beat and that of the next beat (no beat is merged or
    inserted here, so output beat k is recorded beat k).
    """
    rr = np.tile([600.0, 1000.0], 500)
    t = np.cumsum(rr) / 1000.0  # the recording lasts 800 s
    c = clean(rr)
    assert c.rr_ms.size == rr.size and float(np.mean(c.corrected)) > 0.9
    assert c.rr_ms.sum() / 1000.0 > 850.0  # the cleaned timeline is much longer
    cols = rolling(c.rr_ms, window_s=60.0, step_s=10.0, metrics=("time",))
    nn, at = clean_anchors(c.rr_ms, t, cleaned=c)
    got = to_beat_clock(cols["t_s"], anchor_nn_s=nn, anchor_t_s=at)
    assert got.size > 50
    assert float(got.max()) <= t[-1] == 800.0
    assert (np.diff(got) >= 0).all()
    # the last cleaned beat at or before each window end, by counting
    cleaned_end = np.cumsum(c.rr_ms) / 1000.0
    for t_nn, t_rec in zip(cols["t_s"].tolist(), got.tolist(), strict=True):
        k = sum(1 for e in cleaned_end.tolist() if e <= t_nn) - 1
        nxt = t[k + 1] if k + 1 < t.size else t[-1]
        assert t[k] <= t_rec <= nxt, (t_nn, t_rec, t[k])
