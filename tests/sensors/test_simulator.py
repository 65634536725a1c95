"""The simulated person: determinism, timeline, resonance behaviour, artefacts, stress, source."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from hrv import breathing_response, lf_band, time_domain
from sensors import (
    Beat,
    BeatKind,
    SimulatedBeat,
    SimulatedPerson,
    SimulatorSource,
    SourceState,
    VirtualClock,
)


def arrays(beats: list[SimulatedBeat]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([b.t_s for b in beats]), np.array([b.rr_ms for b in beats])


def paced(rate_bpm: float):  # type: ignore[no-untyped-def]
    return lambda t_s: t_s * rate_bpm / 60.0


def clean_person(**kw: object) -> SimulatedPerson:
    return SimulatedPerson(ectopic_rate=0.0, missed_beat_rate=0.0, **kw)  # type: ignore[arg-type]


def test_same_seed_same_beats_other_seed_other_beats() -> None:
    a = SimulatedPerson(seed=7, dropout_rate=0.01).beats(300)
    b = SimulatedPerson(seed=7, dropout_rate=0.01).beats(300)
    c = SimulatedPerson(seed=8, dropout_rate=0.01).beats(300)
    assert a == b
    assert [x.rr_ms for x in a[:50]] != [x.rr_ms for x in c[:50]]


def test_timeline_is_running_sum_of_rr_except_after_gaps() -> None:
    beats = SimulatedPerson(seed=3, dropout_rate=0.01, dropout_s=(3.0, 6.0)).beats(900)
    assert any(b.gap_before for b in beats), "the seeded run should contain a dropout"
    for prev, b in itertools.pairwise(beats):
        assert b.t_s > prev.t_s
        if b.gap_before:
            assert b.t_s - prev.t_s >= b.rr_ms / 1000.0 + 1.0  # beats were lost in between
        else:
            assert b.t_s == pytest.approx(prev.t_s + b.rr_ms / 1000.0, abs=1e-9)


def test_mean_hr_and_plausible_rr() -> None:
    beats = clean_person(seed=1, mean_hr_bpm=72.0).beats(600)
    _, rr = arrays(beats)
    td = time_domain(rr)
    assert td.mean_hr_bpm == pytest.approx(72.0, abs=3.0)
    assert rr.min() > 300.0 and rr.max() < 2000.0
    assert td.rmssd_ms is not None and 15.0 < td.rmssd_ms < 80.0


def test_hr_follows_a_resonance_curve_when_breathing_with_a_pacer() -> None:
    """Amplitude peaks at the resonance; phase vs lung volume goes + (below), 0, - (above)."""
    res = 5.5
    rows = {}
    for rate in (4.0, 5.5, 7.5):
        beats = clean_person(seed=2, resonance_bpm=res, breathing=paced(rate)).beats(240)
        t, rr = arrays(beats)
        keep = t > 40.0  # let the resonator settle
        r = breathing_response(rr[keep], t_s=t[keep], rate_bpm=rate)
        assert r.phase_deg is not None and r.amplitude_bpm is not None
        rows[rate] = r
    assert rows[4.0].phase_deg > 35.0
    assert abs(rows[5.5].phase_deg) < 10.0
    assert rows[7.5].phase_deg < -35.0
    assert rows[5.5].amplitude_bpm > 1.3 * rows[4.0].amplitude_bpm
    assert rows[5.5].amplitude_bpm > 1.3 * rows[7.5].amplitude_bpm
    # rsa_gain_bpm is the peak-to-trough at resonance: amplitude ~ half of it
    assert rows[5.5].amplitude_bpm == pytest.approx(15.0 / 2, rel=0.2)


def test_rate_change_keeps_hr_continuous() -> None:
    """Switching the breathing rate mid-run does not make HR jump (time-domain resonator)."""

    def breathing(t_s: float) -> float:
        return t_s * 6.0 / 60.0 if t_s < 120.0 else 12.0 + (t_s - 120.0) * 4.5 / 60.0

    person = clean_person(seed=4, jitter_ms=0.0, mayer_amplitude_bpm=0.0, breathing=breathing)
    beats = person.beats(240)
    t = np.array([b.t_s for b in beats])
    step = np.abs(np.diff([b.hr_bpm for b in beats]))
    near = (t[1:] > 115.0) & (t[1:] < 130.0)
    assert near.any()
    # no beat-to-beat HR change around the switch beyond what breathing makes anyway
    assert step[near].max() <= step[~near].max()


def test_spontaneous_breathing_is_12_to_15_per_minute_with_mayer_waves_in_lf() -> None:
    p = clean_person(seed=5, mayer_amplitude_bpm=3.0)
    beats = p.beats(600)
    phase = beats[-1].breathing_phase_cycles - beats[0].breathing_phase_cycles
    rate = phase / (beats[-1].t_s - beats[0].t_s) * 60.0
    assert 11.0 < rate < 16.0
    t, rr = arrays(beats)
    lf = lf_band(rr, t_s=t)
    assert lf.lf_peak_hz is not None and 0.07 < lf.lf_peak_hz < 0.13


def test_ectopic_and_missed_beats_are_labelled_with_their_shape() -> None:
    beats = SimulatedPerson(seed=6, ectopic_rate=0.02, missed_beat_rate=0.01).beats(900)
    kinds = [b.kind for b in beats]
    assert BeatKind.ECTOPIC in kinds and BeatKind.MISSED in kinds
    _, rr = arrays(beats)
    normal = np.median(rr)
    for i, b in enumerate(beats):
        if b.kind is BeatKind.ECTOPIC:
            assert rr[i] < 0.8 * normal
            assert beats[i + 1].kind is BeatKind.COMPENSATORY and rr[i + 1] > 1.15 * normal
        elif b.kind is BeatKind.MISSED:
            assert rr[i] > 1.6 * normal


def test_stress_raises_hr_and_lowers_rmssd() -> None:
    calm = time_domain(arrays(clean_person(seed=9, stress=0.0).beats(300))[1])
    tense = time_domain(arrays(clean_person(seed=9, stress=1.0).beats(300))[1])
    assert tense.mean_hr_bpm > calm.mean_hr_bpm + 10.0  # type: ignore[operator]
    assert tense.rmssd_ms < 0.6 * calm.rmssd_ms  # type: ignore[operator]


def test_stress_can_be_a_function_of_time() -> None:
    p = clean_person(seed=10, stress=lambda t: 0.0 if t < 300 else 1.0)
    beats = p.beats(600)
    first = [b for b in beats if b.t_s < 300]
    second = [b for b in beats if b.t_s > 330]
    assert all(b.stress == 0.0 for b in first) and all(b.stress == 1.0 for b in second)
    hr1 = time_domain(arrays(first)[1]).mean_hr_bpm
    hr2 = time_domain(arrays(second)[1]).mean_hr_bpm
    assert hr2 > hr1 + 10.0  # type: ignore[operator]


@pytest.mark.parametrize(
    "kwargs", [{"mean_hr_bpm": 10.0}, {"resonance_bpm": 0.5}, {"ectopic_rate": -0.1}]
)
def test_bad_parameters_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SimulatedPerson(seed=1, **kwargs)  # type: ignore[arg-type]


async def test_source_streams_beats_on_a_virtual_clock() -> None:
    clock = VirtualClock(start=1000.0)
    person = SimulatedPerson(seed=11, dropout_rate=0.02)
    expected = SimulatedPerson(seed=11, dropout_rate=0.02).beats(120)
    source = SimulatorSource(person, clock=clock, duration_s=120.0)
    got: list[Beat] = []
    async with source:
        assert source.status.state is SourceState.STREAMING
        async for beat in source:
            got.append(beat)
    assert source.status.state is SourceState.ENDED
    assert [(b.t_s, b.rr_ms, b.gap_before) for b in got] == [
        (e.t_s, e.rr_ms, e.gap_before) for e in expected
    ]
    assert all(b.contact is True for b in got)
    # arrival times are the clock's: the start plus the beat time, dropouts waited through
    for b in got:
        assert b.arrived_at == pytest.approx(1000.0 + b.t_s, abs=1e-6)


async def test_source_speed_max_picks_a_virtual_clock_and_bad_speed_fails() -> None:
    before = time.time()
    source = SimulatorSource(SimulatedPerson(seed=1), speed="max", duration_s=30.0)
    assert isinstance(source.clock, VirtualClock)
    beats = []
    async with source:
        async for b in source:
            beats.append(b)
    assert 25 < len(beats) < 45
    # virtual time starts at the wall time of creation: arrivals carry today's date
    after = time.time()
    for b in beats:
        assert before + b.t_s - 1e-3 <= b.arrived_at <= after + b.t_s + 1e-3
    with pytest.raises(ValueError, match="speed"):
        SimulatorSource(SimulatedPerson(seed=1), speed=0.0)


async def test_contact_loss_is_delivered_with_contact_false() -> None:
    person = SimulatedPerson(seed=12, contact_loss_rate=0.01, contact_loss_s=(5.0, 10.0))
    source = SimulatorSource(person, clock=VirtualClock(), duration_s=600.0)
    got: list[Beat] = []
    async with source:
        async for beat in source:
            got.append(beat)
    lost = [b for b in got if b.contact is False]
    assert lost and len(lost) < len(got) / 2
    # losses come in runs of several seconds, and the RR is disturbed during them
    rr = np.array([b.rr_ms for b in got])
    contact = np.array([b.contact for b in got])
    assert np.std(np.diff(rr)[~contact[1:] & ~contact[:-1]]) > 2 * np.std(
        np.diff(rr)[contact[1:] & contact[:-1]]
    )
    again = SimulatedPerson(seed=12, contact_loss_rate=0.01, contact_loss_s=(5.0, 10.0))
    labels = [b.kind for b in again.beats(600.0)]
    assert labels.count(BeatKind.NO_CONTACT) == len(lost)


async def test_contact_loss_is_reported_as_a_strap_reports_it() -> None:
    """Each run of beats without contact is a NO_CONTACT status from its first beat and a
    STREAMING "contact back" at the next beat with contact, so the stretches a session keeps
    (``sensors.contact``) are the runs; one lasting to the end stays open."""
    from sensors.contact import ContactChanges, no_contact_stretches

    person = SimulatedPerson(seed=12, contact_loss_rate=0.01, contact_loss_s=(5.0, 10.0))
    source = SimulatorSource(person, clock=VirtualClock(), duration_s=600.0)
    statuses = []
    source.add_status_listener(statuses.append)
    got: list[Beat] = []
    state_at_beat: list[SourceState] = []
    async with source:
        async for beat in source:
            got.append(beat)
            state_at_beat.append(source.status.state)
    # the runs of beats without contact: (first beat's t_s, the next beat with contact's t_s)
    runs: list[tuple[float, float | None]] = []
    for prev, b in itertools.pairwise([None, *got]):
        if b.contact is False and (prev is None or prev.contact is not False):
            runs.append((b.t_s, None))
        elif b.contact is not False and prev is not None and prev.contact is False:
            runs[-1] = (runs[-1][0], b.t_s)
    assert len(runs) >= 3
    # while a beat without contact is delivered the source says so, and only then
    assert all(
        (st is SourceState.NO_CONTACT) == (b.contact is False)
        for b, st in zip(got, state_at_beat, strict=True)
    )
    lost = [s for s in statuses if s.state is SourceState.NO_CONTACT]
    assert [s.contact_t_s for s in lost] == [t for t, _ in runs]
    assert all("no skin contact" in s.message for s in lost)
    changes = ContactChanges()
    kept = [c for c in (changes.on_status(s) for s in statuses) if c is not None]
    stretches = no_contact_stretches(kept, [b.t_s for b in got if b.contact is not False])
    assert [(x.start_t_s, x.end_t_s) for x in stretches] == runs
    assert {x.ended_by for x in stretches} <= {"contact", "end"}


def test_breathing_lag_shifts_the_phase_against_the_pacer() -> None:
    """A person 1 s behind the pacer: HR vs the pacer's lung volume lags by 360 f tau degrees."""
    rate = 6.0
    phases = []
    for lag in (0.0, 1.0):
        person = clean_person(seed=13, breathing=paced(rate), breathing_lag_s=lag)
        t, rr = arrays(person.beats(300))
        keep = t > 40.0
        phases.append(breathing_response(rr[keep], t_s=t[keep], rate_bpm=rate).phase_deg)
    assert phases[0] is not None and phases[1] is not None
    assert phases[0] - phases[1] == pytest.approx(360.0 * rate / 60.0 * 1.0, abs=4.0)


def test_beats_and_next_beat_continue_one_stream() -> None:
    whole = SimulatedPerson(seed=14).beats(120.0)
    person = SimulatedPerson(seed=14)
    parts = person.beats(60.0)
    parts.append(person.next_beat())
    parts += person.beats(120.0)
    assert parts == whole


def test_follow_switches_breathing_to_the_given_phase_mid_session() -> None:
    """Pacing started mid-session: from then on the breathing phase is the pacer's."""
    person = SimulatedPerson(seed=3)
    before = person.beats(60.0)

    def pacer(t_s: float) -> float:
        return t_s * 6.0 / 60.0 + 0.25

    person.follow(pacer)
    after = person.beats(120.0)  # model time, absolute: the next 60 s
    assert len(after) > 40
    assert any(abs(b.breathing_phase_cycles - pacer(b.t_s)) > 0.05 for b in before)
    for b in after[5:]:
        assert b.breathing_phase_cycles == pytest.approx(pacer(b.t_s), abs=0.02)
