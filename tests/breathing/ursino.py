"""A held-out physiology for the resonance assessment: a continuous-time delayed baroreflex loop.

Test support only. ``sensors.simulator`` (the person the assessment was built on) is the
band-pass resonator the assessment fits, and de Boer's beat-to-beat model
(``tests/breathing/deboer.py``) was looked at while the choice rule of
``breathing.resonance_choice`` was designed. This model was used for neither: its people were
fixed (from the noise-free true resonance and the resting state only) before the assessment was
first run on it, and nothing in ``breathing/`` was changed after. It is structurally different
from both: time is continuous (not indexed by beats), the baroreflex acts through pure
transport delays in seconds followed by first-order effector dynamics, the baroreceptors feel
the rate of change of the pressure, and beats come from integral pulse frequency modulation.

The reflex is the afferent, efferent and effector part of Ursino's (1998) model of carotid
baroregulation, with his equations and parameters; his pulsating heart and multi-compartment
circulation are reduced to a two-element Windkessel fed by the mean cardiac output:

* circulation:  ``C dP/dt = Q - P / R``, ``Q = SV0 (T / T_rest)^beta (1 - m (v - 1/2)) / T``
  (``P`` mean arterial pressure, ``T`` heart period, ``v`` lung volume: 0 empty, 1 full;
  ``beta`` how much a longer filling time raises the stroke volume, 0 none, 1 cardiac output
  independent of heart rate; ``m`` the mechanical effect of respiration on the left
  ventricle's stroke volume, lower with full lungs)
* baroreceptors (Ursino eq. for the carotid sinus, a first-order filter with a zero, then a
  sigmoid):  ``tau_p dP~/dt = P + tau_z dP/dt - P~``,
  ``f_as = (f_min + f_max exp((P~ - P_n) / k_a)) / (1 + exp((P~ - P_n) / k_a))``
* efferent sympathetic and vagal firing (plus respiration's central gating of the vagal
  outflow, ``g (v - 1/2)``, and noise ``n_s``, ``n_v``):
  ``f_es = f_es_inf + (f_es0 - f_es_inf) exp(-k_es f_as) + n_s``,
  ``f_ev = (f_ev0 + f_ev_inf exp((f_as - f_ab0) / k_ev)) / (1 + exp((f_as - f_ab0) / k_ev))
  - g (v - 1/2) + n_v``
* effectors, each a pure delay ``D`` then a first-order lag ``tau``:
  heart period ``T = T0 + dT_s + dT_v`` with
  ``tau_Ts d(dT_s)/dt = G_Ts ln(f_es(t - D_Ts) - f_es_min + 1) - dT_s`` and
  ``tau_Tv d(dT_v)/dt = G_Tv f_ev(t - D_Tv) - dT_v``; peripheral resistance: the splanchnic and
  extrasplanchnic beds in parallel, each ``R_x = R_x0 + dR_x`` with
  ``tau_R d(dR_x)/dt = G_Rx ln(f_es(t - D_R) - f_es_min + 1) - dR_x``
* beats: integral pulse frequency modulation, a beat each time ``integral dt / T`` passes an
  integer (Hyndman & Mohn 1975).

Ursino's values (his Table): ``tau_p 2.076 s, tau_z 6.37 s, P_n 92 mmHg, k_a 11.758 mmHg,
f_min 2.52, f_max 47.78 spikes/s``; ``f_es_inf 2.10, f_es0 16.11 spikes/s, k_es 0.0675 s,
f_es_min 2.66 spikes/s``; ``f_ev0 3.2, f_ev_inf 6.3, f_ab0 25, k_ev 7.06 spikes/s``;
``G_Ts -0.13 s, tau_Ts 2 s, D_Ts 2 s``; ``G_Tv 0.09 s, tau_Tv 1.5 s, D_Tv 0.2 s``;
``G_Rsp 0.695, G_Rep 0.53 mmHg s/ml, R_sp0 2.49, R_ep0 0.78 mmHg s/ml, tau_R 6 s, D_R 2 s``.
Not from Ursino (the reduction's own): the total arterial compliance ``C`` (1.5 ml/mmHg by
default, a usual adult value), ``beta`` (his pulsating heart has no such parameter: it stands
for the Starling and venous-return effects the reduction drops), ``SV0`` and ``T0`` (set so the
resting state is ``P = P_n`` at the person's mean RR), the respiratory couplings ``m`` and
``g`` and the noise. The persons
vary the sympathetic delays, the effector gains (a factor on ``G_Ts, G_Tv``, one on the
resistance gains), the compliance and the coupling, within ranges physiology allows.

There is no resonance parameter. The ~0.1 Hz resonance comes from the delayed negative feedback
(HR -> pressure -> baroreceptors -> delayed sympathetic and vagal outflow -> HR and resistance)
as Vaschillo et al. (2002) explain it. The *true* resonance is found independently of
``breathing.assessment`` and ``hrv.resonance``: :func:`true_resonance_bpm` sweeps the noise-free
model over paced rates 3-9/min (all rates integrated at once) and takes the rate of the largest
HR amplitude at the breathing frequency (Lehrer, Vaschillo & Vaschillo 2000), with the least
squares fit of ``tests.breathing.deboer``.

``python -m tests.breathing.ursino`` prints the table README "Metrics" quotes.

References
----------
Ursino, M. (1998). Interaction between carotid baroregulation and the pulsating heart: a
mathematical model. American Journal of Physiology, 275(5), H1733-H1747.
Hyndman, B. W., & Mohn, R. K. (1975). A model of the cardiac pacemaker and its use in
decoding the information content of cardiac intervals. Automedica, 1, 239-252.
Vaschillo, E., Lehrer, P., Rishe, N., & Konstantinov, M. (2002). Heart rate variability
biofeedback as a method for assessing baroreflex function. Applied Psychophysiology and
Biofeedback, 27(1), 1-27.
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Applied Psychophysiology and Biofeedback,
25(3), 177-191.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from breathing import AssessmentProtocol, AssessmentResult, choose_resonance
from tests.breathing import deboer
from tests.breathing.test_assessment import row

__all__ = [
    "PARAMETER_SETS",
    "SEEDS",
    "UrsinoParams",
    "UrsinoPerson",
    "assess",
    "errors",
    "noise_free_choice",
    "response_at",
    "responses",
    "true_resonance_bpm",
]

#: Integration step (s): exact exponential updates of the lags, delays in whole steps.
DT_S = 0.02

# Ursino (1998): baroreceptors
TAU_P_S, TAU_Z_S, P_N_MMHG, K_A_MMHG, F_MIN, F_MAX = 2.076, 6.37, 92.0, 11.758, 2.52, 47.78
# efferent sympathetic and vagal firing (spikes/s)
F_ES_INF, F_ES0, K_ES, F_ES_MIN = 2.10, 16.11, 0.0675, 2.66
F_EV0, F_EV_INF, F_AB0, K_EV = 3.2, 6.3, 25.0, 7.06
# effectors
G_TS_S, G_TV_S, G_RSP, G_REP = -0.13, 0.09, 0.695, 0.53
R_SP0, R_EP0 = 2.49, 0.78


@dataclass(frozen=True, slots=True)
class UrsinoParams:
    """One person of the model (see the module docstring); times in s."""

    name: str = "Ursino 1998"
    mean_rr_ms: float = 900.0
    compliance_ml_per_mmhg: float = 1.5
    heart_gain_scale: float = 1.0
    resistance_gain_scale: float = 1.0
    symp_heart_delay_s: float = 2.0
    symp_resistance_delay_s: float = 2.0
    vagal_delay_s: float = 0.2
    tau_symp_heart_s: float = 2.0
    tau_vagal_s: float = 1.5
    tau_resistance_s: float = 6.0
    stroke_filling_exponent: float = 0.6
    resp_stroke_fraction: float = 0.1
    resp_vagal_hz: float = 0.5
    noise_symp_hz: float = 0.6
    noise_vagal_hz: float = 0.3
    noise_tau_s: float = 1.0


def _afferent(p_tilde: Any, exp: Callable[[Any], Any]) -> Any:
    e = exp((p_tilde - P_N_MMHG) / K_A_MMHG)
    return (F_MIN + F_MAX * e) / (1.0 + e)


def _sympathetic(f_as: Any, exp: Callable[[Any], Any]) -> Any:
    return F_ES_INF + (F_ES0 - F_ES_INF) * exp(-K_ES * f_as)


def _vagal(f_as: Any, exp: Callable[[Any], Any]) -> Any:
    e = exp((f_as - F_AB0) / K_EV)
    return (F_EV0 + F_EV_INF * e) / (1.0 + e)


def _symp_drive(f_es: Any, log: Callable[[Any], Any], maximum: Callable[[Any, Any], Any]) -> Any:
    return log(maximum(f_es - F_ES_MIN, 0.0) + 1.0)


class _Delay:
    """A pure delay of ``n`` steps (ring buffer); works on floats and on arrays alike."""

    def __init__(self, n: int, value: Any) -> None:
        self.buf = [value] * max(n, 1)
        self.k = 0

    def push(self, value: Any) -> Any:
        """Store ``value``; return the one stored ``n`` steps ago."""
        out = self.buf[self.k]
        self.buf[self.k] = value
        self.k = (self.k + 1) % len(self.buf)
        return out


class _Loop:
    """The model's state and one integration step, for a float or an array of people."""

    def __init__(self, p: UrsinoParams, shape: tuple[int, ...] | None) -> None:
        self.p = p

        def full(x: float) -> Any:
            return x if shape is None else np.full(shape, x)

        f_as = _afferent(P_N_MMHG, math.exp)
        f_es = _sympathetic(f_as, math.exp)
        f_ev = _vagal(f_as, math.exp)
        drive = _symp_drive(f_es, math.log, max)
        self.ts0 = p.heart_gain_scale * G_TS_S * drive
        self.tv0 = p.heart_gain_scale * G_TV_S * f_ev
        self.r_drive0 = drive
        period = p.mean_rr_ms / 1000.0
        self.period_rest = period
        self.t0 = period - self.ts0 - self.tv0
        r = self._resistance(drive)
        self.sv0 = P_N_MMHG * period / r  # ml: Q = P / R at rest
        self.k_ts = 1.0 - math.exp(-DT_S / p.tau_symp_heart_s)
        self.k_tv = 1.0 - math.exp(-DT_S / p.tau_vagal_s)
        self.k_r = 1.0 - math.exp(-DT_S / p.tau_resistance_s)
        self.f_es_rest, self.f_ev_rest = f_es, f_ev
        self.pressure = full(P_N_MMHG)
        self.w = full((TAU_P_S - TAU_Z_S) * P_N_MMHG)  # w = tau_p P~ - tau_z P
        self.d_ts, self.d_tv, self.r_drive = full(self.ts0), full(self.tv0), full(drive)
        self.delay_ts = _Delay(round(p.symp_heart_delay_s / DT_S), full(f_es))
        self.delay_r = _Delay(round(p.symp_resistance_delay_s / DT_S), full(f_es))
        self.delay_tv = _Delay(round(p.vagal_delay_s / DT_S), full(f_ev))

    def _resistance(self, drive: Any) -> Any:
        s = self.p.resistance_gain_scale
        r_sp = R_SP0 + s * G_RSP * drive
        r_ep = R_EP0 + s * G_REP * drive
        return r_sp * r_ep / (r_sp + r_ep)

    def period(self) -> Any:
        """Heart period now (s)."""
        return self.t0 + self.d_ts + self.d_tv

    def step(
        self,
        volume: Any,
        n_s: Any,
        n_v: Any,
        exp: Callable[[Any], Any],
        log: Callable[[Any], Any],
        maximum: Callable[[Any, Any], Any],
    ) -> None:
        """Advance ``DT_S`` with lung volume ``volume`` and noise ``n_s``, ``n_v`` (spikes/s)."""
        p = self.p
        period = self.period()
        stroke = self.sv0 * (period / self.period_rest) ** p.stroke_filling_exponent
        flow = stroke * (1.0 - p.resp_stroke_fraction * (volume - 0.5)) / period
        r = self._resistance(self.r_drive)
        dp = (flow - self.pressure / r) / p.compliance_ml_per_mmhg
        p_tilde = (self.w + TAU_Z_S * self.pressure) / TAU_P_S
        self.w = self.w + DT_S * (self.pressure - p_tilde)
        self.pressure = self.pressure + DT_S * dp
        f_as = _afferent(p_tilde, exp)
        f_es = _sympathetic(f_as, exp) + n_s
        f_ev = maximum(_vagal(f_as, exp) - p.resp_vagal_hz * (volume - 0.5) + n_v, 0.0)
        es_heart = self.delay_ts.push(f_es)
        es_r = self.delay_r.push(f_es)
        ev = self.delay_tv.push(f_ev)
        g = p.heart_gain_scale
        self.d_ts = self.d_ts + self.k_ts * (
            g * G_TS_S * _symp_drive(es_heart, log, maximum) - self.d_ts
        )
        self.d_tv = self.d_tv + self.k_tv * (g * G_TV_S * ev - self.d_tv)
        self.r_drive = self.r_drive + self.k_r * (_symp_drive(es_r, log, maximum) - self.r_drive)


