"""Window times on the beats' own clock: one mapping for live windows and for recordings.

HRV windows are cut on the timeline of the series that is analysed: the running sum of its
intervals (``cumsum(rr_ms) / 1000``, ``docs/ARCHITECTURE.md``, "Windows"). That timeline
leaves out what was not analysed: a gap (a dropped connection, a strap off the chest, an
interval :func:`hrv.clean` removed as a gap), a beat the live NN filter rejected, the
difference an interpolated interval makes. The beats themselves, the tachogram, segments,
replay, micro-breaks and check-ins are on the clock of the recording or session, so after the
first gap a window's end on the analysed timeline lies early by the time left out.

:func:`to_beat_clock` puts a time of the analysed timeline on the beats' clock *through the
last anchor beat at or before it*: an anchor is a beat whose place is known on both timelines
(``anchor_nn_s`` on the analysed one, ``anchor_t_s`` on the beats' clock), and
``t = anchor_t_s + (t_nn - anchor_nn_s)``, never later than the next anchor's ``anchor_t_s``.
Between two anchors the time runs on at the rate of the analysed intervals; at each anchor the
offset between the two clocks is taken afresh, so nothing accumulates across anchors: a time is
off by at most what the intervals since its anchor were changed by. :class:`hrv.LiveAnalyser`
maps each window through its last NN beat this way; :func:`clean_anchors` gives the anchors of
a recording's analysed series: every output beat that stands for a recorded beat (unchanged,
moved or interpolated), so that a recording the correction changed almost everywhere (a
bigeminy run) keeps its windows on the recording's clock.

A window holds ``window_s`` seconds of *analysed* intervals; one that spans a gap therefore
covers more of the beats' clock than ``window_s`` (its beats before the gap are older), and
its ``t_s`` is where its last beat is on the beats' clock.

References
----------
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement,
physiological interpretation and clinical use. Circulation 93(5), 1043-1065 (HRV of NN
intervals: what is analysed is the normal-to-normal series, not the recording's time).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from hrv.clean import Cleaned
from hrv.errors import HrvInputError

__all__ = ["clean_anchors", "to_beat_clock"]

FloatArray = NDArray[np.float64]


def _vector(x: Any, name: str) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise HrvInputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise HrvInputError(f"{name}: every value must be finite")
    return arr


def to_beat_clock(t_nn_s: Any, *, anchor_nn_s: Any, anchor_t_s: Any) -> FloatArray:
    """Times on the analysed series' timeline, put on the beats' clock through an anchor beat.

    Each time goes through the last anchor at or before it on the analysed timeline:
    ``t = anchor_t_s[j] + (t_nn - anchor_nn_s[j])``, ``j`` the last anchor with
    ``anchor_nn_s[j] <= t_nn``, and is then capped at the next anchor's ``anchor_t_s[j + 1]``
    (a time before a beat is not later than that beat on its clock, however much the analysed
    interval to it was lengthened). A time before the first anchor is kept as it is (capped at
    the first anchor's time), with no anchors it is kept as it is; after the last anchor it
    runs on uncapped. The result is non-decreasing where ``t_nn_s`` is.

    Parameters
    ----------
    t_nn_s : array_like of float
        Times on the analysed timeline (s), e.g. window ends (the ``t_s`` of
        :func:`hrv.rolling`).
    anchor_nn_s : array_like of float
        The anchor beats on the analysed timeline (s), non-decreasing.
    anchor_t_s : array_like of float
        The same beats on the beats' clock (s), same length.

    Returns
    -------
    numpy.ndarray of float64
        The times on the beats' clock, one per ``t_nn_s``.

    Raises
    ------
    HrvInputError
        Not 1-D, not finite, anchors of different lengths or ``anchor_nn_s`` decreasing.

    References
    ----------
    See the module docstring.

    Examples
    --------
    >>> to_beat_clock([60.0, 65.0], anchor_nn_s=[59.5, 64.0], anchor_t_s=[59.5, 124.0])
    array([ 60., 125.])
    >>> to_beat_clock([1.5], anchor_nn_s=[1.0, 2.0], anchor_t_s=[1.0, 1.2])  # capped
    array([1.2])
    """
    t = _vector(t_nn_s, "t_nn_s")
    a_nn = _vector(anchor_nn_s, "anchor_nn_s")
    a_t = _vector(anchor_t_s, "anchor_t_s")
    if a_nn.shape != a_t.shape:
        raise HrvInputError(
            f"anchor_nn_s and anchor_t_s: lengths differ ({a_nn.size} and {a_t.size})"
        )
    if a_nn.size > 1 and (np.diff(a_nn) < 0).any():
        raise HrvInputError("anchor_nn_s: must be non-decreasing")
    j = np.searchsorted(a_nn, t, side="right") - 1
    out = t.copy()
    ok = j >= 0
    out[ok] = a_t[j[ok]] + (t[ok] - a_nn[j[ok]])
    capped = j + 1 < a_t.size  # a next anchor exists
    out[capped] = np.minimum(out[capped], a_t[j[capped] + 1])
    return out


def clean_anchors(
    rr_ms: Any, t_s: Any, *, cleaned: Cleaned | None = None
) -> tuple[FloatArray, FloatArray]:
    """The anchor beats of an analysed series: where its beats are on both timelines.

    Parameters
    ----------
    rr_ms : array_like of float
        The analysed series (ms): ``cleaned.rr_ms`` when ``cleaned`` is given, else the
        intervals as recorded.
    t_s : array_like of float
        The time of each *recorded* beat on its own clock (s), one per input interval.
    cleaned : Cleaned, optional
        :func:`hrv.clean` of the recorded intervals, when ``rr_ms`` is its output.

    Returns
    -------
    anchor_nn_s, anchor_t_s : numpy.ndarray of float64
        For :func:`to_beat_clock`. Without ``cleaned`` every beat is an anchor (its end on
        ``cumsum(rr_ms) / 1000`` and its ``t_s``). With it, every output beat that stands for
        a recorded beat (``cleaned.end_index >= 0``): its end on the cleaned timeline and the
        time of the recorded beat it ends at. That covers unchanged beats, beats moved or
        interpolated by the correction (the anchor is the recorded beat, whatever place the
        correction gave it) and merged ones (the last beat merged);
        an R peak the correction inserted into a missed beat is none (it has no recorded time),
        as a beat the live NN filter rejects is none. The anchors' times are non-decreasing;
        the last is the last recorded beat kept, so no window end maps past the recording.

    Raises
    ------
    HrvInputError
        Lengths that do not match the series.

    References
    ----------
    See the module docstring; Lipponen & Tarvainen (2019), J Med Eng Technol 43(3),
    173-181 (the correction :func:`hrv.clean` makes).

    Examples
    --------
    >>> nn, t = clean_anchors([800.0, 800.0], [0.8, 61.6])  # 60 s lost before the second
    >>> nn.tolist(), t.tolist()
    ([0.8, 1.6], [0.8, 61.6])
    """
    rr = _vector(rr_ms, "rr_ms")
    t = _vector(t_s, "t_s")
    nn_end = np.cumsum(rr) / 1000.0
    if cleaned is None:
        if t.size != rr.size:
            raise HrvInputError(f"t_s: expected {rr.size} beat times, got {t.size}")
        return nn_end, t
    if rr.size != cleaned.rr_ms.size:
        raise HrvInputError(f"rr_ms: expected cleaned.rr_ms ({cleaned.rr_ms.size} intervals)")
    if t.size != cleaned.n_beats:
        raise HrvInputError(f"t_s: expected {cleaned.n_beats} beat times, got {t.size}")
    end = np.asarray(cleaned.end_index, dtype=np.int64)
    kept = end >= 0
    return nn_end[kept], t[end[kept]]
