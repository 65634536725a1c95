"""Apple Health ``export.xml``: the beat-to-beat series of Apple Watch HRV readings (private).

An Apple Watch takes a heart-rate-variability reading now and then (about a minute long) and
stores it as a ``Record`` of type ``HKQuantityTypeIdentifierHeartRateVariabilitySDNN`` whose
``HeartRateVariabilityMetadataList`` lists the beats::

    <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Apple Watch"
            unit="ms" startDate="2017-11-22 19:14:47 -0400" endDate="..." value="32.1111">
      <HeartRateVariabilityMetadataList>
        <InstantaneousBeatsPerMinute bpm="95" time="6:14:48.94 PM"/>
        <InstantaneousBeatsPerMinute bpm="94" time="6:14:49.58 PM"/>

Each entry is one beat: its clock time (hundredths of a second; 12- or 24-hour, ``.`` or ``,``
before the fraction, a plain or narrow no-break space before AM/PM, as exports from different
locales and iOS versions write it) and the instantaneous heart rate of the interval ending at it
(``bpm = 60 / (t_i - t_{i-1})``, rounded). The intervals are the differences of consecutive
times (10 ms resolution); the first entry only starts the series. Where the two disagree (the
interval from the times differs from ``60000 / bpm`` by more than 15 % and 60 ms), beats are
missing between the entries: the beat is marked as a gap and its interval is ``60000 / bpm``
(rounded heart rate, a few ms off). Only time differences are used: the clock times carry no
date or zone and do not always agree with the record's ``startDate`` (which gives ``meta``
its ``start_time``).

One series is one recording (``read_recording(..., series=k)``, default the latest);
:func:`read_apple_health_series` returns them all. The file is parsed as a stream (exports
are often gigabytes); only these records are kept.

References
----------
Apple Inc. HealthKit: ``HKQuantityTypeIdentifier.heartRateVariabilitySDNN`` and
``HKHeartbeatSeriesSample`` (beat-to-beat measurements, Apple Watch). Apple Health export
format as seen in public parsers of ``export.xml``.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any, cast

import numpy as np

from sensors.errors import RecordingFormatError
from sensors.formats._common import CONTACT_UNKNOWN, Recording, quote
from sensors.formats.text import s_to_ms

__all__ = ["looks_like_apple_health", "read_apple_health", "read_apple_health_series"]

_HRV_TYPE = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
_TIME_RE = re.compile(
    r"^\s*(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?\s*(?:\u202f|\u00a0)?\s*([AaPp][Mm])?\s*$"
)
_MISMATCH_REL, _MISMATCH_MS = 0.15, 60.0
_ROOT_RE = re.compile(r"<!DOCTYPE\s+HealthData\b|<HealthData\b")


def looks_like_apple_health(head: str) -> bool:
    """True when the first kilobytes hold an export's ``<!DOCTYPE HealthData`` or root."""
    return bool(_ROOT_RE.search(head))


def _seconds_of_day(text: str) -> float | None:
    m = _TIME_RE.match(text)
    if m is None:
        return None
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    fraction = float(f"0.{m[4]}") if m[4] else 0.0
    if m[5]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m[5].lower() == "pm" else 0)
    if hour > 23 or minute > 59 or second > 60:
        return None
    return hour * 3600 + minute * 60 + second + fraction


def _parse_date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


