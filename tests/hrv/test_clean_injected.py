"""hrv.clean on ectopic shapes injected at random positions into raw real recordings.

Issue 12 item 1, beyond the friendly case of test_clean.py (which injects into series cleaned
until nothing is flagged, and only the shapes the correction undoes exactly):

- the recordings are used *raw*: the beats that hrv.clean already flags in the recording without
  injection (its own artefacts or physiological extremes) are left out of the scoring
  ("don't care"), every other beat counts, except the few whose label a harmless sham change at
  the same positions overturns (see :func:`injected`: the method's own noise floor);
- positions are uniformly random (at least 14 beats apart so that events do not overlap), not a
  grid, one event per 100 beats on average (and one per 40 for the mixed case);
- shapes (``SHAPES``): premature beat 15-40 % early with a full compensatory pause
  (``premature_comp``: a, b -> a(1-f), b + af) and without one (``premature_noncomp``: the
  sinus node is reset, a, b -> a(1-f), b), an interpolated beat (one interval split at 35-65 %),
  runs of 2-4 premature-compensatory couplets (bigeminy), a missed beat (two intervals merged)
  and an extra detection (one interval split at 15-85 %).

Truth: the intervals whose values the injection changed. The interval after a non-compensatory
premature beat keeps its normal length; in the ECG sense it starts at an ectopic beat, so it is
"don't care": labelling it or not are both right. RMSSD truth: the RMSSD of the same recording
cleaned without injection (the injection must not move the corrected RMSSD).

Measured when written (10 seeds each, F1 pooled over the seeds, RMSSD error per seed; command:
the tests below, or ``score`` per recording and shape): mixed shapes F1 0.979-0.989 (rest,
rrhealthy_000 hour 4, nsr001 hour 14), worst RMSSD error 4.9 %; per shape see ``PER_SHAPE_F1``
and README "Artefact correction against truth".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from hrv import BeatLabel, clean, time_domain
from tests.conftest import load_rr_ms

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SHAPES = (
    "premature_comp",
    "premature_noncomp",
    "interpolated",
    "bigeminy",
    "missed",
    "extra",
)

#: Lowest pooled F1 a shape must reach alone: 0.95, except non-compensatory premature beats,
#: 0.941 on rest and 0.940 on nsr001 hour 14 when written (0.963 on rrhealthy_000 hour 4). Not
#: a harness artefact (the sham and neighbour-of-a-flag rules move them by <= 0.01). Misses:
#: beats 15-20 % early whose next interval is also shorter than the one before the event, so
#: the rebound dRR stays under Th1 and the paper's short rule (S21 < -1 and S22 > 1) does not
#: fire, while |mRR| stays under 3 (nsr001: 21 of 360 injected intervals missed). False
#: positives (counted per label and offset in docs/noncomp_short_beat_protocol.md): on nsr001
#: 13 of 22 are the paper's long-beat pattern (S21 > 1 and S22 < -1) firing on a normal
#: interval one or two beats before the premature drop or a few beats away; the others are
#: neighbours labelled ectopic or short. Not a limit of local RR information (``python -m
#: bench.noncomp_bound``: detectors with an oracle threshold reach 0.989-0.999). Two candidate
#: changes, in three judgings by criteria written before each run, and none adopted
#: (docs/noncomp_short_beat_protocol.md): a short-beat rule (judged twice: more false positives
#: on annotated ECG) and a bound on the long-beat pattern (0.951-0.968 here, within the bounds on
#: annotated ECG, but it departs from the paper: agreement with NeuroKit2's implementation of it
#: falls below 90 %).
PER_SHAPE_F1 = {
    "premature_comp": 0.95,
    "premature_noncomp": 0.92,
    "interpolated": 0.95,
    "bigeminy": 0.95,
    "missed": 0.95,
    "extra": 0.95,
}

_NONCOMP_NEXT = -2  # origin code of the interval after a non-compensatory premature beat


@dataclass(frozen=True)
class Injected:
    rr: FloatArray
    truth: BoolArray  # intervals the injection changed
    dont_care: BoolArray  # beats already flagged without injection, post-noncomp intervals


def inject(
    rr: FloatArray, rng: np.random.Generator, n_events: int, shapes: tuple[str, ...]
) -> tuple[FloatArray, BoolArray, NDArray[np.int64]]:
    """Inject ``n_events`` events of the given shapes at random positions >= 14 beats apart.

    Returns the corrupted series, its truth mask and, per interval, the index of the original
    interval it is (-1 for an injected interval, ``_NONCOMP_NEXT`` for the interval after a
    non-compensatory premature beat).
    """
    n = rr.size
    positions: list[int] = []
    for _ in range(100 * n_events):
        if len(positions) == n_events:
            break
        p = int(rng.integers(20, n - 20))
        if all(abs(p - q) >= 14 for q in positions):
            positions.append(p)
    positions.sort()
    vals: list[float] = []
    origin: list[int] = []

    def keep(i0: int, i1: int) -> None:
        vals.extend(rr[i0:i1].tolist())
        origin.extend(range(i0, i1))

    def add(value: float, code: int = -1) -> None:
        vals.append(float(value))
        origin.append(code)

    last = 0
    for p in positions:
        keep(last, p)
        shape = shapes[int(rng.integers(len(shapes)))]
        a, b = rr[p], rr[p + 1]
        if shape == "premature_comp":
            f = rng.uniform(0.15, 0.40)
            add(a * (1 - f))
            add(b + a * f)
            last = p + 2
        elif shape == "premature_noncomp":
            f = rng.uniform(0.15, 0.40)
            add(a * (1 - f))
            add(b, _NONCOMP_NEXT)
            last = p + 2
        elif shape == "interpolated":
            g = rng.uniform(0.35, 0.65)
            add(a * g)
            add(a * (1 - g))
            last = p + 1
        elif shape == "bigeminy":
            k = int(rng.integers(2, 5))
            for j in range(k):
                f = rng.uniform(0.15, 0.40)
                x, y = rr[p + 2 * j], rr[p + 2 * j + 1]
                add(x * (1 - f))
                add(y + x * f)
            last = p + 2 * k
        elif shape == "missed":
            add(a + b)
            last = p + 2
        else:  # extra
            g = rng.uniform(0.15, 0.85)
            add(a * g)
            add(a * (1 - g))
            last = p + 1
    keep(last, n)
    org = np.asarray(origin, dtype=np.int64)
    return np.asarray(vals), org == -1, org


def event_starts(origin: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index, in the raw series, of the first interval each injected event replaced."""
    i = np.flatnonzero((origin[1:] < 0) & (origin[:-1] >= 0)) + 1
    return origin[i - 1] + 1


