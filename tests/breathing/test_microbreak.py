"""Micro-break monitor: simulated stress, real recordings, cooldown, poor signal, breaks.

The simulated person (sensors.SimulatedPerson) is real code, seeded; its ``stress`` raises HR
by up to 20 bpm and shrinks RSA and beat-to-beat jitter (lower RMSSD). Windows come from the
real hrv.LiveAnalyser, which judges every beat once and gives each window its signal quality.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breathing import (
    Baseline,
    BreakEffect,
    BreakKind,
    BreathingError,
    MicroBreakDue,
    MicroBreakEvent,
    MicroBreakMonitor,
    MicroBreakSettings,
    ReasonCode,
)
from breathing.baseline import POPULATION_HR_MEAN_BPM, POPULATION_LN_RMSSD_MEAN
from hrv import LiveAnalyser, StreamingAnalyser, WindowMetrics
from sensors import SimulatedPerson, read_recording
from tests.conftest import shared_data_dir

DATA = shared_data_dir()
ONSET_S = 600.0


def _stress_after(onset_s: float) -> Callable[[float], float]:
    return lambda t: 0.0 if t < onset_s else 1.0


def run_person(
    person: SimulatedPerson,
    duration_s: float,
    *,
    monitor: MicroBreakMonitor | None = None,
    step_s: float = 10.0,
    contact: bool | None = True,
    local_time: time | None = None,
) -> tuple[list[MicroBreakEvent], MicroBreakMonitor, list[tuple[float, bool, str]]]:
    """Simulated beats -> live analyser -> monitor; events and per-window status."""
    an = LiveAnalyser(window_s=60.0, step_s=step_s, metrics=("time",))
    mon = monitor or MicroBreakMonitor()
    events: list[MicroBreakEvent] = []
    statuses: list[tuple[float, bool, str]] = []
    for b in person.beats(duration_s):
        for w in an.push(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=contact):
            events += mon.on_window(w, local_time=local_time)
            st = mon.status
            statuses.append((st.t_s, st.valid, st.invalid_reason))
    return events, mon, statuses


def flags(events: list[MicroBreakEvent]) -> list[MicroBreakDue]:
    return [e for e in events if isinstance(e, MicroBreakDue)]


_JARGON = re.compile(r"\bSD\b|\bz\b|\bln|RMSSD|HRV|bpm|baseline|\d+\.\d")


def assert_plain(summary: str) -> None:
    """A flag's summary is one plain sentence or two: no statistics, no metric names."""
    assert summary and not _JARGON.search(summary), summary


def window(t_s: float, *, rmssd_ms: float, hr_bpm: float, n_beats: int = 70) -> WindowMetrics:
    return WindowMetrics(
        t_s=t_s,
        n_beats=n_beats,
        rmssd_ms=rmssd_ms,
        ln_rmssd=math.log(rmssd_ms),
        mean_hr_bpm=hr_bpm,
    )


def feed(
    mon: MicroBreakMonitor,
    t0: float,
    t1: float,
    *,
    rmssd_ms: float,
    hr_bpm: float,
    quality: float = 1.0,
    contact: bool | None = True,
    n_beats: int = 70,
    local_time: time | None = None,
    step_s: float = 10.0,
) -> list[MicroBreakEvent]:
    """Synthetic windows ending at t0, t0 + step, ... < t1 (a little noise keeps SDs honest)."""
    rng = np.random.default_rng(int(t0))
    out: list[MicroBreakEvent] = []
    for t in np.arange(t0, t1, step_s):
        r = rmssd_ms * math.exp(0.05 * rng.standard_normal())
        h = hr_bpm + 0.5 * rng.standard_normal()
        out += mon.on_window(
            window(float(t), rmssd_ms=r, hr_bpm=h, n_beats=n_beats),
            contact=contact,
            quality=quality,
            local_time=local_time,
        )
    return out


# -- baseline -----------------------------------------------------------------------------------


def test_population_default_is_nunan_2010() -> None:
    b = Baseline.population()
    assert b.rmssd_ms == pytest.approx(42.0)
    assert b.ln_rmssd_sd == pytest.approx(15.0 / 42.0)
    assert b.hr_mean_bpm == pytest.approx(60000.0 / 926.0)
    assert b.hr_sd_bpm == pytest.approx(60000.0 / 926.0 * 90.0 / 926.0)
    assert b.personal_s == 0.0 and b.weight_s == 300.0


