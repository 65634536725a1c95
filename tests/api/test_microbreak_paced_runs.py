"""The service tells the micro-break monitor when its pacer actually ran (``Pacing.paced_runs``),
so the paced stretch counts the time paced: a practice from the session's start counts from
0, and short pacings a minute apart are not two minutes of pacing (code review)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from api.pipeline.microbreaks import MicroBreaks
from api.pipeline.pacing import make_pacer
from breathing import BreathingError, MicroBreakMonitor
from hrv import LiveAnalyser


def test_the_pacer_records_when_it_ran() -> None:
    practice = make_pacer("practice", {})
    assert practice.paced_runs == ((0.0, math.inf),)  # paces from the session's start
    practice.stop(t_s=150.0)
    practice.deactivate(150.0)
    assert practice.paced_runs == ((0.0, 150.0),)
    monitor = make_pacer("monitor", {})
    assert monitor.paced_runs == ()
    monitor.start_fixed(6.0, t_s=300.0)
    monitor.start_fixed(5.5, t_s=320.0)  # a new rate while pacing: the same run
    assert monitor.paced_runs == ((300.0, math.inf),)
    monitor.stop(t_s=310.0)
    monitor.deactivate(330.0)  # the stop published later: the run ends when it stopped
    monitor.start_assessment(t_s=400.0)
    assert monitor.paced_runs == ((300.0, 310.0), (400.0, math.inf))


@pytest.mark.parametrize(
    "start",
    [
        lambda p: p.start_fixed(6.0, t_s=100.0, duration_s=float("nan")),
        lambda p: p.start_fixed(99.0, t_s=100.0),
        lambda p: p.start_adaptive(t_s=100.0, start_rate_bpm=None, duration_s=-1.0),
        lambda p: p.start_assessment(t_s=float("nan")),
    ],
    ids=["fixed-nan-duration", "fixed-bad-rate", "adaptive-bad-duration", "assessment-nan-t"],
)
def test_a_refused_start_leaves_the_pacer_as_it_was(start: Any) -> None:
    """A breathing command the engine refuses (BreathingError) does not start pacing: a monitor
    session stays unpaced, with no run and no ``on_start`` (which points the simulated person
    at the pacer); the engine's own validation is the only one a non-API caller gets."""
    monitor = make_pacer("monitor", {})
    started: list[bool] = []
    monitor.on_start = lambda: started.append(True)
    with pytest.raises(BreathingError):
        start(monitor)
    assert monitor.active is False
    assert monitor.paced_runs == ()
    assert monitor.paced_until_t_s is None
    assert started == []
    monitor.start_fixed(6.0, t_s=200.0)  # a good command afterwards still starts it
    assert monitor.active and monitor.paced_runs == ((200.0, math.inf),) and started == [True]


def run(pacings: list[tuple[float, float]], *, mode: str = "monitor") -> MicroBreaks:
    """Beats (about 60/min) to 2400 s through a real ``hrv.LiveAnalyser`` and ``MicroBreaks``
    with a real monitor, the pacer started and stopped at ``pacings``' times, as the session
    loop drives them: each finished window goes with the pacer's runs."""
    pacer = make_pacer(mode, {})
    mb = MicroBreaks(MicroBreakMonitor(), plan_day=None)
    live = LiveAnalyser()
    t, i = 0.0, 0
    while t < 2400.0:
        rr_ms = 1000.0 + (25.0 if i % 2 else -25.0)
        t, i = t + rr_ms / 1000.0, i + 1
        for a, b in pacings:
            if a <= t < b and not pacer.active:
                pacer.start_fixed(6.0, t_s=t)
            if b <= t and pacer.active and pacer.paced_runs[-1][0] < b:
                pacer.stop(t_s=t)
                pacer.deactivate(t)
        for w in live.push(t, rr_ms):
            mb.on_window(w, paced_runs=pacer.paced_runs)
    return mb


def test_short_pacings_a_minute_apart_are_no_break() -> None:
    """Three 10-s pacings 50 s apart (30 s paced): no break, so time on task runs on from the
    session's start and no cooldown starts (it restarted at 1930, cooldown to 3130)."""
    mb = run([(1800.0, 1810.0), (1860.0, 1870.0), (1920.0, 1930.0)])
    st = mb.monitor.status
    assert st.valid and not st.paced
    assert st.time_on_task_s == pytest.approx(st.t_s, abs=1.0)
    assert st.next_flag_allowed_s == -math.inf


def test_a_practice_from_the_session_start_is_a_break() -> None:
    """A practice-mode session paced 0-150 s: a break ended at 150 (it was counted as work)."""
    mb = run([(0.0, 150.0)], mode="practice")
    st = mb.monitor.status
    assert st.valid and not st.paced
    assert st.time_on_task_s == pytest.approx(st.t_s - 150.0, abs=1.5)
    assert st.next_flag_allowed_s == pytest.approx(150.0 + mb.monitor.settings.cooldown_s, abs=1.5)
