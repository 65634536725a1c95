"""R-peak detection measured on seven MIT-BIH Arrhythmia records, not assumed (issue 18).

Real data: excerpts of MIT-BIH Arrhythmia Database records (lead MLII, 360 Hz; Moody & Mark
2001, PhysioNet, Goldberger et al. 2000): tests/data/mitdbNNNx.{hea,dat,atr}, written by
scripts/make_mitdb_excerpt.py (100, 3 min) and scripts/make_mitdb_excerpts.py (the others,
5 min). Each record is read as a user reads it, ``read_recording(..., format="wfdb")``, and the
detected beats are compared beat by beat (tolerance 75 ms, ANSI/AAMI EC57 style) with the
cardiologists' labels of the whole record in tests/data/mitdb_beats.csv.gz, so the excerpt's
own ``.atr`` is not the only witness. Provenance and licence: tests/data/README.md.

Clean records must meet the target, sensitivity and positive predictivity >= 99.5 % each, and
an RR error against the annotated RR of at most two samples (5.6 ms) in the median and 12 ms
at the 95th percentile. The hard records (noise, large P waves) are below the target; their
tests hold what was measured (``python -m bench.ecg_detection``), with margin, so a worse
detector fails them.
"""

from __future__ import annotations

import csv
import gzip
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sensors import Recording, read_recording
from sensors.formats.signals import compare_beats

DATA = Path(__file__).resolve().parent.parent / "data"
FS = 360.0

#: record -> (first sample of the excerpt in the record, its length in samples).
EXCERPTS = {
    "100": (0, 64_800),
    "106": (0, 108_000),
    "119": (0, 108_000),
    "121": (0, 108_000),
    "123": (0, 108_000),
    "105": (1200 * 360, 108_000),
    "108": (0, 108_000),
}
CLEAN = ("100", "106", "119", "121", "123")

#: Hard records: (sensitivity, positive predictivity) floors, below the measured values
#: (105: 94.05 % and 96.83 %, 108: 72.44 % and 74.28 %) by about 2 points. 108's lead MLII
#: is detected as recorded: 3 of its 5 minutes vote inverted (its large P waves), no clear
#: verdict (sensors.formats.signal_peaks.ecg_is_inverted); turned, this excerpt gave 99.29 % and
#: 98.60 %, but 27 % of its whole record votes inverted and turned is timed ~35 ms late.
HARD_FLOORS = {"105": (0.92, 0.95), "108": (0.70, 0.72)}


@cache
def reference(record: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Beat times (s, from the excerpt's start) and labels of ``record`` in its excerpt."""
    start, n = EXCERPTS[record]
    samples: list[int] = []
    labels: list[str] = []
    with gzip.open(DATA / "mitdb_beats.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            s = int(row["sample"])
            if row["record"] == record and start <= s < start + n:
                samples.append(s - start)
                labels.append(row["symbol"])
    return np.asarray(samples, dtype=float) / FS, tuple(labels)


def beat_times(rec: Recording) -> np.ndarray:
    return np.asarray(np.r_[rec.start_s, rec.t_s], dtype=float)


@cache
def detected(record: str) -> Recording:
    return read_recording(DATA / f"mitdb{record}x.hea", format="wfdb", beats="detect")


@pytest.mark.parametrize("record", list(EXCERPTS))
def test_shipped_excerpt_and_its_annotations_are_the_reference(record: str) -> None:
    rec = read_recording(DATA / f"mitdb{record}x", format="wfdb")
    times, labels = reference(record)
    assert rec.meta["beats_from"] == f"reference annotations mitdb{record}x.atr (not detected)"
    assert rec.meta["channel"] == "MLII" and rec.meta["sampling_rate_hz"] == FS
    assert rec.meta["beat_labels"] == labels
    np.testing.assert_allclose(beat_times(rec), times, atol=1e-9)
    start, n = EXCERPTS[record]
    comment = f"record {record}, {start / FS:g}-{(start + n) / FS:g} s, lead MLII"
    assert any(comment in c for c in rec.meta["comments"])


@pytest.mark.parametrize("record", CLEAN)
def test_detection_meets_the_target_on_clean_records(record: str) -> None:
    rec = detected(record)
    assert rec.meta["beats_from"] == "detected: NeuroKit2 ecg_peaks (neurokit)"
    times, _ = reference(record)
    result = compare_beats(times, beat_times(rec), tolerance_s=0.075)
    assert result.sensitivity >= 0.995, result
    assert result.positive_predictivity >= 0.995, result
    assert result.rr_error_ms_median_abs <= 5.6, result  # two samples at 360 Hz
    assert result.rr_error_ms_p95_abs <= 12.0, result
    assert result.n_rr >= 0.99 * (times.size - 1)


def test_clean_records_hold_many_ventricular_beats() -> None:
    """The clean set is not only sinus rhythm: 106 and 119 carry many PVCs (V)."""
    counts = {r: reference(r)[1].count("V") for r in CLEAN}
    assert counts["106"] >= 50 and counts["119"] >= 50
    assert sum(times.size for times in (reference(r)[0] for r in CLEAN)) >= 1400


@pytest.mark.parametrize("record", sorted(HARD_FLOORS))
def test_detection_on_hard_records_holds_what_was_measured(record: str) -> None:
    times, _ = reference(record)
    result = compare_beats(times, beat_times(detected(record)), tolerance_s=0.075)
    se, ppv = HARD_FLOORS[record]
    assert result.sensitivity >= se, result
    assert result.positive_predictivity >= ppv, result
    # where beats are matched, the intervals are still right most of the time
    assert result.rr_error_ms_median_abs <= 5.6, result


def test_rr_error_median_and_95th_percentile() -> None:
    ref = np.arange(21, dtype=float)
    det = ref.copy()
    det[1:] += np.r_[np.zeros(10), np.full(10, 0.004)]  # one interval 4 ms long, others exact
    det[20] += 0.050  # the last interval 50 ms long
    result = compare_beats(ref, det)
    assert result.n_rr == 20
    assert result.rr_error_ms_median_abs == pytest.approx(0.0, abs=1e-9)
    assert result.rr_error_ms_max == pytest.approx(50.0)
    # |errors|: eighteen 0, one 4, one 50 -> 95th percentile between 4 and 50 (numpy linear)
    assert result.rr_error_ms_p95_abs == pytest.approx(4.0 + 0.05 * 46.0)
