"""Derive tests/data/mitdb_100_beats.csv from MIT-BIH Arrhythmia Database record 100.

Usage: ``python scripts/make_mitdb_fixture.py PATH/100 [OUT.csv]`` where ``PATH/100.atr`` is the
record's reference annotation file (PhysioNet mitdb, or the copy in wfdb-python's
``sample-data/``). Needs the ``wfdb`` package (``dev`` extra). Writes one row per *beat*
annotation (non-beat annotations such as rhythm changes ``+`` are dropped): the sample number at
360 Hz and the label symbol. Provenance and licence: tests/data/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: Beat annotation codes of the MIT format (wfdb.io.annotation.ann_label_table, "is a beat").
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


def main(argv: list[str]) -> int:
    """Write the beat annotations of the record ``argv[1]`` as CSV to ``argv[2]``."""
    import wfdb  # dev extra

    record = argv[1]
    out = Path(argv[2]) if len(argv) > 2 else Path("tests/data/mitdb_100_beats.csv")
    ann = wfdb.rdann(record, "atr")
    if ann.fs != 360:
        raise SystemExit(f"{record}: expected 360 Hz, got {ann.fs}")
    rows = [
        f"{int(s)},{sym}"
        for s, sym in zip(ann.sample, ann.symbol, strict=True)
        if sym in BEAT_SYMBOLS
    ]
    out.write_text("sample,symbol\n" + "\n".join(rows) + "\n")
    print(f"{out}: {len(rows)} beats")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
