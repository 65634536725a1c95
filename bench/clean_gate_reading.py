"""Lipponen & Tarvainen's decision flow read two ways: |mRR| > 3 on its own, or only past dRR.

Run from the repository root::

    python -m bench.clean_gate_reading              # MIT-BIH, 48 records (~15 s)
    python -m bench.clean_gate_reading --injected   # also the injected-artefact scores (~3 min)
    python -m bench.clean_gate_reading --real       # also flags on the shared real recordings

``hrv.clean`` flags a beat long/short when ``|mRR| > 3`` whatever its ``|dRR|`` (eq. 4 of
Lipponen & Tarvainen 2019 on its own). NeuroKit2 0.3 (``signal_fixpeaks``, "Figure 1") first
skips every beat whose ``|dRR| <= Th1`` and tests eq. 4 only for the beats that pass. This
script runs ``hrv.clean`` with that gate added and compares both readings against the
MIT-BIH truth (``tests.hrv.test_clean_mitdb``), the injected artefacts
(``tests.hrv.test_clean_injected.score``) and the flags on the real recordings.

The gate is added by wrapping the private ``classify`` (no change to ``hrv``): beats whose
``|dRR| / Th1 <= 1`` are set to normal afterwards. That equals gating eq. 4, because the
ectopic, eq. 3 and eq. 5 rules already require ``|dRR| > Th1``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import hrv
from hrv import BeatLabel, time_domain
from hrv._lipponen_tarvainen import classify
from hrv._running_stats import quartile_threshold

READINGS = ("eq4 alone (hrvpace)", "Figure-1 gate (NeuroKit2)")


def _gated(
    inner: Callable[..., Any], rr: np.ndarray, gaps: np.ndarray, **kw: Any
) -> tuple[Any, Any, Any]:
    codes, n_parts, med = inner(rr, gaps, **kw)
    if rr.size >= 3:
        drr = np.empty(rr.size)
        drr[0] = 0.0
        drr[1:] = np.diff(rr)
        drr[gaps] = 0.0
        d = drr / quartile_threshold(drr, kw["qd_window"], kw["alpha"])
        quiet = np.abs(d) <= 1
        codes = codes.copy()
        n_parts = n_parts.copy()
        codes[quiet] = 0
        n_parts[quiet] = 1
    return codes, n_parts, med


@contextlib.contextmanager
def reading(name: str) -> Iterator[None]:
    """Run ``hrv.clean`` with the given reading inside the block."""
    module = sys.modules["hrv.clean"]
    if name == READINGS[0]:
        yield
        return
    module.classify = functools.partial(_gated, classify)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        module.classify = classify  # type: ignore[attr-defined]


def mitdb() -> None:
    """Pooled MIT-BIH figures per group, both readings and NeuroKit2 (iterative=False)."""
    from tests.hrv import test_clean_mitdb as m

    recs = list(m.load_records().values())
    nk = {r.name: m.score_neurokit(r, iterative=False) for r in recs}
    res = {}
    for name in READINGS:
        with reading(name):
            res[name] = {r.name: m.score_hrvpace(r) for r in recs}
    print("| group | reading | found | FP / h | F1 | RMSSD error median / worst | <= NK2 |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("sinus", "sinus, occasional", "sinus, frequent", "af"):
        names = [r.name for r in m.records_of(kind)]
        rows = [(name, [res[name][n] for n in names]) for name in READINGS]
        rows.append(("NeuroKit2 iterative=False", [nk[n] for n in names]))
        for name, scores in rows:
            p = m.pool(scores)
            ok = sum(abs(s.rmssd_error) <= abs(nk[s.record].rmssd_error) for s in scores)
            print(
                f"| {kind} ({len(names)}) | {name} | {p.found} / {p.n_ectopic} "
                f"| {p.fp_per_hour:.2f} | {p.f1:.3f} | {100 * p.median_abs_error:.2f} % / "
                f"{100 * p.worst_abs_error:.1f} % ({p.worst_record}) | {ok} |"
            )


def injected() -> None:
    """F1 and RMSSD errors of the injected-artefact harness, 10 seeds, both readings."""
    from tests.conftest import load_rr_ms, shared_data_dir
    from tests.hrv import test_clean_injected as t

    shared = shared_data_dir()
    rest = load_rr_ms(shared / "hrvpkg_rest_rri_ms.txt", units="ms")
    h0 = load_rr_ms(shared / "rrhealthy_000_rr_ms.txt", units="ms")
    t0 = np.cumsum(h0) / 1000.0
    nsr = load_rr_ms(shared / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)
    tn = np.cumsum(nsr) / 1000.0
    recordings = {
        "rest": rest,
        "rrhealthy_000_h4": h0[(t0 > 3 * 3600) & (t0 <= 4 * 3600)],
        "nsr001_h14": nsr[(tn > 13 * 3600) & (tn <= 14 * 3600)],
    }
    cases: list[tuple[tuple[str, ...], int, str]] = [
        (t.SHAPES, 100, "mixed, 1/100"),
        (t.SHAPES, 40, "mixed, 1/40"),
    ]
    cases += [((s,), 100, s) for s in t.SHAPES]
    print("| recording | shapes | F1 | RMSSD error median / worst (each reading) |")
    print("|---|---|---|---|")
    for rec, raw in recordings.items():
        for shapes, per, label in cases:
            cells = []
            for name in READINGS:
                with reading(name):
                    f1, errors = t.score(raw, shapes, per_beats=per, seeds=10)
                e = np.abs(errors)
                cells.append(
                    (f"{f1:.4f}", f"{100 * statistics.median(e):.2f} / {100 * e.max():.2f} %")
                )
            print(
                f"| {rec} | {label} | {cells[0][0]} -> {cells[1][0]} "
                f"| {cells[0][1]} -> {cells[1][1]} |",
                flush=True,
            )


def real() -> None:
    """Flagged intervals and corrected RMSSD on the shared real recordings, both readings."""
    from tests.conftest import shared_data_dir
    from tests.hrv.test_real_recordings import RECORDINGS, _load

    shared = shared_data_dir()
    print("| recording | beats | flagged (each reading) | RMSSD ms (each reading) |")
    print("|---|---|---|---|")
    for rec in RECORDINGS:
        rr = _load(shared, rec)[0]
        flagged, rmssd = [], []
        for name in READINGS:
            with reading(name):
                out = hrv.clean(rr)
            gaps = np.asarray(out.gaps)
            flagged.append(int(np.sum(np.asarray(out.labels) != BeatLabel.NORMAL)))
            rmssd.append(time_domain(out.rr_ms, gaps=gaps if gaps[1:].any() else None).rmssd_ms)
        print(
            f"| {rec} | {rr.size} | {flagged[0]} -> {flagged[1]} "
            f"| {rmssd[0]:.2f} -> {rmssd[1]:.2f} |"
        )


def main() -> None:
    """Print the tables (MIT-BIH always; the others on request)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--injected", action="store_true")
    parser.add_argument("--real", action="store_true")
    args = parser.parse_args()
    mitdb()
    if args.real:
        print()
        real()
    if args.injected:
        print()
        injected()


if __name__ == "__main__":
    main()
