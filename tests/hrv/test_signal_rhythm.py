"""hrv.SignalQuality's rhythm check: premature patterns and ``irregular_rhythm`` per window.

Synthetic beat series whose answer is known by construction (the rule and its judging on
annotated ECG: docs/live_rhythm_protocol.md, ``python -m bench.live_rhythm``).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import LiveAnalyser, SignalQuality, WindowSignal

FloatArray = NDArray[np.float64]


def _sinus(n: int, *, mean_ms: float = 1000.0, rsa: float = 0.0, seed: int = 0) -> FloatArray:
    """Sinus rhythm: a respiratory swing of relative amplitude ``rsa`` (10 s period) + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * mean_ms / 1000.0
    swing = mean_ms * (1.0 + rsa * np.sin(2 * np.pi * t / 10.0))
    return np.asarray(swing + 5.0 * rng.standard_normal(n), dtype=np.float64)


def _window(rr: FloatArray, *, gaps: Collection[int] = (), no_contact: Collection[int] = (),
            window_s: float = 60.0) -> WindowSignal:  # fmt: skip
    """Feed ``rr`` beat by beat (every beat accepted: the rule does not use the verdict) and
    return the window ending at the last beat."""
    q = SignalQuality(window_s=window_s)
    t = 0.0
    for i, x in enumerate(rr.tolist()):
        t += x / 1000.0 + (5.0 if i in gaps else 0.0)
        q.on_beat(t, x, t_nn_s=t, nn=True, gap_before=i in gaps, contact=i not in no_contact)
    return q.window(t)


def test_bigeminy_is_irregular_rhythm() -> None:
    rr = _sinus(80)
    rr[1::2] *= 0.7  # every other beat 30 % early ...
    rr[2::2] *= 1.3  # ... and its compensatory pause
    w = _window(rr)
    # every premature beat whose pause has arrived, in the window's ~60 beats
    assert w.n_premature >= 0.45 * w.n_beats
    assert w.irregular_rhythm is True


def test_non_compensatory_premature_beats_count() -> None:
    rr = _sinus(90)
    rr[5::10] *= 0.75  # 25 % early, the next interval normal: still a rebound of 1 / 0.75
    w = _window(rr)
    expected = int(np.sum(np.arange(90)[5::10] >= 90 - w.n_beats)) - 0  # in the window
    assert w.n_premature in (expected - 1, expected)  # the newest may wait for its next beat
    assert w.irregular_rhythm is True  # 10 % of the beats


def test_strong_sinus_arrhythmia_is_not_premature() -> None:
    # paced breathing at 6/min with a large swing: +-20 % of the mean interval, yet smooth
    w = _window(_sinus(80, rsa=0.20))
    assert w.n_premature == 0
    assert w.irregular_rhythm is False


def test_extra_detections_and_missed_beats_are_not_premature() -> None:
    base = _sinus(120).tolist()
    rr: list[float] = []
    for i, x in enumerate(base):
        if i % 10 == 3:  # an extra R inside the interval: two parts summing to one
            rr += [0.3 * x, 0.7 * x]
        elif i % 10 == 7 and i + 1 < len(base):  # a missed R: two intervals merged
            rr.append(x + base[i + 1])
        elif i % 10 == 8:
            continue
        else:
            rr.append(x)
    w = _window(np.asarray(rr))
    assert w.n_premature == 0
    assert w.irregular_rhythm is False


@pytest.mark.parametrize("where", ["gap before the beat", "gap before the next", "no contact"])
def test_a_pattern_across_a_gap_or_without_contact_is_not_judged(where: str) -> None:
    rr = _sinus(60)
    rr[30] *= 0.7
    rr[31] *= 1.3
    assert _window(rr).n_premature == 1  # the pattern alone counts
    if where == "gap before the beat":
        w = _window(rr, gaps={30})
    elif where == "gap before the next":
        w = _window(rr, gaps={31})
    else:
        w = _window(rr, no_contact={29})
    assert w.n_premature == 0