def _series_recording(
    path: str, beats: list[tuple[str | None, str | None]], record: dict[str, str], index: int
) -> Recording:
    where = f"series {index} (startDate {record.get('startDate', '?')})"
    times: list[float] = []
    bpms: list[float] = []
    for k, (bpm_text, time_text) in enumerate(beats):
        sod = _seconds_of_day(time_text or "")
        if sod is None:
            raise RecordingFormatError(
                f"{where}, beat {k}: time {quote(str(time_text))} is not a clock time", path=path
            )
        try:
            bpm = float("nan") if bpm_text is None else float(bpm_text)
        except ValueError:
            bpm = float("nan")
        if not (np.isfinite(bpm) and 20.0 <= bpm <= 300.0):
            raise RecordingFormatError(
                f"{where}, beat {k}: heart rate {quote(str(bpm_text))} is not a number of "
                "beats per minute (20-300)",
                path=path,
            )
        if times:
            while sod <= times[-1] - 43_200:  # past midnight
                sod += 86_400
            if sod <= times[-1]:
                raise RecordingFormatError(
                    f"{where}, beat {k}: time {quote(str(time_text))} is not after the previous "
                    "one",
                    path=path,
                )
        times.append(sod)
        bpms.append(bpm)
    t = np.asarray(times)
    from_times = s_to_ms(np.diff(t))  # 1-ns rounding: whole-ms steps stay whole (pNN50 ties)
    from_bpm = 60_000.0 / np.asarray(bpms[1:])
    mismatch = np.abs(from_times - from_bpm)
    gaps = (mismatch > _MISMATCH_REL * from_bpm) & (mismatch > _MISMATCH_MS)
    rr_ms = np.where(gaps, from_bpm, from_times)
    start = _parse_date(record.get("startDate"))
    meta: dict[str, object] = {
        "path": path,
        "units": "ms",
        "device": record.get("sourceName") or "Apple Health",
        "series": index,
        "start_time": start.isoformat() if start is not None else None,
        "sdnn_ms_reported": float(record["value"]) if _is_number(record.get("value")) else None,
        "n_gaps": int(gaps.sum()),
    }
    return Recording(
        rr_ms=rr_ms,
        t_s=t[1:] - t[0],
        gaps=gaps,
        contact=np.full(rr_ms.shape[0], CONTACT_UNKNOWN, dtype=np.int8),
        source_format="apple_health",
        heart_rate_bpm=np.asarray(bpms[1:]),
        start_s=0.0,
        meta=meta,
    )


def _is_number(text: str | None) -> bool:
    if text is None:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_apple_health_series(path: str) -> list[Recording]:
    """Every beat-to-beat series of an Apple Health ``export.xml``, oldest first.

    Series with fewer than 2 beats are skipped (no interval). Raises
    :class:`sensors.RecordingFormatError` for a file that is not XML, not an export, or holds
    no series, and for a beat entry that breaks the layout (line number given).
    """
    out: list[Recording] = []
    record: dict[str, str] | None = None
    beats: list[tuple[str | None, str | None]] = []
    root: ET.Element | None = None
    depth = 0
    try:
        parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start", "end"))
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                parser.feed(chunk)
                for event_item in parser.read_events():
                    # "start"/"end" events are (event, element) pairs
                    event, elem = cast("tuple[str, ET.Element]", event_item)
                    tag = elem.tag
                    if event == "start":
                        depth += 1
                        if depth == 1 and tag == "HealthData":
                            root = elem
                        elif tag == "Record" and elem.get("type") == _HRV_TYPE:
                            record = dict(elem.attrib)
                            beats = []
                        elif tag == "InstantaneousBeatsPerMinute" and record is not None:
                            beats.append((elem.get("bpm"), elem.get("time")))
                        continue
                    depth -= 1
                    if tag == "Record" and record is not None:
                        if len(beats) >= 2:
                            out.append(_series_recording(path, beats, record, len(out)))
                        record = None
                    if depth == 1 and root is not None:
                        root.clear()  # what was read is dropped: memory stays bounded
            parser.close()
    except OSError as exc:
        raise RecordingFormatError(
            f"cannot read the file ({exc.strerror or exc})", path=path
        ) from exc
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise RecordingFormatError(f"not well-formed XML: {exc}", path=path, line=line) from None
    if root is None:
        raise RecordingFormatError(
            "not an Apple Health export: no <HealthData> root element", path=path
        )
    if not out:
        raise RecordingFormatError(
            "the export holds no beat-to-beat series (Records of type "
            f"{_HRV_TYPE} with InstantaneousBeatsPerMinute entries)",
            path=path,
        )
    return out


def read_apple_health(path: str, *, series: int = -1) -> Recording:
    """One beat-to-beat series of an Apple Health export.

    ``series`` counts from 0, the oldest, or back from -1, the latest (``-N..-1``);
    ``meta["n_series"]`` says how many there are.
    """
    every = read_apple_health_series(path)
    if not -len(every) <= series < len(every):
        raise RecordingFormatError(
            f"series {series} does not exist: the export holds {len(every)} series "
            f"(0..{len(every) - 1} count from the oldest, -{len(every)}..-1 from the latest)",
            path=path,
        )
    rec = every[series]
    meta = dict(rec.meta)
    meta["n_series"] = len(every)
    return Recording(
        rr_ms=rec.rr_ms.copy(),
        t_s=rec.t_s.copy(),
        gaps=rec.gaps.copy(),
        contact=rec.contact.copy(),
        source_format=rec.source_format,
        heart_rate_bpm=None if rec.heart_rate_bpm is None else rec.heart_rate_bpm.copy(),
        start_s=rec.start_s,
        meta=meta,
    )
