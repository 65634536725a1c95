"""The choice of the resonance rate from an assessment's per-rate table.

:func:`choose_resonance` applies the published criteria (Lehrer, Vaschillo & Vaschillo 2000;
Shaffer & Meehan 2020) to the rows :func:`breathing.analyse_rate` measured: HR in phase with
breathing (the interpolated zero crossing of the phase, Vaschillo et al. 2002), the largest
peak-to-trough HR, the highest LF power and LF peak, a single smooth peak, and a fit of the
band-pass baroreflex model with a constant breathing delay. :mod:`breathing.assessment`
describes how they are combined and when each one is trusted.

References
----------
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability: rationale and manual for training. Applied Psychophysiology
and Biofeedback, 25(3), 177-191.
Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
biofeedback as a method for assessing baroreflex function: a preliminary study of resonance
in the cardiovascular system. Applied Psychophysiology and Biofeedback, 27(1), 1-27.
Shaffer, F., & Meehan, Z. M. (2020). A practical guide to resonance frequency assessment for
heart rate variability biofeedback. Frontiers in Neuroscience, 14, 570400.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CRITERIA",
    "DELAY_THRESHOLD_S",
    "IRREGULAR_RHYTHM_NOTE",
    "LOW_COHERENCE_NOTE",
    "MAX_FIT_PHASE_RMS_DEG",
    "AssessmentResult",
    "Criterion",
    "CriterionUse",
    "RateResult",
    "ResonanceMethod",
    "choose_resonance",
]


#: How :func:`choose_resonance` found the rate (``none``: it found none).
ResonanceMethod = Literal[
    "phase_crossing", "phase_extrapolated", "resonator_fit", "amplitude_peak", "none"
]

#: The criteria of :func:`choose_resonance`, in the order of :attr:`AssessmentResult.criteria`.
CRITERIA = (
    "phase_zero_crossing",
    "max_peak_to_trough",
    "max_lf_power",
    "max_lf_peak",
    "single_smooth_peak",
    "resonator_fit",
)


@dataclass(frozen=True, slots=True)
class CriterionUse:
    """Whether one step's measures serve one criterion of the choice, and why (not)."""

    name: str
    used: bool
    why: str


#: The note of a step whose HR did not follow the pacer (coherence below the protocol's floor).
LOW_COHERENCE_NOTE = "HR did not follow the pacer (low coherence)"
#: The start of the note of a step whose quality fell because of frequent early heartbeats
#: (:func:`hrv.irregular_rhythm`), not because of the contact.
IRREGULAR_RHYTHM_NOTE = "irregular heartbeat: frequent early beats"


@dataclass(frozen=True, slots=True)
class RateResult:
    """The response measured at one paced rate (one row of the assessment table).

    ``peak_to_trough_bpm`` is the mean per-breath max - min HR; ``amplitude_bpm``, ``phase_deg``,
    ``breathing_power_ms2`` and ``coherence`` describe the HR oscillation at the breathing
    frequency (phase positive when HR leads lung volume); ``lf_*`` the LF band of the RR
    spectrum; ``quality`` the share of clean beats. Measures are ``None`` when unavailable.
    ``criteria`` lists, for each criterion of :func:`choose_resonance`, whether this step's
    measures serve it and why (not): e.g. the LF peak on a 40-s screening step.
    """

    rate_bpm: float
    peak_to_trough_bpm: float | None
    amplitude_bpm: float | None
    phase_deg: float | None
    breathing_power_ms2: float | None
    coherence: float | None
    lf_power_ms2: float | None
    lf_peak_hz: float | None
    lf_peak_density_ms2_per_hz: float | None
    n_cycles: int
    n_beats: int
    quality: float
    usable: bool
    note: str = ""
    criteria: tuple[CriterionUse, ...] = ()


@dataclass(frozen=True, slots=True)
class Criterion:
    """One published criterion and the rate it points to (``None`` when it cannot tell)."""

    name: str
    rate_bpm: float | None
    detail: str


