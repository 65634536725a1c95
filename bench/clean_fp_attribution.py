"""Where ``hrv.clean``'s false positives on MIT-BIH come from: every one attributed to its rule.

Run from the repository root::

    python -m bench.clean_fp_attribution              # attribution tables (~5 s)
    python -m bench.clean_fp_attribution --evaluate   # the candidate below on MIT-BIH (~5 s)
    python -m bench.clean_fp_attribution --injected   # tests/hrv/test_clean_injected.py with it

A false positive is an input interval that ``hrv.clean`` labels (anything but normal) although
both its beats are normal in the cardiologists' labels (``tests.hrv.test_clean_mitdb``). The
default single pass is re-run step by step with the private stages (``hrv._gate.gate``,
``hrv._lipponen_tarvainen.classify`` and ``correct``; ``hrv`` is not changed) to say which rule
labelled each interval:

- ``gate``: the physiological gate (outside 300-2000 ms);
- ``ectopic centre``: the beat the ectopic rule (S11, S12) flags, split into *averaged* (its
  pair was chosen) and *interpolated*;
- ``ectopic partner``: the interval before a centre, labelled with it (averaged in the pair, or
  interpolated because it was further from the median) although the rule did not flag it;
- ``eq3/eq5 (S22)``: long/short by ``S21 > 1 and S22 < -1`` (or the mirror), whatever mRR;
- ``eq4 |mRR| > 3``: long/short by mRR alone (eq3/eq5 did not fire);
- ``... -> missed`` / ``... -> extra``: the long/short beat was then split or merged;
- ``extra partner``: the next interval, merged with an extra beat.

For each false positive it also tells whether the contamination guard (the QD cap of
``hrv._running_stats.QD_CAP``) is needed to flag it: ``cap binds`` when ``hrv.clean`` run with
the cap removed leaves that interval normal. And whether NeuroKit2's ``signal_fixpeaks(method=
"kubios", iterative=False)`` flags the same interval.

``--evaluate`` and ``--injected`` judge one candidate change (``correct_flagged_partners``: the
ectopic correction touches only flagged intervals) by the protocol written, before the judging
run, in docs/mitdb_validation.md: develop on the 100-series records, judge on the 15 sinus
records of the 200-series (lower false positives per hour and a median RMSSD error no higher),
the injected-artefact tests and record 100. Result there: not adopted.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

import hrv._lipponen_tarvainen as lt
import hrv._running_stats as rs
import hrv.clean  # noqa: F401  (sys.modules['hrv.clean'] is patched)
from bench._common import clean_with_correct
from hrv import BeatLabel, clean
from hrv._beat_series import BeatSeries
from hrv._gate import gate
from hrv._running_stats import quartile_threshold

CATEGORIES = (
    "gate",
    "ectopic centre, averaged",
    "ectopic centre, interpolated",
    "ectopic partner, averaged",
    "ectopic partner, interpolated",
    "eq3/eq5 (S22)",
    "eq3/eq5 (S22) -> missed",
    "eq3/eq5 (S22) -> extra",
    "eq4 |mRR| > 3",
    "eq4 |mRR| > 3 -> missed",
    "eq4 |mRR| > 3 -> extra",
    "extra partner",
)


def correct_flagged_partners(
    s: BeatSeries,
    codes: np.ndarray,
    n_parts: np.ndarray,
    med: np.ndarray,
    labels: np.ndarray,
) -> BeatSeries:
    """``correct`` where the ectopic correction never touches an interval no rule flagged.

    The candidate evaluated here (``ALTERNATIVE``): an ectopic centre ``k`` proposes the pair
    ``(k - 1, k)`` only when ``k - 1`` is flagged too, and an unresolved centre is interpolated
    with its partner only when that partner is flagged too. Everything else as ``correct``:
    the centres' proposals are filtered before ``ectopic_pairs``, and an unflagged partner is
    protected by marking it claimed for the ectopic step.
    """
    ectopic = np.flatnonzero(codes == BeatLabel.ECTOPIC)
    lonely = ectopic[(ectopic > 0) & (codes[np.maximum(ectopic - 1, 0)] == 0)]
    saved_pairs = lt.ectopic_pairs

    def pairs(rr: np.ndarray, gaps: np.ndarray, med_: np.ndarray, centres: np.ndarray) -> Any:
        return saved_pairs(rr, gaps, med_, np.setdiff1d(centres, lonely))

    # the partner clause of ``correct`` reads ``abs(rr[k - 1] - med[k]) > abs(rr[k] - med[k])``:
    # a lonely centre's partner is kept out of it by giving the centre a median equal to the
    # partner (the clause then never holds); med is used nowhere else for these indices
    med2 = med.copy()
    med2[lonely] = s.rr[lonely - 1]
    lt.ectopic_pairs = pairs  # type: ignore[assignment]
    try:
        return saved_correct(s, codes, n_parts, med2, labels)
    finally:
        lt.ectopic_pairs = saved_pairs


saved_correct = lt.correct
READINGS = ("hrvpace (partners averaged/interpolated)", "flagged partners only")


def alternative() -> contextlib.AbstractContextManager[None]:
    """Run ``hrv.clean`` with ``correct_flagged_partners`` inside the block."""
    return clean_with_correct(correct_flagged_partners)


@contextlib.contextmanager
def no_cap() -> Iterator[None]:
    """Run ``hrv.clean`` without the contamination guard inside the block."""
    saved = rs.QD_CAP
    rs.QD_CAP = math.inf
    try:
        yield
    finally:
        rs.QD_CAP = saved


def _rules(rr: np.ndarray, gaps: np.ndarray, codes: np.ndarray) -> list[str]:
    """Per working interval, the rule family that flagged it (as in ``classify``)."""
    m = rr.size
    drr = np.empty(m)
    drr[0] = 0.0
    drr[1:] = np.diff(rr)
    drr[gaps] = 0.0
    d = drr / quartile_threshold(drr, 91, 5.2)
    pad = np.concatenate(([0.0], d, [0.0, 0.0]))
    next_d, next2_d = pad[2:-1], pad[3:]
    s22 = np.where(d >= 0, np.minimum(next_d, next2_d), np.maximum(next_d, next2_d))
    eq35 = ((d > 1) & (s22 < -1)) | ((d < -1) & (s22 > 1))
    out = []
    for k in range(m):
        c = codes[k]
        if c == 0:
            out.append("")
            continue
        if c == BeatLabel.ECTOPIC:
            out.append("ectopic centre")
            continue
        base = "eq3/eq5 (S22)" if eq35[k] else "eq4 |mRR| > 3"
        if c == BeatLabel.MISSED:
            base += " -> missed"
        elif c == BeatLabel.EXTRA:
            base += " -> extra"
        out.append(base)
    return out


def attribute(rr_ms: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``hrv.clean(rr_ms)``'s labels and, per input interval, the rule that labelled it."""
    n = rr_ms.size
    labels = np.zeros(n, dtype=np.int8)
    idx = np.arange(n, dtype=np.int64)
    s = BeatSeries(
        rr_ms.astype(np.float64), np.zeros(n, np.bool_), idx, idx + 1, np.zeros(n, np.bool_)
    )
    s = gate(s, labels, min_rr_ms=300.0, max_rr_ms=2000.0, median_window=11, max_parts=4)
    why = ["gate" if labels[i] else "" for i in range(n)]
    codes, n_parts, med = lt.classify(
        s.rr, s.gaps, c1=0.13, c2=0.17, alpha=5.2, qd_window=91, median_window=11, max_parts=4
    )
    rules = _rules(s.rr, s.gaps, codes)
    pairs = set(lt.ectopic_pairs(s.rr, s.gaps, med, np.flatnonzero(codes == 1)).tolist())
    before = labels.copy()
    lt.correct(s, codes, n_parts, med, labels)
    for k in range(s.rr.size):
        lo, hi = int(s.src_start[k]), int(s.src_stop[k])
        new = [i for i in range(lo, hi) if labels[i] and not before[i]]
        if not new:
            continue
        if rules[k] == "ectopic centre":
            tag = "ectopic centre, " + ("averaged" if k - 1 in pairs else "interpolated")
        elif rules[k]:
            tag = rules[k]
        elif labels[new[0]] == BeatLabel.ECTOPIC:
            tag = "ectopic partner, " + ("averaged" if k in pairs else "interpolated")
        elif labels[new[0]] == BeatLabel.EXTRA:
            tag = "extra partner"
        else:
            raise AssertionError(f"unattributed interval {k}: label {labels[new[0]]}")
        for i in new:
            why[i] = tag
    assert np.array_equal(labels, np.asarray(clean(rr_ms).labels)), "replay differs from clean"
    return labels, why