def test_baseline_update_is_the_weighted_mean_and_variance_with_the_prior() -> None:
    rng = np.random.default_rng(3)
    ln = 3.2 + 0.2 * rng.standard_normal(50)
    hr = 72.0 + 3.0 * rng.standard_normal(50)
    b = Baseline.population(prior_weight_s=300.0)
    for x, h in zip(ln, hr, strict=True):
        b = b.updated(float(x), float(h), weight_s=10.0, memory_s=1e9)
    # the prior is 300 s of pseudo-data with the population mean and variance
    w = np.concatenate([[300.0], np.full(50, 10.0)])
    for values, m0, sd0, mean, sd in (
        (ln, POPULATION_LN_RMSSD_MEAN, 15 / 42, b.ln_rmssd_mean, b.ln_rmssd_sd),
        (hr, POPULATION_HR_MEAN_BPM, Baseline.population().hr_sd_bpm, b.hr_mean_bpm, b.hr_sd_bpm),
    ):
        x = np.concatenate([[m0], values])
        m = np.average(x, weights=w)
        var = (300.0 * (sd0**2 + (m0 - m) ** 2) + 10.0 * np.sum((values - m) ** 2)) / w.sum()
        assert mean == pytest.approx(m, rel=1e-12)
        assert sd == pytest.approx(math.sqrt(var), rel=1e-9)
    assert b.personal_s == pytest.approx(500.0)
    assert b.weight_s == pytest.approx(800.0)


def test_baseline_forgets_exponentially_beyond_memory() -> None:
    b = Baseline.population()
    shares = []
    for _ in range(4000):
        b = b.updated(math.log(20.0), 80.0, weight_s=10.0, memory_s=3600.0)
        shares.append((80.0 - b.hr_mean_bpm) / (80.0 - POPULATION_HR_MEAN_BPM))
    assert b.weight_s == pytest.approx(3600.0)
    # once the cap is reached the prior's share shrinks by (1 - 10/3600) per window
    assert shares[2001] / shares[2000] == pytest.approx(1.0 - 10.0 / 3600.0)
    assert b.rmssd_ms == pytest.approx(20.0, rel=1e-3)  # the population prior is forgotten
    assert b.hr_mean_bpm == pytest.approx(80.0, abs=0.01)
    assert b.personal_s == pytest.approx(40000.0)  # never forgotten


def test_baseline_round_trips_through_a_dict_and_rejects_bad_data() -> None:
    b = Baseline.population().updated(3.5, 70.0, weight_s=10.0, memory_s=1000.0)
    assert Baseline.from_dict(b.to_dict()) == b
    with pytest.raises(BreathingError, match="lacks hr_sd_bpm"):
        Baseline.from_dict({k: v for k, v in b.to_dict().items() if k != "hr_sd_bpm"})
    with pytest.raises(BreathingError, match="hr_mean_bpm must be finite"):
        Baseline.from_dict({**b.to_dict(), "hr_mean_bpm": float("nan")})
    with pytest.raises(BreathingError, match="weight_s < memory_s"):
        b.updated(3.5, 70.0, weight_s=10.0, memory_s=5.0)


# -- the simulated person ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_stress_is_flagged_within_minutes_and_calm_is_not(seed: int) -> None:
    person = SimulatedPerson(seed=seed, stress=_stress_after(ONSET_S))
    events, mon, _ = run_person(person, ONSET_S + 900.0)
    got = flags(events)
    assert got, "stress not flagged"
    first = got[0]
    assert ONSET_S < first.t_s <= ONSET_S + 300.0  # within 5 minutes of the onset
    assert first.reason.code is ReasonCode.STRESS
    assert first.suggestion.kind is BreakKind.BREATHING
    assert first.suggestion.duration_s == 120.0
    assert first.ln_rmssd_z is not None and first.ln_rmssd_z <= -1.0
    assert first.hr_z is not None and first.hr_z >= 0.5
    assert "SD below your baseline" in first.reason.details and "bpm" in first.reason.details
    assert_plain(first.reason.summary)
    assert "higher and steadier than usual" in first.reason.summary
    # cooldown: 15 stressed minutes give one flag (the cooldown is 20 min)
    assert len(got) == 1
    # the baseline was learned from the calm part only
    assert mon.baseline.personal_s >= 400.0
    assert 55.0 < mon.baseline.hr_mean_bpm < 75.0


@pytest.mark.parametrize("seed", [3, 4])
def test_calm_stretch_is_never_flagged(seed: int) -> None:
    events, mon, statuses = run_person(SimulatedPerson(seed=seed), 1500.0)
    assert flags(events) == []
    assert all(valid for _, valid, _ in statuses)
    assert mon.status.stress_load_min < 1.0


