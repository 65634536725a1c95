"""hrv.clean against cardiologists' beat labels: the 48 records of the MIT-BIH Arrhythmia Database.

The fixture (tests/data/mitdb_beats.csv.gz, provenance and licence in tests/data/README.md)
holds every beat of the 48 half-hour records with its reference label (Moody & Mark 2001;
PhysioNet, Goldberger et al. 2000). For each record:

- the raw RR series, as a chest strap would give it (all beats, ectopic ones included);
- the truth per interval: an interval is artefactual unless both its beats are normal;
- the true NN intervals (both beats normal) and their RMSSD, with successive differences only
  between NN intervals that follow each other (three consecutive normal beats), as Task Force
  (1996) defines NN.

Which beats are normal, which records count
-------------------------------------------
Normal = ``N``, ``L``, ``R``: sinus beats conducted normally or with a left or right bundle
branch block. A bundle branch block widens the QRS but the beat still comes from the sinus node
through the AV node, so its timing is the sinus timing HRV is about (Task Force 1996: NN =
intervals between beats of sinus-node depolarisation). Every other beat (atrial, nodal,
ventricular premature, escape, fusion, paced, unclassifiable) is not normal.

- ``sinus`` (35 records): sinus rhythm with ectopic beats, the case artefact correction is
  for. Pooled figures are over these records.
- ``af`` (201, 202, 203, 210, 219, 221, 222): episodes of atrial fibrillation or flutter, per
  the database's rhythm annotations. There the "normal" (N) beats are conducted fibrillation:
  irregular by nature, so the NN RMSSD is not sinus HRV and the Lipponen & Tarvainen rules
  (which assume a regular local rhythm) call much of it artefact. Reported separately.
- ``paced`` (102, 104, 107, 217): paced rhythm, almost no N beats (0-99 NN differences).
  Listed, not pooled.
- ``excluded``: 207 (ventricular flutter: its flutter waves are not beat annotations, so the
  series holds a 100-s interval between two labelled beats, which the truth would count as an
  NN interval; also 2nd-degree AV block, intermittent left and right bundle branch block) and
  232 (sinus bradycardia with 1,382 of 1,780 beats atrial premature and pauses of up to 6 s:
  31 NN differences, too few for a truth RMSSD). Listed, not pooled.

Scored for hrv.clean and NeuroKit2's ``signal_fixpeaks(method="kubios")``: ectopic beats found
(a non-normal beat is found when an interval next to it is flagged), false positives (flagged
intervals between two normal beats) per hour, interval F1, and corrected RMSSD against the NN
RMSSD. ``python -m tests.hrv.test_clean_mitdb`` prints the tables of README "Artefact
correction against truth" and docs/mitdb_validation.md.
"""

from __future__ import annotations

import gzip
import math
import statistics
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import BeatLabel, clean, time_domain

DATA = Path(__file__).resolve().parent.parent / "data"
FIXTURE = DATA / "mitdb_beats.csv.gz"
FIXTURE_100 = DATA / "mitdb_100_beats.csv"
FS_HZ = 360.0

#: The MIT-BIH Supraventricular Arrhythmia Database (svdb, 78 records of 30 min, 128 Hz): the
#: held-out data of the second judging of docs/noncomp_short_beat_protocol.md (fixture and
#: provenance: tests/data/README.md; not shipped, built locally with scripts/make_svdb_beats.py).
#: Read by ``python -m bench.noncomp_bound --judge2`` and ``python -m tests.hrv.test_clean_mitdb
#: svdb`` (both through :func:`require_fixture`); the test suite does not read it.
SVDB_FIXTURE = DATA / "svdb_beats.csv.gz"
SVDB_FS_HZ = 128.0
#: Samples per svdb record (its .hea files: ``NNN 2 128 230400``, 30 min at 128 Hz).
SVDB_N_SAMPLES = 230_400

#: The European ST-T Database (edb, 90 records of 2 h, 250 Hz): the held-out data of the second
#: judging of docs/live_rhythm_protocol.md; not shipped either (``python
#: scripts/make_svdb_beats.py --db edb DIR``). Read by ``python -m bench.live_rhythm --judge2``.
EDB_FIXTURE = DATA / "edb_beats.csv.gz"
EDB_FS_HZ = 250.0

#: Fixture and sampling rate of each database the scoring below can read.
DATABASES: dict[str, tuple[Path, float]] = {
    "mitdb": (FIXTURE, FS_HZ),
    "svdb": (SVDB_FIXTURE, SVDB_FS_HZ),
    "edb": (EDB_FIXTURE, EDB_FS_HZ),
}

