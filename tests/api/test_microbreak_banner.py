"""The state read's ``banner`` while breaks close together are measured: the first break's
effect, told after the second ended, leaves ``measuring`` (the second's effect is not yet
told), not ``none`` (code review: two back-to-back resets showed ``none`` for about 2 minutes
while the second was measured)."""

from __future__ import annotations

from pathlib import Path

from api.live import LiveHub
from api.pipeline.analysis import make_analyser
from api.pipeline.loop import Pipeline
from api.pipeline.microbreaks import MicroBreaks
from api.pipeline.sinks import NoStore
from breathing import MicroBreakMonitor
from sensors import ReplaySource, read_recording
from sensors.beat import Beat

FIXTURE = Path(__file__).parents[1] / "sensors/fixtures/hrvpace_v1.csv"


def test_an_earlier_breaks_effect_leaves_measuring_while_a_later_break_is_measured() -> None:
    mb = MicroBreaks(MicroBreakMonitor(), plan_day=None)
    p = Pipeline(
        session_id="s",
        source=ReplaySource(read_recording(FIXTURE)),
        storage=NoStore(),
        hub=LiveHub("s"),
        analyser=make_analyser(),
        pacer=None,
        microbreaks=mb,
    )
    # two 30-s walks 30 s apart: the first's effect is due ~3 min after it ended, after the
    # second ended
    actions = {200.0: "start_break", 230.0: "end_break", 260.0: "start_break", 290.0: "end_break"}
    seen: list[tuple[float, str, int]] = []  # (t, banner, effects published so far)
    t, i = 0.0, 0
    while t < 700.0:
        rr_ms = 1000.0 + (25.0 if i % 2 else -25.0)
        t, i = t + rr_ms / 1000.0, i + 1
        for at in [a for a in actions if a <= t]:
            kw = {"kind": "walk"} if actions[at] == "start_break" else {}
            p.publish_micro_break_events(mb.act(actions.pop(at), t, **kw))
        p._on_beat(Beat(t_s=t, rr_ms=rr_ms, arrived_at=t, gap_before=False))
        seen.append((t, mb.banner, len(mb.monitor.breaks)))
    effects_at = [next(t for t, _, n in seen if n >= k) for k in (1, 2)]
    assert 290.0 < effects_at[0] < effects_at[1], effects_at  # the first's effect after 2nd end
    between = {b for t, b, n in seen if t > 290.0 and n == 1}
    assert between == {"measuring"}, between
    assert {b for t, b, _ in seen if 260.0 < t < 290.0} == {"break"}
    assert {b for t, b, n in seen if n == 2} == {"none"}
