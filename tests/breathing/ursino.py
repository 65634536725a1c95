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
model over paced rates 3-9/min (all rates, and all the people of ``PARAMETER_SETS``, integrated
at once) and takes the rate of the largest HR amplitude at the breathing frequency (Lehrer,
Vaschillo & Vaschillo 2000), with the least squares fit of ``tests.breathing.deboer``.

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

import dataclasses
import functools
import math
from collections import Counter, deque
from collections.abc import Callable, Sequence
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
    "responses_of",
    "true_resonance_bpm",
    "true_resonances",
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


@dataclass(frozen=True, slots=True)
class _Rest:
    """A person's resting state (``P = P_n``, lungs half full, no noise) and step constants.

    The gains are the products the equations use (``g_ts`` is ``heart_gain_scale G_Ts``, ...);
    ``k_*`` the exact exponential updates of the first-order lags over ``DT_S``; ``n_*`` the
    delays in whole steps (at least one); the rest is copied from :class:`UrsinoParams`.
    """

    period_s: float
    t0_s: float
    sv0_ml: float
    f_es: float
    f_ev: float
    drive: float
    d_ts: float
    d_tv: float
    g_ts: float
    g_tv: float
    g_rsp: float
    g_rep: float
    k_ts: float
    k_tv: float
    k_r: float
    n_ts: int
    n_r: int
    n_tv: int
    stroke_exponent: float
    compliance: float
    resp_stroke: float
    resp_vagal: float


def _resistance(r_drive: Any, g_rsp: Any, g_rep: Any) -> Any:
    """Splanchnic and extrasplanchnic beds in parallel (mmHg s/ml)."""
    r_sp = R_SP0 + g_rsp * r_drive
    r_ep = R_EP0 + g_rep * r_drive
    return r_sp * r_ep / (r_sp + r_ep)


@functools.cache
def _rest(p: UrsinoParams) -> _Rest:
    """The person's :class:`_Rest` (``T0`` and ``SV0`` put the resting state at ``P_n``)."""
    f_as = _afferent(P_N_MMHG, math.exp)
    f_es = _sympathetic(f_as, math.exp)
    f_ev = _vagal(f_as, math.exp)
    drive = _symp_drive(f_es, math.log, max)
    g_ts = p.heart_gain_scale * G_TS_S
    g_tv = p.heart_gain_scale * G_TV_S
    g_rsp = p.resistance_gain_scale * G_RSP
    g_rep = p.resistance_gain_scale * G_REP
    d_ts, d_tv = g_ts * drive, g_tv * f_ev
    period = p.mean_rr_ms / 1000.0
    return _Rest(
        period_s=period,
        t0_s=period - d_ts - d_tv,
        sv0_ml=P_N_MMHG * period / _resistance(drive, g_rsp, g_rep),  # Q = P / R at rest
        f_es=f_es,
        f_ev=f_ev,
        drive=drive,
        d_ts=d_ts,
        d_tv=d_tv,
        g_ts=g_ts,
        g_tv=g_tv,
        g_rsp=g_rsp,
        g_rep=g_rep,
        k_ts=1.0 - math.exp(-DT_S / p.tau_symp_heart_s),
        k_tv=1.0 - math.exp(-DT_S / p.tau_vagal_s),
        k_r=1.0 - math.exp(-DT_S / p.tau_resistance_s),
        n_ts=max(round(p.symp_heart_delay_s / DT_S), 1),
        n_r=max(round(p.symp_resistance_delay_s / DT_S), 1),
        n_tv=max(round(p.vagal_delay_s / DT_S), 1),
        stroke_exponent=p.stroke_filling_exponent,
        compliance=p.compliance_ml_per_mmhg,
        resp_stroke=p.resp_stroke_fraction,
        resp_vagal=p.resp_vagal_hz,
    )