@dataclass(frozen=True, slots=True)
class AssessmentResult:
    """Outcome of an assessment.

    ``resonance_bpm`` is the estimate (``None`` when too few rates were usable), ``method`` how it
    was obtained (:data:`ResonanceMethod`: ``phase_crossing``, ``phase_extrapolated``,
    ``resonator_fit``, ``amplitude_peak``; ``none`` without an estimate), ``reason`` a sentence a
    person can read, ``criteria`` the rate each criterion points to, ``rates`` the per-rate table
    in protocol order. ``breathing_delay_s`` is the constant delay between the pacer and the HR
    response that the band-pass fit found (positive: the person breathes later than the pacer),
    ``None`` when not fitted; adaptive pacing corrects the phase by it. ``single_peak`` is True
    when peak-to-trough HR rises then falls (within 10 %) with its largest value at an interior
    rate of the grid; False when that value is at the lowest or highest rate (the peak is not seen)
    or the curve has several peaks. ``range_edge`` is ``"low"`` or ``"high"`` when the chosen rate
    lies within a quarter step of the lowest or highest usable rate of the grid, or beyond it: the
    resonance may then lie outside the tested range, which ``range_note`` says in words (``None``
    and ``""`` otherwise).
    """

    resonance_bpm: float | None
    method: ResonanceMethod
    reason: str
    single_peak: bool
    criteria: tuple[Criterion, ...]
    rates: tuple[RateResult, ...]
    breathing_delay_s: float | None = None
    range_edge: Literal["low", "high"] | None = None
    range_note: str = ""


def _argmax_rate(
    rows: list[RateResult], key: str, name: str, what: str
) -> tuple[float | None, str]:
    """Rate with the largest ``key``, only when every usable rate has a value (else left out).

    Ties follow :func:`_top_index`, as the amplitude peak does: a largest value reached at an
    end of the grid is at that end, ties inside it give the lowest of the tied rates.
    """
    missing = [r for r in rows if getattr(r, key) is None]
    if missing:
        first = missing[0]
        why = next((c.why for c in first.criteria if c.name == name), "not measured")
        where = ", ".join(f"{r.rate_bpm:g}" for r in missing)
        if len(missing) == len(rows):
            return None, f"left out: no {what} at any rate (at {first.rate_bpm:g}/min: {why})"
        return None, (
            f"left out: no {what} at {where}/min (at {first.rate_bpm:g}/min: {why}), and the "
            f"largest of the other {len(rows) - len(missing)} rates could be anywhere"
        )
    ranked = sorted(rows, key=lambda r: r.rate_bpm)
    i = _top_index([float(getattr(r, key)) for r in ranked])
    return ranked[i].rate_bpm, f"rate with the highest {what}"


def _top_index(vals: list[float]) -> int:
    """Index of the largest value; of a tie that reaches an end of the grid, that end.

    The same at either end: a largest value reached at the lowest or the highest rate (alone or
    tied with others) is at the edge of the grid, where the curve is not seen to fall on the far
    side; ties inside the grid give the first of them.
    """
    top = max(vals)
    if vals[0] == top:
        return 0
    if vals[-1] == top:
        return len(vals) - 1
    return vals.index(top)


def _amplitude_peak(rows: list[RateResult]) -> tuple[float | None, str]:
    """Vertex of a parabola through the largest peak-to-trough HR and its grid neighbours."""
    pts = [(r.rate_bpm, r.peak_to_trough_bpm) for r in rows if r.peak_to_trough_bpm is not None]
    if not pts:
        return None, "no peak-to-trough values"
    pts.sort()
    i = _top_index([a for _, a in pts])
    r0, a0 = pts[i]
    if 0 < i < len(pts) - 1:
        (r1, a1), (r2, a2) = pts[i - 1], pts[i + 1]
        coef = np.polyfit([r1, r0, r2], [a1, a0, a2], 2)
        if coef[0] < 0:
            vertex = float(-coef[1] / (2 * coef[0]))
            vertex = min(max(vertex, (r1 + r0) / 2), (r0 + r2) / 2)
            return (
                vertex,
                f"largest peak-to-trough HR {a0:.1f} bpm at {r0:g}/min, parabola {vertex:.2f}",
            )
    return r0, f"largest peak-to-trough HR {a0:.1f} bpm at {r0:g}/min (edge of the grid)"


