"""The frequent-ectopy warning (hrv.ectopy_check) against the MIT-BIH cardiologists' labels.

Rule, truth and acceptance criteria were fixed before the judging run in
docs/ectopy_warning_protocol.md: constants chosen on the 100-series sinus records (100-124) and
the healthy recordings of ../shared/data; judged on the 15 sinus records of the 200-series,
whole (30 min) and in 5-min segments.

Truth per record or segment, from the labels as ``tests/hrv/test_clean_mitdb.py`` computes it:

- T1 (primary): the RMSSD of ``hrv.clean``'s corrected series is more than 20 % *above* the
  RMSSD of the true NN intervals (ectopy left in the series inflates RMSSD);
- T2: |error| > 20 % (also counts the pauses split as missed beats, which lower RMSSD and are
  not what the warning is about);
- T3 (records only): the docs' frequent-ectopy category (>= 10 % of beats not normal).

``python -m tests.hrv.test_ectopy_mitdb`` prints every figure of docs/mitdb_validation.md,
"Frequent-ectopy warning" (about 10 s).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from hrv import EctopyCheck, clean, ectopy_check, time_domain
from tests.conftest import shared_data_dir
from tests.hrv.test_clean_mitdb import (
    FREQUENT_ECTOPY,
    FS_HZ,
    NORMAL_SYMBOLS,
    group,
    load_records,
    subgroup,
)

#: Relative RMSSD error above which the corrected value is called unreliable (truth T1/T2).
ERROR_LIMIT = 0.20
#: Segment length (s) of the segment-level judgement, and the NN differences a segment's truth
#: needs to count.
SEGMENT_S = 300.0
MIN_NN_DIFFS = 20

#: The healthy recordings of ../shared/data the warning must stay silent on (protocol, item 3),
#: with how ``hrvpace analyze`` reads them.
HEALTHY = (
    "hrvpkg_rest_rri_ms.txt",
    "rrhealthy_000_rr_ms.txt",
    "rrhealthy_007_rr_ms.txt",
    "nsr2db_nsr001_rr_secs.txt",
    "nsr2db_nsr002_rr_secs.txt",
    "hrvanalysis_test_nn_intervals_ms.txt",
    "ghrv_beat_ascii.txt",
    "ghrv_chapter6_rr.txt",
    "hrvpkg_08012805_rri_ms.txt",
    "hrvpkg_exercise_rri.hrm",
    "hrvpkg_real_rri_ms.txt",
)
#: Files ``hrvpace analyze`` reads only with ``--units s`` (seconds, one RR per line).
UNITS_S = ("ghrv_chapter6_rr.txt",)
#: Allowed to warn either way (protocol, item 3): "many ectopic beats", heart failure.
OTHER = ("hrvpkg_noisy_rri.hrm", "chf2db_chf201_rr_secs.txt")


@dataclass(frozen=True)
class Case:
    """One record or segment: its truth and the warning's decision."""

    record: str
    segment: int | None  # None: the whole record
    kind: str  # subgroup of the record
    error: float  # corrected RMSSD / NN RMSSD - 1
    ectopic_fraction: float  # beats not normal
    check: EctopyCheck

    @property
    def name(self) -> str:
        return self.record if self.segment is None else f"{self.record}/{self.segment}"

    @property
    def t1(self) -> bool:
        return self.error > ERROR_LIMIT

    @property
    def t2(self) -> bool:
        return abs(self.error) > ERROR_LIMIT

    @property
    def t3(self) -> bool:
        return self.ectopic_fraction >= FREQUENT_ECTOPY


def _case(
    record: str, segment: int | None, kind: str, sample: np.ndarray, symbol: list[str]
) -> Case | None:
    normal = np.array([s in NORMAL_SYMBOLS for s in symbol], dtype=np.bool_)
    rr = np.diff(sample) / FS_HZ * 1000.0
    nn = normal[:-1] & normal[1:]
    diffs = np.diff(rr)[nn[:-1] & nn[1:]]
    if diffs.size < MIN_NN_DIFFS:
        return None
    nn_rmssd = math.sqrt(float(np.mean(diffs**2)))
    c = clean(rr)
    gaps = np.asarray(c.gaps)
    rmssd = time_domain(c.rr_ms, gaps=gaps if gaps[1:].any() else None).rmssd_ms
    assert rmssd is not None
    check = ectopy_check(c.rr_ms, gaps=c.gaps, labels=c.labels)
    return Case(record, segment, kind, rmssd / nn_rmssd - 1, float(np.mean(~normal)), check)


