"""hrv.clean: Lipponen & Tarvainen (2019) artefact detection/correction and the physiological gate.

Real recordings from ../shared/data (see its README), artefacts injected at seeded random places,
NeuroKit2's ``signal_fixpeaks(method="Kubios")`` as the oracle for the beat classification.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from hrv import (
    LABEL_NAMES,
    BeatLabel,
    Cleaned,
    HrvInputError,
    clean,
    clean_anchors,
    time_domain,
)
from hrv._running_stats import running_quantiles as _running_quantiles
from tests.conftest import load_rr_ms

FloatArray = NDArray[np.float64]
KINDS = ("ectopic", "missed", "extra", "long", "short")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def synthetic_rr(n: int, *, seed: int = 0) -> FloatArray:
    """Clean synthetic RR (ms): 1000 ms mean, slow-breathing RSA at 0.1 Hz (+-60 ms), a 0.27 Hz
    component (+-20 ms) and white noise (sd 4 ms), sampled at the beat times. Smooth enough that
    no beat is an artefact for the detector (checked over many seeds while writing this test)."""
    rng = np.random.default_rng(seed)
    rr = np.full(n, 1000.0)
    for _ in range(3):  # the beat times depend on the intervals: a few fixed-point rounds
        t_s = np.cumsum(rr) / 1000.0
        rr = (
            1000.0
            + 60.0 * np.sin(2 * np.pi * 0.1 * t_s)
            + 20.0 * np.sin(2 * np.pi * 0.27 * t_s + 1.0)
            + rng.normal(0.0, 4.0, n)
        )
    return rr


def gaussian_hrv(n: int, *, seed: int) -> FloatArray:
    """Synthetic RR with broadband (AR(1), phi 0.9) variability on top of RSA and LF waves:
    Gaussian tails, so the detector's thresholds (alpha x quartile deviation) are exceeded now
    and then by chance."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, 1.0, n)
    ar = np.zeros(n)
    for i in range(1, n):
        ar[i] = 0.9 * ar[i - 1] + e[i]
    rr = np.full(n, 900.0)
    for _ in range(3):
        t_s = np.cumsum(rr) / 1000.0
        rr = (
            900.0
            + 35.0 * np.sin(2 * np.pi * 0.22 * t_s)
            + 25.0 * np.sin(2 * np.pi * 0.09 * t_s + 1.0)
            + 8.0 * ar
        )
    return rr


def inject(
    rr: FloatArray, rng: np.random.Generator, n_events: int
) -> tuple[FloatArray, NDArray[np.bool_], list[tuple[str, list[int]]]]:
    """Inject ``n_events`` artefacts at random places at least 12 beats apart.

    Returns the corrupted series, the mask of its artefactual intervals, and per event its kind
    and its indices in the corrupted series:

    - ectopic: interval j shortened by 25-40 %, j+1 lengthened by the same (premature beat with
      compensatory pause); both intervals are artefactual;
    - missed: intervals j and j+1 merged into one (an R peak not detected);
    - extra: interval j split into two at 20-80 % (a spurious R peak); both parts artefactual;
    - long / short: interval j times 1.35-1.6 / 0.55-0.7.
    """
    values = rr.tolist()
    candidates = np.arange(60, rr.size - 60, 12)
    positions = np.sort(rng.choice(candidates, size=n_events, replace=False))
    kinds = rng.choice(KINDS, size=n_events)
    out: list[float] = []
    events: list[tuple[str, list[int]]] = []
    last = 0
    for p, kind in zip(positions.tolist(), kinds.tolist(), strict=True):
        out += values[last:p]
        a, b = values[p], values[p + 1]
        at = len(out)
        if kind == "ectopic":
            delta = rng.uniform(0.25, 0.4) * a
            out += [a - delta, b + delta]
            events.append((kind, [at, at + 1]))
            last = p + 2
        elif kind == "missed":
            out += [a + b]
            events.append((kind, [at]))
            last = p + 2
        elif kind == "extra":
            f = rng.uniform(0.2, 0.8)
            out += [a * f, a * (1 - f)]
            events.append((kind, [at, at + 1]))
            last = p + 1
        else:
            factor = rng.uniform(1.35, 1.6) if kind == "long" else rng.uniform(0.55, 0.7)
            out += [a * factor]
            events.append((kind, [at]))
            last = p + 1
    out += values[last:]
    truth = np.zeros(len(out), dtype=np.bool_)
    for _, idx in events:
        truth[idx] = True
    return np.asarray(out), truth, events


