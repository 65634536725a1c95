"""A second physiology for testing the resonance assessment: a de Boer beat-to-beat model.

Test support only. ``sensors.simulator`` (the person the assessment was built on) *is* the
band-pass resonator that ``breathing.assessment`` fits; an assessment tested only there can pass
because it shares the model. Here the heart rate comes from a different mechanism: the beat-to-beat
model of de Boer, Karemaker & Strackee (1987), in which systolic pressure, diastolic pressure,
the RR interval and the arterial time constant (peripheral resistance) of each beat follow from the
previous beats:

* Windkessel run-off in diastole:  ``D[n] = c3 S[n-1] exp(-I[n-1] / T[n-1])``
* Starling (filling time sets the pulse pressure), plus respiration's mechanical effect on the
  pressure (lower with full lungs) and noise:
  ``S[n] = D[n] + gamma I[n-1] + c2 - A (v(t[n]) - 1/2) + e_S``
* baroreceptor saturation:  ``Se[n] = S0 + 18 atan((S[n] - S0) / 18)``
* baroreflex on the interval, vagal (same beat, gain ``a0``) and sympathetic (delayed kernel
  ``a_k`` over the previous beats), plus the central respiratory (vagal) gating of the interval and
  noise:  ``I[n] = c1 + a0 Se[n] + sum_k a_k Se[n-k] - B (v(t[n]) - 1/2) + e_I``
* sympathetic baroreflex on peripheral resistance (delayed kernel ``b_k``):
  ``T[n] = T* - sum_k b_k Se[n-k]``

with ``v`` the lung volume (0 empty, 1 full) and the constants ``c1, c2, c3, T*`` chosen so that
``S0 = 120 mmHg, D0 = 75 mmHg, I0, T0 = 1425 ms`` is the resting state. De Boer's values are the
defaults: ``a0 = 9 ms/mmHg``, ``a_k = (0, 1, 2, 3, 2, 1)``, ``b_k = (0, 2, 4, 6, 4, 2)`` ms/mmHg
(k = 1..6 beats), ``gamma = 0.016 mmHg/ms``. There is no resonance parameter: the ~0.1 Hz
resonance emerges from the delay of the sympathetic loops (a few beats, so it moves with the
mean RR) and their gains. The model's *true* resonance is found independently of
``breathing.assessment`` and ``hrv.resonance``: :func:`true_resonance_bpm` sweeps the noise-free
model over paced rates 3-9/min and takes the rate of the largest HR amplitude at the breathing
frequency (the resonance-frequency definition of Lehrer, Vaschillo & Vaschillo 2000), fitted by
its own least squares.

Unlike the simulator, the model does not put HR in phase with lung volume at its resonance: with
the mechanical coupling alone HR *lags* lung volume there by ~50 deg (and leads it at no rate of
the grid), with central coupling it leads by ~20 deg, so the assessment's phase criterion is
tested against a physiology it does not assume.

``python -m tests.breathing.deboer`` prints the table that README "Metrics" quotes.

References
----------
de Boer, R. W., Karemaker, J. M., & Strackee, J. (1987). Hemodynamic fluctuations and baroreflex
sensitivity in humans: a beat-to-beat model. American Journal of Physiology, 253(3),
H680-H689.
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Applied Psychophysiology and Biofeedback,
25(3), 177-191.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from breathing import AssessmentDone, AssessmentProtocol, AssessmentResult, PacingEngine, PacingMode

__all__ = [
    "PARAMETER_SETS",
    "SEEDS",
    "BeatSource",
    "DeBoerParams",
    "DeBoerPerson",
    "Errors",
    "assess",
    "assess_person",
    "errors",
    "errors_of",
    "fit_hr",
    "peak_rate",
    "peak_rates",
    "print_table",
    "response_at",
    "true_resonance_bpm",
]

S0_MMHG, D0_MMHG, T0_MS = 120.0, 75.0, 1425.0


@dataclass(frozen=True, slots=True)
class DeBoerParams:
    """One person of the de Boer model (see the module docstring)."""

    name: str = "de Boer 1987"
    mean_rr_ms: float = 800.0
    vagal_gain_ms_per_mmhg: float = 9.0
    symp_rr_kernel: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 2.0, 1.0)
    symp_t_kernel: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 4.0, 2.0)
    symp_t_scale: float = 1.0
    starling_mmhg_per_ms: float = 0.016
    resp_pressure_mmhg: float = 6.0
    resp_rr_ms: float = 0.0
    noise_pressure_mmhg: float = 1.0
    noise_rr_ms: float = 8.0


class DeBoerPerson:
    """Beats of the de Boer model for a person breathing at ``breathing(t_s)`` (phase, cycles).

    ``next_beat()`` returns ``(t_s, rr_ms)``: the beat at ``t_s`` ends the interval ``rr_ms``.
    Lung volume is ``(1 - cos(2 pi phase)) / 2`` (the pacer's 1:1 half-cosine breath).
    """

    def __init__(
        self,
        params: DeBoerParams,
        *,
        breathing: Callable[[float], float],
        seed: int | None = None,
        noise: bool = True,
    ) -> None:
        p = params
        self.p = p
        self.breathing = breathing
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.a = tuple(p.symp_rr_kernel)
        self.b = tuple(x * p.symp_t_scale for x in p.symp_t_kernel)
        i0 = p.mean_rr_ms
        self.c1 = i0 - S0_MMHG * (p.vagal_gain_ms_per_mmhg + sum(self.a))
        self.t_star = T0_MS + S0_MMHG * sum(self.b)
        self.c2 = S0_MMHG - D0_MMHG - p.starling_mmhg_per_ms * i0
        self.c3 = D0_MMHG / (S0_MMHG * math.exp(-i0 / T0_MS))
        depth = max(len(self.a), len(self.b))
        self.se: deque[float] = deque([S0_MMHG] * depth, maxlen=depth)  # newest first
        self.s, self.i, self.tc = S0_MMHG, i0, T0_MS
        self.t_s = 0.0

    def next_beat(self) -> tuple[float, float]:
        p = self.p
        rr = self.i
        self.t_s += rr / 1000.0
        v = 0.5 * (1.0 - math.cos(2.0 * math.pi * self.breathing(self.t_s)))
        e_s = e_i = 0.0
        if self.noise:
            e_s = float(self.rng.normal(0.0, p.noise_pressure_mmhg))
            e_i = float(self.rng.normal(0.0, p.noise_rr_ms))
        d = self.c3 * self.s * math.exp(-self.i / self.tc)
        s = d + p.starling_mmhg_per_ms * self.i + self.c2 - p.resp_pressure_mmhg * (v - 0.5) + e_s
        se = S0_MMHG + 18.0 * math.atan((s - S0_MMHG) / 18.0)
        past = self.se  # past[k - 1] is Se[n - k]
        i = (
            self.c1
            + p.vagal_gain_ms_per_mmhg * se
            + sum(a * past[k] for k, a in enumerate(self.a))
            - p.resp_rr_ms * (v - 0.5)
            + e_i
        )
        tc = self.t_star - sum(b * past[k] for k, b in enumerate(self.b))
        self.se.appendleft(se)
        self.s, self.i, self.tc = s, max(i, 250.0), max(tc, 200.0)
        return self.t_s, rr


def fit_hr(
    t_beat_s: np.ndarray, rr_ms: np.ndarray, f_hz: float, *, settle_s: float
) -> tuple[float, float]:
    """HR amplitude (bpm) and phase (deg, + when HR leads lung volume) at the breathing frequency.

    The HR of each interval (``rr_ms`` ending at ``t_beat_s``), placed at its middle, from
    ``settle_s`` on, is fitted by least squares with ``c + d t + x cos(w t) + y sin(w t)``;
    lung volume is ``(1 - cos(w t)) / 2`` (breathing started at ``t = 0``).
    """
    tm = np.asarray(t_beat_s, dtype=float) - np.asarray(rr_ms, dtype=float) / 2000.0
    hr = 60000.0 / np.asarray(rr_ms, dtype=float)
    keep = tm >= settle_s
    x, y = tm[keep], hr[keep]
    w = 2.0 * math.pi * f_hz
    design = np.column_stack([np.cos(w * x), np.sin(w * x), np.ones_like(x), x - x.mean()])
    (c, s, _, _), *_ = np.linalg.lstsq(design, y, rcond=None)
    amp = math.hypot(c, s)
    # HR = amp cos(w t - h); lung volume's fundamental is -cos(w t) / 2 = cos(w t - pi) / 2
    lead = math.degrees(math.pi - math.atan2(s, c))
    lead = (lead + 180.0) % 360.0 - 180.0
    return amp, lead


def response_at(
    params: DeBoerParams, rate_bpm: float, *, settle_s: float = 90.0, cycles: int = 10
) -> tuple[float, float]:
    """HR amplitude (bpm) and phase (deg, + when HR leads lung volume) of the noise-free model.

    Paced at a constant ``rate_bpm``; after ``settle_s`` the HR of each interval, placed at its
    middle, is fitted by :func:`fit_hr` over ``cycles`` whole breaths.
    """
    f = rate_bpm / 60.0
    person = DeBoerPerson(params, breathing=lambda t: f * t, noise=False)
    end = settle_s + cycles / f
    t, rr = [], []
    while person.t_s < end:
        ts, r = person.next_beat()
        t.append(ts)
        rr.append(r)
    return fit_hr(np.array(t), np.array(rr), f, settle_s=settle_s)


def peak_rates(
    amplitudes: Callable[[list[np.ndarray]], list[np.ndarray]],
    names: Sequence[str],
    *,
    lo: float,
    hi: float,
) -> list[float]:
    """:func:`peak_rate` of several people at once: ``amplitudes(grids)`` gives each person's HR
    amplitudes at that person's grid of rates (so that a model can integrate them together)."""
    coarse = np.arange(lo, hi + 1e-9, 0.1)
    fines = []
    for name, amps in zip(names, amplitudes([coarse] * len(names)), strict=True):
        k = int(np.argmax(amps))
        if k in (0, coarse.size - 1):
            raise ValueError(f"{name}: HR amplitude peaks at the edge of {lo}-{hi}/min")
        fines.append(np.arange(coarse[k - 1], coarse[k + 1] + 1e-9, 0.01))
    return [
        round(float(fine[int(np.argmax(amps))]), 2)
        for fine, amps in zip(fines, amplitudes(fines), strict=True)
    ]


def peak_rate(
    amplitudes: Callable[[np.ndarray], np.ndarray], name: str, *, lo: float, hi: float
) -> float:
    """Rate (breaths/min) of the largest of ``amplitudes(rates)``: coarse sweep 0.1/min over
    ``lo``-``hi``, then 0.01/min around the coarse peak."""

    def each(grids: list[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(amplitudes(grid)) for grid in grids]

    return peak_rates(each, [name], lo=lo, hi=hi)[0]


@functools.cache
def true_resonance_bpm(params: DeBoerParams, *, lo: float = 3.0, hi: float = 9.0) -> float:
    """Rate (breaths/min) of the largest HR amplitude: coarse sweep 0.1/min, fine 0.01/min."""

    def amplitudes(rates: np.ndarray) -> np.ndarray:
        return np.array([response_at(params, float(r))[0] for r in rates])

    return peak_rate(amplitudes, params.name, lo=lo, hi=hi)


class BeatSource(Protocol):
    """A simulated person: ``next_beat()`` gives ``(t_s, rr_ms)``."""

    def next_beat(self) -> tuple[float, float]: ...


def assess_person(
    make_person: Callable[[Callable[[float], float]], BeatSource],
    protocol: AssessmentProtocol | None = None,
) -> AssessmentResult:
    """The whole assessment (the engine, as the service runs it) on the person
    ``make_person(breathing)`` makes, breathing at the engine's pacer."""
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=protocol)
    person = make_person(engine.breathing_phase_cycles)
    for _ in range(5000):
        t_s, rr_ms = person.next_beat()
        for event in engine.on_beat(t_s, rr_ms):
            if isinstance(event, AssessmentDone):
                return event.result
    raise AssertionError("assessment never finished")


def assess(
    params: DeBoerParams, *, seed: int, protocol: AssessmentProtocol | None = None
) -> AssessmentResult:
    """The whole assessment (the engine, as the service runs it) on a de Boer person."""
    return assess_person(
        lambda breathing: DeBoerPerson(params, breathing=breathing, seed=seed), protocol
    )


#: People of the model whose true resonance lies in or near the protocol's range (4.5-6.5/min):
#: de Boer's own gains, and weaker sympathetic resistance loops (``symp_t_scale``; de Boer's gains
#: at RR 800 ms put the peak at ~6.9/min, beyond the range), mean RR from 800 to 1100 ms, and
#: respiration coupled mechanically (through the pressure, de Boer's choice), centrally (on the
#: interval) or both. HR lags lung volume by 34-53 deg at the true resonance, except with central
#: coupling, where it leads by ~20 deg.
PARAMETER_SETS: tuple[DeBoerParams, ...] = (
    DeBoerParams("de Boer gains, RR 1000", mean_rr_ms=1000.0),
    DeBoerParams("RR 800, sympathetic x0.5", mean_rr_ms=800.0, symp_t_scale=0.5),
    DeBoerParams("RR 900, sympathetic x0.6", mean_rr_ms=900.0, symp_t_scale=0.6),
    DeBoerParams("RR 1000, sympathetic x0.5", mean_rr_ms=1000.0, symp_t_scale=0.5),
    DeBoerParams("RR 1100, sympathetic x0.4", mean_rr_ms=1100.0, symp_t_scale=0.4),
    DeBoerParams(
        "RR 900, x0.6, mixed coupling",
        mean_rr_ms=900.0,
        symp_t_scale=0.6,
        resp_pressure_mmhg=4.0,
        resp_rr_ms=30.0,
    ),
    DeBoerParams(
        "RR 1000, x0.6, central coupling",
        mean_rr_ms=1000.0,
        symp_t_scale=0.6,
        resp_pressure_mmhg=0.0,
        resp_rr_ms=60.0,
    ),
)
#: Seeds of the noisy runs the tests and the README table use.
SEEDS: tuple[int, ...] = (1, 2, 3, 4)


Errors = dict[str, dict[str, list[float | None]]]


class Person(Protocol):
    """A parameter set with a name."""

    @property
    def name(self) -> str: ...


P = TypeVar("P", bound=Person)


def errors_of(
    people: Sequence[P],
    seeds: Sequence[int],
    true_bpm: Callable[[P], float],
    run: Callable[..., AssessmentResult],
    protocol: AssessmentProtocol | None = None,
) -> Errors:
    """Found minus true resonance (breaths/min) per person (by ``name``) and seed: the chosen
    rate and each criterion's rate (``None`` where it gave none); ``run(person, seed=,
    protocol=)`` runs one assessment."""
    out: Errors = {}
    for params in people:
        true = true_bpm(params)
        per: dict[str, list[float | None]] = {}
        for seed in seeds:
            r = run(params, seed=seed, protocol=protocol)
            found = {"chosen": r.resonance_bpm} | {c.name: c.rate_bpm for c in r.criteria}
            for name, rate in found.items():
                per.setdefault(name, []).append(None if rate is None else round(rate - true, 3))
        out[params.name] = per
    return out


def errors(protocol: AssessmentProtocol | None = None) -> Errors:
    """Found minus true resonance (breaths/min), per parameter set and seed: the chosen rate
    and each criterion's rate (``None`` where it gave none)."""
    return errors_of(PARAMETER_SETS, SEEDS, true_resonance_bpm, assess, protocol)


def print_table(
    people: Sequence[P],
    seeds: Sequence[int],
    true_bpm: Callable[[P], float],
    response: Callable[[P, float], tuple[float, float]],
    errors_for: Callable[[AssessmentProtocol | None], Errors],
) -> None:
    """Print the README table (true resonance, HR phase there, errors of the chosen rate with
    2- and 1-min steps) and each criterion's mean and max |error|."""
    short = AssessmentProtocol.screening()
    print(
        "| person | true resonance /min | HR phase there | error, 2-min steps "
        "| error, 1-min steps |"
    )
    print("|---|---|---|---|---|")
    every: dict[str, list[float]] = {}
    for (name, full), (_, scr), params in zip(
        errors_for(None).items(), errors_for(short).items(), people, strict=True
    ):
        true = true_bpm(params)
        _, phase = response(params, true)

        def fmt(v: list[float | None]) -> str:
            return " ".join("none" if x is None else f"{x:+.2f}" for x in v)

        print(
            f"| {name} | {true:.2f} | {phase:+.0f} deg | {fmt(full['chosen'])} | "
            f"{fmt(scr['chosen'])} |"
        )
        for key, table in (("2-min", full), ("1-min", scr)):
            for crit, vals in table.items():
                every.setdefault(f"{key} {crit}", []).extend(abs(x) for x in vals if x is not None)
    print()
    n_runs = len(people) * len(seeds)
    for key, absolute in every.items():
        if absolute:
            print(
                f"{key}: n {len(absolute)}/{n_runs}, mean |error| {np.mean(absolute):.2f}, "
                f"max {np.max(absolute):.2f}"
            )


def main() -> None:
    """Print the README table: true resonance, and the errors of the chosen rate."""
    print_table(PARAMETER_SETS, SEEDS, true_resonance_bpm, response_at, errors)


if __name__ == "__main__":
    main()
