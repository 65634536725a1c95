"""Resonance-frequency assessment: the stepped paced-breathing protocol and the choice of rate.

Protocol (Lehrer, Vaschillo & Vaschillo 2000; Shaffer & Meehan 2020): paced breathing at 6.5,
6.0, 5.5, 5.0 and 4.5 breaths/min for about 2 minutes each (configurable; a 1-minute screening
variant). For each rate, on the part of the step after a settling time:

* peak-to-trough HR per breath (mean), :func:`hrv.resonance.hr_oscillation`;
* phase of HR relative to lung volume at the breathing frequency and the oscillation's
  amplitude, power and coherence, :func:`hrv.resonance.breathing_response`;
* LF power and LF peak, :func:`hrv.resonance.lf_band`;
* signal quality (share of artefact-free beats with skin contact).

The choice (:func:`choose_resonance`) follows the published criteria: HR in phase with
breathing (0 deg), the largest peak-to-trough HR, the highest LF power and LF peak, and a single
smooth peak of the amplitude curve. The phase is the most precise of them (it changes sign at
resonance, from HR leading below to lagging above, Vaschillo et al. 2002), so the estimate is
the *interpolated zero crossing of the phase* between the two rates that bracket it, finer than
the 0.5-bpm grid, cross-checked against the amplitude peak (a parabola through the largest
peak-to-trough and its neighbours). When they disagree by more than one step, or when the
band-pass model below does not explain the measured phases (residual >= 6 deg: HR in phase with
breathing marks the resonance only under that model; on de Boer's beat-to-beat model it does
not), the amplitude parabola is used, the amplitude peak being the definition of resonance.
When the phase does not cross 0 on the grid the crossing is extrapolated by at most half a step
beyond the grid; no method gives a rate further out (a resonance of 7.5/min is reported as
6.75). The result keeps the whole per-rate table and says why.

The phase is measured against the *pacer*, not a respiration belt. A person who breathes a
little behind the pacer shifts every phase by ``-360 f tau`` and the crossing down (0.7 s
moves it ~0.4 breaths/min). So the band-pass baroreflex model (Vaschillo et al. 2002) is also
fitted to amplitude and phase with a constant delay ``tau``; the amplitude does not depend on
``tau``, which separates the two. When the fitted delay exceeds 0.35 s, the fitted resonance
is used (``method="resonator_fit"``) and the delay is reported, so adaptive pacing can correct
its phase by it.

Short steps (the 1-minute screening leaves ~40 s per rate after settling): each step says which
criteria its measures can serve and why (:attr:`RateResult.criteria`). Phase, amplitude and
peak-to-trough need 2 whole breaths. LF power and the LF peak are taken on the *same* length at
every rate (the last ``step_s - settle_s`` seconds of the step: a periodogram's peak density
grows with the segment's length, so unequal segments would bias the comparison): LF power from
:data:`LF_POWER_MIN_SPAN_S` on, the LF peak from :data:`LF_PEAK_MIN_SPAN_S` on. A criterion
that some usable rate cannot serve is left out of the choice altogether (an argmax over the
other rates could point anywhere) and says so. When the chosen rate is at an edge of the tested
range (within a quarter step of its lowest or highest rate) or beyond it, the result says that
the resonance may lie beyond the range, and further out than the rate given when that was
extrapolated (:attr:`AssessmentResult.range_edge`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from breathing.errors import BreathingError
from breathing.pacer import BreathingPattern
from breathing.resonance_choice import (
    CRITERIA,
    DELAY_THRESHOLD_S,
    IRREGULAR_RHYTHM_NOTE,
    LOW_COHERENCE_NOTE,
    AssessmentResult,
    Criterion,
    CriterionUse,
    RateResult,
    ResonanceMethod,
    choose_resonance,
)
from hrv.resonance import breathing_response, hr_oscillation, lf_band
from hrv.rhythm import irregular_rhythm, premature_beats

__all__ = [
    "DELAY_THRESHOLD_S",
    "LF_PEAK_MIN_SPAN_S",
    "LF_POWER_MIN_SPAN_S",
    "AssessmentProtocol",
    "AssessmentResult",
    "Criterion",
    "CriterionUse",
    "RateResult",
    "ResonanceMethod",
    "analyse_rate",
    "choose_resonance",
]


@dataclass(frozen=True, slots=True)
class AssessmentProtocol:
    """The stepped protocol.

    Attributes
    ----------
    rates_bpm
        Rates in the order they are paced (breaths/min).
    step_s
        Nominal length of each step; a step ends at the first inhale onset after it.
    settle_s
        Start of each step left out of the analysis (the heart needs a few breaths to follow).
    inhale_to_exhale
        Breathing pattern during the assessment.
    min_quality
        A rate whose share of clean beats is lower is not usable.
    min_coherence
        A rate whose HR oscillation explains less of the HR variance than this is not usable
        (the person was likely not following the pacer; over a 90-s window spontaneous
        breathing stays below ~0.2 in the simulator, paced breathing above ~0.6).
    """

    rates_bpm: tuple[float, ...] = (6.5, 6.0, 5.5, 5.0, 4.5)
    step_s: float = 120.0
    settle_s: float = 30.0
    inhale_to_exhale: float = 1.0
    min_quality: float = 0.8
    min_coherence: float = 0.3

    def __post_init__(self) -> None:
        if len(self.rates_bpm) < 3:
            raise BreathingError("protocol: at least 3 rates are needed to find a peak")
        if len(set(self.rates_bpm)) != len(self.rates_bpm):
            raise BreathingError(f"protocol: rates repeat: {self.rates_bpm}")
        for r in self.rates_bpm:
            BreathingPattern(r, self.inhale_to_exhale)  # validates the rate
        if not (self.step_s >= 30.0 and 0.0 <= self.settle_s <= self.step_s - 20.0):
            raise BreathingError(
                f"protocol: need step_s >= 30 and 0 <= settle_s <= step_s - 20; got "
                f"step_s={self.step_s}, settle_s={self.settle_s}"
            )

    @classmethod
    def screening(cls) -> AssessmentProtocol:
        """A shorter variant: 1 minute per rate, 20 s settling (about 5 minutes in all)."""
        return cls(step_s=60.0, settle_s=20.0)

    @property
    def nominal_duration_s(self) -> float:
        """Planned length of the whole protocol (s): ``step_s`` times the number of rates."""
        return self.step_s * len(self.rates_bpm)


#: Shortest segment (s) on which a step's LF power (0.04-0.15 Hz) is computed. The Hann
#: periodogram of a sinusoid at any protocol rate (4.5-6.5/min, 0.075-0.108 Hz) keeps 95-102 % of
#: its power inside the LF band on a 30-s segment, 99-100 % from 40 s on (any phase, linear
#: detrend); on 20-25 s it reads 89-118 %, depending on the rate and the phase, and on 15 s
#: 43-107 %: a bias as large as the differences the comparison across rates looks for.
LF_POWER_MIN_SPAN_S = 30.0
#: Shortest segment (s) on which a step's LF *peak* is reported. A peak is resolved when the
#: main lobe of the Hann window (+-2/T Hz) around the paced frequency stays inside the LF band:
#: 0.075 Hz - 2/60 >= 0.04 Hz at 4.5/min. On the screening's 40-s steps the lobe (+-0.05 Hz)
#: spills below 0.04 Hz and the bins are 0.025 Hz (1.5 breaths/min, three steps of the grid),
#: so the largest in-band density says little about the paced oscillation.
LF_PEAK_MIN_SPAN_S = 60.0


def analyse_rate(
    rate_bpm: float,
    *,
    t_s: Any,
    rr_ms: Any,
    valid: Any = None,
    inhale_onsets_s: Any,
    pattern: BreathingPattern | None = None,
    min_quality: float = 0.8,
    min_coherence: float = 0.3,
    lf_span_s: float | None = None,
    gap_before: Any = None,
    no_contact: Any = None,
) -> RateResult:
    """Measure the response to one paced rate from the beats of its analysis window.

    Parameters
    ----------
    rate_bpm : float
        The paced rate.
    t_s, rr_ms : array_like
        Beat times (s) and RR intervals (ms) of the analysis window.
    valid : array_like of bool, optional
        False for beats to leave out (artefacts, no contact); default all valid.
    inhale_onsets_s : array_like
        Pacer inhale onsets covering the window (phase reference).
    pattern : BreathingPattern, optional
        The paced pattern (for the lung-volume reference); default 1:1 at ``rate_bpm``.
    min_quality, min_coherence : float
        Thresholds for ``usable`` (see :class:`AssessmentProtocol`).
    lf_span_s : float, optional
        Length of the segment, ending at the last inhale onset, on which LF power and the LF peak
        are taken; give every step the same one (the engine gives ``step_s - settle_s``).
        Default: the whole window. LF power needs :data:`LF_POWER_MIN_SPAN_S` of beats and the LF
        peak :data:`LF_PEAK_MIN_SPAN_S`; shorter, they are ``None`` and ``criteria`` says why.
    gap_before, no_contact : array_like of bool, optional
        Per beat: beats missing before it, no skin contact. With them a step whose quality is
        too low because of frequent early heartbeats (:func:`hrv.irregular_rhythm`) says so in
        its note (:data:`IRREGULAR_RHYTHM_NOTE`) instead of pointing at the signal.

    Returns
    -------
    RateResult

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Applied Psychophysiology and
    Biofeedback, 25(3), 177-191. Shaffer, F., & Meehan, Z. M. (2020). Frontiers in
    Neuroscience, 14, 570400.
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    ok = np.ones(t.shape, dtype=np.bool_) if valid is None else np.asarray(valid, dtype=np.bool_)
    if not (t.shape == rr.shape == ok.shape):
        raise BreathingError(
            f"analyse_rate: t_s {t.shape}, rr_ms {rr.shape} and valid {ok.shape} must match"
        )
    if lf_span_s is not None and not (math.isfinite(lf_span_s) and lf_span_s > 0):
        raise BreathingError(f"analyse_rate: lf_span_s must be > 0 s, got {lf_span_s!r}")
    pat = pattern or BreathingPattern(rate_bpm)
    fi, fh1, _, fh2 = pat.fractions()
    n_all = int(t.size)
    quality = float(ok.mean()) if n_all else 0.0
    # frequent early beats, not the contact, may be why quality is low (hrv.rhythm); in a run
    # of bigeminy they leave no NN beat at all, so ask before the "too few beats" exit
    irregular = (
        quality < min_quality
        and bool(np.all(np.isfinite(rr)) and np.all(rr > 0))
        and bool(
            irregular_rhythm(
                int(premature_beats(rr, gap_before=gap_before, no_contact=no_contact).sum()),
                n_all,
            )
        )
    )
    rhythm_note = f"{IRREGULAR_RHYTHM_NOTE} (signal quality {quality:.0%})"
    tv, rv = t[ok], rr[ok]
    onsets = np.asarray(inhale_onsets_s, dtype=np.float64)
    if tv.size < 10 or onsets.size < 2:
        why = rhythm_note if irregular and onsets.size >= 2 else "too few beats or breaths"
        return RateResult(
            rate_bpm,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            0,
            n_all,
            quality,
            False,
            why,
            tuple(CriterionUse(name, False, f"step not usable: {why}") for name in CRITERIA),
        )
    # gaps: a removed beat means the next one does not follow its predecessor in the kept series
    idx = np.flatnonzero(ok)
    gaps = np.zeros(idx.size, dtype=np.bool_)
    gaps[1:] = np.diff(idx) > 1
    osc = hr_oscillation(rv, t_s=tv, cycle_starts_s=onsets, gaps=gaps)
    resp = breathing_response(
        rv,
        t_s=tv,
        inhale_onsets_s=onsets,
        inhale_fraction=fi,
        hold_after_inhale_fraction=fh1,
        hold_after_exhale_fraction=fh2,
    )
    if lf_span_s is None:
        seg = np.ones(tv.shape, dtype=np.bool_)
    else:
        seg = (tv >= float(onsets[-1]) - lf_span_s) & (tv <= float(onsets[-1]))
    seg_s = float(tv[seg][-1] - tv[seg][0]) if np.count_nonzero(seg) > 1 else 0.0
    lf = lf_band(rv[seg], t_s=tv[seg], min_duration_s=LF_POWER_MIN_SPAN_S)
    peak_ok = lf.lf_power_ms2 is not None and seg_s >= LF_PEAK_MIN_SPAN_S
    notes = []
    if quality < min_quality:
        notes.append(
            rhythm_note if irregular else f"signal quality {quality:.0%} below {min_quality:.0%}"
        )
    if resp.coherence is not None and resp.coherence < min_coherence:
        notes.append(LOW_COHERENCE_NOTE)
    if resp.phase_deg is None or resp.n_cycles < 2:
        notes.append("fewer than 2 whole breaths")
    usable = not notes
    if not usable:
        uses = tuple(
            CriterionUse(name, False, f"step not usable: {'; '.join(notes)}") for name in CRITERIA
        )
    else:
        n_osc = osc.n_cycles
        osc_use = (
            (True, f"peak-to-trough HR over {n_osc} whole breaths")
            if osc.mean_peak_to_trough_bpm is not None
            else (False, "no whole breath without a gap or with enough beats")
        )
        fit_ok = resp.amplitude_bpm is not None and resp.amplitude_bpm > 0
        power_why = (
            f"periodogram of {seg_s:.0f} s"
            if lf.lf_power_ms2 is not None
            else f"{seg_s:.0f} s of beats; LF power needs >= {LF_POWER_MIN_SPAN_S:g} s"
        )
        peak_why = (
            f"periodogram of {seg_s:.0f} s"
            if peak_ok
            else f"{seg_s:.0f} s of beats; a resolved LF peak needs >= {LF_PEAK_MIN_SPAN_S:g} s "
            "(the window's main lobe at the paced rate inside 0.04-0.15 Hz)"
        )
        uses = (
            CriterionUse("phase_zero_crossing", True, f"phase over {resp.n_cycles} whole breaths"),
            CriterionUse("max_peak_to_trough", *osc_use),
            CriterionUse("max_lf_power", lf.lf_power_ms2 is not None, power_why),
            CriterionUse("max_lf_peak", peak_ok, peak_why),
            CriterionUse("single_smooth_peak", *osc_use),
            CriterionUse(
                "resonator_fit",
                fit_ok,
                "amplitude and phase at the breathing frequency"
                if fit_ok
                else "no HR oscillation at the breathing frequency",
            ),
        )
    return RateResult(
        rate_bpm=rate_bpm,
        peak_to_trough_bpm=osc.mean_peak_to_trough_bpm,
        amplitude_bpm=resp.amplitude_bpm,
        phase_deg=resp.phase_deg,
        breathing_power_ms2=resp.power_ms2,
        coherence=resp.coherence,
        lf_power_ms2=lf.lf_power_ms2,
        lf_peak_hz=lf.lf_peak_hz if peak_ok else None,
        lf_peak_density_ms2_per_hz=lf.lf_peak_density_ms2_per_hz if peak_ok else None,
        n_cycles=resp.n_cycles,
        n_beats=n_all,
        quality=quality,
        usable=usable,
        note="; ".join(notes),
        criteria=uses,
    )
