"""The resonance assessment over many simulated people: how far the chosen rate is from the truth.

Run from the repository root (protocol and results: docs/assessment_flat_amplitude.md)::

    python -m bench.assessment_sweep --seeds 1-12                  # development seeds
    python -m bench.assessment_sweep --seeds 1-12 --baseline REV   # and the rule at git REV
    python -m bench.assessment_sweep --seeds 100-160 --baseline REV --models   # judging run

Each run is the whole assessment as ``hrvpace assess --simulate --speed max --resonance-bpm R
--seed S [--screening]`` runs it (the engine fed the simulated person's beats in-process, no
clock: the tables are the command's), at resonances 4.5-6.5/min in steps of 0.25 (in range) and
4.0, 4.25, 6.75, 7.0 (edges), full and screening protocols. The per-rate tables do not depend
on the choice, so each is measured once and both rules (the working tree's
:func:`breathing.choose_resonance` and, with ``--baseline``, ``breathing/resonance_choice.py``
at a git revision, loaded as a separate module) choose from the same tables. ``--models`` does
the same on the held-out physiology models of ``tests/breathing`` (de Boer, Ursino; their seeds
1-4, as their tests) and the noise-free Ursino tables, and on simulated people who breathe
0.3 s and 0.7 s behind the pacer.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from breathing import (
    AssessmentDone,
    AssessmentProtocol,
    AssessmentResult,
    PacingEngine,
    PacingMode,
    RateResult,
    choose_resonance,
)
from sensors import SimulatedPerson

__all__ = ["IN_RANGE", "OUT_OF_RANGE", "Summary", "assess", "summarise"]

#: The simulated people's resonances inside the protocol's range, and beyond its edges.
IN_RANGE = tuple(4.5 + 0.25 * k for k in range(9))
OUT_OF_RANGE = (4.0, 4.25, 6.75, 7.0)
#: A miss: chosen rate further than this from the truth (breaths/min).
MISS_BPM = 0.25

Chooser = Callable[[Any], AssessmentResult]


def assess(resonance_bpm: float, seed: int, screening: bool, lag_s: float = 0.0) -> RateTable:
    """The per-rate table of one simulated assessment (as ``hrvpace assess --simulate``)."""
    protocol = AssessmentProtocol.screening() if screening else AssessmentProtocol()
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=protocol)
    inhale, *_ = engine.pacer.pattern.fractions()
    person = SimulatedPerson(
        seed=seed,
        resonance_bpm=resonance_bpm,
        breathing=engine.breathing_phase_cycles,
        breathing_lag_s=lag_s,
        inhale_fraction=inhale,
    )
    while True:
        b = person.next_beat()
        for event in engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=b.contact):
            if isinstance(event, AssessmentDone):
                return RateTable(resonance_bpm, seed, screening, lag_s, event.result.rates)


@dataclass(frozen=True)
class RateTable:
    """One assessment's per-rate table and what produced it."""

    true_bpm: float
    seed: int
    screening: bool
    lag_s: float
    rates: tuple[RateResult, ...]


def _assess_star(args: tuple[float, int, bool, float]) -> RateTable:
    return assess(*args)


