"""Third candidate for the premature_noncomp gap: the long-beat pattern only above the band.

The paper's long-beat pattern (``S21 > 1 and S22 < -1``) labels a beat long only when its
normalised mRR is above :data:`LONG_MIN_MRR` (``hrv._lipponen_tarvainen.classify``'s
``long_min_mrr``). Judged by criteria E-H of docs/noncomp_short_beat_protocol.md ("Third
candidate"), written before this script's first run.

Reproduce (needs the MIT-BIH beat file shipped in tests/data and the svdb beat file, which is
not shipped: ``python scripts/make_svdb_beats.py DIR`` builds it)::

    python -m bench.long_band --judge   # criteria E-G: annotated ECG and injected shapes
    python -m bench.long_band --tests   # criterion H: tests/hrv/test_clean*.py, test_ectopy*.py

The last line of ``--judge`` gives the verdict; the exit code only says whether the run worked.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import hrv._lipponen_tarvainen as lt
import hrv.clean  # noqa: F401  (sys.modules['hrv.clean'] is patched by candidate())
from bench._common import clean_with, shared_data_dir

#: The bound of the candidate: one threshold unit of the paper's normalised mRR.
LONG_MIN_MRR = 1.0
SEEDS = 10
RECORDINGS = ("rest", "nsr001_h14", "rrhealthy_000_h4")


def candidate(bound: float = LONG_MIN_MRR) -> contextlib.AbstractContextManager[None]:
    """Run ``hrv.clean`` with the candidate's classification inside the block."""
    return clean_with("classify", functools.partial(lt.classify, long_min_mrr=bound))


def _methods() -> Iterator[tuple[str, contextlib.AbstractContextManager[None]]]:
    yield "hrv.clean", contextlib.nullcontext()
    yield "candidate", candidate()


def judge_ecg(db: str) -> bool:
    """Criteria E and F on the sinus records of database ``db``; prints the table."""
    from tests.hrv import test_clean_mitdb as m

    m.require_fixture(db)
    kinds = ("sinus, occasional", "sinus, frequent", "sinus")
    pooled: dict[tuple[str, str], Any] = {}
    fps: dict[tuple[str, str], int] = {}
    for label, ctx in _methods():
        with ctx:
            for kind in kinds:
                scores = [m.score_hrvpace(r) for r in m.records_of(kind, db)]
                pooled[label, kind] = m.pool(scores)
                fps[label, kind] = sum(s.fp or 0 for s in scores)
    print(f"\n{db}: hrv.clean against the candidate")
    for kind in kinds:
        for label, _ in _methods():
            p = pooled[label, kind]
            print(
                f"  {kind + f' ({p.records})':24s} {label:10s} found {p.found:>5}/{p.n_ectopic:<5} "
                f"FP {fps[label, kind]:5d} FP/h {p.fp_per_hour:7.2f} F1 {p.f1:.3f} "
                f"median|err| {100 * p.median_abs_error:6.2f} % worst "
                f"{100 * p.worst_abs_error:6.1f} % ({p.worst_record})"
            )
    occ, a = ("hrv.clean", "sinus, occasional"), ("candidate", "sinus, occasional")
    e_fp = pooled[a].fp_per_hour <= 1.05 * pooled[occ].fp_per_hour
    e_err = pooled[a].median_abs_error <= pooled[occ].median_abs_error + 0.0025
    c0, c1 = pooled["hrv.clean", "sinus"], pooled["candidate", "sinus"]
    f_err = c1.median_abs_error <= c0.median_abs_error + 0.0025
    f_f1 = c1.f1 >= c0.f1 - 0.005
    f_found = c1.found >= 0.98 * c0.found
    print(
        f"  E ({db}): FP/h x{pooled[a].fp_per_hour / pooled[occ].fp_per_hour:.3f} (<= 1.05: "
        f"{e_fp}); median|err| {100 * pooled[occ].median_abs_error:.2f} -> "
        f"{100 * pooled[a].median_abs_error:.2f} % (<= +0.25 pt: {e_err}) => "
        f"{'holds' if e_fp and e_err else 'FAILS'}"
    )
    print(
        f"  F ({db}): median|err| {100 * c0.median_abs_error:.2f} -> "
        f"{100 * c1.median_abs_error:.2f} % ({f_err}); F1 {c0.f1:.3f} -> {c1.f1:.3f} ({f_f1}); "
        f"found {c0.found} -> {c1.found} (>= 0.98x: {f_found}) => "
        f"{'holds' if f_err and f_f1 and f_found else 'FAILS'}"
    )
    return bool(e_fp and e_err and f_err and f_f1 and f_found)


def judge_injected() -> bool:
    """Criterion G: the injected shapes of tests/hrv/test_clean_injected.py, with their bounds."""
    from tests.hrv import test_clean_injected as inj

    recs = inj.load_recordings(shared_data_dir())
    ok = True
    print("\ninjected shapes (10 seeds): hrv.clean -> candidate")
    for rec in RECORDINGS:
        raw = recs[rec]
        cases: list[tuple[str, tuple[str, ...], int]] = [(s, (s,), 100) for s in inj.SHAPES]
        cases += [("mixed /100", inj.SHAPES, 100), ("mixed /40", inj.SHAPES, 40)]
        for label, shapes, per in cases:
            cells = []
            for _name, ctx in _methods():
                with ctx:
                    f1, err = inj.score(raw, shapes, per_beats=per, seeds=SEEDS)
                    strict = float("nan")
                    if len(shapes) == 1:
                        strict, _ = inj.score(
                            raw, shapes, per_beats=per, seeds=SEEDS, sham_control=False
                        )
                e = np.abs(err)
                med, worst = float(np.median(e)), float(e.max())
                cells.append(f"F1 {f1:.3f} strict {strict:.3f} |err| med {med:.3f} max {worst:.3f}")
            # the candidate's figures (the last computed) against the bounds of criterion G
            if len(shapes) == 1:
                good = f1 >= 0.95 and strict >= 0.92 and med <= 0.05 and worst <= 0.07
            elif per == 100:
                good = f1 >= 0.95 and worst <= 0.05
            else:
                good = f1 >= 0.95 and med <= 0.05 and worst <= 0.08
            ok &= good
            print(f"  {rec:17s} {label:18s} " + " -> ".join(cells) + ("" if good else "  FAILS"))
    print(f"  G => {'holds' if ok else 'FAILS'}")
    return ok


def run_tests() -> int:
    """Criterion H: tests/hrv/test_clean*.py and test_ectopy*.py (slow included), candidate in."""
    import pytest

    files = sorted(
        str(p) for pat in ("test_clean*.py", "test_ectopy*.py") for p in Path("tests/hrv").glob(pat)
    )
    with candidate():
        return int(pytest.main([*files, "-m", "slow or not slow", "-q", "-p", "no:cacheprovider"]))


def main() -> None:
    """``--judge`` (criteria E-G) or ``--tests`` (criterion H)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="store_true", help="criteria E-G")
    parser.add_argument("--tests", action="store_true", help="criterion H")
    args = parser.parse_args()
    if args.tests:
        raise SystemExit(run_tests())
    if not args.judge:
        parser.error("say --judge or --tests")
    verdicts = [judge_ecg("mitdb"), judge_ecg("svdb"), judge_injected()]
    print(
        "verdict: E-G hold; adopted if H holds too"
        if all(verdicts)
        else "verdict: not adopted (criteria E-G do not all hold)"
    )


if __name__ == "__main__":
    main()
