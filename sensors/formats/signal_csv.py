"""Beats of a one-column ECG or PPG CSV file (formats ``ecg_csv`` and ``ppg_csv``).

One signal column of a CSV or text file (a header row is allowed; ``,``, ``;`` or tab
separated), at the ``sampling_rate_hz`` the caller states (a signal file does not say it);
the beats are the peaks :mod:`sensors.formats.signal_peaks` detects in it.
"""

from __future__ import annotations

import csv
import io

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import Recording, quote, read_text
from sensors.formats.signal_peaks import INVERTED_NOTE, _detect, _neurokit, _recording
from sensors.formats.text import one_number_a_line

__all__ = ["read_ecg_csv", "read_ppg_csv"]

#: Median beat interval of a signal recording: 250 ms - 3 s (240 - 20 bpm); outside, the
#: sampling rate given is most likely wrong.
_MIN_MEDIAN_BEAT_MS, _MAX_MEDIAN_BEAT_MS = 250.0, 3000.0


def _one_column(
    text: str, delimiter: str, channel: str | int | None
) -> tuple[NDArray[np.float64], str] | None:
    r"""A one-column signal parsed whole by numpy, or ``None``: read it line by line.

    A 5-min 360-Hz ECG took ~0.5 CPU-s line by line (a ``csv`` row, a list and a ``float`` per
    sample). Here: an optional one-column header, then one number a line
    (:func:`sensors.formats.text.one_number_a_line`) with no blank line among them, column 0
    asked for or none. Anything else (several columns, tab-separated, a quote, a lone ``\r``
    line end, a blank line between samples, a value that is not a finite number) is ``None``,
    and the line-by-line reader below reads or refuses it as before, naming the line; what is
    read here is what it reads (tests/sensors/test_signal_csv_parse.py compares them).
    """
    if delimiter == "\t" or '"' in text or text.count("\r") != text.count("\r\n"):
        return None
    stripped = text.lstrip()
    if not stripped:
        return None
    newline = stripped.find("\n")
    first = (stripped if newline < 0 else stripped[:newline]).rstrip("\r")
    try:
        cells = [c.strip() for c in next(csv.reader([first], delimiter=delimiter))]
    except csv.Error:  # e.g. a field over csv's limit: the line reader refuses it by line
        return None
    try:
        [float(c) for c in cells]
        header: str | None = None
        start = 0
    except ValueError:
        if len(cells) != 1 or newline < 0:
            return None
        header, start = cells[0], len(text) - len(stripped) + newline + 1
    if not (channel is None or channel == 0 or (header is not None and channel == header)):
        return None
    values = one_number_a_line(text, start)
    if values is None:
        return None
    body = text[start:].strip()
    if values.shape[0] != body.count("\n") + 1:
        return None  # a blank line between samples: a missing sample, refused with its line
    return values, header if header is not None else "column 0"