def sham(raw: FloatArray, starts: NDArray[np.int64]) -> FloatArray:
    """The raw series with the two intervals at each event position swapped: no artefact (the
    same values, the same timeline), but the threshold windows see a change of the same size."""
    out = raw.copy()
    out[starts], out[starts + 1] = raw[starts + 1], raw[starts]
    return out


#: Beyond this many intervals from a swapped pair a beat's classification sees the swap only
#: through the 91-beat quartile thresholds: its dRR subspaces reach 2 beats back and 3 ahead,
#: the 11-beat running median of mRR 5 either way.
_LOCAL_REACH = 5


def injected(
    raw: FloatArray,
    seed: int,
    shapes: tuple[str, ...],
    per_beats: int,
    *,
    sham_control: bool = True,
) -> Injected:
    """Inject, and mark the beats whose label cannot be scored ("don't care").

    Don't care: the beats hrv.clean flags in the raw recording; the interval after a
    non-compensatory premature beat; and the beats that the method flags in a *sham* of the
    same seed (the raw series with the two intervals at every event position swapped, see
    :func:`sham`) farther than ``_LOCAL_REACH`` intervals from every swap. The last group is the
    method's own noise floor: its thresholds are running quartiles of the same 91-beat window
    the injection changes, so a beat whose |dRR| sits at the threshold flips with any change of
    the window's content, artefact or not. Measured when written on rrhealthy_000 hour 4 (RR on
    a ~7.8-ms grid, 3 % of its beats flagged before injection), 10 seeds at the positions of the
    ``missed`` shape: the sham alone flips 65 beats there to flagged (and 45 back to normal),
    more than the 44 far flips the missed beats themselves cause; a beat whose raw label a
    harmless swap overturns has no stable reference label to be scored against.
    ``sham_control=False`` scores those beats too (the stricter count, kept visible in
    :func:`test_each_shape_alone`).
    """
    baseline = clean(raw).labels != BeatLabel.NORMAL
    rng = np.random.default_rng(seed)
    bad, truth, origin = inject(raw, rng, raw.size // per_beats, shapes)
    starts = event_starts(origin)
    near = np.zeros(raw.size, dtype=np.bool_)
    for p in starts.tolist():
        near[max(p - _LOCAL_REACH, 0) : p + 2 + _LOCAL_REACH] = True
    unstable = (clean(sham(raw, starts)).labels != BeatLabel.NORMAL) & ~near
    if not sham_control:
        unstable[:] = False
    dont = np.zeros(bad.size, dtype=np.bool_)
    kept = origin >= 0
    dont[kept] = (baseline | unstable)[origin[kept]]
    dont[origin == _NONCOMP_NEXT] = True
    return Injected(bad, truth, dont)


def rmssd_of(rr: FloatArray, gaps: BoolArray) -> float:
    value = time_domain(rr, gaps=gaps if gaps[1:].any() else None).rmssd_ms
    assert value is not None
    return value


def score(
    raw: FloatArray,
    shapes: tuple[str, ...],
    *,
    per_beats: int,
    seeds: int,
    sham_control: bool = True,
) -> tuple[float, list[float]]:
    """Pooled F1 over ``seeds`` injections and the relative RMSSD error of each."""
    ref_clean = clean(raw)
    ref = rmssd_of(np.asarray(ref_clean.rr_ms), np.asarray(ref_clean.gaps))
    tp = fp = fn = 0
    errors: list[float] = []
    for seed in range(seeds):
        case = injected(raw, seed, shapes, per_beats, sham_control=sham_control)
        result = clean(case.rr)
        pred = result.labels != BeatLabel.NORMAL
        counted = ~case.dont_care
        tp += int(np.sum(pred & case.truth & counted))
        fp += int(np.sum(pred & ~case.truth & counted))
        fn += int(np.sum(~pred & case.truth & counted))
        errors.append(rmssd_of(np.asarray(result.rr_ms), np.asarray(result.gaps)) / ref - 1.0)
    return 2 * tp / (2 * tp + fp + fn), errors


def load_recordings(shared_data: Path) -> dict[str, FloatArray]:
    """Raw real recordings: the supine rest recording (910 beats), hour 4 of rrhealthy_000
    (night, strong variability) and hour 14 of nsr2db nsr001 (day, 128-Hz beat times)."""
    rest = load_rr_ms(shared_data / "hrvpkg_rest_rri_ms.txt", units="ms")
    h0 = load_rr_ms(shared_data / "rrhealthy_000_rr_ms.txt", units="ms")
    t0 = np.cumsum(h0) / 1000.0
    nsr = load_rr_ms(shared_data / "nsr2db_nsr001_rr_secs.txt", units="s", skip_first_line=True)
    tn = np.cumsum(nsr) / 1000.0
    return {
        "rest": rest,
        "rrhealthy_000_h4": h0[(t0 > 3 * 3600) & (t0 <= 4 * 3600)],
        "nsr001_h14": nsr[(tn > 13 * 3600) & (tn <= 14 * 3600)],
    }


@pytest.fixture(scope="module")
def recordings(shared_data: Path) -> dict[str, FloatArray]:
    """The recordings of :func:`load_recordings` (also used by bench/noncomp_bound.py)."""
    return load_recordings(shared_data)


def test_injection_makes_the_truth_it_claims(recordings: dict[str, FloatArray]) -> None:
    """The harness itself: every shape changes the intervals it marks and nothing else, and the
    raw RMSSD of an injected series is far from the clean one (the test can fail)."""
    raw = recordings["rest"]
    for shape in SHAPES:
        rng = np.random.default_rng(3)
        bad, truth, origin = inject(raw, rng, 8, (shape,))
        kept = origin >= 0
        np.testing.assert_array_equal(bad[kept], raw[origin[kept]])
        assert truth.sum() >= 8
        if shape in ("premature_comp", "missed", "extra", "interpolated", "bigeminy"):
            assert bad.sum() == pytest.approx(raw.sum())  # the timeline is kept
        assert abs(time_domain(bad).rmssd_ms / time_domain(raw).rmssd_ms - 1) > 0.1  # type: ignore[operator]
        # the sham swaps the two intervals at each event position: same values, same timeline
        starts = event_starts(origin)
        assert starts.size == 8
        assert starts[0] == origin[truth.argmax() - 1] + 1
        fake = sham(raw, starts)
        np.testing.assert_array_equal(np.sort(fake), np.sort(raw))
        assert np.count_nonzero(fake != raw) <= 2 * starts.size


@pytest.mark.parametrize("name", ["rest", "rrhealthy_000_h4", "nsr001_h14"])
@pytest.mark.parametrize("per_beats", [100, 40])
def test_mixed_shapes_at_random_positions(
    name: str, per_beats: int, recordings: dict[str, FloatArray]
) -> None:
    f1, errors = score(recordings[name], SHAPES, per_beats=per_beats, seeds=10)
    assert f1 >= 0.95
    if per_beats == 100:
        assert max(abs(e) for e in errors) <= 0.05
    else:  # 2.5 % of beats are events, some clustered: measured worst 6.7 %, median <= 3.3 %
        assert float(np.median(np.abs(errors))) <= 0.05
        assert max(abs(e) for e in errors) <= 0.08


@pytest.mark.slow
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["rest", "rrhealthy_000_h4", "nsr001_h14"])
def test_each_shape_alone(name: str, shape: str, recordings: dict[str, FloatArray]) -> None:
    """Each shape alone, one event per 100 beats. RMSSD: the median seed within 5 %, the worst
    within 7 %: bigeminy in the 910-beat rest recording, seed 0, is +6.0 % because two runs (4
    and 3 couplets) start 21 beats apart, so about 16 of the 91 dRR of their threshold window
    are artefactual, Th1 rises to 380-440 ms (QD is capped at 1.25 times the median, but that
    median is inflated too) and the 15 %-premature middle couplet of the second run (its pause
    at dRR 0.90 Th1) is left uncorrected."""
    f1, errors = score(recordings[name], (shape,), per_beats=100, seeds=10)
    assert f1 >= PER_SHAPE_F1[shape]
    assert float(np.median(np.abs(errors))) <= 0.05
    assert max(abs(e) for e in errors) <= 0.07
    # the stricter count, without the sham control (threshold flips far from any event count as
    # false positives): measured 0.928 at worst (missed, rrhealthy_000 hour 4), so a change of
    # the method that adds such flips stays visible here
    strict, _ = score(recordings[name], (shape,), per_beats=100, seeds=10, sham_control=False)
    assert strict >= 0.92
