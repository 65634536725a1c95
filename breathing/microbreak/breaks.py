"""Break bookkeeping: the windows around one break, and what the break did (its effect).

A break keeps the valid windows from ``effect_before_s`` before its start until its "after"
period is complete; :func:`break_effect` then compares RMSSD and HR before (T0), during and
after (T1) it as medians over those windows (:class:`breathing.BreakEffect`). A window whose
beats overlap paced breathing (a practice, an assessment, an earlier breathing break) is not a
"before" window: slow paced breathing enlarges the heart-rate oscillation by itself, RMSSD with
it (Lehrer et al. 2000), so a break after it would be compared with the pacing, not with rest;
it is counted apart
(``n_windows_before_paced``). Likewise an "after" window in which pacing ran after the break
ended (a practice or an assessment started right after it) is no "after" window
(``n_windows_after_paced``): the break would be credited with the pacing's RMSSD. Pacing that
ended by the break's end (a breathing break's own pacer) belongs to the break, whose "during"
it is. The medians are
robust to a single disturbed window; the before/after periods follow the pre/post design of
micro-break studies (Albulescu et al. 2022).

References
----------
Albulescu, P., Macsinga, I., Rusu, A., Sulea, C., Bodnaru, A., & Tulbure, B. T. (2022). "Give
me a break!" A systematic review and meta-analysis on the efficacy of micro-breaks for
increasing well-being and performance. PLoS ONE, 17(8), e0272460.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from breathing.microbreak.events import BreakEffect, BreakKind, ReasonCode
from breathing.microbreak.settings import MicroBreakSettings

__all__ = ["BreakRecord", "ValidWindow", "break_effect", "median"]

#: A valid window as the break bookkeeping keeps it: (end t_s, RMSSD ms, HR bpm, the latest
#: session time within its beats at which a pacer ran, ``None`` when no pacing overlaps it).
ValidWindow = tuple[float, float, float, float | None]


@dataclass(slots=True)
class BreakRecord:
    """One break, running or waiting for its "after" period: its times and its windows."""

    start_t_s: float
    kind: BreakKind
    reason: ReasonCode | None
    windows: list[ValidWindow]  # valid windows from T0 on
    end_t_s: float | None = None

    def effect_due(self, t_s: float, settings: MicroBreakSettings) -> bool:
        """Whether the "after" period of this (ended) break is complete at ``t_s``."""
        assert self.end_t_s is not None
        return t_s > self.end_t_s + settings.window_s + settings.effect_after_s


def median(values: list[float]) -> float | None:
    """The median, ``None`` for no values."""
    return float(statistics.median(values)) if values else None


def break_effect(br: BreakRecord, t_s: float, settings: MicroBreakSettings) -> BreakEffect:
    """What an ended break did, from the windows it kept (see :class:`breathing.BreakEffect`).

    Parameters
    ----------
    br : BreakRecord
        An ended break (``end_t_s`` set).
    t_s : float
        When the effect is reported (session time, s).
    settings : MicroBreakSettings
        ``window_s``, ``effect_after_s``: where "during" and "after" begin and end.

    Returns
    -------
    BreakEffect
        Medians of RMSSD and HR before, during and after, with their window counts; the
        "before" medians leave out windows overlapping paced breathing, the "after" medians
        windows in which pacing ran after the break's end (``None`` when every window of the
        period was left out: nothing unpaced to compare).

    References
    ----------
    Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
    to increase cardiac variability. Applied Psychophysiology and Biofeedback, 25(3), 177-191.
    """
    s = settings
    assert br.end_t_s is not None
    wins = br.windows
    before_all = [w for w in wins if w[0] <= br.start_t_s]
    before = [w for w in before_all if w[3] is None]
    duration = br.end_t_s - br.start_t_s
    during_from = br.start_t_s + min(s.window_s, duration / 2.0)
    during = [w for w in wins if during_from < w[0] <= br.end_t_s]
    after_lo = br.end_t_s + s.window_s
    after_all = [w for w in wins if after_lo <= w[0] <= after_lo + s.effect_after_s]
    # pacing that stopped by the break's end is the break's own (a breathing break's pacer)
    after = [w for w in after_all if w[3] is None or w[3] <= br.end_t_s]
    rb = median([w[1] for w in before])
    ra = median([w[1] for w in after])
    return BreakEffect(
        t_s=t_s,
        start_t_s=br.start_t_s,
        end_t_s=br.end_t_s,
        kind=br.kind,
        reason=br.reason,
        rmssd_before_ms=rb,
        rmssd_during_ms=median([w[1] for w in during]),
        rmssd_after_ms=ra,
        hr_before_bpm=median([w[2] for w in before]),
        hr_during_bpm=median([w[2] for w in during]),
        hr_after_bpm=median([w[2] for w in after]),
        rmssd_change_pct=None if rb is None or ra is None else (ra - rb) / rb * 100.0,
        n_windows_before=len(before),
        n_windows_during=len(during),
        n_windows_after=len(after),
        n_windows_before_paced=len(before_all) - len(before),
        n_windows_after_paced=len(after_all) - len(after),
    )
