"""hrv.dfa_alpha1's one-pass F(n) (up to ~1,000 beats at sizes 4-16): the same numbers, to rounding.

``dfa_alpha1`` used to fit the boxes one size at a time (``_fluctuation``, a fancy-indexed copy
and a matrix product per size: about 1 ms of a live window's ~3 ms). Layouts of up to
``_ONE_PASS_MAX_POINTS`` points (box sizes x beats) now gather the boxes of every size at once
(cached for short gap-free series) and fit them with per-box sums (``_fluctuations``); longer
series keep the per-size code. Measured against the per-size code when the change was made: at
most 8.4e-16 relative on the 16,123 live windows (60 s every 5 s) of nsr001, ~4e-14 on 3,000
random series (white noise, random walks, 9-s pauses, 1e-3 ms of variation at 10 s, gaps; box
sizes 3-19), apart from alpha1 within 0.003 of zero, where 2e-12 relative is 5e-15 absolute
and both codes are as far from a long-double computation. Checked here on a few series only
(CI time).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import hrv
import hrv.nonlinear as nl


def _reference(rr: np.ndarray, gaps: np.ndarray | None, n_min: int = 4, n_max: int = 16) -> float:
    """The definition in long double, box by box: profile, line fit per box, log-log slope."""
    x_rr = np.asarray(rr, dtype=np.longdouble)
    profile = np.cumsum(x_rr - x_rr.sum() / x_rr.size)
    cuts = [0, *(np.flatnonzero(gaps[1:]) + 1 if gaps is not None else []), rr.size]
    f = []
    for n in range(n_min, n_max + 1):
        x = np.arange(n, dtype=np.longdouble) - np.longdouble(n - 1) / 2
        total, count = np.longdouble(0), 0
        for a, b in itertools.pairwise(cuts):
            for k in range((b - a) // n):
                y = profile[a + k * n : a + (k + 1) * n]
                y = y - y.sum() / n
                r = y - (x * y).sum() / (x * x).sum() * x
                total += (r * r).sum()
                count += n
        f.append(np.sqrt(total / count))
    lx = np.log10(np.arange(n_min, n_max + 1).astype(np.longdouble))
    ly = np.log10(np.array(f))
    lxc = lx - lx.mean()
    return float((lxc * (ly - ly.mean())).sum() / (lxc * lxc).sum())


def _series(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rr = 850.0 + np.cumsum(rng.standard_normal(n)) * 4.0 + 25.0 * rng.standard_normal(n)
    rr[rng.integers(0, n, 2)] = 9000.0  # pauses: the profile wanders seconds from zero
    gaps = rng.random(n) < 0.03
    return rr, gaps


@pytest.mark.parametrize("with_gaps", [False, True])
def test_one_pass_matches_the_definition_in_long_double(with_gaps: bool) -> None:
    for seed, n in ((1, 70), (2, 130), (3, 600)):
        rr, gaps = _series(seed, n)
        g = gaps if with_gaps else None
        got = hrv.dfa_alpha1(rr, gaps=g).alpha1
        assert got is not None
        assert got == pytest.approx(_reference(rr, g), rel=1e-12, abs=0.0), (seed, n)


def test_one_pass_and_per_size_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    # one series through both paths: above the threshold (per size), then with the threshold
    # raised (one pass over a layout of every size)
    rr, gaps = _series(4, 2100)
    assert 13 * rr.size > nl._ONE_PASS_MAX_POINTS
    for g in (None, gaps):
        per_size = hrv.dfa_alpha1(rr, gaps=g).alpha1
        with monkeypatch.context() as m:
            m.setattr(nl, "_ONE_PASS_MAX_POINTS", 10**9)
            one_pass = hrv.dfa_alpha1(rr, gaps=g).alpha1
        assert per_size is not None and one_pass is not None
        assert one_pass == pytest.approx(per_size, rel=1e-13, abs=0.0)


def test_cached_layouts_are_read_only_reused_and_bounded() -> None:
    # the cache is shared by every later call: read-only, bounded (a long session's memory),
    # and only for gap-free windows (a window holding a gap has a layout of its own)
    rng = np.random.default_rng(5)
    rr = 800.0 + 40.0 * rng.standard_normal(75)
    first = hrv.dfa_alpha1(rr).alpha1
    layout = nl._cached_box_layout((75,), 4, 16)
    assert not layout.index.flags.writeable and not layout.x.flags.writeable
    hits = nl._cached_box_layout.cache_info().hits
    assert hrv.dfa_alpha1(rr + 100.0).alpha1 == pytest.approx(first, rel=1e-12)
    assert nl._cached_box_layout.cache_info().hits == hits + 1
    # each box size's boxes lie from the start: floor(75 / n) boxes of n for n = 4..16
    assert layout.size_points.tolist() == [float((75 // n) * n) for n in range(4, 17)]
    size = nl._cached_box_layout.cache_info().currsize
    gaps = np.zeros(rr.size, dtype=bool)
    for at in range(20, 55):  # a gap moving through the window: 35 layouts, none cached
        gaps[:] = False
        gaps[at] = True
        hrv.dfa_alpha1(rr, gaps=gaps)
    assert nl._cached_box_layout.cache_info().currsize == size
    for n in range(32, 80):  # 48 beat counts: the cache keeps the last 16
        hrv.dfa_alpha1(rr[:n])
    assert nl._cached_box_layout.cache_info().currsize <= 16