def neurokit_flags(rec: object) -> tuple[np.ndarray, np.ndarray]:
    """NeuroKit2's flagged intervals (as the tests score them) and every interval it changes."""
    from tests.hrv import test_clean_mitdb as m

    assert isinstance(rec, m.Record)
    import warnings

    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, _ = nk.signal_fixpeaks(
            rec.sample - rec.sample[0], sampling_rate=int(m.FS_HZ), iterative=False, method="kubios"
        )
    flagged = np.zeros(rec.rr_ms.size, dtype=np.bool_)
    touched = np.zeros(rec.rr_ms.size, dtype=np.bool_)
    for key in ("ectopic", "missed", "extra", "longshort"):
        i = np.asarray(info[key], dtype=np.int64) - 1
        flagged[i[(i >= 0) & (i < flagged.size)]] = True
        touched[i[(i >= 0) & (i < flagged.size)]] = True
        if key != "missed":  # a moved or removed peak also changes the interval after it
            touched[i[(i + 1 >= 0) & (i + 1 < flagged.size)] + 1] = True
    return flagged, touched


def evaluate() -> None:
    """Both readings on MIT-BIH, by the protocol fixed in advance (module docstring)."""
    from tests.hrv import test_clean_mitdb as m

    recs = m.load_records()
    res: dict[str, dict[str, Any]] = {}
    for name in READINGS:
        ctx = alternative() if name == READINGS[1] else contextlib.nullcontext()
        with ctx:
            res[name] = {nm: m.score_hrvpace(rec) for nm, rec in recs.items()}
    nk = {r.name: m.score_neurokit(r, iterative=False) for r in m.records_of("sinus")}
    sinus = [r.name for r in m.records_of("sinus")]
    occasional = {r.name for r in m.records_of("sinus, occasional")}
    groups = {
        "100-series sinus (develop)": [n for n in sinus if n < "200"],
        "100-series sinus, occasional": [n for n in sinus if n < "200" and n in occasional],
        "200-series sinus (judge)": [n for n in sinus if n >= "200"],
        "200-series sinus, occasional": [n for n in sinus if n >= "200" and n in occasional],
        "200-series sinus, frequent": [n for n in sinus if n >= "200" and n not in occasional],
        "sinus, occasional": sorted(occasional),
        "af": [r.name for r in m.records_of("af")],
    }
    print("| records | reading | found | FP / h | F1 | RMSSD error median / worst | <= NK2 |")
    print("|---|---|---|---|---|---|---|")
    for label, names in groups.items():
        for name in READINGS:
            scores = [res[name][n] for n in names]
            p = m.pool(scores)
            ok = (
                str(sum(abs(s.rmssd_error) <= abs(nk[s.record].rmssd_error) for s in scores))
                if all(n in nk for n in names)
                else "-"
            )
            print(
                f"| {label}, {len(names)} | {name} | {p.found} / {p.n_ectopic} "
                f"| {p.fp_per_hour:.2f} | {p.f1:.3f} | {100 * p.median_abs_error:.2f} % / "
                f"{100 * p.worst_abs_error:.1f} % ({p.worst_record}) | {ok} |"
            )
    print()
    print("| record | found | FP/h | F1 | RMSSD error (each reading) |")
    print("|---|---|---|---|---|")
    for n in [*sinus, "201", "202", "203", "210", "219", "221", "222"]:
        a, b = (res[name][n] for name in READINGS)
        print(
            f"| {n} | {a.found} -> {b.found} | {a.fp_per_hour:.0f} -> {b.fp_per_hour:.0f} "
            f"| {a.f1:.3f} -> {b.f1:.3f} | {100 * a.rmssd_error:+.1f} -> "
            f"{100 * b.rmssd_error:+.1f} % |"
        )