class UrsinoPerson:
    """Beats of the model for a person breathing at ``breathing(t_s)`` (phase, cycles).

    ``next_beat()`` returns ``(t_s, rr_ms)``: the beat at ``t_s`` ends the interval ``rr_ms``.
    Lung volume is ``(1 - cos(2 pi phase)) / 2`` (the pacer's 1:1 half-cosine breath). The
    noise is an Ornstein-Uhlenbeck process (time constant ``noise_tau_s``) on each efferent
    firing rate.
    """

    def __init__(
        self,
        params: UrsinoParams,
        *,
        breathing: Callable[[float], float],
        seed: int | None = None,
        noise: bool = True,
    ) -> None:
        self.p = params
        self.loop = _Loop(params, None)
        self.breathing = breathing
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.t_s = 0.0
        self.beat_s = 0.0
        self.ipfm = 0.0
        self.n_s = self.n_v = 0.0
        self._a = math.exp(-DT_S / params.noise_tau_s)
        self._b = math.sqrt(1.0 - self._a * self._a)
        self._z: list[float] = []

    def _normal(self) -> float:
        if not self._z:
            self._z = self.rng.standard_normal(4096).tolist()
        return self._z.pop()

    def next_beat(self) -> tuple[float, float]:
        loop, p = self.loop, self.p
        while True:
            v = 0.5 * (1.0 - math.cos(2.0 * math.pi * self.breathing(self.t_s)))
            if self.noise:
                self.n_s = self._a * self.n_s + self._b * p.noise_symp_hz * self._normal()
                self.n_v = self._a * self.n_v + self._b * p.noise_vagal_hz * self._normal()
            rate = 1.0 / loop.period()
            loop.step(v, self.n_s, self.n_v, math.exp, math.log, max)
            before = self.ipfm
            self.ipfm += DT_S * rate
            self.t_s += DT_S
            if self.ipfm >= 1.0:
                t_beat = self.t_s - DT_S + DT_S * (1.0 - before) / (self.ipfm - before)
                self.ipfm -= 1.0
                rr = t_beat - self.beat_s
                self.beat_s = t_beat
                return t_beat, 1000.0 * rr


