"""How the sampling grid of the beat times changes ``hrv.clean``'s false positives.

Run from the repository root (protocol and results: docs/sampling_grid_study.md)::

    python -m bench.sampling_grid            # experiments A and B, 10 phases (~70 s)
    python -m bench.sampling_grid --runs 3   # fewer phases, for a quick look
    python -m bench.sampling_grid --develop  # the candidate on the development data (~40 s)
    python -m bench.sampling_grid --judge    # its judging run, criteria J1-J6 (~70 s + tests)

Needs the shipped ``tests/data/mitdb_beats.csv.gz`` and the locally built
``tests/data/svdb_beats.csv.gz`` (``python scripts/make_svdb_beats.py DIR``, tests/data/README.md);
``tests/data/edb_beats.csv.gz`` (``--db edb``) is used when it is there.

Experiment A: the 48 MIT-BIH Arrhythmia records (360 Hz) with every beat time re-quantised to
another grid, ``sample' = floor(sample / 360 * f + u)`` with a phase ``u`` uniform on [0, 1) per
record and run (seeds 0..runs-1), f = 1024, 250, 128, 64 Hz; and a control with the error
variance of the 128-Hz grid but continuous values (``t + e``, ``e`` uniform on +-1/256 s). The
truth labels stay those of the beats. Scored as ``tests.hrv.test_clean_mitdb.score_hrvpace``
scores ``hrv.clean``; the corrected RMSSD also against the native NN RMSSD (T360), and every
false positive attributed to its rule by ``bench.clean_fp_attribution.attribute``.

Experiment B: svdb (native 128 Hz) beside mitdb at 360 and 128 Hz: the split of svdb's excess
of false positives per hour into grid and records, per bin of NN RMSSD, the rule mix, svdb
re-quantised to 64 Hz, and edb (250 Hz) for context. ``hrv`` is not changed.

Stage 2 (``--develop``, ``--judge``): one candidate against the collapsed quartiles found in
stage 1, grouped-data quartiles on a detected grid (:func:`grouped_quartile_threshold`, patched
in for the run); judged by criteria written before the run. Result: not proposed (J3, J4, J6
fail).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from bench.clean_fp_attribution import attribute
from hrv import BeatLabel, clean
from hrv._running_stats import quartile_threshold
from tests.hrv import test_clean_mitdb as m

#: Rates of experiment A's re-quantised grids (Hz).
RATES = (1024.0, 250.0, 128.0, 64.0)
#: The continuous-jitter control: error uniform on +-JITTER_HALF_S, the 128-Hz grid's variance.
JITTER_HALF_S = 0.5 / 128.0
#: Time base of the jittered beat times (samples per second): continuous for the purpose.
JITTER_FS = 360.0 * 1024.0
GROUPS = ("sinus, occasional", "sinus, frequent", "af")
#: Bins of NN RMSSD (ms) for experiment B, fixed in the protocol.
RMSSD_BINS = ((0.0, 20.0), (20.0, 40.0), (40.0, math.inf))
#: Rule families of the attribution, merged for the tables.
RULE_FAMILIES = {
    "ectopic centre": ("ectopic centre, averaged", "ectopic centre, interpolated"),
    "ectopic partner": ("ectopic partner, averaged", "ectopic partner, interpolated"),
    "eq3/eq5 (S22)": ("eq3/eq5 (S22)", "eq3/eq5 (S22) -> missed", "eq3/eq5 (S22) -> extra"),
    "eq4 |mRR| > 3": ("eq4 |mRR| > 3", "eq4 |mRR| > 3 -> missed", "eq4 |mRR| > 3 -> extra"),
    "gate / extra partner": ("gate", "extra partner"),
}


def requantise(rec: m.Record, fs_hz: float, phase: float) -> m.Record:
    """``rec`` with every beat time rounded down onto a grid of ``fs_hz`` shifted by ``phase``."""
    sample = np.floor(rec.sample / rec.fs_hz * fs_hz + phase).astype(np.int64)
    return m.Record(rec.name, sample, rec.symbol, fs_hz)


def jitter(rec: m.Record, rng: np.random.Generator) -> m.Record:
    """``rec`` with an independent uniform error of +-``JITTER_HALF_S`` on every beat time."""
    t = rec.sample / rec.fs_hz + rng.uniform(-JITTER_HALF_S, JITTER_HALF_S, rec.sample.size)
    return m.Record(rec.name, np.rint(t * JITTER_FS).astype(np.int64), rec.symbol, JITTER_FS)


@dataclass(frozen=True)
class Row:
    """One record under one condition and run."""

    record: str
    fp: int
    tp: int
    fn: int
    found: int
    n_ectopic: int
    hours: float
    normal_intervals: int
    rmssd_ms: float
    t_native_ms: float  # NN RMSSD of the reference times (360 Hz for mitdb, svdb's own)
    t_q_ms: float  # NN RMSSD of the times this run saw
    rules: Counter[str]

    @property
    def err_native(self) -> float:
        """Relative error of the corrected RMSSD against the reference NN RMSSD."""
        return self.rmssd_ms / self.t_native_ms - 1

    @property
    def err_q(self) -> float:
        """Relative error of the corrected RMSSD against the NN RMSSD of the times seen."""
        return self.rmssd_ms / self.t_q_ms - 1


def run(rec: m.Record, native: m.Record) -> Row:
    """``hrv.clean`` on ``rec`` scored as the MIT-BIH tests score it, FPs attributed."""
    s = m.score_hrvpace(rec)
    labels, why = attribute(rec.rr_ms)
    fp_mask = (labels != 0) & ~rec.artefactual
    assert s.fp == int(fp_mask.sum())
    assert s.tp is not None and s.fn is not None and s.found is not None
    return Row(
        rec.name,
        s.fp,
        s.tp,
        s.fn,
        s.found,
        s.n_ectopic,
        rec.hours,
        int(np.sum(~rec.artefactual)),
        s.rmssd_ms,
        native.nn_rmssd_ms,
        rec.nn_rmssd_ms,
        Counter(why[i] for i in np.flatnonzero(fp_mask)),
    )


@dataclass(frozen=True)
class Summary:
    """Figures pooled over records (and runs): counts summed, RMSSD errors as medians."""

    fp_h: float
    fp_per_1000: float
    found: int
    n_ectopic: int
    f1: float
    med_abs_err_native: float
    med_err_native: float
    med_abs_err_q: float
    rules: Counter[str]
    fp: int
    hours: float


def summarise(rows: list[Row]) -> Summary:
    """Pool ``rows``."""
    fp, tp, fn = (sum(getattr(r, k) for r in rows) for k in ("fp", "tp", "fn"))
    rules: Counter[str] = Counter()
    for r in rows:
        rules.update(r.rules)
    return Summary(
        fp / sum(r.hours for r in rows),
        1000 * fp / sum(r.normal_intervals for r in rows),
        sum(r.found for r in rows),
        sum(r.n_ectopic for r in rows),
        2 * tp / (2 * tp + fp + fn),
        statistics.median(abs(r.err_native) for r in rows),
        statistics.median(r.err_native for r in rows),
        statistics.median(abs(r.err_q) for r in rows),
        rules,
        fp,
        sum(r.hours for r in rows),
    )


#: condition -> run -> record -> Row
Results = dict[str, list[dict[str, Row]]]


def experiment(
    records: dict[str, m.Record],
    conditions: dict[str, Callable[[m.Record, np.random.Generator], m.Record] | None],
    runs: int,
) -> Results:
    """Every record under every condition; ``None`` = the native times (one run)."""
    out: Results = {}
    for name, make in conditions.items():
        out[name] = []
        for seed in range(1 if make is None else runs):
            rng = np.random.default_rng(seed)
            per: dict[str, Row] = {}
            for rname, rec in records.items():
                per[rname] = run(rec if make is None else make(rec, rng), rec)
            out[name].append(per)
    return out


def grid(fs_hz: float) -> Callable[[m.Record, np.random.Generator], m.Record]:
    """A condition: re-quantise to ``fs_hz`` with a phase drawn from the run's generator."""
    return lambda rec, rng: requantise(rec, fs_hz, float(rng.random()))


