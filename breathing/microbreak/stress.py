"""Stress over time: which recent windows were stressed, the stress load, physical activity.

:class:`StressHistory` holds steps 3-6 of the micro-break rule (the full rule is in
:mod:`breathing.microbreak`): a valid window is *activity* when the heart rate is more
than ``activity_hr_bpm`` above the baseline or the strap's movement level is high, *recovering*
for ``activity_recovery_s`` after it, and *stressed* when lnRMSSD z <= ``ln_rmssd_z`` and HR
z >= ``hr_z`` otherwise (Kim et al. 2018; Castaldo et al. 2015). It keeps the stressed share of
the last ``sustain_s`` and a stress load that adds each stress window's minutes and decays
exponentially (tau ``load_tau_s``) in calm windows. These are reasoned defaults, not validated
cut-offs (see :class:`breathing.MicroBreakSettings`).

References
----------
Kim, H.-G., Cheon, E.-J., Bai, D.-S., Lee, Y. H., & Koo, B.-H. (2018). Stress and heart rate
variability: a meta-analysis and review of the literature. Psychiatry Investigation, 15(3),
235-245.
Castaldo, R., Melillo, P., Bracale, U., Caserta, M., Triassi, M., & Pecchia, L. (2015). Acute
mental stress assessment via short term HRV analysis in healthy adults: a systematic review
with meta-analysis. Biomedical Signal Processing and Control, 18, 370-377.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from breathing.microbreak.settings import MicroBreakSettings

__all__ = ["Judgement", "StressHistory"]


@dataclass(frozen=True, slots=True)
class Judgement:
    """The rule's verdict on one valid window."""

    z_ln: float  # lnRMSSD z against the baseline
    z_hr: float  # HR z against the baseline
    activity: bool
    recovering: bool  # within activity_recovery_s after the last activity window
    warm: bool  # the baseline has learned enough of the person
    paced: bool  # the window overlaps paced breathing: not judged, not learned
    stressed: bool
    fraction: float  # stressed share of the last sustain_s


@dataclass(slots=True)
class _Recent:
    t_s: float
    weight_s: float
    stressed: bool


class StressHistory:
    """Recent windows' stress, the stress load and the last activity (steps 3-6 of the rule).

    Parameters
    ----------
    settings : MicroBreakSettings
        The thresholds (``ln_rmssd_z``, ``hr_z``, ``sustain_s``, ``activity_*``, ``load_*``).
    """

    def __init__(self, settings: MicroBreakSettings) -> None:
        self.settings = settings
        self._recent: deque[_Recent] = deque()
        self.load_min = 0.0
        self._last_activity_t = -math.inf

    def forget_recent(self) -> None:
        """Forget which recent windows were stressed (an absence; activity; a break)."""
        self._recent.clear()

    def start_break(self) -> None:
        """A break starts, or a paced stretch as long as the reset ended: the load is gone."""
        self.load_min = 0.0
        self._recent.clear()

    def decay(self, duration_s: float) -> None:
        """The load decays over ``duration_s`` as over calm windows (a short paced stretch)."""
        self.load_min *= math.exp(-max(0.0, duration_s) / self.settings.load_tau_s)

    def move_to(self, t_s: float) -> None:
        """Drop windows older than the sustain period at ``t_s``."""
        while self._recent and self._recent[0].t_s <= t_s - self.settings.sustain_s:
            self._recent.popleft()

    def add_invalid(self, t_s: float, weight_s: float) -> None:
        """An invalid window: neither stressed nor calm (it only counts as not stressed)."""
        self._recent.append(_Recent(t_s, weight_s, False))

    def fraction(self, t_s: float) -> float:
        """Share of the last ``sustain_s`` covered by stress windows (0..1)."""
        s = self.settings
        lo = t_s - s.sustain_s
        covered = sum(min(r.weight_s, r.t_s - lo) for r in self._recent if r.stressed)
        return min(1.0, max(0.0, covered / s.sustain_s))

    def judge(
        self,
        t_s: float,
        weight_s: float,
        *,
        z_ln: float,
        z_hr: float,
        hr_above_baseline_bpm: float,
        moving: bool,
        warm: bool,
        in_break: bool,
        paced: bool = False,
    ) -> Judgement:
        """Judge one valid window and update the recent stress and the load.

        Activity (``moving``, or HR more than ``activity_hr_bpm`` above baseline) strikes the
        stress windows of its ramp-up off the load at its onset; activity and recovery neither
        add to nor decay the load. A window overlapping paced breathing (``paced``) is never
        stressed and neither adds to nor decays the load here: slow paced breathing moves RMSSD
        and HR by itself, so the window says nothing about stress or calm at rest. The paced
        stretch as a whole is recovery: when it ends the monitor clears the load
        (:meth:`start_break`) or decays it over the stretch (:meth:`decay`).
        """
        s = self.settings
        activity = moving or hr_above_baseline_bpm > s.activity_hr_bpm
        if activity:
            if t_s - self._last_activity_t > s.activity_recovery_s:
                # onset of activity: the stress windows of its ramp-up were activity too
                struck = sum(r.weight_s for r in self._recent if r.stressed) / 60.0
                self.load_min = max(0.0, self.load_min - struck)
            self._recent.clear()
            self._last_activity_t = t_s
        recovering = not activity and t_s - self._last_activity_t <= s.activity_recovery_s
        stressed = (
            warm
            and not activity
            and not recovering
            and not in_break
            and not paced
            and z_ln <= s.ln_rmssd_z
            and z_hr >= s.hr_z
        )
        self._recent.append(_Recent(t_s, weight_s, stressed))
        fraction = self.fraction(t_s)
        if stressed:
            self.load_min += weight_s / 60.0
        elif not activity and not recovering and not paced:
            self.load_min *= math.exp(-weight_s / s.load_tau_s)
        return Judgement(z_ln, z_hr, activity, recovering, warm, paced, stressed, fraction)
