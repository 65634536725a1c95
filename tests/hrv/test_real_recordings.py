"""Time-domain and nonlinear metrics on the real recordings of ../shared/data (see its README).

Oracles: the published expected values of hrv-analysis (its own 1000-beat fixture), NeuroKit2
(``nk.hrv_time``, ``nk.hrv_nonlinear``, ``nk.fractal_dfa``) fed R peaks built from the same RR
series, and independent loop implementations written here. Long recordings are cut to one hour.

Known convention differences, converted explicitly where they occur:

- NeuroKit2 divides the NN50 count by N (``len(diff) + 1``); we divide by the N - 1 differences.
- SD2 is ``std((rr[i] + rr[i+1]) / sqrt 2, ddof=1)`` over the N - 1 pairs in both NeuroKit2 and
  hrvpace (the rotated axis, as Kubios 2.2 publishes it); hrv-analysis uses the identity
  ``sqrt(2 SDNN^2 - SDSD^2 / 2)`` (Brennan 2001), which differs by end effects only. SD1 is the
  same quantity in all three.
- hrv-analysis (commit 316b646) computes SDSD with ``ddof=0``; we use ``ddof=1`` (Kubios,
  NeuroKit2).
- NeuroKit2's DFA drops boxes whose detrended variance is <= 1e-8 (exactly linear profile, i.e.
  equal consecutive RR, common on a 1/128 s grid); Peng et al. keep every box, as we do. Its
  ``hrv_nonlinear`` default alpha1 also uses box sizes 4-11 with half-overlapping boxes.
"""

from __future__ import annotations

import math
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest
from numpy.typing import NDArray

import hrv
from hrv import HrvInputError
from tests.conftest import load_rr_ms

Rr = NDArray[np.float64]


def _hrm(path: Path) -> Rr:
    """RR (ms) of a Polar HRM file: the values after the ``[HRData]`` line."""
    return np.array([float(x) for x in path.read_text().split("[HRData]")[1].split()])


def _first_hour(rr_ms: Rr) -> Rr:
    return rr_ms[np.cumsum(rr_ms) <= 3_600_000.0]


def _load(shared: Path, name: str) -> tuple[Rr, int]:
    """A recording's RR (ms) and a sampling rate at which its R peaks are whole samples."""
    if name == "hrvanalysis":
        return load_rr_ms(shared / "hrvanalysis_test_nn_intervals_ms.txt", units="ms"), 1000
    if name == "rest":
        return load_rr_ms(shared / "hrvpkg_rest_rri_ms.txt", units="ms"), 1000
    if name == "08012805":
        return load_rr_ms(shared / "hrvpkg_08012805_rri_ms.txt", units="ms"), 1000
    if name == "exercise_hrm":
        return _hrm(shared / "hrvpkg_exercise_rri.hrm"), 1000
    if name == "ghrv_beats":
        beats_s = np.loadtxt(shared / "ghrv_beat_ascii.txt")
        return np.round(np.diff(beats_s) * 1000.0), 1000  # times have 1 ms resolution
    if name == "nsr001_1h":  # RR on the 1/128 s grid of the Holter annotations
        rr = load_rr_ms(shared / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)
        return _first_hour(rr), 128
    if name == "rrhealthy007_1h":
        return _first_hour(load_rr_ms(shared / "rrhealthy_007_rr_ms.txt", units="ms")), 1000
    raise AssertionError(name)


RECORDINGS = [
    "hrvanalysis",
    "rest",
    "08012805",
    "exercise_hrm",
    "ghrv_beats",
    "nsr001_1h",
    "rrhealthy007_1h",
]


def _peaks(rr_ms: Rr, sampling_rate: int) -> NDArray[np.int64]:
    """R-peak sample indices whose differences are exactly ``rr_ms`` at ``sampling_rate``."""
    samples = rr_ms * sampling_rate / 1000.0
    assert np.allclose(samples, np.round(samples), atol=1e-9), "RR not on the sample grid"
    return np.concatenate([[0], np.cumsum(np.round(samples)).astype(np.int64)])


