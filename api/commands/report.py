"""``hrvpace report``: a self-contained HTML report (PNG plots inside) of a session or a file.

``SESSION_ID_OR_FILE`` is a recording file when such a file exists (read with
``sensors.read_recording``, ``--format``/``--units``/``--sampling-rate``/``--channel`` as for
``analyze``), else the id (or a
unique prefix of it) of a session in the service's database (``--data-dir``, env
``HRVPACE_DATA_DIR``), opened read-only.
Exit codes: 0 written (also when the only segments not reported were skipped beyond the
recording's end); 1 the data cannot be read or analysed, a report cannot be written, a segment
failed, or no report was written; 2 bad usage (``--out`` in no folder or naming a ``.pdf``) or
a missing extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.commands._options import (
    BeatsFromOpt,
    ChannelOpt,
    EndOpt,
    FormatOpt,
    SamplingRateOpt,
    SegmentsOpt,
    SeriesOpt,
    StartOpt,
    UnitsOpt,
    check_beats_from,
    check_format,
    segments_from_options,
    signal_options,
)
from api.commands._progress import QuietOpt, progress
from api.errors import SessionNotFoundError
from hrv.errors import HrvpaceError

if TYPE_CHECKING:
    from api.research.report import ReportData
    from sensors import Recording

__all__ = ["report"]


def report(
    target: Annotated[str, typer.Argument(help="A recording file, or a stored session's id.")],
    out: Annotated[
        Path, typer.Option("--out", help="The HTML file to write (the PDF goes beside it, .pdf).")
    ],
    png_dir: Annotated[
        Path | None, typer.Option("--png-dir", help="Also write each plot as a PNG here.")
    ] = None,
    fmt: FormatOpt = None,
    units: UnitsOpt = None,
    sampling_rate: SamplingRateOpt = None,
    channel: ChannelOpt = None,
    series: SeriesOpt = None,
    beats_from: BeatsFromOpt = "auto",
    start: StartOpt = None,
    end: EndOpt = None,
    segments_file: SegmentsOpt = None,
    quiet: QuietOpt = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The service's data folder (env HRVPACE_DATA_DIR)."),
    ] = None,
) -> None:
    """Write an HTML report and a PDF (tachogram, trends, spectrum, Poincaré, DFA, numbers).

    With --start/--end the report is of that stretch only; with --segments one report per
    named segment, OUT's name followed by the label (report-rest.html, report-task.html);
    a segment without beats is named on stderr and gets no report, the others are written,
    and a last line counts them. As analyze, one starting beyond the recording's end is
    skipped; one holding no RR interval or no beats left (all below the detector quality
    floor) fails: exit code 1, as when no report at all was written; so does one whose report
    cannot be written (a full disk, a folder at its name), the others are still written.
    An ECG/PPG signal file (--format wfdb, edf, ecg_csv, ppg_csv) is reported from its beats:
    detected R/pulse peaks, or a WFDB record's reference annotations (NAME.atr) when it has
    them (--beats-from chooses); ecg_csv and ppg_csv need --sampling-rate; --channel picks the
    signal. The report's read_as says the channel and where the beats came from. A report's
    files are written whole or not at all, the HTML moved in last (an earlier report stays as
    it was if they cannot be written).
    """
    from api.research import MissingExtraError
    from api.research.report import (
        from_recording,
        from_session,
        segment_data,
    )
    from api.research.segments import SegmentBeyondEndError, SegmentError, cut, file_label

    segments = segments_from_options(start, end, segments_file)
    if out.suffix.lower() == ".pdf":  # the PDF goes to OUT with .pdf: both would be one file
        typer.echo(
            f"hrvpace report: --out {out} names the HTML file, and the PDF is written beside it "
            f"with .pdf: give the HTML's name ({out.with_suffix('.html')})",
            err=True,
        )
        raise typer.Exit(2)
    if out.is_dir() or not (out.parent if str(out.parent) else Path(".")).is_dir():
        typer.echo(f"hrvpace report: cannot write --out {out}: no such folder", err=True)
        raise typer.Exit(2)

    check_format(fmt)
    check_beats_from(beats_from, fmt)
    signal = signal_options(fmt, sampling_rate, channel, [target])
    n_steps = 1 + (1 if segments is None else len(segments))
    empty: list[str] = []  # segments with no beats left: not reported, exit code 1
    skipped: list[str] = []  # segments beyond the recording's end: not reported, not failed
    try:
        with progress(f"reading {target}", n_steps, quiet=quiet) as step:
            raw: Recording | None = None
            if Path(target).is_file():
                from api.research.analysis import NO_BEATS_LEFT, NO_BEATS_LEFT_SEGMENT, read_notes
                from api.research.discover import choose_reading, export_table_problem
                from sensors import read_recording
                from sensors.formats.signal_peaks import leave_out_low_quality

                # hrvpace export's sidecar or metrics or contact table named on its own: what
                # it is and which file to report on instead, as analyze says it
                not_beats = export_table_problem(target, doing="report on") if fmt is None else None
                if not_beats is not None:
                    typer.echo(f"hrvpace report: {not_beats}", err=True)
                    raise typer.Exit(1)
                reading = choose_reading(target, format=fmt, units=units)
                rec = read_recording(
                    target,
                    format=reading.format,
                    units=reading.units,
                    sampling_rate_hz=signal.sampling_rate_hz,
                    channel=signal.channel,
                    series=series if reading.format == "apple_health" else None,
                    beats=beats_from,
                )
                if rec.n_beats == 0:
                    typer.echo(f"hrvpace report: {target}: the recording has no beats", err=True)
                    raise typer.Exit(1)
                raw = rec

                def as_analyze_reads(part: Recording) -> ReportData | None:
                    # as analyze reads it (a segment cut first): a PPG's stretches of low
                    # detector quality (motion) left out with a gap, an ECG's said (read_as;
                    # sensors.formats.signal_peaks); None: no beats left
                    part, _ = leave_out_low_quality(part)
                    if part.n_beats == 0:
                        return None
                    how = read_notes(reading.how, part, drop_zero=False, series=series)
                    return from_recording(part, path=target, read_as=how)

                if segments is None:
                    whole = as_analyze_reads(raw)
                    if whole is None:
                        typer.echo(f"hrvpace report: {target}: {NO_BEATS_LEFT}", err=True)
                        raise typer.Exit(1)
                    data = whole
                else:  # each segment is cut from the recording as read, then read as analyze
                    data = from_recording(raw, path=target, read_as=reading.how)
            else:
                from api.research.store import load_session, resolve_session_id
                from api.settings import load_settings

                db = load_settings(data_dir=data_dir).database_path
                session = load_session(db, resolve_session_id(db, target))
                if session.n_beats == 0:
                    typer.echo(f"hrvpace report: session {target} has no beats", err=True)
                    raise typer.Exit(1)
                data = from_session(session, database=db)
            step(1)
            if segments is None:
                written = _write(data, out, png_dir, step.describe)
                if isinstance(written, str):
                    typer.echo(f"hrvpace report: {written}", err=True)
                    raise typer.Exit(1)
                files = written
                step(2)
            else:
                files = []
                for k, seg in enumerate(segments, start=2):
                    try:
                        part = segment_data(data, seg)
                        piece = None if raw is None else cut(raw, seg)
                    except SegmentError as exc:
                        if segments_file is None:  # --start/--end: the one report asked for
                            raise
                        # as analyze: beyond the recording's end skipped, another segment
                        # without an interval failed; either way the others go on
                        if isinstance(exc, SegmentBeyondEndError):
                            reason = f"segment {seg.label}: skipped: {exc.reason}"
                            skipped.append(seg.label)
                        else:
                            reason = str(exc)
                            empty.append(seg.label)
                        typer.echo(
                            f"hrvpace report: {target}: {reason} (no report written for it)",
                            err=True,
                        )
                        step(k)
                        continue
                    if piece is not None:
                        read = as_analyze_reads(piece)
                        if read is None:  # as analyze: this segment fails, the others go on
                            typer.echo(
                                f"hrvpace report: {target}: segment {seg.label}: "
                                f"{NO_BEATS_LEFT_SEGMENT} (no report written for it)",
                                err=True,
                            )
                            empty.append(seg.label)
                            step(k)
                            continue
                        part = replace(
                            part,
                            provenance={**part.provenance, "read_as": read.provenance["read_as"]},
                            t_s=read.t_s,
                            rr_ms=read.rr_ms,
                            gaps=read.gaps,
                        )
                    if (short := part.provenance.get("segment_past_end")) is not None:
                        typer.echo(f"hrvpace report: {target}: warning: {short}", err=True)
                    target_out, target_png = out, png_dir
                    if segments_file is not None:
                        name = file_label(seg.label)
                        target_out = out.with_name(f"{out.stem}-{name}{out.suffix}")
                        target_png = None if png_dir is None else png_dir / name
                    say = _labelled(step.describe, f"segment {seg.label}: ")
                    written = _write(part, target_out, target_png, say)
                    if isinstance(written, str):
                        if segments_file is None:  # --start/--end: the one report asked for
                            typer.echo(f"hrvpace report: {written}", err=True)
                            raise typer.Exit(1)
                        # this segment's report failed (none of it written); the others go on
                        typer.echo(
                            f"hrvpace report: {target}: segment {seg.label}: {written} "
                            "(no report written for it)",
                            err=True,
                        )
                        empty.append(seg.label)
                        step(k)
                        continue
                    files += written
                    step(k)
    except SegmentError as exc:
        typer.echo(f"hrvpace report: {target}: {exc}", err=True)
        raise typer.Exit(1) from None
    except MissingExtraError as exc:
        typer.echo(f"hrvpace report: {exc}", err=True)
        raise typer.Exit(2) from None
    except SessionNotFoundError as exc:
        typer.echo(f"hrvpace report: {target}: not a file, and {exc}", err=True)
        raise typer.Exit(1) from None
    except HrvpaceError as exc:
        typer.echo(f"hrvpace report: {exc}", err=True)
        raise typer.Exit(1) from None
    for f in files:
        typer.echo(str(f))
    if segments is not None and (empty or skipped):
        n_skipped = f", {len(skipped)} skipped beyond the recording's end" if skipped else ""
        typer.echo(
            f"hrvpace report: {len(segments) - len(empty) - len(skipped)} of {len(segments)} "
            f"segment(s) reported, {len(empty)} failed{n_skipped}",
            err=True,
        )
    if empty or not files:
        raise typer.Exit(1)


def _write(
    data: ReportData,
    out: Path,
    png_dir: Path | None,
    step: Callable[[str], None],
) -> list[Path] | str:
    """The files of ``data``'s report, written, or ``cannot write FILE: why``.

    Every byte is built first (:func:`api.research.report.report_files`), then the files are
    written whole or not at all (:func:`api.research.report.write_files`); only an ``OSError``
    of that writing is a write failure (code review: one while building, a font read, was said
    as "cannot write"). The caller says it: with ``--segments`` the other segments go on (code
    review: one failed write ended the run, and the reports already written were not listed).
    """
    from api.research.report import report_files, write_files

    files = report_files(data, out, png_dir=png_dir, step=step)
    try:
        return write_files(files)
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        return f"cannot write {exc.filename or out}: {why}"


def _labelled(describe: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    """``describe`` with ``prefix`` before every text."""

    def say(what: str) -> None:
        describe(prefix + what)

    return say
