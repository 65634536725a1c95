"""Garmin FIT activity files with beat-to-beat (HRV) messages (private).

A Garmin watch or chest strap logging "HRV" (on many devices a setting: "Log HRV", or always
with an HRM-Pro/HRM-Dual) writes ``hrv`` messages (global message 78) into the activity's FIT
file: each holds up to five beat-to-beat intervals in its ``time`` field (uint16, 1/1000 s),
in order, padded with the invalid value 0xFFFF. The intervals of all ``hrv`` messages, in file
order, are the recording; the file's ``file_id.time_created`` (or the first ``session`` start)
gives ``meta["start_time"]``. The messages carry no beat times, so no gap can be inferred (an
untimed format, as plain RR files).

Read with Garmin's own FIT SDK (``garmin-fit-sdk``, the ``fit`` extra), which checks the file's
header and CRC: a corrupt or truncated file is refused with the SDK's reason.

References
----------
Garmin. FIT SDK, Profile: message ``hrv`` (78), field ``time`` (s, scale 1000, array).
https://developer.garmin.com/fit/
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hrv.errors import install_hint
from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    MAX_RECORDING_BYTES,
    Recording,
    plain_timeline,
    quote,
)
from sensors.formats.text import s_to_ms

__all__ = ["looks_like_fit", "read_fit"]

#: Intervals at or above this are the uint16 invalid value 0xFFFF (65.535 s), i.e. padding.
_INVALID_S = 65.5


def looks_like_fit(head: bytes) -> bool:
    """True for a FIT file header: ``.FIT`` at bytes 8-11."""
    return len(head) >= 12 and head[8:12] == b".FIT"


def read_fit(path: str) -> Recording:
    """RR intervals from the ``hrv`` messages of a Garmin FIT file."""
    try:
        from garmin_fit_sdk import Decoder, Stream
    except ImportError:
        raise RecordingFormatError(
            f"reading FIT files needs Garmin's FIT SDK ({install_hint('fit')})", path=path
        ) from None
    p = Path(path)
    try:
        raw = p.read_bytes() if p.stat().st_size <= MAX_RECORDING_BYTES else None
    except OSError as exc:
        raise RecordingFormatError(
            f"cannot read the file ({exc.strerror or exc})", path=path
        ) from exc
    if raw is None:
        raise RecordingFormatError(
            f"the file is larger than {MAX_RECORDING_BYTES // 2**20} MiB, the limit for a "
            "recording (split it)",
            path=path,
        )
    if not looks_like_fit(raw):
        raise RecordingFormatError("not a FIT file: no '.FIT' signature in its header", path=path)
    try:
        if not Decoder(Stream.from_byte_array(bytearray(raw))).check_integrity():
            raise RecordingFormatError(
                "the FIT file is corrupt or truncated (its size or CRC does not match)", path=path
            )
        messages, errors = Decoder(Stream.from_byte_array(bytearray(raw))).read(
            convert_datetimes_to_dates=True
        )
    except RecordingFormatError:
        raise
    except Exception as exc:  # the SDK raises several kinds on broken files
        raise RecordingFormatError(f"unreadable FIT file: {quote(str(exc))}", path=path) from exc
    if errors:
        raise RecordingFormatError(f"unreadable FIT file: {quote(str(errors[0]))}", path=path)
    values: list[float] = []
    for mesg in messages.get("hrv_mesgs", []):
        times = mesg.get("time")
        if times is None:
            continue
        for v in times if isinstance(times, list | tuple) else [times]:
            if isinstance(v, int | float) and 0 < v < _INVALID_S:
                values.append(float(v))
    if not values:
        raise RecordingFormatError(
            "the FIT file holds no beat-to-beat intervals (no 'hrv' messages: turn on HRV "
            "logging on the watch, or record with a chest strap that sends them)",
            path=path,
        )
    rr_ms = s_to_ms(values)  # FIT stores seconds; 1-ns rounding as every reader converts
    start = _start_time(messages)
    meta: dict[str, object] = {
        "path": path,
        "units": "ms",
        "device": _device(messages),
        "start_time": start.isoformat() if start is not None else None,
        "n_hrv_messages": len(messages.get("hrv_mesgs", [])),
    }
    t_s, gaps, contact = plain_timeline(rr_ms)
    return Recording(
        rr_ms=rr_ms, t_s=t_s, gaps=gaps, contact=contact, source_format="fit", meta=meta
    )


def _start_time(messages: Mapping[str, Any]) -> dt.datetime | None:
    for key, field in (("session_mesgs", "start_time"), ("file_id_mesgs", "time_created")):
        for mesg in messages.get(key, []):
            value = mesg.get(field)
            if isinstance(value, dt.datetime):
                return value
    return None


def _device(messages: Mapping[str, Any]) -> str:
    for mesg in messages.get("file_id_mesgs", []):
        maker = mesg.get("manufacturer")
        product = mesg.get("garmin_product") or mesg.get("product_name") or mesg.get("product")
        if maker:
            return f"{maker} {product}" if product is not None else str(maker)
    return "FIT"
