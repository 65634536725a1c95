"""How fast a replayed or simulated session runs: the one speed parser, and its clock.

One rule for every place a speed is given (``POST /api/v1/sessions``, ``hrvpace replay``,
``hrvpace assess``, ``hrvpace practice``): a speed is the string ``"max"`` (no waiting: a
virtual clock) or a finite number of times real time in (0, 10000]. ``inf``, ``nan``, zero,
negative numbers and anything above 10000 are refused with :data:`SPEED_RULE` (use ``max``
instead of a huge factor: a scaled wall clock that far from real time gives arrival times no
one can read). The command line reads the same values as text (``--speed 20``,
``--speed max``); the API takes a JSON number or ``"max"``.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from sensors.clock import Clock, ScaledClock, SystemClock, VirtualClock

__all__ = ["MAX_SPEED", "SPEED_RULE", "Speed", "make_clock", "parse_speed"]

#: A speed: times real time, or ``"max"`` (as fast as the machine goes, on a virtual clock).
Speed = float | Literal["max"]

#: The largest numeric speed (times real time); beyond it, ``"max"`` is the speed to ask for.
MAX_SPEED = 10_000.0

#: The error text of a refused speed, the same for the API and every command.
SPEED_RULE = "speed must be 'max' or a number of times real time in (0, 10000]"


def parse_speed(value: str | float) -> Speed:
    """Read a speed: ``"max"`` or a finite number in (0, :data:`MAX_SPEED`].

    Parameters
    ----------
    value
        ``"max"`` (any case, surrounding blanks ignored), a number, or a number as text (the
        command line's ``--speed``).

    Returns
    -------
    Speed
        ``"max"`` or the number as a float.

    Raises
    ------
    ValueError
        Anything else (``inf``, ``nan``, 0, negative, above 10000, not a number, a bool); the
        message is :data:`SPEED_RULE` followed by the value given.

    Examples
    --------
    >>> parse_speed("max"), parse_speed("20"), parse_speed(0.5)
    ('max', 20.0, 0.5)
    >>> parse_speed("inf")
    Traceback (most recent call last):
    ...
    ValueError: speed must be 'max' or a number of times real time in (0, 10000], got 'inf'
    """
    speed: float
    if isinstance(value, str):
        if value.strip().lower() == "max":
            return "max"
        try:
            speed = float(value)
        except ValueError:
            raise ValueError(f"{SPEED_RULE}, got {value!r}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        speed = float(value)
    else:
        raise ValueError(f"{SPEED_RULE}, got {value!r}")
    if not (math.isfinite(speed) and 0.0 < speed <= MAX_SPEED):
        raise ValueError(f"{SPEED_RULE}, got {value!r}")
    return speed


def make_clock(speed: Speed) -> Clock:
    """Real time at speed 1, :class:`ScaledClock` above, :class:`VirtualClock` for ``"max"``."""
    if speed == "max":
        return VirtualClock(start=time.time())
    if speed == 1:
        return SystemClock()
    return ScaledClock(float(speed))
