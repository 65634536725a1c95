"""Movement level per window from accelerometer samples (sensors.motion).

Synthetic accelerometer signals (no real ACC recording is at hand): gravity in a posture, a
3-s sit-to-stand, a walk at 2 steps/s with 0.3 g vertical bounce.
"""

from __future__ import annotations

import numpy as np
import pytest

from sensors.motion import MotionTracker, enmo_mg

FS = 50.0


def posture(n: int, tilt_deg: float) -> np.ndarray:
    a = np.radians(tilt_deg)
    return np.tile([0.0, 1000.0 * np.sin(a), 1000.0 * np.cos(a)], (n, 1))


def test_still_in_any_posture_is_zero_movement() -> None:
    t = np.arange(0, 60, 1 / FS)
    for tilt in (0.0, 35.0, 90.0):
        tracker = MotionTracker()
        tracker.push(t, posture(t.size, tilt) + np.random.default_rng(1).normal(0, 3, (t.size, 3)))
        level = tracker.level_mg(60.0)
        assert level is not None and level < 10.0


def test_a_short_stand_up_is_not_averaged_away_and_walking_is_high() -> None:
    t = np.arange(0, 60, 1 / FS)
    acc = posture(t.size, 80.0)  # sitting back
    stand = (t >= 30) & (t < 33)
    acc[stand] = (
        posture(int(stand.sum()), 0.0) * (1 + 0.35 * np.sin(np.pi * (t[stand] - 30) / 3))[:, None]
    )
    tracker = MotionTracker()
    tracker.push(t, acc)
    level = tracker.level_mg(60.0)
    assert level is not None and level >= 40.0  # the rule's default bar
    assert enmo_mg(acc).mean() < 15.0  # a whole-minute mean would have hidden it
    walk = posture(t.size, 0.0)
    walk[:, 2] += 300.0 * np.sin(2 * np.pi * 2.0 * t)
    walking = MotionTracker()
    walking.push(t, walk)
    assert (walking.level_mg(60.0) or 0.0) > 80.0


def test_unknown_when_too_little_signal_and_bad_input() -> None:
    tracker = MotionTracker()
    assert tracker.level_mg(10.0) is None
    t = np.arange(0, 20, 1 / FS)
    tracker.push(t, posture(t.size, 0.0))
    assert tracker.level_mg(20.0) is None  # 20 s of a 60-s window: unknown, not "still"
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        enmo_mg(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="times for"):
        tracker.push(np.arange(3.0), posture(4, 0.0))