#: Beat labels counted as normal (sinus) beats: normal, left and right bundle branch block.
NORMAL_SYMBOLS = frozenset("NLR")
PACED = ("102", "104", "107", "217")
AF_FLUTTER = ("201", "202", "203", "210", "219", "221", "222")
EXCLUDED = {
    "207": "ventricular flutter waves are not beats: a 100-s interval between labelled beats",
    "232": "1,382 of 1,780 beats atrial premature, pauses to 6 s: 31 NN differences",
}

#: svdb categories, decided from the labels alone before any method ran on svdb, by the
#: written definitions above (docs/noncomp_short_beat_protocol.md, "svdb categories"):
#: paced = paced beats (``/``, ``f``): none in svdb; af = atrial fibrillation or flutter
#: episodes per the database's rhythm annotations: svdb's reference annotations hold none
#: (one ``(N`` in 852, no other rhythm annotation), so none; excluded = what excluded 207 and
#: 232, written as a rule that selects exactly those two among MIT-BIH's non-AF, non-paced
#: records: an NN interval longer than 3 s (a stretch between two labelled normal beats that
#: the annotators left unlabelled; MIT-BIH's sinus records' longest NN interval is 1.9 s,
#: 207's 14.7 s) or fewer than 100 NN differences (232: 31; sinus records' fewest 242).
SVDB_PACED: tuple[str, ...] = ()
SVDB_AF_FLUTTER: tuple[str, ...] = ()
SVDB_EXCLUDED = {
    "850": "a 12.6-s interval between two labelled normal beats (unlabelled stretch)",
}

#: edb categories, decided from the labels alone before any method ran on edb, by the same
#: written definitions (docs/live_rhythm_protocol.md, second judging): no paced beats; one
#: ``(AFIB`` rhythm annotation, in e0409; the exclusion rule (an NN interval > 3 s or < 100 NN
#: differences) selects ten records, all by an NN interval of 3.1-23.9 s.
EDB_PACED: tuple[str, ...] = ()
EDB_AF_FLUTTER: tuple[str, ...] = ("e0409",)
EDB_EXCLUDED = {
    name: "an NN interval longer than 3 s (pause or unlabelled stretch)"
    for name in (
        "e0116", "e0118", "e0119", "e0133", "e0148", "e0207", "e0213", "e0808", "e0817", "e1304",
    )
}  # fmt: skip

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def group(name: str, db: str = "mitdb") -> str:
    """``sinus``, ``af``, ``paced`` or ``excluded`` (see the module docstring)."""
    paced, af, excluded = {
        "mitdb": (PACED, AF_FLUTTER, EXCLUDED),
        "svdb": (SVDB_PACED, SVDB_AF_FLUTTER, SVDB_EXCLUDED),
        "edb": (EDB_PACED, EDB_AF_FLUTTER, EDB_EXCLUDED),
    }[db]
    if name in paced:
        return "paced"
    if name in af:
        return "af"
    if name in excluded:
        return "excluded"
    return "sinus"


@dataclass(frozen=True)
class Record:
    name: str
    sample: NDArray[np.int64]
    symbol: tuple[str, ...]  # per beat
    fs_hz: float = FS_HZ

    @property
    def normal(self) -> BoolArray:
        return np.array([s in NORMAL_SYMBOLS for s in self.symbol], dtype=np.bool_)

    @property
    def rr_ms(self) -> FloatArray:
        return np.diff(self.sample) / self.fs_hz * 1000.0

    @property
    def artefactual(self) -> BoolArray:
        """Per interval: True unless both of its beats are normal."""
        normal = self.normal
        return ~(normal[:-1] & normal[1:])

    @property
    def hours(self) -> float:
        return float(self.sample[-1] - self.sample[0]) / self.fs_hz / 3600.0

    @property
    def nn_diffs_ms(self) -> FloatArray:
        """Successive differences between consecutive NN intervals only."""
        nn = ~self.artefactual
        return np.diff(self.rr_ms)[nn[:-1] & nn[1:]]

    @property
    def ectopic_fraction(self) -> float:
        """Fraction of beats that are not normal."""
        return float(np.mean(~self.normal))

    @property
    def nn_pauses(self) -> int:
        """NN intervals longer than 1.5 times the median NN interval.

        Pauses between two normal beats: a non-conducted P wave, an AV block, a sinus pause,
        or a beat the annotators left unlabelled in noise. The truth counts them as NN
        intervals; a strap-series method cannot tell them from a missed beat.
        """
        rr = self.rr_ms[~self.artefactual]
        return int(np.sum(rr > 1.5 * np.median(rr))) if rr.size else 0

    @property
    def nn_rmssd_ms(self) -> float:
        d = self.nn_diffs_ms
        return math.sqrt(float(np.mean(d**2))) if d.size else math.nan