def _sweep(params: UrsinoParams, rates_bpm: np.ndarray, settle_s: float, cycles: int) -> np.ndarray:
    """HR amplitude and phase (columns) of the noise-free model at each constant paced rate."""
    rates = np.asarray(rates_bpm, dtype=float)
    f = rates / 60.0
    loop = _Loop(params, rates.shape)
    end = settle_s + cycles / float(f.min())
    n = math.ceil(end / DT_S) + 1
    ipfm = np.zeros((n, rates.size))
    acc = np.zeros(rates.size)
    zero = np.zeros(rates.size)
    for k in range(1, n):
        t = (k - 1) * DT_S
        v = 0.5 * (1.0 - np.cos(2.0 * np.pi * f * t))
        rate = 1.0 / loop.period()
        loop.step(v, zero, zero, np.exp, np.log, np.maximum)
        acc = acc + DT_S * rate
        ipfm[k] = acc
    grid = np.arange(n) * DT_S
    out = np.empty((rates.size, 2))
    for j in range(rates.size):
        beats = np.arange(1, math.floor(ipfm[-1, j]) + 1)
        t_beat = np.interp(beats, ipfm[:, j], grid)
        rr = np.diff(t_beat) * 1000.0
        t_end = settle_s + cycles / f[j]
        keep = t_beat[1:] <= t_end
        out[j] = deboer.fit_hr(t_beat[1:][keep], rr[keep], f[j], settle_s=settle_s)
    return out


