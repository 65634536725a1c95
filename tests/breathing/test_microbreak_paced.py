"""Windows overlapping paced breathing are no rest: not a break's "before", not learned, no flag.

Slow paced breathing enlarges RMSSD by itself, so a break taken just after a practice or an
assessment would otherwise be compared with the pacing (the "-30 %" of a reset pressed right
after an assessment), not with rest; learned into the baseline, the pacing would make later
rest look like low HRV; and a person doing a breathing exercise needs no break prompt.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from breathing import BreakEffect, BreathingError, MicroBreakDue, MicroBreakMonitor, ReasonCode
from hrv import WindowMetrics


def feed(
    mon: MicroBreakMonitor,
    t0: float,
    t1: float,
    *,
    rmssd_ms: float,
    paced: bool,
    paced_last_t_s: float | None = None,
    hr_bpm: float = 65.0,
    quality: float = 1.0,
) -> list[object]:
    """Valid 60-s windows every 5 s ending in [t0, t1), RMSSD about ``rmssd_ms``.

    ``paced_last_t_s``: when the pacer last ran in the paced windows (default: their end).
    """
    rng = np.random.default_rng(int(t0))
    out: list[object] = []
    for t in np.arange(t0, t1, 5.0):
        r = rmssd_ms * math.exp(0.03 * rng.standard_normal())
        h = hr_bpm + 0.5 * rng.standard_normal()
        window = WindowMetrics(
            t_s=float(t), n_beats=70, rmssd_ms=r, ln_rmssd=math.log(r), mean_hr_bpm=h
        )
        out += mon.on_window(
            window, contact=True, quality=quality, paced=paced, paced_last_t_s=paced_last_t_s
        )
    return out


def effect_of(mon: MicroBreakMonitor, start: float) -> BreakEffect:
    mon.start_break(start, "breathing")
    feed(mon, start + 5.0, start + 125.0, rmssd_ms=60.0, paced=True)  # the break paces
    mon.end_break(start + 120.0)
    events = feed(mon, start + 125.0, start + 400.0, rmssd_ms=35.0, paced=False)
    (effect,) = [e for e in events if isinstance(e, BreakEffect)]
    return effect


def test_paced_windows_are_no_before_windows() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 600.0, rmssd_ms=35.0, paced=False)  # rest
    feed(mon, 600.0, 900.0, rmssd_ms=50.0, paced=True)  # an assessment's pacing
    # pacing stopped at 900: windows ending before 960 still hold paced beats
    feed(mon, 900.0, 960.0, rmssd_ms=50.0, paced=True)
    feed(mon, 960.0, 1000.0, rmssd_ms=34.0, paced=False)
    eff = effect_of(mon, 1000.0)
    # before = the unpaced windows ending in 960..1000 only
    assert eff.n_windows_before == 8
    assert eff.n_windows_before_paced == 16  # ending 880..955 (120 s before 1000, 5-s steps)
    assert eff.rmssd_before_ms == pytest.approx(34.0, rel=0.05)
    assert eff.rmssd_change_pct == pytest.approx(3.0, abs=6.0)  # rest against rest


def test_a_break_right_after_pacing_has_no_before_to_compare_with() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 600.0, rmssd_ms=35.0, paced=False)
    feed(mon, 600.0, 1000.0, rmssd_ms=50.0, paced=True)
    eff = effect_of(mon, 1000.0)
    assert eff.n_windows_before == 0 and eff.n_windows_before_paced == 24
    assert eff.rmssd_before_ms is None and eff.hr_before_bpm is None
    assert eff.rmssd_change_pct is None  # not "-30 %": there was no rest before it
    assert eff.rmssd_after_ms == pytest.approx(35.0, rel=0.05)


def test_without_pacing_nothing_changes() -> None:
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 1000.0, rmssd_ms=35.0, paced=False)
    eff = effect_of(mon, 1000.0)
    assert eff.n_windows_before_paced == 0 and eff.n_windows_before == 24


def walk_break_then(mon: MicroBreakMonitor, practice_from: float) -> BreakEffect:
    """Rest, a walk break 1000-1060 s, rest, then a practice (RMSSD 55 ms) from
    ``practice_from`` on; the break's effect."""
    feed(mon, 60.0, 1000.0, rmssd_ms=35.0, paced=False)
    mon.start_break(1000.0, "walk")
    feed(mon, 1000.0, 1065.0, rmssd_ms=36.0, paced=False)
    mon.end_break(1060.0)
    feed(mon, 1065.0, practice_from, rmssd_ms=38.0, paced=False)
    # windows whose 60 s reach into the practice: paced, the pacer running at their end
    events = feed(mon, practice_from, 1300.0, rmssd_ms=55.0, paced=True)
    (effect,) = [e for e in events if isinstance(e, BreakEffect)]
    return effect