def f1_score(pred: NDArray[np.bool_], truth: NDArray[np.bool_]) -> float:
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    return 2 * tp / (2 * tp + fp + fn)


def rmssd(rr: FloatArray) -> float:
    value = time_domain(rr).rmssd_ms
    assert value is not None
    return value


def artefact_free(rr: FloatArray) -> FloatArray:
    """Clean ``rr`` until the detector flags nothing: a real series that is artefact-free by the
    detector's own definition (the ground truth for injection is then exact)."""
    for _ in range(10):
        result = clean(rr)
        if result.n_artefacts == 0:
            return rr
        rr = np.asarray(result.rr_ms)
    pytest.fail("repeated cleaning did not reach a series without flagged beats")


@pytest.fixture(scope="module")
def rest_raw(shared_data: Path) -> FloatArray:
    return load_rr_ms(shared_data / "hrvpkg_rest_rri_ms.txt", units="ms")


@pytest.fixture(scope="module")
def hour_raw(shared_data: Path) -> FloatArray:
    """Hour 3-4 of rrhealthy_000 (a night hour with strong beat-to-beat variability)."""
    rr = load_rr_ms(shared_data / "rrhealthy_000_rr_ms.txt", units="ms")
    t_s = np.cumsum(rr) / 1000.0
    return rr[(t_s > 3 * 3600) & (t_s <= 4 * 3600)]


# ---------------------------------------------------------------------------------------------
# clean input stays clean
# ---------------------------------------------------------------------------------------------


def test_clean_synthetic_series_is_returned_unchanged() -> None:
    rr = synthetic_rr(2000)
    result = clean(rr)
    assert result.n_artefacts == 0
    assert result.quality == 1.0
    assert result.n_beats == 2000
    np.testing.assert_array_equal(result.rr_ms, rr)
    np.testing.assert_array_equal(result.source_index, np.arange(2000))
    assert not result.corrected.any()
    assert not result.gated.any()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_false_positive_rate_on_gaussian_variability_is_small(seed: int) -> None:
    rr = gaussian_hrv(5000, seed=seed)
    result = clean(rr)
    assert result.n_artefacts <= 0.002 * rr.size
    assert rmssd(result.rr_ms) == pytest.approx(rmssd(rr), rel=0.01)


def test_constant_series_has_no_artefacts_and_no_division_by_zero() -> None:
    result = clean(np.full(300, 800.0))
    assert result.n_artefacts == 0
    np.testing.assert_array_equal(result.rr_ms, 800.0)


def test_jump_in_constant_series_is_still_detected() -> None:
    # the quartile deviation of a constant stretch is 0; the 1-ms threshold floor keeps the
    # classification defined, and a missed beat in it is found
    rr = np.full(300, 800.0)
    rr[150] = 1600.0
    result = clean(rr)
    assert result.label_names[150] == "missed"
    assert result.n_artefacts == 1
    np.testing.assert_array_equal(result.rr_ms, 800.0)
    assert result.rr_ms.size == 301


# ---------------------------------------------------------------------------------------------
# one artefact of each kind: label and correction as documented
# ---------------------------------------------------------------------------------------------


def test_missed_beat_is_split_in_two() -> None:
    rr = synthetic_rr(400, seed=1)
    bad = np.concatenate((rr[:200], [rr[200] + rr[201]], rr[202:]))
    result = clean(bad)
    assert result.label_names[200] == "missed"
    assert result.n_artefacts == 1
    assert result.rr_ms.size == rr.size
    half = (rr[200] + rr[201]) / 2
    np.testing.assert_allclose(result.rr_ms[200:202], [half, half])
    np.testing.assert_array_equal(result.rr_ms[:200], rr[:200])
    np.testing.assert_array_equal(result.rr_ms[202:], rr[202:])
    np.testing.assert_array_equal(result.source_index[199:203], [199, 200, 200, 201])
    assert result.corrected[200:202].all()
    assert result.corrected.sum() == 2
    assert result.quality == pytest.approx(1 - 1 / bad.size)


