"""Pacing engine: breathing pacer, resonance assessment, adaptive pacing and micro-break flags.

Pure policies over the HRV core's metrics: numpy arrays and frozen dataclasses in and out, time
passed in explicitly (``t_s``), never read from a clock.
"""

from breathing.errors import BreathingError

__all__ = ["BreathingError"]