def test_a_practice_started_right_after_a_break_is_no_after_window() -> None:
    """The review's case: "Practise at R" a few seconds after a walk break made its "after"
    the practice's (+57 % instead of +16 %); now there is nothing unpaced after it."""
    eff = walk_break_then(MicroBreakMonitor(), practice_from=1070.0)
    # after = windows ending 1120..1240 (one window after the end, for 2 minutes): all paced
    assert eff.n_windows_after == 0 and eff.n_windows_after_paced == 25
    assert eff.rmssd_after_ms is None and eff.hr_after_bpm is None
    assert eff.rmssd_change_pct is None  # the practice's 55 ms is not the break's effect
    assert eff.rmssd_before_ms == pytest.approx(35.0, rel=0.05)


def test_a_practice_later_in_the_after_period_leaves_the_unpaced_windows() -> None:
    eff = walk_break_then(MicroBreakMonitor(), practice_from=1180.0)
    assert eff.n_windows_after == 12  # ending 1120..1175
    assert eff.n_windows_after_paced == 13  # ending 1180..1240
    assert eff.rmssd_after_ms == pytest.approx(38.0, rel=0.05)
    assert eff.rmssd_change_pct == pytest.approx(100 * (38 / 35 - 1), abs=6.0)


def test_a_breathing_breaks_own_pacing_is_its_during_not_paced_after() -> None:
    """A breathing break paces; windows after it that reach back into that pacing (stopped at
    the break's end) are "after" windows all the same."""
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 1000.0, rmssd_ms=35.0, paced=False)
    mon.start_break(1000.0, "breathing")
    feed(mon, 1000.0, 1125.0, rmssd_ms=60.0, paced=True)  # the break's pacer runs
    mon.end_break(1120.0)
    # the pacer stopped with the break at 1120: windows ending until 1180 still hold its beats
    feed(mon, 1125.0, 1180.0, rmssd_ms=40.0, paced=True, paced_last_t_s=1120.0)
    events = feed(mon, 1180.0, 1400.0, rmssd_ms=40.0, paced=False)
    (eff,) = [e for e in events if isinstance(e, BreakEffect)]
    assert eff.n_windows_after_paced == 0 and eff.n_windows_after == 25
    assert eff.rmssd_during_ms == pytest.approx(60.0, rel=0.05)
    assert eff.rmssd_after_ms == pytest.approx(40.0, rel=0.05)


# -- the baseline and the flags -------------------------------------------------------------


def flags(events: list[object]) -> list[MicroBreakDue]:
    return [e for e in events if isinstance(e, MicroBreakDue)]


def test_a_paced_stretch_with_high_rmssd_does_not_move_the_baseline() -> None:
    """20 minutes of practice at twice the resting RMSSD leave the baseline as rest made it,
    so the rest after it is rest (z near 0), not "HRV below baseline"."""
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 900.0, rmssd_ms=35.0, paced=False)  # rest: the baseline learns it
    rested = mon.baseline
    assert rested.personal_s > 0 and rested.rmssd_ms == pytest.approx(36.0, rel=0.1)
    feed(mon, 900.0, 2100.0, rmssd_ms=75.0, paced=True, hr_bpm=63.0)  # a practice
    assert mon.status.paced and mon.status.valid
    assert mon.status.ln_rmssd_z is not None and mon.status.ln_rmssd_z > 1.0  # judged high...
    assert mon.baseline == rested  # ...but not learned
    # the practice's last windows (its beats still in them) are not learned either
    feed(mon, 2100.0, 2160.0, rmssd_ms=50.0, paced=True, paced_last_t_s=2100.0)
    assert mon.baseline == rested
    feed(mon, 2160.0, 2400.0, rmssd_ms=35.0, paced=False)
    st = mon.status
    assert not st.paced and st.ln_rmssd_z is not None and abs(st.ln_rmssd_z) < 0.5, st
    assert mon.baseline.personal_s > rested.personal_s  # rest is learned again


