"""bench.sampling_grid's machinery (docs/sampling_grid_study.md): the re-timing and the candidate.

The study's figures rest on these: re-quantising keeps every beat and its label and puts the
times on the grid asked for, the identity case returns the file, the jitter control stays within
its half-width, and the candidate's grouped quartiles are the plain running quartiles when
nothing is tied and differ only where values tie on a grid.
"""

from __future__ import annotations

import numpy as np

from bench.sampling_grid import (
    JITTER_HALF_S,
    detect_grid,
    grouped_quantiles,
    jitter,
    requantise,
)
from hrv._running_stats import running_quantiles
from tests.hrv.test_clean_mitdb import load_record


def test_requantise_puts_every_beat_on_the_grid_and_keeps_the_labels() -> None:
    rec = load_record("100")
    for fs in (128.0, 250.0, 64.0):
        q = requantise(rec, fs, 0.37)
        assert q.symbol == rec.symbol and q.sample.size == rec.sample.size
        err_s = q.sample / fs - rec.sample / rec.fs_hz
        # floor(x + u) - x lies in (u - 1, u]: within one step of the new grid, same offset range
        assert np.all(err_s > (0.37 - 1) / fs - 1e-12) and np.all(err_s <= 0.37 / fs + 1e-12)
        rr = q.rr_ms
        step = 1000.0 / fs
        assert np.allclose(rr / step, np.rint(rr / step), atol=1e-9)
    assert np.array_equal(requantise(rec, 360.0, 0.5).sample, rec.sample)


def test_jitter_stays_within_its_half_width() -> None:
    rec = load_record("100")
    j = jitter(rec, np.random.default_rng(3))
    err_s = j.sample / j.fs_hz - rec.sample / rec.fs_hz
    assert np.max(np.abs(err_s)) <= JITTER_HALF_S + 1.0 / j.fs_hz
    assert np.std(err_s) > 0.5 * JITTER_HALF_S / np.sqrt(3)  # really spread, not rounded away


def test_detect_grid_finds_sampling_grids_and_not_continuous_values() -> None:
    rec = load_record("100")
    assert abs(detect_grid(rec.rr_ms) - 1000.0 / 360.0) < 1e-9
    assert abs(detect_grid(requantise(rec, 128.0, 0.2).rr_ms) - 7.8125) < 1e-9
    assert abs(detect_grid(np.diff(requantise(rec, 128.0, 0.2).rr_ms)) - 7.8125) < 1e-9
    rng = np.random.default_rng(0)
    assert detect_grid(rng.normal(800.0, 50.0, 2000)) == 0.0


def test_grouped_quantiles_change_only_tied_values() -> None:
    rng = np.random.default_rng(1)
    a = np.abs(rng.normal(0.0, 10.0, 600))
    for window in (91, 11):
        plain = running_quantiles(a, window, (0.25, 0.5, 0.75))
        grouped = grouped_quantiles(a, window, (0.25, 0.5, 0.75), 7.8125)  # no ties in a
        for x, y in zip(plain, grouped, strict=True):
            assert np.array_equal(x, y)
    b = np.rint(a / 7.8125) * 7.8125  # ties on a 7.8-ms grid
    q1p, q3p = running_quantiles(b, 91, (0.25, 0.75))
    q1g, q3g = grouped_quantiles(b, 91, (0.25, 0.75), 7.8125)
    assert not np.array_equal(q1p, q1g)
    # spread within their cells: never more than half a step from the plain quartile
    assert np.max(np.abs(q1g - q1p)) <= 7.8125 / 2 + 1e-9
    assert np.max(np.abs(q3g - q3p)) <= 7.8125 / 2 + 1e-9
    # and nearer the quartiles of the values before rounding than the plain ones, on the whole
    t1, t3 = running_quantiles(a, 91, (0.25, 0.75))
    assert np.mean(np.abs((q3g - q1g) - (t3 - t1))) < np.mean(np.abs((q3p - q1p) - (t3 - t1)))
