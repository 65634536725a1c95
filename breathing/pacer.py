"""The breathing pacer: a pattern and its phase at any time, continuous through rate changes.

The phase (in cycles; every integer is the start of an inhale) advances at the rate:
``phase(t) = phase_k + rate_k (t - t_k) / 60`` after the ``k``-th change at ``t_k``. A change
keeps the breath where it is: the same cycle, the same stage (inhale, hold, exhale, hold) and
the same share of that stage elapsed, so the lung volume never jumps (a known flaw of pacers
that compute ``t * rate`` from the start). When the stage fractions do not change (no holds and
the same inhale:exhale ratio: any rate change of a plain pattern) ``phase_k`` is the phase just
before the change, i.e. the phase is the integral of the rate. Holds keep their seconds, so
their share of the breath changes with the rate: then ``phase_k`` moves within the cycle to the
same point of the same stage (never across an inhale onset). The app animates on its own from a
:class:`PacerReference` (a time, the phase at that time, the rate and the pattern) and stays in
sync with the service whenever it receives a new one.

Pure: time is passed in as ``t_s`` (seconds on the session's timeline); nothing reads a clock.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from enum import StrEnum

from breathing.errors import BreathingError
from hrv.resonance import lung_volume_at

__all__ = [
    "BreathStage",
    "BreathingPattern",
    "Pacer",
    "PacerPhase",
    "PacerReference",
]

#: Rates a pacer accepts at all (breaths/min); policies narrow it (adaptive pacing: 4.5-7).
MIN_RATE_BPM = 1.0
MAX_RATE_BPM = 30.0


class BreathStage(StrEnum):
    """Where in the breath a phase falls."""

    INHALE = "inhale"
    HOLD_AFTER_INHALE = "hold_after_inhale"
    EXHALE = "exhale"
    HOLD_AFTER_EXHALE = "hold_after_exhale"


@dataclass(frozen=True, slots=True)
class BreathingPattern:
    """A breathing pattern.

    Attributes
    ----------
    rate_bpm
        Breaths per minute (one breath = inhale, hold, exhale, hold).
    inhale_to_exhale
        Duration of inhale divided by that of exhale (1.0 = 1:1; 4 s in / 6 s out = 0.667).
    hold_after_inhale_s, hold_after_exhale_s
        Optional holds in seconds (0 = none). The breath must leave time to breathe.
    """

    rate_bpm: float
    inhale_to_exhale: float = 1.0
    hold_after_inhale_s: float = 0.0
    hold_after_exhale_s: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_bpm) and MIN_RATE_BPM <= self.rate_bpm <= MAX_RATE_BPM):
            raise BreathingError(
                f"pattern: rate_bpm {self.rate_bpm!r} outside {MIN_RATE_BPM}-{MAX_RATE_BPM}"
            )
        if not (math.isfinite(self.inhale_to_exhale) and 0.1 <= self.inhale_to_exhale <= 10):
            raise BreathingError(
                f"pattern: inhale_to_exhale {self.inhale_to_exhale!r} outside 0.1-10"
            )
        holds = self.hold_after_inhale_s + self.hold_after_exhale_s
        if self.hold_after_inhale_s < 0 or self.hold_after_exhale_s < 0 or not math.isfinite(holds):
            raise BreathingError("pattern: holds must be >= 0 seconds")
        if holds > 0.5 * self.period_s:
            raise BreathingError(
                f"pattern: holds of {holds:g} s leave too little time to breathe in a "
                f"{self.period_s:g}-s breath (at most half of it)"
            )

    @property
    def period_s(self) -> float:
        """Duration of one breath in seconds."""
        return 60.0 / self.rate_bpm

    def fractions(self) -> tuple[float, float, float, float]:
        """Shares of a cycle: (inhale, hold after inhale, exhale, hold after exhale)."""
        p = self.period_s
        h1, h2 = self.hold_after_inhale_s / p, self.hold_after_exhale_s / p
        breathe = 1.0 - h1 - h2
        inhale = breathe * self.inhale_to_exhale / (1.0 + self.inhale_to_exhale)
        return inhale, h1, breathe - inhale, h2

    def with_rate(self, rate_bpm: float) -> BreathingPattern:
        """The same pattern at another rate (holds keep their seconds)."""
        return replace(self, rate_bpm=rate_bpm)


@dataclass(frozen=True, slots=True)
class PacerPhase:
    """The pacer at one instant."""

    t_s: float
    phase_cycles: float
    cycle_index: int
    fraction: float
    stage: BreathStage
    stage_progress: float
    lung_volume: float
    rate_bpm: float


@dataclass(frozen=True, slots=True)
class PacerReference:
    """What an app needs to animate the pacer on its own.

    At ``t_s`` the phase is ``phase_cycles``; it then advances at ``rate_bpm / 60`` cycles per
    second with ``pattern`` until the next reference. ``inhale_onset_t_s`` is the time of the
    latest inhale onset (phase an integer) at or before ``t_s`` for the current rate.
    """

    t_s: float
    phase_cycles: float
    rate_bpm: float
    inhale_onset_t_s: float
    pattern: BreathingPattern


def _stage_bounds(pattern: BreathingPattern) -> tuple[tuple[BreathStage, float, float], ...]:
    """Each stage with the share of the cycle where it starts and ends."""
    fi, fh1, fe, _ = pattern.fractions()
    return (
        (BreathStage.INHALE, 0.0, fi),
        (BreathStage.HOLD_AFTER_INHALE, fi, fi + fh1),
        (BreathStage.EXHALE, fi + fh1, fi + fh1 + fe),
        (BreathStage.HOLD_AFTER_EXHALE, fi + fh1 + fe, 1.0),
    )


def _stage_at(frac: float, pattern: BreathingPattern) -> tuple[BreathStage, float]:
    """Stage of the breath at ``frac`` (share of the cycle, 0-1) and the share of it elapsed."""
    for name, lo, hi in _stage_bounds(pattern):
        if lo <= frac < hi:
            return name, (frac - lo) / (hi - lo)
    return BreathStage.EXHALE, 1.0


def _carry_phase(phase: float, old: BreathingPattern, new: BreathingPattern) -> float:
    """The phase under ``new`` at the same cycle, stage and progress as ``phase`` under ``old``.

    Unchanged when both patterns split the cycle alike.
    """
    if old.fractions() == new.fractions():
        return phase
    cycle = math.floor(phase)
    stage, progress = _stage_at(phase - cycle, old)
    for name, lo, hi in _stage_bounds(new):
        if name is stage:
            return cycle + min(lo + progress * (hi - lo), 1.0)
    raise AssertionError(stage)  # every stage is in the bounds


@dataclass(frozen=True, slots=True)
class _Segment:
    t_start_s: float
    phase_start: float
    pattern: BreathingPattern


class Pacer:
    """A breathing pacer whose phase is the integral of its rate.

    Parameters
    ----------
    pattern : BreathingPattern
        The initial pattern.
    t0_s : float
        Time of the first inhale onset (phase 0).
    """

    def __init__(self, pattern: BreathingPattern, *, t0_s: float = 0.0) -> None:
        if not math.isfinite(t0_s):
            raise BreathingError(f"pacer: t0_s must be finite, got {t0_s!r}")
        self._segments: list[_Segment] = [_Segment(t0_s, 0.0, pattern)]
        self._starts: list[float] = [t0_s]

    # -- state ----------------------------------------------------------------------------------

    @property
    def pattern(self) -> BreathingPattern:
        """The pattern in force after the latest change."""
        return self._segments[-1].pattern

    @property
    def rate_bpm(self) -> float:
        """The breathing rate (breaths per minute) in force after the latest change."""
        return self._segments[-1].pattern.rate_bpm

    @property
    def last_change_t_s(self) -> float:
        """Time (s) of the latest pattern change (``t0_s`` when there was none)."""
        return self._segments[-1].t_start_s

    def _segment(self, t_s: float) -> _Segment:
        if t_s >= self._starts[-1]:
            return self._segments[-1]
        i = max(0, bisect.bisect_right(self._starts, t_s) - 1)
        return self._segments[i]

    def pattern_at(self, t_s: float) -> BreathingPattern:
        """The pattern in force at ``t_s``."""
        return self._segment(t_s).pattern

    def phase_cycles(self, t_s: float) -> float:
        """Breathing phase in cycles at ``t_s`` (continuous; integers are inhale onsets)."""
        seg = self._segment(t_s)
        return seg.phase_start + (t_s - seg.t_start_s) * seg.pattern.rate_bpm / 60.0

    def __call__(self, t_s: float) -> float:
        """Same as :meth:`phase_cycles`, so a pacer can drive a simulated person's breathing."""
        return self.phase_cycles(t_s)

    def phase(self, t_s: float) -> PacerPhase:
        """The pacer at ``t_s``: cycle, stage of the breath, progress in it, lung volume."""
        seg = self._segment(t_s)
        phase = self.phase_cycles(t_s)
        cycle = math.floor(phase)
        frac = phase - cycle
        fi, fh1, _, fh2 = seg.pattern.fractions()
        stage, progress = _stage_at(frac, seg.pattern)
        volume = lung_volume_at(
            frac, inhale_fraction=fi, hold_after_inhale_fraction=fh1, hold_after_exhale_fraction=fh2
        )
        return PacerPhase(
            t_s=t_s,
            phase_cycles=phase,
            cycle_index=cycle,
            fraction=frac,
            stage=stage,
            stage_progress=progress,
            lung_volume=volume,
            rate_bpm=seg.pattern.rate_bpm,
        )

    def reference(self, t_s: float) -> PacerReference:
        """The reference an app animates from (see :class:`PacerReference`)."""
        seg = self._segment(t_s)
        phase = self.phase_cycles(t_s)
        onset = t_s - (phase - math.floor(phase)) * seg.pattern.period_s
        return PacerReference(t_s, phase, seg.pattern.rate_bpm, onset, seg.pattern)

    def inhale_onsets(self, t_from_s: float, t_to_s: float) -> tuple[float, ...]:
        """Times of inhale onsets (integer phase) with ``t_from_s <= t <= t_to_s``.

        After the latest change the current rate is assumed to continue.
        """
        out: list[float] = []
        for i, seg in enumerate(self._segments):
            end = self._segments[i + 1].t_start_s if i + 1 < len(self._segments) else math.inf
            lo, hi = max(t_from_s, seg.t_start_s), min(t_to_s, end)
            if lo > hi or (lo == hi and hi == end):
                continue
            rate = seg.pattern.rate_bpm / 60.0
            k = math.ceil(seg.phase_start + (lo - seg.t_start_s) * rate - 1e-12)
            while True:
                t = seg.t_start_s + (k - seg.phase_start) / rate
                if t > hi or (t >= end):
                    break
                if t >= lo:
                    out.append(t)
                k += 1
        return tuple(out)

    def next_inhale_onset(self, t_s: float) -> float:
        """The first inhale onset strictly after ``t_s`` if the current rate continues."""
        seg = self._segment(t_s)
        phase = self.phase_cycles(t_s)
        k = math.floor(phase + 1e-9) + 1  # an onset at t_s itself (up to rounding) is not next
        return t_s + (k - phase) * seg.pattern.period_s

    # -- changes --------------------------------------------------------------------------------

    def set_pattern(self, pattern: BreathingPattern, *, t_s: float) -> None:
        """Use ``pattern`` from ``t_s`` on, keeping the breath where it is.

        The new phase at ``t_s`` is in the same cycle and the same stage, with the same share of
        the stage elapsed, so the lung volume is continuous. If the stage fractions are the same
        (no holds, same ratio) the phase itself is continuous; otherwise it moves within the
        cycle (see the module docstring). :meth:`reference` gives the new phase at ``t_s``.

        Raises
        ------
        BreathingError
            ``t_s`` is before the latest change (history is never rewritten).
        """
        if not math.isfinite(t_s) or t_s < self._starts[-1]:
            raise BreathingError(
                f"pacer: change at t_s={t_s!r} is before the latest change at {self._starts[-1]}"
            )
        if t_s == self._starts[-1] and len(self._segments) > 1:
            # replaces the change made at this very time: carry from the breath before it
            prev = self._segments[-2]
            before = prev.phase_start + (t_s - prev.t_start_s) * prev.pattern.rate_bpm / 60.0
            phase = _carry_phase(before, prev.pattern, pattern)
        else:
            phase = _carry_phase(self.phase_cycles(t_s), self.pattern, pattern)
        if t_s == self._starts[-1]:
            self._segments[-1] = _Segment(t_s, phase, pattern)
            return
        self._segments.append(_Segment(t_s, phase, pattern))
        self._starts.append(t_s)

    def set_rate(self, rate_bpm: float, *, t_s: float) -> None:
        """Change only the rate from ``t_s`` on (see :meth:`set_pattern`)."""
        self.set_pattern(self.pattern.with_rate(rate_bpm), t_s=t_s)

    def forget_before(self, t_s: float) -> None:
        """Drop history of changes that ended before ``t_s`` (bounded memory in long sessions)."""
        i = bisect.bisect_right(self._starts, t_s) - 1
        if i > 0:
            del self._segments[:i]
            del self._starts[:i]