def test_flag_repeats_only_after_the_cooldown_and_then_suggests_a_walk() -> None:
    person = SimulatedPerson(seed=5, stress=_stress_after(ONSET_S))
    events, _, _ = run_person(person, ONSET_S + 2100.0)
    got = flags(events)
    assert len(got) == 2
    assert got[1].t_s - got[0].t_s >= 1200.0
    assert got[1].t_s - got[0].t_s <= 1200.0 + 30.0  # still stressed: again right after
    assert got[1].suggestion.kind is BreakKind.WALK  # a second stress flag within an hour


def test_window_rate_does_not_change_the_decision() -> None:
    t10 = flags(run_person(SimulatedPerson(seed=1, stress=_stress_after(ONSET_S)), 1200.0)[0])
    t5 = flags(
        run_person(SimulatedPerson(seed=1, stress=_stress_after(ONSET_S)), 1200.0, step_s=5.0)[0]
    )
    assert len(t10) == len(t5) == 1
    assert abs(t10[0].t_s - t5[0].t_s) <= 20.0


def test_same_inputs_give_the_same_flags() -> None:
    a = run_person(SimulatedPerson(seed=7, stress=_stress_after(ONSET_S)), 1000.0)[0]
    b = run_person(SimulatedPerson(seed=7, stress=_stress_after(ONSET_S)), 1000.0)[0]
    assert a == b and flags(a)


# -- poor signal never flags --------------------------------------------------------------------


def test_no_contact_never_flags() -> None:
    person = SimulatedPerson(seed=1, stress=_stress_after(ONSET_S))
    events, mon, statuses = run_person(person, ONSET_S + 900.0, contact=False)
    assert flags(events) == []
    # every beat without contact is left out by the one NN verdict: no window is ever made
    assert statuses == [] and mon.status.invalid_reason == "no window yet"
    assert mon.baseline == Baseline.population()  # nothing learned from a strap off the skin


def test_dropouts_never_flag() -> None:
    person = SimulatedPerson(
        seed=1, stress=_stress_after(ONSET_S), dropout_rate=0.05, dropout_s=(3.0, 8.0)
    )
    events, _, statuses = run_person(person, ONSET_S + 900.0)
    assert flags(events) == []
    invalid = [r for _, valid, r in statuses if not valid]
    assert len(invalid) > 0.9 * len(statuses)
    assert all("signal quality" in r for r in invalid)


def test_simulated_contact_losses_neither_flag_nor_pollute_the_baseline() -> None:
    """A strap sliding off now and then: ~120 ms of RR noise while contact=False."""
    clean_run = run_person(SimulatedPerson(seed=6), 1200.0, contact=None)[1]
    person = SimulatedPerson(seed=6, contact_loss_rate=0.004, contact_loss_s=(5.0, 20.0))
    an = LiveAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    raw = StreamingAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))  # every beat
    mon = MicroBreakMonitor()
    events: list[MicroBreakEvent] = []
    raw_rmssd: list[float] = []
    n_lost = 0
    for b in person.beats(1200.0):
        n_lost += not b.contact
        raw_rmssd += [w.rmssd_ms or 0.0 for w in raw.push(b.rr_ms, gap_before=b.gap_before)]
        for w in an.push(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=b.contact):
            events += mon.on_window(w)
    assert n_lost > 20  # the losses happened
    assert max(raw_rmssd) > 2.0 * clean_run.baseline.rmssd_ms  # and wreck the raw RMSSD
    assert flags(events) == []
    assert mon.baseline.rmssd_ms == pytest.approx(clean_run.baseline.rmssd_ms, rel=0.15)


@pytest.mark.parametrize(
    ("quality", "contact", "n_beats", "why"),
    [
        (0.85, True, 70, "signal quality 85% below 90%"),
        (1.0, False, 70, "no skin contact"),
        (1.0, None, 12, "12 beats in the window"),
    ],
)
def test_stressed_windows_with_poor_signal_never_flag(
    quality: float, contact: bool | None, n_beats: int, why: str
) -> None:
    mon = MicroBreakMonitor()
    assert feed(mon, 60.0, 660.0, rmssd_ms=45.0, hr_bpm=62.0) == []  # calm, warms up
    got = feed(
        mon, 660.0, 2400.0, rmssd_ms=12.0, hr_bpm=80.0, quality=quality, contact=contact,
        n_beats=n_beats,
    )  # fmt: skip
    assert flags(got) == []
    assert mon.status.invalid_reason.startswith(why)
    assert mon.status.stress_load_min == 0.0


def test_contact_unknown_is_accepted() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 660.0, rmssd_ms=45.0, hr_bpm=62.0, contact=None)
    got = flags(feed(mon, 660.0, 1200.0, rmssd_ms=12.0, hr_bpm=80.0, contact=None))
    assert [f.reason.code for f in got] == [ReasonCode.STRESS]


