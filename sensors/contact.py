"""Stretches without skin contact: what a recording keeps of them, and reading them back.

A strap that loses skin contact sends no beats, or beats whose packet says no contact (a
source yields those with ``contact=False``), so the beats alone cannot carry the stretch. A
source says so in its status (``SourceState.NO_CONTACT``, with ``contact_t_s`` where contact
was lost; when it comes back, ``contact_t_s`` moves to the first packet with contact).
:class:`ContactChanges` turns the statuses into the changes a recording keeps, ``(t_s, False)``
where a stretch began and ``(t_s, True)`` where the strap said contact came back, on the beats'
timeline: the ``# contact`` lines of an hrvpace recording (v2) and the rows a session stored by
the service keeps. A stretch the strap drops in gets no ``True`` change: when contact came back
is not known; it ends at the next beat with contact (``contact`` not ``False``: a beat whose
packet said no contact is still in the stretch; after a reconnect that beat follows a gap) or
at the end of the recording. :func:`no_contact_stretches` reads changes and the times of the
beats with contact back as stretches; it needs those beats only after
:func:`open_stretch_starts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sensors.beat import SourceState, SourceStatus

__all__ = ["ContactChanges", "NoContactStretch", "no_contact_stretches", "open_stretch_starts"]

#: States in which the source lost the strap: a stretch open then gets no ``True`` change.
_DROPPED = (SourceState.RECONNECTING, SourceState.FAILED, SourceState.ENDED)


class ContactChanges:
    """The changes of skin contact to keep, from a source's statuses (one per source).

    Give it every status (:meth:`on_status`); it answers the change to keep, if any. Repeated
    statuses of one state (heart-rate updates) change nothing.
    """

    def __init__(self) -> None:
        self._state: SourceState | None = None
        self._lost_at: float | None = None  # where the stretch kept last began, while open

    def on_status(self, status: SourceStatus) -> tuple[float, bool] | None:
        """The change to keep for ``status``: ``(t_s, contact)``, or ``None``."""
        if status.state == self._state:
            return None
        self._state = status.state
        t_s = status.contact_t_s
        if t_s is None:
            return None
        if status.state is SourceState.NO_CONTACT:
            self._lost_at = t_s
            return (t_s, False)
        if self._lost_at is not None and t_s != self._lost_at:
            self._lost_at = None
            return (t_s, True)
        if status.state in _DROPPED:
            self._lost_at = None
        return None


@dataclass(frozen=True, slots=True)
class NoContactStretch:
    """A stretch without skin contact, on the beats' timeline (s).

    ``end_t_s`` is where the strap said contact came back (``ended_by="contact"``); for a
    stretch the strap dropped in, the time of the next beat with contact (``"beat"``: a beat
    whose packet said contact, or did not report it); ``None`` when no such beat came after it
    (``"end"``: it lasted to the end).
    """

    start_t_s: float
    end_t_s: float | None
    ended_by: Literal["contact", "beat", "end"]


def no_contact_stretches(
    changes: Sequence[tuple[float, bool]], contact_beat_t_s: Sequence[float]
) -> list[NoContactStretch]:
    """The stretches without contact that ``changes`` (in the order kept) describe.

    Parameters
    ----------
    changes
        ``(t_s, contact)`` pairs as :class:`ContactChanges` gives them (an hrvpace recording's
        ``meta["contact_changes"]``).
    contact_beat_t_s
        The times of the beats with contact, ascending: where a stretch without a ``True``
        change ends. Leave out the beats whose ``contact`` is ``False``: a strap without
        contact may go on sending beats its packets mark so (``sensors.ble_strap`` yields
        them), and those are in the stretch; keep those whose contact is not reported.

    Returns
    -------
    list of NoContactStretch
        In time order. A ``False`` while a stretch is open (the strap dropped in it and lost
        contact again before any beat) continues that stretch; a ``True`` without an open
        stretch is ignored.
    """
    out: list[NoContactStretch] = []
    start: float | None = None

    def next_beat_after(t: float) -> float | None:
        # bisect by hand: contact_beat_t_s may be a list or an array
        lo, hi = 0, len(contact_beat_t_s)
        while lo < hi:
            mid = (lo + hi) // 2
            if contact_beat_t_s[mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        return float(contact_beat_t_s[lo]) if lo < len(contact_beat_t_s) else None

    def close_dropped(before: float | None) -> None:
        nonlocal start
        assert start is not None
        beat = next_beat_after(start)
        if beat is None or (before is not None and beat > before):
            return  # no beat between: the stretch goes on
        out.append(NoContactStretch(start, beat, "beat"))
        start = None

    for t_s, contact in changes:
        t = float(t_s)
        if contact:
            if start is not None:
                out.append(NoContactStretch(start, t, "contact"))
                start = None
        elif start is None:
            start = t
        else:
            close_dropped(t)
            if start is None:
                start = t
    if start is not None:
        close_dropped(None)
        if start is not None:
            out.append(NoContactStretch(start, None, "end"))
    return out


def open_stretch_starts(changes: Sequence[tuple[float, bool]]) -> list[float]:
    """Where :func:`no_contact_stretches` looks for the next beat with contact, ascending.

    The starts of the stretches no ``True`` change may end: a ``False`` change that is the
    last or is followed by another ``False``. For each, passing :func:`no_contact_stretches`
    only the first beat with contact after it (or none when there is none) gives the same
    stretches as passing every such beat: a reader of stored beats looks up only these (a
    stretch that a ``True`` change ends needs no beat).
    """
    starts = {
        float(t_s)
        for i, (t_s, contact) in enumerate(changes)
        if not contact and (i + 1 == len(changes) or not changes[i + 1][1])
    }
    return sorted(starts)
