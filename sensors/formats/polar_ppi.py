"""Polar Sensor Logger PPI export: pulse-to-pulse intervals of an optical sensor (private).

The app's PPI file (``*_PPI.txt``) is ``;`` separated with a header row such as::

    Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact supported;hr [bpm]
    2026-06-01T21:17:07.832;968;12;0;1;1;62

i.e. the phone's local time, then the fields of Polar's PPI sample (Polar BLE SDK,
``PolarPpiData``: interval, error estimate, blocker bit, skin contact, skin contact supported,
heart rate). Columns are found by name (case-insensitive); when the two contact columns carry
the same name they are taken in the SDK's order, status then supported. The error, blocker,
contact and heart-rate columns are optional. The app's versions name and order the columns
differently; every layout whose first column is the phone's time (``Phone timestamp`` or
``Phone Data RX timestamp``) and that has a ``PP-interval [ms]`` column is read, e.g. (headers as
published in users' tools; the first is one line in the file)::

    Phone timestamp;sensor timestamp [ns];HR [bpm];PP-interval [ms];error estimate [ms];
        blocker;skin contact;skin contact supported
    Phone Data RX timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]

Polar's rule for PPI quality: a pulse with the blocker bit (movement) or without skin contact
(when contact is supported) is not valid. Such pulses are left out; their time is kept on the
timeline and the next pulse kept is marked as a gap, as :class:`sensors.BlePpiSource` does live.
An interval no heart beats (outside 200..3000 ms, 0 too:
:func:`sensors.heart_rate_measurement.is_heart_rr_ms`, the live bound) is left out with a gap
too, one rule with the live source. Its place on the timeline (flagged or not; rev12 review: a
stand-in for every such place moved the kept pulses by its error, +20 s or -74 s by the end of
a 600-pulse file) is dated by the file's own clock:

- a value below 200 ms (0 included, as a double detection's ``150`` then ``850``) counts as
  itself: it is time that passed, and it errs by under 200 ms at most, never added up;
- a value above 3000 ms (pulses missed while moving) counts as itself unless the timestamps
  clearly contradict it: its stamp group (the rows sharing its phone stamp, a PPI frame in the
  app's files; one row in hrvpace's) may take its stamps' advance over the row before the group,
  less the group's other intervals, plus :data:`CLOCK_SLACK_MS` (about the band arrival stamps
  wander in: the advance of two arrival stamps carries the difference of their latencies, and
  a cap at the bare advance lowered true values by it, losing time with every such pulse, e.g.
  -2.4 s over 23 of them with 0.3-s jitter; rev13 review). Beyond that the clock contradicts the
  value (a corrupt 60-s value between rows 1 s apart) and it counts as the larger of what the
  clock allows (the bare advance) and the stand-in, the median kept interval
  (:func:`sensors.heart_rate_measurement.stand_in_rr_ms`) of the pulses within
  :data:`STAND_IN_ROWS` rows either side (of the whole file when none is there); in the file's
  first stamp group, with no clock before it, as the stand-in.

So a left-out long value the clock does not contradict keeps the kept pulses' times exact; a
short value moves them by under 200 ms, and a value the clock contradicts by the latency
difference of two stamps (for each such value; such values are corrupt and rare).
The timestamps become ``arrived_at`` and further gaps are inferred from them
(:mod:`sensors.formats.gaps`: time the clock shows passed and the intervals do not, e.g. after a
value counted short, is added there). ``meta`` reports ``rejected_pulses`` (every pulse left
out), ``implausible_pulses`` (of them, the unflagged ones left out for their interval, as the
live source's malformed count) and the median error estimate.

References
----------
Polar Sensor Logger (Jukka Happonen, Android app), PPI export. Polar Electro, Polar BLE SDK:
"PPI Data in Polar devices" (blocker and skin-contact flags) and ``PolarPpiData``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    CONTACT_NO,
    CONTACT_UNKNOWN,
    CONTACT_YES,
    Recording,
    check_rr_values,
    data_lines,
    parse_floats,
    quote,
    read_text,
)
from sensors.formats.apps import PSL_TIME_NAMES
from sensors.formats.gaps import infer_gaps, timeline_with_gaps
from sensors.heart_rate_measurement import (
    MAX_HEART_RR_MS,
    MIN_HEART_RR_MS,
    HeartRateMeasurement,
    is_heart_rr_ms,
    stand_in_rr_ms,
)

__all__ = ["looks_like_polar_sensor_logger_ppi", "read_polar_sensor_logger_ppi"]

_PPI = "pp-interval [ms]"

#: A left-out interval's place on the timeline counts as the median kept interval of the
#: pulses this many rows either side of it (about a PPI frame's pulses).
STAND_IN_ROWS = 4

#: How far (ms) a left-out long value may exceed what its stamps allow and still count as
#: itself: about one notification band, the spread of phone arrival latencies (see
#: :mod:`sensors.formats.gaps`). Only a value the clock contradicts by more is capped.
CLOCK_SLACK_MS = 1000.0


def _fields(line: str) -> list[str]:
    return [f.strip().lower() for f in line.rstrip(";").split(";")]


def looks_like_polar_sensor_logger_ppi(first_line: str) -> bool:
    """True for a PPI export header: the phone's time first, a ``PP-interval [ms]`` column."""
    names = _fields(first_line)
    return names[0] in PSL_TIME_NAMES and _PPI in names