def _dfa_reference(rr_ms: Rr, *, drop_flat: bool, n_min: int = 4, n_max: int = 16) -> float:
    """DFA1 alpha written independently of hrv (np.polyfit per box), optionally dropping boxes
    with detrended variance <= 1e-8 as NeuroKit2 does."""
    y = np.cumsum(rr_ms - rr_ms.mean())
    sizes = np.arange(n_min, n_max + 1)
    log_f = []
    for n in range(n_min, n_max + 1):
        m = len(y) // n
        boxes = y[: m * n].reshape(m, n)
        x = np.arange(n)
        slope, intercept = np.polyfit(x, boxes.T, 1)
        resid = boxes - (slope[:, None] * x[None, :] + intercept[:, None])
        var = np.mean(resid**2, axis=1)
        if drop_flat:
            var = var[var > 1e-8]
        log_f.append(0.5 * math.log10(float(np.mean(var))))
    return float(np.polyfit(np.log10(sizes), log_f, 1)[0])


# --- published values -------------------------------------------------------------------------


def test_hrv_analysis_published_values(shared_data: Path) -> None:
    """hrv-analysis tests/test_extract_features_methods.py @316b646 on its own fixture."""
    rr, _ = _load(shared_data, "hrvanalysis")
    td = hrv.time_domain(rr)
    assert td.n_beats == 1000
    assert td.mean_rr_ms == pytest.approx(718.248, rel=1e-12)
    assert td.sdnn_ms == pytest.approx(43.113074968427306, rel=1e-12)
    assert td.rmssd_ms == pytest.approx(19.519400785039664, rel=1e-12)
    # pNN50 over the N - 1 = 999 differences in both: 24 / 999
    assert td.pnn50_pct == pytest.approx(2.4024024024024024, rel=1e-12)
    assert td.sd1_ms == pytest.approx(13.80919037557993, rel=1e-12)
    # hrv-analysis' SD2 is the identity sqrt(2 SDNN^2 - SDSD^2 / 2) (ddof 1 both): reproduced
    # from our SDNN and SDSD; our SD2 is the rotated axis, 0.04 % above it on this fixture
    assert td.sdnn_ms is not None and td.sdsd_ms is not None and td.sd2_ms is not None
    identity = math.sqrt(2 * td.sdnn_ms**2 - 0.5 * td.sdsd_ms**2)
    assert identity == pytest.approx(59.38670497373513, rel=1e-12)
    pairs = (rr[:-1] + rr[1:]) / math.sqrt(2)
    assert td.sd2_ms == pytest.approx(float(np.std(pairs, ddof=1)), rel=1e-12)
    assert td.sd2_ms == pytest.approx(59.41259, abs=1e-5)
    assert 0.0 < td.sd2_ms / identity - 1.0 < 1e-3
    assert td.mean_hr_bpm == pytest.approx(83.84733227281252, rel=1e-12)
    # hrv-analysis SDSD uses ddof=0: ours (ddof=1) * sqrt((n_d - 1) / n_d) with n_d = 999
    assert td.sdsd_ms is not None
    assert td.sdsd_ms * math.sqrt(998 / 999) == pytest.approx(19.519367520775713, rel=1e-12)
    # the README's rounded values
    assert td.sdnn_ms == pytest.approx(43.11307, abs=1e-5)
    assert td.rmssd_ms == pytest.approx(19.51940, abs=1e-5)
    assert td.pnn50_pct == pytest.approx(2.4024, abs=1e-4)
    assert td.sd1_ms == pytest.approx(13.80919, abs=1e-5)


