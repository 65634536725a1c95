"""Derive tests/data/mitdb100x.edf: the first 180 s of MIT-BIH record 100 as an EDF+ file.

Usage: ``python scripts/make_edf_fixture.py PATH/100 [OUT.edf]`` where ``PATH/100`` is the
record (``.hea`` and ``.dat``: PhysioNet mitdb, or the copies in wfdb-python's
``sample-data/``). Needs ``wfdb`` and ``pyedflib`` (``ecg`` extra). Provenance and licence:
tests/data/README.md.

Both leads (``ECG MLII`` and ``ECG V5``) keep their original 11-bit digital values: the EDF
digital value is the MIT value minus the baseline 1024, and the physical range is set so that
EDF's linear map gives the same millivolts as the WFDB header (gain 200 per mV). The patient
and recording fields are EDF+'s anonymous ``X``; the start date is EDF's "unknown" 1 Jan 1985
(the database gives none).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

EXCERPT_S = 180


def main(argv: list[str]) -> int:
    """Write the EDF+ excerpt of the record ``argv[1]`` to ``argv[2]``."""
    import numpy as np
    import pyedflib  # ecg extra
    import wfdb  # ecg extra

    record = argv[1]
    out = Path(argv[2]) if len(argv) > 2 else Path("tests/data/mitdb100x.edf")
    head = wfdb.rdheader(record)
    n = int(EXCERPT_S * head.fs)
    rec = wfdb.rdrecord(record, sampto=n, physical=False)
    if rec.sig_name != ["MLII", "V5"] or rec.fs != 360 or rec.fmt != ["212", "212"]:
        raise SystemExit(f"{record}: expected MLII and V5 at 360 Hz, format 212")
    writer = pyedflib.EdfWriter(str(out), 2, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        headers = []
        digital = []
        for i, name in enumerate(rec.sig_name):
            gain, base = float(rec.adc_gain[i]), int(rec.baseline[i])
            headers.append(
                {
                    "label": f"ECG {name}",
                    "dimension": "mV",
                    "sample_frequency": rec.fs,
                    "digital_min": -1024,
                    "digital_max": 1023,
                    "physical_min": -1024 / gain,
                    "physical_max": 1023 / gain,
                    "transducer": "",
                    "prefilter": "",
                }
            )
            digital.append(np.ascontiguousarray(rec.d_signal[:, i] - base, dtype=np.int32))
        writer.setSignalHeaders(headers)
        writer.setStartdatetime(dt.datetime(1985, 1, 1))
        writer.writeSamples(digital, digital=True)
    finally:
        writer.close()
    print(f"{out}: {out.stat().st_size} bytes, {n} samples per lead")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
