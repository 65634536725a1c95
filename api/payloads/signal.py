"""Signal quality and rhythm of a session's recent beats (``hrv.WindowSignal``).

The live ``signal`` message and a session's ``last_signal``: what
:meth:`hrv.SignalQuality.recent` says of the last 60 s of the beats' own clock, sent about
every 5 s of session time. Unlike a metrics window it keeps coming while the NN filter accepts
no beat (a run of bigeminy), so it says why no window comes.

Not stored: every value is derived from the stored beats (their RR, gap and contact flags) by
the same rule, so a snapshot in SQLite would add nothing (``hrv.SignalQuality`` run over
``GET /api/v1/sessions/{id}/beats`` gives it back).

References
----------
Task Force of the European Society of Cardiology and the North American Society of Pacing and
Electrophysiology (1996). Heart rate variability: standards of measurement, physiological
interpretation and clinical use. Circulation, 93(5), 1043-1065.
Malik, M., et al. (1989). Influence of the recognition artefact in automatic analysis of
long-term electrocardiograms on time-domain measurement of heart rate variability. Medical &
Biological Engineering & Computing, 27(6), 603-611.
"""

from __future__ import annotations

from pydantic import Field

import hrv
from api.payloads._base import Finite, Payload, register

__all__ = ["WindowSignal"]


@register(hrv.WindowSignal)
class WindowSignal(Payload):
    """Signal quality and rhythm of a window of beats (``hrv.WindowSignal``).

    For the live ``signal`` message the window is the last 60 s of the beats' own clock,
    rejected beats included (``hrv.SignalQuality.recent``).
    """

    quality: Finite = Field(
        ge=0.0,
        le=1.0,
        description="Share of the beats the window should hold that are clean NN beats, 0..1: "
        "clean beats / (beats received + beats estimated missing in gaps); a clean beat is "
        "one the NN filter accepts (hrv.ArtefactFilter) and that follows no gap.",
    )
    contact: bool | None = Field(
        description="False when more than 10 % of the window's beats came without skin "
        "contact; null when the strap never reported contact."
    )
    n_beats: int = Field(ge=0, description="Beats received in the window, rejected ones included.")
    n_gaps: int = Field(ge=0, description="Gaps (beats missing before a beat) in the window.")
    n_premature: int = Field(
        default=0,
        ge=0,
        description="Beats of the window that start a premature pattern: at least 20 % early, "
        "then a pause at least 25 % longer, the two together at least 1.5 intervals "
        "(hrv.premature_beats; Malik et al. 1989).",
    )
    irregular_rhythm: bool | None = Field(
        default=None,
        description="True when at least 5 % of the window's beats start a premature pattern: "
        "frequent early beats, not the signal, explain the rejected beats (hrv.irregular_rhythm; "
        "not a diagnosis); null under 20 beats.",
    )
