"""Injected clocks: real time for live use, virtual time for tests, replay and simulation.

Sources never call ``time.time()`` or ``asyncio.sleep()`` directly; they ask their clock. A
:class:`VirtualClock` makes a 20-minute simulated session run in milliseconds and give the
same answer twice.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ScaledClock", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    """What a source needs from time."""

    def now(self) -> float:
        """Wall-clock time in Unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock's timeline."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Unix seconds now (``time.time()``)."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time (negative: not at all)."""
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Real time running ``speed`` times faster: ``sleep(10)`` at speed 5 waits 2 s.

    ``now()`` advances ``speed`` times as fast as the wall clock, starting from the wall clock.
    """

    def __init__(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.speed = speed
        self._t0_wall = time.time()
        self._t0_mono = time.monotonic()

    def now(self) -> float:
        """Scaled Unix seconds: the start's wall clock plus ``speed`` times the time since."""
        return self._t0_wall + (time.monotonic() - self._t0_mono) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of scaled time: ``seconds / speed`` of real time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class VirtualClock:
    """Time that only moves when slept on: as fast as possible, deterministic.

    ``sleep`` advances the clock and yields once to the event loop, so other tasks still run.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._t = start

    def now(self) -> float:
        """The virtual time, Unix seconds."""
        return self._t

    async def sleep(self, seconds: float) -> None:
        """Advance the virtual time by ``seconds`` at once and yield to the event loop once."""
        self._t += max(0.0, seconds)
        await asyncio.sleep(0)
