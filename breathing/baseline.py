"""A person's resting baseline of lnRMSSD and heart rate, learned from calm periods.

:class:`Baseline` is a frozen value: the micro-break monitor (:mod:`breathing.microbreak`)
returns an updated copy as it learns, and the service persists it (``to_dict`` / ``from_dict``)
and passes it back the next day, so the baseline is kept across days and sessions.

Learning rule (documented choice, not a published algorithm)
------------------------------------------------------------
The baseline is a time-weighted mean and variance of lnRMSSD (natural log of RMSSD in ms) and
of heart rate over the 60-s windows judged calm. Each window counts with a weight in seconds
(the time it stands for, normally the 10-s step between windows), so the result does not depend
on how often windows come.

* **Prior.** It starts from a population default (:meth:`Baseline.population`) counted as
  ``prior_weight_s`` seconds of data (5 minutes by default): the person's own data outweighs
  it after a few minutes, but one odd first minute does not define a person.
* **Exponential forgetting.** The total weight is capped at ``memory_s`` (8 hours of calm signal
  by default): once the cap is reached, the old data is scaled down before each new window
  is added, i.e. an exponentially weighted mean with a time constant of ``memory_s`` of calm
  signal. Someone who wears the strap 1-2 hours a day is thus described by about the last
  week; a change of fitness or medication is followed within days.
* ``personal_s`` counts the seconds of the person's own signal ever learned (never forgotten);
  the monitor uses it to know whether the baseline is still mostly the population default.

Population default
------------------
Nunan, Sandercock & Brodie (2010), a systematic review of normal short-term HRV values in
healthy adults (44 studies, 21,438 participants): RMSSD 42 +/- 15 ms, mean RR 926 +/- 90 ms.
Hence lnRMSSD ``ln(42) = 3.74`` with SD ``15 / 42 = 0.36`` (delta method) and heart rate
``60000 / 926 = 64.8`` bpm with SD ``64.8 * 90 / 926 = 6.3`` bpm. These SDs are between people,
wider than one person's day-to-day spread, which makes the default conservative (fewer flags)
until the person's own data takes over.

References
----------
Nunan, D., Sandercock, G. R. H., & Brodie, D. A. (2010). A quantitative systematic review of
normal values for short-term heart rate variability in healthy adults. Pacing and Clinical
Electrophysiology, 33(11), 1407-1417.
Plews, D. J., Laursen, P. B., Kilding, A. E., & Buchheit, M. (2012). Heart rate variability in
elite triathletes: is variation in variability the key to effective training? European Journal
of Applied Physiology, 112(11), 3729-3741 (lnRMSSD as the day-to-day marker, its SD as the
"smallest worthwhile change").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from breathing.errors import BreathingError

__all__ = [
    "POPULATION_HR_MEAN_BPM",
    "POPULATION_HR_SD_BPM",
    "POPULATION_LN_RMSSD_MEAN",
    "POPULATION_LN_RMSSD_SD",
    "Baseline",
]

#: Nunan et al. (2010): RMSSD 42 +/- 15 ms -> lnRMSSD mean and SD (delta method).
POPULATION_LN_RMSSD_MEAN = math.log(42.0)
POPULATION_LN_RMSSD_SD = 15.0 / 42.0
#: Nunan et al. (2010): mean RR 926 +/- 90 ms -> heart rate mean and SD (delta method).
POPULATION_HR_MEAN_BPM = 60000.0 / 926.0
POPULATION_HR_SD_BPM = POPULATION_HR_MEAN_BPM * 90.0 / 926.0


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BreathingError(f"baseline: {name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise BreathingError(f"baseline: {name} must be finite, got {value!r}")
    return v


@dataclass(frozen=True, slots=True)
class Baseline:
    """Resting lnRMSSD and heart rate of one person: mean, SD, and how much data is behind them.

    Attributes
    ----------
    ln_rmssd_mean, ln_rmssd_sd : float
        Mean and SD of lnRMSSD (ln of RMSSD in ms) over calm 60-s windows.
    hr_mean_bpm, hr_sd_bpm : float
        Mean and SD of the mean heart rate (beats/min) of the same windows.
    weight_s : float
        Effective seconds of data behind the estimate, prior included (capped by forgetting).
    personal_s : float
        Seconds of the person's own calm signal learned so far (never forgotten).

    Notes
    -----
    ``z_scores`` uses the SDs as they are; the monitor applies its own floors
    (:class:`breathing.MicroBreakSettings`) so a very steady stretch cannot make tiny changes
    look large.
    """

    ln_rmssd_mean: float
    ln_rmssd_sd: float
    hr_mean_bpm: float
    hr_sd_bpm: float
    weight_s: float
    personal_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("ln_rmssd_mean", "ln_rmssd_sd", "hr_mean_bpm", "hr_sd_bpm", "weight_s"):
            _finite(name, getattr(self, name))
        _finite("personal_s", self.personal_s)
        if self.ln_rmssd_sd < 0 or self.hr_sd_bpm < 0:
            raise BreathingError(
                f"baseline: SDs must be >= 0, got ln_rmssd_sd={self.ln_rmssd_sd}, "
                f"hr_sd_bpm={self.hr_sd_bpm}"
            )
        if not 20.0 <= self.hr_mean_bpm <= 250.0:
            raise BreathingError(
                f"baseline: hr_mean_bpm must be a heart rate in 20-250 beats/min, "
                f"got {self.hr_mean_bpm}"
            )
        if self.weight_s <= 0 or self.personal_s < 0:
            raise BreathingError(
                f"baseline: weight_s must be > 0 and personal_s >= 0, got "
                f"weight_s={self.weight_s}, personal_s={self.personal_s}"
            )

    @classmethod
    def population(cls, *, prior_weight_s: float = 300.0) -> Baseline:
        """The population default (Nunan et al. 2010), counted as ``prior_weight_s`` of data.

        Parameters
        ----------
        prior_weight_s : float
            How many seconds of the person's data the default is worth (> 0).

        Returns
        -------
        Baseline
            lnRMSSD 3.74 +/- 0.36, heart rate 64.8 +/- 6.3 beats/min, ``personal_s = 0``.

        References
        ----------
        Nunan, D., Sandercock, G. R. H., & Brodie, D. A. (2010). Pacing and Clinical
        Electrophysiology, 33(11), 1407-1417.
        """
        return cls(
            ln_rmssd_mean=POPULATION_LN_RMSSD_MEAN,
            ln_rmssd_sd=POPULATION_LN_RMSSD_SD,
            hr_mean_bpm=POPULATION_HR_MEAN_BPM,
            hr_sd_bpm=POPULATION_HR_SD_BPM,
            weight_s=_finite("prior_weight_s", prior_weight_s),
            personal_s=0.0,
        )

    @property
    def rmssd_ms(self) -> float:
        """The baseline's typical RMSSD, ``exp(ln_rmssd_mean)`` (ms)."""
        return math.exp(self.ln_rmssd_mean)

    def updated(
        self, ln_rmssd: float, hr_bpm: float, *, weight_s: float, memory_s: float
    ) -> Baseline:
        """A copy that has also learned one calm window.

        Parameters
        ----------
        ln_rmssd : float
            The window's lnRMSSD.
        hr_bpm : float
            The window's mean heart rate (beats/min).
        weight_s : float
            The time the window stands for (s), > 0.
        memory_s : float
            Cap on the total weight (s): beyond it the old data is scaled down (exponential
            forgetting with this time constant of calm signal).

        Returns
        -------
        Baseline
            Weighted (West 1979) update of both means and variances.

        References
        ----------
        West, D. H. D. (1979). Updating mean and variance estimates: an improved method.
        Communications of the ACM, 22(9), 532-535.
        """
        x_ln = _finite("ln_rmssd", ln_rmssd)
        x_hr = _finite("hr_bpm", hr_bpm)
        w = _finite("weight_s", weight_s)
        cap = _finite("memory_s", memory_s)
        if w <= 0 or cap <= w:
            raise BreathingError(
                f"baseline: need 0 < weight_s < memory_s, got weight_s={w}, memory_s={cap}"
            )
        old = min(self.weight_s, cap - w)
        total = old + w

        def mix(mean: float, sd: float, x: float) -> tuple[float, float]:
            new_mean = (old * mean + w * x) / total
            var = (old * (sd * sd + (mean - new_mean) ** 2) + w * (x - new_mean) ** 2) / total
            return new_mean, math.sqrt(max(var, 0.0))

        ln_mean, ln_sd = mix(self.ln_rmssd_mean, self.ln_rmssd_sd, x_ln)
        hr_mean, hr_sd = mix(self.hr_mean_bpm, self.hr_sd_bpm, x_hr)
        return Baseline(
            ln_rmssd_mean=ln_mean,
            ln_rmssd_sd=ln_sd,
            hr_mean_bpm=hr_mean,
            hr_sd_bpm=hr_sd,
            weight_s=total,
            personal_s=self.personal_s + w,
        )

    def to_dict(self) -> dict[str, float]:
        """Plain numbers, for storage (``from_dict`` reads them back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        """Read a stored baseline back.

        Raises
        ------
        BreathingError
            A field is missing or not a usable number.
        """
        names = ("ln_rmssd_mean", "ln_rmssd_sd", "hr_mean_bpm", "hr_sd_bpm", "weight_s")
        missing = [n for n in names if n not in data]
        if missing:
            raise BreathingError(f"baseline: stored baseline lacks {', '.join(missing)}")
        values = {n: _finite(n, data[n]) for n in names}
        return cls(**values, personal_s=_finite("personal_s", data.get("personal_s", 0.0)))