def responses(
    params: UrsinoParams, rates_bpm: np.ndarray, *, settle_s: float = 120.0, cycles: int = 10
) -> np.ndarray:
    """HR amplitude (bpm) and phase (deg, + when HR leads lung volume), one row per rate, of
    the noise-free model paced at each constant rate (all integrated at once); fitted by
    :func:`tests.breathing.deboer.fit_hr` after ``settle_s`` over ``cycles`` breaths."""
    return _sweep(params, np.asarray(rates_bpm, dtype=float), settle_s, cycles)


def response_at(
    params: UrsinoParams, rate_bpm: float, *, settle_s: float = 120.0, cycles: int = 10
) -> tuple[float, float]:
    """HR amplitude (bpm) and phase (deg) at one rate: a row of :func:`responses`."""
    amp, lead = responses(params, np.array([rate_bpm]), settle_s=settle_s, cycles=cycles)[0]
    return float(amp), float(lead)


@functools.cache
def true_resonance_bpm(params: UrsinoParams, *, lo: float = 3.0, hi: float = 9.0) -> float:
    """Rate (breaths/min) of the largest HR amplitude: coarse sweep 0.1/min, fine 0.01/min."""

    def amplitudes(rates: np.ndarray) -> np.ndarray:
        return responses(params, rates)[:, 0]

    return deboer.peak_rate(amplitudes, params.name, lo=lo, hi=hi)