# --- NeuroKit2 --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_time_domain_matches_neurokit2(shared_data: Path, name: str) -> None:
    exact, sampling_rate = _load(shared_data, name)
    peaks = _peaks(exact, sampling_rate)
    out = nk.hrv_time(peaks, sampling_rate=sampling_rate)
    nk_value = {c.removeprefix("HRV_"): float(out[c].iloc[0]) for c in out.columns}
    # Feed both the same floats: NeuroKit2 uses diff(peaks) / sampling_rate * 1000, which can sit
    # one ulp off the whole ms (1066.0000000000002) and so flip a difference of exactly 50 ms.
    rr = np.diff(peaks) / sampling_rate * 1000.0
    np.testing.assert_allclose(rr, exact, rtol=1e-12)
    td = hrv.time_domain(rr)
    assert td.n_beats == rr.size > 500
    assert td.mean_rr_ms == pytest.approx(nk_value["MeanNN"], rel=1e-12)
    assert td.sdnn_ms == pytest.approx(nk_value["SDNN"], rel=1e-12)
    assert td.rmssd_ms == pytest.approx(nk_value["RMSSD"], rel=1e-12)
    assert td.sdsd_ms == pytest.approx(nk_value["SDSD"], rel=1e-12)
    # NeuroKit2 divides NN50 by N, we by the N - 1 differences
    n_d = rr.size - 1
    assert td.pnn50_pct is not None
    assert td.pnn50_pct * n_d / (n_d + 1) == pytest.approx(nk_value["pNN50"], rel=1e-12)
    assert td.mean_hr_bpm == pytest.approx(float(np.mean(60000.0 / rr)), rel=1e-12)
    assert td.ln_rmssd == pytest.approx(math.log(nk_value["RMSSD"]), rel=1e-12)


def test_poincare_matches_neurokit2(shared_data: Path) -> None:
    """SD1 and SD2 identical (both the Poincaré plot's rotated axes, ddof 1).

    A 300-beat slice keeps ``nk.hrv_nonlinear`` (entropies etc.) cheap.
    """
    rr, sampling_rate = _load(shared_data, "rest")
    rr = rr[:300]
    out = nk.hrv_nonlinear(_peaks(rr, sampling_rate), sampling_rate=sampling_rate)
    td = hrv.time_domain(rr)
    assert td.sd1_ms == pytest.approx(float(out["HRV_SD1"].iloc[0]), rel=1e-12)
    assert td.sd2_ms == pytest.approx(float(out["HRV_SD2"].iloc[0]), rel=1e-12)
    # NeuroKit2's default DFA alpha1 (4-11 beats, half-overlapping boxes) is a different
    # estimator; ours on 4-11 with non-overlapping boxes equals fractal_dfa(overlap=False).
    ours_4_11 = hrv.dfa_alpha1(rr, n_max=11).alpha1
    nk_4_11, _ = nk.fractal_dfa(rr, scale=np.arange(4, 12), overlap=False)
    assert ours_4_11 == pytest.approx(float(nk_4_11), rel=1e-9)


@pytest.mark.parametrize("name", RECORDINGS)
def test_dfa_alpha1_against_reference_and_neurokit2(shared_data: Path, name: str) -> None:
    rr, _ = _load(shared_data, name)
    ours = hrv.dfa_alpha1(rr).alpha1
    assert ours is not None
    assert ours == pytest.approx(_dfa_reference(rr, drop_flat=False), rel=1e-9)
    theirs, _ = nk.fractal_dfa(rr, scale=np.arange(4, 17), overlap=False)
    # NeuroKit2 = the same definition with flat boxes dropped (see module docstring) ...
    assert float(theirs) == pytest.approx(_dfa_reference(rr, drop_flat=True), rel=1e-9)
    # ... a small difference in practice, none at all when no box is flat
    assert ours == pytest.approx(float(theirs), abs=0.02)
    assert 0.5 < ours < 1.6  # physiological range of short-term alpha


def test_dfa_equals_neurokit2_when_no_box_is_flat(shared_data: Path) -> None:
    for name in ("hrvanalysis", "rest"):
        rr, _ = _load(shared_data, name)
        assert _dfa_reference(rr, drop_flat=True) == _dfa_reference(rr, drop_flat=False)
        theirs, _ = nk.fractal_dfa(rr, scale=np.arange(4, 17), overlap=False)
        assert hrv.dfa_alpha1(rr).alpha1 == pytest.approx(float(theirs), rel=1e-9)