def _phase_crossing(rows: list[RateResult]) -> tuple[float | None, str, bool]:
    """Interpolated rate where the phase crosses 0 (HR leading below, lagging above).

    Returns (rate, explanation, extrapolated).
    """
    pts = sorted((r.rate_bpm, r.phase_deg) for r in rows if r.phase_deg is not None)
    if len(pts) < 2:
        return None, "fewer than 2 phases", False
    crossings = []
    for (r1, p1), (r2, p2) in itertools.pairwise(pts):
        if p1 >= 0.0 > p2 and p1 - p2 < 180.0:
            r = r1 + (r2 - r1) * p1 / (p1 - p2)
            crossings.append(
                (
                    r,
                    f"phase crosses 0 between {r1:g} ({p1:+.0f} deg) and {r2:g} "
                    f"({p2:+.0f} deg) breaths/min, interpolated {r:.2f}",
                )
            )
    if len(crossings) == 1:
        return crossings[0][0], crossings[0][1], False
    if len(crossings) > 1:
        return None, f"phase crosses 0 {len(crossings)} times (noisy)", False
    half = (pts[-1][0] - pts[0][0]) / (len(pts) - 1) / 2
    if all(p >= 0 for _, p in pts):  # HR leads everywhere: resonance at or above the top rate
        (r1, p1), (r2, p2) = pts[-2], pts[-1]
        edge, side = r2, "above"
    else:  # HR lags everywhere: resonance at or below the lowest rate
        (r1, p1), (r2, p2) = pts[0], pts[1]
        edge, side = r1, "below"
    if p1 == p2:
        return edge, f"phase flat near the {side} edge", True
    r = r1 + (r2 - r1) * p1 / (p1 - p2)
    r = min(max(r, pts[0][0] - half), pts[-1][0] + half)
    return (
        r,
        f"phase does not cross 0 on the grid: resonance at or {side} {edge:g}/min, "
        f"extrapolated {r:.2f} (at most half a step beyond the grid)",
        True,
    )


#: A fitted pacer-to-HR delay beyond this (s) means the person does not breathe in step with the
#: pacer (at lag 0 the fit's delay stays within +-0.25 s on the simulated person; a 0.7-s lag
#: is estimated at 0.45-0.9 s).
DELAY_THRESHOLD_S = 0.35
#: The fit is trusted only when the model explains the phases this well (RMS of the phase
#: residuals; 0.5-4.7 deg on the simulated person at resonances 4.5-6.5/min, 3-15 deg on the de
#: Boer model of tests/breathing/deboer.py, 9 deg on a table of alternating +-10 deg). Beyond it
#: the phase crossing is not used either (the amplitude peak decides).
MAX_FIT_PHASE_RMS_DEG = 6.0


@dataclass(frozen=True, slots=True)
class _Fit:
    resonance_bpm: float
    q: float
    delay_s: float
    phase_rms_deg: float


def _resonator_fit(rows: list[RateResult]) -> _Fit | None:
    """Least-squares fit of the band-pass baroreflex model with a constant breathing delay.

    Model (Vaschillo et al. 2002): amplitude ``G / sqrt(1 + (Q x)^2)`` and phase
    ``atan(Q x) - 360 (r / 60) tau`` degrees at paced rate ``r`` (breaths/min), with
    ``x = r0 / r - r / r0``. The amplitude does not depend on the delay ``tau`` of the person's
    breathing behind the pacer, so amplitude and phase together separate ``r0`` from ``tau``,
    which the phase crossing alone cannot (a person lagging the pacer by 0.7 s moves the
    crossing ~0.4 breaths/min down). Residuals: log amplitude and phase in radians.
    """
    pts = [
        (r.rate_bpm, r.amplitude_bpm, r.phase_deg)
        for r in rows
        if r.amplitude_bpm is not None and r.amplitude_bpm > 0 and r.phase_deg is not None
    ]
    if len(pts) < 4:
        return None
    rate = np.array([p[0] for p in pts])
    amp = np.log(np.array([p[1] for p in pts]))
    phase = np.radians(np.array([p[2] for p in pts]))

    def residuals(v: NDArray[np.float64]) -> NDArray[np.float64]:
        r0, log_q, log_g, tau = (float(x) for x in v)
        qx = math.exp(log_q) * (r0 / rate - rate / r0)
        model_phase = np.arctan(qx) - 2.0 * np.pi * rate / 60.0 * tau
        d_phase = np.angle(np.exp(1j * (phase - model_phase)))
        out: NDArray[np.float64] = np.concatenate([amp - log_g + 0.5 * np.log1p(qx**2), d_phase])
        return out

    from scipy.optimize import least_squares  # local: scipy.optimize costs ~0.1 s at start-up

    lo_r, hi_r = float(rate.min()) - 1.0, float(rate.max()) + 1.0
    best = None
    for r0 in (float(rate.min()), float(np.median(rate)), float(rate.max())):
        sol = least_squares(
            residuals,
            [r0, math.log(2.5), float(amp.max()), 0.0],
            bounds=([lo_r, math.log(0.7), -10.0, -3.0], [hi_r, math.log(10.0), 10.0, 3.0]),
        )
        if sol.success and (best is None or sol.cost < best.cost):
            best = sol
    if best is None:
        return None
    r0, log_q, _, tau = (float(x) for x in best.x)
    d_phase = residuals(best.x)[len(pts) :]
    return _Fit(r0, math.exp(log_q), tau, math.degrees(float(np.sqrt(np.mean(d_phase**2)))))