def test_extra_beat_is_merged_back() -> None:
    rr = synthetic_rr(400, seed=2)
    a = rr[200]
    bad = np.concatenate((rr[:200], [0.3 * a, 0.7 * a], rr[201:]))
    result = clean(bad)
    assert result.label_names[200:202] == ("extra", "extra")
    assert result.n_artefacts == 2
    np.testing.assert_allclose(result.rr_ms, rr)  # exactly the original series back
    assert result.source_index[200] == 200
    assert result.source_index[201] == 202


def test_ectopic_beat_moves_the_misplaced_peak_halfway() -> None:
    rr = synthetic_rr(400, seed=3)
    bad = rr.copy()
    delta = 0.3 * rr[200]
    bad[200] -= delta  # premature beat
    bad[201] += delta  # compensatory pause
    result = clean(bad)
    assert result.label_names[200:202] == ("ectopic", "ectopic")
    assert result.n_artefacts == 2
    mean = (rr[200] + rr[201]) / 2
    np.testing.assert_allclose(result.rr_ms[200:202], [mean, mean])
    assert result.rr_ms.sum() == pytest.approx(bad.sum())  # timeline kept


@pytest.mark.parametrize(("factor", "name"), [(1.5, "long"), (0.6, "short")])
def test_long_and_short_beats_are_interpolated(factor: float, name: str) -> None:
    rr = synthetic_rr(400, seed=4)
    bad = rr.copy()
    bad[200] *= factor
    result = clean(bad)
    assert result.label_names[200] == name
    assert result.n_artefacts == 1
    assert result.rr_ms[200] == pytest.approx((rr[199] + rr[201]) / 2)
    assert result.rr_ms.size == rr.size


# ---------------------------------------------------------------------------------------------
# injected artefacts in real recordings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("recording", "n_events"), [("rest", 30), ("hour", 150)])
def test_injected_artefacts_in_real_recordings(
    recording: str, n_events: int, rest_raw: FloatArray, hour_raw: FloatArray
) -> None:
    """Five seeded injections; F1 over the pooled beats of the five (single runs measured here
    range 0.94-0.99 on the rest recording, 0.97-0.99 on the hour), RMSSD per run."""
    base = artefact_free(rest_raw if recording == "rest" else hour_raw)
    preds: list[NDArray[np.bool_]] = []
    truths: list[NDArray[np.bool_]] = []
    right = total = 0
    for seed in range(5):
        rng = np.random.default_rng(1000 * seed + n_events)
        bad, truth, events = inject(base, rng, n_events)
        result = clean(bad)
        preds.append(result.labels != BeatLabel.NORMAL)
        truths.append(truth)
        # the corrected series restores the clean RMSSD (the injected one is far off)
        assert rmssd(result.rr_ms) == pytest.approx(rmssd(base), rel=0.05)
        assert abs(rmssd(bad) / rmssd(base) - 1) > 0.3
        # missed and extra corrections restore the number of beats, nearly
        n_missed = sum(kind == "missed" for kind, _ in events)
        n_extra = sum(kind == "extra" for kind, _ in events)
        assert abs(result.rr_ms.size - base.size) <= 0.1 * (n_missed + n_extra) + 1
        names = result.label_names
        right += sum(all(names[i] == kind for i in idx) for kind, idx in events)
        total += len(events)
    assert f1_score(np.concatenate(preds), np.concatenate(truths)) >= 0.95
    # and the kind: most events carry the label of what was injected
    assert right >= 0.85 * total


