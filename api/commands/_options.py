"""Command-line options that several subcommands share, spelled once."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from api.research.segments import Segment

from api.pipeline.speed import Speed, parse_speed
from sensors import RECORDING_FORMATS, SIGNAL_FORMATS

__all__ = [
    "BeatsFromOpt",
    "ChannelOpt",
    "EndOpt",
    "FormatOpt",
    "SamplingRateOpt",
    "SegmentsOpt",
    "SeriesOpt",
    "SignalOptions",
    "StartOpt",
    "UnitsOpt",
    "check_beats_from",
    "check_format",
    "check_within",
    "is_stdout",
    "output_problem",
    "read_speed",
    "segments_from_options",
    "signal_options",
]

#: Signal formats whose files do not state their sampling rate (``--sampling-rate`` required).
_RATE_REQUIRED = ("ecg_csv", "ppg_csv")

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help=f"Recording format ({', '.join(RECORDING_FORMATS)}), or an ECG/PPG signal "
        f"({', '.join(SIGNAL_FORMATS)}: beats detected, see --sampling-rate and --channel); "
        "detected when omitted (signal formats never are).",
    ),
]
SamplingRateOpt = Annotated[
    float | None,
    typer.Option(
        "--sampling-rate",
        metavar="HZ",
        help="Sampling rate (Hz) of an ecg_csv or ppg_csv signal: required there. WFDB and EDF "
        "headers state theirs (given anyway, it must agree). Other formats take none.",
    ),
]
ChannelOpt = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="Which signal holds the ECG/PPG: a wfdb or edf channel name (MLII, 'ECG II') or "
        "0-based index, or an ecg_csv/ppg_csv column name or index. Default: wfdb the first "
        "channel, edf the one labelled ECG/EKG (else PPG), csv the only column.",
    ),
]
BeatsFromOpt = Annotated[
    str,
    typer.Option(
        "--beats-from",
        metavar="auto|annotations|detect",
        help="--format wfdb only: where the beats come from. auto (default): the record's "
        "reference annotations (NAME.atr) when present, else R peaks detected in the ECG; "
        "annotations: the .atr file (refused without one); detect: always detect. read_as "
        "says which (every signal format says its channel and detector there).",
    ),
]
SeriesOpt = Annotated[
    int | None,
    typer.Option(
        "--series",
        metavar="K",
        help="Apple Health export.xml only (other files ignore it): which Apple Watch HRV "
        "reading to read: 0..N-1 count from the oldest, -N..-1 from the latest (-1 the "
        "latest, the default); which one was read, "
        "and of how many, is said in read_as.",
    ),
]
UnitsOpt = Annotated[
    str | None,
    typer.Option(
        "--units", help="Units of files that do not state theirs (plain): ms (default) or s."
    ),
]
StartOpt = Annotated[
    str | None,
    typer.Option(
        "--start", help="Analyse from this time on: seconds (300), mm:ss (05:00) or hh:mm:ss."
    ),
]
EndOpt = Annotated[
    str | None,
    typer.Option("--end", help="Analyse up to this time: seconds, mm:ss or hh:mm:ss."),
]
SegmentsOpt = Annotated[
    Path | None,
    typer.Option(
        "--segments",
        help="CSV of named segments (label,start,end), each analysed apart.",
    ),
]


def segments_from_options(
    start: str | None, end: str | None, segments_file: Path | None = None
) -> list[Segment] | None:
    """The segments the options ask for (``None``: the whole recording).

    Raises
    ------
    typer.BadParameter
        A bad time, ``--end`` not after ``--start``, ``--segments`` with ``--start``/``--end``,
        or an unusable segments file.
    """
    from api.research.segments import Segment, SegmentError, parse_time, read_segments

    try:
        if segments_file is not None:
            if start is not None or end is not None:
                raise typer.BadParameter("--segments cannot be combined with --start/--end")
            return read_segments(segments_file)
        if start is None and end is None:
            return None
        a = None if start is None else parse_time(start, what="--start")
        b = None if end is None else parse_time(end, what="--end")
    except SegmentError as exc:
        raise typer.BadParameter(str(exc)) from None
    if a is not None and b is not None and b <= a:
        raise typer.BadParameter(f"--end ({end}) must be after --start ({start})")
    label = f"{start or 'start'}-{end or 'end'}"
    return [Segment(label, a, b)]


@dataclass(frozen=True)
class SignalOptions:
    """``--sampling-rate`` and ``--channel`` checked, as :func:`sensors.read_recording` takes them.

    The keys are ``sampling_rate_hz`` and ``channel`` (a number is an index); empty for RR
    formats.
    """

    sampling_rate_hz: float | None = None
    channel: str | int | None = None

    def as_kwargs(self) -> dict[str, float | str | int]:
        """The options given, as keyword arguments of :func:`sensors.read_recording`."""
        out: dict[str, float | str | int] = {}
        if self.sampling_rate_hz is not None:
            out["sampling_rate_hz"] = self.sampling_rate_hz
        if self.channel is not None:
            out["channel"] = self.channel
        return out


def check_beats_from(beats_from: str, fmt: str | None) -> None:
    """``--beats-from`` is one of auto, annotations, detect, and not auto only with wfdb.

    Raises
    ------
    typer.BadParameter
        Another value, or annotations/detect without ``--format wfdb`` (only a WFDB record
        has reference annotations; other signals are always detected, RR files have no
        signal).
    """
    if beats_from not in ("auto", "annotations", "detect"):
        raise typer.BadParameter(
            f"must be auto, annotations or detect, got {beats_from!r}", param_hint="--beats-from"
        )
    if beats_from != "auto" and fmt != "wfdb":
        raise typer.BadParameter(
            "applies to --format wfdb only (a PhysioNet record's .atr annotations or detected "
            "R peaks); other signal formats are always detected",
            param_hint="--beats-from",
        )


def check_format(fmt: str | None) -> None:
    """``--format`` names a format :func:`sensors.read_recording` knows.

    Raises
    ------
    typer.BadParameter
        It does not; the message lists the RR and the signal formats.
    """
    if fmt is not None and fmt not in (*RECORDING_FORMATS, *SIGNAL_FORMATS):
        raise typer.BadParameter(
            f"unknown format {fmt!r}; RR formats: {', '.join(RECORDING_FORMATS)}; ECG/PPG "
            f"signals: {', '.join(SIGNAL_FORMATS)}",
            param_hint="--format",
        )


def signal_options(
    fmt: str | None,
    sampling_rate: float | None,
    channel: str | None,
    files: Sequence[str | os.PathLike[str]] = (),
) -> SignalOptions:
    """Check ``--sampling-rate`` and ``--channel`` against ``--format`` (and name the files).

    Parameters
    ----------
    fmt
        The ``--format`` given (``None``: detected, which is never a signal format).
    sampling_rate, channel
        The options as typed.
    files
        The recordings they are for, named in the messages.

    Raises
    ------
    typer.BadParameter
        ``--sampling-rate`` or ``--channel`` without a signal ``--format``; a rate that is not
        a finite number > 0; an ``ecg_csv``/``ppg_csv`` file without ``--sampling-rate``.
    """
    named = ", ".join(str(f) for f in files[:3]) + (", ..." if len(files) > 3 else "")
    where = f" {named}" if named else ""
    is_signal = fmt in SIGNAL_FORMATS
    for flag, value in (("--sampling-rate", sampling_rate), ("--channel", channel)):
        if value is not None and not is_signal:
            signals = ", ".join(SIGNAL_FORMATS)
            raise typer.BadParameter(
                f"applies to the ECG/PPG signal formats only ({signals}), which are never "
                f"detected: name one with --format for{where or ' the recording'}"
                if fmt is None
                else f"applies to the ECG/PPG signal formats only ({signals}), not to "
                f"--format {fmt}" + (f" ({named})" if named else ""),
                param_hint=flag,
            )
    if sampling_rate is not None and not (math.isfinite(sampling_rate) and sampling_rate > 0):
        raise typer.BadParameter(
            f"must be a number of Hz > 0, got {sampling_rate:g}", param_hint="--sampling-rate"
        )
    if fmt in _RATE_REQUIRED and sampling_rate is None:
        raise typer.BadParameter(
            f"--format {fmt} needs the signal's sampling rate in Hz (e.g. --sampling-rate "
            f"250): {fmt} files do not state it ({named or 'the recording'})",
            param_hint="--sampling-rate",
        )
    index: str | int | None = channel
    if channel is not None:
        text = channel.strip()
        if not text:
            raise typer.BadParameter(
                "is empty: give a channel name or index", param_hint="--channel"
            )
        index = int(text) if text.isdigit() else text
    return SignalOptions(sampling_rate, index)


def check_within(
    value: float, lo: float, hi: float, *, option: str, unit: str = "", why: str = ""
) -> None:
    """A usage error (exit code 2) naming ``option`` and the range unless ``lo <= value <= hi``.

    ``unit`` follows the range in the message (`` breaths/min``), ``why`` after it says whose
    range it is. NaN and infinities are outside every range.

    Raises
    ------
    typer.BadParameter
        ``Invalid value for '--option': must be within LO-HI UNIT (WHY), got VALUE``.
    """
    if math.isfinite(value) and lo <= value <= hi:
        return
    because = f" ({why})" if why else ""
    raise typer.BadParameter(
        f"must be within {_number(lo)}-{_number(hi)}{unit}{because}, got {_number(value)}",
        param_hint=f"'{option}'",
    )


def _number(x: float) -> str:
    """``x`` as typed: a whole number in full (4294967295, not 4.29497e+09), else ``:g``."""
    return str(int(x)) if math.isfinite(x) and float(x).is_integer() else f"{x:g}"


def read_speed(value: str) -> Speed:
    """``--speed`` read by the one speed parser (:func:`api.pipeline.speed.parse_speed`).

    Raises
    ------
    typer.BadParameter
        The value is refused (exit code 2), with the parser's message, the same as the API's.
    """
    try:
        return parse_speed(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--speed'") from None


def output_problem(target: Path) -> str | None:
    """Why the file ``target`` cannot be written (``None``: it can), checked before any work.

    A folder there, a missing folder or a file where its folder should be, no permission to
    write, the file stdout goes to (``> target``: writing it loses that), or what the system
    said of the name (``File name too long``: a name or folder name longer than it allows).
    """
    parent = target.parent if str(target.parent) else Path(".")
    try:  # is_dir/exists raise on a name too long (ENAMETOOLONG), a loop of links, ...
        if target.is_dir():
            return "it is a folder"
        if not parent.is_dir():
            if parent.exists():
                return f"{parent} is a file, not a folder"
            return f"the folder {parent} does not exist"
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        return "no permission to write there"
    if is_stdout(target):
        return "it is where stdout goes"
    return None


def is_stdout(path: Path) -> bool:
    """``path`` is the file stdout goes to (e.g. ``--json > path``): writing it loses that."""
    try:
        out, it = os.fstat(1), os.stat(path)
    except OSError:
        return False
    return (out.st_dev, out.st_ino) == (it.st_dev, it.st_ino)
