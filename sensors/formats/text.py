"""Text formats of numbers, one per line (private; use ``sensors.read_recording``).

None of these describe themselves, so none is ever auto-detected except ``plain``, the
fallback, whose units are the ones given (milliseconds by default), never guessed. Every one
of them may start with ``#`` comment lines. A ``plain`` file may also have one header line that
names its RR column (:func:`plain_layout`): ``rr_ms``, ``RR (s)``, ``time_s,rr_ms,hr_bpm`` or
``time;rr`` (comma, semicolon or tab separated; with ``;`` or tab a decimal comma is read too).
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    CONTACT_UNKNOWN,
    MAX_DURATION_S,
    MAX_RR_MS,
    Line,
    Recording,
    check_rr_values,
    data_lines,
    parse_floats,
    plain_timeline,
    quote,
    read_text,
    split_lines,
)

__all__ = [
    "HEART_RATE_NOT_RR",
    "RR_COLUMN_NAMES",
    "SHORT_ROWS_NOTE",
    "PlainLayout",
    "burst_spacing",
    "header_separator",
    "heart_rate_column",
    "heart_rate_like",
    "known_rr_headers",
    "no_rr_column_problem",
    "plain_layout",
    "plausible_rr",
    "read_elite_hrv",
    "read_ghrv_beats",
    "read_physionet_rr_secs",
    "read_plain",
    "row_fields",
    "s_to_ms",
    "signal_like",
    "split_fields",
    "time_column",
    "waveform_steps",
]

_SCALE_TO_MS = {"ms": 1.0, "s": 1000.0}
#: What the read notes say of rows with fewer fields than the header (``meta["short_row_lines"]``
#: of :func:`read_plain`), after how many and the first's line.
SHORT_ROWS_NOTE = "read positionally: the missing fields are taken as the last ones"
#: A plain file whose values strictly increase for at least this many lines holds cumulative
#: times, not RR intervals: RR intervals never rise monotonically for ~100 beats (respiratory
#: sinus arrhythmia alone reverses them every few beats), beat times always do.
BEAT_TIMES_MIN_RUN = 100
#: A plain file of at least this many values is checked for being a sampled signal (an ECG or
#: PPG read as RR intervals: :func:`signal_like`); 1,000 samples are 8 s of a 130-Hz ECG.
SIGNAL_MIN_VALUES = 1000
#: A signal swings around its baseline: this share of negative values is no RR series (RR
#: files hold at most a few negative artefacts or ``-1`` markers; zeros, a beat annotated twice,
#: are the ``--drop-zero`` case and are never counted).
_SIGNAL_NEGATIVE = 0.05
#: A signal sampled at 16 Hz or more changes smoothly: the median change over 4 samples is
#: about 4 times the median change from one sample to the next. RR intervals may too (1.0 - 4.0
#: in the shared real data, 4.0 on coarse 1/128-s grids; paced breathing at 6/min and 80 bpm
#: 3.6), so this alone refuses nothing: only values that are no RR intervals are refused so.
_SIGNAL_SMOOTH_RATIO = 3.5
#: RR intervals lie within 250 - 2500 ms (240 - 24 bpm); a series whose positive values lie
#: there at this share or more, in ms or in s, is never taken for a signal (a raw ECG/PPG in
#: uV, mV or ADC counts mostly is not there).
_RR_PLAUSIBLE_MS = (250.0, 2500.0)
_RR_PLAUSIBLE_SHARE = 0.95
#: A sampled waveform, whatever its values: each beat is a fast deflection (an ECG's QRS, a
#: PPG's upstroke) spanning several samples, so successive changes keep their sign (the lag-1
#: autocorrelation of the first differences is this or more) ...
_WAVEFORM_STEP_CORRELATION = 0.5
#: ... and the largest tenth of the changes carry this share of all change or more ...
_WAVEFORM_TOP_SHARE = 0.3
#: ... and those bursts recur as a heartbeat does in samples, which no RR series does in beats:
#: at least this many bursts (runs of changes of half the 99.5th percentile of the absolute
#: change or more, a new one after more than ``_BURST_GAP`` values) ...
_BURSTS_MIN = 8
_BURST_GAP = 25
#: ... at a steady spacing (interquartile range at most this part of the median) ...
_BURST_SPREAD = 0.25
#: ... of so many values that, were the values RR intervals in ms, the bursts would recur every
#: this many ms or more (2.5 min; the median spacing times the median value). Cyclic variation
#: of heart rate (sleep apnoea, periodic breathing) recurs every 20 - 120 s, paced breathing
#: every 8 - 15 s; a raw signal at fs Hz recurs every fs * 60 / HR samples, times its counts
#: (MIT-BIH at 360 Hz: about 300 samples of about 1000 counts, 300 s). Measured margins in
#: docs/signal_detection.md (``python -m bench.signal_shape``): RR series at most 94 s with
#: the shape above, 139 s without it; raw signals refused from 200 - 250 Hz up.
_BURST_PERIOD_MS = 150_000.0
#: Heart rates a person can have, in beats per minute: a file whose positive values lie here
#: (at the plausible-RR share) holds heart rates, never RR intervals in ms (under 250 ms) or
#: in s (over 30 s).
_HR_PLAUSIBLE_BPM = (30.0, 230.0)
#: Names of a heart-rate column (compared as RR names are: lower case, ' ' and '-' as '_'),
#: or any name with the unit bpm in brackets (``Heart Rate (bpm)``, ``HR [bpm]``).
_HR_COLUMN = re.compile(r"^(?:hr|heart_?rate|pulse(?:_?rate)?|bpm)(?:_bpm)?$")
#: Names of a clock or date column (compared as :data:`_HR_COLUMN`, a bracketed unit dropped):
#: ``time``, ``Timestamp``, ``Date``, ``Phone timestamp``, ``sensor timestamp [ns]``,
#: ``local_time``, ``DateTime``, ``timestamp_ms``.
_TIME_COLUMN = re.compile(
    r"^(?:[a-z]+_)?(?:time_?stamp|date_?time|date|time|clock)(?:_(?:ms|s|us|ns|utc|local|iso))?$"
)
#: What reads instead of a heart rate: said by every error that refuses one.
HEART_RATE_NOT_RR = (
    "HRV needs beat-to-beat (RR/NN) intervals, which a heart rate does not keep: export the RR "
    "intervals (a column rr_ms or RR (s), a Polar HRM file in R-R mode, a FIT file with HRV "
    "logging, Apple Health's heartbeat series) or read the ECG/PPG itself with --format "
    "ecg_csv/ppg_csv --sampling-rate HZ"
)


def _heart_rates_refused(what: str) -> str:
    """Every refusal of heart rates: ``what`` was found, then what reads instead."""
    return f"{what}; {HEART_RATE_NOT_RR}"


#: Seconds become ms rounded to 1e-6 ms (1 ns): this removes the binary floating-point noise of
#: the conversion (``1.001 * 1000 == 1000.9999999999999``) and is far below any file's precision.
_NS_DECIMALS = 6


def s_to_ms(values: Any) -> NDArray[np.float64]:
    """Seconds to milliseconds, as every reader and ``hrvpace.analyze(..., units="s")`` convert.

    Rounded to 1e-6 ms (1 ns), which removes the binary floating-point noise of the
    conversion (``1.001 * 1000 == 1000.9999999999999``) and is far below any file's precision.
    A value too large to convert (a corrupt ``1e308``) becomes ``inf`` without a floating-point
    warning; the caller refuses it with its line or its position (the 64-s RR limit, or the HRV
    core's finiteness check).

    Parameters
    ----------
    values : array_like of float
        Times or intervals in seconds.

    Returns
    -------
    numpy.ndarray of float64
        The same in milliseconds.

    References
    ----------
    IEEE 754-2008 (binary64 rounding: why ``1.001 * 1000`` is not ``1001``).

    Examples
    --------
    >>> s_to_ms([1.001, 0.8]).tolist()
    [1001.0, 800.0]
    """
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a corrupt 1e308: inf, refused later
        return np.round(arr * 1000.0, _NS_DECIMALS)


#: Names of an RR column in a plain file's header, compared in lower case with spaces and
#: hyphens read as ``_``; a unit may follow as ``_ms``/``_s``, in brackets (``RR (ms)``,
#: ``rr [s]``), or both when they agree (``rr_ms [ms]``, hrvpace's own export).
#: ``RR_COLUMN_NAMES`` is what errors list (:func:`known_rr_headers`). The spellings of exports
#: and papers are here: ``R-R interval (ms)``, ``R-R (ms)``, ``RR-interval [ms]``,
#: ``Inter-beat interval``, ``IBIs``, ``time,beat-to-beat interval (ms)``. A bare ``interval``
#: is not: tables name a lap, a study phase or a sampling interval so (``Time,Interval,RR``,
#: ``subject,interval,rr_ms``, ``interval,start_s,end_s``), and a table naming only such
#: columns fails asking for an RR name. Whatever the name, the values still pass the units
#: check (median 100 ms - 10 s in the units read).
RR_COLUMN_NAMES: tuple[str, ...] = (
    "rr",
    "rrs",
    "rri",
    "rris",
    "rr_interval",
    "rr_intervals",
    "r_r",
    "r_r_interval",
    "r_r_intervals",
    "ibi",
    "ibis",
    "inter_beat_interval",
    "inter_beat_intervals",
    "interbeat_interval",
    "interbeat_intervals",
    "beat_to_beat_interval",
    "beat_to_beat_intervals",
    "nn",
    "nni",
    "nn_interval",
    "nn_intervals",
)
_UNIT_WORDS = {
    "ms": "ms",
    "msec": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "seconds": "s",
}
_BRACKETED_UNIT = re.compile(r"^(.*?)\s*[(\[]\s*([a-z]+)\s*[)\]]$")
#: Separators of a header's columns, in the order they are tried (``;`` first: a file with
#: ``;`` between columns may write decimal commas).
_SEPARATORS = (";", "\t", ",")
_QUOTED = re.compile(r'"[^"]*"')
#: Unit forms an RR column's name may carry, as error messages show them (each is read: a test
#: parses every one).
_UNIT_EXAMPLES = ("rr_ms", "RR (ms)", "rr_s", "rr [s]")


def known_rr_headers() -> str:
    """The RR column names a header may use, as every error that asks for one lists them.

    Generated from :data:`RR_COLUMN_NAMES` (the list :func:`plain_layout` reads), so the
    message cannot drift from what is read.
    """
    names = ", ".join(RR_COLUMN_NAMES)
    units = ", ".join(_UNIT_EXAMPLES)
    return f"{names}; any case, ' ' or '-' for '_'; a unit as in {units}"


def header_separator(text: str) -> str | None:
    """The column separator of a header line, or ``None`` (a single column).

    The first of ``;``, tab and ``,`` the line has outside double quotes (``"Time, s"`` is one
    column name), in that order: a file with ``;`` between columns may write decimal commas.
    """
    bare = _QUOTED.sub("", text)
    return next((c for c in _SEPARATORS if c in bare), None)


def split_fields(text: str, sep: str) -> list[str]:
    """The fields of a line split at ``sep``, each stripped of whitespace and quotes.

    A double-quoted field may hold the separator (``"Time, s"``, CSV quoting, read with the
    ``csv`` module) when the line's double quotes pair up; otherwise the line is split at every
    ``sep``. Split before stripping: a tab-separated row whose first or last field is empty
    keeps its columns in place.
    """
    parts: list[str] | None = None
    if '"' in text and text.count('"') % 2 == 0:
        try:
            parts = next(csv.reader([text], delimiter=sep, skipinitialspace=True), None)
        except csv.Error:  # a field over the csv module's size limit, say
            parts = None
    if parts is None:
        parts = text.split(sep)
    return [_unquoted(f) for f in parts]


def _unquoted(field: str) -> str:
    return field.strip().strip("\"'").strip()


def _trailing_empty_dropped(fields: list[str]) -> list[str]:
    end = len(fields)
    while end and not fields[end - 1]:
        end -= 1
    return fields[:end]


def row_fields(text: str, sep: str) -> list[str]:
    """The fields a header or a row is counted by: :func:`split_fields` less trailing empties.

    Spreadsheet exports end rows with a separator (``800,72,``) or leave a last column empty
    (``800<tab>``); those fields are not counted against the header's.
    """
    return _trailing_empty_dropped(split_fields(text, sep))


def _rr_field(field: str) -> tuple[str | None, str | None]:
    """``(units, problem)`` of a header field.

    ``units`` is ``None`` when the field names no RR column, else its units (``""``: not
    stated). ``problem`` says why a field whose name is an RR name is still not read: its unit
    is not one read (``RR (us)``), or its two units disagree (``rr_ms [s]``).
    """
    name = field.strip().strip("\"'").strip().lower()
    bracket = ""
    m = _BRACKETED_UNIT.match(name)
    if m:
        name, bracket = m.group(1), m.group(2)
    name = re.sub(r"[\s-]+", "_", name).strip("_")
    stem, _, suffix = name.rpartition("_")
    suffixed = stem in RR_COLUMN_NAMES and suffix in _UNIT_WORDS
    if name not in RR_COLUMN_NAMES and not suffixed:
        return None, None
    if bracket and bracket not in _UNIT_WORDS:
        return None, (
            f"its unit {bracket!r} is not one read (ms or s): convert the column to ms or s "
            "and name it so"
        )
    unit = _UNIT_WORDS.get(bracket, "")
    if name in RR_COLUMN_NAMES:
        return unit, None
    named = _UNIT_WORDS[suffix]
    if unit and unit != named:
        return None, f"its name says {named} and its brackets {unit}: keep the right one"
    return named, None


def _rr_units(field: str) -> str | None:
    """``None`` when a header field names no RR column, else its units (``""``: not stated)."""
    return _rr_field(field)[0]


@dataclass(frozen=True)
class PlainLayout:
    r"""Where a plain file's RR values are (:func:`plain_layout`).

    Attributes
    ----------
    skip
        Leading non-blank lines that are not values: ``#`` comments and the header.
    header, header_line
        The header line naming the RR column, as written (split as the rows are: an empty
        first field, a pandas index, keeps the columns in place), and its line number, or
        ``None``.
    separator
        The header's column separator (``","``, ``";"``, ``"\t"``); ``None``: one value a line.
    column, column_name
        The RR column (0-based) and its name as the header writes it.
    units
        ``"ms"`` or ``"s"`` when the header's column name states them, else ``None``.
    """

    skip: int
    header: str | None = None
    header_line: int | None = None
    separator: str | None = None
    column: int = 0
    column_name: str | None = None
    units: str | None = None


def plain_layout(
    lines: Sequence[Line], *, path: str | None = None, raw: Sequence[str] | None = None
) -> PlainLayout:
    """The layout of a plain file from its non-blank lines (:func:`data_lines`).

    Leading lines starting with ``#`` are comments. The next line is a header when one of its
    fields (split on ``;``, tab or ``,``, whichever it has) names an RR column (see
    :data:`RR_COLUMN_NAMES`): that column is read, in the units its name states (``rr_ms``,
    ``RR (s)``) if any. Any other line is the first value.

    ``raw`` is every line as written (``raw[number - 1]``; ``None``: the stripped lines): a
    header with a separator is split from it, as :func:`read_plain` splits the rows, so a
    header whose first field is empty (``<tab>RR<tab>HR``, pandas' index) keeps its columns.

    Raises
    ------
    RecordingFormatError
        The header names more than one RR column (which one is meant is not guessed), or
        names one that is not read: its unit is neither ms nor s (``RR (us)``), or its name
        and brackets state different units (``rr_ms [s]``).
    """
    k = 0
    while k < len(lines) and lines[k][1].startswith("#"):
        k += 1
    if k == len(lines):
        return PlainLayout(skip=k)
    number, text = lines[k]
    sep = header_separator(text)
    if sep is not None and raw is not None:
        text = raw[number - 1]
    fields = split_fields(text, sep) if sep is not None else [text]
    named = [(i, u) for i, f in enumerate(fields) if (u := _rr_units(f)) is not None]
    if not named:
        for f in fields:
            problem = _rr_field(f)[1]
            if problem is not None:
                raise RecordingFormatError(
                    f"the RR column {quote(_unquoted(f))} is not read: {problem}",
                    path=path,
                    line=number,
                    summary=f"an RR column that is not read: {problem}",
                )
        return PlainLayout(skip=k)
    if len(named) > 1:
        names = ", ".join(fields[i].strip() for i, _ in named)
        raise RecordingFormatError(
            f"the header names {len(named)} RR columns ({quote(names)}): keep the one to read",
            path=path,
            line=number,
            summary=f"the header names {len(named)} RR columns: keep the one to read",
        )
    col, unit = named[0]
    return PlainLayout(
        skip=k + 1,
        header=text,
        header_line=number,
        separator=sep,
        column=col,
        column_name=_unquoted(fields[col]),
        units=unit or None,
    )


def plausible_rr(values: NDArray[np.float64]) -> bool:
    """Whether ``values`` could be RR intervals in ms or in s, whatever the units read.

    True when at least 95 % of the positive values lie within 250 - 2500 ms (240 - 24 bpm)
    read as ms, or read as s (the units check then names the flag that reads them). Zeros and
    negative values (artefacts, ``-1`` markers) are left out: ``hrv.clean`` labels them.
    """
    pos = values[values > 0]
    if pos.shape[0] == 0:
        return False
    lo, hi = _RR_PLAUSIBLE_MS
    for scale in (1.0, 1000.0):  # ms, or s
        with np.errstate(over="ignore"):  # a corrupt 1e308: inf, outside; named later
            scaled = pos * scale
        within = (scaled >= lo) & (scaled <= hi)
        if float(np.count_nonzero(within)) >= _RR_PLAUSIBLE_SHARE * pos.shape[0]:
            return True
    return False


def heart_rate_like(values: NDArray[np.float64]) -> str | None:
    """Why ``values`` read as RR intervals are heart rates in bpm, or ``None``.

    They are when they are no plausible RR intervals (:func:`plausible_rr`) and at least 95 %
    of their positive values lie within 30 - 230 (bpm): read as ms they would be 260 - 2000
    beats a minute, read as s one beat every half minute or more. Zeros and negative values
    are left out, as :func:`plausible_rr` leaves them out.
    """
    pos = values[values > 0]
    if pos.shape[0] == 0 or plausible_rr(values):
        return None
    lo, hi = _HR_PLAUSIBLE_BPM
    within = int(np.count_nonzero((pos >= lo) & (pos <= hi)))
    if within < _RR_PLAUSIBLE_SHARE * pos.shape[0]:
        return None
    return (
        f"median {float(np.median(pos)):g}, {100 * within / pos.shape[0]:.0f} % within "
        f"{lo:g}-{hi:g}: in ms or s no RR interval"
    )


def heart_rate_column(field: str) -> bool:
    """Whether a header field names a heart-rate column (``hr``, ``Heart Rate (bpm)``)."""
    name, bracket = _field_name(field)
    return bracket == "bpm" or _HR_COLUMN.match(name) is not None


def time_column(field: str) -> bool:
    """Whether a header field names a clock or date column (``time``, ``Phone timestamp``)."""
    return _TIME_COLUMN.match(_field_name(field)[0]) is not None


def _field_name(field: str) -> tuple[str, str]:
    """A header field's name as compared (lower case, ' ' and '-' as '_'), its bracketed unit.

    The unit is ``""`` without one.
    """
    name = _unquoted(field).lower()
    bracket = ""
    m = _BRACKETED_UNIT.match(name)
    if m:
        name, bracket = m.group(1), m.group(2)
    return re.sub(r"[\s-]+", "_", name).strip("_"), bracket


def no_rr_column_problem(line: str) -> str:
    """The reader's error for a first line that is no number and names no RR column.

    :func:`read_plain`'s words, without path and line. ``hrvpace analyze`` of a folder skips
    such a file with these words, so a file skipped there and the same file named on its own
    are refused alike (code review: the folder said a table with a heart-rate column and an RR
    column under a name not read held heart rates only).
    """
    return _no_rr_column("", line.strip(), line, 1).problem


def signal_like(values: NDArray[np.float64]) -> str | None:
    """Why ``values`` read as RR intervals are a sampled signal (an ECG or PPG), or ``None``.

    Only a series of at least :data:`SIGNAL_MIN_VALUES` values is checked. One that is no
    plausible series of RR intervals (:func:`plausible_rr`: fewer than 95 % of its positive
    values within 250 - 2500 ms, in ms or in s) is a signal when 5 % or more of it is negative
    (an ECG or PPG swings around its baseline; zeros are not counted, they are the
    ``--drop-zero`` case), or when it changes smoothly: the median absolute change over 4
    values is 3.5 times or more the median change between successive values (a waveform
    sampled at 16 Hz or more). Smoothness alone never refuses plausible values: RR series can
    be as smooth (paced breathing, coarse time grids, RR smoothed by a moving average, a
    tachogram resampled at 4 Hz: all are read as RR intervals).

    Any series, plausible values or not (an ADC's counts often lie within 250 - 2500), is a
    signal when it has the shape of a sampled waveform (:func:`waveform_steps`) and its beats
    recur as a heartbeat does in samples (:func:`burst_spacing`): its successive changes keep
    their sign (lag-1 autocorrelation of the first differences 0.5 or more), the largest
    tenth of them carry 30 % or more of all change, and those bursts recur 8 times or more at
    a steady spacing (quartiles within 25 % of the median) so long that, read as RR intervals
    in ms, they would recur every 2.5 min or more (median spacing times median value). The
    shape alone is no proof: RR series smoothed by a 3 - 5 beat moving average and the cyclic
    variation of heart rate in sleep apnoea (RR falling by 300 ms over 4 s every 50 s) have it
    too, but recur every 120 s at most. docs/signal_detection.md has the measurements; a raw
    signal sampled below about 200 Hz, or whose beats are irregular (bigeminy, noise), may
    still pass (a header line naming the column is the sure way either way).
    """
    n = values.shape[0]
    if n < SIGNAL_MIN_VALUES:
        return None
    if not plausible_rr(values):
        share = float(np.count_nonzero(values < 0)) / n
        if share >= _SIGNAL_NEGATIVE:
            return f"{100 * share:.0f} % of them are negative"
        with np.errstate(invalid="ignore", over="ignore"):
            step1 = float(np.median(np.abs(np.diff(values))))
            step4 = float(np.median(np.abs(values[4:] - values[:-4])))
        if step1 > 0 and step4 >= _SIGNAL_SMOOTH_RATIO * step1:
            return (
                f"they change smoothly (the median change over 4 values is {step4 / step1:.1f} "
                "times the change between neighbours, as in a waveform)"
            )
    correlation, top_share = waveform_steps(values)
    if correlation < _WAVEFORM_STEP_CORRELATION or top_share < _WAVEFORM_TOP_SHARE:
        return None
    bursts, spread, spacing = burst_spacing(values)
    period_ms = spacing * float(np.median(values))
    if bursts >= _BURSTS_MIN and spread <= _BURST_SPREAD and period_ms >= _BURST_PERIOD_MS:
        return (
            "they repeat a waveform: its changes keep their sign over several values and come "
            f"in bursts (successive changes correlate at {correlation:.2f}, the largest tenth "
            f"carry {100 * top_share:.0f} % of the change) every {spacing:g} values, which as "
            f"RR intervals in ms would be a heartbeat every {period_ms / 60000:.1f} min"
        )
    return None


def burst_spacing(values: NDArray[np.float64]) -> tuple[int, float, float]:
    """``(bursts, spread, spacing)`` of the largest changes of ``values`` (0, inf, 0 if none).

    A burst is a run of absolute first differences of half the 99.5th percentile or more; one
    more than 25 values after the last starts a new burst. ``spacing`` is the median number of
    values from one burst's start to the next, ``spread`` the interquartile range of those
    spacings over ``spacing``. A sampled ECG or PPG has one burst a beat, ``fs * 60 / HR``
    samples apart (:func:`signal_like`).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.abs(np.diff(values))
    if size.shape[0] < 2 or not bool(np.all(np.isfinite(size))):
        return 0, float("inf"), 0.0
    floor = 0.5 * float(np.percentile(size, 99.5))
    at = np.flatnonzero(size >= floor) if floor > 0 else np.empty(0, dtype=np.intp)
    if at.shape[0] == 0:
        return 0, float("inf"), 0.0
    starts = at[np.r_[True, np.diff(at) > _BURST_GAP]]
    if starts.shape[0] < 3:
        return int(starts.shape[0]), float("inf"), 0.0
    gaps = np.diff(starts).astype(np.float64)
    spacing = float(np.median(gaps))
    q1, q3 = np.percentile(gaps, [25.0, 75.0])
    return int(starts.shape[0]), float(q3 - q1) / spacing, spacing


def waveform_steps(values: NDArray[np.float64]) -> tuple[float, float]:
    """``(correlation, top_share)`` of the successive changes of ``values`` (0, 0 if none).

    ``correlation`` is the lag-1 autocorrelation of the first differences (centred, biased
    estimator); ``top_share`` the share of the summed absolute differences carried by the
    largest tenth of them. :func:`signal_like` reads both: a sampled waveform has changes that
    keep their sign (its beats' deflections span several samples) and come in bursts.

    References
    ----------
    Box GEP, Jenkins GM, Reinsel GC (2008) Time Series Analysis, 4th ed., ch. 2 (sample
    autocorrelation). The thresholds are measured, not taken from the literature
    (docs/signal_detection.md, ``bench/signal_shape.py``).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        steps = np.diff(values)
        if steps.shape[0] < 2 or not bool(np.all(np.isfinite(steps))):
            return 0.0, 0.0
        centred = steps - steps.mean()
        power = float(np.dot(centred, centred))
        size = np.sort(np.abs(steps))[::-1]
        total = float(size.sum())
    if not (power > 0 and total > 0) or not np.isfinite(power):
        return 0.0, 0.0
    correlation = float(np.dot(centred[1:], centred[:-1])) / power
    top_share = float(size[: max(1, size.shape[0] // 10)].sum()) / total
    return correlation, top_share


def _rising(values: NDArray[np.float64]) -> bool:
    """Whether ``values`` rise as cumulative times do: 99 % or more of the steps are positive."""
    steps = np.diff(values)
    return bool(steps.shape[0] > 0) and float(np.count_nonzero(steps > 0)) >= 0.99 * steps.shape[0]


def _signal_hint(kind: str | None = None) -> str:
    """How to read a signal file: the ``--format``/``--sampling-rate`` to give."""
    if kind == "ecg":
        return (
            "read it with --format ecg_csv --sampling-rate HZ (format='ecg_csv', "
            "sampling_rate_hz=HZ; 130 for hrvpace's own FILE.ecg.csv of a Polar H10)"
        )
    if kind == "ppg":
        return (
            "read it with --format ppg_csv --sampling-rate HZ (format='ppg_csv', "
            "sampling_rate_hz=HZ)"
        )
    return (
        "read an ECG with --format ecg_csv --sampling-rate HZ, a PPG with --format ppg_csv "
        "--sampling-rate HZ (format='ecg_csv'/'ppg_csv', sampling_rate_hz=HZ)"
    )


#: Names of a signal column (``ecg_uV``, hrvpace's own ECG files; ``PPG``, ``Pleth``).
_SIGNAL_COLUMN = re.compile(r"^(?:(?P<ecg>ecg|ekg)|(?P<ppg>ppg|pleth|bvp))(?:[\W_].*)?$", re.I)


def _signal_column_kind(name: str) -> str | None:
    m = _SIGNAL_COLUMN.match(_unquoted(name))
    if m is None:
        return None
    return "ecg" if m.group("ecg") else "ppg"


def _comments_skipped(path: str) -> list[Line]:
    lines = data_lines(read_text(path))
    k = 0
    while k < len(lines) and lines[k][1].startswith("#"):
        k += 1
    return lines[k:]


def _numbers(path: str, *, what: str, commas: bool = False) -> tuple[list[str], list[int]]:
    tokens: list[str] = []
    lines: list[int] = []
    for number, text in _comments_skipped(path):
        parts = [p.strip() for p in text.split(",")] if commas else [text]
        for part in parts:
            if part:
                tokens.append(part)
                lines.append(number)
    if not tokens:
        raise RecordingFormatError(f"the file is empty (no {what})", path=path)
    return tokens, lines


def _quoted_whole(line: str) -> str:
    """A hint when ``line`` is a header quoted whole (``"RR,HR"``), else ``""``."""
    if len(line) < 2 or line[0] != '"' or line[-1] != '"' or '"' in line[1:-1]:
        return ""
    inner = line[1:-1]
    sep = header_separator(inner)
    if sep is None or not any(_rr_units(f) is not None for f in split_fields(inner, sep)):
        return ""
    return ": each line is quoted whole; remove the quotes around each line"


def _no_rr_column(path: str, first: str, written: str, number: int) -> RecordingFormatError:
    """The error for a first line that is no number and names no RR column.

    A line of two or more column names, none a number (``time,hr``, split as
    :func:`plain_layout` splits a header), is a table without an RR column: its columns are
    listed, so a researcher sees which name to change.
    """
    sep = header_separator(first)
    names = row_fields(written, sep) if sep is not None else []
    kinds = {k for n in (names or [first]) if (k := _signal_column_kind(n)) is not None}
    if len(kinds) == 1:
        (kind,) = kinds
        what = "an ECG" if kind == "ecg" else "a PPG"
        problem = f"{quote(first)} names {what} signal column, not RR intervals"
        return RecordingFormatError(
            f"{problem}: {_signal_hint(kind)}",
            path=path,
            line=number,
            summary=f"{what} signal, not RR intervals: {_signal_hint(kind)}",
        )
    rates = [n for n in (names or [first]) if heart_rate_column(n)]
    if rates and not any(_is_number(n) for n in names):
        others = [n for n in names if n not in rates]
        named = f"{quote(_unquoted(rates[0]))} names a heart-rate column (bpm), not RR intervals"
        if others:
            shown = ", ".join(n or "(unnamed)" for n in names)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            # another column may hold RR intervals under a name not read: list the names
            return RecordingFormatError(
                _heart_rates_refused(
                    f"a table without an RR column (columns: {shown}): {named} (a column "
                    f"holding RR intervals reads when named one of {known_rr_headers()})"
                ),
                path=path,
                line=number,
                summary="a table whose header names no RR column",
            )
        return RecordingFormatError(
            _heart_rates_refused(named),
            path=path,
            line=number,
            summary=_heart_rates_refused("heart rates, not RR intervals"),
        )
    numeric = any(_is_number(n) for n in names)
    if len(names) >= 2 and not numeric and all(n or i == 0 for i, n in enumerate(names)):
        shown = ", ".join(n or "(unnamed)" for n in names)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        problem = f"a table without an RR column (columns: {shown})"
        return RecordingFormatError(
            f"{problem}: name the RR column one of {known_rr_headers()}",
            path=path,
            line=number,
            summary="a table whose header names no RR column",
        )
    return RecordingFormatError(
        f"{quote(first)} is neither a number nor a header naming an RR column "
        f"({known_rr_headers()}){_quoted_whole(first)}",
        path=path,
        line=number,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column(
    path: str, layout: PlainLayout, body: Sequence[Line], raw: Sequence[str]
) -> tuple[list[str], list[str], list[int], list[int]]:
    """``(values, shown, line numbers, short)`` of the RR column of a file with a header.

    ``raw`` is every line of the file as written (``raw[number - 1]``): rows are split before
    whitespace is stripped, so an empty first or last field (``800<tab>``) stays a field.
    Trailing empty fields of the header and of a row are not counted (``RR,HR,`` over
    ``800,72``, or ``800,72,`` under ``RR,HR``: spreadsheet exports). A row with fewer fields
    (separators written) than the header is read positionally, as CSV readers do: its missing
    fields are the trailing ones (Excel leaves out the separators of blank cells at a row's
    end, editors trim trailing tabs: ``1<tab>800`` under ``time<tab>RR<tab>note``). Under a
    header with columns before the RR column the returned ``short`` lists the line numbers of
    such rows, for the read notes to say (code review: refusing them refused every such
    spreadsheet; a row that lacks an earlier field instead reads another column's value, an
    RR of 75 ms that ``hrv.clean`` labels as any implausible value); a row that ends before
    the RR column is refused. A row with more non-empty fields than the header is refused
    with its line, never read shifted: ``0,757,71`` under ``RR (s),HR (bpm)`` holds a decimal
    comma, and its RR column would read ``0``.
    """
    sep = layout.separator
    header = layout.header or ""
    width = len(row_fields(header, sep)) if sep is not None else 1
    values: list[str] = []
    shown: list[str] = []
    numbers: list[int] = []
    short: list[int] = []
    for number, text in body:
        if sep is not None:
            cells = split_fields(raw[number - 1], sep)
        else:  # one column: a row may still end with separators (``800,``)
            own = header_separator(text)
            parts = split_fields(text, own) if own is not None else [_unquoted(text)]
            cells = [parts[0] if not any(parts[1:]) else _unquoted(text)]
        fields = _trailing_empty_dropped(cells)
        if not fields:  # only separators (``,,``: an Excel export's last rows), as a blank line
            continue
        if len(fields) > width:
            hint = ": a decimal comma needs ';' or tab between the columns" if sep == "," else ""
            problem = (
                f"the row has {len(fields)} fields where the header has {width} "
                f"(separated by {sep!r}){hint}"
            )
            raise RecordingFormatError(problem, path=path, line=number, summary=problem)
        if len(cells) <= layout.column:
            problem = (
                f"the row has {len(cells)} fields where the header has {width} "
                f"(separated by {sep!r}): it ends before the RR column (column "
                f"{layout.column + 1})"
            )
            raise RecordingFormatError(problem, path=path, line=number, summary=problem)
        if len(cells) < width and layout.column > 0:
            short.append(number)
        cell = cells[layout.column]
        if not cell:
            summary = f"no value in the RR column (column {layout.column + 1} of the header)"
            raise RecordingFormatError(
                f"no value in the RR column {quote(layout.column_name or '')} (column "
                f"{layout.column + 1} of the header): {quote(text)}",
                path=path,
                line=number,
                summary=summary,
            )
        if sep == "," and "," in cell:  # quoted ("0,8"): never a number, say why
            problem = (
                f"RR interval {quote(cell)} is not a number: a decimal comma needs ';' or tab "
                "between the columns"
            )
            raise RecordingFormatError(problem, path=path, line=number, summary=problem)
        shown.append(cell)
        # with ";" or tab between columns a comma is the decimal mark (0,736)
        values.append(cell.replace(",", ".") if sep in (";", "\t") else cell)
        numbers.append(number)
    return values, shown, numbers, short


#: What the body of a one-column file read by :func:`_one_column_values` may hold: ASCII digits,
#: ``.``, ``e``, signs, and spaces, tabs and line ends (anything else: the line-by-line path,
#: which reads or refuses it naming its line).
_NUMBERS_ONLY = re.compile(r"[0-9.eE+\- \t\r\n]*")
#: Two values on one line (``800 810``), which the line-by-line path refuses.
_TWO_ON_A_LINE = re.compile(r"[^ \t\r\n][ \t]+[^ \t\r\n]")
#: Line ends, as :func:`sensors.formats._common.split_lines` splits lines.
_LINE_END_RE = re.compile(r"\r\n|\r|\n")
#: Lines looked at for comments and a header before a one-column body.
_HEAD_LINES_MAX = 1000


def _head(text: str) -> tuple[list[Line], list[int]]:
    """The non-blank lines of ``text`` up to the first that is no ``#`` comment, and their ends.

    ``(lines, ends)``: ``lines`` as :func:`data_lines` gives them, ``ends[k]`` the offset in
    ``text`` just past the line end of ``lines[k]``. At most :data:`_HEAD_LINES_MAX` lines.
    """
    lines: list[Line] = []
    ends: list[int] = []
    pos, number = 0, 0
    while pos < len(text) and number < _HEAD_LINES_MAX:
        m = _LINE_END_RE.search(text, pos)
        end, after = (m.start(), m.end()) if m else (len(text), len(text))
        number += 1
        stripped = text[pos:end].strip()
        pos = after
        if stripped:
            lines.append((number, stripped))
            ends.append(after)
            if not stripped.startswith("#"):
                break
    return lines, ends


class _LazyBody:
    """The body lines of a one-column file, split only when a message or ``drop_zero`` needs them.

    ``numbers`` and ``shown`` are sequences over the body's non-blank lines (as
    :func:`read_plain`'s line-by-line path has them), materialised on first use: a file that
    reads without a problem never holds a Python object per line.
    """

    def __init__(self, text: str, skip: int) -> None:
        self._text = text
        self._skip = skip
        self._lines: list[Line] | None = None

    def lines(self) -> list[Line]:
        if self._lines is None:
            self._lines = data_lines(self._text)[self._skip :]
        return self._lines


class _BodyColumn(Sequence[Any]):
    """Line numbers (``which=0``) or texts (``which=1``) of a :class:`_LazyBody`."""

    def __init__(self, body: _LazyBody, which: int, n: int) -> None:
        self._body = body
        self._which = which
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [line[self._which] for line in self._body.lines()[i]]
        return self._body.lines()[i][self._which]

    def __iter__(self) -> Iterator[Any]:
        return (line[self._which] for line in self._body.lines())


def _one_column_values(
    text: str,
) -> tuple[NDArray[np.float64], PlainLayout, Sequence[str], Sequence[int]] | None:
    """A one-column file's values parsed in C, without a Python object per line, or ``None``.

    Memory (an upload took ~30x its size: a list of every line, then of ``(number, text)``
    pairs, then of tokens): a file of comment lines, an optional one-column header and one
    number per line is parsed whole by numpy; ``shown`` and the line numbers are lazy
    (:class:`_LazyBody`), for the messages that quote a line. ``None`` (read it line by line,
    as before) for anything else: a header with columns, a character other than digits, ``.``,
    ``e``, signs and white space, two values on a line, a value numpy does not read whole, or
    one that is not finite. What is read is what the line-by-line path reads (a test compares
    them), and every refusal is its refusal, naming the line.
    """
    head, ends = _head(text)
    if not head or head[-1][1].startswith("#"):
        return None
    try:
        layout = plain_layout(head)
    except RecordingFormatError:
        return None  # the line-by-line path says it
    if layout.separator is not None:
        return None
    # the body starts after the header, or after the comments before the first value
    start = ends[layout.skip - 1] if layout.skip else 0
    values = one_number_a_line(text, start)
    if values is None:
        return None
    n = values.shape[0]
    body = _LazyBody(text, layout.skip)
    return values, layout, _BodyColumn(body, 1, n), _BodyColumn(body, 0, n)


def one_number_a_line(text: str, start: int = 0) -> NDArray[np.float64] | None:
    """The numbers of ``text[start:]``, one a line, parsed whole by numpy, or ``None``.

    ``None`` unless every character is a digit, ``.``, ``e``, ``E``, a sign or white space, no
    line holds two values, numpy reads every value whole (as ``float`` reads it) and all are
    finite: the caller then reads the text line by line, whose refusals name the line. Blank
    lines are skipped (the caller checks for them where they matter). Used by the one-column
    readers of RR files (:func:`read_plain`) and of ECG/PPG signals
    (:mod:`sensors.formats.signal_csv`).
    """
    if _NUMBERS_ONLY.fullmatch(text, start) is None or _TWO_ON_A_LINE.search(text, start):
        return None
    body_text = text[start:]
    # values in the body (a run of characters other than white space, all of which are below
    # '!' in ASCII): numpy must have read exactly as many (it reads "   " as [-1.0])
    visible = np.frombuffer(body_text.encode("ascii"), dtype=np.uint8) > ord(" ")
    n = int(visible[:1].sum()) + int(np.count_nonzero(visible[1:] & ~visible[:-1]))
    del visible
    if n == 0:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            values = np.fromstring(body_text, dtype=np.float64, sep=" ")
    except (ValueError, DeprecationWarning):
        return None
    del body_text
    if values.shape[0] != n or not bool(np.all(np.isfinite(values))):
        return None
    return values


def _heart_rates_in_values(
    path: str, rr: NDArray[np.float64], layout: PlainLayout, rates: str, unit: str
) -> RecordingFormatError:
    """The error for values that are heart rates in bpm (:func:`heart_rate_like`).

    Under a header naming an RR column (``rr_ms``) the values are said to be no human RR
    intervals, not to look like heart rates: they may be an animal's RR intervals (a rat's
    150 - 200 ms), and the file already has the RR column the heart-rate advice asks for.
    """
    n = rr.shape[0]
    if layout.column_name is not None:
        pos = rr[rr > 0]
        return RecordingFormatError(
            f"column {quote(layout.column_name)} holds values no human RR interval has "
            f"({float(pos.min()):g}-{float(pos.max()):g} {unit}, median "
            f"{float(np.median(pos)):g}; a person's RR intervals lie within 250-2500 ms): "
            "hrvpace analyses human RR intervals (an animal's, under 250 ms, are not "
            "analysed); if the column holds heart rates in bpm, HRV needs the beat-to-beat "
            "intervals instead",
            path=path,
            summary="values no human RR interval has",
        )
    what = (
        "the value looks like a heart rate" if n == 1 else f"the {n} values look like heart rates"
    )
    return RecordingFormatError(
        _heart_rates_refused(f"{what} in bpm, not RR intervals ({rates})"),
        path=path,
        summary=_heart_rates_refused("heart rates in bpm, not RR intervals"),
    )


def _check_header_units(path: str, layout: PlainLayout, units: str | None) -> None:
    """Refuse ``units`` that contradict the units the header's RR column states."""
    if layout.units is not None and units is not None and units != layout.units:
        raise RecordingFormatError(
            f"the header's RR column {quote(layout.column_name or '')} is in {layout.units}; "
            f"units={units!r} (--units {units}) contradicts it",
            path=path,
            line=layout.header_line,
        )


def read_plain(path: str, *, units: str | None = None, drop_zero: bool = False) -> Recording:
    """One RR interval per line, or an RR column named by a header; blank lines are skipped.

    Leading ``#`` lines are comments. A header line may name the RR column among others
    (:func:`plain_layout`: ``rr_ms``, ``time_s,rr_ms,hr_bpm``, ``time;RR (s)``; with ``;`` or
    tab between columns decimal commas are read); only that column is read.

    Parameters
    ----------
    path
        The file.
    units
        Units of the values, ``"ms"`` or ``"s"``, or ``None``: the units the header's column
        name states, else ms. Never guessed from magnitudes; given units that contradict the
        header's are refused. Seconds are converted to ms and rounded to 1e-6 ms (1 ns) to
        drop float noise.
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
        ``meta["units"]`` the units read, ``meta["units_from"]`` ``"header"``, ``"given"`` or
        ``"default"``, ``meta["column"]`` the header's RR column name (``None``: no header),
        ``meta["short_row_lines"]`` the rows with fewer fields than a header with columns
        before the RR column, read positionally (:data:`SHORT_ROWS_NOTE`).
        An interval over 64 s is refused here unless most are (ms read as s): then
        ``read_recording``'s units check refuses the file with the flag that reads it.

    Raises
    ------
    RecordingFormatError
        A value is not a number, an interval is over 64 s after conversion to ms, or the whole
        series (at least ``BEAT_TIMES_MIN_RUN`` values) strictly increases: that is a file of
        cumulative beat times (e.g. gHRV ``beat_ascii.txt``), which must be named with
        ``format="ghrv_beats"``.
    """
    if units is not None and units not in _SCALE_TO_MS:
        raise ValueError(f"units must be 'ms' or 's', got {units!r}")
    text = read_text(path)
    shown: Sequence[str]
    numbers: Sequence[int]
    short: list[int] = []
    fast = _one_column_values(text)  # one number a line: parsed whole, no object per line
    if fast is not None:
        rr, layout, shown, numbers = fast
        _check_header_units(path, layout, units)
    else:
        raw = split_lines(text)
        lines = [(i, s) for i, line in enumerate(raw, start=1) if (s := line.strip())]
        layout = plain_layout(lines, path=path, raw=raw)
        body = lines[layout.skip :]
        if not body:
            raise RecordingFormatError("the file is empty (no RR intervals)", path=path)
        _check_header_units(path, layout, units)
        if layout.header is None:
            tokens = [t for _, t in body]
            shown, numbers = tokens, [n for n, _ in body]
            try:
                float(tokens[0])
            except ValueError:
                raise _no_rr_column(path, tokens[0], raw[numbers[0] - 1], numbers[0]) from None
        else:
            tokens, shown, numbers, short = _column(path, layout, body, raw)
            if not tokens:
                raise RecordingFormatError("the file is empty (no RR intervals)", path=path)
        del raw, lines, body
        rr = parse_floats(tokens, numbers, path=path, what="RR interval", shown=shown)
    used = layout.units or units or "ms"
    units_from = "header" if layout.units else "given" if units else "default"
    dropped: list[int] = []
    if drop_zero and bool(np.any(rr == 0.0)):
        zero = rr == 0.0
        dropped = [ln for ln, z in zip(numbers, zero, strict=True) if z]
        shown = [t for t, z in zip(shown, zero, strict=True) if not z]
        numbers = [ln for ln, z in zip(numbers, zero, strict=True) if not z]
        rr = rr[~zero]
        if rr.shape[0] == 0:
            raise RecordingFormatError("every RR interval is 0", path=path)
    if rr.shape[0] >= BEAT_TIMES_MIN_RUN and bool(np.all(np.diff(rr) > 0)):
        raise RecordingFormatError(
            f"the {rr.shape[0]} values strictly increase from {shown[0]} to {shown[-1]}: "
            "this looks like beat times, not RR intervals; read it with --format ghrv_beats "
            "(format='ghrv_beats') if it holds beat times in seconds",
            path=path,
        )
    # values that rise as beat times do are refused as such below, never as heart rates
    rates = None if rr.shape[0] >= 10 and _rising(rr) else heart_rate_like(rr)
    if rates is not None:
        raise _heart_rates_in_values(path, rr, layout, rates, used)
    signal = signal_like(rr) if layout.header is None else None  # a header names the RR column
    if signal is not None and _rising(rr):  # beat times with a repeated or misordered one
        raise RecordingFormatError(
            f"the {rr.shape[0]} values rise from {shown[0]} to {shown[-1]} (all but "
            f"{int(np.count_nonzero(np.diff(rr) <= 0))} step(s)): this looks like beat times, "
            "not RR intervals; read it with --format ghrv_beats (format='ghrv_beats') if it "
            "holds beat times in seconds (a time that does not rise is then named by its line)",
            path=path,
            summary="beat times, not RR intervals: read it with --format ghrv_beats",
        )
    if signal is not None:
        raise RecordingFormatError(
            f"the {rr.shape[0]} values look like a sampled signal (an ECG or PPG), not RR "
            f"intervals: {signal}; {_signal_hint()}; RR intervals read with a header line "
            "naming their column (rr_ms)",
            path=path,
            summary="a sampled signal (an ECG or PPG), not RR intervals",
        )
    rr_ms = s_to_ms(rr) if used == "s" else rr
    if (
        used == "s"
        and rr_ms.shape[0] > 1
        and not abs(float(rr_ms[0])) <= MAX_RR_MS
        and bool(np.all(np.abs(rr_ms[1:]) <= MAX_RR_MS))
    ):
        raise RecordingFormatError(
            f"RR interval {quote(shown[0])} is {float(rr_ms[0]):.6g} ms, beyond what any RR "
            f"interval can be (limit {MAX_RR_MS / 1000:g} s), and only the first value is: if "
            "it is the time of the first beat (a PhysioNet *_rr_secs.txt file), read it "
            "with --format physionet_rr_secs (format='physionet_rr_secs')",
            path=path,
            line=numbers[0],
        )
    # the 64-s limit is on the interval, so it is checked in ms, after any conversion; when
    # most values (more than half, counted: not the median, which one corrupt value of two
    # moves) are beyond it the units are wrong (ms read as s), not single values corrupt:
    # read_recording's units check refuses that with the flag that reads the file right
    beyond = int(np.count_nonzero(~(np.abs(rr_ms) <= MAX_RR_MS)))
    if not 2 * beyond > rr_ms.shape[0]:
        check_rr_values(rr_ms, numbers, path=path, shown=shown)
    t_s, gaps, contact = plain_timeline(rr_ms)
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="plain",
        meta={
            "path": path,
            "units": used,
            "units_from": units_from,
            "column": layout.column_name,
            "dropped_zero_lines": tuple(dropped),
            "short_row_lines": tuple(short),
        },
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
    rr_ms = s_to_ms(values[1:])
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

    Two beats more than 64 s (:data:`MAX_RR_MS`) apart are a signal loss (electrodes off),
    not an RR interval and not a corrupt value: the beat times keep the timeline whatever is
    missing, so nothing is stretched. The pause is left out: the beat that ends it starts the
    next interval, and that interval follows a gap (``gaps``; no successive difference across
    it), as ``hrv.clean`` makes a gap of a shorter pause that hides more than 3 beats (a
    60-s pause is read as an interval for it to label). ``meta["n_gaps"]`` counts them and
    ``meta["signal_loss_lines"]`` gives the line of the beat that ends each (``hrvpace
    analyze`` says them in ``read_as``). A loss at the very first or last step, a lone beat
    at either end more than 64 s from the rest, is refused naming its line: it gives no RR
    interval, and a typo (``48004.72`` for ``4800.472``, ``-5000``) is far more likely than a
    real beat, which may be deleted.
    Refused: a time more than :data:`MAX_DURATION_S` after the first (a corrupt value such as
    ``1e308``), and a file whose intervals are mostly over 64 s (times in ms, not seconds).

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
        steps_ms = s_to_ms(np.diff(times))
        span_s = times - times[0]
    bad = ~(steps_ms > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise RecordingFormatError(
            f"beat time {quote(tokens[i + 1])} is not after the previous one ({quote(tokens[i])}); "
            "beat times must strictly increase",
            path=path,
            line=lines[i + 1],
        )
    loss = ~(steps_ms <= MAX_RR_MS)
    if 2 * int(np.count_nonzero(loss)) > loss.shape[0]:
        # most steps beyond any RR: not signal losses but times in other units (or corrupt)
        check_rr_values(steps_ms, lines[1:], path=path, shown=tokens[1:])
    far = ~(span_s <= MAX_DURATION_S)
    if far.any():
        i = int(np.argmax(far))
        problem = (
            f"is {float(span_s[i]):.6g} s after the first beat, more than a recording can last "
            f"(limit {MAX_DURATION_S / 86_400:g} days): a corrupt value"
        )
        raise RecordingFormatError(
            f"beat time {quote(tokens[i])} {problem}",
            path=path,
            line=lines[i],
            summary=f"a beat time {problem}",
        )
    for i, (beat, other) in {0: (0, 1), loss.shape[0] - 1: (-1, -2)}.items():
        if loss[i]:  # a lone beat at either end, far from the rest: a typo, not a beat
            which = "first" if beat == 0 else "last"
            problem = (
                f"is {abs(float(times[beat] - times[other])):.6g} s from the "
                f"{'next' if beat == 0 else 'previous'} beat ({quote(tokens[other])}), more "
                "than any RR interval (limit "
                f"{MAX_RR_MS / 1000:g} s): a lone {which} beat, far more likely a typo than a "
                "beat after a signal loss; correct it, or delete the line (a lone beat gives no "
                "RR interval)"
            )
            raise RecordingFormatError(
                f"the {which} beat time {quote(tokens[beat])} {problem}",
                path=path,
                line=lines[beat],
                summary=f"the {which} beat time {problem}",
            )
    keep = ~loss
    rr_ms = steps_ms[keep]
    t_s = times[1:][keep]
    after_loss = np.concatenate(([False], loss[:-1]))  # the step after a loss starts anew
    gaps = after_loss[keep]
    first = int(np.argmax(keep))  # the beat before the first interval kept
    start = float(times[first])
    gaps[0] = False
    contact = np.full(rr_ms.shape[0], CONTACT_UNKNOWN, dtype=np.int8)
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s.copy(),
        gaps=gaps,
        contact=contact,
        source_format="ghrv_beats",
        start_s=start,
        meta={
            "path": path,
            "units": "s",
            "first_beat_s": float(times[0]),
            "n_gaps": int(np.count_nonzero(loss)),
            # the line of the beat that ends each signal loss (said in read_as)
            "signal_loss_lines": tuple(lines[i + 1] for i in np.flatnonzero(loss).tolist()),
        },
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
