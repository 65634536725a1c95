"""Stretches without skin contact: the changes kept from a source's statuses, read back."""

from __future__ import annotations

import numpy as np

from sensors.beat import SourceState, SourceStatus
from sensors.contact import (
    ContactChanges,
    NoContactStretch,
    no_contact_stretches,
    open_stretch_starts,
)


def _status(state: SourceState, contact_t_s: float | None) -> SourceStatus:
    return SourceStatus(state, contact_t_s=contact_t_s)


def test_changes_are_kept_where_contact_is_lost_and_where_it_comes_back() -> None:
    changes = ContactChanges()
    S, N = SourceState.STREAMING, SourceState.NO_CONTACT
    kept = [
        changes.on_status(s)
        for s in [
            _status(SourceState.CONNECTING, None),
            _status(S, None),
            _status(N, 2.4),
            _status(N, 2.4),  # a heart-rate update in the same state: nothing new
            _status(S, 9.1),  # contact back, with the first packet with contact
            _status(N, 20.0),
            _status(SourceState.RECONNECTING, 20.0),  # dropped in it: when it ended is unknown
            _status(S, 20.0),
        ]
    ]
    assert [k for k in kept if k is not None] == [(2.4, False), (9.1, True), (20.0, False)]


def test_stretches_end_with_contact_the_next_beat_or_the_end() -> None:
    beats = [0.8, 1.6, 9.9, 10.7, 25.0]
    assert no_contact_stretches([], beats) == []
    assert no_contact_stretches([(2.4, False), (9.1, True)], beats) == [
        NoContactStretch(2.4, 9.1, "contact")
    ]
    # dropped in: it ends at the next beat; a later loss is a stretch of its own
    assert no_contact_stretches([(2.4, False), (12.0, False)], beats) == [
        NoContactStretch(2.4, 9.9, "beat"),
        NoContactStretch(12.0, 25.0, "beat"),
    ]
    # lost again before any beat: no beat said anything in between, one stretch
    assert no_contact_stretches([(2.4, False), (5.0, False), (9.5, True)], beats) == [
        NoContactStretch(2.4, 9.5, "contact")
    ]
    # no beat after it: it lasted to the end
    assert no_contact_stretches([(30.0, False)], beats) == [NoContactStretch(30.0, None, "end")]
    # a True with no stretch open changes nothing
    assert no_contact_stretches([(1.0, True)], beats) == []


def test_only_the_starts_no_true_change_follows_need_a_beat() -> None:
    # a reader of stored beats looks up, for each start open_stretch_starts gives, the first
    # beat with contact after it; the stretches are those every beat with contact gives
    assert open_stretch_starts([(2.4, False), (9.1, True), (12.0, False)]) == [12.0]
    assert open_stretch_starts([(2.4, False), (5.0, False), (9.5, True)]) == [2.4]
    assert open_stretch_starts([(1.0, True), (3.0, False), (3.0, False)]) == [3.0]
    rng = np.random.default_rng(11)
    for _ in range(500):
        beats = np.sort(
            rng.choice(np.arange(0.5, 40.0, 0.5), size=rng.integers(0, 30), replace=False)
        )
        changes = [
            (float(t), bool(c))
            for t, c in zip(
                np.sort(rng.uniform(0.0, 42.0, rng.integers(0, 12))),
                rng.random(12) < 0.4,
                strict=False,
            )
        ]
        nexts = []
        for s in open_stretch_starts(changes):
            i = int(np.searchsorted(beats, s, side="right"))
            if i < len(beats):
                nexts.append(float(beats[i]))
        assert no_contact_stretches(changes, sorted(set(nexts))) == no_contact_stretches(
            changes, beats.tolist()
        ), changes