@dataclass(frozen=True)
class Score:
    method: str
    record: str
    n_flagged: int | None  # intervals flagged
    found: int | None  # non-normal beats with a flagged interval next to them
    n_ectopic: int
    tp: int | None  # intervals
    fp: int | None
    fn: int | None
    hours: float
    rmssd_ms: float
    rmssd_error: float  # relative to the NN RMSSD

    @property
    def fp_per_hour(self) -> float | None:
        return None if self.fp is None else self.fp / self.hours

    @property
    def f1(self) -> float | None:
        if self.tp is None or self.fp is None or self.fn is None:
            return None
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None


@cache
def load_records(path: Path = FIXTURE, fs_hz: float = FS_HZ) -> dict[str, Record]:
    with gzip.open(path, "rt") as f:
        lines = f.read().split()
    assert lines[0] == "record,sample,symbol"
    rows: dict[str, list[tuple[int, str]]] = {}
    for line in lines[1:]:
        name, sample, symbol = line.split(",")
        rows.setdefault(name, []).append((int(sample), symbol))
    return {
        name: Record(
            name,
            np.array([s for s, _ in beats], dtype=np.int64),
            tuple(sym for _, sym in beats),
            fs_hz,
        )
        for name, beats in rows.items()
    }


def load_record(name: str = "100") -> Record:
    return load_records()[name]


def _score(rec: Record, method: str, flagged: BoolArray | None, rmssd_ms: float) -> Score:
    truth = rec.artefactual
    ectopic = np.flatnonzero(~rec.normal)
    tp = fp = fn = n_flagged = found = None
    if flagged is not None:
        tp = int(np.sum(flagged & truth))
        fp = int(np.sum(flagged & ~truth))
        fn = int(np.sum(~flagged & truth))
        n_flagged = int(flagged.sum())
        near = np.zeros(rec.sample.size, dtype=np.bool_)  # per beat: an adjacent interval flagged
        near[:-1] |= flagged
        near[1:] |= flagged
        found = int(near[ectopic].sum())
    return Score(
        method,
        rec.name,
        n_flagged,
        found,
        ectopic.size,
        tp,
        fp,
        fn,
        rec.hours,
        rmssd_ms,
        rmssd_ms / rec.nn_rmssd_ms - 1,
    )


def score_raw(rec: Record) -> Score:
    rmssd = time_domain(rec.rr_ms).rmssd_ms
    assert rmssd is not None
    return _score(rec, "raw RR, no correction", np.zeros(rec.rr_ms.size, np.bool_), rmssd)


def score_hrvpace(rec: Record) -> Score:
    result = clean(rec.rr_ms)
    gaps = np.asarray(result.gaps)
    rmssd = time_domain(result.rr_ms, gaps=gaps if gaps[1:].any() else None).rmssd_ms
    assert rmssd is not None
    return _score(rec, "hrvpace hrv.clean", result.labels != BeatLabel.NORMAL, rmssd)


