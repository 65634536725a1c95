"""Judge the live irregular-heartbeat check (hrv.rhythm) by docs/live_rhythm_protocol.md.

Every recording is fed beat by beat through ``hrv.LiveAnalyser``; at the first beat at or after
every 60 s of the recording's clock the last minute of beats (``SignalQuality.recent()``) is
scored against the truth of the same beats. Criteria 1-6 of the protocol, each printed with
its figures, then the verdict.

Reproduce (needs the MIT-BIH beat file shipped in tests/data and the svdb and edb beat files,
which are not shipped: ``python scripts/make_svdb_beats.py [--db edb] DIR`` builds them)::

    python -m bench.live_rhythm            # the first judging (criteria 1-6)
    python -m bench.live_rhythm --judge2   # the second (1' and 2' on edb; MIT-BIH, svdb shown)
    python -m bench.live_rhythm --judge3   # the reference-interval revision (criteria A-C)
    python -m bench.live_rhythm --judge4   # the second revision (criteria A-E)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bench._common import shared_data_dir
from hrv import LiveAnalyser, WindowSignal

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SPAN_S = 60.0
FREQUENT = 0.10  # a window's share of beats not normal from which it is "frequent"


@dataclass(frozen=True)
class Scored:
    """One scored window: the check's answer and the share of its beats that are not normal."""

    signal: WindowSignal
    abnormal_share: float | None  # None where there is no truth per beat


def windows(
    t_s: FloatArray,
    rr_ms: FloatArray,
    *,
    normal: BoolArray | None = None,
    gap_before: BoolArray | None = None,
) -> Iterator[Scored]:
    """Feed the beats (``t_s[i]`` ends ``rr_ms[i]``) and score every ``SPAN_S`` of beat time."""
    an = LiveAnalyser(window_s=SPAN_S, step_s=5.0, metrics=("time",))
    gaps = np.zeros(t_s.size, dtype=np.bool_) if gap_before is None else gap_before
    next_at = t_s[0] + SPAN_S
    for i, (t, rr, gap) in enumerate(zip(t_s.tolist(), rr_ms.tolist(), gaps.tolist(), strict=True)):
        an.push(t, rr, gap_before=gap)
        if t < next_at:
            continue
        next_at = t + SPAN_S
        share = None
        if normal is not None:
            in_span = (t_s > t - SPAN_S) & (np.arange(t_s.size) <= i)
            share = float(1.0 - normal[in_span].mean())
        yield Scored(an.signal.recent(), share)


def annotated(db: str) -> list[Scored]:
    """The sinus records of ``db`` (categories of tests/hrv/test_clean_mitdb.py)."""
    from tests.hrv import test_clean_mitdb as m

    m.require_fixture(db)
    if db == "svdb":  # the files the judgings fixed (records, beats, categories)
        m.check_svdb_categories()
    elif db == "edb":
        m.check_edb_categories()
    out: list[Scored] = []
    for rec in m.records_of("sinus", db):
        t = rec.sample / rec.fs_hz
        out += windows(t[1:], rec.rr_ms, normal=rec.normal[1:])
    return out


def healthy() -> dict[str, list[Scored]]:
    """Every healthy recording of ../shared/data named in the protocol, raw values as read."""
    from tests.conftest import load_rr_ms

    data = shared_data_dir()
    rr: dict[str, FloatArray] = {}
    for name in ("nsr2db_nsr001_rr_secs.txt", "nsr2db_nsr002_rr_secs.txt"):
        rr[name] = load_rr_ms(data / name, units="s", skip_first_line=True)
    for name in ("rrhealthy_000_rr_ms.txt", "rrhealthy_007_rr_ms.txt", "hrvpkg_rest_rri_ms.txt"):
        rr[name] = load_rr_ms(data / name, units="ms")
    rr["ghrv_chapter6_rr.txt"] = load_rr_ms(data / "ghrv_chapter6_rr.txt", units="s")
    rr["ghrv_beat_ascii.txt"] = np.diff(load_rr_ms(data / "ghrv_beat_ascii.txt", units="s"))
    rr["hrvanalysis_test_nn_intervals_ms.txt"] = load_rr_ms(
        data / "hrvanalysis_test_nn_intervals_ms.txt", units="ms"
    )
    return {name: list(windows(np.cumsum(x) / 1000.0, x)) for name, x in rr.items()}


