"""Segments of a recording: ``--start``/``--end`` and named protocol phases from a CSV.

A segment is a stretch of the recording's own timeline, in seconds since the recording began
(the time of the start of its first interval, ``Recording.start_s``). It keeps the RR
intervals that lie wholly inside it: interval ``i`` spans ``(t_i - rr_i, t_i]`` and is kept
when ``start <= t_i - rr_i`` and ``t_i <= end``, so no interval is counted in two adjacent
segments and none is cut. The segment is a :class:`sensors.Recording` of its own whose clock
starts at its first interval (its ``meta`` records ``segment``, ``segment_start_s``,
``segment_no_contact_at_start`` (a stretch without skin contact is open where it starts),
``segment_end_s`` and ``segment_nominal_s``: ``end - start`` when its beats reach both bounds,
:func:`nominal_span`, the span the 300-s VLF rule compares), so every analysis, report and
replay works on it unchanged.

Times are given in seconds (``300``, ``90.5``) or as ``[hh:]mm:ss[.f]`` (``05:00``,
``1:02:30``). A segments file is a CSV with the columns ``label,start,end`` (a header row with
those names is optional; blank lines and lines starting with ``#`` are skipped), e.g. the
protocol phases of the exercise recording::

    label,start,end
    rest,0,5:00
    cycling,5:00,35:00
    recovery,35:00,42:41
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from api.errors import ApiError
from hrv import RR_RANGE_MS
from sensors import Recording
from sensors.contact import no_contact_stretches
from sensors.formats._common import CONTACT_NO, split_lines

__all__ = [
    "Segment",
    "SegmentBeyondEndError",
    "SegmentError",
    "cut",
    "file_label",
    "nominal_span",
    "parse_time",
    "read_segments",
    "segment_bounds",
]

#: Intervals ending within this of a bound count as inside (binary noise of converted times).
_EPS_S = 1e-6


class SegmentError(ApiError, ValueError):
    """A time, a segments file or a segment is not usable; the message says which and where."""


class SegmentBeyondEndError(SegmentError):
    """The segment starts at or after the recording's end: nothing of it was recorded.

    Not a broken recording: a cohort's phases file lists times some recordings do not reach,
    so ``hrvpace analyze`` skips such a segment (``skipped``), never counts it as failed.
    ``reason`` is ``beyond the recording's end (N s)``.
    """

    def __init__(self, segment: Segment, length_s: float) -> None:
        self.reason = f"beyond the recording's end ({length_s:.6g} s)"
        # as any segment without an interval, for report and replay, where it is an error
        super().__init__(
            f"{segment.describe()} holds no RR interval: the recording lasts {length_s:.6g} s"
        )


@dataclass(frozen=True)
class Segment:
    """A labelled stretch ``[start_s, end_s]`` of a recording (``None``: its start / its end)."""

    label: str
    start_s: float | None = None
    end_s: float | None = None

    def describe(self) -> str:
        """The segment for people: its label and bounds (``"segment 'rest' (0 s - 300 s)"``)."""
        a = "start" if self.start_s is None else f"{self.start_s:g} s"
        b = "end" if self.end_s is None else f"{self.end_s:g} s"
        return f"segment {self.label!r} ({a} - {b})"


def parse_time(text: str, *, what: str = "time") -> float:
    """Seconds from ``"300"``, ``"90.5"``, ``"05:00"`` or ``"1:02:30.5"``.

    Raises
    ------
    SegmentError
        Not a time, negative, or minutes/seconds fields of 60 or more.

    Examples
    --------
    >>> parse_time("1:02:30"), parse_time("05:00"), parse_time("90.5")
    (3750.0, 300.0, 90.5)
    """
    s = text.strip()
    parts = s.split(":")
    bad = SegmentError(f"{what} {text!r}: expected seconds (300) or [hh:]mm:ss (05:00)")
    if not s or len(parts) > 3:
        raise bad
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise bad from None
    if any(not math.isfinite(n) or n < 0 for n in nums):
        raise bad
    if len(parts) > 1:
        digits = all(p.strip().replace(".", "").isdigit() for p in parts)
        if any(n >= 60 for n in nums[1:]) or not digits:
            raise bad
        if any(n != int(n) for n in nums[:-1]):
            raise bad
    total = 0.0
    for n in nums:
        total = total * 60.0 + n
    return total


def read_segments(path: str | os.PathLike[str]) -> list[Segment]:
    """The segments of a ``label,start,end`` CSV file, in file order.

    Raises
    ------
    SegmentError
        Unreadable file, a row without three fields, a bad time (with its line), ``end <=
        start``, a label used twice, or two labels that give the same file name
        (:func:`file_label`, case-insensitively: ``rest/a`` and ``rest_a``, ``Rest`` and
        ``rest``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SegmentError(f"{p}: cannot read the segments file ({exc})") from None
    out: list[Segment] = []
    named: dict[str, tuple[str, int]] = {}  # file_label(label).lower() -> (label, line)
    for line_no, row in enumerate(csv.reader(split_lines(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if [c.lower() for c in cells] == ["label", "start", "end"]:
            continue
        if len(cells) != 3 or not cells[0]:
            raise SegmentError(f"{p}:{line_no}: expected 'label,start,end', got {row!r}")
        where = f"{p}:{line_no}"
        start = parse_time(cells[1], what=f"{where}: start")
        end = parse_time(cells[2], what=f"{where}: end")
        if end <= start:
            raise SegmentError(f"{where}: segment {cells[0]!r} ends ({end:g} s) before it starts")
        if any(s.label == cells[0] for s in out):
            raise SegmentError(f"{where}: the label {cells[0]!r} is used twice")
        # report writes one file per segment named by file_label: two labels that become the
        # same name (or names differing only in case, one file on macOS/Windows) would overwrite
        key = file_label(cells[0]).lower()
        if key in named:
            other, other_line = named[key]
            raise SegmentError(
                f"{where}: the label {cells[0]!r} and {other!r} (line {other_line}) give the same "
                f"file name {file_label(cells[0])!r} (report writes a file per segment: "
                "letters, digits, '-', '_' and '.' are kept, any other character becomes '_', "
                "and case does not count); rename one"
            )
        named[key] = (cells[0], line_no)
        out.append(Segment(cells[0], start, end))
    if not out:
        raise SegmentError(f"{p}: no segments (expected rows 'label,start,end')")
    return out


def segment_bounds(t_rel_s: Any, rr_ms: Any, segment: Segment) -> tuple[int, int]:
    """Indices ``i, j``: the intervals ``[i, j)`` lie wholly inside ``segment``.

    ``t_rel_s`` are the beat times in seconds since the recording began, ``rr_ms`` the
    intervals ending at them. The one rule for every segment (analyze, report, replay).

    Raises
    ------
    SegmentError
        The segment holds no whole interval (it names the recording's length);
        :class:`SegmentBeyondEndError` when it starts at or after the recording's last beat.
    """
    t_rel = np.asarray(t_rel_s, dtype=np.float64)
    begins = t_rel - np.asarray(rr_ms, dtype=np.float64) / 1000.0
    keep = np.ones(t_rel.size, dtype=np.bool_)
    if segment.start_s is not None:
        keep &= begins >= segment.start_s - _EPS_S
    if segment.end_s is not None:
        keep &= t_rel <= segment.end_s + _EPS_S
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        length = float(t_rel[-1]) if t_rel.size else 0.0
        if segment.start_s is not None and segment.start_s >= length - _EPS_S:
            raise SegmentBeyondEndError(segment, length)
        raise SegmentError(
            f"{segment.describe()} holds no RR interval: the recording lasts {length:.6g} s"
        )
    return int(idx[0]), int(idx[-1]) + 1


def nominal_span(
    t_rel_s: Any, rr_ms: Any, gaps: Any, bounds: tuple[int, int], segment: Segment
) -> float | None:
    """The segment's own length ``end - start`` when its beats reach both its bounds, else None.

    A segment keeps the intervals wholly inside it, so a 5-min segment holds a little less than
    300 s of intervals: at each end, part of the one interval that straddles the bound is left
    out. Its beats *reach* a bound when that is all that is missing there: the bound is the
    recording's own start or end (an open bound), or the kept intervals begin (end) less than
    one RR interval after (before) it, the straddling interval follows without a gap and is an
    ordinary beat, at most :data:`hrv.RR_RANGE_MS`'s 2000 ms (a dropout stored as one long
    interval is missing time, not one beat). Nothing inside may be missing either (no gap
    between its first and last beat), and a segment past the recording's end never reaches its
    end. Such a segment stands for its nominal span, as a window of :func:`hrv.rolling` stands
    for its ``window_s`` (its intervals, too, sum to ``window_s`` give or take one interval):
    the 300-s VLF rule (:data:`hrv.frequency.MIN_VLF_SPAN_S`) compares ``end - start``, so a
    Task Force ``rest,0,5:00`` reports VLF. ``t_rel_s``, ``rr_ms`` and ``gaps`` are the whole
    recording's (times since it began), ``bounds`` :func:`segment_bounds`'s ``(i, j)``.
    """
    t = np.asarray(t_rel_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64) / 1000.0
    gap = np.asarray(gaps, dtype=np.bool_)
    i, j = bounds
    n = int(t.size)
    first, last = float(t[i] - rr[i]), float(t[j - 1])
    if gap[i + 1 : j].any():  # time missing inside the segment
        return None
    start = 0.0 if segment.start_s is None else float(segment.start_s)
    # the straddling interval must be an ordinary beat (within hrv's NN range, at most
    # 2000 ms): a dropout stored as one long RR straddling a bound would otherwise let the
    # segment claim up to that whole interval as analysed time (code review: 60 s)
    longest = RR_RANGE_MS[1] / 1000.0
    reached_start = first - start <= _EPS_S or (
        i > 0
        and not gap[i]
        and rr[i - 1] <= longest + _EPS_S
        and first - start < rr[i - 1] + _EPS_S
    )
    end = float(t[-1]) if segment.end_s is None else float(segment.end_s)
    reached_end = end - last <= _EPS_S or (
        j < n and not gap[j] and rr[j] <= longest + _EPS_S and end - last < rr[j] + _EPS_S
    )
    return end - start if reached_start and reached_end else None


def past_end(segment: Segment, length_s: float, got: tuple[float, float]) -> str | None:
    """A warning when ``segment`` asks for time after the recording's end, else ``None``.

    ``length_s`` is the recording's length (s since it began) and ``got`` the start and end of
    the intervals the segment keeps (:func:`segment_bounds`). Such a segment is analysed as
    what the recording holds of it (a researcher's ``late,40:00,50:00`` of a 42:41 recording
    is its last 2:41); the warning says so, so that a shorter segment is never taken for the
    span asked.
    """
    if segment.end_s is None or segment.end_s <= length_s + _EPS_S:
        return None
    asked = segment.end_s - (segment.start_s or 0.0)
    return (
        f"{segment.describe()} runs past the recording's end at {length_s:.6g} s: analysed "
        f"{got[0]:.6g} s - {got[1]:.6g} s, {got[1] - got[0]:.6g} s of the {asked:.6g} s asked"
    )


def file_label(label: str) -> str:
    """``label`` made safe for a file name (``"rest 1/2"`` -> ``"rest_1_2"``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "segment"


def cut(rec: Recording, segment: Segment) -> Recording:
    """The part of ``rec`` inside ``segment`` (see the module docstring), as a Recording.

    Raises
    ------
    SegmentError
        The segment holds no whole interval (it names the recording's length).
    """
    i, j = segment_bounds(rec.t_s - rec.start_s, rec.rr_ms, segment)
    start_abs = float(rec.t_s[i] - rec.rr_ms[i] / 1000.0)
    # a stretch without skin contact still open where the segment starts: one the strap said
    # contact came back in later, or one it dropped in with no beat with contact before
    # start_abs (such a beat ends that stretch; sensors.contact)
    stretches = no_contact_stretches(
        [(float(t), bool(c)) for t, c in rec.meta.get("contact_changes") or []],
        rec.t_s[rec.contact != CONTACT_NO].tolist(),
    )
    no_contact_at_start = any(
        x.start_t_s < start_abs and (x.end_t_s is None or x.end_t_s > start_abs) for x in stretches
    )
    gaps = rec.gaps[i:j].copy()
    gaps[0] = False
    return Recording(
        rr_ms=rec.rr_ms[i:j].copy(),
        t_s=rec.t_s[i:j].copy(),
        gaps=gaps,
        contact=rec.contact[i:j].copy(),
        source_format=rec.source_format,
        arrived_at=None if rec.arrived_at is None else rec.arrived_at[i:j].copy(),
        heart_rate_bpm=None if rec.heart_rate_bpm is None else rec.heart_rate_bpm[i:j].copy(),
        quality=None if rec.quality is None else rec.quality[i:j].copy(),
        start_s=start_abs,
        meta={
            **rec.meta,
            "segment": segment.label,
            # rounded to the microsecond: beat times summed from ms carry binary noise
            # (300.39399999999995)
            "segment_start_s": round(start_abs - rec.start_s, 6),
            "segment_end_s": round(float(rec.t_s[j - 1] - rec.start_s), 6),
            # the bounds asked for (None: open, the recording's own start or end)
            "segment_from_s": segment.start_s,
            "segment_to_s": segment.end_s,
            # end - start when the beats reach both bounds (nominal_span), else None
            "segment_nominal_s": nominal_span(
                rec.t_s - rec.start_s, rec.rr_ms, rec.gaps, (i, j), segment
            ),
            "segment_no_contact_at_start": no_contact_at_start,
            "segment_past_end": past_end(
                segment,
                rec.duration_s,
                (start_abs - rec.start_s, float(rec.t_s[j - 1] - rec.start_s)),
            ),
        },
    )