def test_no_stress_flag_before_the_baseline_is_warm() -> None:
    # a person whose resting state looks "stressed" against the population default
    mon = MicroBreakMonitor()
    got = feed(mon, 60.0, 1800.0, rmssd_ms=18.0, hr_bpm=82.0)
    assert flags(got) == []
    assert mon.baseline.hr_mean_bpm > 78.0  # learned the person's own resting state


# -- physical activity is not stress -------------------------------------------------------------


def test_physical_activity_is_excluded_with_its_ramp_and_recovery() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 600.0, rmssd_ms=45.0, hr_bpm=62.0)
    # a 60-s ramp that looks like stress, then cycling at +45 bpm, then recovery at +12 bpm
    events = feed(mon, 600.0, 660.0, rmssd_ms=15.0, hr_bpm=78.0)
    events += feed(mon, 660.0, 2400.0, rmssd_ms=8.0, hr_bpm=107.0)
    assert mon.status.activity
    events += feed(mon, 2400.0, 2400.0 + 590.0, rmssd_ms=18.0, hr_bpm=74.0)
    assert flags(events) == []
    assert mon.status.activity  # still recovering
    assert mon.status.stress_load_min == 0.0
    assert mon.baseline.hr_mean_bpm < 65.0  # nothing learned from exercise or recovery


def test_real_exercise_recording_cycling_is_activity_not_stress() -> None:
    """hrvpkg_exercise_rri.hrm: ~5 min seated rest, ~30 min cycling, ~5 min recovery.

    Observed: rest at 74-78 bpm (RMSSD 24-31 ms) becomes the baseline; cycling at 99-107 bpm
    (RMSSD 7-15 ms) is > 25 bpm above it from ~7 min on and excluded as activity; the few
    minutes of recovery at the end (80-84 bpm, RMSSD 20-27 ms) fall in the 10-min recovery
    exclusion. No flag.
    """
    rec = read_recording(DATA / "hrvpkg_exercise_rri.hrm")
    an = LiveAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    mon = MicroBreakMonitor()
    events: list[MicroBreakEvent] = []
    activity: list[tuple[float, bool]] = []
    t_rel = (rec.t_s - rec.start_s).tolist()
    for t, rr, gap in zip(t_rel, rec.rr_ms.tolist(), rec.gaps.tolist(), strict=True):
        for w in an.push(t, rr, gap_before=gap, contact=None):
            events += mon.on_window(w)
            activity.append((w.t_s, mon.status.activity))
    assert flags(events) == []
    cycling = [a for t, a in activity if 480.0 <= t <= 2100.0]
    assert len(cycling) > 150 and all(cycling)
    rest = [a for t, a in activity if t <= 360.0]
    assert rest and not any(rest)
    assert 70.0 < mon.baseline.hr_mean_bpm < 80.0


# -- time on task, quiet hours, snooze ---------------------------------------------------------


def test_time_on_task_flags_after_90_minutes_and_a_break_resets_it() -> None:
    mon = MicroBreakMonitor()
    events = feed(mon, 60.0, 5500.0, rmssd_ms=45.0, hr_bpm=62.0)
    got = flags(events)
    assert len(got) == 1
    assert got[0].reason.code is ReasonCode.TIME_ON_TASK
    assert got[0].t_s == pytest.approx(5400.0)  # 90 min after the session began (t = 0)
    assert got[0].suggestion.kind is BreakKind.SCREEN
    assert got[0].suggestion.duration_s == 600.0
    assert "90 minutes without a break" in got[0].reason.details
    assert_plain(got[0].reason.summary)
    assert "90 minutes" in got[0].reason.summary
    mon.start_break(5500.0, BreakKind.SCREEN)
    mon.end_break(6100.0)
    assert mon.status.time_on_task_s == 0.0
    later = flags(feed(mon, 6110.0, 6100.0 + 5390.0, rmssd_ms=45.0, hr_bpm=62.0))
    assert later == []


def test_acknowledge_needs_a_flag_as_end_break_needs_a_break() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 600.0, rmssd_ms=45.0, hr_bpm=62.0)  # calm: no flag
    with pytest.raises(BreathingError, match="no flag has been raised"):
        mon.acknowledge(600.0)
    with pytest.raises(BreathingError, match="no break is running"):
        mon.end_break(600.0)
    got = flags(feed(mon, 610.0, 5500.0, rmssd_ms=45.0, hr_bpm=62.0))  # 90 min on task
    assert len(got) == 1
    (ack,) = mon.acknowledge(5500.0)
    assert ack.flag_t_s == got[0].t_s