def strap_artefacts() -> list[Scored]:
    """Missed and extra detections, one per 20 beats, into two real recordings (seeds 0-9)."""
    from tests.hrv.test_clean_injected import inject, load_recordings

    recs = load_recordings(shared_data_dir())
    out: list[Scored] = []
    for name in ("rest", "rrhealthy_000_h4"):
        raw = recs[name]
        for seed in range(10):
            rng = np.random.default_rng(seed)
            bad, _, _ = inject(raw, rng, raw.size // 20, ("missed", "extra"))
            out += windows(np.cumsum(bad) / 1000.0, bad)
    return out


def simulator() -> list[Scored]:
    """The simulated person (sensors.simulator) breathing at 6/min for 10 minutes, seeds 0-9."""
    from sensors.simulator import SimulatedPerson

    out: list[Scored] = []
    for seed in range(10):
        person = SimulatedPerson(seed=seed, breathing=lambda t: t / 10.0)
        beats = person.beats(600.0)
        t = np.array([b.t_s for b in beats])
        rr = np.array([b.rr_ms for b in beats])
        gaps = np.array([b.gap_before for b in beats])
        out += windows(t, rr, gap_before=gaps)
    return out


def flagged(ws: list[Scored]) -> tuple[int, int]:
    """Windows the check calls irregular, and windows it judged (not None)."""
    judged = [w for w in ws if w.signal.irregular_rhythm is not None]
    return sum(bool(w.signal.irregular_rhythm) for w in judged), len(judged)


LOW_QUALITY = 0.9  # the live policies' threshold (criterion 1')


@dataclass(frozen=True)
class ByTruth:
    """Scored windows of a database grouped by the share of their beats that are not normal."""

    frequent: list[Scored]  # >= FREQUENT
    none: list[Scored]  # no beat that is not normal
    between: list[Scored]  # reported, not scored
    low: list[Scored]  # frequent, and quality below LOW_QUALITY (criterion 1')


def by_truth(ws: list[Scored]) -> ByTruth:
    """Group ``ws`` by their truth (see :class:`ByTruth`)."""
    share = [w.abnormal_share or 0.0 for w in ws]
    frequent = [w for w, x in zip(ws, share, strict=True) if x >= FREQUENT]
    return ByTruth(
        frequent,
        [w for w, x in zip(ws, share, strict=True) if x == 0.0],
        [w for w, x in zip(ws, share, strict=True) if 0.0 < x < FREQUENT],
        [w for w in frequent if w.signal.quality < LOW_QUALITY],
    )


def judge2() -> None:
    """The second judging: criteria 1' and 2' on edb; MIT-BIH and svdb shown under them."""
    ok: dict[str, bool] = {}
    for db in ("mitdb", "svdb", "edb"):
        g = by_truth(annotated(db))
        none_low = [w for w in g.none if w.signal.quality < LOW_QUALITY]
        l_hit, l_n = flagged(g.low)
        f_hit, f_n = flagged(g.frequent)
        n_hit, n_n = flagged(g.none)
        nl_hit, nl_n = flagged(none_low)
        sens = l_hit / l_n if l_n else float("nan")
        spec = 1.0 - n_hit / n_n if n_n else float("nan")
        print(
            f"{db}: frequent + quality < {LOW_QUALITY} flagged {l_hit}/{l_n} ({sens:.3f}); "
            f"frequent, any quality {f_hit}/{f_n}; no ectopy not flagged {n_n - n_hit}/{n_n} "
            f"({spec:.3f}); no ectopy + quality < {LOW_QUALITY} flagged {nl_hit}/{nl_n}"
            + ("" if db == "edb" else "  (development data: not judged)")
        )
        if db == "edb":
            ok["1' edb: >= 30 windows"] = l_n >= 30
            ok["1' edb: flagged >= 0.80"] = sens >= 0.80
            ok["2' edb: not flagged >= 0.95"] = spec >= 0.95
    print("4-6: the rule is unchanged; the first judging's figures stand (all held)")
    verdict(
        ok,
        "second judging",
        "the consumers use it",
        "not shipped (a criterion fails or the judging is inconclusive)",
    )


@contextlib.contextmanager
def rule(k: int, previous_not_early: bool) -> Iterator[None]:
    """Run the live signal bookkeeping with one version of the rule.

    The reference of ``k`` preceding intervals, with or without the "previous interval not
    early" test.
    """
    import hrv.rhythm

    saved = hrv.rhythm.REFERENCE_BEATS, hrv.rhythm.PREVIOUS_NOT_EARLY
    hrv.rhythm.REFERENCE_BEATS, hrv.rhythm.PREVIOUS_NOT_EARLY = k, previous_not_early
    try:
        yield
    finally:
        hrv.rhythm.REFERENCE_BEATS, hrv.rhythm.PREVIOUS_NOT_EARLY = saved


#: The versions of the rule judged (docs/live_rhythm_protocol.md), by name.
FIRST = (1, False)  # the first two judgings: the interval just before the beat
REVISION = (8, False)  # the median of up to 8 preceding intervals
SECOND_REVISION = (8, True)  # ... and the interval before the early beat not early itself


def extra_detections(split: float) -> list[Scored]:
    """Extra detections alone, one per 10 beats, the first part ``split`` of the interval.

    In a 1,000-ms sinus rhythm and in the rest recording (windows from the first minute on).
    """
    from tests.hrv.test_clean_injected import load_recordings

    out: list[Scored] = []
    rest = load_recordings(shared_data_dir())["rest"]
    for base in (np.full(600, 1000.0), rest):
        rr: list[float] = []
        for i, x in enumerate(base.tolist()):
            rr += [split * x, (1.0 - split) * x] if i % 10 == 5 else [x]
        x_ms = np.asarray(rr)
        out += windows(np.cumsum(x_ms) / 1000.0, x_ms)
    return out


def figures_of(version: tuple[int, bool], couplings: list[float]) -> dict[str, float]:
    """Every figure of the criteria for one version of the rule."""
    f: dict[str, float] = {}
    with rule(*version):
        for c in couplings:
            hit, n = flagged(bigeminy(c))
            f[f"bigeminy {c:.2f}"] = hit / n if n else float("nan")
        for split in (0.2, 0.3, 0.4, 0.5):
            hit, n = flagged(extra_detections(split))
            f[f"extra {split:.1f}"] = hit / n
        for db in ("mitdb", "svdb", "edb"):
            g = by_truth(annotated(db))
            l_hit, l_n = flagged(g.low)
            n_hit, n_n = flagged(g.none)
            f[f"{db} 1'"] = l_hit / l_n
            f[f"{db} 2'"] = 1.0 - n_hit / n_n
            print(f"{version} {db}: 1' {l_hit}/{l_n}, 2' {n_n - n_hit}/{n_n}")
        hits = [flagged(ws) for ws in healthy().values()]
        f["healthy"] = sum(h for h, _ in hits) / sum(n for _, n in hits)
        hit, n = flagged(strap_artefacts())
        f["strap"] = hit / n
        hit, n = flagged(simulator())
        f["simulator"] = float(hit)
    print(f"{version}: " + ", ".join(f"{name} {v:.4f}" for name, v in f.items()))
    return f


def judge4() -> None:
    """Criteria A-E of the second revision (docs/live_rhythm_protocol.md)."""
    couplings = [round(0.50 + 0.05 * k, 2) for k in range(7)]
    old = figures_of(FIRST, couplings)
    rev = figures_of(REVISION, couplings)
    new = figures_of(SECOND_REVISION, couplings)
    ok = {
        "A bigeminy 0.50-0.80 all flagged": all(new[f"bigeminy {c:.2f}"] == 1.0 for c in couplings)
    }
    for db in ("mitdb", "svdb", "edb"):
        ok[f"B {db} 1' not lower than the first rule's"] = new[f"{db} 1'"] >= old[f"{db} 1'"]
        ok[f"B {db} 2' >= 0.95, <= 0.5 pt lower"] = (
            new[f"{db} 2'"] >= 0.95 and new[f"{db} 2'"] >= old[f"{db} 2'"] - 0.005
        )
        ok[f"E {db} 1' >= the revision's - 1 pt"] = new[f"{db} 1'"] >= rev[f"{db} 1'"] - 0.01
    ok["C healthy <= 2 %"] = new["healthy"] <= 0.02
    ok["C strap <= 5 %"] = new["strap"] <= 0.05
    ok["C simulator none"] = new["simulator"] == 0.0
    ok["D extra detections: no window"] = all(
        new[f"extra {x:.1f}"] == 0.0 for x in (0.2, 0.3, 0.4, 0.5)
    )
    verdict(ok, "second revision", "the second revision is the rule")


def bigeminy(coupling: float) -> list[Scored]:
    """The windows from 60 s into a bigeminy at ``coupling`` (after a minute of sinus rhythm).

    Sinus rhythm at 1,000 ms, then 5 min of couplets ``coupling`` and ``2 - coupling`` s.
    """
    rr = [1000.0] * 60 + [1000.0 * coupling, 1000.0 * (2.0 - coupling)] * 150
    x = np.asarray(rr)
    ws = list(windows(np.cumsum(x) / 1000.0, x))
    return ws[1:]  # scored every 60 s: the first one ends the sinus minute


def judge3() -> None:
    """Criteria A-C of the reference-interval revision (docs/live_rhythm_protocol.md)."""
    couplings = [round(0.50 + 0.05 * k, 2) for k in range(7)]
    old = figures_of(FIRST, couplings)
    new = figures_of(REVISION, couplings)
    ok = {
        "A bigeminy 0.50-0.80 all flagged": all(new[f"bigeminy {c:.2f}"] == 1.0 for c in couplings)
    }
    for db in ("mitdb", "svdb", "edb"):
        ok[f"B {db} 1' not lower"] = new[f"{db} 1'"] >= old[f"{db} 1'"]
        ok[f"B {db} 2' >= 0.95, <= 0.5 pt lower"] = (
            new[f"{db} 2'"] >= 0.95 and new[f"{db} 2'"] >= old[f"{db} 2'"] - 0.005
        )
    ok["C healthy <= 2 %"] = new["healthy"] <= 0.02
    ok["C strap <= 5 %"] = new["strap"] <= 0.05
    ok["C simulator none"] = new["simulator"] == 0.0
    verdict(ok, "revision", "the revision replaces the rule (later withdrawn: --judge4)")


def verdict(ok: dict[str, bool], name: str, adopted: str, rejected: str = "not adopted") -> None:
    """Print each criterion and the verdict."""
    print(f"\ncriteria (docs/live_rhythm_protocol.md, {name})")
    for criterion, holds in ok.items():
        print(f"  {criterion}: {'holds' if holds else 'FAILS'}")
    print(f"verdict: all hold: {adopted}" if all(ok.values()) else f"verdict: {rejected}")


def main() -> None:
    """Print every criterion with its figures and the verdict (``--judge2``: the second)."""
    import sys

    if sys.argv[1:] == ["--judge2"]:
        with rule(*FIRST):  # the rule as it was judged then
            judge2()
        return
    if sys.argv[1:] == ["--judge3"]:
        judge3()
        return
    if sys.argv[1:] == ["--judge4"]:
        judge4()
        return
    if sys.argv[1:]:
        raise SystemExit("usage: python -m bench.live_rhythm [--judge2 | --judge3 | --judge4]")
    with rule(*FIRST):  # the rule as it was judged then
        judge1()


def judge1() -> None:
    """The first judging: criteria 1-6."""
    ok: dict[str, bool] = {}
    for db, n1, n2 in (("mitdb", "1", "2"), ("svdb", "3", "3")):
        g = by_truth(annotated(db))
        f_hit, f_n = flagged(g.frequent)
        n_hit, n_n = flagged(g.none)
        b_hit, b_n = flagged(g.between)
        sens = f_hit / f_n if f_n else float("nan")
        spec = 1.0 - n_hit / n_n if n_n else float("nan")
        print(
            f"{db}: frequent windows flagged {f_hit}/{f_n} ({sens:.3f}); no-ectopy windows not "
            f"flagged {n_n - n_hit}/{n_n} ({spec:.3f}); in between (not scored) flagged "
            f"{b_hit}/{b_n}"
        )
        ok[f"{n1} {db} sensitivity >= 0.80"] = sens >= 0.80
        ok[f"{n2} {db} specificity >= 0.95"] = spec >= 0.95
    total_hit = total_n = 0
    for name, ws in healthy().items():
        hit, n = flagged(ws)
        total_hit, total_n = total_hit + hit, total_n + n
        print(f"healthy {name}: flagged {hit}/{n}")
    print(f"healthy, all: flagged {total_hit}/{total_n} ({total_hit / total_n:.4f})")
    ok["4 healthy <= 2 %"] = total_hit <= 0.02 * total_n
    hit, n = flagged(strap_artefacts())
    print(f"strap artefacts (missed + extra, 1 / 20 beats): flagged {hit}/{n} ({hit / n:.4f})")
    ok["5 strap artefacts <= 5 %"] = hit <= 0.05 * n
    hit, n = flagged(simulator())
    print(f"simulator, 6/min, seeds 0-9: flagged {hit}/{n}")
    ok["6 simulator none"] = hit == 0
    verdict(ok, "first judging", "the consumers use it", "not shipped (a criterion fails)")


if __name__ == "__main__":
    main()