@pytest.mark.parametrize("seed", [0, 1])
def test_injected_artefacts_in_raw_recording_with_its_own_detections_ignored(
    seed: int, hour_raw: FloatArray
) -> None:
    """Straight into the raw recording: beats that the detector flags in the uninjected
    recording (real but unknown artefacts, or physiological extremes) are left out of the
    scoring, everything else counts."""
    rng = np.random.default_rng(seed)
    baseline = clean(hour_raw).labels != BeatLabel.NORMAL
    # the same positions in the injected series: inject into an index track alongside
    track = np.arange(hour_raw.size, dtype=np.float64) + 1000.0
    bad, truth, _ = inject(hour_raw, rng, 100)
    rng = np.random.default_rng(seed)
    moved, _, _ = inject(track, rng, 100)
    # untouched beats keep their index + 1000 in ``moved``; flag those flagged at baseline
    untouched = ~truth
    origin = np.rint(moved[untouched] - 1000.0).astype(np.int64)
    dont_care = np.zeros(bad.size, dtype=np.bool_)
    dont_care[np.flatnonzero(untouched)] = baseline[origin]
    pred = clean(bad).labels != BeatLabel.NORMAL
    keep = ~dont_care
    assert f1_score(pred[keep], truth[keep]) >= 0.95


# ---------------------------------------------------------------------------------------------
# NeuroKit2 as the oracle of the classification
# ---------------------------------------------------------------------------------------------


def neurokit_kubios(rr: FloatArray) -> dict[str, NDArray[np.int64]]:
    """NeuroKit2's single-pass Kubios classification, as interval indices of ``rr``."""
    nk = pytest.importorskip("neurokit2")
    peaks = np.concatenate(([0], np.cumsum(np.rint(rr)))).astype(np.int64)
    info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=False, method="Kubios")
    # NeuroKit2's interval i ends at peak i, i.e. our interval i - 1
    return {
        key: np.asarray(info[key], dtype=np.int64) - 1
        for key in ("ectopic", "missed", "extra", "longshort")
    }


@pytest.mark.slow
@pytest.mark.parametrize("recording", ["rest", "hour", "noisy"])
def test_classification_agrees_with_neurokit2(
    recording: str, rest_raw: FloatArray, hour_raw: FloatArray, shared_data: Path
) -> None:
    if recording == "noisy":
        text = (shared_data / "hrvpkg_noisy_rri.hrm").read_text().split("[HRData]")[1]
        rr = np.array([float(v) for v in text.split()])
    else:
        rr = np.rint(rest_raw if recording == "rest" else hour_raw)
    nk = neurokit_kubios(rr)
    result = clean(rr, max_iterations=1)
    ours = result.labels != BeatLabel.NORMAL
    theirs = np.zeros(rr.size, dtype=np.bool_)
    for idx in nk.values():
        theirs[idx[(idx >= 0) & (idx < rr.size)]] = True
    assert theirs.sum() >= 5
    # NeuroKit2's flagged beats are ours (edges aside: it makes up a first interval)
    assert (ours & theirs).sum() >= 0.9 * theirs.sum()
    # ours lie on or next to one of theirs (we label both intervals of an ectopic beat); the
    # few others come from |mRR| > 3 on its own, which NeuroKit2 only tests when |dRR| > Th1
    near = theirs.copy()
    near[:-1] |= theirs[1:]
    near[1:] |= theirs[:-1]
    assert (ours & near).sum() >= 0.85 * ours.sum()
    # same kind where both see the same beat
    for kind, code in (("ectopic", BeatLabel.ECTOPIC), ("missed", BeatLabel.MISSED)):
        idx = nk[kind][(nk[kind] > 0) & (nk[kind] < rr.size)]
        if idx.size:
            assert np.mean(result.labels[idx] == code) >= 0.9


# ---------------------------------------------------------------------------------------------
# the physiological gate, and a real recording with a 0 ms value
# ---------------------------------------------------------------------------------------------


def test_real_recording_with_zero_value_is_cleaned_not_rejected(shared_data: Path) -> None:
    rr = load_rr_ms(shared_data / "hrvpkg_real_rri_ms.txt", units="ms")
    zero = np.flatnonzero(rr <= 0)
    assert zero.size >= 1  # the fixture really has one
    with pytest.raises(HrvInputError):
        time_domain(rr)  # the strict metrics reject it ...
    result = clean(rr)  # ... clean labels it
    assert result.gated[zero].all()
    assert all(result.label_names[i] == "extra" for i in zero.tolist())
    assert result.rr_ms.min() >= 300.0
    assert result.rr_ms.max() <= 2000.0
    assert time_domain(result.rr_ms).rmssd_ms is not None
    assert result.quality is not None
    assert 0.9 < result.quality < 1.0