class _Loop:
    """One person's state: pressure, the baroreceptor filter (``w = tau_p P~ - tau_z P``), the
    effector lags and the delay lines (the last ``n`` efferent firing rates, oldest first)."""

    def __init__(self, p: UrsinoParams) -> None:
        rest = _rest(p)
        self.pressure = P_N_MMHG
        self.w = (TAU_P_S - TAU_Z_S) * P_N_MMHG
        self.d_ts, self.d_tv, self.r_drive = rest.d_ts, rest.d_tv, rest.drive
        self.delay_ts = deque([rest.f_es] * rest.n_ts, maxlen=rest.n_ts)
        self.delay_r = deque([rest.f_es] * rest.n_r, maxlen=rest.n_r)
        self.delay_tv = deque([rest.f_ev] * rest.n_tv, maxlen=rest.n_tv)


class UrsinoPerson:
    """Beats of the model for a person breathing at ``breathing(t_s)`` (phase, cycles).

    ``next_beat()`` returns ``(t_s, rr_ms)``: the beat at ``t_s`` ends the interval ``rr_ms``.
    Lung volume is ``(1 - cos(2 pi phase)) / 2`` (the pacer's 1:1 half-cosine breath). The
    noise is an Ornstein-Uhlenbeck process (time constant ``noise_tau_s``) on each efferent
    firing rate. The steps are the module docstring's equations on floats (``math``), written
    out in :meth:`next_beat` with everything in local variables (the noisy assessments take
    about a million steps per protocol); :func:`responses` integrates the same equations on
    arrays.
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
        self.loop = _Loop(params)
        self.breathing = breathing
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.t_s = 0.0
        self.beat_s = 0.0
        self.ipfm = 0.0
        self.n_s = self.n_v = 0.0
        self._a = math.exp(-DT_S / params.noise_tau_s)
        self._b = math.sqrt(1.0 - self._a * self._a)
        #: standard normal draws, taken from the end, 4096 at a time
        self._z: list[float] = []

    def next_beat(self) -> tuple[float, float]:
        rest, loop = _rest(self.p), self.loop
        exp, log, cos, two_pi = math.exp, math.log, math.cos, 2.0 * math.pi
        breathing, noise, z = self.breathing, self.noise, self._z
        a = self._a
        b_s, b_v = self._b * self.p.noise_symp_hz, self._b * self.p.noise_vagal_hz
        t0, period_rest, sv0, expo = rest.t0_s, rest.period_s, rest.sv0_ml, rest.stroke_exponent
        g_rsp, g_rep, compliance = rest.g_rsp, rest.g_rep, rest.compliance
        resp_stroke, resp_vagal = rest.resp_stroke, rest.resp_vagal
        g_ts, g_tv, k_ts, k_tv, k_r = rest.g_ts, rest.g_tv, rest.k_ts, rest.k_tv, rest.k_r
        delay_ts, delay_r, delay_tv = loop.delay_ts, loop.delay_r, loop.delay_tv
        pressure, w, d_ts, d_tv, r_drive = loop.pressure, loop.w, loop.d_ts, loop.d_tv, loop.r_drive
        n_s, n_v, t_s, ipfm = self.n_s, self.n_v, self.t_s, self.ipfm
        while True:
            v = 0.5 * (1.0 - cos(two_pi * breathing(t_s)))
            if noise:
                if not z:
                    z = self.rng.standard_normal(4096).tolist()
                n_s = a * n_s + b_s * z.pop()
                if not z:
                    z = self.rng.standard_normal(4096).tolist()
                n_v = a * n_v + b_v * z.pop()
            period = t0 + d_ts + d_tv
            rate = 1.0 / period
            # circulation: the Windkessel fed by the mean cardiac output
            stroke = sv0 * (period / period_rest) ** expo
            flow = stroke * (1.0 - resp_stroke * (v - 0.5)) / period
            r_sp = R_SP0 + g_rsp * r_drive
            r_ep = R_EP0 + g_rep * r_drive
            dp = (flow - pressure / (r_sp * r_ep / (r_sp + r_ep))) / compliance
            # baroreceptors, then the efferent sympathetic and vagal firing
            p_tilde = (w + TAU_Z_S * pressure) / TAU_P_S
            w = w + DT_S * (pressure - p_tilde)
            pressure = pressure + DT_S * dp
            e = exp((p_tilde - P_N_MMHG) / K_A_MMHG)
            f_as = (F_MIN + F_MAX * e) / (1.0 + e)
            f_es = F_ES_INF + (F_ES0 - F_ES_INF) * exp(-K_ES * f_as) + n_s
            e = exp((f_as - F_AB0) / K_EV)
            f_ev = (F_EV0 + F_EV_INF * e) / (1.0 + e) - resp_vagal * (v - 0.5) + n_v
            f_ev = 0.0 if f_ev < 0.0 else f_ev  # max(f_ev, 0.0), inlined (and below)
            # effectors: pure delays, then first-order lags
            es_heart, es_r, ev = delay_ts[0], delay_r[0], delay_tv[0]
            delay_ts.append(f_es)
            delay_r.append(f_es)
            delay_tv.append(f_ev)
            above_ts, above_r = es_heart - F_ES_MIN, es_r - F_ES_MIN
            above_ts = 0.0 if above_ts < 0.0 else above_ts
            above_r = 0.0 if above_r < 0.0 else above_r
            d_ts = d_ts + k_ts * (g_ts * log(above_ts + 1.0) - d_ts)
            d_tv = d_tv + k_tv * (g_tv * ev - d_tv)
            r_drive = r_drive + k_r * (log(above_r + 1.0) - r_drive)
            # integral pulse frequency modulation
            before = ipfm
            ipfm += DT_S * rate
            t_s += DT_S
            if ipfm >= 1.0:
                break
        loop.pressure, loop.w, loop.d_ts, loop.d_tv, loop.r_drive = pressure, w, d_ts, d_tv, r_drive
        self.n_s, self.n_v, self.t_s, self._z = n_s, n_v, t_s, z
        t_beat = t_s - DT_S + DT_S * (1.0 - before) / (ipfm - before)
        self.ipfm = ipfm - 1.0
        rr = t_beat - self.beat_s
        self.beat_s = t_beat
        return t_beat, 1000.0 * rr


def _sweep(
    columns: Sequence[tuple[UrsinoParams, float]], settle_s: float, cycles: int
) -> np.ndarray:
    """HR amplitude and phase (columns of the result) of the noise-free model, one row per
    ``(person, constant paced rate)`` column, all integrated at once on arrays (numpy): the
    equations of :meth:`UrsinoPerson.next_beat` with the noise left out, element by element."""
    rests = [_rest(p) for p, _ in columns]

    def stacked(*names: str) -> list[np.ndarray]:
        return [np.array([getattr(r, name) for r in rests]) for name in names]

    t0, period_rest, sv0, expo, compliance = stacked(
        "t0_s", "period_s", "sv0_ml", "stroke_exponent", "compliance"
    )
    g_rsp, g_rep, g_ts, g_tv, k_ts, k_tv, k_r = stacked(
        "g_rsp", "g_rep", "g_ts", "g_tv", "k_ts", "k_tv", "k_r"
    )
    resp_stroke, resp_vagal = stacked("resp_stroke", "resp_vagal")
    d_ts, d_tv, r_drive = stacked("d_ts", "d_tv", "drive")
    f = np.array([rate for _, rate in columns], dtype=float) / 60.0
    pressure = np.full(f.size, P_N_MMHG)
    w = np.full(f.size, (TAU_P_S - TAU_Z_S) * P_N_MMHG)
    # delay lines: ring buffers, a row per step; each step reads the row its delay back, then
    # writes over the oldest row (``take`` of flat indices: a different delay in each column)
    f_es_rest, f_ev_rest = stacked("f_es", "f_ev")
    es_ring = np.tile(f_es_rest, (max(max(r.n_ts, r.n_r) for r in rests), 1))
    ev_ring = np.tile(f_ev_rest, (max(r.n_tv for r in rests), 1))

    def reads(ring: np.ndarray, delay: str) -> np.ndarray:
        """Flat indices of the rows ``n`` steps back, for each row about to be written."""
        (n,) = stacked(delay)
        rows = (np.arange(len(ring))[:, None] - n[None, :]) % len(ring)
        return rows * f.size + np.arange(f.size)

    at_ts, at_r, at_tv = reads(es_ring, "n_ts"), reads(es_ring, "n_r"), reads(ev_ring, "n_tv")

    n = math.ceil((settle_s + cycles / float(f.min())) / DT_S) + 1
    ipfm = np.zeros((n, f.size))
    acc = np.zeros(f.size)
    w_breath = 2.0 * np.pi * f
    block = 500
    for start in range(0, n - 1, block):
        # the lung volume terms of the next ``block`` steps (each at the step's start)
        t = np.arange(start, min(start + block, n - 1)) * DT_S
        half = 0.5 * (1.0 - np.cos(w_breath * t[:, None])) - 0.5  # v - 1/2
        stroke_breath = 1.0 - resp_stroke * half
        vagal_breath = resp_vagal * half
        for i in range(t.size):
            step = start + i  # from t = step DT_S to (step + 1) DT_S
            es_row, ev_row = step % len(es_ring), step % len(ev_ring)
            period = t0 + d_ts + d_tv
            rate = 1.0 / period
            stroke = sv0 * (period / period_rest) ** expo
            flow = stroke * stroke_breath[i] / period
            dp = (flow - pressure / _resistance(r_drive, g_rsp, g_rep)) / compliance
            p_tilde = (w + TAU_Z_S * pressure) / TAU_P_S
            w = w + DT_S * (pressure - p_tilde)
            pressure = pressure + DT_S * dp
            f_as = _afferent(p_tilde, np.exp)
            f_es = _sympathetic(f_as, np.exp)
            f_ev = np.maximum(_vagal(f_as, np.exp) - vagal_breath[i], 0.0)
            es_heart, es_r = es_ring.take(at_ts[es_row]), es_ring.take(at_r[es_row])
            ev = ev_ring.take(at_tv[ev_row])
            es_ring[es_row], ev_ring[ev_row] = f_es, f_ev
            d_ts = d_ts + k_ts * (g_ts * _symp_drive(es_heart, np.log, np.maximum) - d_ts)
            d_tv = d_tv + k_tv * (g_tv * ev - d_tv)
            r_drive = r_drive + k_r * (_symp_drive(es_r, np.log, np.maximum) - r_drive)
            acc = acc + DT_S * rate
            ipfm[step + 1] = acc
    grid = np.arange(n) * DT_S
    out = np.empty((f.size, 2))
    for j in range(f.size):
        beats = np.arange(1, math.floor(ipfm[-1, j]) + 1)
        t_beat = np.interp(beats, ipfm[:, j], grid)
        rr = np.diff(t_beat) * 1000.0
        t_end = settle_s + cycles / f[j]
        keep = t_beat[1:] <= t_end
        out[j] = deboer.fit_hr(t_beat[1:][keep], rr[keep], f[j], settle_s=settle_s)
    return out


#: Noise-free responses already integrated: ``(params without its name, rate_bpm, settle_s,
#: cycles)`` -> ``(amplitude, phase)``. A column's response does not depend on the others
#: integrated with it, and the tests ask for some more than once.
_RESPONSES: dict[tuple[UrsinoParams, float, float, int], tuple[float, float]] = {}


def responses_of(
    people_rates: Sequence[tuple[UrsinoParams, np.ndarray]],
    *,
    settle_s: float = 120.0,
    cycles: int = 10,
) -> list[np.ndarray]:
    """:func:`responses` of several people, each at its own rates, all integrated together (an
    integration of many columns costs little more than one of a few; those already integrated
    are not integrated again)."""
    grids = [(p, np.asarray(rates, dtype=float)) for p, rates in people_rates]
    keys = [
        (dataclasses.replace(p, name=""), float(r), settle_s, cycles)
        for p, rates in grids
        for r in rates
    ]
    missing = list(dict.fromkeys(k for k in keys if k not in _RESPONSES))
    if missing:
        rows = _sweep([(p, r) for p, r, _, _ in missing], settle_s, cycles)
        _RESPONSES.update(zip(missing, [(float(a), float(ph)) for a, ph in rows], strict=True))
    out = np.array([_RESPONSES[k] for k in keys], dtype=float).reshape(len(keys), 2)
    return np.split(out, np.cumsum([rates.size for _, rates in grids])[:-1]) if grids else []


def responses(
    params: UrsinoParams, rates_bpm: np.ndarray, *, settle_s: float = 120.0, cycles: int = 10
) -> np.ndarray:
    """HR amplitude (bpm) and phase (deg, + when HR leads lung volume), one row per rate, of
    the noise-free model paced at each constant rate (all integrated at once); fitted by
    :func:`tests.breathing.deboer.fit_hr` after ``settle_s`` over ``cycles`` breaths."""
    return responses_of([(params, rates_bpm)], settle_s=settle_s, cycles=cycles)[0]


def response_at(
    params: UrsinoParams, rate_bpm: float, *, settle_s: float = 120.0, cycles: int = 10
) -> tuple[float, float]:
    """HR amplitude (bpm) and phase (deg) at one rate: a row of :func:`responses`."""
    amp, lead = responses(params, np.array([rate_bpm]), settle_s=settle_s, cycles=cycles)[0]
    return float(amp), float(lead)


def _together(params: UrsinoParams) -> tuple[UrsinoParams, ...]:
    """The people to integrate along with ``params``: all of :data:`PARAMETER_SETS` if it is one
    of them (the tests, the README table and the bench ask for each in turn), else ``params``
    alone."""
    return PARAMETER_SETS if params in PARAMETER_SETS else (params,)


def true_resonance_bpm(params: UrsinoParams, *, lo: float = 3.0, hi: float = 9.0) -> float:
    """Rate (breaths/min) of the largest HR amplitude: coarse sweep 0.1/min, fine 0.01/min.

    Asked for one of :data:`PARAMETER_SETS`, it sweeps them all at once (:func:`_together`).
    """
    people = _together(params)
    return true_resonances(people, lo=lo, hi=hi)[people.index(params)]


def true_resonances(
    people: Sequence[UrsinoParams], *, lo: float = 3.0, hi: float = 9.0
) -> list[float]:
    """:func:`true_resonance_bpm` of several people, swept together."""
    return list(_true_resonances(tuple(people), lo, hi))


@functools.cache
def _true_resonances(people: tuple[UrsinoParams, ...], lo: float, hi: float) -> list[float]:
    def amplitudes(grids: list[np.ndarray]) -> list[np.ndarray]:
        return [rows[:, 0] for rows in responses_of(list(zip(people, grids, strict=True)))]

    return deboer.peak_rates(amplitudes, [p.name for p in people], lo=lo, hi=hi)


@functools.cache
def assess(
    params: UrsinoParams, *, seed: int, protocol: AssessmentProtocol | None = None
) -> AssessmentResult:
    """The whole assessment (the engine, as the service runs it) on a person of this model
    (kept: :func:`main` asks for each run three times)."""
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
    five rates (peak-to-trough = twice the amplitude); those of all :data:`PARAMETER_SETS` are
    integrated at once when it is one of them."""
    rates = np.array(AssessmentProtocol().rates_bpm, dtype=float)
    responses_of([(p, rates) for p in _together(params)])
    table = [
        row(float(r), float(ph), 2.0 * float(a))
        for r, (a, ph) in zip(rates, responses(params, rates), strict=True)
    ]
    return choose_resonance(table)


def main() -> None:
    """Print the README table (true resonance, errors of the chosen rate), which method chose,
    and the choice on the noise-free five-rate tables."""
    # the HR phase at each true resonance, all people in one integration
    responses_of([(p, np.array([true_resonance_bpm(p)])) for p in PARAMETER_SETS])
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
