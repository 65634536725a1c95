"""A practice or breathing break with a duration ends at its planned end, and so does its run
of :attr:`api.pipeline.pacing.Pacing.paced_runs`: a beat gap after that end (the strap lost
contact) is not paced time, though the beat that reveals the stop comes after it (code
review)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from api.live import LiveHub
from api.pipeline.analysis import make_analyser
from api.pipeline.loop import Pipeline
from api.pipeline.microbreaks import MicroBreaks
from api.pipeline.pacing import make_pacer
from api.pipeline.sinks import NoStore
from breathing import MicroBreakMonitor
from sensors import ReplaySource, read_recording
from sensors.beat import Beat

FIXTURE = Path(__file__).parents[1] / "sensors/fixtures/hrvpace_v1.csv"


def pipeline(mode: str = "monitor") -> Pipeline:
    """A real session pipeline (real analyser, pacer and micro-break monitor) storing nothing,
    fed beats by hand: its source is never run."""
    return Pipeline(
        session_id="s",
        source=ReplaySource(read_recording(FIXTURE)),
        storage=NoStore(),
        hub=LiveHub("s"),
        analyser=make_analyser(),
        pacer=make_pacer(mode, {}),
        microbreaks=MicroBreaks(MicroBreakMonitor(), plan_day=None),
    )


def feed(p: Pipeline, *, gap: tuple[float, float], pace_at: float | None = None) -> None:
    """Beats (about 60/min) to 2400 s, none in ``gap`` (contact lost); a 90-s breathing break
    paced from the first beat at ``pace_at``, as the micro-break route starts one."""
    pacer = p.pacer
    assert pacer is not None
    t, i, started = 0.0, 0, False
    while t < 2400.0:
        rr_ms = 1000.0 + (25.0 if i % 2 else -25.0)
        t, i = t + rr_ms / 1000.0, i + 1
        if gap[0] <= t < gap[1]:
            continue
        if pace_at is not None and not started and t >= pace_at:
            p.publish_guidance(pacer.start_fixed(6.0, t_s=t, duration_s=90.0), t_s=t)
            started = True
        gap_before = gap[1] > gap[0] and abs(t - gap[1]) < 1.5
        p._on_beat(Beat(t_s=t, rr_ms=rr_ms, arrived_at=t, gap_before=gap_before))


def test_a_stop_revealed_late_ends_the_run_at_the_planned_end() -> None:
    p = pipeline()
    pacer = p.pacer
    assert pacer is not None
    p.publish_guidance(pacer.start_fixed(6.0, t_s=1800.0, duration_s=90.0), t_s=1800.0)
    events = pacer.on_beat(Beat(t_s=1930.0, rr_ms=1000.0, arrived_at=1930.0, gap_before=True))
    assert pacer.stopped and events
    p.publish_guidance(events, t_s=1930.0)
    assert not pacer.active
    assert pacer.paced_runs == ((1800.0, 1890.0),)
    assert pacer.stopped_at_t_s == 1890.0
    assert pacer.paced_until_t_s == 1890.0


def test_a_stop_by_command_ends_the_run_when_it_stopped() -> None:
    pacer = make_pacer("practice", {})
    pacer.stop(t_s=150.0)
    pacer.deactivate(170.0)  # published later
    assert pacer.paced_runs == ((0.0, 150.0),)
    assert pacer.stopped_at_t_s == 150.0


def test_a_beat_gap_after_a_90_s_breathing_break_is_no_break() -> None:
    """90 s paced from 1800, no beats 1885-1930: 90 s of pacing, not a 2-minute break, so time
    on task runs on from the session's start and no cooldown starts (with the run ending at
    1930, 130 s, it was a break: time on task restarted at 1930, cooldown to 3130)."""
    p = pipeline()
    feed(p, gap=(1885.0, 1930.0), pace_at=1800.0)
    pacer, mb = p.pacer, p.microbreaks
    assert pacer is not None and mb is not None
    st = mb.monitor.status
    assert st.valid and not st.paced
    assert st.time_on_task_s == pytest.approx(st.t_s, abs=1.0)
    assert st.next_flag_allowed_s == -math.inf
    ((start, stop),) = pacer.paced_runs
    assert start == pytest.approx(1800.0, abs=1.5)
    assert stop == pytest.approx(start + 90.0)


def test_the_same_break_without_a_gap_ends_on_time() -> None:
    p = pipeline()
    feed(p, gap=(0.0, 0.0), pace_at=1800.0)
    assert p.pacer is not None
    ((start, stop),) = p.pacer.paced_runs
    assert stop == pytest.approx(start + 90.0)