def test_unheeded_time_on_task_is_repeated_every_30_minutes_not_every_cooldown() -> None:
    mon = MicroBreakMonitor()
    got = flags(feed(mon, 60.0, 9005.0, rmssd_ms=45.0, hr_bpm=62.0))
    assert [f.t_s for f in got] == pytest.approx([5400.0, 7200.0, 9000.0])
    assert all(f.reason.code is ReasonCode.TIME_ON_TASK for f in got)


def test_an_absence_counts_as_a_break() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 3000.0, rmssd_ms=45.0, hr_bpm=62.0)
    # strap off for 15 minutes (no windows), then back
    got = flags(feed(mon, 3900.0, 3900.0 + 5000.0, rmssd_ms=45.0, hr_bpm=62.0))
    assert got == []
    assert mon.status.time_on_task_s < 5400.0


def test_quiet_hours_suppress_flags_and_wrap_midnight() -> None:
    for local, expect in ((time(23, 30), 0), (time(6, 59), 0), (time(7, 0), 1), (time(14), 1)):
        mon = MicroBreakMonitor()
        feed(mon, 60.0, 660.0, rmssd_ms=45.0, hr_bpm=62.0)
        got = flags(feed(mon, 660.0, 1200.0, rmssd_ms=12.0, hr_bpm=80.0, local_time=local))
        assert len(got) == expect, local


def test_snooze_holds_flags_until_it_ends() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 660.0, rmssd_ms=45.0, hr_bpm=62.0)
    (ev,) = mon.snooze(660.0, 30)
    assert ev.until_s == 660.0 + 1800.0
    got = flags(feed(mon, 660.0, 3000.0, rmssd_ms=12.0, hr_bpm=80.0))
    assert len(got) == 1 and got[0].t_s >= 2460.0


# -- breaks and their effect ------------------------------------------------------------------


def test_break_effect_reports_rmssd_before_during_and_after() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 660.0, rmssd_ms=45.0, hr_bpm=62.0)
    flagged = flags(feed(mon, 660.0, 900.0, rmssd_ms=15.0, hr_bpm=78.0))
    assert len(flagged) == 1
    assert 660.0 < flagged[0].t_s < 890.0
    t0 = 900.0
    (started,) = mon.start_break(t0, "breathing")
    assert started.reason is ReasonCode.STRESS and mon.in_break
    assert flags(feed(mon, t0 + 10.0, t0 + 130.0, rmssd_ms=80.0, hr_bpm=64.0)) == []
    (ended,) = mon.end_break(t0 + 120.0)
    assert ended.start_t_s == t0 and ended.kind is BreakKind.BREATHING
    events = feed(mon, t0 + 130.0, t0 + 500.0, rmssd_ms=35.0, hr_bpm=66.0)
    effects = [e for e in events if isinstance(e, BreakEffect)]
    assert len(effects) == 1 and mon.breaks == (effects[0],)
    eff = effects[0]
    assert eff.t_s > t0 + 120.0 + 60.0 + 120.0
    assert eff.rmssd_before_ms == pytest.approx(15.0, rel=0.1)
    assert eff.rmssd_during_ms == pytest.approx(80.0, rel=0.1)
    assert eff.rmssd_after_ms == pytest.approx(35.0, rel=0.1)
    assert eff.hr_before_bpm == pytest.approx(78.0, abs=1.0)
    assert eff.rmssd_after_ms is not None and eff.rmssd_before_ms is not None
    assert eff.rmssd_change_pct == pytest.approx(
        (eff.rmssd_after_ms - eff.rmssd_before_ms) / eff.rmssd_before_ms * 100.0
    )
    assert eff.n_windows_before >= 10 and eff.n_windows_during >= 5 and eff.n_windows_after >= 10
    # the cooldown runs from the end of the break
    assert mon.status.next_flag_allowed_s >= t0 + 120.0 + 1200.0


def test_finish_reports_a_break_whose_after_period_is_cut_short() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 400.0, rmssd_ms=45.0, hr_bpm=62.0)
    mon.start_break(400.0, BreakKind.WALK)
    (effect, *_) = [e for e in mon.finish(500.0) if isinstance(e, BreakEffect)]
    assert effect.reason is None and effect.kind is BreakKind.WALK
    assert effect.rmssd_after_ms is None and effect.rmssd_change_pct is None
    assert effect.rmssd_before_ms == pytest.approx(45.0, rel=0.1)