def test_too_few_beats_have_no_verdict_and_an_empty_window_none() -> None:
    rr = _sinus(15)
    rr[1::2] *= 0.7
    rr[2::2] *= 1.3
    w = _window(rr)
    assert w.n_beats == 15 and w.n_premature >= 5
    assert w.irregular_rhythm is None
    assert SignalQuality(window_s=10.0).window(5.0).irregular_rhythm is None


def test_live_windows_carry_the_rhythm_of_their_beats() -> None:
    """Through hrv.LiveAnalyser: the filter rejects the early beats, the windows say why."""
    sinus = _sinus(200)
    every_fourth = _sinus(200, seed=1)
    every_fourth[2::4] *= 0.7  # N N S L: a premature beat and its pause every four beats
    every_fourth[3::4] *= 1.3
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    windows = []
    t = 0.0
    for x in np.concatenate([sinus, every_fourth]).tolist():
        t += x / 1000.0
        windows += an.push(t, x, contact=True)
    first = [w for w in windows if w.t_s <= 190.0]
    last = [w for w in windows if w.t_s >= 270.0]
    assert first and last
    assert all(w.signal.irregular_rhythm is False for w in first)
    assert all(w.signal.irregular_rhythm is True for w in last)
    assert all(w.signal.quality < 0.9 for w in last)  # the filter rejects them: quality falls


def test_in_bigeminy_no_window_ends_but_the_recent_beats_say_why() -> None:
    """Bigeminy leaves no NN interval: the analyser's windows stop, ``recent`` does not."""
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    bigeminy = _sinus(200, seed=1)
    bigeminy[1::2] *= 0.7
    bigeminy[2::2] *= 1.3
    t = 0.0
    for x in _sinus(100).tolist():
        t += x / 1000.0
        an.push(t, x, contact=True)
    calm = an.signal.recent()
    assert calm.irregular_rhythm is False and calm.quality == 1.0
    windows = []
    for x in bigeminy.tolist():
        t += x / 1000.0
        windows += an.push(t, x, contact=True)
    assert an.n_rejected >= 195
    assert all(w.t_s < 110.0 for w in windows)  # no window ends once the bigeminy starts
    now = an.signal.recent()
    assert now.irregular_rhythm is True
    assert now.quality < 0.05  # every beat of the last minute rejected
    assert now.n_premature >= 0.45 * now.n_beats


def test_recent_covers_the_last_window_of_beat_time() -> None:
    q = SignalQuality(window_s=10.0)
    assert q.recent().n_beats == 0
    t = 0.0
    for i in range(100):
        t += 1.0
        q.on_beat(t, 1000.0, t_nn_s=t, nn=i % 10 != 0)
    w = q.recent()
    assert w.n_beats == 10  # t in (90, 100]
    assert w.quality == pytest.approx(0.9)


def test_premature_beats_refuses_what_is_not_a_beat_series() -> None:
    from hrv import HrvInputError, premature_beats

    for bad in ([1000.0, 0.0, 900.0], [1000.0, float("nan"), 900.0], [[1000.0, 900.0]]):
        with pytest.raises(HrvInputError, match="rr_ms"):
            premature_beats(bad)
    with pytest.raises(HrvInputError, match="gap_before must have one value per beat"):
        premature_beats([1000.0, 700.0, 1300.0], gap_before=[False, True])
    assert premature_beats([1000.0, 700.0]).tolist() == [False, False]


def test_each_window_counts_its_premature_beats_also_the_one_its_last_beat_judges() -> None:
    """A beat is judged when the next one arrives; when that next beat completes a window the
    judged beat is still counted in it: every window's n_premature equals an offline recount
    over the beats it holds (non-compensatory early beats every 7 beats, so the next beat is
    an NN beat that can complete a window)."""
    from hrv import premature_beats

    rr = _sinus(700, seed=5)
    rr[3::7] *= 0.72
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    t = 0.0
    t_nn: list[float] = []
    running = 0.0
    windows = []
    for x in rr.tolist():
        t += x / 1000.0
        windows += an.push(t, x, contact=True)
        if an.last_nn:
            running += x / 1000.0
        t_nn.append(running)
    flags = premature_beats(rr)
    pos = np.asarray(t_nn)
    assert len(windows) > 50
    for w in windows:
        held = (pos > w.t_nn_s - 60.0 + 1e-9) & (pos <= w.t_nn_s + 1e-9)
        assert w.signal.n_beats == int(held.sum())
        assert w.signal.n_premature == int(flags[held].sum()), w.t_nn_s


