"""bench/live_gaps.py: the held-decision study keeps its own promises on a seed of each stream."""

from __future__ import annotations

import pytest

from bench.live_gaps import Result, run, simulate


@pytest.mark.parametrize("kind", ["A", "B"])
def test_held_rule_keeps_every_inferred_gap_and_every_beat(kind: str) -> None:
    stream = simulate(kind, 0)
    old, held = Result(), Result()
    run(stream, "old", old)
    run(stream, "band@3", held)
    for r in (old, held):
        assert r.missed_inferred == 0  # live includes what infer_gaps finds (live == replay)
        assert r.out_of_order == 0  # every beat released, once, in order
    assert held.beats == old.beats
    assert held.found <= old.found  # a hold only clears marks
    assert held.false < old.false / 2  # it clears late notifications
    assert 0 < held.latency_max_s <= 3.0  # held, never beyond hold_s