def test_sim_break_after_a_flag_restores_rmssd() -> None:
    """Stress, flag, a breathing break (stress off during and after it): RMSSD recovers."""
    flag_at: list[float] = []

    def stress(t: float) -> float:
        return 1.0 if t >= ONSET_S and not (flag_at and t >= flag_at[0]) else 0.0

    person = SimulatedPerson(seed=1, stress=stress)
    an = LiveAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    mon = MicroBreakMonitor()
    effects: list[BreakEffect] = []
    while (b := person.next_beat()).t_s < 1500.0:  # beat by beat: stress reacts to the flag
        for w in an.push(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=True):
            for e in mon.on_window(w):
                if isinstance(e, MicroBreakDue) and not flag_at:
                    flag_at.append(e.t_s)
                    mon.start_break(e.t_s, e.suggestion.kind)
                if isinstance(e, BreakEffect):
                    effects.append(e)
            if flag_at and mon.in_break and w.t_s >= flag_at[0] + 120.0:
                mon.end_break(w.t_s)
    assert len(effects) == 1
    eff = effects[0]
    assert eff.rmssd_before_ms is not None and eff.rmssd_after_ms is not None
    assert eff.rmssd_after_ms > 2.0 * eff.rmssd_before_ms
    assert eff.rmssd_change_pct is not None and eff.rmssd_change_pct > 100.0


# -- live windows ------------------------------------------------------------------------------


def test_a_live_window_brings_its_own_time_quality_and_contact() -> None:
    """The monitor reads a hrv.LiveWindow's beat-time end, quality and contact; explicit
    keywords override them, and bare metrics without a quality are refused."""
    an = LiveAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    rr = [800.0 + 10.0 * math.sin(i) for i in range(100)]
    t = np.cumsum(rr) / 1000.0
    t[80:] += 30.0  # a gap of 30 s; with the 15 beats left out the NN clock falls further back
    windows = [
        w
        for i, (ti, x) in enumerate(zip(t.tolist(), rr, strict=True))
        for w in an.push(ti, x, gap_before=i == 80, contact=not 20 <= i < 35)
    ]
    (w,) = windows
    assert w.t_s == pytest.approx(w.t_nn_s + 30.0 + sum(rr[20:35]) / 1000.0)
    assert w.signal.contact is False
    mon = MicroBreakMonitor()
    mon.on_window(w)
    assert mon.status.t_s == w.t_s and mon.status.invalid_reason == "no skin contact"
    mon.on_window(w, contact=True, t_s=w.t_s + 5.0)  # an explicit contact overrides
    assert mon.status.invalid_reason.startswith("signal quality")  # 15 of ~90 beats lost
    with pytest.raises(BreathingError, match="quality must be in"):
        mon.on_window(w.metrics, t_s=w.t_s + 10.0)


# -- errors ---------------------------------------------------------------------------------------


def test_a_window_ending_just_before_a_user_action_is_accepted() -> None:
    """Live: the user acts at the last beat's time; the next window may end a moment earlier."""
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 200.0, rmssd_ms=45.0, hr_bpm=62.0)  # last window at 190
    mon.start_break(196.0, BreakKind.WALK)
    assert mon.on_window(window(195.0, rmssd_ms=45.0, hr_bpm=62.0), contact=True, quality=1.0) == []
    assert mon.status.t_s == 196.0
    with pytest.raises(BreathingError, match="earlier than the previous time 196"):
        mon.on_window(window(194.0, rmssd_ms=45.0, hr_bpm=62.0), contact=True, quality=1.0)


def test_bad_calls_raise_breathing_errors_naming_the_problem() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 200.0, rmssd_ms=45.0, hr_bpm=62.0)
    with pytest.raises(BreathingError, match="earlier than the previous"):
        mon.on_window(window(100.0, rmssd_ms=40.0, hr_bpm=60.0), contact=True, quality=1.0)
    with pytest.raises(BreathingError, match="quality must be in"):
        mon.on_window(window(300.0, rmssd_ms=40.0, hr_bpm=60.0), contact=True, quality=1.5)
    with pytest.raises(BreathingError, match="no break is running"):
        mon.end_break(300.0)
    with pytest.raises(BreathingError, match="not one of breathing, screen, walk"):
        mon.start_break(300.0, "nap")
    mon.start_break(300.0)
    with pytest.raises(BreathingError, match="already running"):
        mon.start_break(310.0)
    with pytest.raises(BreathingError, match="minutes must be >= 0"):
        mon.snooze(310.0, -1)
    with pytest.raises(BreathingError, match="sustain_fraction"):
        MicroBreakSettings(sustain_fraction=1.5)
    with pytest.raises(BreathingError, match="min_beats 151 with window_s 30") as info:
        MicroBreakSettings(window_s=30.0, min_beats=151)  # 150 beats at 300 beats/min
    assert (info.value.field, info.value.others) == ("min_beats", ("window_s",))  # type: ignore[attr-defined]
    assert MicroBreakSettings(window_s=30.0, min_beats=150).min_beats == 150
    with pytest.raises(BreathingError, match="quiet_hours"):
        MicroBreakSettings(quiet_hours=((22, 7),))  # type: ignore[arg-type]