def injected() -> int:
    """The injected-artefact tests (all of them, slow included) run with the alternative."""
    import pytest

    with alternative():
        return int(
            pytest.main(
                [
                    "tests/hrv/test_clean_injected.py",
                    "-m",
                    "slow or not slow",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-rA",
                ]
            )
        )


def main() -> None:
    """Print the per-rule attribution of the false positives, per record and pooled."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", action="store_true", help="both readings on MIT-BIH")
    parser.add_argument("--injected", action="store_true", help="injected tests, alternative")
    args = parser.parse_args()
    if args.evaluate:
        evaluate()
        return
    if args.injected:
        raise SystemExit(injected())
    attribution()


def _cells(c: Counter[str]) -> list[str]:
    """Compact attribution cells: counts (and share of the false positives) per rule family."""
    fp = max(c["FP"], 1)

    def n(*keys: str) -> int:
        return sum(c[k] for k in keys)

    def pct(v: int) -> str:
        return f"{v} ({100 * v / fp:.0f} %)"

    return [
        str(c["gate"]),
        f"{c['ectopic centre, averaged']} / {c['ectopic centre, interpolated']}",
        f"{c['ectopic partner, averaged']} / {c['ectopic partner, interpolated']}",
        pct(n("ectopic centre, averaged", "ectopic centre, interpolated")),
        pct(n("ectopic partner, averaged", "ectopic partner, interpolated")),
        f"{n('eq3/eq5 (S22)')} / {c['eq3/eq5 (S22) -> missed']} / {c['eq3/eq5 (S22) -> extra']}",
        f"{c['eq4 |mRR| > 3']} / {c['eq4 |mRR| > 3 -> missed']} / {c['eq4 |mRR| > 3 -> extra']}",
        str(c["extra partner"]),
        pct(c["cap binds"]),
        pct(c["NK2 flags too"]),
    ]


HEAD = (
    "| {what} | FP / h | FP | gate | ectopic centre avg / interp | ectopic partner avg / interp "
    "| all centres | all partners | eq3/eq5 (S22) long-short / missed / extra "
    "| eq4 alone long-short / missed / extra | extra partner | QD cap binds | NK2 flags too "
    "| NK2 FP / h | NK2 normal intervals changed / h |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def attribution() -> None:
    """Print the per-rule attribution of the false positives, per record and pooled."""
    from tests.hrv import test_clean_mitdb as m

    occasional = [r.name for r in m.records_of("sinus, occasional")]
    frequent = [r.name for r in m.records_of("sinus, frequent")]
    recs = m.load_records()
    per: dict[str, Counter[str]] = {}
    for name in occasional + frequent:
        rec = recs[name]
        labels, why = attribute(rec.rr_ms)
        truth = rec.artefactual
        fp = (labels != 0) & ~truth
        with no_cap():
            fp_nocap = (np.asarray(clean(rec.rr_ms).labels) != 0) & ~truth
        nk, nk_touched = neurokit_flags(rec)
        c: Counter[str] = Counter(why[i] for i in np.flatnonzero(fp))
        c["FP"] = int(fp.sum())
        c["cap binds"] = int(np.sum(fp & ~fp_nocap))
        c["NK2 flags too"] = int(np.sum(fp & nk))
        c["NK2 FP"] = int(np.sum(nk & ~truth))
        c["NK2 changed normal"] = int(np.sum(nk_touched & ~truth))
        per[name] = c

    def row(label: str, names: list[str]) -> str:
        tot: Counter[str] = Counter()
        for nm in names:
            tot.update(per[nm])
        hours = sum(recs[nm].hours for nm in names)
        cells = [label, f"{tot['FP'] / hours:.1f}", str(tot["FP"]), *_cells(tot)]
        cells += [f"{tot['NK2 FP'] / hours:.1f}", f"{tot['NK2 changed normal'] / hours:.1f}"]
        return "| " + " | ".join(cells) + " |"

    ranked = sorted(occasional + frequent, key=lambda nm: -per[nm]["FP"] / recs[nm].hours)
    print(HEAD.format(what="records"))
    for label, names in (
        ("sinus, occasional (25)", occasional),
        (f"the 10 with most FP/h ({', '.join(ranked[:10])})", ranked[:10]),
        ("sinus, frequent (10)", frequent),
    ):
        print(row(label, names))
    print()
    print(HEAD.format(what="record"))
    for name in ranked:
        print(row(name, [name]))


if __name__ == "__main__":
    main()
