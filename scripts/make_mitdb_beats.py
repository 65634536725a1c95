"""Derive tests/data/mitdb_beats.csv.gz: the reference beat labels of all 48 MIT-BIH records.

Usage::

    python scripts/make_mitdb_beats.py ANNOTATIONS_DIR [--check-positions TPCP_DIR] [OUT]

``ANNOTATIONS_DIR`` holds ``NNNannotations.txt`` for the 48 records of the MIT-BIH Arrhythmia
Database: the reference annotation files (``NNN.atr``) printed as text by PhysioNet's ``rdann``
(columns ``Time  Sample #  Type  Sub Chan  Num  Aux``), as in the copy in
https://github.com/Virja-Kawade/MACHINE-LEARNING-BASED-DETECTION-RISK-STRATIFICATION-MODELS-FOR-ARRHYTHMIA
(``mit-bih/``). ``--check-positions`` points at an independent copy of the beat positions of
some records (``NNN_all.csv``: every beat's sample; ``NNN_pvc.csv``: the ``V`` beats), as in
tpcp's ``example_data/ecg_mit_bih_arrhythmia/data/`` (https://github.com/mad-lab-fau/tpcp,
written there from PhysioNet with ``wfdb.rdann``); every record found in both must agree beat
for beat, or nothing is written. Record 100 is also checked against
``tests/data/mitdb_100_beats.csv`` (read from ``100.atr`` in wfdb-python's sample data).

Writes one row per *beat* annotation (non-beat annotations such as rhythm changes ``+``, noise
``~`` or isolated QRS-like artefacts ``|`` are dropped): ``record,sample,symbol`` with the
sample number at 360 Hz. Provenance and licence: tests/data/README.md. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

#: Beat annotation codes of the MIT format (wfdb.io.annotation.ann_label_table, "is a beat").
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

#: Beats per record allowed at another sample in the independent copy (reported when > 0).
MAX_MOVED = 1

#: The 48 records of the database.
RECORDS = (
    *(str(r) for r in range(100, 110)),
    *(str(r) for r in range(111, 120)),
    "121", "122", "123", "124", "200", "201", "202", "203", "205", "207", "208", "209", "210",
    "212", "213", "214", "215", "217", "219", "220", "221", "222", "223", "228", "230", "231",
    "232", "233", "234",
)  # fmt: skip


def read_annotations(path: Path) -> list[tuple[int, str]]:
    """Beat annotations ``(sample, symbol)`` of one ``rdann`` text listing."""
    beats: list[tuple[int, str]] = []
    lines = path.read_text().splitlines()
    if not lines or "Sample #" not in lines[0]:
        raise SystemExit(f"{path}: line 1 is not an rdann header")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if len(fields) < 6:
            raise SystemExit(f"{path}:{number}: expected at least 6 columns, got {line!r}")
        sample, symbol = int(fields[1]), fields[2]
        if symbol in BEAT_SYMBOLS:
            beats.append((sample, symbol))
    return beats


def check_positions(record: str, beats: list[tuple[int, str]], tpcp: Path) -> bool:
    """Compare with tpcp's independent copy of the record; True when one exists."""
    all_csv, pvc_csv = tpcp / f"{record}_all.csv", tpcp / f"{record}_pvc.csv"
    if not all_csv.exists():
        return False
    with all_csv.open() as fh:
        theirs = sorted(int(row["R"]) for row in csv.DictReader(fh))
    with pvc_csv.open() as fh:
        their_v = sorted(int(row["PVC"]) for row in csv.DictReader(fh))
    ours = sorted({s for s, _ in beats})
    our_v = sorted({s for s, sym in beats if sym == "V"})
    if len(ours) != len(theirs) or our_v != their_v:
        raise SystemExit(
            f"record {record}: beats differ from {all_csv.parent} "
            f"({len(ours)} vs {len(theirs)} beats, {len(our_v)} vs {len(their_v)} V)"
        )
    moved = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
    if moved:  # reported, not hidden: the two copies may come from different revisions
        print(
            f"record {record}: {len(moved)} beat(s) at another sample in {all_csv.parent}: "
            + ", ".join(f"{a} vs {b}" for a, b in moved)
        )
    if len(moved) > MAX_MOVED:
        raise SystemExit(f"record {record}: more than {MAX_MOVED} beats differ")
    return True


def main(argv: list[str]) -> int:
    """Write the beat annotations of all records as gzipped CSV."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("annotations", type=Path)
    parser.add_argument("--check-positions", type=Path, default=None)
    parser.add_argument("out", type=Path, nargs="?", default=Path("tests/data/mitdb_beats.csv.gz"))
    args = parser.parse_args(argv)
    rows = io.StringIO()
    rows.write("record,sample,symbol\n")
    checked: list[str] = []
    for record in RECORDS:
        beats = read_annotations(args.annotations / f"{record}annotations.txt")
        if args.check_positions is not None and check_positions(
            record, beats, args.check_positions
        ):
            checked.append(record)
        if record == "100":
            ref = Path("tests/data/mitdb_100_beats.csv").read_text().splitlines()[1:]
            if [f"{s},{sym}" for s, sym in beats] != ref:
                raise SystemExit("record 100: differs from tests/data/mitdb_100_beats.csv")
            checked.append("100 (100.atr)")
        rows.writelines(f"{record},{s},{sym}\n" for s, sym in beats)
    # mtime=0: the same input gives the same bytes
    args.out.write_bytes(gzip.compress(rows.getvalue().encode(), compresslevel=9, mtime=0))
    print(f"{args.out}: {len(RECORDS)} records; positions checked against: {', '.join(checked)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