def per_run(res: list[dict[str, Row]], names: Iterable[str]) -> list[Summary]:
    """One summary of records ``names`` per run."""
    names = list(names)
    return [summarise([r[n] for n in names]) for r in res]


def pooled(res: list[dict[str, Row]], names: Iterable[str]) -> Summary:
    """All runs pooled (FP and hours summed over runs; medians over record-runs)."""
    names = list(names)
    return summarise([r[n] for r in res for n in names])


def _range(values: list[float], spec: str) -> str:
    if len(values) == 1:
        return format(values[0], spec)
    mean = statistics.fmean(values)
    return f"{mean:{spec}} ({min(values):{spec}}-{max(values):{spec}})"


def table_a(res: Results, groups: dict[str, list[str]]) -> None:
    """Print the scores per group and condition (mean and range over the runs)."""
    print(
        "| group | condition | FP / h, mean (range over runs) | FP / 1000 NN | found | F1 "
        "| median abs RMSSD error vs T360 | median signed vs T360 | median abs vs Tq |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for gname, names in groups.items():
        for cond, runs_ in res.items():
            s = per_run(runs_, names)
            print(
                f"| {gname} ({len(names)}) | {cond} "
                f"| {_range([x.fp_h for x in s], '.1f')} "
                f"| {_range([x.fp_per_1000 for x in s], '.2f')} "
                f"| {statistics.fmean(x.found for x in s):.0f} / {s[0].n_ectopic} "
                f"| {_range([x.f1 for x in s], '.3f')} "
                f"| {_range([100 * x.med_abs_err_native for x in s], '.2f')} % "
                f"| {_range([100 * x.med_err_native for x in s], '+.2f')} % "
                f"| {_range([100 * x.med_abs_err_q for x in s], '.2f')} % |"
            )


def families(c: Counter[str]) -> dict[str, float]:
    """False positives per rule family (:data:`RULE_FAMILIES`)."""
    return {fam: float(sum(c[k] for k in keys)) for fam, keys in RULE_FAMILIES.items()}


def rule_table(rows: dict[str, Summary], base: str | None = None) -> None:
    """False positives per hour by rule family; with ``base``, also the difference to it."""
    fams = list(RULE_FAMILIES)
    print("| condition | FP / h | " + " | ".join(f"{f} / h" for f in fams) + " |")
    print("|---|---:|" + "---:|" * len(fams))
    for label, s in rows.items():
        f = families(s.rules)
        cells = [f"{f[k] / s.hours:.1f}" for k in fams]
        print(f"| {label} | {s.fp_h:.1f} | " + " | ".join(cells) + " |")
    if base is not None:
        b = rows[base]
        fb = families(b.rules)
        for label, s in rows.items():
            if label == base:
                continue
            f = families(s.rules)
            cells = [f"{f[k] / s.hours - fb[k] / b.hours:+.1f}" for k in fams]
            print(f"| {label} minus {base} | {s.fp_h - b.fp_h:+.1f} | " + " | ".join(cells) + " |")


def by_rmssd(label: str, res: list[dict[str, Row]], names: list[str]) -> None:
    """Print pooled false positives per bin of the reference NN RMSSD."""
    for lo, hi in RMSSD_BINS:
        inside = [n for n in names if lo <= res[0][n].t_native_ms < hi]
        if not inside:
            print(f"| {label} | {lo:.0f}-{hi:.0f} ms | 0 | - | - | - |")
            continue
        s = pooled(res, inside)
        rate = statistics.median(
            sum(r[n].normal_intervals for r in res) / sum(r[n].hours for r in res) for n in inside
        )
        print(
            f"| {label} | {lo:.0f}-{hi:.0f} ms | {len(inside)} | {s.fp_h:.1f} "
            f"| {s.fp_per_1000:.2f} | {rate:.0f} |"
        )


def th1_ms(rr_ms: np.ndarray) -> np.ndarray:
    """Th1 of ``hrv.clean``'s classification (5.2 x QD of |dRR| over 91 beats), no gate."""
    drr = np.concatenate(([0.0], np.diff(rr_ms)))
    return quartile_threshold(drr, 91, 5.2)


def mechanism(label: str, pairs: list[tuple[m.Record, m.Record]], q_ms: float) -> None:
    """Print where Th1 sits on the grid of step ``q_ms``, and the false positives there.

    ``pairs``: (record as scored, reference record). A quartile deviation of at most ``q / 2``
    (Th1 <= 5.2 q / 2) is the collapsed case: the central half of the window's |dRR| in one or
    two grid values.
    """
    low = fp_low = fp_all = 0
    n = 0
    ratios = []
    for rec, ref in pairs:
        th = th1_ms(rec.rr_ms)
        ratios.append(float(np.median(th / th1_ms(ref.rr_ms))))
        fp = (np.asarray(clean(rec.rr_ms).labels) != BeatLabel.NORMAL) & ~rec.artefactual
        collapsed = th <= 5.2 * q_ms / 2 * (1 + 1e-9)
        low += int(collapsed.sum())
        n += th.size
        fp_low += int(np.sum(fp & collapsed))
        fp_all += int(fp.sum())
    print(
        f"| {label} | {100 * low / n:.1f} % | {fp_low} / {fp_all} ({100 * fp_low / fp_all:.0f} %) "
        f"| {statistics.median(ratios):.3f} |"
    )


# ---------------------------------------------------------------------------------------------
# Candidate (stage 2 of docs/sampling_grid_study.md): grouped-data quartiles on a grid
# ---------------------------------------------------------------------------------------------


def detect_grid(a: np.ndarray, min_share: float = 0.9, min_step_ms: float = 0.1) -> float:
    """The step ``q`` (ms) of the grid the values of ``|a|`` lie on, or 0.0 for none.

    A first step is the commonest positive difference between successive distinct values (to
    1e-6 ms; the smallest of equally common ones), divided by k = 1, 2, 3, 4 in turn; ``q`` is
    then fitted to the values (sum of the values over the sum of their multiples) and accepted
    when at least ``min_share`` of the values are whole multiples of it to 1e-6 ms. Steps under
    ``min_step_ms`` count as no grid (continuous values). RR rounded to whole ms from a coarser
    grid (e.g. 1/128 s written as 789, 797, 805 ms) are found on the 1-ms grid only.
    """
    v = np.abs(a[np.isfinite(a)])
    u = np.unique(np.round(v, 6))
    du = np.round(np.diff(u), 6)
    du = du[du > 0]
    if du.size == 0:
        return 0.0
    steps, counts = np.unique(du, return_counts=True)
    base = float(steps[np.argmax(counts)])
    for k in (1, 2, 3, 4):
        if base / k < min_step_ms:
            break
        mult = np.rint(v * k / base)
        q = float(v.sum() / mult.sum()) if mult.sum() > 0 else 0.0  # the step, unrounded
        if q > 0 and np.mean(np.abs(v - q * np.rint(v / q)) < 1e-6) >= min_share:
            return q
    return 0.0


def grouped_quantiles(
    a: np.ndarray, window: int, qs: tuple[float, ...], q: float
) -> list[np.ndarray]:
    """``running_quantiles`` of ``a`` (>= 0) with tied values spread evenly over their grid cell.

    The grouped-data (class-interval) quantile: ``c`` equal values ``v`` of a window stand for
    ``c`` values of a continuous quantity rounded to ``v``, spread evenly over the cell
    ``[max(0, v - q/2), v + q/2]`` (the ``j``-th at the ``(j + 1/2) / c`` point), then the
    quantiles interpolate between order statistics as numpy does. Values not tied are kept, so
    without ties (or with ``q = 0``) this is ``running_quantiles``.
    """
    n = a.size
    half = window // 2
    pad = np.concatenate((np.full(half, np.nan), a, np.full(half, np.nan)))
    rows = np.lib.stride_tricks.sliding_window_view(pad, window)[:n]
    s = np.sort(rows, axis=1)  # NaN (outside the series) last
    valid = np.sum(np.isfinite(s), axis=1)
    if q > 0:
        idx = np.broadcast_to(np.arange(window), s.shape)
        new = np.ones(s.shape, dtype=np.bool_)
        new[:, 1:] = s[:, 1:] != s[:, :-1]
        start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
        last = np.ones(s.shape, dtype=np.bool_)
        last[:, :-1] = s[:, :-1] != s[:, 1:]
        end = np.flip(
            np.minimum.accumulate(np.flip(np.where(last, idx, window - 1), axis=1), axis=1), axis=1
        )
        c = end - start + 1
        j = idx - start
        lo = np.maximum(0.0, s - q / 2)
        hi = s + q / 2
        spread = lo + (hi - lo) * (j + 0.5) / c
        s = np.sort(np.where((c >= 2) & np.isfinite(s), spread, s), axis=1)
    outs = []
    rows_i = np.arange(n)
    for p in qs:
        pos = p * (valid - 1)
        k = np.floor(pos).astype(np.int64)
        k1 = np.minimum(k + 1, valid - 1)
        frac = pos - k
        outs.append(s[rows_i, k] + frac * (s[rows_i, k1] - s[rows_i, k]))
    return outs


def grouped_quartile_threshold(a: np.ndarray, window: int, alpha: float) -> np.ndarray:
    """``hrv._running_stats.quartile_threshold`` with :func:`grouped_quantiles` on a grid."""
    from hrv import _running_stats as rs

    x = np.abs(a)
    q = detect_grid(x)
    q1, q3, q2 = grouped_quantiles(x, window, (0.25, 0.75, 0.5), q)
    qd = np.where(q2 > 0, np.minimum((q3 - q1) / 2.0, rs.QD_CAP * q2), (q3 - q1) / 2.0)
    th = np.maximum(alpha * qd, rs.THRESHOLD_FLOOR_MS)
    return np.asarray(th, dtype=np.float64)


@contextlib.contextmanager
def candidate() -> Iterator[None]:
    """Run ``hrv.clean`` (and the attribution replay) with grouped-data quartiles inside."""
    import hrv._lipponen_tarvainen as lt

    saved = getattr(lt, "quartile_threshold")  # noqa: B009 (not exported: mypy)
    setattr(lt, "quartile_threshold", grouped_quartile_threshold)  # noqa: B010
    try:
        yield
    finally:
        setattr(lt, "quartile_threshold", saved)  # noqa: B010


def compare(
    records: dict[str, m.Record],
    conditions: dict[str, Callable[[m.Record, np.random.Generator], m.Record] | None],
    groups: dict[str, list[str]],
    runs: int,
) -> dict[tuple[str, str, str], list[Summary]]:
    """Baseline and candidate on the same records and runs; print one row per group and reading.

    Returns the summaries of every run by (group, condition, reading).
    """
    out: dict[tuple[str, str, str], list[Summary]] = {}
    base = experiment(records, conditions, runs)
    with candidate():
        cand = experiment(records, conditions, runs)
    print(
        "| group | condition | reading | FP / h, mean (range) | found | F1 "
        "| median abs RMSSD error vs reference | median signed |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for gname, names in groups.items():
        for cond in conditions:
            for reading, res in (("hrv.clean", base), ("grouped quartiles", cand)):
                s = per_run(res[cond], names)
                print(
                    f"| {gname} ({len(names)}) | {cond} | {reading} "
                    f"| {_range([x.fp_h for x in s], '.1f')} "
                    f"| {statistics.fmean(x.found for x in s):.0f} / {s[0].n_ectopic} "
                    f"| {_range([x.f1 for x in s], '.3f')} "
                    f"| {_range([100 * x.med_abs_err_native for x in s], '.2f')} % "
                    f"| {_range([100 * x.med_err_native for x in s], '+.2f')} % |"
                )
                out[gname, cond, reading] = s
    return out


def develop(runs: int) -> None:
    """The candidate on the development data: mitdb's 100-series sinus records."""
    mit = m.load_records()
    groups = {
        g + ", 100-series": [r.name for r in m.records_of(g) if r.name < "200"]
        for g in ("sinus, occasional", "sinus, frequent")
    }
    recs = {n: mit[n] for names in groups.values() for n in names}
    conditions: dict[str, Callable[[m.Record, np.random.Generator], m.Record] | None] = {
        "native 360 Hz": None,
        "128 Hz": grid(128.0),
        "64 Hz": grid(64.0),
    }
    compare(recs, conditions, groups, runs)


def judge(runs: int) -> None:
    """The judging run of the candidate: criteria J1-J6 of docs/sampling_grid_study.md."""
    import pytest

    mit = m.load_records()
    g200 = {
        g + ", 200-series": [r.name for r in m.records_of(g) if r.name >= "200"]
        for g in ("sinus, occasional", "sinus, frequent")
    }
    conditions: dict[str, Callable[[m.Record, np.random.Generator], m.Record] | None] = {
        "native 360 Hz": None,
        "128 Hz": grid(128.0),
    }
    print("### mitdb 200-series\n")
    a = compare({n: mit[n] for v in g200.values() for n in v}, conditions, g200, runs)
    sv = m.load_records(m.require_fixture("svdb"), m.SVDB_FS_HZ)
    gsv = {"svdb " + g: [r.name for r in m.records_of(g, "svdb")] for g in GROUPS[:2]}
    print("\n### svdb\n")
    b = compare(sv, {"native 128 Hz": None}, gsv, runs)
    res = {**a, **b}
    old, new = "hrv.clean", "grouped quartiles"

    def mean(key: tuple[str, str], what: Callable[[Summary], float]) -> tuple[float, float]:
        return (
            statistics.fmean(what(x) for x in res[(*key, old)]),
            statistics.fmean(what(x) for x in res[(*key, new)]),
        )

    occ, freq = g200
    verdicts: list[tuple[str, bool, str]] = []
    f0, f1 = mean((occ, "128 Hz"), lambda x: x.fp_h)
    verdicts.append(
        ("J1", f1 <= 0.9 * f0, f"{f0:.1f} -> {f1:.1f} FP/h ({100 * (f1 / f0 - 1):+.1f} %)")
    )
    f0, f1 = mean((occ, "native 360 Hz"), lambda x: x.fp_h)
    verdicts.append(
        ("J2", f1 <= 1.02 * f0, f"{f0:.1f} -> {f1:.1f} FP/h ({100 * (f1 / f0 - 1):+.1f} %)")
    )
    found = []
    for keys in (
        [(occ, "native 360 Hz"), (freq, "native 360 Hz")],
        [(occ, "128 Hz"), (freq, "128 Hz")],
        [(f"svdb {g}", "native 128 Hz") for g in GROUPS[:2]],
    ):
        pairs = [mean(k, lambda x: float(x.found)) for k in keys]
        found.append((sum(p[0] for p in pairs), sum(p[1] for p in pairs)))
    verdicts.append(
        (
            "J3",
            all(n >= 0.99 * o for o, n in found),
            "found "
            + ", ".join(f"{o:.0f} -> {n:.0f}" for o, n in found)
            + " (200-series native, 128 Hz; svdb)",
        )
    )
    errs = []
    for key in [(g, c) for g in g200 for c in conditions] + [(g, "native 128 Hz") for g in gsv]:
        e0, e1 = mean(key, lambda x: 100 * x.med_abs_err_native)
        errs.append((key, e0, e1))
    verdicts.append(
        (
            "J4",
            all(e1 <= e0 for _, e0, e1 in errs),
            "; ".join(f"{k[0]} {k[1]}: {e0:.2f} -> {e1:.2f} %" for k, e0, e1 in errs),
        )
    )
    o0, o1 = mean(("svdb sinus, occasional", "native 128 Hz"), lambda x: x.fp_h)
    q0, q1 = mean(("svdb sinus, frequent", "native 128 Hz"), lambda x: x.fp_h)
    verdicts.append(
        (
            "J5",
            o1 < o0 and q1 <= 1.02 * q0,
            f"occasional {o0:.1f} -> {o1:.1f}, frequent {q0:.1f} -> {q1:.1f} FP/h",
        )
    )
    print("\n### Tests with the candidate patched in\n", flush=True)
    with candidate():
        code = pytest.main(
            [
                "tests/hrv/test_clean.py",
                "tests/hrv/test_clean_mitdb.py",
                "tests/hrv/test_clean_injected.py",
                "-m",
                "slow or not slow",
                "-q",
                "-p",
                "no:cacheprovider",
                "-rf",
            ]
        )
    verdicts.append(("J6", code == 0, f"pytest exit code {int(code)}"))
    print("\n### Verdicts\n")
    for name, ok, text in verdicts:
        print(f"- {name}: {'holds' if ok else 'FAILS'}: {text}")
    adopted = all(ok for _, ok, _ in verdicts)
    print(f"\nCandidate {'meets every criterion: proposed' if adopted else 'not proposed'}.")


def main() -> None:
    """Run experiments A and B and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="phases (seeds) per condition")
    parser.add_argument("--develop", action="store_true", help="candidate, development data")
    parser.add_argument("--judge", action="store_true", help="candidate, judging run (J1-J6)")
    args = parser.parse_args()
    if args.develop:
        develop(args.runs)
        return
    if args.judge:
        judge(args.runs)
        return

    mit = m.load_records()
    conditions: dict[str, Callable[[m.Record, np.random.Generator], m.Record] | None] = {
        "native 360 Hz": None
    }
    for f in RATES:
        conditions[f"{f:.0f} Hz"] = grid(f)
    conditions["jitter 128 (continuous)"] = jitter
    res = experiment(mit, conditions, args.runs)
    groups = {g: [r.name for r in m.records_of(g)] for g in GROUPS}
    occ = groups["sinus, occasional"]

    print("## Experiment A: mitdb, the same beats on other grids\n")
    table_a(res, groups)

    base = res["native 360 Hz"][0]
    print("\n### Criteria 1, 2, 4 (sinus, occasional)\n")
    native_fp = summarise([base[n] for n in occ]).fp_h
    for cond in res:
        s = per_run(res[cond], occ)
        above = sum(x.fp_h > native_fp for x in s)
        mean = statistics.fmean(x.fp_h for x in s)
        print(
            f"- {cond}: FP/h {mean:.2f} against native {native_fp:.2f} "
            f"({100 * (mean / native_fp - 1):+.1f} %), above native in {above} of {len(s)} runs"
        )
    add_grid = statistics.fmean(x.fp_h for x in per_run(res["128 Hz"], occ)) - native_fp
    add_jit = (
        statistics.fmean(x.fp_h for x in per_run(res["jitter 128 (continuous)"], occ)) - native_fp
    )
    print(
        f"- added FP/h: 128-Hz grid {add_grid:+.2f}, continuous jitter {add_jit:+.2f}, "
        f"ratio {add_jit / add_grid if add_grid else math.nan:.2f}"
    )

    print("\n### False positives per hour by rule (sinus, occasional; runs pooled)\n")
    rule_table(
        {c: pooled(res[c], occ) for c in ("native 360 Hz", "128 Hz", "jitter 128 (continuous)")},
        base="native 360 Hz",
    )

    print("\n### Per record (sinus, occasional): FP/h native -> 128 Hz (mean of runs)\n")
    print("| record | NN RMSSD T360 (ms) | Tq at 128 Hz | FP/h native | FP/h 128 Hz | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in sorted(occ, key=lambda n: base[n].t_native_ms):
        q = res["128 Hz"]
        fq = statistics.fmean(r[n].fp / r[n].hours for r in q)
        f0 = base[n].fp / base[n].hours
        tq = statistics.fmean(r[n].t_q_ms for r in q)
        ratio = f"{fq / f0:.2f}" if f0 else "-"
        print(f"| {n} | {base[n].t_native_ms:.1f} | {tq:.1f} | {f0:.1f} | {fq:.1f} | {ratio} |")

    print("\n## Experiment B: svdb (native 128 Hz)\n")
    sv = m.load_records(m.require_fixture("svdb"), m.SVDB_FS_HZ)
    sv_res = experiment(sv, {"native 128 Hz": None, "64 Hz": grid(64.0)}, args.runs)
    sv_groups = {g: [r.name for r in m.records_of(g, "svdb")] for g in GROUPS[:2]}
    table_a(sv_res, sv_groups)
    sv_occ = sv_groups["sinus, occasional"]
    s_fp = summarise([sv_res["native 128 Hz"][0][n] for n in sv_occ]).fp_h
    m128 = statistics.fmean(x.fp_h for x in per_run(res["128 Hz"], occ))
    share = math.log(m128 / native_fp) / math.log(s_fp / native_fp)
    print(
        f"\n- criterion 3: mitdb@360 {native_fp:.1f}, mitdb@128 {m128:.1f}, svdb {s_fp:.1f} FP/h: "
        f"grid ratio {m128 / native_fp:.2f}, records ratio {s_fp / m128:.2f}, "
        f"grid share {share:.2f}"
    )
    sv_rows = sv_res["native 128 Hz"][0]
    top = sorted(sv_occ, key=lambda n: -sv_rows[n].fp / sv_rows[n].hours)
    rest = summarise([sv_rows[n] for n in top[1:]]).fp_h
    print(
        f"- without svdb's record of most FP/h ({top[0]}: "
        f"{sv_rows[top[0]].fp / sv_rows[top[0]].hours:.0f} FP/h, "
        f"{100 * sv_rows[top[0]].fp / sum(sv_rows[n].fp for n in sv_occ):.0f} % of svdb's): "
        f"svdb {rest:.1f} FP/h, grid share "
        f"{math.log(m128 / native_fp) / math.log(rest / native_fp):.2f}"
    )
    per_rec = {
        "mitdb@360": [base[n].fp / base[n].hours for n in occ],
        "mitdb@128": [statistics.fmean(r[n].fp / r[n].hours for r in res["128 Hz"]) for n in occ],
        "svdb": [sv_rows[n].fp / sv_rows[n].hours for n in sv_occ],
    }
    print(
        "- median FP/h of a record: "
        + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in per_rec.items())
    )
    m64 = statistics.fmean(x.fp_h for x in per_run(res["64 Hz"], occ))
    s64 = statistics.fmean(x.fp_h for x in per_run(sv_res["64 Hz"], sv_occ))
    print(
        f"- 128 -> 64 Hz: mitdb {m128:.1f} -> {m64:.1f} (x{m64 / m128:.2f}), "
        f"svdb {s_fp:.1f} -> {s64:.1f} (x{s64 / s_fp:.2f})"
    )

    print("\n### By NN RMSSD (sinus, occasional; T360 for mitdb, svdb's own)\n")
    print("| data | NN RMSSD | records | FP / h | FP / 1000 NN | median NN intervals / h |")
    print("|---|---|---:|---:|---:|---:|")
    by_rmssd("mitdb native 360 Hz", res["native 360 Hz"], occ)
    by_rmssd("mitdb at 128 Hz (runs pooled)", res["128 Hz"], occ)
    by_rmssd("svdb native 128 Hz", sv_res["native 128 Hz"], sv_occ)

    print("\n### Rule mix (sinus, occasional)\n")
    rule_table(
        {
            "mitdb native 360 Hz": pooled(res["native 360 Hz"], occ),
            "mitdb at 128 Hz": pooled(res["128 Hz"], occ),
            "svdb native 128 Hz": pooled(sv_res["native 128 Hz"], sv_occ),
            "svdb at 64 Hz": pooled(sv_res["64 Hz"], sv_occ),
        }
    )

    print("\n### Mechanism: collapsed quartiles (sinus, occasional; run with seed 0 phases)\n")
    print(
        "| data | intervals with QD <= q/2 of 1/128 s (Th1 <= 20.3 ms) | false positives there "
        "| median Th1 / Th1 of the reference (median over records) |"
    )
    print("|---|---:|---:|---:|")
    q128 = 1000.0 / 128.0
    rng = np.random.default_rng(0)
    mech = {n: requantise(mit[n], 128.0, float(rng.random())) for n in occ}
    for n in occ:  # the identity check of the machinery: 360 Hz at phase 0.5 is the file
        assert np.array_equal(requantise(mit[n], 360.0, 0.5).sample, mit[n].sample)
    mechanism("mitdb native 360 Hz", [(mit[n], mit[n]) for n in occ], q128)
    mechanism("mitdb at 128 Hz", [(mech[n], mit[n]) for n in occ], q128)
    mechanism("svdb native 128 Hz", [(sv[n], sv[n]) for n in sv_occ], q128)

    if m.EDB_FIXTURE.is_file():
        print("\n### edb (native 250 Hz), context\n")
        ed = m.load_records(m.EDB_FIXTURE, m.EDB_FS_HZ)
        ed_res = experiment(ed, {"native 250 Hz": None}, 1)
        table_a(
            ed_res,
            {"sinus, occasional": [r.name for r in m.records_of("sinus, occasional", "edb")]},
        )
    else:
        print("\n(edb not built: `python scripts/make_svdb_beats.py --db edb DIR`)")


if __name__ == "__main__":
    main()