def _single_peak(rows: list[RateResult], *, tolerance: float = 0.1) -> tuple[bool, str]:
    """Whether peak-to-trough HR has one smooth peak *inside* the rate grid, and why.

    True when the values rise then fall along the rates with the largest one at an interior
    rate, allowing a dip or a rise against the trend of at most ``tolerance`` (relative): the
    words say "rises then falls" only when the values do so strictly (no step against the
    trend, none flat), name the largest step against the trend otherwise, or a flat step; a
    largest value reached at more than one rate is named at all of them ("equal"). A curve
    whose largest value is at the lowest or highest rate only rises (or falls) across the grid:
    its peak is at or beyond the edge, not seen; so does one whose largest value is tied between
    an edge rate and others, at either end alike (:func:`_top_index`).
    """
    pts = sorted(
        (r.rate_bpm, r.peak_to_trough_bpm) for r in rows if r.peak_to_trough_bpm is not None
    )
    if len(pts) < 3:
        return False, f"only {len(pts)} peak-to-trough values (at least 3 are needed)"
    vals = [a for _, a in pts]
    i = _top_index(vals)  # a tie reaching either end of the grid is at that end
    up = all(vals[k + 1] >= vals[k] * (1 - tolerance) for k in range(i))
    down = all(vals[k + 1] <= vals[k] * (1 + tolerance) for k in range(i, len(vals) - 1))
    if not (up and down):
        return False, "peak-to-trough curve has more than one peak"
    top = [j for j, v in enumerate(vals) if v == vals[i]]  # the largest value, maybe tied
    where = (
        f"{pts[i][0]:g}/min"
        if len(top) == 1
        else " and ".join(f"{pts[j][0]:g}" for j in top) + f"/min (equal, {vals[i]:.2f} bpm)"
    )
    # steps against the trend (a dip before the peak, a rise after it), within the tolerance
    against = [(k, vals[k] - vals[k + 1]) for k in range(i)] + [
        (k, vals[k + 1] - vals[k]) for k in range(i, len(vals) - 1)
    ]
    k, worst = max(against, key=lambda a: a[1])
    # flat steps other than between the tied largest values (those are named in ``where``)
    flat = [k for k, d in against if d == 0 and not (k in top and k + 1 in top)]
    if worst > 0:
        move = "dips" if k < i else "rises again"
        caveat = (
            f", within {tolerance:.0%}: it {move} from {vals[k]:.2f} at {pts[k][0]:g} to "
            f"{vals[k + 1]:.2f} bpm at {pts[k + 1][0]:g}/min"
        )
    elif flat:
        k = flat[0]
        caveat = f", flat at {vals[k]:.2f} bpm from {pts[k][0]:g} to {pts[k + 1][0]:g}/min"
    else:
        caveat = ""
    strict = not caveat and len(top) == 1
    rate = pts[i][0]
    if 0 < i < len(pts) - 1:
        if strict:
            return True, (
                f"peak-to-trough rises then falls along the rates (one peak at {rate:g}/min)"
            )
        return True, f"peak-to-trough has one peak at {where}{caveat}"
    ends = [name for j, name in ((0, "lowest"), (len(vals) - 1, "highest")) if j in top]
    side = " and the ".join(ends)
    if not strict:
        among = " among them" if len(top) > 1 else ""
        shape = f"is largest at {where}, the {side} rate of the grid{among}{caveat};"
    else:
        trend = "falls" if i == 0 else "rises"
        shape = (
            f"only {trend} along the rates: largest at {rate:g}/min, the {side} rate of the grid,"
        )
    return False, (
        f"peak-to-trough {shape} so no interior peak (the resonance may lie at or beyond the edge)"
    )


