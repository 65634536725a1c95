"""Micro-break flags: when a short break is due, why, what to do, and what it did.

One job per module: :mod:`~breathing.microbreak.settings` (the thresholds),
:mod:`~breathing.microbreak.events` (flags, reasons, suggestions, breaks, status),
:mod:`~breathing.microbreak.stress` (stressed windows, the stress load, activity),
:mod:`~breathing.microbreak.breaks` (break bookkeeping and effects) and
:mod:`~breathing.microbreak.monitor` (:class:`MicroBreakMonitor`, the step machine). The
windows come from :class:`hrv.LiveAnalyser`, which has judged every beat (NN or not) and
measured each window's signal quality once; nothing here filters a beat again.

The rule (every threshold is a field of :class:`MicroBreakSettings`)
-------------------------------------------------------------------
1. **Valid windows only.** A window counts only with skin contact (or a strap that does not
   report it), signal quality >= 0.9 (share of expected beats that are clean, gaps count as
   missing beats) and enough beats. An invalid window is neither stressed nor calm: it never
   adds to a flag and is never learned.
2. **Personal baseline** (:class:`breathing.Baseline`): lnRMSSD and HR, mean and SD, learned
   from calm valid windows (not stressed, not active, not during a break, not overlapping
   paced breathing), starting from a population default. Until ``warmup_s`` of valid signal
   has ever been learned every valid window that is neither physical activity nor paced is
   learned and no stress flag is raised (the default alone would flag anybody whose resting HR
   is simply above the population mean).
3. **Stress window**: lnRMSSD z <= -1 *and* HR z >= +0.5 against the baseline. Stress lowers
   vagally mediated HRV and raises heart rate together (Kim et al. 2018; Castaldo et al.
   2015); requiring both excludes a slow-breathing stretch (HRV up) and a posture change alone.
4. **Physical activity is not stress**: a window with HR more than 25 bpm above baseline is
   activity; it, and the ``activity_recovery_s`` (5 min) after the last such window, are
   excluded, and stress windows just before it (the ramp-up) are struck off. When the strap's
   accelerometer gives the window's movement (``motion_mg``), movement above
   ``motion_activity_mg`` is activity too (standing up, walking); without it, HR and RMSSD
   alone cannot tell those from stress, and a stress flag says so.
5. **Sustained**: a stress flag needs stress windows covering >= 70 % of the last 3 minutes.
6. **Stress load** accumulates: + the window's time (minutes) for each stress window,
   exponential decay (tau 10 min) for each calm valid window; a load of 6 minutes also flags
   (intermittent stress that never reaches 70 % of 3 minutes).
7. **Time on task**: 90 minutes without a break (or without an absence of 10 minutes, when no
   window arrives) flags regardless of physiology; unheeded, it is repeated every 30 minutes.
8. **Cooldown and quiet hours**: no flag within 20 minutes of the previous flag or of the end
   of a break, while snoozed, during a break, or in quiet hours (local times passed in).
9. **Paced breathing is not rest, but it is recovery**: a window whose beats overlap paced
   breathing (a practice, an assessment, a breathing break; the caller passes ``paced``) is
   never learned, never a stress window, neither adds to nor decays the load by itself, and
   raises no flag. Slow paced breathing enlarges RMSSD by itself (Lehrer et al. 2000):
   learned, it would inflate the baseline so that later rest looks like stress; and a person
   doing a breathing exercise needs no prompt to take a break. The paced stretch as a whole
   is recovery, not work: when pacing ends (the first unpaced window after paced ones), a
   stretch in which the pacer ran at least as long as the 2-minute breathing reset
   (``SUGGESTIONS`` for ``BreakKind.BREATHING``; the time it actually ran, given as
   ``paced_runs``, pauses between runs left out; without runs, from the end of the last
   window before it, or the start of the session's first window, to the latest time the
   pacer ran) counts as a break ended at the pacing's end, as ``end_break`` does: time on
   task restarts and the cooldown starts there, and the stress load is cleared as a break
   clears it. A shorter stretch is no break (a glance at the pacer, not a pause from the
   task): time on task runs on through it, no cooldown starts, and the load decays over the
   time paced as over calm unpaced time.

**No validated threshold exists in the literature** for deciding from wearable HRV that a
micro-break is due: these values are reasoned defaults (documented on each field) to be tuned
per person and per study, not clinical cut-offs.

Suggestions
-----------
* sustained stress, first time: a 2-minute resonance-breathing reset (slow paced breathing
  at the person's assessed resonance rate when the caller knows it, else near 6/min; Lehrer et
  al. 2020 meta-analysis of HRV biofeedback, Zaccaro et al. 2018);
* stress again within an hour, or a high load: a short walk (5 minutes of light activity);
* time on task: a 10-minute screen break (Albulescu et al. 2022: micro-breaks of up to 10
  minutes raise vigour and lower fatigue; longer breaks also help performance).

References
----------
Albulescu, P., Macsinga, I., Rusu, A., Sulea, C., Bodnaru, A., & Tulbure, B. T. (2022). "Give
me a break!" A systematic review and meta-analysis on the efficacy of micro-breaks for
increasing well-being and performance. PLoS ONE, 17(8), e0272460.
Lehrer, P., Kaur, K., Sharma, A., Shah, K., Huseby, R., Bhavsar, J., & Zhang, Y. (2020). Heart
rate variability biofeedback improves emotional and physical health and performance: a
systematic review and meta analysis. Applied Psychophysiology and Biofeedback, 45(3), 109-129.
Kim, H.-G., Cheon, E.-J., Bai, D.-S., Lee, Y. H., & Koo, B.-H. (2018). Stress and heart rate
variability: a meta-analysis and review of the literature. Psychiatry Investigation, 15(3),
235-245.
Castaldo, R., Melillo, P., Bracale, U., Caserta, M., Triassi, M., & Pecchia, L. (2015). Acute
mental stress assessment via short term HRV analysis in healthy adults: a systematic review
with meta-analysis. Biomedical Signal Processing and Control, 18, 370-377.
van Hees, V. T., et al. (2013). Separating movement and gravity components in an acceleration
signal and implications for the assessment of human daily physical activity. PLoS ONE, 8(4),
e61691 (ENMO: Euclidean norm minus one g).
Zaccaro, A., et al. (2018). How breath-control can change your life: a systematic review on
psycho-physiological correlates of slow breathing. Frontiers in Human Neuroscience, 12, 353.
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability. Applied Psychophysiology and Biofeedback, 25(3), 177-191.
Nunan, D., Sandercock, G. R. H., & Brodie, D. A. (2010). Pacing and Clinical
Electrophysiology, 33(11), 1407-1417 (population default of the baseline).
"""

from breathing.microbreak.events import (
    BreakEffect,
    BreakEnded,
    BreakKind,
    BreakStarted,
    FlagAcknowledged,
    MicroBreakDue,
    MicroBreakEvent,
    MicroBreakStatus,
    Reason,
    ReasonCode,
    Snoozed,
    Suggestion,
    breathing_suggestion,
)
from breathing.microbreak.monitor import MicroBreakMonitor
from breathing.microbreak.settings import MicroBreakSettings

__all__ = [
    "BreakEffect",
    "BreakEnded",
    "BreakKind",
    "BreakStarted",
    "FlagAcknowledged",
    "MicroBreakDue",
    "MicroBreakEvent",
    "MicroBreakMonitor",
    "MicroBreakSettings",
    "MicroBreakStatus",
    "Reason",
    "ReasonCode",
    "Snoozed",
    "Suggestion",
    "breathing_suggestion",
]
