"""Whether a live window overlaps paced breathing is judged on where its beats begin, not on
``t_s - window_s``: a live window is 60 s of NN intervals, so after a dropout it reaches
further back in beat time, and the micro-break ``window_s`` may be set apart from the
analyser's."""

from __future__ import annotations

from typing import Any

import pytest

from api.pipeline.microbreaks import MicroBreaks
from breathing import MicroBreakSettings
from hrv import LiveAnalyser, LiveWindow


class _Monitor:
    """Stands in for ``breathing.MicroBreakMonitor``: keeps what ``on_window`` was told."""

    def __init__(self, settings: MicroBreakSettings) -> None:
        self.settings = settings
        self.baseline = None
        self.resonance_bpm: float | None = None
        self.calls: list[dict[str, Any]] = []

    def on_window(self, window: Any, **kw: Any) -> list[Any]:
        self.calls.append({"t_s": window.t_s, **kw})
        return []


def _windows_after_a_dropout() -> list[LiveWindow]:
    """Beats every 0.8 s for 100 s, 25 s with no beat, then 100 s more."""
    live = LiveAnalyser()
    out: list[LiveWindow] = []
    t = 0.0
    for _ in range(125):
        t += 0.8
        out += live.push(t, 800.0)
    t += 25.0
    out += live.push(t, 800.0, gap_before=True)
    for _ in range(125):
        t += 0.8
        out += live.push(t, 800.0)
    return out


def test_a_live_window_says_where_its_beats_begin() -> None:
    windows = _windows_after_a_dropout()
    plain = [w for w in windows if w.t_s < 100.0]
    assert plain and all(w.start_t_s == pytest.approx(w.t_s - 60.0, abs=0.81) for w in plain)
    across = [w for w in windows if w.start_t_s is not None and w.start_t_s < 100.0 < w.t_s - 25]
    assert across  # windows holding beats from both sides of the dropout
    for w in across:
        assert w.start_t_s is not None and w.start_t_s < w.t_s - 60.0 - 20.0


@pytest.mark.parametrize("window_s", [60.0, 30.0])
def test_pacing_that_ended_before_t_minus_window_s_still_overlaps_the_beats(
    window_s: float,
) -> None:
    """Pacing stopped at 90 s: a window ending at ~170 s that holds beats from before the
    dropout overlaps it, however ``t_s - window_s`` falls."""
    mon = _Monitor(MicroBreakSettings(window_s=window_s))
    mb = MicroBreaks(mon, plan_day=None)
    for w in _windows_after_a_dropout():
        mb.on_window(w, paced_until_t_s=90.0)
    by_t = {round(c["t_s"], 3): c for c in mon.calls}
    windows = {round(w.t_s, 3): w for w in _windows_after_a_dropout()}
    reaching = [t for t, w in windows.items() if w.start_t_s is not None and w.start_t_s < 90.0]
    later = [t for t in reaching if t - window_s >= 90.0]
    assert later  # t_s - window_s alone would call these unpaced
    for t in reaching:
        assert by_t[t]["paced"] is True, (t, windows[t].start_t_s)
        assert by_t[t]["paced_last_t_s"] == pytest.approx(min(90.0, t), abs=1e-3)
    for t, w in windows.items():
        if w.start_t_s is not None and w.start_t_s >= 90.0:
            assert by_t[t]["paced"] is False