def load_rule(rev: str) -> Chooser:
    """``choose_resonance`` of ``breathing/resonance_choice.py`` at git revision ``rev``."""
    root = Path(__file__).resolve().parent.parent
    src = subprocess.run(
        ["git", "show", f"{rev}:breathing/resonance_choice.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_resonance_choice.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("baseline_resonance_choice", path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    choose: Callable[[Any], Any] = module.choose_resonance

    def run(rates: Sequence[RateResult]) -> AssessmentResult:
        # the same rows, rebuilt as the baseline module's own RateResult (the fields it knows)
        known = {f.name for f in fields(module.RateResult)}
        rows = [
            module.RateResult(**{f.name: getattr(r, f.name) for f in fields(r) if f.name in known})
            for r in rates
        ]
        out: AssessmentResult = choose(rows)
        return out

    return run


@dataclass(frozen=True)
class Summary:
    """|chosen - true| over a set of runs (breaths/min)."""

    n: int
    n_none: int
    median: float
    p95: float
    max: float
    misses: int  # > MISS_BPM
    over_01: int  # > 0.1

    def __str__(self) -> str:
        return (
            f"n {self.n} (none {self.n_none})  median {self.median:.3f}  p95 {self.p95:.3f}  "
            f"max {self.max:.2f}  >0.25: {self.misses}  >0.1: {self.over_01}"
        )


def summarise(errors: Sequence[float | None]) -> Summary:
    """Summary of found - true errors (``None``: no rate given)."""
    got = np.abs([e for e in errors if e is not None])
    if got.size == 0:
        return Summary(len(errors), len(errors), np.nan, np.nan, np.nan, 0, 0)
    return Summary(
        len(errors),
        sum(e is None for e in errors),
        float(np.median(got)),
        float(np.percentile(got, 95)),
        float(got.max()),
        int((got > MISS_BPM + 1e-9).sum()),
        int((got > 0.1 + 1e-9).sum()),
    )


def _err(choose: Chooser, t: RateTable) -> float | None:
    r = choose(t.rates)
    return None if r.resonance_bpm is None else round(r.resonance_bpm - t.true_bpm, 3)


def _expected_edge_error(true_bpm: float, found: float | None) -> float | None:
    """Found minus the nearest rate the grid can reach (4.25-6.75/min).

    Beyond the range the extrapolation stops half a step out, at 4.25 or 6.75.
    """
    if found is None:
        return None
    return round(found - min(max(true_bpm, 4.25), 6.75), 3)


def _parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def _report(
    label: str,
    tables: list[RateTable],
    rules: dict[str, Chooser],
    *,
    reachable: bool = False,
    show_diff: bool = True,
) -> None:
    print(f"-- {label}")
    found: dict[str, list[float | None]] = {}
    for name, choose in rules.items():
        errs = []
        for t in tables:
            e = _err(choose, t)
            if reachable and e is not None:
                e = _expected_edge_error(t.true_bpm, e + t.true_bpm)
            errs.append(e)
        found[name] = errs
        print(f"   {name:9s} {summarise(errs)}")
    if show_diff and len(rules) == 2:
        a, b = found.values()
        diff = [
            (t, x, y)
            for t, x, y in zip(tables, a, b, strict=True)
            if (x is None) != (y is None) or (x is not None and y is not None and abs(x - y) > 0.01)
        ]
        names = list(rules)
        for t, x, y in diff:
            print(
                f"   differ: true {t.true_bpm:g} seed {t.seed} lag {t.lag_s:g}: "
                f"{names[0]} {x}  {names[1]} {y}"
            )


def _model_tables(protocol: AssessmentProtocol | None) -> dict[str, list[tuple[float, Any]]]:
    from tests.breathing import deboer, ursino

    out: dict[str, list[tuple[float, Any]]] = {}
    for label, mod in (("de Boer", deboer), ("Ursino", ursino)):
        rows = []
        for params in mod.PARAMETER_SETS:
            true = mod.true_resonance_bpm(params)
            for seed in mod.SEEDS:
                rows.append((true, mod.assess(params, seed=seed, protocol=protocol).rates))
        out[label] = rows
    return out


def _models(rules: dict[str, Chooser]) -> None:
    from tests.breathing import ursino

    for plabel, protocol in (("2-min", None), ("1-min", AssessmentProtocol.screening())):
        for mlabel, rows in _model_tables(protocol).items():
            tables = [RateTable(true, 0, protocol is not None, 0.0, rates) for true, rates in rows]
            _report(f"{mlabel}, {plabel} steps, 7-8 people x seeds 1-4", tables, rules)
            for name, choose in rules.items():
                errs = [_err(choose, t) for t in tables]
                given = [abs(e) for e in errs if e is not None]
                print(f"   {name:9s} mean |error| {np.mean(given):.3f}")
    print("-- Ursino noise-free five-rate tables: chosen - true")
    for name, choose in rules.items():
        errs = []
        for params in ursino.PARAMETER_SETS:
            from tests.breathing.test_assessment import row

            rates = np.array(AssessmentProtocol().rates_bpm, dtype=float)
            table = [
                row(float(r), float(ph), 2.0 * float(a))
                for r, (a, ph) in zip(rates, ursino.responses(params, rates), strict=True)
            ]
            res = choose(table).resonance_bpm
            errs.append(None if res is None else res - ursino.true_resonance_bpm(params))
        print(f"   {name:9s} " + " ".join("none" if e is None else f"{e:+.2f}" for e in errs))


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the tables (or read them from ``--cache``), then report each rule's errors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seeds", default="1-12", help="e.g. 1-12 or 100-160")
    ap.add_argument("--baseline", help="git revision whose choice rule to compare with")
    ap.add_argument("--models", action="store_true", help="also de Boer, Ursino and lagging")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quiet", action="store_true", help="do not list the runs that differ")
    args = ap.parse_args(argv)
    seeds = _parse_seeds(args.seeds)
    rules: dict[str, Chooser] = {}
    if args.baseline:
        rules["baseline"] = load_rule(args.baseline)
    rules["candidate"] = choose_resonance
    t0 = time.perf_counter()
    jobs = [
        (r, s, scr, 0.0) for scr in (False, True) for r in (*IN_RANGE, *OUT_OF_RANGE) for s in seeds
    ]
    if args.models:
        jobs += [
            (r, s, scr, lag)
            for scr in (False, True)
            for lag in (0.3, 0.7)
            for r in IN_RANGE
            for s in seeds[:4]
        ]
    with ProcessPoolExecutor(args.workers) as pool:
        tables = list(pool.map(_assess_star, jobs, chunksize=8))
    print(f"{len(tables)} assessments in {time.perf_counter() - t0:.0f} s; seeds {args.seeds}")
    for scr in (False, True):
        proto = "screening" if scr else "full"
        mine = [t for t in tables if t.screening == scr and t.lag_s == 0.0]
        inside = [t for t in mine if t.true_bpm in IN_RANGE]
        beyond = [t for t in mine if t.true_bpm not in IN_RANGE]
        _report(
            f"{proto}, resonance 4.5-6.5 (x{len(seeds)} seeds)",
            inside,
            rules,
            show_diff=not args.quiet,
        )
        _report(
            f"{proto}, resonance 4.0/4.25/6.75/7.0, error vs the nearest reachable rate "
            "(4.25/6.75)",
            beyond,
            rules,
            reachable=True,
            show_diff=not args.quiet,
        )
        for lag in (0.3, 0.7):
            lagged = [t for t in tables if t.screening == scr and t.lag_s == lag]
            if lagged:
                _report(
                    f"{proto}, breathing {lag:g} s behind the pacer",
                    lagged,
                    rules,
                    show_diff=not args.quiet,
                )
    if args.models:
        _models(rules)


if __name__ == "__main__":
    main()
