"""HRV metrics of one window (``hrv.WindowMetrics``).

The live ``metrics`` message, the stored snapshots and a session's ``last_metrics``.

Definitions: time domain after the Task Force of the ESC and NASPE (1996) and Shaffer &
Ginsberg (2017) (:class:`hrv.TimeDomain`); frequency domain from the Lomb-Scargle/Welch PSD of
``hrv.frequency`` with the Task Force bands (VLF 0.0033-0.04, LF 0.04-0.15, HF 0.15-0.4 Hz);
coherence after McCraty et al. (2009) (``hrv.coherence``, 64 s); DFA alpha1 after Peng et al. (1995)
(:func:`hrv.dfa_alpha1`); stress index after Baevsky (:func:`hrv.stress_index`).
"""

from __future__ import annotations

from pydantic import Field

import hrv
from api.payloads._base import Finite, OptFloat, Payload, register

__all__ = ["MetricsSnapshot", "WindowMetrics"]


@register(hrv.WindowMetrics)
class WindowMetrics(Payload):
    """Metrics of one 60 s window (``hrv.WindowMetrics``).

    A metric is ``null`` when the window has too few beats for it.
    """

    t_s: Finite = Field(description="End of the window on the session's timeline, s.")
    n_beats: int = Field(description="Beats (NN intervals) in the window.")
    mean_rr_ms: OptFloat = Field(default=None, description="Mean NN interval, ms.")
    sdnn_ms: OptFloat = Field(
        default=None, description="SD of the NN intervals, ms (Task Force 1996)."
    )
    rmssd_ms: OptFloat = Field(
        default=None,
        description="Root mean square of successive differences, ms (Task Force 1996).",
    )
    sdsd_ms: OptFloat = Field(default=None, description="SD of successive differences, ms.")
    pnn50_pct: OptFloat = Field(
        default=None, description="Share of successive differences > 50 ms, %."
    )
    sd1_ms: OptFloat = Field(default=None, description="Poincare SD1 (short-term variability), ms.")
    sd2_ms: OptFloat = Field(default=None, description="Poincare SD2 (long-term variability), ms.")
    mean_hr_bpm: OptFloat = Field(default=None, description="Mean heart rate, beats/min.")
    ln_rmssd: OptFloat = Field(
        default=None, description="Natural log of RMSSD in ms (Plews et al. 2012)."
    )
    vlf_ms2: OptFloat = Field(default=None, description="VLF power (0.0033-0.04 Hz), ms^2.")
    lf_ms2: OptFloat = Field(default=None, description="LF power (0.04-0.15 Hz), ms^2.")
    hf_ms2: OptFloat = Field(default=None, description="HF power (0.15-0.4 Hz), ms^2.")
    total_ms2: OptFloat = Field(default=None, description="Total power up to 0.4 Hz, ms^2.")
    lf_hf: OptFloat = Field(default=None, description="LF/HF power ratio (dimensionless).")
    lf_nu: OptFloat = Field(default=None, description="LF in normalised units, 100 LF / (LF + HF).")
    hf_nu: OptFloat = Field(default=None, description="HF in normalised units, 100 HF / (LF + HF).")
    lf_peak_hz: OptFloat = Field(default=None, description="Frequency of the LF peak, Hz.")
    hf_peak_hz: OptFloat = Field(default=None, description="Frequency of the HF peak, Hz.")
    coherence_ratio: OptFloat = Field(
        default=None,
        description="Coherence ratio over the last 64 s: peak power (+-0.015 Hz) / (total "
        "- peak power), not squared (McCraty et al. 2009).",
    )
    coherence_peak_hz: OptFloat = Field(
        default=None, description="Frequency of the coherence peak (0.04-0.26 Hz), Hz."
    )
    coherence_score: OptFloat = Field(
        default=None,
        description="ln(1 + coherence ratio): this service's monotone compression, not "
        "HeartMath's 0-16 scale.",
    )
    dfa_alpha1: OptFloat = Field(
        default=None, description="Short-term DFA scaling exponent (4-16 beats), Peng et al. 1995."
    )
    stress_index: OptFloat = Field(
        default=None,
        description="Baevsky stress index AMo / (2 Mo MxDMn), not square-rooted (Kubios "
        "reports its square root).",
    )


class MetricsSnapshot(WindowMetrics):
    """A stored metrics snapshot: the window's metrics and when the service stored them."""

    recorded_at: float = Field(description="When the window was stored, Unix seconds.")