# -- invariants over arbitrary window sequences -------------------------------------------------

_window_st = st.tuples(
    st.floats(1.0, 30.0),  # time since the previous window (s)
    st.floats(3.0, 200.0),  # RMSSD (ms)
    st.floats(40.0, 180.0),  # HR (bpm)
    st.floats(0.0, 1.0),  # quality
    st.sampled_from([True, False, None]),  # contact
)
#: stretches of similar windows, relative to the person's calm state, so that flags do happen
_segment_st = st.tuples(
    st.sampled_from(["calm", "stressed", "stressed", "active", "poor", "no_contact"]),
    st.integers(1, 40),  # windows in the stretch
    st.sampled_from([5.0, 10.0, 20.0]),  # step (s)
    st.floats(0.0, 1.0),  # where in its range the stretch lies
)
Segment = tuple[str, int, float, float]
Window = tuple[float, float, float, float, bool | None]


def _segments(calm: tuple[int, float, float], rest: list[Segment]) -> list[Window]:
    n, rmssd, hr = calm
    out: list[Window] = [
        (10.0, rmssd * (1.0 + 0.03 * (i % 3 - 1)), hr, 1.0, True) for i in range(n)
    ]
    for kind, m, step, u in rest:
        q, c = 1.0, True
        if kind == "calm":
            r, h = rmssd * (0.8 + 0.4 * u), hr + 4.0 * (u - 0.5)
        elif kind == "active":
            r, h = rmssd * (0.1 + 0.3 * u), hr + 30.0 + 30.0 * u
        else:
            r, h = rmssd * (0.2 + 0.4 * u), hr + 3.0 + 20.0 * u
            if kind == "poor":
                q = 0.5 + 0.39 * u
            elif kind == "no_contact":
                c = False
        out += [(step, r * (1.0 + 0.03 * (i % 3 - 1)), h, q, c) for i in range(m)]
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.tuples(st.integers(0, 60), st.floats(20.0, 80.0), st.floats(50.0, 80.0)),
    st.lists(_segment_st, min_size=1, max_size=12),
)
def test_every_stress_flag_is_justified_and_respects_the_cooldown(
    calm: tuple[int, float, float], rest: list[Segment]
) -> None:
    windows = _segments(calm, rest)
    mon = MicroBreakMonitor()
    s = mon.settings
    t = 60.0
    last_flag = -math.inf
    for dt, rmssd, hr, quality, contact in windows:
        t += dt
        baseline = mon.baseline
        got = flags(
            mon.on_window(window(t, rmssd_ms=rmssd, hr_bpm=hr), contact=contact, quality=quality)
        )
        for f in got:
            assert f.t_s == t and t - last_flag >= s.cooldown_s
            last_flag = t
            if f.reason.code is ReasonCode.TIME_ON_TASK:
                assert f.time_on_task_s >= s.time_on_task_s
                continue
            # a stress flag needs a valid window, a warm baseline and both z conditions
            assert quality >= s.min_quality and contact is not False
            assert baseline.personal_s >= s.warmup_s
            assert f.ln_rmssd_z is not None and f.ln_rmssd_z <= s.ln_rmssd_z
            assert f.hr_z is not None and f.hr_z >= s.hr_z
            assert hr - baseline.hr_mean_bpm <= s.activity_hr_bpm
            assert f.stress_fraction >= s.sustain_fraction or f.stress_load_min >= s.load_flag_min
            assert f.suggestion.kind in (BreakKind.BREATHING, BreakKind.WALK)


@settings(max_examples=40, deadline=None)
@given(st.lists(_window_st, min_size=1, max_size=300), st.booleans())
def test_poor_signal_never_raises_a_stress_flag_nor_changes_the_baseline(
    windows: list[tuple[float, float, float, float, bool | None]], no_contact: bool
) -> None:
    mon = MicroBreakMonitor()
    t = 60.0
    for dt, rmssd, hr, quality, _ in windows:
        t += dt
        q, c = (1.0, False) if no_contact else (quality * 0.89, True)
        got = flags(mon.on_window(window(t, rmssd_ms=rmssd, hr_bpm=hr), contact=c, quality=q))
        assert all(f.reason.code is ReasonCode.TIME_ON_TASK for f in got)
    assert mon.baseline == Baseline.population()
    assert mon.status.stress_load_min == 0.0


# -- motion (issue 18 item 4) ---------------------------------------------------------------------


