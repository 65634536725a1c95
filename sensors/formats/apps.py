"""CSV exports of phone apps that log a strap's RR intervals with timestamps (private).

Polar Sensor Logger and HRV Logger store a phone-clock timestamp with each RR interval, so
missing beats can be found from the timestamps (rule: :mod:`sensors.formats.gaps`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    CONTACT_UNKNOWN,
    Recording,
    check_rr_values,
    data_lines,
    parse_floats,
    quote,
    read_text,
)
from sensors.formats.gaps import infer_gaps, timeline_with_gaps

__all__ = [
    "looks_like_hrv_logger",
    "looks_like_polar_sensor_logger",
    "read_hrv_logger",
    "read_polar_sensor_logger",
]

#: Names of the first column (the phone's time) in the Polar Sensor Logger versions' exports
#: (RR and PPI alike), and the interval column of its RR exports.
PSL_TIME_NAMES = ("phone timestamp", "phone data rx timestamp")
_PSL_RR = "rr-interval [ms]"
_HRVL_TIME = ("date", "timestamp")
_HRVL_SINCE = ("since start", "since_start")


def _header_fields(line: str, sep: str) -> list[str]:
    return [f.strip().lower() for f in line.split(sep)]


def looks_like_polar_sensor_logger(first_line: str) -> bool:
    """True for an RR export header: the phone's time first, an ``RR-interval [ms]`` column."""
    names = [f for f in _header_fields(first_line, ";") if f]
    return bool(names) and names[0] in PSL_TIME_NAMES and _PSL_RR in names


def looks_like_hrv_logger(first_line: str) -> bool:
    """True for an HRV Logger RR header: ``date,rr,since start`` or ``timestamp,rr,since_start``."""
    fields = _header_fields(first_line, ",")
    return (
        "rr" in fields
        and any(f in fields for f in _HRVL_TIME)
        and any(f in fields for f in _HRVL_SINCE)
    )


def _parse_timestamps(
    tokens: Sequence[str], lines: Sequence[int], *, path: str
) -> tuple[NDArray[np.float64], bool]:
    """Unix seconds of each timestamp and whether any carried a time zone.

    Accepts epoch milliseconds (all digits) or ISO 8601 date-times (``T`` or space between
    date and time). Naive date-times are phone local time with no zone in the file; they are
    read as if UTC, which keeps every difference right (only differences are used).
    """
    if all(t.isdigit() for t in tokens):  # epoch ms (digits beyond ASCII are refused there)
        return parse_floats(tokens, lines, path=path, what="timestamp") / 1000.0, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            stamps = np.array(tokens, dtype="datetime64[us]")
        if np.isnat(stamps).any():
            raise ValueError("NaT")
        return stamps.astype(np.int64).astype(np.float64) / 1e6, False
    except (ValueError, Warning):
        pass
    out = np.empty(len(tokens), dtype=np.float64)
    aware = False
    for k, (tok, line) in enumerate(zip(tokens, lines, strict=True)):
        try:
            stamp = dt.datetime.fromisoformat(tok)
        except ValueError:
            raise RecordingFormatError(
                f"timestamp {quote(tok)} is not a date-time", path=path, line=line
            ) from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        else:
            aware = True
        out[k] = stamp.timestamp()
    return out, aware


def _rows(
    path: str, *, sep: str, columns: Sequence[int], n_fields: int, fmt: str
) -> tuple[list[list[str]], list[int], str]:
    lines = data_lines(read_text(path))
    if not lines:
        raise RecordingFormatError(f"the file is empty (expected a {fmt} header)", path=path)
    header = lines[0][1]
    cols: list[list[str]] = [[] for _ in columns]
    numbers: list[int] = []
    for number, text in lines[1:]:
        fields = text.split(sep)
        if len(fields) < n_fields or any(not fields[c].strip() for c in columns):
            raise RecordingFormatError(
                f"missing column: expected {n_fields} fields separated by {sep!r}, "
                f"found {len(fields)}: {quote(text)}",
                path=path,
                line=number,
            )
        for out, c in zip(cols, columns, strict=True):
            out.append(fields[c].strip())
        numbers.append(number)
    if not numbers:
        raise RecordingFormatError(f"the file is empty (a {fmt} header, no beats)", path=path)
    return cols, numbers, header


def _timed_recording(
    *,
    rr_ms: NDArray[np.float64],
    arrived_at: NDArray[np.float64],
    source_format: str,
    meta: dict[str, object],
    utc: bool,
) -> Recording:
    # naive phone local time steps with daylight saving: that is no loss of beats
    gaps, missing_s = infer_gaps(rr_ms, arrived_at, local_clock=not utc)
    # true UTC (a zone in the file, or epoch ms) says so; naive phone time stays naive
    start = dt.datetime.fromtimestamp(float(arrived_at[0]), dt.UTC)
    meta["start_time"] = (start if utc else start.replace(tzinfo=None)).isoformat()
    meta["n_gaps"] = int(gaps.sum())
    return Recording(
        rr_ms=rr_ms,
        t_s=timeline_with_gaps(rr_ms, missing_s),
        gaps=gaps,
        contact=np.full(rr_ms.shape[0], CONTACT_UNKNOWN, dtype=np.int8),
        source_format=source_format,
        arrived_at=arrived_at,
        meta=meta,
    )


