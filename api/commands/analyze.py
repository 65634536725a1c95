"""``hrvpace analyze``: HRV summaries and rolling windows of many recordings, on cores or Dask.

Exit codes: 0 every recording analysed; 1 at least one failed (each failure is named on stderr
and, with ``--json``, printed as ``{"path": ..., "error": ...}``; the others are still
analysed), or nothing was analysed; 2 bad usage (unknown option value, no recordings found,
unwritable output). A segment that starts beyond a recording's end is skipped, not failed
(``{"path", "segment", "skipped": "beyond the recording's end (N s)"}``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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
    is_stdout,
    output_problem,
    segments_from_options,
    signal_options,
)
from api.commands._progress import QuietOpt, progress
from api.commands._text import human_duration
from api.research import MissingExtraError, require
from api.research.analysis import (
    EXCLUDED_BY,
    FOLDER_NOT_SEARCHED,
    LINK_NOT_FOLLOWED,
    AnalysisOptions,
    RecordingAnalysis,
    analysis_settings,
    find_recordings,
    rename_columns,
)
from api.research.cohort import (
    analyze_many,
    sidecar_path,
    sidecar_problem,
    summary_table,
    windows_table,
    write_table,
)
from api.research.segments import Segment

__all__ = ["analyze"]

_HUMAN = (
    "n_beats",
    "quality",
    "correction",
    "corrected_pct",
    "irregular_steps_pct",
    "mean_rr_ms",
    "sdnn_ms",
    "rmssd_ms",
    "lf_hf",
)


def _human_line(r: RecordingAnalysis) -> str:
    assert r.summary is not None
    parts = [
        f"[{r.summary['read_as']}]",
        *([f"segment={r.summary['segment']}"] if r.summary["segment"] is not None else []),
        f"duration={human_duration(r.summary['duration_s'])}",
    ]
    for k in _HUMAN:
        v = r.summary[k]
        parts.append(f"{k}={'-' if v is None else (f'{v:.4g}' if isinstance(v, float) else v)}")
    if r.summary["ectopy_warning"]:
        parts.append(f"WARNING: {r.summary['ectopy_reason']}")
    return f"{r.path}: " + " ".join(parts)


def analyze(
    paths: Annotated[list[Path], typer.Argument(help="Recording files or folders of them.")],
    recursive: Annotated[
        bool,
        typer.Option(
            "--recursive",
            "-r",
            help="Also analyse the files in subfolders of a folder given (e.g. one subfolder "
            "per subject); each result keeps its path, so same-named files stay apart.",
        ),
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            # \\* : a bare * is emphasis in --help's markdown
            help="Leave out files (or folders) matching GLOB, e.g. '\\*acc\\*' or 's01/hr.csv' "
            "(quoted, so the shell leaves it alone): matched against the path below the "
            "folder given, its folders' paths and names, and the file's name (a file named "
            "on its own: its name, or for a GLOB with a / as many trailing parts of its path, "
            "s01/acc.csv, never the folders above it); \\* also matches /, case counts; a GLOB "
            "ending in / (pilot/) matches folders only. "
            "Repeatable. Each one left out is listed as skipped ('excluded by --exclude "
            "GLOB'), never read; a GLOB that matches nothing is warned about.",
        ),
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
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per recording on stdout, ending with hrvpace_version and "
            "settings.",
        ),
    ] = False,
    windows_out: Annotated[
        Path | None,
        typer.Option(
            "--windows",
            help="Write the rolling windows table (.csv or .parquet) of every file; the "
            "settings (version, --window-s, --step-s, correction, spectrum) go in the Parquet "
            "metadata, or for a CSV in NAME.csv.json beside it (refused before the analysis "
            "if that name is taken by anything but such a sidecar, a link too; a link at the "
            "table's name stays a link, and a replaced table keeps its permissions).",
        ),
    ] = None,
    summary_out: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="Also write the summaries as one table (.csv or .parquet), a row per "
            "recording; a failed one keeps its row, its reason in the error column. Settings "
            "as for --windows.",
        ),
    ] = None,
    window_s: Annotated[
        float, typer.Option("--window-s", help="Window length (s) of analysed intervals.")
    ] = 300.0,
    step_s: Annotated[float, typer.Option("--step-s", help="Window step (s).")] = 10.0,
    clean: Annotated[
        bool,
        typer.Option(
            "--clean/--no-clean", help="Correct artefacts (hrv.clean) before the metrics."
        ),
    ] = True,
    drop_zero: Annotated[
        bool,
        typer.Option(
            "--drop-zero",
            help="Leave out RR values of exactly 0 in plain files (a beat annotated twice) "
            "instead of letting the artefact correction label them.",
        ),
    ] = False,
    names: Annotated[
        str,
        typer.Option(
            "--names",
            help="Column names: hrvpace, or neurokit (NeuroKit2's where its values agree).",
        ),
    ] = "hrvpace",
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")
    ] = None,
    use_dask: Annotated[
        bool, typer.Option("--dask", help="Run on a local Dask cluster started for this run.")
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on an existing Dask cluster (tcp://host:port)."),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Analyse recordings: every HRV metric per recording, optionally the rolling windows.

    ECG/PPG signals (--format wfdb, edf, ecg_csv, ppg_csv) are analysed from their beats:
    detected R/pulse peaks, or a WFDB record's reference annotations (NAME.atr) when it has
    them (--beats-from chooses); ecg_csv and ppg_csv need --sampling-rate; --channel picks the
    signal. read_as says the channel, the rate and where the beats came from.
    """
    check_format(fmt)
    check_beats_from(beats_from, fmt)
    signal = signal_options(fmt, sampling_rate, channel, paths)
    if units is not None and units not in ("ms", "s"):
        raise typer.BadParameter(f"--units must be 'ms' or 's', got {units!r}")
    if names not in ("hrvpace", "neurokit"):
        raise typer.BadParameter(f"--names must be 'hrvpace' or 'neurokit', got {names!r}")
    for flag, value in (("--window-s", window_s), ("--step-s", step_s)):
        # inf/nan would pass "> 0" and only fail later (the settings are written as JSON)
        if not (math.isfinite(value) and value > 0):
            raise typer.BadParameter(f"{flag} must be a finite number of seconds > 0, got {value}")
    if jobs is not None and jobs < 1:
        raise typer.BadParameter("--jobs must be >= 1")
    segments = segments_from_options(start, end, segments_file)
    outputs = [
        (flag, target)
        for flag, target in (("--windows", windows_out), ("--summary", summary_out))
        if target is not None
    ]
    for flag, target in outputs:
        _check_output(flag, target)
    _check_distinct(outputs)
    if use_dask or scheduler is not None:
        _require_or_exit("distributed")
    matched: set[str] = set()
    files, skipped = find_recordings(
        paths, recursive=recursive, exclude=exclude or (), matched=matched
    )
    for path, reason in skipped:
        typer.echo(f"hrvpace analyze: {path}: {reason} (skipped)", err=True)
    for pattern in dict.fromkeys(exclude or ()):
        if pattern not in matched:  # an absolute path, or one with the folder given: a no-op
            typer.echo(
                f"hrvpace analyze: warning: --exclude {pattern} matched nothing (a pattern is "
                "matched below the folder given, s01/acc.csv not study/s01/acc.csv nor an "
                "absolute path; a file named on its own, by its name or trailing parts of its "
                "path)",
                err=True,
            )
    # only subfolders left out for want of --recursive are "not searched"; links to folders
    # are never followed, --recursive or not
    folders = sum(1 for _, reason in skipped if reason == FOLDER_NOT_SEARCHED)
    links = sum(1 for _, reason in skipped if reason == LINK_NOT_FOLLOWED)
    excluded = sum(1 for _, reason in skipped if reason.startswith(f"{EXCLUDED_BY} "))
    if not files:
        hints = (
            ([f"{folders} subfolder(s) not searched: add --recursive"] if folders else [])
            + ([f"{links} link(s) to folders not followed"] if links else [])
            + ([f"{excluded} excluded by --exclude"] if excluded else [])
        )
        hint = f" ({'; '.join(hints)})" if hints else ""
        typer.echo(f"hrvpace analyze: no recordings found{hint}", err=True)
        raise typer.Exit(2)
    options = AnalysisOptions(
        format=fmt,
        units=units,
        sampling_rate_hz=signal.sampling_rate_hz,
        channel=signal.channel,
        clean=clean,
        drop_zero=drop_zero,
        series=series,
        beats=beats_from,
        windows=windows_out is not None,
        window_s=window_s,
        step_s=step_s,
    )
    try:
        if segments is None:
            results = _run(
                files, options, jobs=jobs, use_dask=use_dask, scheduler=scheduler, quiet=quiet
            )
        else:  # one run per segment; results grouped by file, segments in their order
            results = _run_segments(
                files,
                options,
                segments,
                lambda todo, opts, label: _run(
                    todo,
                    opts,
                    jobs=jobs,
                    use_dask=use_dask,
                    scheduler=scheduler,
                    quiet=quiet,
                    label=label,
                ),
            )
    except MissingExtraError as exc:
        typer.echo(f"hrvpace analyze: {exc}", err=True)
        raise typer.Exit(2) from None
    _mark_duplicates(results)
    failed = [r for r in results if r.error is not None]
    beyond = [r for r in results if r.skipped is not None]
    for r in beyond:  # a phases file's later segments a short recording does not reach
        typer.echo(
            f"hrvpace analyze: {r.path} [{r.segment}]: segment skipped: {r.skipped} (skipped)",
            err=True,
        )
    for r in failed:
        # the reason names the file itself when it comes from the reader ("path:line: ...")
        # and the segment failed, as report names it ("FILE: segment moving: ...")
        said = r.error or ""
        if said.startswith(f"{r.path}:"):
            named = said if r.segment is None else f"{said} (segment {r.segment})"
        elif r.segment is not None and not said.startswith("segment "):
            named = f"{r.path}: segment {r.segment}: {said}"
        else:
            named = f"{r.path}: {said}"
        typer.echo(f"hrvpace analyze: {named} (failed)", err=True)
    settings = analysis_settings(
        options,
        segments=segments,
        names=names,
        command_line=["hrvpace", *sys.argv[1:]],
        exclude=exclude or (),
    )
    for r in results:
        if as_json:
            obj = r.to_json()
            if names == "neurokit":
                obj = dict(zip(rename_columns(list(obj), style=names), obj.values(), strict=True))
            # each line says what made it (README, analyze): not renamed, not table columns
            obj["hrvpace_version"] = settings["hrvpace_version"]
            obj["settings"] = settings
            typer.echo(json.dumps(obj, allow_nan=False))
        elif r.ok:
            typer.echo(_human_line(r))
    for r in results:
        for said in r.warnings:  # e.g. a segment past the recording's end, analysed shorter
            typer.echo(f"hrvpace analyze: {r.path}: warning: {said}", err=True)
        if r.summary is not None and r.windows is not None and r.windows["t_s"].size == 0:
            # analysed, but no window fits: say so instead of a silent header-only table
            seg = r.summary["segment"]
            # a segment of exactly --window-s keeps whole intervals only: a little less
            hint = (
                "; a segment keeps only the intervals wholly inside it, so one of "
                f"{window_s:g} s holds a little less (README, Segments): the whole "
                "recording's --windows has the windows that end at its bounds"
                if seg is not None
                else ""
            )
            typer.echo(
                f"hrvpace analyze: {r.path}{f' [{seg}]' if seg is not None else ''}: warning: "
                f"no --windows row: it lasts {r.summary['duration_s']:.6g} s, and a window "
                f"needs --window-s {window_s:g} s of analysed intervals{hint}",
                err=True,
            )
    warned = [r for r in results if r.summary is not None and r.summary["ectopy_warning"]]
    if warned:
        typer.echo(
            f"hrvpace analyze: warning: {len(warned)} recording(s)"
            f"{' or segment(s)' if segments is not None else ''} with frequent ectopy or an "
            f"irregular rhythm {'left after correction' if clean else 'in the uncorrected RR'}"
            f"{' or mostly corrected' if clean else ''}: "
            "their HRV values are unreliable, do not cite them (ectopy_warning, ectopy_reason; "
            "README, 'Frequent ectopy'):",
            err=True,
        )
        for r in warned:
            assert r.summary is not None
            seg = r.summary["segment"]
            typer.echo(
                f"  {r.path}{f' [{seg}]' if seg is not None else ''}: {r.summary['ectopy_reason']}",
                err=True,
            )
    tables: list[tuple[Path, dict[str, Any]]] = []
    if windows_out is not None:
        tables.append((windows_out, dict(windows_table(results))))
    if summary_out is not None:
        tables.append((summary_out, dict(summary_table(results))))
    for target, table in tables:
        try:
            write_table(table or {"path": []}, target, names=names, settings=settings)
        except OSError as exc:  # names the file that failed: the table or its sidecar
            said = exc.strerror or str(exc)
            typer.echo(f"hrvpace analyze: cannot write {exc.filename or target}: {said}", err=True)
            raise typer.Exit(2) from None
        except MissingExtraError as exc:
            typer.echo(f"hrvpace analyze: cannot write {target}: {exc}", err=True)
            raise typer.Exit(2) from None
    analysed = len(results) - len(failed) - len(beyond)
    # with segments, a file failed before it was cut is one row, not one per segment
    whole = [r for r in failed if r.segment is None] if segments is not None else []
    if segments is None:
        counted = f"{analysed} of {len(results)} recording(s) analysed, {len(failed)} failed"
    elif whole and len(whole) == len(files):  # none was cut: no "0 of 0 segment(s)"
        counted = (
            f"no segment analysed: {len(whole)} recording(s) failed before any segment was cut"
        )
    else:
        counted = (
            f"{analysed} of {len(results) - len(whole)} segment(s) of "
            f"{len(files) - len(whole)} recording(s) analysed, {len(failed) - len(whole)} failed"
            + (f", {len(beyond)} skipped beyond the recording's end" if beyond else "")
            + (
                f"; {len(whole)} other recording(s) failed before any segment was cut"
                if whole
                else ""
            )
        )
    typer.echo(
        f"hrvpace analyze: {counted}"
        + (
            f", {len(skipped) - folders - links - excluded} file(s) skipped as not recordings"
            if len(skipped) > folders + links + excluded
            else ""
        )
        + (f", {folders} folder(s) not searched" if folders else "")
        + (f", {links} link(s) to folders not followed" if links else "")
        + (f", {excluded} excluded by --exclude" if excluded else ""),
        err=True,
    )
    if failed or analysed == 0:  # skipped segments alone are no failure; nothing at all is
        raise typer.Exit(1)


