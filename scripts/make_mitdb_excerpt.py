"""Derive the 3-minute excerpt tests/data/mitdb100x.{hea,dat,atr} of MIT-BIH record 100.

Usage: ``python scripts/make_mitdb_excerpt.py PATH/100 [OUT_DIR]`` where ``PATH/100`` is the
record (``.hea``, ``.dat`` and ``.atr``: PhysioNet mitdb, or the copies in wfdb-python's
``sample-data/``). Needs ``wfdb`` (``ecg`` extra). Keeps the first 180 s (64,800 samples at
360 Hz) of one channel, MLII, with its original digital values, gain and baseline (format 212),
and the beat annotations of those 180 s (non-beat annotations dropped). Provenance and licence:
tests/data/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXCERPT_S = 180
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


def main(argv: list[str]) -> int:
    """Write the excerpt of the record ``argv[1]`` into ``argv[2]`` (default ``tests/data``)."""
    import numpy as np
    import wfdb  # ecg extra

    record = argv[1]
    out_dir = Path(argv[2]) if len(argv) > 2 else Path("tests/data")
    head = wfdb.rdheader(record)
    n = int(EXCERPT_S * head.fs)
    rec = wfdb.rdrecord(record, channels=[0], sampto=n, physical=False)
    if rec.sig_name != ["MLII"] or head.fs != 360:
        raise SystemExit(f"{record}: expected MLII at 360 Hz, got {rec.sig_name} at {head.fs}")
    wfdb.wrsamp(
        "mitdb100x",
        fs=rec.fs,
        units=rec.units,
        sig_name=rec.sig_name,
        d_signal=rec.d_signal,
        fmt=["212"],
        adc_gain=rec.adc_gain,
        baseline=rec.baseline,
        comments=["excerpt: MIT-BIH Arrhythmia Database record 100, 0-180 s, lead MLII"],
        write_dir=str(out_dir),
    )
    ann = wfdb.rdann(record, "atr", sampto=n - 1)
    keep = [i for i, s in enumerate(ann.symbol) if s in BEAT_SYMBOLS]
    wfdb.wrann(
        "mitdb100x",
        "atr",
        np.asarray(ann.sample)[keep],
        symbol=[ann.symbol[i] for i in keep],
        fs=rec.fs,
        write_dir=str(out_dir),
    )
    print(f"{out_dir}/mitdb100x: {n} samples, {len(keep)} beats")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