def _flags(tokens: list[str], numbers: list[int], path: str, what: str) -> np.ndarray:
    out = np.zeros(len(tokens), dtype=bool)
    for k, (tok, line) in enumerate(zip(tokens, numbers, strict=True)):
        low = tok.strip().lower()
        if low in ("1", "true"):
            out[k] = True
        elif low not in ("0", "false"):
            raise RecordingFormatError(
                f"{what} must be 0 or 1, got {quote(tok)}", path=path, line=line
            )
    return out


def read_polar_sensor_logger_ppi(path: str) -> Recording:
    """Read a Polar Sensor Logger PPI export (see the module docstring)."""
    from sensors.formats.apps import _parse_timestamps

    lines = data_lines(read_text(path))
    if not lines:
        raise RecordingFormatError("the file is empty (expected a PPI export header)", path=path)
    header_line, header = lines[0]
    names = _fields(header)
    if not looks_like_polar_sensor_logger_ppi(header):
        raise RecordingFormatError(
            f"not a Polar Sensor Logger PPI export: header is {quote(header)}, expected "
            "'Phone timestamp;...;PP-interval [ms];...'",
            path=path,
            line=header_line,
        )

    def column(match: str, *, exclude: str | None = None, nth: int = 0) -> int | None:
        hits = [
            i for i, n in enumerate(names) if match in n and (exclude is None or exclude not in n)
        ]
        return hits[nth] if len(hits) > nth else None

    error_col = column("error")
    blocker_col = column("blocker")
    supported_col = column("supported")
    contact_col = column("contact", exclude="supported")
    if supported_col is None and contact_col is not None and column("contact", nth=1) is not None:
        supported_col = column("contact", nth=1)  # "contact;contact": status, then supported
    hr_col = next((i for i, n in enumerate(names) if n.startswith("hr")), None)
    cols = {"time": 0, "ppi": names.index(_PPI)}
    for key, col in (
        ("error", error_col),
        ("blocker", blocker_col),
        ("contact", contact_col),
        ("supported", supported_col),
        ("hr", hr_col),
    ):
        if col is not None:
            cols[key] = col
    values: dict[str, list[str]] = {k: [] for k in cols}
    numbers: list[int] = []
    for number, text in lines[1:]:
        row = text.rstrip(";").split(";")
        need = max(cols.values()) + 1
        if len(row) < need or not row[0].strip() or not row[cols["ppi"]].strip():
            raise RecordingFormatError(
                f"missing column: expected {need} fields separated by ';', found {len(row)}: "
                f"{quote(text)}",
                path=path,
                line=number,
            )
        for key, col in cols.items():
            values[key].append(row[col].strip())
        numbers.append(number)
    if not numbers:
        raise RecordingFormatError("the file is empty (a PPI header, no pulses)", path=path)
    ppi_ms = parse_floats(values["ppi"], numbers, path=path, what="PP interval")
    check_rr_values(ppi_ms, numbers, path=path, shown=values["ppi"])
    arrived_at, aware = _parse_timestamps(values["time"], numbers, path=path)
    n = len(numbers)
    blocked = _flags(values["blocker"], numbers, path, "blocker") if "blocker" in values else None
    contact = _flags(values["contact"], numbers, path, "contact") if "contact" in values else None
    supported = (
        _flags(values["supported"], numbers, path, "contact supported")
        if "supported" in values
        else None
    )
    if contact is not None and supported is None:
        supported = np.ones(n, dtype=bool)  # a contact column without "supported": trust it
    valid = np.ones(n, dtype=bool)
    if blocked is not None:
        valid &= ~blocked
    if contact is not None and supported is not None:
        valid &= ~(supported & ~contact)
    if not valid.any():
        raise RecordingFormatError(
            f"all {n} pulses are flagged (blocker or no skin contact): no valid interval",
            path=path,
        )
    # one rule with the live PPI source: an interval no heart beats is left out, a gap
    plausible = np.fromiter((is_heart_rr_ms(float(v)) for v in ppi_ms), dtype=bool, count=n)
    if not (valid & plausible).any():
        raise RecordingFormatError(
            f"no valid interval: every pulse is flagged (blocker or no skin contact) or its "
            f"interval is outside {MIN_HEART_RR_MS:.0f}..{MAX_HEART_RR_MS:.0f} ms (no heart "
            f"beats so; {int((valid & ~plausible).sum())} of {n})",
            path=path,
        )
    timing_ms = _timing_ms(ppi_ms, plausible, arrived_at)
    # naive phone local time steps with daylight saving: that is no loss of beats
    inferred, missing_s = infer_gaps(timing_ms, arrived_at, local_clock=not aware)
    t_all = timeline_with_gaps(timing_ms, missing_s)
    keep = np.flatnonzero(valid & plausible)
    # a kept pulse follows a gap when a pulse before it (since the previous kept one) was left
    # out or the timestamps say pulses were lost there
    rejected_or_lost = ~(valid & plausible) | inferred
    cum = np.cumsum(rejected_or_lost)
    gaps = np.zeros(keep.size, dtype=bool)
    gaps[1:] = (cum[keep[1:] - 1] - cum[keep[:-1]]) > 0
    gaps[1:] |= inferred[keep[1:]]
    codes = np.full(n, CONTACT_UNKNOWN, dtype=np.int8)
    if contact is not None and supported is not None:
        codes[supported & contact] = CONTACT_YES
        codes[supported & ~contact] = CONTACT_NO
    heart_rate = (
        parse_floats(values["hr"], numbers, path=path, what="heart rate")[keep]
        if "hr" in values
        else None
    )
    errors = (
        parse_floats(values["error"], numbers, path=path, what="error estimate")
        if "error" in values
        else None
    )
    start = dt.datetime.fromtimestamp(float(arrived_at[0]), dt.UTC)
    first = int(keep[0])
    meta: dict[str, object] = {
        "path": path,
        "units": "ms",
        "device": "Polar Sensor Logger (PPI)",
        "timezone": "from the file" if aware else "none in the file (phone local time, as UTC)",
        "start_time": (start if aware else start.replace(tzinfo=None)).isoformat(),
        "rejected_pulses": int(n - keep.size),
        "implausible_pulses": int((valid & ~plausible).sum()),
        "n_gaps": int(gaps.sum()),
    }
    if errors is not None:
        meta["median_error_ms"] = float(np.median(errors[keep]))
    return Recording(
        rr_ms=ppi_ms[keep],
        t_s=t_all[keep],
        gaps=gaps,
        contact=codes[keep],
        source_format="polar_sensor_logger_ppi",
        arrived_at=arrived_at[keep],
        heart_rate_bpm=heart_rate,
        start_s=float(t_all[first] - timing_ms[first] / 1000.0),
        meta=meta,
    )


