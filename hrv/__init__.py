"""HRV core: pure, vectorised heart-rate-variability metrics on RR intervals in milliseconds.

Arrays in, frozen dataclasses (or column dictionaries for many windows) out. No I/O, no asyncio,
no clock reads. Every metric's docstring names its definition and reference.
"""

from hrv.errors import HrvInputError, HrvpaceError
from hrv.nonlinear import Dfa, StressIndex, dfa_alpha1, stress_index
from hrv.rolling import rolling
from hrv.streaming import StreamingAnalyser, WindowMetrics
from hrv.time_domain import TimeDomain, time_domain

__all__ = [
    "Dfa",
    "HrvInputError",
    "HrvpaceError",
    "StreamingAnalyser",
    "StressIndex",
    "TimeDomain",
    "WindowMetrics",
    "dfa_alpha1",
    "rolling",
    "stress_index",
    "time_domain",
]
