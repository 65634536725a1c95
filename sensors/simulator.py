"""A simulated person: seeded, realistic RR intervals whose heart rate follows the breathing.

Model (all in the time domain, stepped every ``dt_s`` = 50 ms, so a change of breathing rate is
followed continuously):

* **Heart timing** by integral pulse-frequency modulation: the heart's phase integrates the
  instantaneous heart rate ``hr(t) / 60``; a beat happens at each whole turn. Each beat time is
  then jittered by a little Gaussian noise (beat-to-beat variability); RR intervals are the
  differences of the emitted beat times, so ``t_s`` is always the running sum of ``rr_ms``.
* **Respiratory sinus arrhythmia through a baroreflex resonator** (Vaschillo et al. 2002): the
  lung volume (``hrv.resonance.lung_volume_at`` of the breathing phase) drives a second-order
  band-pass filter ``H(s) = (w0/Q) s / (s^2 + (w0/Q) s + w0^2)`` with ``w0`` the person's
  resonance frequency. Its gain peaks (= 1) at resonance; its phase is +90 deg well below, 0 at,
  and -90 deg well above resonance (HR leads lung volume below resonance: docs/ARCHITECTURE.md).
  The filter is discretised exactly (zero-order hold, matrix exponential), so it is stable and
  accurate at any breathing rate. ``rsa_gain_bpm`` is the peak-to-trough HR at resonance.
* **Mayer waves**: a second band-pass resonator at ``mayer_hz`` (~0.1 Hz) driven by white noise,
  scaled so its RMS equals ``mayer_amplitude_bpm / sqrt(2)``.
* **Slow drift** of the mean HR (Ornstein-Uhlenbeck, 2 bpm SD, 60 s time constant).
* **Stress** (0 calm .. 1 stressed, constant or a function of ``t_s``): raises HR by up to
  ``stress_hr_bpm``, shrinks RSA and beat-to-beat jitter (lower RMSSD), quickens spontaneous
  breathing.
* **Breathing**: ``breathing(t_s)`` gives the phase in cycles (e.g. the pacer's); ``None`` means
  spontaneous breathing at ~12-15 breaths/min with a slowly wandering rate.
* **Artefacts**, labelled on each beat (:class:`BeatKind`): premature (ectopic) beats followed
  by a compensatory pause, missed detections (one RR spanning two beats), optional dropouts
  (beats not delivered; the next one has ``gap_before``) and optional contact losses (beats
  still delivered, ``contact=False``, with RR disturbed by ~120 ms of noise, as a strap sliding
  on dry skin does).

Same seed, same beats: all randomness comes from one ``numpy.random.Generator(seed)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np

from hrv.resonance import lung_volume_at
from sensors.beat import Beat, SourceState, SourceStatus
from sensors.clock import Clock, ScaledClock, SystemClock, VirtualClock
from sensors.source import BeatSource

__all__ = [
    "SIMULATED_RESONANCE_BPM",
    "BeatKind",
    "SimulatedBeat",
    "SimulatedPerson",
    "SimulatorSource",
]

#: The simulated person's resonance rate unless one is given, breaths/min: the one default of
#: ``hrvpace demo``, ``assess --simulate``, ``practice --simulate`` and a simulator session.
#: Not the 6.0/min a practice starts at until a person's own rate is known, so that an
#: assessment or adaptive pacing of the simulated person visibly finds a rate of its own.
SIMULATED_RESONANCE_BPM = 5.5

StressLevel = float | Callable[[float], float]
BreathingPhase = Callable[[float], float]


class BeatKind(StrEnum):
    """What the simulator did to a beat (ground truth for artefact tests)."""

    NORMAL = "normal"
    ECTOPIC = "ectopic"  # premature beat: short RR
    COMPENSATORY = "compensatory"  # the long RR after an ectopic beat
    MISSED = "missed"  # a beat was not detected: this RR spans two intervals
    NO_CONTACT = "no_contact"  # delivered while the strap had lost skin contact: unreliable


@dataclass(frozen=True, slots=True)
class SimulatedBeat:
    """One simulated beat with its ground truth.

    Attributes
    ----------
    t_s, rr_ms, gap_before
        As in :class:`sensors.Beat`.
    kind
        Artefact label.
    hr_bpm
        The model's instantaneous heart rate at the beat (before jitter and artefacts).
    stress
        Stress level (0..1) at the beat.
    breathing_phase_cycles
        The person's breathing phase (cycles) at the beat.
    contact
        False while a simulated contact loss lasts (the RR is then unreliable).
    """

    t_s: float
    rr_ms: float
    gap_before: bool
    kind: BeatKind
    hr_bpm: float
    stress: float
    breathing_phase_cycles: float
    contact: bool = True


def _resonator(
    freq_hz: float, q: float, dt_s: float
) -> tuple[list[list[float]], list[float], float]:
    """Exact ZOH discretisation of ``z'' + (w/q) z' + w^2 z = u``; output ``y = (w/q) z'``."""
    from scipy.linalg import expm  # local: scipy.linalg costs ~0.1 s at `hrvpace` start-up

    w = 2.0 * math.pi * freq_hz
    a = np.array([[0.0, 1.0], [-(w**2), -w / q]])
    m = np.zeros((3, 3))
    m[:2, :2] = a
    m[1, 2] = 1.0
    e = expm(m * dt_s)
    # plain floats: the model loop runs ~20 steps per beat in pure Python
    return e[:2, :2].tolist(), e[:2, 2].tolist(), w / q


class SimulatedPerson:
    """A seeded, incremental generator of realistic RR intervals (see the module docstring).

    Parameters
    ----------
    seed : int
        Seed of the only random generator; same seed and options give the same beats.
    mean_hr_bpm : float
        Resting mean heart rate.
    resonance_bpm : float
        The person's resonance frequency in breaths/min (peak of the HR response to breathing).
    resonance_q : float
        Quality factor of the baroreflex resonator (sharper peak when larger).
    rsa_gain_bpm : float
        Peak-to-trough HR (beats/min) when breathing at the resonance rate, calm.
    mayer_amplitude_bpm, mayer_hz : float
        Amplitude (sinusoid-equivalent) and centre frequency of the Mayer waves.
    jitter_ms : float
        SD of the beat-time jitter, calm (beat-to-beat noise; RMSSD rises with it).
    ectopic_rate, missed_beat_rate : float
        Probability per beat of a premature beat / of a missed detection.
    dropout_rate : float
        Probability per beat that a dropout starts; it lasts ``dropout_s`` (uniform range).
    contact_loss_rate : float
        Probability per beat that a loss of skin contact starts; it lasts ``contact_loss_s``.
    stress : float or callable
        0 (calm) .. 1 (stressed), or a function of ``t_s`` giving it.
    stress_hr_bpm : float
        HR increase at stress 1.
    breathing : callable, optional
        Breathing phase in cycles as a function of ``t_s`` (integer = start of inhale); ``None``
        for spontaneous breathing at ~12-15/min.
    breathing_lag_s : float
        How late the person follows ``breathing`` (a person tracking a visual pacer lags it a
        little); the HR response is to the person's own lung volume.
    inhale_fraction : float
        Share of each breath spent inhaling (shape of the lung volume).
    dt_s : float
        Model time step.
    """

    def __init__(
        self,
        *,
        seed: int,
        mean_hr_bpm: float = 65.0,
        resonance_bpm: float = SIMULATED_RESONANCE_BPM,
        resonance_q: float = 2.5,
        rsa_gain_bpm: float = 15.0,
        mayer_amplitude_bpm: float = 1.0,
        mayer_hz: float = 0.1,
        jitter_ms: float = 12.0,
        ectopic_rate: float = 0.002,
        missed_beat_rate: float = 0.001,
        dropout_rate: float = 0.0,
        dropout_s: tuple[float, float] = (2.0, 8.0),
        contact_loss_rate: float = 0.0,
        contact_loss_s: tuple[float, float] = (5.0, 20.0),
        stress: StressLevel = 0.0,
        stress_hr_bpm: float = 20.0,
        breathing: BreathingPhase | None = None,
        breathing_lag_s: float = 0.0,
        inhale_fraction: float = 0.5,
        dt_s: float = 0.05,
    ) -> None:
        checks = {
            "mean_hr_bpm": 30.0 <= mean_hr_bpm <= 200.0,
            "resonance_bpm": 2.0 <= resonance_bpm <= 15.0,
            "resonance_q": resonance_q > 0.5,
            "rsa_gain_bpm": rsa_gain_bpm >= 0.0,
            "mayer_amplitude_bpm": mayer_amplitude_bpm >= 0.0,
            "mayer_hz": 0.03 <= mayer_hz <= 0.2,
            "jitter_ms": 0.0 <= jitter_ms <= 100.0,
            "ectopic_rate": 0.0 <= ectopic_rate < 0.5,
            "missed_beat_rate": 0.0 <= missed_beat_rate < 0.5,
            "dropout_rate": 0.0 <= dropout_rate < 0.5,
            "dropout_s": 0.0 < dropout_s[0] <= dropout_s[1],
            "contact_loss_rate": 0.0 <= contact_loss_rate < 0.5,
            "contact_loss_s": 0.0 < contact_loss_s[0] <= contact_loss_s[1],
            "inhale_fraction": 0.1 <= inhale_fraction <= 0.9,
            "breathing_lag_s": 0.0 <= breathing_lag_s <= 5.0,
            "dt_s": 0.001 <= dt_s <= 0.1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"SimulatedPerson: {name} out of range: {locals()[name]!r}")
        self.seed = seed
        self.mean_hr_bpm = mean_hr_bpm
        self.resonance_bpm = resonance_bpm
        self.rsa_gain_bpm = rsa_gain_bpm
        self.mayer_amplitude_bpm = mayer_amplitude_bpm
        self.jitter_ms = jitter_ms
        self.ectopic_rate = ectopic_rate
        self.missed_beat_rate = missed_beat_rate
        self.dropout_rate = dropout_rate
        self.dropout_s = dropout_s
        self.contact_loss_rate = contact_loss_rate
        self.contact_loss_s = contact_loss_s
        self._no_contact_until = -1.0
        self.stress_hr_bpm = stress_hr_bpm
        self.inhale_fraction = inhale_fraction
        self._stress = stress
        self._breathing = breathing
        self.breathing_lag_s = breathing_lag_s
        self._dt = dt_s
        self._rng = np.random.default_rng(seed)
        self._noise = np.empty(0)
        self._noise_i = 0

        # baroreflex resonator driven by lung volume; start at rest for the volume's mean
        self._ad, self._bd, self._c = _resonator(resonance_bpm / 60.0, resonance_q, dt_s)
        w0 = 2.0 * math.pi * resonance_bpm / 60.0
        self._x = [0.5 / w0**2, 0.0]
        # Mayer-wave resonator driven by unit white noise; stationary SD for scaling
        self._mad, self._mbd, self._mc = _resonator(mayer_hz, 3.0, dt_s)
        from scipy.linalg import solve_discrete_lyapunov  # local: see _resonator

        p = solve_discrete_lyapunov(np.array(self._mad), np.outer(self._mbd, self._mbd))
        sd = math.sqrt(self._mc**2 * float(p[1, 1]))
        self._mayer_scale = mayer_amplitude_bpm / math.sqrt(2.0) / sd if sd > 0 else 0.0
        self._mx = [0.0, 0.0]
        # slow drift (OU) of mean HR and, for spontaneous breathing, of the breathing rate
        self._drift = 0.0
        self._spont_rate_dev = 0.0
        self._spont_phase = 0.0

        self._t = 0.0  # model time
        self._heart_phase = 0.0
        self._last_ideal_s = 0.0  # ideal time of the previous true beat
        self._last_emit_s = 0.0  # emitted time of the previous delivered beat (R peak)
        self._pending: list[SimulatedBeat] = []
        self._compensate_next = False
        self._missed = False
        self._dropout_until = -1.0
        self._gap = False
        self._hr_now = mean_hr_bpm
        self._breath_now = 0.0

    # -- helpers ------------------------------------------------------------------------------

    def _normal(self) -> float:
        if self._noise_i >= self._noise.size:
            self._noise = self._rng.standard_normal(4096)
            self._noise_i = 0
        v = float(self._noise[self._noise_i])
        self._noise_i += 1
        return v

    def stress_at(self, t_s: float) -> float:
        """Stress level (clipped to 0..1) at ``t_s``."""
        s = self._stress(t_s) if callable(self._stress) else self._stress
        return min(1.0, max(0.0, float(s)))

    def follow(self, breathing: Callable[[float], float] | None) -> None:
        """From now on breathe along ``breathing`` (phase in cycles at ``t_s``, e.g. a pacer's).

        ``None`` returns to spontaneous breathing. Used when pacing starts or stops mid-session.
        """
        self._breathing = breathing

    def _breathing_phase(self, t_s: float, stress: float) -> float:
        if self._breathing is not None:
            return float(self._breathing(t_s - self.breathing_lag_s))
        # spontaneous: ~13.5/min (+4/min when stressed), rate wandering with 1/min SD, tau 30 s
        a = self._dt / 30.0
        self._spont_rate_dev += -a * self._spont_rate_dev + math.sqrt(2 * a) * self._normal()
        rate = min(20.0, max(10.0, 13.5 + 4.0 * stress + 1.0 * self._spont_rate_dev))
        self._spont_phase += rate / 60.0 * self._dt
        return self._spont_phase

    def _step(self) -> tuple[float, float]:
        """Advance the model by one ``dt``; return the new time and the heart phase gained."""
        t = self._t + self._dt
        stress = self.stress_at(t)
        phase = self._breathing_phase(t, stress)
        self._breath_now = phase
        u = lung_volume_at(phase, inhale_fraction=self.inhale_fraction)
        ad, bd, x = self._ad, self._bd, self._x
        x0 = ad[0][0] * x[0] + ad[0][1] * x[1] + bd[0] * u
        x1 = ad[1][0] * x[0] + ad[1][1] * x[1] + bd[1] * u
        self._x = [x0, x1]
        rsa = self.rsa_gain_bpm * (1.0 - 0.75 * stress) * self._c * x1
        mad, mbd, mx = self._mad, self._mbd, self._mx
        w = self._normal() / math.sqrt(self._dt)
        m0 = mad[0][0] * mx[0] + mad[0][1] * mx[1] + mbd[0] * w
        m1 = mad[1][0] * mx[0] + mad[1][1] * mx[1] + mbd[1] * w
        self._mx = [m0, m1]
        mayer = self._mayer_scale * self._mc * m1 * math.sqrt(self._dt)
        a = self._dt / 60.0
        self._drift += -a * self._drift + 2.0 * math.sqrt(2 * a) * self._normal()
        hr = self.mean_hr_bpm + self.stress_hr_bpm * stress + self._drift + rsa + mayer
        hr = min(200.0, max(30.0, hr))
        self._hr_now = hr
        self._t = t
        return t, hr / 60.0 * self._dt

    def _next_true_beat(self) -> float:
        """Ideal time of the next heartbeat (IPFM), linearly interpolated inside the step."""
        while True:
            t, gain = self._step()
            if self._heart_phase + gain >= 1.0:
                frac = (1.0 - self._heart_phase) / gain
                self._heart_phase = self._heart_phase + gain - 1.0
                return t - self._dt + frac * self._dt
            self._heart_phase += gain

    # -- public ---------------------------------------------------------------------------------

    @property
    def t_s(self) -> float:
        """Model time reached so far."""
        return self._t

    def next_beat(self) -> SimulatedBeat:
        """The next delivered beat (including one that :meth:`beats` looked at and held back)."""
        return self._pending.pop(0) if self._pending else self._generate()

    def _generate(self) -> SimulatedBeat:
        while True:
            ideal = self._next_true_beat()
            stress = self.stress_at(ideal)
            if self._dropout_until >= ideal:
                self._gap = True
                self._last_ideal_s = ideal
                continue
            jitter_sd = self.jitter_ms * (1.0 - 0.7 * stress) / 1000.0
            jitter = max(-3.0, min(3.0, self._normal())) * jitter_sd
            kind = BeatKind.NORMAL
            emit = ideal + jitter
            contact = bool(self._no_contact_until < ideal)
            if not contact:
                kind = BeatKind.NO_CONTACT
                emit = ideal + max(-2.5, min(2.5, self._normal())) * 0.12
                self._compensate_next = False
            elif self._compensate_next:
                kind = BeatKind.COMPENSATORY
                self._compensate_next = False
            elif self._rng.random() < self.ectopic_rate:
                # premature: 60-75 % of the expected interval, full compensatory pause after
                emit = self._last_emit_s + (ideal - self._last_ideal_s) * self._rng.uniform(
                    0.6, 0.75
                )
                kind = BeatKind.ECTOPIC
                self._compensate_next = True
            elif self._rng.random() < self.missed_beat_rate and not self._gap and contact:
                self._missed = True
                self._last_ideal_s = ideal
                continue
            if self._missed:
                kind = BeatKind.MISSED
                self._missed = False
            emit = max(emit, self._last_emit_s + 0.2)
            rr_s = emit - self._last_emit_s
            if self._gap:
                # the strap still reports this beat's own interval
                rr_s = ideal - self._last_ideal_s + jitter
                emit = max(emit, self._last_emit_s + rr_s)
            beat = SimulatedBeat(
                t_s=self._last_emit_s + rr_s if not self._gap else emit,
                rr_ms=rr_s * 1000.0,
                gap_before=self._gap,
                kind=kind,
                hr_bpm=self._hr_now,
                stress=stress,
                breathing_phase_cycles=self._breath_now,
                contact=contact,
            )
            self._gap = False
            self._last_ideal_s = ideal
            self._last_emit_s = beat.t_s
            if self.dropout_rate > 0 and self._rng.random() < self.dropout_rate:
                self._dropout_until = ideal + self._rng.uniform(*self.dropout_s)
            if (
                self.contact_loss_rate > 0
                and contact
                and self._rng.random() < self.contact_loss_rate
            ):
                self._no_contact_until = ideal + self._rng.uniform(*self.contact_loss_s)
            return beat

    def beats(self, duration_s: float) -> list[SimulatedBeat]:
        """The next beats up to ``duration_s`` of model time (for tests and batch use).

        The first beat after ``duration_s`` is held back for the next :meth:`next_beat` or
        :meth:`beats` call, so successive calls continue the same stream without a hole.
        """
        out: list[SimulatedBeat] = []
        while True:
            b = self.next_beat()
            if b.t_s > duration_s:
                # keep the beat for the next call
                self._pending.append(b)
                return out
            out.append(b)


class SimulatorSource(BeatSource):
    """A :class:`~sensors.source.BeatSource` over a :class:`SimulatedPerson`.

    Each beat is delivered after waiting its RR interval on the clock (a dropout is waited
    through, and the next beat comes with ``gap_before``). ``contact`` is ``False`` during a
    simulated contact loss, ``True`` otherwise; the status reports the loss as a strap does
    (:class:`sensors.BleStrapSource`): ``NO_CONTACT`` with ``contact_t_s`` at the first
    beat without contact, ``STREAMING`` ("skin contact back") with ``contact_t_s`` at the first
    beat with contact again, so a session keeps the stretch (:mod:`sensors.contact`). The
    simulator knows when contact is lost: it reports at once, without the strap's 3 s of
    packets saying no contact.

    Parameters
    ----------
    person : SimulatedPerson
        The beat generator.
    clock : Clock, optional
        Injected clock; by default ``speed`` picks one: ``"max"`` -> :class:`VirtualClock`
        starting at the current wall time (as fast as possible), 1 -> :class:`SystemClock`,
        N -> ``ScaledClock(N)``.
    speed : float or "max"
        Used only when ``clock`` is ``None``.
    duration_s : float, optional
        End the stream after this much simulated time.
    """

    def __init__(
        self,
        person: SimulatedPerson,
        *,
        clock: Clock | None = None,
        speed: float | Literal["max"] = 1.0,
        duration_s: float | None = None,
    ) -> None:
        super().__init__()
        if clock is None:
            if speed == "max":
                # virtual time starts now, so arrival times are today's dates, not 2023's
                clock = VirtualClock(start=time.time())
            elif isinstance(speed, int | float) and speed > 0:
                clock = SystemClock() if speed == 1 else ScaledClock(float(speed))
            else:
                raise ValueError(f"speed must be > 0 or 'max', got {speed!r}")
        self.person = person
        self.clock = clock
        self.duration_s = duration_s
        self._closed = False

    async def _open(self) -> None:
        self._closed = False
        self._set_status(SourceStatus(SourceState.STREAMING, "simulated person"))

    async def _close(self) -> None:
        self._closed = True
        if self._status.state is not SourceState.ENDED:
            self._set_status(SourceStatus(SourceState.ENDED, "simulation stopped"))

    def _report_contact(self, t_s: float, contact: bool) -> None:
        """A change of skin contact at the beat at ``t_s``, reported as a strap reports it."""
        state = self._status.state
        if not contact and state is SourceState.STREAMING:
            self._set_status(
                SourceStatus(
                    SourceState.NO_CONTACT,
                    f"no skin contact: simulated contact loss from {t_s:.1f} s",
                    contact_t_s=t_s,
                )
            )
        elif contact and state is SourceState.NO_CONTACT:
            self._set_status(
                SourceStatus(
                    SourceState.STREAMING, "skin contact back (simulated person)", contact_t_s=t_s
                )
            )

    async def _beats(self) -> AsyncIterator[Beat]:
        last_t = 0.0
        while not self._closed:
            sb = self.person.next_beat()
            if self.duration_s is not None and sb.t_s > self.duration_s:
                self._set_status(SourceStatus(SourceState.ENDED, "simulation finished"))
                return
            await self.clock.sleep(sb.t_s - last_t)
            last_t = sb.t_s
            self._report_contact(sb.t_s, sb.contact)
            yield Beat(
                t_s=sb.t_s,
                rr_ms=sb.rr_ms,
                arrived_at=self.clock.now(),
                contact=sb.contact,
                gap_before=sb.gap_before,
                heart_rate_bpm=round(60000.0 / sb.rr_ms),
            )