def choose_resonance(rates: tuple[RateResult, ...] | list[RateResult]) -> AssessmentResult:
    """Choose the resonance rate from a per-rate table (see the module docstring).

    Parameters
    ----------
    rates : sequence of RateResult
        One row per paced rate, any order; only ``usable`` rows count.

    Returns
    -------
    AssessmentResult

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Applied Psychophysiology and
    Biofeedback, 25(3), 177-191. Shaffer, F., & Meehan, Z. M. (2020). A practical guide to
    resonance frequency assessment for heart rate variability biofeedback. Frontiers in
    Neuroscience, 14, 570400. Vaschillo, E., et al. (2002). Applied Psychophysiology and
    Biofeedback, 27(1), 1-27.
    """
    table = tuple(rates)
    result = _choose(table)
    edge, note = _range_edge(result.resonance_bpm, [r.rate_bpm for r in table if r.usable])
    return dataclasses.replace(result, range_edge=edge, range_note=note)


def _range_edge(
    resonance_bpm: float | None, rates: list[float]
) -> tuple[Literal["low", "high"] | None, str]:
    """``"low"``/``"high"`` and a sentence when the chosen rate is at or beyond an edge of the grid.

    A rate beyond the grid was extrapolated, at most half a step (every method stops there): the
    resonance may lie further out than the rate given.
    """
    if resonance_bpm is None or len(rates) < 2:
        return None, ""
    lo, hi = min(rates), max(rates)
    step = (hi - lo) / (len(rates) - 1)
    quarter = step / 4
    tested = f"the tested range ({lo:g}-{hi:g}/min)"
    sides: tuple[tuple[Literal["low", "high"], float, float, bool, bool, str], ...] = (
        ("low", lo, lo - step / 2, resonance_bpm < lo, resonance_bpm <= lo + quarter, "lower"),
        ("high", hi, hi + step / 2, resonance_bpm > hi, resonance_bpm >= hi - quarter, "higher"),
    )
    for side, edge, limit, beyond, near, further in sides:
        if not near:
            continue
        way = "below" if side == "low" else "above"
        where = (
            f"lies {way} {tested}: extrapolated, and no estimate goes further than half a step "
            f"beyond it ({limit:g}/min), so the resonance may lie {way} {edge:g}/min, possibly "
            f"further out than {resonance_bpm:.2f}"
            if beyond
            else f"is at the {side} edge of {tested}: the resonance may lie {way} {edge:g}/min"
        )
        return side, (
            f"{resonance_bpm:.2f}/min {where}; a second assessment at {further} rates would tell"
        )
    return None, ""


def _too_few_reason(table: tuple[RateResult, ...], rows: list[RateResult]) -> str:
    """Why no rate was chosen, naming the rates and whether the signal or the response failed.

    A step whose only fault is that HR did not follow the pacer had a clean signal: that can
    be the person's physiology (at some rates the direct, vagal effect of breathing on the heart
    and the baroreflex response to the breathing-driven pressure wave cancel), so a better
    contact would not help; only steps with too few clean beats or breaths point at contact.
    """
    head = f"only {len(rows)} of {len(table)} rates had a usable signal (at least 3 are needed)"
    bad = [r for r in table if not r.usable]
    no_response = [r for r in bad if r.note == LOW_COHERENCE_NOTE]
    rhythm = [r for r in bad if r.note.startswith(IRREGULAR_RHYTHM_NOTE)]
    contact = [
        r
        for r in bad
        if r.note != LOW_COHERENCE_NOTE and not r.note.startswith(IRREGULAR_RHYTHM_NOTE)
    ]

    def rates(rs: list[RateResult]) -> str:
        return ", ".join(f"{r.rate_bpm:g}" for r in sorted(rs, key=lambda r: r.rate_bpm))

    parts = [head]
    if no_response:
        parts.append(
            f"at {rates(no_response)}/min the heart rate did not follow the breathing although "
            "the signal was clean, which can be physiology rather than contact (at some rates "
            "the direct and the reflex effects of breathing on heart rate cancel)"
        )
    if rhythm:
        parts.append(
            f"at {rates(rhythm)}/min frequent early heartbeats left too few regular beats to "
            "measure (the rhythm, not the contact)"
        )
    if contact:
        parts.append(
            f"at {rates(contact)}/min the signal was not clean enough; repeat the assessment "
            "with good contact"
        )
    elif rows and not rhythm:
        parts.append(f"the rates that responded were {rates(rows)}/min")
    return "; ".join(parts)


