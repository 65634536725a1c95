"""Derive the 5-minute excerpts tests/data/mitdbNNNx.{hea,dat,atr} of six MIT-BIH records.

Usage::

    python scripts/make_mitdb_excerpts.py TPCP_DIR [OUT_DIR] [--full RECORD ...]

``TPCP_DIR`` holds ``NNN.pk.gz`` for the records below: lead MLII (the record's first signal)
in mV as read by ``wfdb.rdsamp(NNN, pn_dir="mitdb")``, one column ``ecg`` of a gzipped pandas
pickle, as in tpcp's ``example_data/ecg_mit_bih_arrhythmia/data/``
(https://github.com/mad-lab-fau/tpcp, commit 8180e2fb0804484c18b0f06a94610cf8285eb467).
The reference beats come from ``tests/data/mitdb_beats.csv.gz`` (PhysioNet's ``NNN.atr``;
provenance in tests/data/README.md), not from tpcp.

For each record of :data:`EXCERPTS` the script keeps 300 s of the signal from the start given
there and writes a WFDB record with the original digital values (format 212, gain 200/mV,
baseline 1024, checked: every millivolt value times 200 plus 1024 must be an integer in the
12-bit range, or nothing is written) and a ``.atr`` with the reference beats of those 300 s
(sample numbers relative to the excerpt's start). ``--full RECORD ...`` instead writes the
whole 30-min records named (``mitdbNNN``), for measuring beyond the shipped excerpts
(``python -m bench.ecg_detection OUT_DIR/mitdbNNN``); those are not shipped.

Security: the pickles are opened with a restricted :class:`pickle.Unpickler` whose
``find_class`` allows only the numpy and pandas names a one-column DataFrame of float64 needs
(:data:`ALLOWED_GLOBALS`); any other global in the file stops the script before it is loaded.
Plain ``pickle.load`` or ``pandas.read_pickle`` would run whatever the file names.

Needs ``wfdb`` (the ``ecg`` extra) and pandas (installed with NeuroKit2).

References
----------
Moody G.B., Mark R.G. (2001). The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
20(3):45-50.
Goldberger A.L. et al. (2000). PhysioBank, PhysioToolkit, and PhysioNet. Circulation
101(23):e215-e220.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import pickle
import sys
from pathlib import Path
from typing import Any

FS = 360
EXCERPT_S = 300
GAIN = 200.0
BASELINE = 1024
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

#: record -> (start of the excerpt in s, why it is here). Records 102, 104 and 114 are not
#: used: their first signal is not MLII (V5 in 102 and 104; the leads are swapped in 114).
EXCERPTS: dict[str, tuple[int, str]] = {
    "106": (0, "clean; 520 premature ventricular beats of 2,027 in the record"),
    "119": (0, "clean; 444 premature ventricular beats of 1,987 in the record"),
    "121": (0, "clean; 1,861 normal beats of 1,863"),
    "123": (0, "clean; 1,515 normal beats of 1,518, about 50 beats/min"),
    "105": (1200, "hard: noise and artefact (the database's notes); 20-25 min, the worst part"),
    "108": (0, "hard: large P waves, noise (the database's notes)"),
}

#: The only globals a pickled one-column float64 DataFrame refers to.
ALLOWED_GLOBALS = frozenset(
    {
        ("builtins", "slice"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.indexes.base", "Index"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.indexes.range", "RangeIndex"),
        ("pandas.core.internals.managers", "BlockManager"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only :data:`ALLOWED_GLOBALS` (Python docs, pickle, "Restricting Globals")."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


def read_ecg_mv(path: Path) -> Any:
    """The ``ecg`` column (mV) of one tpcp pickle, through the restricted unpickler."""
    import numpy as np

    with gzip.open(path) as f:
        frame = _RestrictedUnpickler(f).load()
    if list(frame.columns) != ["ecg"]:
        raise SystemExit(f"{path}: expected one column 'ecg', got {list(frame.columns)}")
    return np.asarray(frame["ecg"].to_numpy(), dtype=np.float64)


def digital(mv: Any, record: str) -> Any:
    """The original digital values ``mV * 200 + 1024``, refusing anything not integral."""
    import numpy as np

    d = mv * GAIN + BASELINE
    rounded = np.round(d)
    if np.abs(d - rounded).max() > 1e-6 or rounded.min() < 0 or rounded.max() > 2047:
        raise SystemExit(f"{record}: not the 11-bit values of gain 200, baseline 1024")
    return rounded.astype(np.int64)


def reference_beats(record: str) -> tuple[list[int], list[str]]:
    """Sample numbers and labels of ``record``'s beats in tests/data/mitdb_beats.csv.gz."""
    samples: list[int] = []
    symbols: list[str] = []
    with gzip.open(DATA / "mitdb_beats.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            if row["record"] == record:
                samples.append(int(row["sample"]))
                symbols.append(row["symbol"])
    if not samples:
        raise SystemExit(f"{record}: no beats in mitdb_beats.csv.gz")
    return samples, symbols


def write(record: str, d: Any, start: int, stop: int, name: str, out_dir: Path) -> None:
    """Write samples ``start:stop`` of ``d`` and the reference beats in them as ``name``."""
    import numpy as np
    import wfdb  # ecg extra

    what = "whole record" if start == 0 and stop == d.size else f"{start / FS:g}-{stop / FS:g} s"
    wfdb.wrsamp(
        name,
        fs=FS,
        units=["mV"],
        sig_name=["MLII"],
        d_signal=d[start:stop, None],
        fmt=["212"],
        adc_gain=[GAIN],
        baseline=[BASELINE],
        comments=[f"excerpt: MIT-BIH Arrhythmia Database record {record}, {what}, lead MLII"],
        write_dir=str(out_dir),
    )
    samples, symbols = reference_beats(record)
    keep = [i for i, s in enumerate(samples) if start <= s < stop]
    wfdb.wrann(
        name,
        "atr",
        np.asarray([samples[i] - start for i in keep], dtype=np.int64),
        symbol=[symbols[i] for i in keep],
        fs=FS,
        write_dir=str(out_dir),
    )
    print(f"{out_dir}/{name}: {stop - start} samples ({what}), {len(keep)} beats")


def main(argv: list[str]) -> int:
    """Write the excerpts (or, with ``--full``, whole records) into ``OUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tpcp_dir", type=Path)
    parser.add_argument("out_dir", type=Path, nargs="?", default=DATA)
    parser.add_argument("--full", nargs="+", metavar="RECORD", help="write whole records")
    args = parser.parse_args(argv[1:])
    jobs = args.full or list(EXCERPTS)
    for record in jobs:
        d = digital(read_ecg_mv(args.tpcp_dir / f"{record}.pk.gz"), record)
        if args.full:
            write(record, d, 0, d.size, f"mitdb{record}", args.out_dir)
        else:
            start = EXCERPTS[record][0] * FS
            write(record, d, start, start + EXCERPT_S * FS, f"mitdb{record}x", args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
