"""Adaptive pacing: follow the person toward their resonance during practice.

Once per breath cycle the HR oscillation of the last few breaths is measured at the paced rate
(:func:`hrv.resonance.breathing_response`). Its phase relative to lung volume says which side
of the resonance the person is on (Vaschillo et al. 2002; docs/ARCHITECTURE.md): HR *leading*
(phase > 0) means the pacing is below resonance, so the rate goes up; HR lagging (< 0) means
above, so it goes down; in phase (0 deg) is the resonance, where the peak-to-trough HR is also
largest (Lehrer, Vaschillo & Vaschillo 2000). The step is proportional to the phase, bounded per
breath (``max_step_bpm``, never faster than a person can follow), with a dead band, and the rate
stays within the adult range 4.5-7 breaths/min.

The controller holds still when the measurement cannot be trusted: contact lost or a gap in the
window, too many artefacts, or low coherence (the person is not following the pacer). These are
design choices of hrvpace, tunable in :class:`AdaptiveConfig`; no published controller exists to
copy thresholds from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from breathing.errors import BreathingError
from hrv.resonance import BreathingResponse

__all__ = ["AdaptiveConfig", "AdaptiveDecision", "AdaptivePacing", "SignalCheck"]


@dataclass(frozen=True, slots=True)
class AdaptiveConfig:
    """Tunable settings of adaptive pacing (with their rationale).

    Attributes
    ----------
    min_rate_bpm, max_rate_bpm
        Adult resonance range (Lehrer et al. 2000 report 4.5-7 breaths/min).
    max_step_bpm
        Largest change per breath: 0.1/min per breath changes a 10-s breath by ~0.17 s, too
        little to be noticed as a jump.
    gain_bpm_per_deg
        Step per degree of phase. Near resonance the phase changes by ~50 deg per breath/min,
        so 0.004 corrects ~20 % of the error per breath: no overshoot despite the measurement
        delay of a few breaths.
    deadband_deg
        No change while the phase is within this of 0 (measurement noise).
    window_cycles
        Breaths in each measurement (5 ~ 50 s). Mayer waves near 0.1 Hz disturb the phase of a
        short window by several degrees; 5 breaths keep the settled rate within ~0.15/min of
        the resonance of the simulated person, 3 breaths let it wander by ~0.25/min.
    min_quality
        Fewest share of clean beats in the window.
    min_coherence
        Smallest share of HR variance at the breathing frequency; lower means the person is
        not following the pacer. With the simulated person, following gives 0.6-0.95 even
        two breaths/min away from resonance, while spontaneous breathing reaches up to ~0.3
        when Mayer waves happen to sit at the paced frequency: 0.45 separates them.
    """

    min_rate_bpm: float = 4.5
    max_rate_bpm: float = 7.0
    max_step_bpm: float = 0.1
    gain_bpm_per_deg: float = 0.004
    deadband_deg: float = 3.0
    window_cycles: int = 5
    min_quality: float = 0.8
    min_coherence: float = 0.45

    def __post_init__(self) -> None:
        if not (1.0 <= self.min_rate_bpm < self.max_rate_bpm <= 30.0):
            raise BreathingError(
                f"adaptive: need 1 <= min_rate_bpm < max_rate_bpm <= 30, got "
                f"{self.min_rate_bpm}, {self.max_rate_bpm}"
            )
        if not (0 < self.max_step_bpm <= 1.0 and self.gain_bpm_per_deg > 0):
            raise BreathingError("adaptive: need 0 < max_step_bpm <= 1 and gain_bpm_per_deg > 0")
        if self.window_cycles < 1 or self.deadband_deg < 0:
            raise BreathingError("adaptive: need window_cycles >= 1 and deadband_deg >= 0")

    def clamp(self, rate_bpm: float) -> float:
        """``rate_bpm`` limited to ``min_rate_bpm .. max_rate_bpm``."""
        return min(self.max_rate_bpm, max(self.min_rate_bpm, rate_bpm))


@dataclass(frozen=True, slots=True)
class SignalCheck:
    """What the engine knows about the signal over the measurement window."""

    quality: float
    contact_lost: bool = False
    gap: bool = False
    irregular_rhythm: bool = False  # frequent early beats (hrv.rhythm) in the same window


@dataclass(frozen=True, slots=True)
class AdaptiveDecision:
    """One per-breath decision: the new rate and why (``holding`` when the rate was kept)."""

    t_s: float
    rate_bpm: float
    step_bpm: float
    phase_deg: float | None
    amplitude_bpm: float | None
    coherence: float | None
    holding: bool
    reason: str


class AdaptivePacing:
    """The per-breath controller (pure; the engine feeds it one measurement per breath).

    Parameters
    ----------
    start_rate_bpm : float
        Where to start: the assessed resonance, or 6.0 when not assessed.
    config : AdaptiveConfig, optional
        Tunable settings.
    breathing_delay_s : float
        How far the person's breathing runs behind the pacer (from the assessment's band-pass
        fit, :attr:`breathing.AssessmentResult.breathing_delay_s`; 0 when unknown). The
        measured phase is corrected by ``+360 (rate / 60) delay`` degrees before steering, so a
        person who lags the pacer is still led to their resonance, not below it.
    """

    def __init__(
        self,
        start_rate_bpm: float = 6.0,
        *,
        config: AdaptiveConfig | None = None,
        breathing_delay_s: float = 0.0,
    ):
        self.config = config or AdaptiveConfig()
        if not (math.isfinite(breathing_delay_s) and abs(breathing_delay_s) <= 5.0):
            raise BreathingError(f"adaptive: breathing_delay_s {breathing_delay_s!r} not in +-5 s")
        self.breathing_delay_s = breathing_delay_s
        if not math.isfinite(start_rate_bpm):
            raise BreathingError(f"adaptive: start_rate_bpm must be finite, got {start_rate_bpm}")
        self.rate_bpm = self.config.clamp(start_rate_bpm)
        self.best_rate_bpm: float | None = None
        self.best_amplitude_bpm: float | None = None

    def decide(
        self, t_s: float, response: BreathingResponse | None, signal: SignalCheck
    ) -> AdaptiveDecision:
        """The rate for the next breath, from the response over the last breaths.

        Parameters
        ----------
        t_s : float
            Time of the decision (an inhale onset).
        response : BreathingResponse or None
            HR oscillation over the last ``window_cycles`` breaths (``None`` if not measured).
        signal : SignalCheck
            Quality of the signal over the same window.

        Returns
        -------
        AdaptiveDecision
        """
        cfg = self.config

        def hold(reason: str) -> AdaptiveDecision:
            return AdaptiveDecision(
                t_s,
                self.rate_bpm,
                0.0,
                None if response is None else response.phase_deg,
                None if response is None else response.amplitude_bpm,
                None if response is None else response.coherence,
                True,
                reason,
            )

        if signal.contact_lost:
            return hold("contact lost")
        if signal.gap:
            return hold("gap in the signal")
        if signal.quality < cfg.min_quality:
            if signal.irregular_rhythm:  # the rhythm, not the strap, lowers the quality
                return hold(
                    f"irregular heartbeat: frequent early beats (signal quality "
                    f"{signal.quality:.0%}), not a strap problem"
                )
            return hold(f"poor signal quality ({signal.quality:.0%})")
        if response is None or response.phase_deg is None or response.coherence is None:
            return hold("not enough breaths measured yet")
        if response.coherence < cfg.min_coherence:
            return hold(f"not following the pacer (coherence {response.coherence:.2f})")
        amp = response.amplitude_bpm
        if amp is not None and (self.best_amplitude_bpm is None or amp > self.best_amplitude_bpm):
            self.best_amplitude_bpm, self.best_rate_bpm = amp, self.rate_bpm
        phase = response.phase_deg + 360.0 * self.rate_bpm / 60.0 * self.breathing_delay_s
        phase = (phase + 180.0) % 360.0 - 180.0
        if abs(phase) <= cfg.deadband_deg:
            return hold(f"in phase ({phase:+.0f} deg): at resonance")
        step = max(-cfg.max_step_bpm, min(cfg.max_step_bpm, cfg.gain_bpm_per_deg * phase))
        new = cfg.clamp(self.rate_bpm + step)
        step = new - self.rate_bpm
        if step == 0.0:
            return hold(f"at the {'upper' if phase > 0 else 'lower'} limit of the range")
        self.rate_bpm = new
        side = "leads: below resonance, faster" if phase > 0 else "lags: above resonance, slower"
        return AdaptiveDecision(
            t_s,
            new,
            step,
            phase,
            amp,
            response.coherence,
            False,
            f"HR {side} ({phase:+.0f} deg)",
        )
