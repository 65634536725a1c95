"""R-peak detection accuracy of ``sensors.read_recording(format="wfdb")`` on annotated ECG.

Usage::

    python -m bench.ecg_detection [RECORD ...] [--json]

Each RECORD is a PhysioNet WFDB record with reference beat annotations (``NAME.hea``,
``NAME.dat``, ``NAME.atr``), e.g. an MIT-BIH Arrhythmia record (PhysioNet mitdb, or
``scripts/make_mitdb_excerpts.py --full``). Default: the MIT-BIH excerpts the tests ship
(:data:`SHIPPED`: tests/data/mitdbNNNx, lead MLII; the clean ones, then the hard ones).

For each record the beats detected in the first signal are compared with the annotations beat
by beat, tolerance 75 ms (:func:`sensors.formats.signals.compare_beats`): sensitivity (Se),
positive predictivity (+P) and the error of the RR intervals between matched beats (median and
95th percentile of the absolute error, and the largest). Two detectors on the same signal:

- hrvpace: the reader's detection, NeuroKit2 ``ecg_clean`` + ``ecg_peaks`` (method
  ``"neurokit"``) without NeuroKit2's artefact correction (:mod:`sensors.formats.signals`);
- rival: NeuroKit2's own pipeline as its users call it, ``nk.ecg_process(signal,
  sampling_rate)`` with its defaults (the same method, then ``correct_artifacts=True``).

The wall-clock time of each (one run, reading the record included; not a timing study) is
printed too.

References
----------
ANSI/AAMI EC57:2012 (beat-by-beat Se and +P). Moody G.B., Mark R.G. (2001). IEEE Eng Med Biol
20(3):45-50 (MIT-BIH Arrhythmia Database). Goldberger A.L. et al. (2000). Circulation
101(23):e215-e220 (PhysioNet). Makowski D. et al. (2021). Behavior Research Methods
53:1689-1696 (NeuroKit2).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sensors import read_recording
from sensors.formats.signals import BeatComparison, compare_beats

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
#: The shipped excerpts: record -> "clean" (target Se and +P >= 99.5 %) or "hard".
SHIPPED = {
    "mitdb100x": "clean",
    "mitdb106x": "clean",
    "mitdb119x": "clean",
    "mitdb121x": "clean",
    "mitdb123x": "clean",
    "mitdb105x": "hard",
    "mitdb108x": "hard",
}


def _rival_peaks_s(record: str) -> tuple[np.ndarray, float]:
    """R peaks (s) of NeuroKit2's ``ecg_process`` (defaults) on the first signal; its length (s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import neurokit2 as nk
        import wfdb

        rec = wfdb.rdrecord(record, channels=[0])
        signal = np.asarray(rec.p_signal[:, 0], dtype=float)
        _, info = nk.ecg_process(signal, rec.fs)
    fs = float(rec.fs)
    return np.asarray(info["ECG_R_Peaks"], dtype=float) / fs, signal.size / fs


def measure(record: str) -> dict[str, object]:
    """Compare the R peaks detected in ``record`` (hrvpace, rival) with its annotations."""
    ref = read_recording(record, format="wfdb", beats="annotations")
    reference = np.r_[ref.start_s, ref.t_s]
    t0 = time.perf_counter()
    det = read_recording(record, format="wfdb", beats="detect")
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rival_peaks, duration_s = _rival_peaks_s(record)
    rival_s = time.perf_counter() - t0
    return {
        "record": Path(record).name,
        "kind": SHIPPED.get(Path(record).name, "-"),
        "duration_s": round(duration_s, 1),
        "reference_beats": len(ref) + 1,
        "labels": dict(sorted(ref.meta["label_counts"].items())),
        "hrvpace": {
            "detected_beats": len(det) + 1,
            "seconds": round(ours_s, 2),
            **asdict(compare_beats(reference, np.r_[det.start_s, det.t_s])),
        },
        "neurokit2_ecg_process": {
            "detected_beats": int(rival_peaks.size),
            "seconds": round(rival_s, 2),
            **asdict(compare_beats(reference, rival_peaks)),
        },
    }


def _cells(r: dict[str, object]) -> str:
    fields = {k: v for k, v in r.items() if k not in ("detected_beats", "seconds")}
    c = BeatComparison(**fields)  # type: ignore[arg-type]
    return (
        f"{100 * c.sensitivity:6.2f} {c.false_negatives:4d} "
        f"{100 * c.positive_predictivity:6.2f} {c.false_positives:4d} "
        f"{c.rr_error_ms_median_abs:5.1f} {c.rr_error_ms_p95_abs:5.1f} {c.rr_error_ms_max:6.1f} "
        f"{r['seconds']:5.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure every record named on the command line and print one row (or JSON) each."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("records", nargs="*", default=[str(DATA / name) for name in SHIPPED])
    parser.add_argument("--json", action="store_true", help="one JSON object per record")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import neurokit2  # noqa: F401  (imported once here, not inside the first timing)
        import wfdb  # noqa: F401
    if not args.json:
        print(
            "Beat by beat against the reference labels, tolerance 75 ms. Se/+P in %, missed "
            "(FN) / extra (FP) beats,\nabsolute RR error vs the annotated RR in ms (median, "
            "95th percentile, max), detection time in s.\nhrvpace = NeuroKit2 neurokit method "
            "without artefact correction; rival = NeuroKit2 ecg_process defaults.\n"
        )
        cols = "    Se   FN     +P   FP   med   p95    max  time"
        print(f"{'record':<12}{'kind':<7}{'min':>5}{'beats':>6}  {'hrvpace':<47} | rival")
        print(f"{'':<30}{cols} |{cols}")
    for record in args.records:
        row = measure(record)
        if args.json:
            print(json.dumps(row))
            continue
        print(
            f"{row['record']:<12}{row['kind']:<7}{float(row['duration_s']) / 60:5.1f}"  # type: ignore[arg-type]
            f"{row['reference_beats']:>6}  "
            f"{_cells(row['hrvpace'])} | {_cells(row['neurokit2_ecg_process'])}"  # type: ignore[arg-type]
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