def _mark_duplicates(results: list[RecordingAnalysis]) -> None:
    """Warn about byte-identical inputs and name the first in each later one's ``duplicate_of``.

    A study folder with a file copied under a second subject's name would otherwise give two
    subjects' rows from one recording, silently. Files are told apart by their content's
    SHA-256 (``sha256``); each pair is said once on stderr (not per segment).
    """
    first: dict[str, str] = {}
    said: set[str] = set()
    for r in results:
        if r.sha256 is None:
            continue
        earlier = first.setdefault(r.sha256, r.path)
        if earlier == r.path:
            continue
        if r.summary is not None:
            r.summary["duplicate_of"] = earlier
        if r.path not in said:
            said.add(r.path)
            typer.echo(
                f"hrvpace analyze: warning: {r.path} is byte-identical to {earlier} (sha256 "
                f"{r.sha256[:16]}...): analysed again as another recording (duplicate_of)",
                err=True,
            )


def _require_or_exit(module: str) -> None:
    try:
        require(module)
    except MissingExtraError as exc:
        typer.echo(f"hrvpace analyze: {exc}", err=True)
        raise typer.Exit(2) from None


def _check_output(flag: str, target: Path) -> None:
    """An output table can be written: checked before any recording is analysed."""
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise typer.BadParameter(f"{flag} must name a .csv or .parquet file, got {target}")
    if suffix == ".parquet":
        _require_or_exit("pyarrow.parquet")
    parent = target.parent if str(target.parent) else Path(".")
    # the name first: is_dir() raises on a name too long
    problem = _name_too_long(target, parent) or output_problem(target)
    if problem is None and suffix == ".csv":  # its settings go beside it (write_table): name free
        side = sidecar_path(target)
        said = "it is where stdout goes" if is_stdout(side) else sidecar_problem(side)
        if said is not None:
            problem = f"its settings sidecar {side}: {said}"
    if problem is not None:
        typer.echo(f"hrvpace analyze: cannot write {flag} {target}: {problem}", err=True)
        raise typer.Exit(2)