def test_movement_known_from_the_accelerometer_is_activity_not_stress() -> None:
    """Standing up and walking about: RMSSD down, HR up by 12 bpm (under the 25-bpm activity
    bar), exactly what stress looks like. With motion data it is activity; without, a flag."""

    def day(motion: float | None) -> tuple[MicroBreakMonitor, list[MicroBreakEvent]]:
        mon = MicroBreakMonitor()
        feed(mon, 60.0, 1800.0, rmssd_ms=45.0, hr_bpm=62.0)  # warm, calm, sitting
        rng = np.random.default_rng(7)
        events: list[MicroBreakEvent] = []
        for t in np.arange(1800.0, 2400.0, 10.0):
            events += mon.on_window(
                window(
                    float(t),
                    rmssd_ms=22.0 * math.exp(0.05 * rng.standard_normal()),
                    hr_bpm=74.0 + 0.5 * rng.standard_normal(),
                ),
                contact=True,
                quality=1.0,
                motion_mg=motion,
            )
        return mon, events

    _, unknown = day(None)
    walking_mon, walking = day(120.0)
    _, still = day(4.0)
    assert flags(walking) == [] and walking_mon.status.activity
    assert walking_mon.baseline.hr_mean_bpm < 65.0  # nothing learned from walking
    # without motion the same windows flag, and the explanation says what it cannot tell
    assert flags(unknown)
    assert "no motion data" in flags(unknown)[0].reason.details
    # with motion data showing stillness, the flag stands and says it was taken while still
    assert flags(still) and "while still (movement 4 mg)" in flags(still)[0].reason.details


def test_motion_must_be_a_finite_non_negative_number() -> None:
    mon = MicroBreakMonitor()
    for bad in (-1.0, float("nan"), True, "12"):
        with pytest.raises(BreathingError, match="motion_mg must be a finite number >= 0"):
            mon.on_window(
                window(60.0, rmssd_ms=40, hr_bpm=60), contact=True, quality=1.0, motion_mg=bad
            )  # type: ignore[arg-type]


def test_frequent_early_beats_are_named_not_blamed_on_the_signal() -> None:
    """Every fourth beat early with its pause (real beats of a sinus simulation, reshaped): the
    NN filter rejects them and quality falls, but the reason names the rhythm, not the strap;
    the same quality loss from dropouts keeps the signal reason (test_dropouts_never_flag)."""
    beats = SimulatedPerson(seed=3).beats(600.0)
    rr = np.array([b.rr_ms for b in beats])
    rr[200::4] *= 0.7  # from beat 200 on: a premature beat and its compensatory pause
    rr[201::4] *= 1.3
    an = LiveAnalyser(window_s=60.0, step_s=10.0, metrics=("time",))
    mon = MicroBreakMonitor()
    reasons: list[tuple[float, bool, str]] = []
    t = 0.0
    for x in rr.tolist():
        t += x / 1000.0
        for w in an.push(t, x, contact=True):
            mon.on_window(w)
            reasons.append((w.t_s, mon.status.valid, mon.status.invalid_reason))
    onset = float(np.sum(rr[:200])) / 1000.0
    late = [r for t_s, valid, r in reasons if t_s > onset + 70.0 and not valid]
    assert late, reasons[-5:]
    assert all(r.startswith("irregular heartbeat: frequent early beats") for r in late)
    assert all("not a strap problem" in r for r in late)
    early = [valid for t_s, valid, _ in reasons if t_s < onset]
    assert early and all(early)


def test_the_breathing_reset_names_the_persons_resonance_rate_when_known() -> None:
    """Review finding 5: the suggestion said "about 6 breaths a minute" whatever the rate the
    break paces at; the caller passes the person's assessed rate in."""

    def first_flag(mon: MicroBreakMonitor) -> MicroBreakDue:
        feed(mon, 60.0, 660.0, rmssd_ms=45.0, hr_bpm=62.0)
        got = flags(feed(mon, 660.0, 1200.0, rmssd_ms=12.0, hr_bpm=80.0))
        assert got and got[0].suggestion.kind is BreakKind.BREATHING
        return got[0]

    known = first_flag(MicroBreakMonitor(resonance_bpm=4.8)).suggestion
    assert (
        "at your practice rate from your resonance assessment, 4.8 breaths a minute" in known.text
    )
    assert "about 6" not in known.text and known.duration_s == 120.0
    unknown = first_flag(MicroBreakMonitor()).suggestion
    assert "about 6 breaths a minute" in unknown.text
    assert known.reference == unknown.reference
    later = MicroBreakMonitor()
    later.resonance_bpm = 6.3  # learned during the session (its own assessment)
    assert "6.3 breaths a minute" in first_flag(later).suggestion.text
    for bad in (0.0, math.nan, 31.0):
        with pytest.raises(BreathingError, match="resonance_bpm"):
            MicroBreakMonitor(resonance_bpm=bad)
        with pytest.raises(BreathingError, match="resonance_bpm"):
            later.resonance_bpm = bad