def assess(
    params: UrsinoParams, *, seed: int, protocol: AssessmentProtocol | None = None
) -> AssessmentResult:
    """The whole assessment (the engine, as the service runs it) on a person of this model."""
    return deboer.assess_person(
        lambda breathing: UrsinoPerson(params, breathing=breathing, seed=seed), protocol
    )


#: The people, fixed before the assessment was first run on the model, from their noise-free
#: true resonance (kept within or near the protocol's 4.5-6.5/min) and resting state only:
#: Ursino's gains with his 2-s sympathetic delays or 3-s ones, halved heart-period gains, halved
#: resistance gains at RR 750, a slow heart (RR 1100) with a longer resistance delay (4 s),
#: stiff arteries, and respiration coupled only centrally (vagal gating) or only mechanically
#: (stroke volume). ``stroke_filling_exponent`` (how much stroke volume makes up for a shorter
#: filling time) is 0.6 or 0.9.
PARAMETER_SETS: tuple[UrsinoParams, ...] = (
    UrsinoParams("Ursino gains, delays 2 s", stroke_filling_exponent=0.9),
    UrsinoParams(
        "Ursino gains, delays 3 s",
        stroke_filling_exponent=0.6,
        symp_heart_delay_s=3.0,
        symp_resistance_delay_s=3.0,
    ),
    UrsinoParams(
        "heart x0.5, delays 3 s",
        stroke_filling_exponent=0.9,
        heart_gain_scale=0.5,
        symp_heart_delay_s=3.0,
        symp_resistance_delay_s=3.0,
    ),
    UrsinoParams(
        "RR 750, heart x0.5, resistance x0.5, delays 2.5 s",
        mean_rr_ms=750.0,
        stroke_filling_exponent=0.6,
        heart_gain_scale=0.5,
        resistance_gain_scale=0.5,
        symp_heart_delay_s=2.5,
        symp_resistance_delay_s=2.5,
    ),
    UrsinoParams(
        "RR 1100, delays 2.5 s / 4 s",
        mean_rr_ms=1100.0,
        stroke_filling_exponent=0.6,
        symp_heart_delay_s=2.5,
        symp_resistance_delay_s=4.0,
    ),
    UrsinoParams(
        "stiff arteries (C 1.0), delays 3 s",
        compliance_ml_per_mmhg=1.0,
        stroke_filling_exponent=0.6,
        symp_heart_delay_s=3.0,
        symp_resistance_delay_s=3.0,
    ),
    UrsinoParams(
        "delays 3 s, central coupling only",
        stroke_filling_exponent=0.6,
        symp_heart_delay_s=3.0,
        symp_resistance_delay_s=3.0,
        resp_stroke_fraction=0.0,
        resp_vagal_hz=1.0,
    ),
    UrsinoParams(
        "delays 3 s, mechanical coupling only",
        stroke_filling_exponent=0.6,
        symp_heart_delay_s=3.0,
        symp_resistance_delay_s=3.0,
        resp_stroke_fraction=0.2,
        resp_vagal_hz=0.0,
    ),
)
#: Seeds of the noisy runs the tests and the README table use.
SEEDS: tuple[int, ...] = (1, 2, 3, 4)