def _name_too_long(target: Path, parent: Path) -> str | None:
    """The table's name, or its CSV's sidecar's, is longer than the file system allows.

    Code review: found only when the table was written, after the whole analysis.
    """
    try:
        name_max = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255  # Linux, macOS, Windows
    names = [target.name] + ([sidecar_path(target).name] if target.suffix.lower() == ".csv" else [])
    for name in names:
        if len(os.fsencode(name)) > name_max:
            whose = "its name" if name == target.name else f"its settings sidecar's name {name}"
            return (
                f"{whose} is {len(os.fsencode(name))} bytes long, more than the {name_max} the "
                "file system allows"
            )
    return None


def _check_distinct(outputs: list[tuple[str, Path]]) -> None:
    """--windows and --summary name different files, and their sidecars differ.

    One name for both kept only the last table written (exit 0); names that differ only in
    case are one file on a case-insensitive file system, and share a sidecar there.
    """
    if len(outputs) < 2:
        return
    (flag_a, a), (flag_b, b) = outputs
    same = str(a.resolve()).casefold() == str(b.resolve()).casefold()
    if not same and a.exists() and b.exists():
        same = os.path.samefile(a, b)  # hard links
    if same:
        typer.echo(
            f"hrvpace analyze: {flag_a} {a} and {flag_b} {b} are one file (or differ only in "
            "case, one file on a case-insensitive file system, with one settings sidecar): "
            "give each table its own name",
            err=True,
        )
        raise typer.Exit(2)


