"""The beat series an artefact correction works on (private to :mod:`hrv.clean`).

The label codes (:class:`BeatLabel`), the working series (:class:`BeatSeries`: the current
intervals with, per interval, the range of *input* intervals it derives from, so that labels
stay one per input beat), and the rebuilds every correction is made of: merges and splits
(:func:`rebuild`), linear interpolation over beat index (:func:`interpolate`, as Kubios
interpolates), removal as a gap (:func:`drop`) and labelling the inputs behind an interval
(:func:`label_inputs`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ECTOPIC",
    "EXTRA",
    "GAP",
    "LABEL_NAMES",
    "LONG",
    "MISSED",
    "NORMAL",
    "SHORT",
    "BeatLabel",
    "BeatSeries",
    "drop",
    "interpolate",
    "label_inputs",
    "rebuild",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class BeatLabel(enum.IntEnum):
    """Code of a beat label in :attr:`hrv.Cleaned.labels` (an ``int8`` array)."""

    NORMAL = 0
    ECTOPIC = 1
    LONG = 2
    SHORT = 3
    MISSED = 4
    EXTRA = 5
    GAP = 6


#: ``LABEL_NAMES[code]`` is the lower-case name of a label code.
LABEL_NAMES: tuple[str, ...] = tuple(label.name.lower() for label in BeatLabel)


NORMAL = np.int8(BeatLabel.NORMAL)
ECTOPIC = np.int8(BeatLabel.ECTOPIC)
LONG = np.int8(BeatLabel.LONG)
SHORT = np.int8(BeatLabel.SHORT)
MISSED = np.int8(BeatLabel.MISSED)
EXTRA = np.int8(BeatLabel.EXTRA)
GAP = np.int8(BeatLabel.GAP)


@dataclass(slots=True)
class BeatSeries:
    """Working state: current intervals and, per interval, the input range it derives from."""

    rr: FloatArray
    gaps: BoolArray
    src_start: IntArray  # first input index (inclusive)
    src_stop: IntArray  # last input index + 1
    corrected: BoolArray


def rebuild(
    s: BeatSeries,
    *,
    join_next: BoolArray,
    n_split: IntArray,
    interp: BoolArray,
) -> tuple[BeatSeries, BoolArray]:
    """Apply the merges and splits to the series, carrying the ``interp`` marks over.

    Merges are ``join_next[k]`` (merge k with k+1) and splits cut interval k into
    ``n_split[k]`` equal parts. Returns the new series and the ``interp`` marks carried over to
    its intervals (an output interval is marked when any interval it came from was).
    """
    m = s.rr.size
    if m == 0:
        return s, interp
    touched = join_next.copy()
    touched[1:] |= join_next[:-1]
    touched |= (n_split > 1) | interp
    starts = np.flatnonzero(np.concatenate(([True], ~join_next[:-1])))
    stops = np.concatenate((starts[1:], [m])) - 1  # last member of each group
    rr = np.add.reduceat(s.rr, starts)
    gaps = s.gaps[starts]
    src_start = s.src_start[starts]
    src_stop = s.src_stop[stops]
    corrected = np.logical_or.reduceat(s.corrected | touched, starts)
    g_interp = np.logical_or.reduceat(interp, starts)
    g_split = np.maximum.reduceat(n_split, starts)
    if (g_split > 1).any():
        rr = np.repeat(rr / g_split, g_split)
        first = np.zeros(rr.size, dtype=np.bool_)
        first[np.concatenate(([0], np.cumsum(g_split)[:-1]))] = True
        gaps = np.repeat(gaps, g_split) & first
        src_start = np.repeat(src_start, g_split)
        src_stop = np.repeat(src_stop, g_split)
        corrected = np.repeat(corrected, g_split)
        g_interp = np.repeat(g_interp, g_split)
    return BeatSeries(rr, gaps, src_start, src_stop, corrected), g_interp


def interpolate(s: BeatSeries, mask: BoolArray) -> BeatSeries:
    """Replace the intervals in ``mask`` by linear interpolation (over beat index) of the others."""
    keep = ~mask
    if not mask.any() or not keep.any():
        return s
    idx = np.arange(s.rr.size, dtype=np.float64)
    rr = s.rr.copy()
    rr[mask] = np.interp(idx[mask], idx[keep], rr[keep])
    return BeatSeries(rr, s.gaps, s.src_start, s.src_stop, s.corrected | mask)


def drop(s: BeatSeries, mask: BoolArray) -> BeatSeries:
    """Remove the intervals in ``mask``, marking a gap after each removed one.

    The interval after a removed one starts a gap (no successive difference is taken across
    it). The first remaining interval has no gap flag (it has no predecessor anyway).
    """
    if not mask.any():
        return s
    keep = ~mask
    after_drop = np.concatenate(([False], mask[:-1]))
    gaps = (s.gaps | after_drop)[keep]
    if gaps.size:
        gaps[0] = False
    return BeatSeries(s.rr[keep], gaps, s.src_start[keep], s.src_stop[keep], s.corrected[keep])


def label_inputs(labels: NDArray[np.int8], s: BeatSeries, k: int, code: np.int8) -> None:
    """Give ``code`` to the still-normal input intervals behind current interval ``k``."""
    seg = labels[s.src_start[k] : s.src_stop[k]]
    seg[seg == NORMAL] = code
