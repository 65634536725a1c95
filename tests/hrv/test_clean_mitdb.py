"""hrv.clean against cardiologists' beat labels: MIT-BIH Arrhythmia Database record 100.

The fixture (tests/data/mitdb_100_beats.csv, provenance and licence in tests/data/README.md)
holds every beat of the 30-min record with its reference label: 2,239 normal (N), 33 atrial
premature (A), 1 premature ventricular (V). From it:

- the raw RR series, as a chest strap would give it (all beats, ectopic ones included);
- the truth per interval: an interval is artefactual when either of its two beats is not N;
- the true NN intervals (both beats N) and their RMSSD, with successive differences only
  between NN intervals that follow each other (three consecutive N beats), as Task Force (1996)
  defines NN.

Scored for hrv.clean and NeuroKit2's ``signal_fixpeaks(method="kubios")``: ectopic beats found
(a beat is found when an interval next to it is flagged), false positives (flagged intervals
between two N beats) per hour, interval F1, and corrected RMSSD against the NN RMSSD.
``python -m tests.hrv.test_clean_mitdb`` prints the table of README "Artefact correction".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import BeatLabel, clean, time_domain

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "mitdb_100_beats.csv"
FS_HZ = 360.0

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Record:
    sample: NDArray[np.int64]
    normal: BoolArray  # per beat

    @property
    def rr_ms(self) -> FloatArray:
        return np.diff(self.sample) / FS_HZ * 1000.0

    @property
    def artefactual(self) -> BoolArray:
        """Per interval: True unless both of its beats are N."""
        return ~(self.normal[:-1] & self.normal[1:])

    @property
    def hours(self) -> float:
        return float(self.sample[-1] - self.sample[0]) / FS_HZ / 3600.0

    @property
    def nn_rmssd_ms(self) -> float:
        rr = self.rr_ms
        nn = ~self.artefactual
        d = np.diff(rr)[nn[:-1] & nn[1:]]
        return math.sqrt(float(np.mean(d**2)))


@dataclass(frozen=True)
class Score:
    method: str
    n_flagged: int | None  # intervals flagged
    found: int | None  # ectopic beats with a flagged interval next to them
    n_ectopic: int
    fp_per_hour: float | None
    f1: float | None
    rmssd_ms: float
    rmssd_error: float  # relative to the NN RMSSD


def load_record(path: Path = FIXTURE) -> Record:
    lines = path.read_text().split()
    assert lines[0] == "sample,symbol"
    rows = [line.split(",") for line in lines[1:]]
    sample = np.array([int(s) for s, _ in rows], dtype=np.int64)
    normal = np.array([sym == "N" for _, sym in rows], dtype=np.bool_)
    return Record(sample, normal)


def _score(rec: Record, method: str, flagged: BoolArray | None, rmssd_ms: float) -> Score:
    truth = rec.artefactual
    ectopic = np.flatnonzero(~rec.normal)
    if flagged is None:
        n_flagged = found = None
        fp_h = f1 = None
    else:
        tp = int(np.sum(flagged & truth))
        fp = int(np.sum(flagged & ~truth))
        fn = int(np.sum(~flagged & truth))
        n_flagged = int(flagged.sum())
        near = np.zeros(rec.normal.size, dtype=np.bool_)  # per beat: an adjacent interval flagged
        near[:-1] |= flagged
        near[1:] |= flagged
        found = int(near[ectopic].sum())
        fp_h = fp / rec.hours
        f1 = 2 * tp / (2 * tp + fp + fn)
    truth_rmssd = rec.nn_rmssd_ms
    return Score(
        method, n_flagged, found, ectopic.size, fp_h, f1, rmssd_ms, rmssd_ms / truth_rmssd - 1
    )


def score_hrvpace(rec: Record) -> Score:
    result = clean(rec.rr_ms)
    gaps = np.asarray(result.gaps)
    rmssd = time_domain(result.rr_ms, gaps=gaps if gaps[1:].any() else None).rmssd_ms
    assert rmssd is not None
    return _score(rec, "hrvpace hrv.clean", result.labels != BeatLabel.NORMAL, rmssd)


def score_neurokit(rec: Record, *, iterative: bool) -> Score:
    nk = pytest.importorskip("neurokit2")
    peaks = rec.sample - rec.sample[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NeuroKit2's own deprecation noise
        info, fixed = nk.signal_fixpeaks(
            peaks, sampling_rate=int(FS_HZ), iterative=iterative, method="kubios"
        )
    rr_fixed = np.diff(np.asarray(fixed, dtype=np.float64)) / FS_HZ * 1000.0
    rmssd = math.sqrt(float(np.mean(np.diff(rr_fixed) ** 2)))
    flagged: BoolArray | None = None
    if not iterative:  # with iterative=True, info holds the last pass's flags only
        flagged = np.zeros(rec.rr_ms.size, dtype=np.bool_)
        for key in ("ectopic", "missed", "extra", "longshort"):
            idx = np.asarray(info[key], dtype=np.int64) - 1  # peak i ends interval i - 1
            flagged[idx[(idx >= 0) & (idx < flagged.size)]] = True
    name = f"NeuroKit2 kubios, iterative={iterative}"
    return _score(rec, name, flagged, rmssd)


@pytest.fixture(scope="module")
def record() -> Record:
    return load_record()


def test_fixture_is_record_100_as_published(record: Record) -> None:
    assert record.sample.size == 2273
    assert int((~record.normal).sum()) == 34  # 33 A + 1 V
    assert 30.0 < record.hours * 60 < 30.2
    rr = record.rr_ms
    assert 500 < float(np.median(rr)) < 1000
    # the ectopic beats really are premature: the interval ending at each is short
    ectopic = np.flatnonzero(~record.normal)
    assert np.mean(rr[ectopic - 1] < 0.9 * np.median(rr)) > 0.9


def test_clean_finds_every_ectopic_beat_with_few_false_positives(record: Record) -> None:
    s = score_hrvpace(record)
    assert s.found == s.n_ectopic  # measured: 34 of 34
    assert s.fp_per_hour is not None and s.fp_per_hour <= 25.0  # measured 20 (10 intervals)
    assert s.f1 is not None and s.f1 >= 0.9  # measured 0.93


def test_corrected_rmssd_is_the_rmssd_of_the_true_nn_intervals(record: Record) -> None:
    raw = time_domain(record.rr_ms).rmssd_ms
    assert raw is not None
    assert raw / record.nn_rmssd_ms > 2.0  # the 34 ectopic beats more than double RMSSD
    s = score_hrvpace(record)
    assert abs(s.rmssd_error) <= 0.02  # measured 0.1 %; the issue asks for 5 %


@pytest.mark.slow
def test_side_by_side_with_neurokit2(record: Record) -> None:
    """NeuroKit2 finds the same beats (same classification) but its correction leaves RMSSD
    17-31 % high: it moves every flagged peak to the midpoint of its uncorrected neighbours,
    including the normal peak that ends the compensatory pause (see hrv/clean.py)."""
    ours = score_hrvpace(record)
    single = score_neurokit(record, iterative=False)
    multi = score_neurokit(record, iterative=True)
    assert single.found == single.n_ectopic
    assert single.f1 is not None and ours.f1 is not None
    assert abs(single.f1 - ours.f1) < 0.05
    assert single.rmssd_error > 0.15
    assert multi.rmssd_error > 0.10
    assert abs(ours.rmssd_error) < min(single.rmssd_error, multi.rmssd_error) / 5


def table(scores: list[Score], rec: Record) -> str:
    head = (
        "| method | intervals flagged | ectopic beats found | false-positive intervals / h | F1 "
        f"| RMSSD (ms) | vs NN RMSSD {rec.nn_rmssd_ms:.2f} ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )

    def fmt(value: float | int | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    rows = [
        f"| {s.method} | {fmt(s.n_flagged, 'd')} | "
        + ("-" if s.found is None else f"{s.found} / {s.n_ectopic}")
        + f" | {fmt(s.fp_per_hour, '.0f')} | {fmt(s.f1, '.3f')} | {s.rmssd_ms:.2f} "
        f"| {100 * s.rmssd_error:+.1f} % |"
        for s in scores
    ]
    return "\n".join([head, *rows])


if __name__ == "__main__":
    rec = load_record()
    raw = time_domain(rec.rr_ms).rmssd_ms
    print(f"record 100: {rec.sample.size} beats, {rec.hours * 60:.1f} min, raw RMSSD {raw:.2f} ms")
    print(
        table(
            [
                score_hrvpace(rec),
                score_neurokit(rec, iterative=False),
                score_neurokit(rec, iterative=True),
            ],
            rec,
        )
    )