def _run_segments(
    files: list[Path],
    options: AnalysisOptions,
    segments: list[Segment],
    run: Callable[[list[Path], AnalysisOptions, str], list[RecordingAnalysis]],
) -> list[RecordingAnalysis]:
    """Every segment of every file, grouped by file, segments in their order.

    One ``run`` per segment over the files. A file that fails before it is cut (it cannot be
    read, it holds no beats: a result with an ``error`` and no ``segment``) fails the same way
    for every segment, so it is tried with the first segment only and has that one result,
    which names the file and the problem once; the other files go on with every segment.
    """
    first = run(files, dataclasses.replace(options, segment=segments[0]), _seg_label(segments[0]))
    whole = [r.error is not None and r.segment is None for r in first]
    readable = [f for f, failed in zip(files, whole, strict=True) if not failed]
    rest = [
        run(readable, dataclasses.replace(options, segment=seg), _seg_label(seg))
        if readable
        else []
        for seg in segments[1:]
    ]
    out: list[RecordingAnalysis] = []
    k = 0  # the file's place among the readable ones
    for i, failed in enumerate(whole):
        out.append(first[i])
        if not failed:
            out.extend(r[k] for r in rest)
            k += 1
    return out


def _seg_label(seg: Segment) -> str:
    return f"segment {seg.label}"


def _run(
    files: list[Path],
    options: AnalysisOptions,
    *,
    jobs: int | None,
    use_dask: bool,
    scheduler: str | None,
    quiet: bool = False,
    label: str = "analysing",
) -> list[RecordingAnalysis]:
    # the bar follows finished recordings (on a Dask cluster: its finished tasks)
    with progress(label, len(files), quiet=quiet) as step:
        return analyze_many(
            files,
            options=options,
            jobs=jobs,
            dask=use_dask,
            scheduler=scheduler,
            progress=lambda done, total, result: step(done),
        )
