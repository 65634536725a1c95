"""Polar HRM files (``.hrm``) recorded in R-R mode (private; use ``sensors.read_recording``)."""

from __future__ import annotations

import re

from sensors.errors import RecordingFormatError
from sensors.formats._common import (
    Recording,
    check_rr_values,
    parse_floats,
    plain_timeline,
    read_text,
    split_lines,
)

__all__ = ["looks_like_hrm", "read_polar_hrm"]

_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
#: ``Interval=238`` in ``[Params]`` marks R-R recording mode (RR intervals in ms in [HRData]).
_RR_MODE_INTERVAL = "238"
#: A file whose RR intervals add up to less than ``Length`` minus this much was cut short.
_TRUNCATION_TOLERANCE_S = 5.0


def looks_like_hrm(head: str) -> bool:
    """True when the first non-blank line of ``head`` is the ``[Params]`` section header."""
    for line in split_lines(head):
        if line.strip():
            return line.strip().lower() == "[params]"
    return False


def _hms_to_s(text: str) -> float | None:
    m = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", text.strip())
    if not m:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def read_polar_hrm(path: str) -> Recording:
    """Read a Polar HRM file in R-R mode: the ``[HRData]`` lines hold one RR interval in ms.

    ``[Params]`` must say ``Interval=238`` (R-R mode); a file of sampled heart rate is refused
    with that reason. Only the first column of ``[HRData]`` is read (extra columns that other
    ``SMode`` settings add, such as speed or cadence, are ignored). The file counts as
    truncated, and is refused, when ``[HRData]`` is missing or empty or when its RR intervals
    add up to more than 5 s less than the ``Length`` in ``[Params]``.

    ``meta`` gets ``device`` (``"Polar HRM (Monitor=N)"``), ``start_time`` (from ``Date`` and
    ``StartTime``), ``length_s``, ``version`` and every ``[Params]`` entry under ``params``.

    References
    ----------
    Polar Electro Oy, "Polar HRM2 File Format Description", version 1.4 (2009).
    """
    text = read_text(path)
    lines = split_lines(text)
    sections: dict[str, int] = {}
    for idx, raw in enumerate(lines):
        m = _SECTION.match(raw.strip())
        if m:
            sections.setdefault(m.group(1).strip().lower(), idx)
    if "params" not in sections:
        raise RecordingFormatError("not a Polar HRM file: no [Params] section", path=path, line=1)
    params: dict[str, str] = {}
    for raw in lines[sections["params"] + 1 :]:
        s = raw.strip()
        if _SECTION.match(s):
            break
        if "=" in s:
            key, _, value = s.partition("=")
            params[key.strip()] = value.strip()
    if "hrdata" not in sections:
        raise RecordingFormatError(
            "truncated Polar HRM file: no [HRData] section", path=path, line=len(lines)
        )
    interval = params.get("Interval")
    if interval != _RR_MODE_INTERVAL:
        raise RecordingFormatError(
            f"Polar HRM file is not in R-R mode (Interval={interval}; 238 means R-R): it holds "
            "sampled heart rate, not RR intervals",
            path=path,
            line=sections["params"] + 1,
        )
    tokens: list[str] = []
    numbers: list[int] = []
    for idx in range(sections["hrdata"] + 1, len(lines)):
        s = lines[idx].strip()
        if not s:
            continue
        if _SECTION.match(s):
            break
        tokens.append(s.split()[0])
        numbers.append(idx + 1)
    if not tokens:
        raise RecordingFormatError(
            "truncated Polar HRM file: [HRData] holds no RR intervals",
            path=path,
            line=sections["hrdata"] + 1,
        )
    rr_ms = parse_floats(tokens, numbers, path=path, what="RR interval")
    check_rr_values(rr_ms, numbers, path=path, shown=tokens)
    length_s = _hms_to_s(params.get("Length", ""))
    total_s = float(rr_ms.sum()) / 1000.0
    if length_s is not None and total_s < length_s - _TRUNCATION_TOLERANCE_S:
        raise RecordingFormatError(
            f"truncated Polar HRM file: its RR intervals cover {total_s:.1f} s but "
            f"Length={params['Length']} says {length_s:.1f} s",
            path=path,
            line=numbers[-1],
        )
    t_s, gaps, contact = plain_timeline(rr_ms)
    meta: dict[str, object] = {
        "path": path,
        "units": "ms",
        "device": f"Polar HRM (Monitor={params.get('Monitor', '?')})",
        "version": params.get("Version"),
        "length_s": length_s,
        "params": dict(params),
    }
    date, start = params.get("Date", ""), params.get("StartTime", "")
    if re.fullmatch(r"\d{8}", date):
        meta["start_time"] = f"{date[:4]}-{date[4:6]}-{date[6:]}" + (
            f"T{start}" if re.fullmatch(r"\d{2}:\d{2}:\d{2}(\.\d+)?", start) else ""
        )
    return Recording(
        rr_ms=rr_ms,
        t_s=t_s,
        gaps=gaps,
        contact=contact,
        source_format="polar_hrm",
        meta=meta,
    )