def test_zero_interval_is_merged_into_a_neighbour() -> None:
    rr = synthetic_rr(300, seed=5)
    bad = np.concatenate((rr[:150], [0.0], rr[150:]))
    result = clean(bad)
    assert result.gated[150]
    assert result.label_names[150] == "extra"
    np.testing.assert_allclose(result.rr_ms, rr)
    assert result.n_artefacts == 2  # the 0 ms interval and the one it was merged with


def test_negative_and_tiny_values_are_gated_as_extra() -> None:
    rr = synthetic_rr(300, seed=6)
    bad = rr.copy()
    bad[100] = -5.0
    bad[200] = 120.0
    result = clean(bad)
    assert result.gated[[100, 200]].all()
    assert result.labels[100] == BeatLabel.EXTRA
    assert result.labels[200] == BeatLabel.EXTRA
    assert result.rr_ms.min() >= 300.0
    assert result.rr_ms.sum() == pytest.approx(bad.sum())


def test_very_long_interval_is_split_into_as_many_beats_as_it_hides() -> None:
    rr = synthetic_rr(300, seed=7)
    bad = np.concatenate((rr[:150], [rr[150:154].sum()], rr[154:]))  # 4 beats, ~4000 ms
    result = clean(bad)
    assert result.gated[150]
    assert result.label_names[150] == "missed"
    assert result.rr_ms.size == rr.size
    np.testing.assert_allclose(result.rr_ms[150:154], rr[150:154].sum() / 4)


def test_long_interval_beyond_gate_not_a_multiple_is_interpolated() -> None:
    rr = 1800.0 + synthetic_rr(300, seed=8) - 1000.0  # ~1800 ms, bradycardia
    bad = rr.copy()
    bad[150] = 2300.0  # above 2000, round(2300 / 1800) == 1
    result = clean(bad)
    assert result.gated[150]
    assert result.label_names[150] == "long"
    assert result.rr_ms[150] == pytest.approx((rr[149] + rr[151]) / 2)


def test_gate_limits_are_options() -> None:
    rr = synthetic_rr(300, seed=9)
    bad = rr.copy()
    bad[150] = 1900.0  # a missed beat, inside the default gate
    assert clean(bad).gated.sum() == 0
    result = clean(bad, max_rr_ms=1500.0)
    assert result.gated[150]
    assert result.label_names[150] == "missed"


def test_everything_out_of_range_gives_an_empty_series() -> None:
    result = clean([3000.0, 2500.0, 2800.0])
    assert result.rr_ms.size == 0
    assert result.quality == 0.0
    assert result.n_artefacts == 3


# ---------------------------------------------------------------------------------------------
# gaps
# ---------------------------------------------------------------------------------------------


def test_missed_beat_right_after_a_gap_keeps_the_gap_on_its_first_half() -> None:
    rr = synthetic_rr(300, seed=10)
    bad = np.concatenate((rr[:150], [rr[150] + rr[151]], rr[152:]))
    gaps = np.zeros(bad.size, dtype=np.bool_)
    gaps[150] = True
    result = clean(bad, gaps=gaps)
    assert result.label_names[150] == "missed"
    assert result.gaps[150]
    assert not result.gaps[151]
    assert result.gaps.sum() == 1


def test_no_merge_across_a_gap_and_gaps_follow_the_corrections() -> None:
    rr = synthetic_rr(300, seed=12)
    a = rr[100]
    bad = np.concatenate((rr[:100], [0.5 * a, 0.5 * a], rr[101:200], [rr[200] + rr[201]], rr[202:]))
    gaps = np.zeros(bad.size, dtype=np.bool_)
    gaps[101] = True  # the second half of the split beat comes after a dropped packet
    gaps[250] = True
    assert clean(bad).label_names[100:102] == ("extra", "extra")  # merged without the gap
    result = clean(bad, gaps=gaps)
    # with it, the halves stay apart (two output intervals) and are interpolated as short
    assert result.label_names[100:102] == ("short", "short")
    np.testing.assert_array_equal(result.source_index[100:102], [100, 101])
    assert result.label_names[201] == "missed"
    # the output keeps exactly one gap per input gap, at the same input beats
    assert result.gaps.sum() == 2
    assert set(result.source_index[result.gaps].tolist()) == {101, 250}


