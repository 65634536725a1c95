"""Signal quality of a live window: how many of the beats it should hold are clean NN beats.

:class:`SignalQuality` keeps, beat by beat, the NN verdict of :class:`hrv.ArtefactFilter`,
the skin contact the strap reported and the beats estimated missing in a gap, and summarises
the beats of one analyser window as a :class:`WindowSignal`. :class:`hrv.LiveAnalyser` keeps
one next to its streaming analyser, so every window it emits carries its own quality.

The rule (a reasoned one; no validated threshold exists for wearables)
---------------------------------------------------------------------
* ``quality`` = clean beats / (beats received + beats missing in gaps). A clean beat is one the
  filter accepts and that does not follow a gap; beats missing in a gap are counted from the
  time it skips (``t_s - previous t_s - rr``, at least one beat, in units of the median of the
  last 9 RR). Short-term HRV is defined on NN intervals only, and a window in which many
  intervals had to be left out or are missing does not describe the person (Task Force 1996).
* ``contact`` is False when more than 10 % of the window's beats came without skin contact,
  None when the strap never reported contact at all.
* ``n_premature`` and ``irregular_rhythm``: the beats that start a premature pattern and
  whether the rhythm, not the signal, explains rejected beats (:mod:`hrv.rhythm`; a beat is
  judged when the next one arrives).

References
----------
Task Force of the European Society of Cardiology and the North American Society of Pacing and
Electrophysiology (1996). Heart rate variability: standards of measurement, physiological
interpretation and clinical use. Circulation, 93(5), 1043-1065.
Malik, M., et al. (1989). Influence of the recognition artefact in automatic analysis of
long-term electrocardiograms on time-domain measurement of heart rate variability. Medical &
Biological Engineering & Computing, 27(6), 603-611.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from dataclasses import dataclass

from hrv import rhythm
from hrv.errors import HrvInputError
from hrv.rhythm import irregular_rhythm, is_premature

__all__ = ["SignalQuality", "WindowSignal"]

#: Beats whose median RR sets the typical interval used to count the beats lost in a gap.
_TYPICAL_RR_BEATS = 9
#: Share of a window's beats without skin contact above which the window has no contact.
_NO_CONTACT_SHARE = 0.1
#: How far before the newest beat a window may still end (s); older beats are released.
_KEEP_MARGIN_S = 30.0
#: At most this many windows of the beats' own clock are kept, whatever the NN timeline does.
_MAX_KEEP_WINDOWS = 10


@dataclass(frozen=True, slots=True)
class WindowSignal:
    """Signal quality of one window's beats (see the module docstring for the rule).

    Attributes
    ----------
    quality : float
        Share of the beats the window should hold that are clean NN beats, 0..1.
    contact : bool or None
        False when more than 10 % of the window's beats had no skin contact, None when the
        strap never said.
    n_beats : int
        Beats received in the window, the rejected ones included.
    n_gaps : int
        Gaps (beats missing before a beat) in the window.
    n_premature : int
        Beats of the window that start a premature pattern (module docstring).
    irregular_rhythm : bool or None
        True when at least 5 % of the window's beats start a premature pattern: frequent early
        beats, not the signal, explain rejected beats; None under 20 beats
        (:func:`hrv.irregular_rhythm`).
    """

    quality: float
    contact: bool | None
    n_beats: int
    n_gaps: int
    n_premature: int = 0
    irregular_rhythm: bool | None = None


@dataclass(slots=True)
class _Beat:
    t_nn: float  # place on the analyser's timeline (running sum of the NN intervals)
    t_src: float  # time on the beats' own timeline
    clean: bool  # an NN beat that does not follow a gap
    missing: float  # beats estimated missing before this one (gap)
    no_contact: bool
    contact_known: bool
    rr_ms: float
    gap: bool  # a gap before this beat
    premature: bool = False  # starts a premature pattern (set when the next beat arrives)


class SignalQuality:
    """Beat-level bookkeeping behind :class:`WindowSignal`, for one stream of beats.

    Parameters
    ----------
    window_s : float
        Window length (s), the analyser's.

    Raises
    ------
    HrvInputError
        ``window_s`` not finite and > 0.

    Examples
    --------
    >>> q = SignalQuality(window_s=10.0)
    >>> t = 0.0
    >>> for i in range(20):
    ...     t += 0.8
    ...     q.on_beat(t, 800.0, t_nn_s=t, nn=i != 5)
    >>> w = q.window(10.0)
    >>> (round(w.quality, 3), w.contact, w.n_beats, w.n_premature, w.irregular_rhythm)
    (0.917, None, 12, 0, None)
    """

    def __init__(self, *, window_s: float = 60.0) -> None:
        if not (isinstance(window_s, int | float) and math.isfinite(window_s) and window_s > 0):
            raise HrvInputError(f"SignalQuality: window_s must be > 0, got {window_s!r}")
        self.window_s = float(window_s)
        self._beats: list[_Beat] = []
        self._t_nn: list[float] = []
        self._t_src: list[float] = []
        self._recent: deque[float] = deque(maxlen=_TYPICAL_RR_BEATS)

    def on_beat(
        self,
        t_s: float,
        rr_ms: float,
        *,
        t_nn_s: float,
        nn: bool,
        gap_before: bool = False,
        contact: bool | None = None,
    ) -> None:
        """Record one beat with its verdict.

        Parameters
        ----------
        t_s : float
            The beat's time on its own timeline (s), gaps included.
        rr_ms : float
            Its RR interval (ms), finite and > 0.
        t_nn_s : float
            Its place on the analyser's timeline (s): for an accepted beat the running sum of
            the NN intervals up to it, for a rejected one that of the accepted beat before it.
        nn : bool
            The filter's verdict (:meth:`hrv.ArtefactFilter.accept`).
        gap_before, contact : bool, bool or None
            As reported with the beat.

        Raises
        ------
        HrvInputError
            ``t_s``, ``t_nn_s`` or ``rr_ms`` not finite, ``rr_ms`` <= 0.
        """
        if not (
            math.isfinite(t_s) and math.isfinite(t_nn_s) and math.isfinite(rr_ms) and rr_ms > 0
        ):
            raise HrvInputError(
                f"SignalQuality: bad beat t_s={t_s!r}, t_nn_s={t_nn_s!r}, rr_ms={rr_ms!r}"
            )
        missing = 0.0
        if gap_before and self._beats:
            skipped_s = t_s - self._beats[-1].t_src - rr_ms / 1000.0
            typical_ms = statistics.median(self._recent) if self._recent else rr_ms
            missing = max(1.0, skipped_s * 1000.0 / typical_ms)
        if gap_before:
            self._recent.clear()
        self._recent.append(rr_ms)
        prev_t_nn = self._t_nn[-1] if self._t_nn else t_nn_s
        self._beats.append(
            _Beat(
                float(t_nn_s),
                float(t_s),
                bool(nn) and not missing,
                missing,
                contact is False,
                contact is not None,
                float(rr_ms),
                bool(gap_before),
            )
        )
        self._t_nn.append(float(t_nn_s))
        self._t_src.append(float(t_s))
        self._mark_premature()
        # keep only what a window :meth:`window` may still be asked for can hold (one ending at
        # or after the previous beat, or at most _KEEP_MARGIN_S before this one) and what
        # :meth:`recent` needs (the last window_s of the beats' own clock); trim in chunks of
        # about a window (at 500 sessions, thousands of kept beats each load the GC)
        oldest_needed = min(t_nn_s - _KEEP_MARGIN_S, prev_t_nn) - self.window_s
        if self._t_nn[0] <= oldest_needed - self.window_s:
            i = min(
                bisect.bisect_right(self._t_nn, oldest_needed),
                bisect.bisect_right(self._t_src, t_s - self.window_s - _KEEP_MARGIN_S),
            )
            del self._beats[:i]
            del self._t_nn[:i]
            del self._t_src[:i]
        # while the filter accepts no beat (a run of bigeminy) the NN timeline stands still and
        # the rule above keeps every beat: beyond _MAX_KEEP_WINDOWS windows of the beats' own
        # clock none is kept (a window spanning a longer stretch without NN beats counts its
        # last _MAX_KEEP_WINDOWS windows of beats)
        horizon = t_s - _MAX_KEEP_WINDOWS * self.window_s
        if self._t_src[0] < horizon - self.window_s:
            i = bisect.bisect_left(self._t_src, horizon)
            del self._beats[:i]
            del self._t_nn[:i]
            del self._t_src[:i]

    def _mark_premature(self) -> None:
        """Judge whether the beat before the newest starts a premature pattern (hrv.rhythm)."""
        if len(self._beats) < 3:
            return
        beat, after = self._beats[-2], self._beats[-1]
        if beat.gap or after.gap or beat.no_contact or after.no_contact:
            return
        if self._beats[-3].no_contact:
            return
        # the reference: the median of the up to REFERENCE_BEATS intervals before the beat,
        # none from before a gap (as hrv.premature_beats computes it for a whole series)
        ref: list[float] = []
        for b in reversed(self._beats[-2 - rhythm.REFERENCE_BEATS : -2]):
            ref.append(b.rr_ms)
            if b.gap:
                break
        before = self._beats[-3].rr_ms
        beat.premature = bool(is_premature(statistics.median(ref), before, beat.rr_ms, after.rr_ms))

    @property
    def n_kept(self) -> int:
        """Beats held for windows still to come.

        About two windows' worth; while the filter accepts no beat (the NN timeline stands
        still) up to ten windows of the beats' own clock, never more.
        """
        return len(self._beats)

    def window(self, t_end_s: float) -> WindowSignal:
        """Quality of the beats with ``t_end_s - window_s < t_nn <= t_end_s``.

        Parameters
        ----------
        t_end_s : float
            The window's end on the analyser's timeline: at or after the previous beat's
            ``t_nn_s``, or at most 30 s before the newest beat's (older beats are released).

        Returns
        -------
        WindowSignal
            Quality, contact, rhythm and counts (quality 0 and no beats for an empty window).
        """
        lo = bisect.bisect_right(self._t_nn, t_end_s - self.window_s)
        hi = bisect.bisect_right(self._t_nn, t_end_s)
        return self._summary(self._beats[lo:hi])

    def window_start(self, t_end_s: float) -> float | None:
        """Where the beats of the window ending at ``t_end_s`` begin on the beats' own clock.

        The window's first beat (as in :meth:`window`, rejected beats included) less its RR
        interval; ``None`` for an empty window. After rejected beats or a gap the running sum
        of the NN intervals falls behind the beats' clock, so a ``window_s`` window reaches
        further back than ``window_s`` of beat time.
        """
        lo = bisect.bisect_right(self._t_nn, t_end_s - self.window_s)
        hi = bisect.bisect_right(self._t_nn, t_end_s)
        if lo >= hi:
            return None
        first = self._beats[lo]
        return first.t_src - first.rr_ms / 1000.0

    def recent(self) -> WindowSignal:
        """Quality of the beats of the last ``window_s`` on the beats' own clock.

        Unlike :meth:`window` (a window of the analyser, on the running sum of the NN
        intervals) this one moves with every beat, also while the filter accepts none: a run of
        bigeminy leaves no NN interval, so no analyser window ends, yet this says why.

        Returns
        -------
        WindowSignal
            The beats with ``t_s`` in ``(newest t_s - window_s, newest t_s]`` (the empty
            summary before any beat).
        """
        if not self._beats:
            return self._summary([])
        lo = bisect.bisect_right(self._t_src, self._t_src[-1] - self.window_s)
        return self._summary(self._beats[lo:])

    @staticmethod
    def _summary(beats: list[_Beat]) -> WindowSignal:
        if not beats:
            return WindowSignal(0.0, None, 0, 0)
        n = len(beats)
        n_clean = sum(b.clean for b in beats)
        missing = sum(b.missing for b in beats)
        no_contact = sum(b.no_contact for b in beats)
        known = any(b.contact_known for b in beats)
        n_premature = sum(b.premature for b in beats)
        return WindowSignal(
            quality=float(n_clean / (n + missing)),
            contact=None if not known else no_contact <= _NO_CONTACT_SHARE * n,
            n_beats=n,
            n_gaps=sum(1 for b in beats if b.missing),
            n_premature=n_premature,
            irregular_rhythm=irregular_rhythm(n_premature, n),
        )
