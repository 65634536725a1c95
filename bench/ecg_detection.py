"""R-peak detection accuracy of ``sensors.read_recording(format="wfdb")`` on annotated ECG.

Usage::

    python -m bench.ecg_detection [RECORD ...] [--json]

Each RECORD is a PhysioNet WFDB record with reference beat annotations (``NAME.hea``,
``NAME.dat``, ``NAME.atr``), e.g. MIT-BIH Arrhythmia record 100 (PhysioNet mitdb, or
``sample-data/100`` of the wfdb-python repository). Default: the 3-minute excerpt of record 100
the tests ship (tests/data/mitdb100x). For each record the beats detected in the first signal
(NeuroKit2, :mod:`sensors.formats.signals`) are compared with the annotations beat by beat,
tolerance 75 ms (:func:`sensors.formats.signals.compare_beats`): sensitivity, positive
predictivity and the error of the RR intervals between matched beats.

References
----------
ANSI/AAMI EC57:2012 (beat-by-beat Se and +P). Moody G.B., Mark R.G. (2001). IEEE Eng Med Biol
20(3):45-50 (MIT-BIH Arrhythmia Database).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sensors import read_recording
from sensors.formats.signals import compare_beats

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "mitdb100x"


def measure(record: str) -> dict[str, object]:
    """Compare the R peaks detected in ``record`` with its reference annotations."""
    ref = read_recording(record, format="wfdb", beats="annotations")
    det = read_recording(record, format="wfdb", beats="detect")
    result = compare_beats(np.r_[ref.start_s, ref.t_s], np.r_[det.start_s, det.t_s])
    return {
        "record": Path(record).name,
        "duration_s": round(float(ref.t_s[-1]), 1),
        "reference_beats": len(ref) + 1,
        "detected_beats": len(det) + 1,
        **asdict(result),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every record named on the command line and print one row (or JSON) each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--json", action="store_true", help="one JSON object per record")
    args = parser.parse_args(argv)
    for record in args.records:
        row = measure(record)
        if args.json:
            print(json.dumps(row))
            continue
        print(
            f"{row['record']}: {row['reference_beats']} beats in {row['duration_s']} s; "
            f"Se {100 * float(row['sensitivity']):.2f} % "  # type: ignore[arg-type]
            f"(missed {row['false_negatives']}), "
            f"+P {100 * float(row['positive_predictivity']):.2f} % "  # type: ignore[arg-type]
            f"(extra {row['false_positives']}); RR error mean "
            f"{row['rr_error_ms_mean']:.2f} ms, RMS {row['rr_error_ms_rms']:.2f} ms, "
            f"max {row['rr_error_ms_max']:.2f} ms over {row['n_rr']} intervals"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