def errors(protocol: AssessmentProtocol | None = None) -> dict[str, dict[str, list[float | None]]]:
    """Found minus true resonance (breaths/min), per parameter set and seed: the chosen rate
    and each criterion's rate (``None`` where it gave none)."""
    return deboer.errors_of(PARAMETER_SETS, SEEDS, true_resonance_bpm, assess, protocol)


def noise_free_choice(params: UrsinoParams) -> AssessmentResult:
    """``breathing.choose_resonance`` on the model's own noise-free response at the protocol's
    five rates (peak-to-trough = twice the amplitude)."""
    rates = np.array(AssessmentProtocol().rates_bpm, dtype=float)
    table = [
        row(float(r), float(ph), 2.0 * float(a))
        for r, (a, ph) in zip(rates, responses(params, rates), strict=True)
    ]
    return choose_resonance(table)


def main() -> None:
    """Print the README table (true resonance, errors of the chosen rate), which method chose,
    and the choice on the noise-free five-rate tables."""
    deboer.print_table(PARAMETER_SETS, SEEDS, true_resonance_bpm, response_at, errors)
    for label, protocol in (("2-min", None), ("1-min", AssessmentProtocol.screening())):
        methods = Counter(
            assess(p, seed=s, protocol=protocol).method for p in PARAMETER_SETS for s in SEEDS
        )
        print(f"{label} method of the choice: {dict(methods.most_common())}")
    print()
    for params in PARAMETER_SETS:
        r = noise_free_choice(params)
        found = (
            "none"
            if r.resonance_bpm is None
            else f"{r.resonance_bpm - true_resonance_bpm(params):+.2f}"
        )
        print(f"noise-free table, {params.name}: chosen - true {found} ({r.method})")


if __name__ == "__main__":
    main()