@cache
def record_cases() -> dict[str, Case]:
    """Every record whose truth RMSSD exists (107 has no NN difference)."""
    out = {}
    for name, rec in load_records().items():
        case = _case(name, None, subgroup(rec), rec.sample, list(rec.symbol))
        if case is not None:
            out[name] = case
    return out


@cache
def segment_cases() -> tuple[Case, ...]:
    """Six 5-min segments of every sinus record (those whose truth has >= 20 NN differences)."""
    out = []
    for name, rec in load_records().items():
        if group(name) != "sinus":
            continue
        t = (rec.sample - rec.sample[0]) / FS_HZ
        for k in range(6):
            sel = (t >= SEGMENT_S * k) & (t < SEGMENT_S * (k + 1))
            symbols = [s for s, x in zip(rec.symbol, sel, strict=True) if x]
            case = _case(name, k, subgroup(rec), rec.sample[sel], symbols)
            if case is not None:
                out.append(case)
    return tuple(out)


def develop(name: str) -> bool:
    return name.startswith("1")


def judged(name: str) -> bool:
    return name.startswith("2") and group(name) == "sinus"


@dataclass(frozen=True)
class Judgement:
    positives: int
    negatives: int
    hits: int  # warned positives
    false_warnings: tuple[str, ...]
    misses: tuple[str, ...]

    @property
    def sensitivity(self) -> float:
        return self.hits / self.positives if self.positives else math.nan

    @property
    def specificity(self) -> float:
        return 1 - len(self.false_warnings) / self.negatives if self.negatives else math.nan


def judge(cases: Iterable[Case], truth: Callable[[Case], bool]) -> Judgement:
    cases = list(cases)
    pos = [c for c in cases if truth(c)]
    neg = [c for c in cases if not truth(c)]
    return Judgement(
        len(pos),
        len(neg),
        sum(c.check.unreliable for c in pos),
        tuple(c.name for c in neg if c.check.unreliable),
        tuple(c.name for c in pos if not c.check.unreliable),
    )


TRUTHS: dict[str, Callable[[Case], bool]] = {
    "T1 error > +20 %": lambda c: c.t1,
    "T2 |error| > 20 %": lambda c: c.t2,
    "T3 >= 10 % ectopic": lambda c: c.t3,
}


