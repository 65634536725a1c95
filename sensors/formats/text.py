"""Headerless text formats: one number per line (private; use ``sensors.read_recording``).

None of these describe themselves, so none is ever auto-detected except ``plain``, the
fallback, whose units are the ones given (milliseconds by default), never guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    Recording,
    check_rr_values,
    data_lines,
    parse_floats,
    plain_timeline,
    quote,
    read_text,
)

__all__ = ["read_elite_hrv", "read_ghrv_beats", "read_physionet_rr_secs", "read_plain"]

_SCALE_TO_MS = {"ms": 1.0, "s": 1000.0}
#: A plain file whose values strictly increase for at least this many lines holds cumulative
#: times, not RR intervals: RR intervals never rise monotonically for ~100 beats (respiratory
#: sinus arrhythmia alone reverses them every few beats), beat times always do.
BEAT_TIMES_MIN_RUN = 100
#: Seconds become ms rounded to 1e-6 ms (1 ns): this removes the binary floating-point noise of
#: the conversion (``1.001 * 1000 == 1000.9999999999999``) and is far below any file's precision.
_NS_DECIMALS = 6


def _s_to_ms(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.round(values * 1000.0, _NS_DECIMALS)


def _numbers(path: str, *, what: str, commas: bool = False) -> tuple[list[str], list[int]]:
    tokens: list[str] = []
    lines: list[int] = []
    for number, text in data_lines(read_text(path)):
        parts = [p.strip() for p in text.split(",")] if commas else [text]
        for part in parts:
            if part:
                tokens.append(part)
                lines.append(number)
    if not tokens:
        raise RecordingFormatError(f"the file is empty (no {what})", path=path)
    return tokens, lines


def read_plain(path: str, *, units: str = "ms", drop_zero: bool = False) -> Recording:
    """One RR interval per line, in ``units`` (``"ms"`` or ``"s"``); blank lines are skipped.

    Parameters
    ----------
    path
        The file.
    units
        Units of the values, ``"ms"`` (default) or ``"s"``. Never guessed from magnitudes.
        Seconds are converted to ms and rounded to 1e-6 ms (1 ns) to drop float noise.
    drop_zero
        Leave out values that are exactly 0 (a beat annotated twice: removing a zero interval
        moves no beat time) instead of reading them for ``hrv.clean`` to label; their line
        numbers are listed in ``meta["dropped_zero_lines"]``. Negative values are read either
        way.

    Returns
    -------
    Recording
        ``t_s = cumsum(rr_ms) / 1000`` (a value of 0 or below adds no time: it is an artefact
        for ``hrv.clean`` to label, never a step back in time), no gaps, contact unknown.

    Raises
    ------
    RecordingFormatError
        A value is not a positive number, or the whole series (at least
        ``BEAT_TIMES_MIN_RUN`` values) strictly increases: that is a file of cumulative beat
        times (e.g. gHRV ``beat_ascii.txt``), which must be named with ``format="ghrv_beats"``.
    """
    if units not in _SCALE_TO_MS:
        raise ValueError(f"units must be 'ms' or 's', got {units!r}")
    tokens, lines = _numbers(path, what="RR intervals")
    rr = parse_floats(tokens, lines, path=path, what="RR interval")
    dropped: list[int] = []
    if drop_zero and bool(np.any(rr == 0.0)):
        zero = rr == 0.0
        dropped = [ln for ln, z in zip(lines, zero, strict=True) if z]
        tokens = [t for t, z in zip(tokens, zero, strict=True) if not z]
        lines = [ln for ln, z in zip(lines, zero, strict=True) if not z]
        rr = rr[~zero]
        if rr.shape[0] == 0:
            raise RecordingFormatError("every RR interval is 0", path=path)
    check_rr_values(rr, lines, path=path, shown=tokens)
    if rr.shape[0] >= BEAT_TIMES_MIN_RUN and bool(np.all(np.diff(rr) > 0)):
        raise RecordingFormatError(
            f"the {rr.shape[0]} values strictly increase from {tokens[0]} to {tokens[-1]}: "
            "this looks like beat times, not RR intervals; read it with --format ghrv_beats "
            "(format='ghrv_beats') if it holds beat times in seconds",
            path=path,
        )
    rr_ms = _s_to_ms(rr) if units == "s" else rr
    t_s, gaps, contact = plain_timeline(rr_ms)
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="plain",
        meta={"path": path, "units": units, "dropped_zero_lines": tuple(dropped)},
    )


def read_physionet_rr_secs(path: str) -> Recording:
    """PhysioNet-derived ``*_rr_secs.txt`` (RHRV book copies of nsr2db / chf2db records).

    Line 1 is the time of the first beat in seconds since the start of the Holter recording;
    every further line is one RR interval in seconds (on the 1/128 s annotation grid). The
    first RR interval ends at the second beat, so ``start_s`` is that first-beat time and
    ``t_s = start_s + cumsum(rr_ms) / 1000`` (a value of 0 or below adds no time).

    References
    ----------
    Goldberger AL et al. (2000) PhysioBank, PhysioToolkit, and PhysioNet. Circulation
    101(23):e215-e220. Rodriguez-Linares L et al., "Heart rate variability analysis with the R
    package RHRV" (book data, Chapter 8).
    """
    tokens, lines = _numbers(path, what="first-beat time or RR intervals")
    values = parse_floats(tokens, lines, path=path, what="value")
    start = float(values[0])
    if start < 0:
        raise RecordingFormatError(
            f"first-beat time {quote(tokens[0])} is negative", path=path, line=lines[0]
        )
    if values.shape[0] < 2:
        raise RecordingFormatError(
            "no RR intervals after the first-beat time on line 1", path=path, line=lines[0]
        )
    rr_ms = _s_to_ms(values[1:])
    check_rr_values(rr_ms, lines[1:], path=path, shown=tokens[1:])
    t_s, gaps, contact = plain_timeline(rr_ms, start_s=start)
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="physionet_rr_secs",
        start_s=start,
        meta={"path": path, "units": "s", "first_beat_s": start},
    )


def read_ghrv_beats(path: str) -> Recording:
    """GHRV ``beat_ascii.txt``: one beat (R peak) time in seconds per line; RR = differences.

    ``N`` beat times give ``N - 1`` RR intervals; the first beat is ``start_s`` and
    ``t_s`` are the later beat times themselves. Times must strictly increase; the error names
    the line of the first beat that does not.

    References
    ----------
    Rodriguez-Linares L et al. (2014) gHRV: Heart rate variability analysis made easy.
    Comput Methods Programs Biomed 116(1):26-38 (sample data in the RHRV book, Chapter 2).
    """
    tokens, lines = _numbers(path, what="beat times")
    times = parse_floats(tokens, lines, path=path, what="beat time")
    if times.shape[0] < 2:
        raise RecordingFormatError(
            "need at least two beat times to form one RR interval", path=path, line=lines[0]
        )
    with np.errstate(over="ignore", invalid="ignore"):  # a corrupt time: inf, named below
        rr_ms = _s_to_ms(np.diff(times))
    bad = ~(rr_ms > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise RecordingFormatError(
            f"beat time {quote(tokens[i + 1])} is not after the previous one ({quote(tokens[i])}); "
            "beat times must strictly increase",
            path=path,
            line=lines[i + 1],
        )
    # an interval beyond any RR's limit names the beat time that ends it (a corrupt 1e308)
    check_rr_values(rr_ms, lines[1:], path=path, shown=tokens[1:])
    start = float(times[0])
    _, gaps, contact = plain_timeline(rr_ms)
    return Recording(
        rr_ms=rr_ms,
        t_s=times[1:].copy(),
        gaps=gaps,
        contact=contact,
        source_format="ghrv_beats",
        start_s=start,
        meta={"path": path, "units": "s", "first_beat_s": start},
    )


# Elite HRV names its export files after the reading's start, e.g. "2017-06-05 07-27-59.txt".
_ELITE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})[ _T](\d{2})-(\d{2})-(\d{2})")


def read_elite_hrv(path: str) -> Recording:
    """Elite HRV export: RR intervals in milliseconds, one per line or comma separated.

    The export holds RR values only (no header, no timestamps); the start of the reading is in
    the file name (``YYYY-MM-DD HH-MM-SS.txt``) and goes to ``meta["start_time"]`` when present.
    Layout from public descriptions of the export (dataespresso.com, 2017: "text files only
    contain RR intervals without a timestamp"; RRational data-format guide); the comma
    separated variant was not confirmed from a real export file.
    """
    tokens, lines = _numbers(path, what="RR intervals", commas=True)
    rr_ms = parse_floats(tokens, lines, path=path, what="RR interval")
    check_rr_values(rr_ms, lines, path=path, shown=tokens)
    t_s, gaps, contact = plain_timeline(rr_ms)
    meta: dict[str, object] = {"path": path, "units": "ms", "device": "Elite HRV"}
    m = _ELITE_NAME.search(Path(path).name)
    if m:
        meta["start_time"] = f"{m.group(1)}T{m.group(2)}:{m.group(3)}:{m.group(4)}"
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="elite_hrv",
        meta=meta,
    )
