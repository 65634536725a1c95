"""Command-line options that several subcommands share, spelled once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from api.research.segments import Segment

from api.pipeline.speed import Speed, parse_speed
from sensors import RECORDING_FORMATS

__all__ = [
    "EndOpt",
    "FormatOpt",
    "SegmentsOpt",
    "StartOpt",
    "UnitsOpt",
    "read_speed",
    "segments_from_options",
]

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help=f"Recording format ({', '.join(RECORDING_FORMATS)}); detected when omitted.",
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