def test_no_flag_while_pacing_even_when_the_windows_look_stressed() -> None:
    """An assessment's fast steps can lower RMSSD and raise HR; the person is breathing with
    the pacer, so neither a stress flag nor the load nor the baseline follows from it."""
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 900.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)
    rested, load = mon.baseline, mon.status.stress_load_min
    events = feed(mon, 900.0, 1800.0, rmssd_ms=12.0, paced=True, hr_bpm=80.0)
    assert flags(events) == []
    st = mon.status
    assert st.paced and not st.stressed and st.stress_fraction == 0.0
    assert st.stress_load_min == load  # neither added to nor decayed
    assert mon.baseline == rested
    # the same windows without pacing are stress, and flag; the 15 minutes of pacing were a
    # break (longer than the 2-minute reset), so not before the cooldown from its end
    after = flags(feed(mon, 1800.0, 3300.0, rmssd_ms=12.0, paced=False, hr_bpm=80.0))
    assert after and after[0].reason.code is ReasonCode.STRESS
    assert after[0].t_s == pytest.approx(1795.0 + mon.settings.cooldown_s)


def test_stress_after_a_short_paced_stretch_is_sustained_over_unpaced_windows_only() -> None:
    """90 s of pacing (shorter than the 2-minute reset: no break, no cooldown) that look
    stressed add nothing to the stressed share: the flag needs 70 % of 3 unpaced minutes."""
    mon = MicroBreakMonitor()
    feed(mon, 60.0, 900.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)
    assert flags(feed(mon, 900.0, 990.0, rmssd_ms=12.0, paced=True, hr_bpm=80.0)) == []
    after = flags(feed(mon, 990.0, 1300.0, rmssd_ms=12.0, paced=False, hr_bpm=80.0))
    assert after and after[0].reason.code is ReasonCode.STRESS
    assert after[0].t_s >= 990.0 + 0.7 * 180.0 - 5.0