def test_a_long_run_without_nn_beats_keeps_memory_bounded() -> None:
    """100 minutes of bigeminy: no NN beat, the NN timeline stands still; the bookkeeping keeps
    at most ten windows of beats, and the last minute is still read whole."""
    an = LiveAnalyser(window_s=60.0, step_s=5.0, metrics=("time",))
    t = 0.0
    for x in _sinus(100).tolist() + [700.0, 1300.0] * 3000:
        t += x / 1000.0
        an.push(t, x, contact=True)
    assert an.signal.n_kept <= 11 * 60  # about one beat a second here: ten to eleven windows
    now = an.signal.recent()
    assert 55 <= now.n_beats <= 65 and now.irregular_rhythm is True


@pytest.mark.parametrize("reference_beats", [1, 8])
def test_the_live_bookkeeping_judges_every_beat_as_premature_beats_does(
    reference_beats: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule, two call styles: beat by beat (SignalQuality) and a whole series
    (premature_beats) flag the same beats, with gaps, lost contact and early beats at random."""
    import hrv.rhythm
    from hrv import premature_beats

    monkeypatch.setattr(hrv.rhythm, "REFERENCE_BEATS", reference_beats)
    rng = np.random.default_rng(11)
    rr = _sinus(3000, seed=11)
    early = rng.random(rr.size) < 0.08
    rr[early] *= rng.uniform(0.5, 0.85, int(early.sum()))
    gaps = rng.random(rr.size) < 0.01
    lost = rng.random(rr.size) < 0.01
    q = SignalQuality(window_s=60.0)
    t = 0.0
    for i, x in enumerate(rr.tolist()):
        t += x / 1000.0
        q.on_beat(t, x, t_nn_s=t, nn=True, gap_before=bool(gaps[i]), contact=not lost[i])
    # the last 60 s of beats, judged incrementally, against the whole series at once
    expected = premature_beats(
        rr, gap_before=gaps, no_contact=lost, reference_beats=reference_beats
    )
    recent = q.recent()
    n = recent.n_beats
    assert n > 40 and recent.n_premature > 0
    assert recent.n_premature == int(expected[-n:-1].sum())  # the newest is not judged yet


@pytest.mark.parametrize("coupling", [0.5, 0.6, 0.7, 0.8])
def test_sustained_bigeminy_is_flagged_from_a_coupling_of_two_thirds(coupling: float) -> None:
    """The known limit, pinned so that a change of it is seen: in sustained bigeminy the
    interval before an early beat is the previous pause, and the span test holds only for an
    early beat at >= 2/3 of the normal interval (docs/live_rhythm_protocol.md)."""
    rr = np.array([1000.0] * 60 + [1000.0 * coupling, 1000.0 * (2.0 - coupling)] * 60)
    w = _window(rr)
    if coupling >= 2.0 / 3.0:
        assert w.irregular_rhythm is True and w.n_premature >= 0.45 * w.n_beats
    else:
        assert w.irregular_rhythm is False and w.n_premature == 0


@pytest.mark.parametrize("split", [0.2, 0.3, 0.4, 0.5])
def test_frequent_extra_detections_are_never_called_a_rhythm(split: float) -> None:
    """One extra R in ten beats, splitting an interval at ``split``: a strap problem, never
    "irregular heartbeat" (the case that withdrew the median reference)."""
    rr: list[float] = []
    for i, x in enumerate(_sinus(120).tolist()):
        rr += [split * x, (1.0 - split) * x] if i % 10 == 5 else [x]
    w = _window(np.asarray(rr))
    assert w.n_premature == 0 and w.irregular_rhythm is False