# ---------------------------------------------------------------------------------------------
# the result object, small inputs, bad input
# ---------------------------------------------------------------------------------------------


def test_result_is_frozen_and_read_only() -> None:
    result = clean(synthetic_rr(100))
    assert isinstance(result, Cleaned)
    with pytest.raises(FrozenInstanceError):
        result.quality = 0.5  # type: ignore[misc]
    for arr in (result.rr_ms, result.labels, result.gaps, result.source_index, result.gated):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[0]
    assert result.labels.dtype == np.int8
    assert LABEL_NAMES == ("normal", "ectopic", "long", "short", "missed", "extra", "gap")
    assert [LABEL_NAMES[b] for b in BeatLabel] == [b.name.lower() for b in BeatLabel]
    assert set(result.counts) == set(LABEL_NAMES)
    assert sum(result.counts.values()) == result.n_beats


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_too_few_beats_never_raise(n: int) -> None:
    result = clean(synthetic_rr(n))
    assert result.n_beats == n
    assert result.labels.size == n
    if n == 0:
        assert result.quality is None
        assert result.rr_ms.size == 0
    else:
        assert result.quality == 1.0


def test_accepts_lists_and_integers() -> None:
    rr = np.rint(synthetic_rr(200)).astype(np.int64)
    np.testing.assert_array_equal(clean(rr.tolist()).rr_ms, rr.astype(np.float64))


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([800.0, float("nan"), 810.0], "index 1.*NaN"),
        ([800.0, 810.0, float("inf")], "index 2"),
        (["800", "810"], "dtype"),
        ([True, False], "dtype"),
        (np.ones((3, 3)) * 800, "1-D"),
        ([0.8, 0.81, 0.79, 0.8], "seconds"),
        ([800_000.0, 810_000.0], "implausible"),
        ([[800.0], [810.0, 790.0]], "array"),
    ],
)
def test_bad_input_raises_hrv_input_error(value: object, match: str) -> None:
    with pytest.raises(HrvInputError, match=match):
        clean(value)


@pytest.mark.parametrize(
    "options",
    [
        {"min_rr_ms": 2000.0, "max_rr_ms": 300.0},
        {"min_rr_ms": -1.0},
        {"max_rr_ms": float("nan")},
        {"alpha": 0.0},
        {"c1": -0.1},
        {"qd_window": 90},
        {"median_window": 1},
        {"qd_window": 91.0},
        {"max_iterations": -1},
    ],
)
def test_bad_options_raise(options: dict[str, float]) -> None:
    with pytest.raises(HrvInputError):
        clean(synthetic_rr(50), **options)  # type: ignore[arg-type]


def test_gaps_of_wrong_shape_raise() -> None:
    with pytest.raises(HrvInputError, match="gaps"):
        clean(synthetic_rr(50), gaps=np.zeros(49, dtype=np.bool_))


