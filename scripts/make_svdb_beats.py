"""Derive tests/data/svdb_beats.csv.gz (or edb_beats.csv.gz): the reference beat labels.

Usage::

    python scripts/make_svdb_beats.py SVDB_DIR [OUT]
    python scripts/make_svdb_beats.py --db edb EDB_DIR [OUT]

The European ST-T Database (``--db edb``: PhysioNet ``edb`` 1.0.0, 90 records of two hours at
250 Hz, reference files ``eNNNN.atr``; the copy in the same repository, ``record_all/edb/1.0.0/``)
is read the same way, with the same checks, into ``tests/data/edb_beats.csv.gz``; its rhythm
annotations (``(N``, ``(AFIB``, ...) are listed in the report, the ST/T ones summed up.

``SVDB_DIR`` holds the reference annotation files ``NNN.atr`` of the 78 records of the MIT-BIH
Supraventricular Arrhythmia Database (PhysioNet ``svdb`` 1.0.0, 128 Hz), with PhysioNet's
``RECORDS`` and ``SHA256SUMS.txt`` beside them, as in the copy in
https://github.com/insung3511/ecg-dbn (``data/db3/svdb/``). Every ``NNN.atr`` (and ``NNN.hea``)
must have the SHA-256 that PhysioNet's ``SHA256SUMS.txt`` gives for it, or nothing is written;
the record list is PhysioNet's ``RECORDS``.

Writes one row per *beat* annotation (non-beat annotations such as the rhythm change ``+``,
noise ``~`` or isolated QRS-like artefacts ``|`` are dropped), as
``scripts/make_mitdb_beats.py`` does for MIT-BIH: ``record,sample,symbol`` with the sample
number at **128 Hz**. The annotation files hold no rhythm annotations (one ``(N`` in record
852), which the script checks and reports. Provenance and licence: tests/data/README.md.
Needs ``wfdb`` (the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import itertools
import re
import sys
from pathlib import Path

import wfdb

#: Beat annotation codes of the MIT format (wfdb.io.annotation.ann_label_table, "is a beat"),
#: the same set as scripts/make_mitdb_beats.py.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

#: Sampling frequency of every svdb record (its .hea files: ``NNN 2 128 230400``).
FS_HZ = 128

#: An ST or T-wave episode annotation of edb (counted, not listed).
ST_T_NOTE = re.compile(r"\(?a?(st|t)\d", re.IGNORECASE)

#: Per database: number of records and sampling frequency (every record's .hea).
DATABASES = {"svdb": (78, FS_HZ), "edb": (90, 250)}


def checksums(directory: Path) -> dict[str, str]:
    """PhysioNet's ``SHA256SUMS.txt``: file name -> SHA-256."""
    out: dict[str, str] = {}
    for line in (directory / "SHA256SUMS.txt").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        out[name.strip()] = digest
    return out


def main(argv: list[str]) -> int:
    """Write the beat annotations of all records as gzipped CSV."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=sorted(DATABASES), default="svdb")
    parser.add_argument("svdb", type=Path, help="the database's directory")
    parser.add_argument("out", type=Path, nargs="?")
    args = parser.parse_args(argv)
    n_records, fs_hz = DATABASES[args.db]
    out: Path = args.out or Path(f"tests/data/{args.db}_beats.csv.gz")
    sums = checksums(args.svdb)
    records = (args.svdb / "RECORDS").read_text().split()
    if len(records) != n_records:
        raise SystemExit(f"RECORDS lists {len(records)} records, expected {n_records}")
    rows = io.StringIO()
    rows.write("record,sample,symbol\n")
    rhythm: list[str] = []
    n_st_t = 0  # ST and T-wave episode annotations (edb), counted only
    n_beats = 0
    for record in records:
        for ext in ("atr", "hea"):
            name = f"{record}.{ext}"
            digest = hashlib.sha256((args.svdb / name).read_bytes()).hexdigest()
            if sums.get(name) != digest:
                raise SystemExit(f"{name}: SHA-256 {digest} is not PhysioNet's {sums.get(name)}")
        ann = wfdb.rdann(str(args.svdb / record), "atr")
        if ann.fs != fs_hz:
            raise SystemExit(f"record {record}: {ann.fs} Hz, expected {fs_hz}")
        notes = [f"{record}@{s}:{a}" for s, a in zip(ann.sample, ann.aux_note, strict=True) if a]
        # ST and T-wave episode annotations: "(st0-", "(t1+", "AST1-150", "AT0+300", "st0-)";
        # a rhythm code such as "(T" (ventricular trigeminy) carries no lead digit
        st_t = [n for n in notes if ST_T_NOTE.match(n.split(":", 1)[1])]
        n_st_t += len(st_t)
        rhythm += [n for n in notes if n not in st_t]
        beats = [
            (int(s), sym)
            for s, sym in zip(ann.sample, ann.symbol, strict=True)
            if sym in BEAT_SYMBOLS
        ]
        if any(b[0] <= a[0] for a, b in itertools.pairwise(beats)):
            raise SystemExit(f"record {record}: beat samples not strictly increasing")
        n_beats += len(beats)
        rows.writelines(f"{record},{s},{sym}\n" for s, sym in beats)
    # mtime=0: the same input gives the same bytes
    out.write_bytes(gzip.compress(rows.getvalue().encode(), compresslevel=9, mtime=0))
    print(
        f"{out}: {len(records)} records, {n_beats} beats, all .atr/.hea as PhysioNet's "
        f"SHA256SUMS.txt; rhythm/aux annotations: {', '.join(rhythm) or 'none'}"
        + (f"; ST/T annotations: {n_st_t}" if n_st_t else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