@pytest.mark.parametrize("quality", [1.0, 0.5])
def test_time_on_task_does_not_prompt_during_pacing_and_restarts_after_it(quality: float) -> None:
    """90 minutes on task fall inside a practice (valid windows or not): no prompt while it
    runs; the practice (13 minutes, longer than the 2-minute reset) was a break, so time on
    task restarts where the pacing ended and the prompt comes 90 minutes after that."""
    mon = MicroBreakMonitor()
    assert flags(feed(mon, 60.0, 5000.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
    during = feed(mon, 5000.0, 5800.0, rmssd_ms=70.0, paced=True, quality=quality)
    assert flags(during) == []
    assert mon.status.paced and mon.status.time_on_task_s > 5400.0
    assert flags(feed(mon, 5800.0, 5900.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
    assert mon.status.time_on_task_s == pytest.approx(5895.0 - 5795.0)  # paced until 5795
    (flag,) = flags(feed(mon, 5900.0, 11300.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0))
    assert flag.reason.code is ReasonCode.TIME_ON_TASK
    assert flag.t_s == pytest.approx(5795.0 + mon.settings.time_on_task_s)


# -- a paced stretch is recovery, not work (the review's repros) ------------------------------


def test_work_then_a_practice_is_not_90_minutes_without_a_break() -> None:
    """Work 1-70 min, a practice 70-90 min, rest: no "working for 90 minutes without a break"
    right after the practice; time on task restarts at the practice's end, as after the same
    20 minutes taken as a breathing break (start/end)."""
    mon = MicroBreakMonitor()
    assert flags(feed(mon, 60.0, 4200.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
    assert flags(feed(mon, 4200.0, 5400.0, rmssd_ms=70.0, paced=True)) == []
    after = flags(feed(mon, 5400.0, 5520.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0))
    assert after == []  # was TIME_ON_TASK at 90.0 min, counting the practice as work
    st = mon.status
    assert st.time_on_task_s == pytest.approx(5515.0 - 5395.0)
    assert st.next_flag_allowed_s == pytest.approx(5395.0 + mon.settings.cooldown_s)
    # the same 20 minutes as a breathing break: time on task restarts at its end too
    brk = MicroBreakMonitor()
    feed(brk, 60.0, 4200.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)
    brk.start_break(4200.0, "breathing")
    feed(brk, 4200.0, 5400.0, rmssd_ms=70.0, paced=True)
    brk.end_break(5400.0)
    feed(brk, 5400.0, 5520.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)
    assert brk.status.time_on_task_s == pytest.approx(st.time_on_task_s, abs=5.0)
    (flag,) = flags(feed(mon, 5520.0, 10900.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0))
    assert flag.t_s == pytest.approx(5395.0 + 5400.0) and "90 minutes" in flag.reason.summary


def test_a_whole_practice_session_is_not_95_minutes_of_work() -> None:
    """A practice-mode session paced from 1 to 95 minutes, then rest: no "working for 95
    minutes without a break" in the first unpaced minutes."""
    mon = MicroBreakMonitor()
    assert flags(feed(mon, 60.0, 5700.0, rmssd_ms=70.0, paced=True)) == []
    assert flags(feed(mon, 5700.0, 5820.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
    assert mon.status.time_on_task_s == pytest.approx(5815.0 - 5695.0)


def stressed_load(mon: MicroBreakMonitor) -> float:
    """Rest, then intermittent stress (110 s stressed, 75 s calm: never 70 % of 3 minutes)
    until the load is at least 4 minutes, with no flag; the session time reached."""
    assert flags(feed(mon, 60.0, 900.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
    t = 900.0
    while mon.status.stress_load_min < 4.0:
        assert flags(feed(mon, t, t + 110.0, rmssd_ms=15.0, paced=False, hr_bpm=80.0)) == []
        t += 110.0
        assert flags(feed(mon, t, t + 75.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
        t += 75.0
    return t


def test_a_practice_clears_the_stress_load_as_a_break_does() -> None:
    """20 minutes of resonance breathing after a stress load of 4+ minutes: the load is cleared
    when the practice ends (it stayed 4.31 and 2 minutes of stress then flagged stress_load,
    while the same minutes unpaced decay it to 0.58), and 2 minutes of stress flag nothing."""
    mon = MicroBreakMonitor()
    t = stressed_load(mon)
    assert flags(feed(mon, t, t + 1200.0, rmssd_ms=70.0, paced=True, hr_bpm=60.0)) == []
    t += 1200.0
    assert flags(feed(mon, t, t + 5.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)) == []
    assert mon.status.stress_load_min == 0.0  # cleared at the practice's end
    events = feed(mon, t + 5.0, t + 125.0, rmssd_ms=15.0, paced=False, hr_bpm=80.0)
    events += feed(mon, t + 125.0, t + 425.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)
    assert flags(events) == []
    assert mon.status.stress_load_min < mon.settings.load_flag_min / 2


@pytest.mark.parametrize(("paced_s", "a_break"), [(90.0, False), (115.0, False), (120.0, True)])
def test_a_paced_stretch_shorter_than_the_reset_decays_the_load_and_is_no_break(
    paced_s: float, a_break: bool
) -> None:
    """Shorter than the 2-minute reset: the load decays over the paced time as over calm time,
    time on task runs on and no cooldown starts; from 2 minutes on it is a break."""
    mon = MicroBreakMonitor()
    t = stressed_load(mon)
    load, on_task = mon.status.stress_load_min, mon.status.time_on_task_s
    allowed = mon.status.next_flag_allowed_s
    # paced windows ending t .. t+paced_s-5: the pacing began after the window ending at t-5
    feed(mon, t, t + paced_s, rmssd_ms=70.0, paced=True, hr_bpm=60.0)
    assert mon.status.stress_load_min == load  # a paced window neither adds nor decays
    end = t + paced_s
    feed(mon, end, end + 5.0, rmssd_ms=40.0, paced=False, hr_bpm=62.0)  # one calm window
    st = mon.status
    if a_break:
        assert st.stress_load_min == 0.0
        assert st.time_on_task_s == pytest.approx(5.0)
        assert st.next_flag_allowed_s == pytest.approx(end - 5.0 + mon.settings.cooldown_s)
    else:
        tau = mon.settings.load_tau_s
        # decayed over the paced stretch, then over the calm window's 5 s
        assert st.stress_load_min == pytest.approx(load * math.exp(-(paced_s + 5.0) / tau))
        assert st.time_on_task_s == pytest.approx(on_task + paced_s + 5.0)
        assert st.next_flag_allowed_s == allowed


# -- the time the pacer ran, not the windows it touched (the second review's repros) ----------


def feed_runs(
    mon: MicroBreakMonitor,
    t0: float,
    t1: float,
    runs: list[tuple[float, float]],
    *,
    rmssd_ms: float = 40.0,
    hr_bpm: float = 62.0,
) -> list[object]:
    """Windows every 5 s ending in [t0, t1); paced when their 60 s overlap one of ``runs``
    (when the pacer ran), which are passed as ``paced_runs``, as the service passes them."""
    out: list[object] = []
    for t in np.arange(t0, t1, 5.0):
        t = float(t)
        touching = [(a, b) for a, b in runs if b > t - 60.0 and a < t]
        window = WindowMetrics(
            t_s=t, n_beats=70, rmssd_ms=rmssd_ms, ln_rmssd=math.log(rmssd_ms), mean_hr_bpm=hr_bpm
        )
        out += mon.on_window(
            window,
            contact=True,
            quality=1.0,
            paced=bool(touching),
            paced_runs=touching or None,
        )
    return out


@pytest.mark.parametrize("with_runs", [True, False])
def test_pacing_from_the_session_start_counts_from_there(with_runs: bool) -> None:
    """A practice-mode session paced from 0 to 150 s (2.5 minutes): a break ended at 150 (it
    was dated from 50, the first window's end less a step, so 100 s: counted as work, time on
    task 255 s at 255). Told the runs, or estimated from the first window's start."""
    mon = MicroBreakMonitor()
    if with_runs:
        feed_runs(mon, 60.0, 260.0, [(0.0, 150.0)])
    else:
        feed(mon, 60.0, 215.0, rmssd_ms=70.0, paced=True, paced_last_t_s=150.0)
        feed(mon, 215.0, 260.0, rmssd_ms=40.0, paced=False)
    st = mon.status
    assert not st.paced
    assert st.time_on_task_s == pytest.approx(255.0 - 150.0)
    assert st.next_flag_allowed_s == pytest.approx(150.0 + mon.settings.cooldown_s)


def test_short_pacings_a_minute_apart_are_not_two_minutes_of_pacing() -> None:
    """Three 10-s pacings 60 s apart (30 s paced, every window between them touching one):
    no break (it was one, from the first paced window to the last stop: 130 s); the load
    decays over the 30 s paced only, time on task runs on and no cooldown starts."""
    mon = MicroBreakMonitor()
    t = stressed_load(mon)
    runs = [(t, t + 10.0), (t + 60.0, t + 70.0), (t + 120.0, t + 130.0)]
    feed_runs(mon, t, t + 5.0, runs)  # the window ending at t holds no paced beat
    load, on_task = mon.status.stress_load_min, mon.status.time_on_task_s
    allowed = mon.status.next_flag_allowed_s
    feed_runs(mon, t + 5.0, t + 190.0, runs)
    assert mon.status.paced and mon.status.stress_load_min == load
    feed_runs(mon, t + 190.0, t + 195.0, runs)  # the first window after the pacing
    st = mon.status
    assert not st.paced
    tau = mon.settings.load_tau_s
    # decayed over the 30 s paced, then over the calm window's 5 s
    assert st.stress_load_min == pytest.approx(load * math.exp(-(30.0 + 5.0) / tau))
    assert st.time_on_task_s == pytest.approx(on_task + 190.0)
    assert st.next_flag_allowed_s == allowed


def test_pacing_with_a_pause_counts_the_time_it_ran() -> None:
    """70 s of pacing, a 30-s pause, 70 s more: 140 s paced, a break ended at the last stop."""
    mon = MicroBreakMonitor()
    feed_runs(mon, 60.0, 600.0, [])
    runs = [(600.0, 670.0), (700.0, 770.0)]
    feed_runs(mon, 600.0, 840.0, runs)
    assert mon.status.time_on_task_s == pytest.approx(835.0 - 770.0)
    assert mon.status.next_flag_allowed_s == pytest.approx(770.0 + mon.settings.cooldown_s)


@pytest.mark.parametrize(
    ("paced", "runs", "words"),
    [
        (True, [], "paced_runs must name"),
        (False, [(10.0, 20.0)], "paced_runs must name"),
        (True, [(10.0,)], "paced_runs[0] must be a (start, stop) pair"),
        (True, [(10.0, 20.0), (30.0, 25.0)], "paced_runs[1]"),
        (True, [(math.nan, 20.0)], "paced_runs[0]"),
    ],
)
def test_bad_paced_runs_are_refused_naming_the_problem(
    paced: bool, runs: list[tuple[float, ...]], words: str
) -> None:
    mon = MicroBreakMonitor()
    window = WindowMetrics(t_s=60.0, n_beats=70, rmssd_ms=40.0, ln_rmssd=math.log(40.0))
    with pytest.raises(BreathingError) as err:
        mon.on_window(window, contact=True, quality=1.0, paced=paced, paced_runs=runs)
    assert words in str(err.value)