def shared_checks(names: Iterable[str]) -> dict[str, tuple[EctopyCheck, list[EctopyCheck]]]:
    """Whole recording and non-overlapping 5-min windows of the corrected series, read as
    ``hrvpace analyze`` reads the file."""
    from api.research.discover import choose_reading
    from sensors import read_recording

    base = shared_data_dir()
    out = {}
    for name in names:
        path = str(base / name)
        reading = choose_reading(path, units="s" if name in UNITS_S else None)
        rec = read_recording(path, format=reading.format, units=reading.units)
        c = clean(rec.rr_ms, gaps=rec.gaps)
        whole = ectopy_check(c.rr_ms, gaps=c.gaps, labels=c.labels)
        rr = np.asarray(c.rr_ms)
        gaps = np.asarray(c.gaps)
        window = (np.cumsum(rr) // (SEGMENT_S * 1000.0)).astype(np.int64)
        windows = [ectopy_check(rr[window == k], gaps=gaps[window == k]) for k in np.unique(window)]
        out[name] = (whole, [w for w in windows if w.assessed])
    return out


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_development_records_are_separated() -> None:
    """100-series sinus records (the development set): 106 and 119 (bigeminy, +516 % and
    +1113 %) warn, no other (largest share of irregular steps elsewhere 2.5 %, 113)."""
    cases = [c for n, c in record_cases().items() if develop(n) and group(n) == "sinus"]
    assert len(cases) == 20
    assert sorted(c.record for c in cases if c.check.unreliable) == ["106", "119"]
    j = judge(cases, lambda c: c.t1)
    assert j.sensitivity == 1.0 and j.specificity == 1.0


def test_judged_records() -> None:
    """The 15 sinus records of the 200-series, whole. Measured (T1): 5 of 7 records with the
    corrected RMSSD > 20 % high warned (200, 208, 223, 228, 233: +271 to +1290 %), missed 214
    (+33 %, 1.6 % irregular steps) and 220 (+55 %, 0.9 %); no false warning of 8. Asserted as
    measured, margin one record each way."""
    j = judge([c for n, c in record_cases().items() if judged(n)], TRUTHS["T1 error > +20 %"])
    assert (j.positives, j.negatives) == (7, 8)
    assert j.hits >= 4
    assert len(j.false_warnings) <= 1
    # every record whose corrected RMSSD is more than doubled is warned
    for n, c in record_cases().items():
        if judged(n) and c.error > 1.0:
            assert c.check.unreliable, n


def test_judged_segments() -> None:
    """5-min segments of the 15 judged records (89 with a truth RMSSD). Measured (T1): 26 of 41
    segments with the corrected RMSSD > 20 % high warned (63 %), no false warning of 48;
    missed: every segment of 214 and four of 220 (premature beats the correction leaves, but
    < 8 % irregular steps), 205/1, 205/4, 213/3, 223/1, 234/2. Margins: two segments on the
    sensitivity, two false warnings."""
    cases = [c for c in segment_cases() if judged(c.record)]
    assert len(cases) == 89
    j = judge(cases, TRUTHS["T1 error > +20 %"])
    assert j.positives == 41
    assert j.hits >= 24
    assert len(j.false_warnings) <= 2


def test_atrial_fibrillation_records_warn() -> None:
    """Not judged (the warning is about ectopy), but documented: AF is an irregular rhythm and
    the warning fires on all 7 AF records (irregular steps 21-60 %); no paced record warns."""
    cases = record_cases()
    assert sum(cases[n].check.unreliable for n in cases if group(n) == "af") >= 6
    assert not any(cases[n].check.unreliable for n in cases if group(n) == "paced")


@pytest.mark.parametrize("name", HEALTHY)
def test_silent_on_healthy_recordings(name: str) -> None:
    """Protocol item 3: no warning on a whole healthy recording, at most 1 % of its 5-min
    windows warned."""
    whole, windows = shared_checks([name])[name]
    assert whole.assessed and not whole.unreliable, whole
    assert sum(w.unreliable for w in windows) <= 0.01 * len(windows)


# ---------------------------------------------------------------------------------------------
# Tables (python -m tests.hrv.test_ectopy_mitdb)
# ---------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.1f}"


def _judgement_rows(label: str, cases: list[Case]) -> list[str]:
    rows = []
    for tname, truth in TRUTHS.items():
        if tname.startswith("T3") and cases and cases[0].segment is not None:
            continue
        j = judge(cases, truth)
        rows.append(
            f"| {label} | {tname} | {j.hits} / {j.positives} ({_pct(100 * j.sensitivity)} %) "
            f"| {j.negatives - len(j.false_warnings)} / {j.negatives} "
            f"({_pct(100 * j.specificity)} %) | {', '.join(j.misses) or '-'} "
            f"| {', '.join(j.false_warnings) or '-'} |"
        )
    return rows


def main() -> None:
    cases = record_cases()
    print("| record | set | group | not normal | corrected RMSSD error | irregular steps | warns |")
    print("|---|---|---|---:|---:|---:|---|")
    for n, c in cases.items():
        role = "develop" if develop(n) else ("judge" if judged(n) else "-")
        print(
            f"| {n} | {role} | {c.kind} | {100 * c.ectopic_fraction:.1f} % "
            f"| {100 * c.error:+.1f} % | {_pct(c.check.irregular_pct)} % "
            f"| {'yes' if c.check.unreliable else 'no'} |"
        )
    print()
    print(
        "| set | truth | warned positives (sensitivity) | silent negatives (specificity) "
        "| missed | false warnings |"
    )
    print("|---|---|---:|---:|---|---|")
    dev = [c for n, c in cases.items() if develop(n) and group(n) == "sinus"]
    jud = [c for n, c in cases.items() if judged(n)]
    segs = segment_cases()
    for label, subset in (
        ("100-series sinus records (develop, 20)", dev),
        ("200-series sinus records (judge, 15)", jud),
        (
            f"100-series 5-min segments (develop, {sum(develop(c.record) for c in segs)})",
            [c for c in segs if develop(c.record)],
        ),
        (
            f"200-series 5-min segments (judge, {sum(judged(c.record) for c in segs)})",
            [c for c in segs if judged(c.record)],
        ),
    ):
        print("\n".join(_judgement_rows(label, subset)))
    print()
    for kind in ("af", "paced", "excluded"):
        sub = [c for c in cases.values() if group(c.record) == kind]
        warned = [c.record for c in sub if c.check.unreliable]
        print(f"{kind}: {len(warned)} of {len(sub)} records warned ({', '.join(warned) or '-'})")
    print()
    print("| recording | whole: irregular steps | warns | 5-min windows warned | max window |")
    print("|---|---:|---|---:|---:|")
    for name, (whole, windows) in shared_checks(HEALTHY + OTHER).items():
        top = max((w.irregular_pct or 0.0 for w in windows), default=math.nan)
        print(
            f"| {name} | {_pct(whole.irregular_pct)} % | {'yes' if whole.unreliable else 'no'} "
            f"| {sum(w.unreliable for w in windows)} / {len(windows)} | {_pct(top)} % |"
        )


if __name__ == "__main__":
    main()
