"""DFA alpha1 with gaps (review res c2 item 6): boxes never span a gap.

``hrv.dfa_alpha1`` had no ``gaps`` and ``hrvpace analyze`` passed none, so boxes spanned the
join of two stretches that a removed pause separates. Known answers: without gaps (or with
``gaps`` all False) the value is the old definition's, bit for bit; with gaps it equals a
direct computation over the boxes of each run, and is unchanged by any jump inserted at a gap
(a join that a box spanning it would fit a line through).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import hrv


def _direct(rr: np.ndarray, runs: list[tuple[int, int]], n_min: int = 4, n_max: int = 16) -> float:
    profile = np.cumsum(rr - rr.mean())
    sizes = np.arange(n_min, n_max + 1)
    f = []
    for n in sizes:
        res = []
        for a, b in runs:
            for k in range((b - a) // n):
                y = profile[a + k * n : a + (k + 1) * n]
                x = np.arange(n, dtype=float)
                coef = np.polyfit(x, y, 1)
                res.append(y - np.polyval(coef, x))
        r = np.concatenate(res)
        f.append(np.sqrt(np.mean(r * r)))
    return float(np.polyfit(np.log10(sizes), np.log10(f), 1)[0])


def test_without_gaps_nothing_changes() -> None:
    rng = np.random.default_rng(1)
    rr = 900.0 + np.cumsum(rng.standard_normal(500)) * 5.0
    a = hrv.dfa_alpha1(rr).alpha1
    assert a == hrv.dfa_alpha1(rr, gaps=np.zeros(rr.size, dtype=bool)).alpha1
    assert a == pytest.approx(_direct(rr, [(0, rr.size)]), rel=1e-9)


def test_boxes_never_span_a_gap() -> None:
    rng = np.random.default_rng(2)
    rr = 900.0 + 30.0 * rng.standard_normal(400)
    gaps = np.zeros(rr.size, dtype=bool)
    gaps[[137, 290]] = True
    runs = [(0, 137), (137, 290), (290, 400)]
    got = hrv.dfa_alpha1(rr, gaps=gaps).alpha1
    assert got == pytest.approx(_direct(rr, runs), rel=1e-9)
    # white noise: ~0.5-0.6 at 4-16 beats; ignoring the gaps would lay boxes across joins
    assert got != pytest.approx(hrv.dfa_alpha1(rr).alpha1, rel=1e-6)
    # a level shift at a gap (the stretch after a pause at another heart rate): a box across
    # the join would fit a line through the jump; with gaps alpha1 depends on the runs only
    # up to the global mean the profile removes, which a line per box removes as well
    shifted = rr.copy()
    shifted[290:] += 250.0
    assert hrv.dfa_alpha1(shifted, gaps=gaps).alpha1 == pytest.approx(got, rel=1e-9)
    assert abs(hrv.dfa_alpha1(shifted).alpha1 - got) > 0.05  # type: ignore[operator]


def test_too_few_boxes_within_runs_is_none() -> None:
    rr = np.full(40, 800.0) + np.arange(40) % 3
    gaps = np.zeros(40, dtype=bool)
    assert hrv.dfa_alpha1(rr, gaps=gaps).alpha1 is not None
    gaps[20] = True  # runs of 20 and 20: one 16-beat box each, two in all
    assert hrv.dfa_alpha1(rr, gaps=gaps).alpha1 is not None
    gaps[[10, 30]] = True  # runs of 10: no 16-beat box
    assert hrv.dfa_alpha1(rr, gaps=gaps).alpha1 is None


def _series_with_gaps(seed: int, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal(n)) * 3.0
    rr = np.clip(850.0 + walk + 25.0 * rng.standard_normal(n), 400.0, 1500.0)
    gaps = rng.random(n) < 0.02
    gaps[[n // 5, n // 5 + 1, n // 2]] = True  # a one-beat run among them
    return rr, gaps


def test_rolling_and_streaming_dfa_boxes_never_span_a_gap() -> None:
    """Review (res c3 item 3): the rolling / windowed alpha1 (hrv.rolling, analyze --windows,
    live) still laid its boxes across gaps after the whole-file alpha1 stopped doing so. Every
    window now equals ``dfa_alpha1`` on its slice with the slice's gaps, the streaming analyser
    the same; a window holding no gap keeps the old value bit for bit."""
    rr, gaps = _series_with_gaps(4)
    window_s, step_s = 60.0, 4.0
    got = hrv.rolling(rr, window_s=window_s, step_s=step_s, gaps=gaps, metrics=["nonlinear"])
    plain = hrv.rolling(rr, window_s=window_s, step_s=step_s, metrics=["nonlinear"])
    t = np.cumsum(rr) / 1000.0
    n_gap_windows = 0
    for k, t_end in enumerate(got["t_s"]):
        sel = np.flatnonzero((t > t_end - window_s) & (t <= t_end))
        ref = hrv.dfa_alpha1(rr[sel], gaps=gaps[sel]).alpha1
        a = got["dfa_alpha1"][k]
        if ref is None:
            assert np.isnan(a), k
        else:
            assert a == pytest.approx(ref, rel=1e-9), k
        if gaps[sel[1:]].any():
            n_gap_windows += 1
            if n_gap_windows <= 5:  # and the direct fits over the boxes of each run
                cuts = [0, *(np.flatnonzero(gaps[sel[1:]]) + 1), sel.size]
                runs = list(itertools.pairwise(cuts))
                assert a == pytest.approx(_direct(rr[sel], runs), rel=1e-9)
        else:  # no gap inside (one at the first beat is none): the old sums, bit for bit
            assert a == plain["dfa_alpha1"][k] or (np.isnan(a) and np.isnan(plain["dfa_alpha1"][k]))
    assert n_gap_windows > 0.5 * got["t_s"].size  # most windows hold a gap: they changed
    assert not np.allclose(got["dfa_alpha1"], plain["dfa_alpha1"], equal_nan=True)
    # streaming: the same windows, the same values (within the rolling contract's 1e-9)
    an = hrv.StreamingAnalyser(window_s=window_s, step_s=step_s, metrics=["nonlinear"])
    emitted = an.push_many(rr, gaps=gaps) + an.flush()
    live = np.array([np.nan if w.dfa_alpha1 is None else w.dfa_alpha1 for w in emitted])
    assert live.size == got["t_s"].size
    np.testing.assert_allclose(live, got["dfa_alpha1"], rtol=1e-9, equal_nan=True)
    # no gaps at all (None, or all False): the old result bit for bit
    none = hrv.rolling(
        rr, window_s=window_s, step_s=step_s, gaps=np.zeros(rr.size, bool), metrics=["nonlinear"]
    )
    np.testing.assert_array_equal(none["dfa_alpha1"], plain["dfa_alpha1"])