# --- stress index -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDINGS)
def test_stress_index_against_numpy_histogram(shared_data: Path, name: str) -> None:
    rr, _ = _load(shared_data, name)
    edges = np.arange(0.0, rr.max() + 100.0, 50.0)  # 50-ms bins anchored at 0
    counts, _ = np.histogram(rr, bins=edges)
    k = int(np.argmax(counts))
    mode_s = (edges[k] + 25.0) / 1000.0
    amo = 100.0 * counts[k] / rr.size
    mxdmn_s = (rr.max() - rr.min()) / 1000.0
    si = hrv.stress_index(rr)
    assert si.mode_ms == pytest.approx(mode_s * 1000.0)
    assert si.amo_pct == pytest.approx(amo)
    assert si.value == pytest.approx(amo / (2.0 * mode_s * mxdmn_s), rel=1e-12)


def test_stress_index_rises_from_seated_rest_to_cycling(shared_data: Path) -> None:
    """Polar exercise file: ~5 min seated rest, then submaximal cycling (package docstring)."""
    rr, _ = _load(shared_data, "exercise_hrm")
    t_s = np.cumsum(rr) / 1000.0
    rest = rr[t_s <= 300.0]
    cycling = rr[(t_s > 600.0) & (t_s <= 900.0)]
    si_rest, si_cycling = hrv.stress_index(rest).value, hrv.stress_index(cycling).value
    assert si_rest is not None and si_cycling is not None
    assert si_cycling > 5.0 * si_rest
    td_rest, td_cycling = hrv.time_domain(rest), hrv.time_domain(cycling)
    assert td_rest.rmssd_ms is not None and td_cycling.rmssd_ms is not None
    assert td_cycling.rmssd_ms < 0.5 * td_rest.rmssd_ms


# --- gaps and bad input on real data ----------------------------------------------------------


def test_gap_at_a_splice_of_two_recordings(shared_data: Path) -> None:
    """Two recordings joined with a gap: RMSSD pools the two sets of differences, nothing more."""
    a, _ = _load(shared_data, "rest")
    b, _ = _load(shared_data, "08012805")
    joined = np.concatenate([a, b])
    gaps = np.zeros(joined.size, dtype=bool)
    gaps[a.size] = True
    td = hrv.time_domain(joined, gaps=gaps)
    ta, tb = hrv.time_domain(a), hrv.time_domain(b)
    assert ta.rmssd_ms is not None and tb.rmssd_ms is not None
    na, nb = a.size - 1, b.size - 1
    pooled = math.sqrt((na * ta.rmssd_ms**2 + nb * tb.rmssd_ms**2) / (na + nb))
    assert td.rmssd_ms == pytest.approx(pooled, rel=1e-12)
    assert ta.pnn50_pct is not None and tb.pnn50_pct is not None
    assert td.pnn50_pct == pytest.approx((na * ta.pnn50_pct + nb * tb.pnn50_pct) / (na + nb))
    # without the gap the 1066 -> ~970 ms jump at the splice would be one more difference
    assert hrv.time_domain(joined).rmssd_ms != pytest.approx(pooled, rel=1e-9)


def test_zero_interval_in_real_file_is_rejected_with_its_index(shared_data: Path) -> None:
    rr = load_rr_ms(shared_data / "hrvpkg_real_rri_ms.txt", units="ms")
    i = int(np.flatnonzero(rr == 0.0)[0])
    with pytest.raises(HrvInputError, match=rf"rr_ms: value at index {i} .*must be > 0"):
        hrv.time_domain(rr)
    with pytest.raises(HrvInputError, match=f"index {i}"):
        hrv.dfa_alpha1(rr)
    with pytest.raises(HrvInputError, match=f"index {i}"):
        hrv.stress_index(rr)


def test_seconds_file_passed_as_ms_is_rejected(shared_data: Path) -> None:
    rr_s = load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="ms", skip_first_line=True)
    with pytest.raises(HrvInputError, match="looks like seconds"):
        hrv.time_domain(rr_s[:5000])