def read_polar_sensor_logger(path: str) -> Recording:
    """Polar Sensor Logger RR export: ``Phone timestamp;RR-interval [ms]``, ``;`` separated.

    Rows look like ``2026-06-01T21:17:07.832;1111``: the phone's local time (ISO 8601, no zone)
    and the RR interval in ms. The timestamps become ``arrived_at`` (read as UTC; the file
    has no zone, see ``meta["timezone"]``) and gaps are inferred from them.

    The app's versions lay the file out differently; every header whose first column is the
    phone's time (``Phone timestamp`` or ``Phone Data RX timestamp``) and that has an
    ``RR-interval [ms]`` column is read, e.g. ``Phone timestamp;sensor timestamp [ns];HR
    [bpm];RR-interval [ms]`` (one row per RR, the notification's heart rate repeated). A row
    whose RR field is empty is a heart-rate notification that carried no RR: it is skipped
    (counted in ``meta["rows_without_rr"]``), never read as a beat.

    The header and row layout were confirmed from several public parsers and README examples of
    the app's ``*_RR.txt`` export; whether the app stamps each RR with its arrival time or
    back-dates it is described both ways. The gap rule handles both: with back-dated stamps it
    finds every lost beat, with arrival stamps the dropouts longer than the latency band.

    References
    ----------
    Polar Sensor Logger (Jukka Happonen, Android app), RR export; Polar BLE SDK.
    """
    lines = data_lines(read_text(path))
    if not lines:
        raise RecordingFormatError(
            "the file is empty (expected a Polar Sensor Logger header)", path=path
        )
    header = lines[0][1]
    if not looks_like_polar_sensor_logger(header):
        raise RecordingFormatError(
            f"not a Polar Sensor Logger RR export: header is {quote(header)}, expected "
            "'Phone timestamp;...;RR-interval [ms]'",
            path=path,
            line=lines[0][0],
        )
    rr_col = _header_fields(header, ";").index(_PSL_RR)
    ts: list[str] = []
    rr_tok: list[str] = []
    numbers: list[int] = []
    without_rr = 0
    for number, text in lines[1:]:
        fields = text.split(";")
        if not fields[0].strip():
            raise RecordingFormatError(
                f"missing phone timestamp: {quote(text)}", path=path, line=number
            )
        if len(fields) == rr_col and rr_col > 1 and all(f.strip() for f in fields):
            without_rr += 1  # columns up to the heart rate, no RR field at all: no RR either
            continue
        if len(fields) <= rr_col:
            raise RecordingFormatError(
                f"missing column: expected {rr_col + 1} fields separated by ';', "
                f"found {len(fields)}: {quote(text)}",
                path=path,
                line=number,
            )
        if not fields[rr_col].strip():
            without_rr += 1  # a notification with heart rate but no RR
            continue
        ts.append(fields[0].strip())
        rr_tok.append(fields[rr_col].strip())
        numbers.append(number)
    if not numbers:
        raise RecordingFormatError(
            "the file is empty (a Polar Sensor Logger header, no RR intervals)", path=path
        )
    rr_ms = parse_floats(rr_tok, numbers, path=path, what="RR interval")
    check_rr_values(rr_ms, numbers, path=path, shown=rr_tok)
    arrived_at, aware = _parse_timestamps(ts, numbers, path=path)
    meta: dict[str, object] = {
        "path": path,
        "units": "ms",
        "device": "Polar Sensor Logger",
        "timezone": "from the file" if aware else "none in the file (phone local time, as UTC)",
        "rows_without_rr": without_rr,
    }
    return _timed_recording(
        rr_ms=rr_ms,
        arrived_at=arrived_at,
        source_format="polar_sensor_logger",
        meta=meta,
        utc=aware,
    )


def read_hrv_logger(path: str) -> Recording:
    """HRV Logger (Marco Altini) RR export, comma separated, columns found by name.

    Two header spellings are known and both are read: ``date,rr,since start`` with local
    date-times such as ``2025-03-15 09:00:15.123`` (RRational data-format guide) and
    ``timestamp, rr, since_start`` with Unix epoch milliseconds (a real export in the public
    repository ChristianKoplenig/hrv_public). ``rr`` is in ms; ``since start`` (the running sum
    of RR in ms) is not needed. The timestamps are phone arrival times (several beats of one
    notification share nearly one stamp); they become ``arrived_at`` and gaps are inferred
    from them.

    References
    ----------
    Altini M. Heart Rate Variability Logger app, https://www.hrv.tools/hrv-logger-faq.html
    """
    text_lines = data_lines(read_text(path))
    if not text_lines:
        raise RecordingFormatError("the file is empty (expected an HRV Logger header)", path=path)
    header = text_lines[0][1]
    if not looks_like_hrv_logger(header):
        raise RecordingFormatError(
            f"not an HRV Logger RR export: header is {quote(header)}, expected columns "
            "'date' (or 'timestamp'), 'rr' and 'since start'",
            path=path,
            line=text_lines[0][0],
        )
    fields = _header_fields(header, ",")
    t_col = next(fields.index(f) for f in _HRVL_TIME if f in fields)
    rr_col = fields.index("rr")
    (ts, rr_tok), numbers, _ = _rows(
        path, sep=",", columns=(t_col, rr_col), n_fields=len(fields), fmt="HRV Logger"
    )
    rr_ms = parse_floats(rr_tok, numbers, path=path, what="RR interval")
    check_rr_values(rr_ms, numbers, path=path, shown=rr_tok)
    arrived_at, aware = _parse_timestamps(ts, numbers, path=path)
    epoch = all(t.isdigit() for t in ts)
    meta: dict[str, object] = {
        "path": path,
        "units": "ms",
        "device": "HRV Logger",
        "timezone": "UTC (epoch ms)"
        if epoch
        else ("from the file" if aware else "none in the file (phone local time, as UTC)"),
    }
    return _timed_recording(
        rr_ms=rr_ms,
        arrived_at=arrived_at,
        source_format="hrv_logger",
        meta=meta,
        utc=aware or epoch,
    )