# ---------------------------------------------------------------------------------------------
# internals that carry the method: running quartiles equal pandas' centred rolling quantiles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "window"), [(1, 91), (40, 91), (91, 91), (92, 91), (500, 91)])
def test_running_quantiles_match_pandas_centred_rolling(n: int, window: int) -> None:
    a = np.abs(np.random.default_rng(n).normal(0, 30, n))
    q1, q3, med = _running_quantiles(a, window, (0.25, 0.75, 0.5))
    roll = pd.Series(a).rolling(window, center=True, min_periods=1)
    np.testing.assert_allclose(q1, roll.quantile(0.25).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(q3, roll.quantile(0.75).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(med, roll.median().to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# invariants
# ---------------------------------------------------------------------------------------------


def _short_long_pairs(seed: int, n: int, n_pairs: int) -> FloatArray:
    """Noisy 800-ms series with ``n_pairs`` short-long (or long-short) couplets, one of
    150-700 ms next to one of 1300-3500 ms: merges and splits side by side."""
    rng = np.random.default_rng(seed)
    rr = 800.0 + rng.normal(0.0, 60.0, n)
    for i in rng.choice(np.arange(1, n - 2), size=n_pairs, replace=False).tolist():
        a, b = rng.uniform(150.0, 700.0), rng.uniform(1300.0, 3500.0)
        rr[i], rr[i + 1] = (a, b) if rng.random() < 0.5 else (b, a)
    return rr


def test_end_index_when_a_split_intervals_first_part_is_merged_with_the_one_before() -> None:
    """305 ms then 2057 ms: the 2057 is split in three, its first part merged with the 305.

    That merged interval (input 27-28) ends at an inserted peak, 686 ms into input 28, not at
    input 28's recorded beat: only the last part of the split does (review: it got 28 too,
    so ``clean_anchors`` put two anchors at the recorded time of beat 28).
    """
    rr = np.array(
        [811, 774, 770, 703, 760, 756, 892, 857, 722, 2970, 371, 778, 826, 844, 768, 784, 809,
         744, 810, 194, 3415, 752, 817, 849, 818, 752, 842, 305, 2057, 865, 749, 792, 594,
         2168, 912, 853, 701, 824, 769, 864, 805, 790, 808, 821, 802, 788, 792, 829, 737, 800,
         793, 581, 1368, 728, 779, 752, 830],
        dtype=np.float64,
    )  # fmt: skip
    result = clean(rr)
    assert result.label_names[27:29] == ("extra", "missed")
    np.testing.assert_allclose(result.rr_ms[32:35], [305 + 2057 / 3, 2057 / 3, 2057 / 3])
    np.testing.assert_array_equal(result.source_index[31:35], [26, 27, 28, 28])
    np.testing.assert_array_equal(result.end_index[31:35], [26, -1, -1, 28])
    # merging and splitting keep time: from the recorded beat 26 to the recorded beat 28 the
    # cleaned intervals last as long as the recorded ones
    cum = np.cumsum(result.rr_ms)
    assert cum[34] - cum[31] == pytest.approx(rr[27] + rr[28], abs=1e-9)
    t = np.cumsum(rr) / 1000.0
    _, at = clean_anchors(result.rr_ms, t, cleaned=result)
    assert (np.diff(at) > 0).all()  # one anchor per recorded beat


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_pairs=st.integers(1, 20))
def test_end_index_names_each_recorded_beat_once_and_in_order(seed: int, n_pairs: int) -> None:
    """Every output interval with ``end_index >= 0`` ends at that input's recorded beat, so
    (docstring of ``Cleaned.end_index``) the recorded beats named are strictly increasing and
    the next output interval derives only from later input intervals (after the removed gaps
    in between, if any); the ones with -1 are followed by one that shares their input."""
    rr = _short_long_pairs(seed, 200, n_pairs)
    result = clean(rr)
    end, src = result.end_index, result.source_index
    named = end[end >= 0]
    assert (np.diff(named) > 0).all()
    assert end[-1] >= 0 or result.labels[-1] == BeatLabel.GAP
    for k in range(end.size - 1):
        if end[k] >= 0:
            assert src[k + 1] > end[k]
            assert (result.labels[end[k] + 1 : src[k + 1]] == BeatLabel.GAP).all()
        else:  # an inserted peak: the next output starts within the same input range
            later = end[k + 1 :]
            assert src[k + 1] <= later[later >= 0][0]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(0, 400),
    n_bad=st.integers(0, 10),
)
def test_invariants(seed: int, n: int, n_bad: int) -> None:
    rng = np.random.default_rng(seed)
    rr = synthetic_rr(n, seed=seed)
    if n:
        idx = rng.integers(0, n, size=n_bad)
        rr[idx] = rng.choice([0.0, 150.0, 450.0, 1500.0, 2100.0, 4000.0], size=n_bad)
    result = clean(rr)
    assert result.labels.size == n
    assert result.rr_ms.size == result.source_index.size == result.gaps.size
    assert np.all(np.diff(result.source_index) >= 0)
    if result.rr_ms.size:
        assert result.source_index.min() >= 0
        assert result.source_index.max() < n
        assert result.rr_ms.min() >= 300.0
        assert result.rr_ms.max() <= 2000.0
    normal = result.labels == BeatLabel.NORMAL
    if n:
        assert result.quality == pytest.approx(normal.mean())
    # an output interval not marked corrected is its input interval, unchanged
    same = ~result.corrected
    np.testing.assert_array_equal(result.rr_ms[same], rr[result.source_index[same]])
    assert normal[result.source_index[same]].all()