def _read_signal_csv(path: str, channel: str | int | None) -> tuple[NDArray[np.float64], str]:
    text = read_text(path)
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    if "\t" in sample and sample.count("\t") > sample.count(delimiter):
        delimiter = "\t"
    fast = _one_column(text, delimiter, channel)
    if fast is not None:
        return fast
    # newline=None: universal newlines, so a file with old Mac line endings (a lone \r) reads
    # as lines too (csv raised "new-line character seen in unquoted field" on it)
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        rows = [(i + 1, row) for i, row in enumerate(reader)]
    except csv.Error as exc:  # e.g. a NUL byte: say where, as every refusal does
        raise RecordingFormatError(
            f"not a table the CSV reader can split ({exc})", path=path, line=reader.line_num
        ) from None
    rows = [(n, [c.strip() for c in r]) for n, r in rows]
    filled = [k for k, (_, r) in enumerate(rows) if any(r)]
    if not filled:
        raise RecordingFormatError("the file is empty", path=path)
    # blank lines before the first row (or the header's first sample) and after the last are
    # no samples; between rows each is a missing sample (dropping it would shift every later
    # sample in time)
    rows = rows[filled[0] : filled[-1] + 1]
    header: list[str] | None = None
    first_line, first = rows[0]
    try:
        [float(c) for c in first]
    except ValueError:
        header, rows = first, rows[1:]
        # blank lines between the header and the first sample are no samples either
        while rows and not any(rows[0][1]):
            rows = rows[1:]
    width = len(header) if header is not None else len(rows[0][1]) if rows else 0
    if channel is None:
        if width != 1:
            names = ", ".join(header) if header else f"{width} unnamed columns"
            raise RecordingFormatError(
                f"expected one signal column, found {width} ({quote(names)}): choose one with "
                "channel= (the command line's --channel; a column name or 0-based index)",
                path=path,
                line=first_line,
            )
        col = 0
    elif isinstance(channel, int):
        col = channel
    elif header is not None and channel in header:
        col = header.index(channel)
    else:
        raise RecordingFormatError(
            f"no column named {quote(str(channel))}"
            + (f"; columns: {quote(', '.join(header))}" if header else " (the file has no header)")
            + " (channel=, the command line's --channel)",
            path=path,
        )
    if not 0 <= col < max(width, 1):
        raise RecordingFormatError(
            f"column index {col} is out of range: the file has {width} column(s) (channel=, the "
            "command line's --channel)",
            path=path,
        )
    values = np.empty(len(rows), dtype=np.float64)
    for k, (line, row) in enumerate(rows):
        if not any(row):
            values[k] = np.nan  # a blank line: a missing sample, refused below with its line
            continue
        if col >= len(row):
            raise RecordingFormatError(
                f"the row has {len(row)} column(s), column {col} is missing", path=path, line=line
            )
        if header is not None and any(row[width:]):  # "0,5" under "ecg": not column 0 = "0"
            raise RecordingFormatError(
                f"the row has {len(row)} fields where the header names {width} "
                f"({quote(', '.join(row))}): a decimal comma? Write decimals with a point, or "
                "separate the columns with ';' or a tab",
                path=path,
                line=line,
            )
        try:
            values[k] = float(row[col])
        except ValueError:
            raise RecordingFormatError(
                f"not a number: {quote(row[col])}", path=path, line=line
            ) from None
    missing = ~np.isfinite(values)
    if missing.any():
        k = int(np.argmax(missing))
        line, row = rows[k]
        what = quote(row[col]) if any(row) else "a blank line"
        raise RecordingFormatError(
            f"missing sample: {what} (sample {k}; {int(missing.sum())} missing or invalid in "
            "all): beats cannot be detected across missing samples, and leaving them out would "
            "shift every later sample in time; fill them in or cut the file there",
            path=path,
            line=line,
            summary="a missing sample (blank line, NaN or inf) in the signal",
        )
    name = header[col] if header is not None else f"column {col}"
    return values, name


def _read_csv(
    kind: str, path: str, sampling_rate_hz: float | None, channel: str | int | None
) -> Recording:
    if sampling_rate_hz is None:
        raise RecordingFormatError(
            f"an {kind}_csv file does not say its sampling rate: give it (sampling_rate_hz=, "
            "the command line's --sampling-rate)",
            path=path,
        )
    _neurokit(path)
    signal, name = _read_signal_csv(path, channel)
    peaks, quality, notes, inverted = _detect(kind, signal, float(sampling_rate_hz), path)
    median_ms = float(np.median(np.diff(peaks))) / float(sampling_rate_hz) * 1000.0
    if not _MIN_MEDIAN_BEAT_MS <= median_ms <= _MAX_MEDIAN_BEAT_MS:
        raise RecordingFormatError(
            f"the median beat interval is {median_ms:.0f} ms at {float(sampling_rate_hz):g} Hz "
            f"(a heart rate of {60_000 / median_ms:.0f} bpm): is the sampling rate right? "
            "(sampling_rate_hz=, the command line's --sampling-rate)",
            path=path,
        )
    detector = (
        "NeuroKit2 ecg_peaks (neurokit)" if kind == "ecg" else "NeuroKit2 ppg_peaks (elgendi)"
    )
    return _recording(
        peaks,
        float(sampling_rate_hz),
        source_format=f"{kind}_csv",
        quality=quality,
        kind=kind,
        meta={
            "path": path,
            "sampling_rate_hz": float(sampling_rate_hz),
            "channel": name,
            "beats_from": f"detected: {detector}",
            "detector_notes": tuple(notes),
            "inverted": inverted,
            "signal_notes": (INVERTED_NOTE,) if inverted else (),
        },
    )


def read_ecg_csv(
    path: str, *, sampling_rate_hz: float | None = None, channel: str | int | None = None
) -> Recording:
    """Beats (R peaks) of a one-column ECG CSV at ``sampling_rate_hz``."""
    return _read_csv("ecg", path, sampling_rate_hz, channel)


def read_ppg_csv(
    path: str, *, sampling_rate_hz: float | None = None, channel: str | int | None = None
) -> Recording:
    """Beats (systolic peaks) of a one-column PPG CSV at ``sampling_rate_hz``."""
    return _read_csv("ppg", path, sampling_rate_hz, channel)