def _timing_ms(ppi_ms: np.ndarray, plausible: np.ndarray, clock_s: np.ndarray) -> np.ndarray:
    """The intervals that date the pulses: a left-out one's place as the module docstring says.

    A value under 200 ms counts as itself; one over 3000 ms as itself unless it exceeds what its
    stamp group may take by the clock (``clock_s``, the rows' stamps) by more than
    :data:`CLOCK_SLACK_MS`; then as what the clock allows, never less than the stand-in
    (:func:`~sensors.heart_rate_measurement.stand_in_rr_ms` of the plausible intervals within
    :data:`STAND_IN_ROWS` rows either side, else of the whole file).
    """
    timing = ppi_ms.astype(np.float64, copy=True)
    long = np.flatnonzero(~plausible & (ppi_ms > MAX_HEART_RR_MS))
    if not long.size:
        return timing  # plausible and short values count as themselves
    whole = stand_in_rr_ms(HeartRateMeasurement(0, rr_ms=tuple(ppi_ms[plausible].tolist())))
    stand_in = np.empty(long.size)
    for k, i in enumerate(long):
        lo, hi = max(0, int(i) - STAND_IN_ROWS), int(i) + STAND_IN_ROWS + 1
        near = ppi_ms[lo:hi][plausible[lo:hi]]
        stand_in[k] = stand_in_rr_ms(
            HeartRateMeasurement(0, rr_ms=tuple(near.tolist())), none_kept_ms=whole
        )
    # every long value as its stand-in first: the other intervals of a group are then known
    timing[long] = stand_in
    n = ppi_ms.size
    # stamp groups: runs of rows sharing one stamp (a frame in the app's files)
    starts = np.flatnonzero(np.r_[True, clock_s[1:] != clock_s[:-1]])
    ends = np.r_[starts[1:], n]
    group = np.repeat(np.arange(starts.size), ends - starts)
    for k, i in enumerate(long):
        g = int(group[i])
        a, b = int(starts[g]), int(ends[g])
        if a == 0:
            continue  # the first group: no clock before it, the stand-in
        others_ms = float(timing[a:b].sum() - timing[i])
        allowed_ms = (float(clock_s[b - 1]) - float(clock_s[a - 1])) * 1000.0 - others_ms
        if float(ppi_ms[i]) > allowed_ms + CLOCK_SLACK_MS:  # the clock contradicts it
            timing[i] = max(float(stand_in[k]), allowed_ms)
        else:
            timing[i] = float(ppi_ms[i])
    return timing