def _choose(table: tuple[RateResult, ...]) -> AssessmentResult:
    rows = [r for r in table if r.usable]
    if len(rows) < 3:
        return AssessmentResult(None, "none", _too_few_reason(table, rows), False, (), table)
    phase_rate, phase_why, extrapolated = _phase_crossing(rows)
    amp_rate, amp_why = _amplitude_peak(rows)
    lf_rate, lf_why = _argmax_rate(rows, "lf_power_ms2", "max_lf_power", "LF power")
    lfpk_rate, lfpk_why = _argmax_rate(
        rows, "lf_peak_density_ms2_per_hz", "max_lf_peak", "LF spectral peak"
    )
    single, single_why = _single_peak(rows)
    fit = _resonator_fit(rows)
    fit_why = (
        "band-pass model could not be fitted"
        if fit is None
        else f"band-pass fit: resonance {fit.resonance_bpm:.2f}/min, Q {fit.q:.1f}, "
        f"HR response {fit.delay_s:+.2f} s behind the pacer, phase residual "
        f"{fit.phase_rms_deg:.0f} deg"
    )
    criteria = (
        Criterion("phase_zero_crossing", phase_rate, phase_why),
        Criterion("max_peak_to_trough", amp_rate, amp_why),
        Criterion("max_lf_power", lf_rate, lf_why),
        Criterion("max_lf_peak", lfpk_rate, lfpk_why),
        Criterion("single_smooth_peak", amp_rate if single else None, single_why),
        Criterion("resonator_fit", None if fit is None else round(fit.resonance_bpm, 2), fit_why),
    )
    grid = sorted(r.rate_bpm for r in rows)
    step = (grid[-1] - grid[0]) / (len(grid) - 1)
    delay = None if fit is None else round(fit.delay_s, 3)
    if (
        fit is not None
        and abs(fit.delay_s) > DELAY_THRESHOLD_S
        and fit.phase_rms_deg < MAX_FIT_PHASE_RMS_DEG
        and grid[0] - step / 2 <= fit.resonance_bpm <= grid[-1] + step / 2
    ):
        side = "behind" if fit.delay_s > 0 else "ahead of"
        return AssessmentResult(
            round(fit.resonance_bpm, 2),
            "resonator_fit",
            f"the HR response runs {abs(fit.delay_s):.1f} s {side} the pacer at every rate (the "
            f"person likely breathes {side} it), which shifts the phase crossing "
            f"({'-' if phase_rate is None else f'{phase_rate:.2f}'}); the band-pass fit to "
            f"amplitude and phase corrects for it: {fit_why}",
            single,
            criteria,
            table,
            delay,
        )
    # HR in phase at resonance is a property of the band-pass model: when that model (with a
    # constant delay) does not explain the measured phases, the crossing has no footing and the
    # amplitude peak, the definition of resonance, decides
    off_model = (
        fit is not None and fit.phase_rms_deg >= MAX_FIT_PHASE_RMS_DEG and amp_rate is not None
    )
    if (
        phase_rate is not None
        and not off_model
        and (amp_rate is None or abs(phase_rate - amp_rate) <= step * 1.01)
    ):
        method: ResonanceMethod = "phase_extrapolated" if extrapolated else "phase_crossing"
        agree = f"; agrees with the amplitude peak ({amp_why})" if amp_rate is not None else ""
        return AssessmentResult(
            round(phase_rate, 2),
            method,
            f"HR in phase with breathing: {phase_why}{agree}",
            single,
            criteria,
            table,
            delay,
        )
    if amp_rate is not None:
        if phase_rate is None:
            why = f"{amp_why}; phase criterion unusable ({phase_why})"
        elif off_model:
            why = (
                f"{amp_why}; the phase crossing ({phase_rate:.2f}) is not used: the band-pass "
                f"model does not explain the phases ({fit_why}), so HR in phase with breathing "
                "need not mark the resonance"
            )
        else:
            why = (
                f"{amp_why}; the phase crossing ({phase_rate:.2f}) disagrees by more than a "
                "step, so the amplitude peak decides"
            )
        return AssessmentResult(
            round(amp_rate, 2), "amplitude_peak", why, single, criteria, table, delay
        )
    return AssessmentResult(
        None, "none", "no criterion could be evaluated", single, criteria, table
    )
