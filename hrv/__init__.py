"""HRV core: pure, vectorised heart-rate-variability metrics on RR intervals in milliseconds.

Arrays in, frozen dataclasses (or column dictionaries for many windows) out. No I/O, no asyncio,
no clock reads. Every metric's docstring names its definition and reference.
"""

from hrv.clean import LABEL_NAMES, BeatLabel, Cleaned, clean, corrected_pct
from hrv.coherence import Coherence, coherence, coherence_windows, spectral_windows
from hrv.ectopy import EctopyCheck, ectopy_check, ectopy_windows
from hrv.errors import HrvInputError, HrvpaceError
from hrv.frequency import FrequencyDomain, frequency_domain, frequency_domain_windows
from hrv.live import LiveAnalyser, LiveWindow, live_settings
from hrv.nn_filter import RR_RANGE_MS, ArtefactFilter
from hrv.nonlinear import Dfa, StressIndex, dfa_alpha1, dfa_settings, stress_index
from hrv.resonance import (
    BreathingResponse,
    HrOscillation,
    LfBand,
    breathing_response,
    hr_oscillation,
    lf_band,
    lung_volume,
)
from hrv.rhythm import irregular_rhythm, premature_beats
from hrv.rolling import rolling
from hrv.signal_quality import SignalQuality, WindowSignal
from hrv.spectrum import PowerSpectrum, power_spectrum
from hrv.streaming import StreamingAnalyser, WindowMetrics
from hrv.time_domain import TimeDomain, time_domain
from hrv.timeline import clean_anchors, to_beat_clock

__all__ = [
    "LABEL_NAMES",
    "RR_RANGE_MS",
    "ArtefactFilter",
    "BeatLabel",
    "BreathingResponse",
    "Cleaned",
    "Coherence",
    "Dfa",
    "EctopyCheck",
    "FrequencyDomain",
    "HrOscillation",
    "HrvInputError",
    "HrvpaceError",
    "LfBand",
    "LiveAnalyser",
    "LiveWindow",
    "PowerSpectrum",
    "SignalQuality",
    "StreamingAnalyser",
    "StressIndex",
    "TimeDomain",
    "WindowMetrics",
    "WindowSignal",
    "breathing_response",
    "clean",
    "clean_anchors",
    "coherence",
    "coherence_windows",
    "corrected_pct",
    "dfa_alpha1",
    "dfa_settings",
    "ectopy_check",
    "ectopy_windows",
    "frequency_domain",
    "frequency_domain_windows",
    "hr_oscillation",
    "irregular_rhythm",
    "lf_band",
    "live_settings",
    "lung_volume",
    "power_spectrum",
    "premature_beats",
    "rolling",
    "spectral_windows",
    "stress_index",
    "time_domain",
    "to_beat_clock",
]