def score_neurokit(rec: Record, *, iterative: bool) -> Score:
    nk = pytest.importorskip("neurokit2")
    peaks = rec.sample - rec.sample[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NeuroKit2's own deprecation noise
        info, fixed = nk.signal_fixpeaks(
            peaks, sampling_rate=int(rec.fs_hz), iterative=iterative, method="kubios"
        )
    rr_fixed = np.diff(np.asarray(fixed, dtype=np.float64)) / rec.fs_hz * 1000.0
    rmssd = math.sqrt(float(np.mean(np.diff(rr_fixed) ** 2)))
    flagged: BoolArray | None = None
    if not iterative:  # with iterative=True, info holds the last pass's flags only
        flagged = np.zeros(rec.rr_ms.size, dtype=np.bool_)
        for key in ("ectopic", "missed", "extra", "longshort"):
            idx = np.asarray(info[key], dtype=np.int64) - 1  # peak i ends interval i - 1
            flagged[idx[(idx >= 0) & (idx < flagged.size)]] = True
    name = f"NeuroKit2 kubios, iterative={iterative}"
    return _score(rec, name, flagged, rmssd)


@dataclass(frozen=True)
class Pooled:
    """Figures over several records: counts summed, RMSSD errors as median and worst."""

    method: str
    records: int
    found: int | None
    n_ectopic: int
    fp_per_hour: float | None
    f1: float | None
    median_abs_error: float
    worst_abs_error: float
    worst_record: str


def pool(scores: list[Score]) -> Pooled:
    errors = [abs(s.rmssd_error) for s in scores]
    worst = max(range(len(scores)), key=errors.__getitem__)
    counted = all(s.tp is not None for s in scores)
    tp = sum(s.tp or 0 for s in scores)
    fp = sum(s.fp or 0 for s in scores)
    fn = sum(s.fn or 0 for s in scores)
    return Pooled(
        scores[0].method,
        len(scores),
        sum(s.found or 0 for s in scores) if counted else None,
        sum(s.n_ectopic for s in scores),
        fp / sum(s.hours for s in scores) if counted else None,
        2 * tp / (2 * tp + fp + fn) if counted else None,
        statistics.median(errors),
        errors[worst],
        scores[worst].record,
    )


#: Sinus records are split by ectopic burden: "frequent" when at least this fraction of the
#: beats is not normal (runs of bigeminy or trigeminy, ventricular or supraventricular
#: tachycardia), "occasional" otherwise. The split is by the truth labels, not by the results.
FREQUENT_ECTOPY = 0.10


def subgroup(rec: Record, db: str = "mitdb") -> str:
    """``group``, with sinus records split into ``sinus, occasional`` and ``sinus, frequent``."""
    kind = group(rec.name, db)
    if kind != "sinus":
        return kind
    return "sinus, frequent" if rec.ectopic_fraction >= FREQUENT_ECTOPY else "sinus, occasional"


def records_of(kind: str, db: str = "mitdb") -> list[Record]:
    """Records of a :func:`group` or a :func:`subgroup` of database ``db`` (:data:`DATABASES`)."""
    return [
        rec
        for name, rec in load_records(*DATABASES[db]).items()
        if kind in (group(name, db), subgroup(rec, db))
    ]


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def record() -> Record:
    return load_record("100")


@pytest.fixture(scope="module")
def sinus_scores() -> dict[str, Score]:
    return {rec.name: score_hrvpace(rec) for rec in records_of("sinus")}


@pytest.fixture(scope="module")
def neurokit_scores() -> dict[str, tuple[Score, Score]]:
    """NeuroKit2 kubios on the sinus records: (iterative=False, iterative=True)."""
    return {
        rec.name: (score_neurokit(rec, iterative=False), score_neurokit(rec, iterative=True))
        for rec in records_of("sinus")
    }


def test_fixture_is_the_database_as_published(record: Record) -> None:
    records = load_records()
    assert len(records) == 48
    assert sum(rec.sample.size for rec in records.values()) == 109_494
    assert [len(records_of(k)) for k in ("sinus", "af", "paced", "excluded")] == [35, 7, 4, 2]
    # record 100 as in the older single-record fixture (wfdb-python's 100.atr)
    lines = FIXTURE_100.read_text().split()[1:]
    assert [int(line.split(",")[0]) for line in lines] == record.sample.tolist()
    assert [line.split(",")[1] for line in lines] == list(record.symbol)
    assert record.sample.size == 2273
    assert int((~record.normal).sum()) == 34  # 33 A + 1 V
    assert 30.0 < record.hours * 60 < 30.2
    rr = record.rr_ms
    assert 500 < float(np.median(rr)) < 1000
    # the ectopic beats really are premature: the interval ending at each is short
    ectopic = np.flatnonzero(~record.normal)
    assert np.mean(rr[ectopic - 1] < 0.9 * np.median(rr)) > 0.9


def excluded_by_rule(rec: Record) -> bool:
    """The written rule of :data:`SVDB_EXCLUDED`: an NN interval > 3 s or < 100 NN differences."""
    nn = rec.rr_ms[~rec.artefactual]
    return rec.nn_diffs_ms.size < 100 or bool(nn.size and nn.max() > 3000.0)


def require_fixture(db: str) -> Path:
    """The beat file of database ``db``; exits with how to get it when it is not there.

    Raises
    ------
    SystemExit
        The file is missing (svdb is not shipped: built by scripts/make_svdb_beats.py).
    """
    path, _ = DATABASES[db]
    if path.is_file():
        return path
    if db in ("svdb", "edb"):
        option = "" if db == "svdb" else "--db edb "
        raise SystemExit(
            f"{path} is not there: it is not shipped (its licence could not be read at the "
            f"source, tests/data/README.md); build it from PhysioNet's {db} annotation files "
            "(*.atr, *.hea, RECORDS, SHA256SUMS.txt) with "
            f"`python scripts/make_svdb_beats.py {option}DIR`"
        )
    raise SystemExit(f"{path} is not there: it ships with the repository (tests/data/README.md)")


def _require_facts(path: Path, facts: dict[str, bool]) -> None:
    """Raise naming every fact about the file at ``path`` that does not hold."""
    failed = [fact for fact, holds in facts.items() if not holds]
    if failed:
        raise AssertionError(f"{path}: not the file the judging fixed: {failed}")


def check_svdb_categories() -> None:
    """The svdb file as scripts/make_svdb_beats.py writes it, and the categories committed
    before the second judging (:data:`SVDB_EXCLUDED` and the module docstring).

    78 records, 184,583 beats, sample numbers at 128 Hz (every record's beats within its
    230,400 samples and its last beat in the last half minute), no paced beats, the written
    exclusion rule selecting exactly :data:`SVDB_EXCLUDED`, and 48 sinus records with
    occasional and 29 with frequent ectopy, none AF or paced.

    Raises
    ------
    SystemExit
        The file is missing (:func:`require_fixture`).
    AssertionError
        A fact does not hold; the message names it.
    """
    path = require_fixture("svdb")
    sv = load_records(path, DATABASES["svdb"][1])
    last = [int(r.sample[-1]) for r in sv.values()]
    facts = {
        "78 records": len(sv) == 78,
        "184,583 beats": sum(r.sample.size for r in sv.values()) == 184_583,
        "samples at 128 Hz": all(
            SVDB_N_SAMPLES - 30 * SVDB_FS_HZ <= n <= SVDB_N_SAMPLES for n in last
        )
        and all(r.fs_hz == SVDB_FS_HZ for r in sv.values()),
        "no paced beats": not any(sym in ("/", "f") for r in sv.values() for sym in r.symbol),
        "excluded by the written rule: 850": {n for n, r in sv.items() if excluded_by_rule(r)}
        == set(SVDB_EXCLUDED),
        "48 occasional, 29 frequent": [
            len(records_of(k, "svdb")) for k in ("sinus, occasional", "sinus, frequent")
        ]
        == [48, 29],
        "0 af, 0 paced, 1 excluded": [
            len(records_of(k, "svdb")) for k in ("af", "paced", "excluded")
        ]
        == [0, 0, 1],
    }
    _require_facts(path, facts)


def check_edb_categories() -> None:
    """The edb file as ``scripts/make_svdb_beats.py --db edb`` writes it, and the categories
    committed before the second judging of docs/live_rhythm_protocol.md.

    90 records, 790,565 beats, no paced beats, the written exclusion rule selecting exactly
    :data:`EDB_EXCLUDED`, 79 sinus records.

    Raises
    ------
    SystemExit
        The file is missing (:func:`require_fixture`).
    AssertionError
        A fact does not hold; the message names it.
    """
    path = require_fixture("edb")
    recs = load_records(path, DATABASES["edb"][1])
    facts = {
        "90 records": len(recs) == 90,
        "790,565 beats": sum(r.sample.size for r in recs.values()) == 790_565,
        "no paced beats": not any(sym in ("/", "f") for r in recs.values() for sym in r.symbol),
        "excluded by the written rule": {n for n, r in recs.items() if excluded_by_rule(r)}
        == set(EDB_EXCLUDED),
        "79 sinus, 1 af": [len(records_of(k, "edb")) for k in ("sinus", "af")] == [79, 1],
    }
    _require_facts(path, facts)


def test_the_written_exclusion_rule_selects_mitdbs_hand_excluded_records() -> None:
    """The rule behind :data:`SVDB_EXCLUDED` (:func:`excluded_by_rule`), applied to MIT-BIH's
    records that are neither AF nor paced, selects exactly the two records excluded there by
    hand (207, 232). (svdb itself is not shipped: tests/data/README.md; the bench's
    ``--judge2`` checks its categories when it runs.)"""
    mit = load_records()
    assert {
        n for n, r in mit.items() if group(n) not in ("af", "paced") and excluded_by_rule(r)
    } == set(EXCLUDED)


def test_svdb_tools_say_how_to_build_the_missing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """svdb is not shipped: the side-by-side tables (``python -m tests.hrv.test_clean_mitdb
    svdb``) and the bench's second judging both exit with how to build it, not a raw
    FileNotFoundError."""
    from bench import noncomp_bound

    monkeypatch.setitem(DATABASES, "svdb", (tmp_path / "svdb_beats.csv.gz", SVDB_FS_HZ))
    for run in (lambda: main("svdb"), noncomp_bound.judge2, check_svdb_categories):
        with pytest.raises(SystemExit) as exc:
            run()
        message = str(exc.value.code)
        assert "is not shipped" in message and "make_svdb_beats.py" in message
        assert "RECORDS" in message


def test_svdb_category_check_refuses_a_file_that_is_not_the_judged_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A beat file at 360 Hz (MIT-BIH records 100 and 119 under svdb's name) fails the checks
    of the file the second judging fixed, naming them: record count, beat count, 128 Hz and
    the 48/29 occasional/frequent split."""
    fake = tmp_path / "svdb_beats.csv.gz"
    rows = ["record,sample,symbol"] + [
        f"{name},{s},{sym}"
        for name in ("100", "119")
        for s, sym in zip(load_record(name).sample, load_record(name).symbol, strict=True)
    ]
    with gzip.open(fake, "wt") as f:
        f.write("\n".join(rows) + "\n")
    monkeypatch.setitem(DATABASES, "svdb", (fake, SVDB_FS_HZ))
    with pytest.raises(AssertionError) as exc:
        check_svdb_categories()
    for fact in ("78 records", "184,583 beats", "samples at 128 Hz", "48 occasional, 29 frequent"):
        assert fact in str(exc.value)


@pytest.mark.parametrize(
    ("holds", "last_line"),
    [
        (False, "verdict: not adopted (criteria A-C do not all hold)"),
        (True, "verdict: A-C hold; adopted only if D holds too"),
    ],
)
def test_judge2_ends_with_its_verdict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], holds: bool, last_line: str
) -> None:
    """``python -m bench.noncomp_bound --judge2`` exits 0 when it ran (the exit code is not the
    verdict) and its last line says whether the candidate is adopted."""
    from bench import noncomp_bound

    monkeypatch.setattr(noncomp_bound, "judge2", lambda: holds)
    monkeypatch.setattr("sys.argv", ["noncomp_bound", "--judge2"])
    noncomp_bound.main()
    assert capsys.readouterr().out.splitlines()[-1] == last_line


def test_clean_finds_every_ectopic_beat_of_record_100_with_few_false_positives(
    record: Record,
) -> None:
    s = score_hrvpace(record)
    assert s.found == s.n_ectopic  # measured: 34 of 34
    assert s.fp_per_hour is not None and s.fp_per_hour <= 25.0  # measured 20 (10 intervals)
    assert s.f1 is not None and s.f1 >= 0.9  # measured 0.93


def test_corrected_rmssd_of_record_100_is_the_rmssd_of_the_true_nn_intervals(
    record: Record,
) -> None:
    raw = time_domain(record.rr_ms).rmssd_ms
    assert raw is not None
    assert raw / record.nn_rmssd_ms > 2.0  # the 34 ectopic beats more than double RMSSD
    s = score_hrvpace(record)
    assert abs(s.rmssd_error) <= 0.02  # measured 0.1 %; the issue asks for 5 %


def test_occasional_ectopy_rmssd_is_recovered_on_most_records(
    sinus_scores: dict[str, Score],
) -> None:
    """Sinus records with < 10 % ectopic beats (25 records).

    Measured (python -m tests.hrv.test_clean_mitdb): median |error| 5.8 %, 18 of 25 within
    10 %, worst -61.1 % (118). The seven beyond 10 % are 101, 105, 108, 118, 231 (pauses
    between two normal beats: non-conducted P waves, 2:1 AV block, which the truth counts as
    NN and hrv.clean splits as missed beats), 205 (+14.5 %) and 220 (+54.7 %, atrial premature
    beats it does not all correct). Margins: 2 points on the median, 2 records, 9 points on
    the worst.
    """
    errors = {
        r.name: abs(sinus_scores[r.name].rmssd_error) for r in records_of("sinus, occasional")
    }
    assert len(errors) == 25
    assert statistics.median(errors.values()) <= 0.08
    assert sum(e <= 0.10 for e in errors.values()) >= 16
    assert max(errors.values()) <= 0.70


def test_occasional_ectopy_pooled_detection(sinus_scores: dict[str, Score]) -> None:
    """Pooled over the 25 occasional-ectopy records. Measured: 766 of 939 non-normal beats
    found (81.6 %), 54.6 false-positive intervals per hour, interval F1 0.726."""
    p = pool([sinus_scores[r.name] for r in records_of("sinus, occasional")])
    assert p.found is not None and p.fp_per_hour is not None and p.f1 is not None
    assert p.found / p.n_ectopic >= 0.78
    assert p.fp_per_hour <= 60.0
    assert p.f1 >= 0.69


def test_frequent_ectopy_is_a_limit_but_correction_never_makes_rmssd_worse(
    sinus_scores: dict[str, Score],
) -> None:
    """Sinus records with >= 10 % ectopic beats (10 records: runs of bigeminy, trigeminy,
    tachycardia). Where ectopic beats are a quarter of the beats or more, the local quartiles
    of dRR are made of them and they stop looking abnormal: hrv.clean finds 1,522 of 6,234
    (pooled F1 0.369) and leaves RMSSD 320 % high on the median record (raw: 641 %; NeuroKit2
    alike, see the slow test). Asserted: the correction lowers |error| on every one of them,
    and the pooled F1 stays >= 0.33 (measured 0.369)."""
    frequent = records_of("sinus, frequent")
    assert len(frequent) == 10
    for rec in frequent:
        s = sinus_scores[rec.name]
        assert abs(s.rmssd_error) < abs(score_raw(rec).rmssd_error), rec.name
    p = pool([sinus_scores[r.name] for r in frequent])
    assert p.f1 is not None and p.f1 >= 0.33


@pytest.mark.slow
def test_side_by_side_with_neurokit2_on_the_sinus_records(
    sinus_scores: dict[str, Score], neurokit_scores: dict[str, tuple[Score, Score]]
) -> None:
    """hrv.clean against NeuroKit2 kubios on the 35 sinus records (about 10 s).

    Measured: hrvpace's |RMSSD error| <= NeuroKit2's on 21 of 35 records (iterative=False) and
    20 of 35 (iterative=True); median |error| over the 25 occasional-ectopy records 5.8 %
    against 8.8 % and 8.1 %; pooled F1 0.443 against 0.352 (iterative=False), with more of the
    ectopic beats found (2,288 against 1,805 of 7,173) but more false positives (47.2 against
    35.3 intervals per hour: 71 % of hrvpace's come from the paper's ectopic rule on normal
    short-long swings and from correcting the unflagged partner of an ectopic centre, not from
    the |mRR| > 3 rule or the quartile-deviation cap, see docs/mitdb_validation.md and
    ``python -m bench.clean_fp_attribution``). On the 25 occasional-ectopy records alone it is not
    worse on only 11 (iterative=False) and 10 (iterative=True): it loses on records with few
    ectopic beats, by flagging and smoothing normal variability (115, 122: -8.4 % and -7.0 %
    against -4.7 % and -3.7 %), and by splitting pauses between normal beats (105, 118). It wins
    on every frequent-ectopy record. Margins: 3 records of 35; the medians, found and F1 only
    need the order; false positives up to 1.5 times NeuroKit2's (measured 1.34).
    """
    names = [r.name for r in records_of("sinus")]
    ours = [sinus_scores[n] for n in names]
    for k in (0, 1):
        theirs = [neurokit_scores[n][k] for n in names]
        not_worse = sum(
            abs(a.rmssd_error) <= abs(b.rmssd_error) for a, b in zip(ours, theirs, strict=True)
        )
        assert not_worse >= 18, (k, not_worse)  # most of 35
        occasional = {r.name for r in records_of("sinus, occasional")}
        assert (
            pool([sinus_scores[n] for n in occasional]).median_abs_error
            < pool([neurokit_scores[n][k] for n in occasional]).median_abs_error
        )
    mine = pool(ours)
    single = pool([neurokit_scores[n][0] for n in names])
    assert mine.f1 is not None and single.f1 is not None and mine.f1 > single.f1
    assert mine.found is not None and single.found is not None and mine.found > single.found
    assert mine.fp_per_hour is not None and single.fp_per_hour is not None
    # more false positives than NeuroKit2 (measured 1.34 times) is a known cost, not a target:
    # only the upper bound is asserted, so that fewer passes
    assert mine.fp_per_hour <= 1.5 * single.fp_per_hour


@pytest.mark.slow
def test_side_by_side_with_neurokit2_on_record_100(record: Record) -> None:
    """NeuroKit2 finds the same beats (same classification) but its correction leaves RMSSD
    17-31 % high: it moves every flagged peak to the midpoint of its uncorrected neighbours,
    including the normal peak that ends the compensatory pause (see hrv/clean.py)."""
    ours = score_hrvpace(record)
    single = score_neurokit(record, iterative=False)
    multi = score_neurokit(record, iterative=True)
    assert single.found == single.n_ectopic
    assert single.f1 is not None and ours.f1 is not None
    assert abs(single.f1 - ours.f1) < 0.05
    assert single.rmssd_error > 0.15
    assert multi.rmssd_error > 0.10
    assert abs(ours.rmssd_error) < min(single.rmssd_error, multi.rmssd_error) / 5


# ---------------------------------------------------------------------------------------------
# Tables (python -m tests.hrv.test_clean_mitdb)
# ---------------------------------------------------------------------------------------------


def _fmt(value: float | int | None, spec: str) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:+.1f} %"


def table(scores: list[Score], rec: Record) -> str:
    """One record, one row per method (the record-100 table of README)."""
    head = (
        "| method | intervals flagged | ectopic beats found | false-positive intervals / h | F1 "
        f"| RMSSD (ms) | vs NN RMSSD {rec.nn_rmssd_ms:.2f} ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {s.method} | {_fmt(s.n_flagged, 'd')} | "
        + ("-" if s.found is None else f"{s.found} / {s.n_ectopic}")
        + f" | {_fmt(s.fp_per_hour, '.0f')} | {_fmt(s.f1, '.3f')} | {s.rmssd_ms:.2f} "
        f"| {_pct(s.rmssd_error)} |"
        for s in scores
    ]
    return "\n".join([head, *rows])


def per_record_table(rows: list[tuple[Record, list[Score]]], db: str = "mitdb") -> str:
    """One row per record: hrvpace, NeuroKit2 iterative=False and iterative=True side by side."""
    head = (
        "| record | group | beats | not normal | NN pauses | NN RMSSD (ms) | raw RMSSD "
        "| hrvpace found | FP/h | F1 | RMSSD | NK found | FP/h | F1 | RMSSD "
        "| NK iterative RMSSD |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for rec, (raw, ours, single, multi) in rows:
        cells = [
            rec.name,
            subgroup(rec, db),
            str(rec.sample.size),
            str(ours.n_ectopic),
            str(rec.nn_pauses),
            _fmt(rec.nn_rmssd_ms, ".1f"),
            _pct(raw.rmssd_error),
        ]
        for s in (ours, single):
            cells += [
                f"{s.found}",
                _fmt(s.fp_per_hour, ".0f"),
                _fmt(s.f1, ".3f"),
                _pct(s.rmssd_error),
            ]
        cells.append(_pct(multi.rmssd_error))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pooled_table(pooled: list[tuple[str, Pooled]]) -> str:
    head = (
        "| records | method | ectopic beats found | false-positive intervals / h | pooled F1 "
        "| median abs RMSSD error | worst (record) |\n"
        "|---|---|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {kind} ({p.records}) | {p.method} | "
        + ("-" if p.found is None else f"{p.found} / {p.n_ectopic}")
        + f" | {_fmt(p.fp_per_hour, '.1f')} | {_fmt(p.f1, '.3f')} "
        f"| {100 * p.median_abs_error:.1f} % | {100 * p.worst_abs_error:.1f} % ({p.worst_record}) |"
        for kind, p in pooled
    ]
    return "\n".join([head, *rows])


def main(db: str = "mitdb") -> None:
    """Print every table; ``db="svdb"`` (``python -m tests.hrv.test_clean_mitdb svdb``) the
    side-by-side and pooled tables of the locally built svdb file instead."""
    if db != "mitdb":
        require_fixture(db)
        side_by_side(db)
        return
    rec = load_record("100")
    raw = time_domain(rec.rr_ms).rmssd_ms
    print(f"record 100: {rec.sample.size} beats, {rec.hours * 60:.1f} min, raw RMSSD {raw:.2f} ms")
    print(
        table(
            [
                score_raw(rec),
                score_hrvpace(rec),
                score_neurokit(rec, iterative=False),
                score_neurokit(rec, iterative=True),
            ],
            rec,
        )
    )
    rows = [
        (
            r,
            [
                score_raw(r),
                score_hrvpace(r),
                score_neurokit(r, iterative=False),
                score_neurokit(r, iterative=True),
            ],
        )
        for r in load_records().values()
    ]
    print()
    print(per_record_table(rows))
    pooled: list[tuple[str, Pooled]] = []
    for kind in ("sinus", "sinus, occasional", "sinus, frequent", "af"):
        names = {r.name for r in records_of(kind)}
        for k in range(4):
            pooled.append((kind, pool([s[k] for r, s in rows if r.name in names])))
    print()
    print(pooled_table(pooled))
    for kind in ("sinus", "sinus, occasional", "sinus, frequent", "af"):
        names = {r.name for r in records_of(kind)}
        scores = [s for r, s in rows if r.name in names]
        for k, name in ((2, "iterative=False"), (3, "iterative=True")):
            better = sum(abs(s[1].rmssd_error) <= abs(s[k].rmssd_error) for s in scores)
            within = sum(abs(s[1].rmssd_error) <= 0.10 for s in scores)
            print(
                f"{kind}: hrvpace |RMSSD error| <= NeuroKit2 {name}'s on {better} of "
                f"{len(scores)} records; hrvpace within 10 % on {within}"
            )


def side_by_side(db: str) -> None:
    """hrvpace and NeuroKit2 on every record of ``db``: per record and pooled per category."""
    records = load_records(*DATABASES[db])
    rows = [
        (
            r,
            [
                score_raw(r),
                score_hrvpace(r),
                score_neurokit(r, iterative=False),
                score_neurokit(r, iterative=True),
            ],
        )
        for r in records.values()
    ]
    print(per_record_table(rows, db))
    pooled: list[tuple[str, Pooled]] = []
    for kind in ("sinus", "sinus, occasional", "sinus, frequent"):
        names = {r.name for r in records_of(kind, db)}
        for k in range(4):
            pooled.append((kind, pool([s[k] for r, s in rows if r.name in names])))
    print()
    print(pooled_table(pooled))
    for kind in ("sinus, occasional", "sinus, frequent"):
        names = {r.name for r in records_of(kind, db)}
        scores = [s for r, s in rows if r.name in names]
        better = sum(abs(s[1].rmssd_error) <= abs(s[2].rmssd_error) for s in scores)
        print(f"{kind}: hrvpace |RMSSD error| <= NeuroKit2's on {better} of {len(scores)} records")


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:2])
