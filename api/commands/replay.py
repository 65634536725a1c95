"""``hrvpace replay``: a recording through the live pipeline, events out as JSON lines.

The recording is played by :class:`sensors.ReplaySource` through the service's own session
assembly (:mod:`api.pipeline.assembly`, the code path of a live strap: the live HRV analyser with
its one NN verdict per beat and 60-s windows every 5 s, and the micro-break monitor). The
replay starts from the population baseline (or ``--baseline FILE``) and never changes the
person's stored baseline. Its output is its events on stdout: without ``--store`` no database
is opened or created; with ``--store`` the replay also becomes a session of the service's
database (with its beats, metrics and micro-breaks), visible to ``hrvpace serve`` and
``hrvpace report``.

``--speed`` is read by the one speed parser (:func:`api.pipeline.speed.parse_speed`): ``max``
(the default: no waiting) or a number of times real time in (0, 10000].

Events (one JSON object per line with ``--json``), each with ``type`` and ``t_s`` (seconds
since the recording began; with ``--start``/``--end`` only that stretch is replayed and
``t_s`` counts from its start). They are the messages a live client of the same session gets
(``WS /api/v1/sessions/{id}/live``), in the same order and made by the same code
(:class:`api.pipeline.Pipeline` gives its listeners what it publishes), each as one flat line:

* ``beat`` (only with ``--beats``): every beat as the pipeline took it: ``idx``, ``rr_ms``,
  ``contact``, ``gap_before``, ``hr_bpm`` (not ``arrived_at``: the replay's clock, not the
  recording's);
* ``metrics``: one 60-s window (the pipeline's metrics; ``t_s`` is the window's end);
* ``signal``: signal quality and rhythm of the last 60 s of beats (``hrv.WindowSignal``:
  ``quality``, ``contact``, ``n_beats``, ``n_gaps``, ``n_premature``, ``irregular_rhythm``) at
  the first beat, then at the first beat at least 5 s of session time after the previous one
  (the live rule, :data:`api.pipeline.loop.SIGNAL_EVERY_S`); it keeps coming while no window
  does (frequent early beats);
* ``micro_break``: a break is due: ``reason`` (``code``, a plain ``summary`` and
  ``details`` with the numbers), ``suggestion`` (``kind``,
  ``duration_s``, ``text``, ``reference``) and the numbers behind it (and the other
  micro-break events a live client gets, each under its own ``type``);
* ``replay_end``: beats, windows, signals (and how many said irregular rhythm), flags, how the
  source ended, and the learned baseline.

A live client's other messages are not replay events by design: ``status`` (the source's
connection state and the session's, summed up by ``replay_end``), ``guidance`` (only while
pacing, which a replay never does: no breathing command reaches it) and ``prompt`` (the day
plan on the wall clock, not of the recording). The JSON lines leave out the live messages'
``session_id``, ``seq`` and ``timestamp`` (wall clock).

Quiet hours are not applied to replays (a recording's local time of day is rarely known).

A recording made while a session paced says when (``hrvpace export``'s beats table: the
sidecar beside it, :func:`sensors.formats.hrvpace.export_paced_runs`); the replay source gives
those runs (:attr:`sensors.ReplaySource.paced_runs`) and the pipeline hands them to the
micro-break monitor (:meth:`api.pipeline.Pipeline.paced_runs`), so those windows are paced as
they were live.

Ctrl-C or SIGTERM stops a replay as a live session stops (:func:`_until_stopped`): the
``replay_end`` (state ``stopped``) is printed, a ``--store`` session is ``stopped``,
``--baseline`` is not written (a partial replay's), exit 130 or 143
(:func:`api.commands._stop.exit_stopped`, as ``record``, ``assess`` and ``practice``).
Only the first counts: later ones, until the end is printed, are ignored
(:func:`api.commands._stop.held_signals`).
One before the replay started: "nothing replayed" (a ``--store`` session made meanwhile is
``stopped``). One that came after the recording had played (while the event loop or the
database closed) leaves the replay as it went, said on stderr: its end and ``--baseline``
are the whole recording's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands._options import (
    BeatsFromOpt,
    ChannelOpt,
    EndOpt,
    FormatOpt,
    SamplingRateOpt,
    SeriesOpt,
    StartOpt,
    UnitsOpt,
    check_beats_from,
    check_format,
    output_problem,
    read_speed,
    segments_from_options,
    signal_options,
)
from api.commands._stop import Held, Stop, exit_stopped, held_signals, stoppable
from api.commands._text import counted
from api.pipeline import (
    Listener,
    SessionStore,
    Speed,
    WithoutSourceFailure,
    analyser_settings,
    assemble,
    play,
    session_stages,
)
from breathing import Baseline, BreathingError
from sensors import SIGNAL_FORMATS, Beat, Recording, ReplaySource, SensorError, VirtualClock

__all__ = ["replay", "run_replay"]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _load_baseline(path: Path | None) -> Baseline | None:
    if path is None or not path.exists():
        return None
    try:
        return Baseline.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"--baseline {path}: {exc}") from None


def _cut_off(played: Path | Recording, fmt: str | None) -> bool:
    """Whether the hrvpace recording played ends in a line cut short (its reader drops it)."""
    if isinstance(played, Recording):
        return bool(played.meta.get("truncated_last_line"))
    from sensors.formats.hrvpace import ends_cut_off

    return fmt == "hrvpace" and ends_cut_off(played)


def _human(event: dict[str, Any]) -> str | None:
    kind = event["type"]
    minutes = f"{event['t_s'] / 60:6.1f} min"
    if kind == "micro_break":
        return (
            f"{minutes}  micro-break due ({event['reason']['code']}): "
            f"{event['reason']['summary']}\n"
            f"{' ' * 12}details: {event['reason']['details']}\n"
            f"{' ' * 12}suggestion: {event['suggestion']['text']}"
        )
    if kind == "replay_end":
        read_as = f"\n{' ' * 12}read as: {event['read_as']}" if event.get("read_as") else ""
        return (
            f"{minutes}  replay {event['state']}: {counted(event['n_beats'], 'beat')}"
            f"{_skipped(event['n_skipped'])}, "
            f"{counted(event['n_windows'], 'window')}, {counted(event['n_signals'], 'signal')} "
            f"({event['n_irregular']} with irregular rhythm), "
            f"{counted(event['n_micro_breaks'], 'micro-break')}{read_as}"
        )
    return None


def _skipped(n: int) -> str:
    """`` (1 skipped as unusable)``: the beats the pipeline did not take (an RR of 0 or less)."""
    return f" ({n} skipped as unusable)" if n else ""


class _ReplayOutput(Listener):
    """The replay's sink: each window, signal, micro-break event (``beats``: beat) to ``emit``.

    What the pipeline gives its listeners is what it publishes to a live client, in the same
    order (a replay's pipeline is a live session's, :func:`api.pipeline.assemble`).
    """

    def __init__(self, emit: Callable[[dict[str, Any]], None], *, beats: bool = False) -> None:
        self._emit = emit
        self._beats = beats
        self.n_beats = 0
        self.n_windows = 0
        self.n_signals = 0
        self.n_irregular = 0
        self.n_flags = 0

    def on_beat(self, beat: Beat) -> None:
        idx = self.n_beats  # the pipeline numbers the beats it takes the same way
        self.n_beats += 1
        if self._beats:
            self._emit(
                {
                    "type": "beat",
                    "t_s": beat.t_s,
                    "idx": idx,
                    "rr_ms": beat.rr_ms,
                    "contact": beat.contact,
                    "gap_before": beat.gap_before,
                    "hr_bpm": beat.heart_rate_bpm,
                }
            )

    def on_metrics(self, data: dict[str, Any]) -> None:
        # data["t_s"] is the window's end on the recording's clock (hrv.LiveAnalyser)
        self.n_windows += 1
        self._emit({"type": "metrics", **data})

    def on_signal(self, t_s: float, data: dict[str, Any]) -> None:
        # the live signal message's t_s and signal, as one flat line like metrics
        self.n_signals += 1
        self.n_irregular += data["irregular_rhythm"] is True
        self._emit({"type": "signal", "t_s": t_s, **data})

    def on_micro_break(self, data: dict[str, Any]) -> None:
        if data.get("type") == "micro_break":
            self.n_flags += 1
        self._emit(data)


async def run_replay(
    path: Path | Recording,
    *,
    fmt: str | None,
    units: str | None,
    speed: Speed,
    emit: Callable[[dict[str, Any]], None],
    store: SessionStore | None = None,
    session_id: str | None = None,
    baseline: Baseline | None = None,
    beats: bool = False,
    read_as: str | None = None,
) -> dict[str, Any]:
    """Replay ``path`` through the session assembly; ``emit`` each event as it comes.

    ``path`` is a file, or a recording already read (e.g. a segment); the assembly is
    :func:`api.pipeline.assemble`.

    ``store``: where the session is also kept (``None``: nowhere, no database). ``beats``:
    emit every beat too. Returns the ``replay_end`` event (with the baseline learned from the
    recording, and ``read_as``: how the file was read, as ``hrvpace analyze`` says it).
    """
    clock = VirtualClock(start=time.time()) if speed == "max" else None
    source = ReplaySource(
        path,
        speed=speed,
        clock=clock,
        **({} if isinstance(path, Recording) else {"format": fmt, "units": units}),
    )
    # a replay is not the person: population (or --baseline) start, nothing kept, never quiet
    stages = session_stages(
        baseline=None if baseline is None else baseline.to_dict(), real_person=False
    )
    microbreaks = stages.microbreaks
    assert microbreaks is not None  # session_stages runs the micro-break flags by default
    output = _ReplayOutput(emit, beats=beats)
    pipeline = assemble(source, stages, session_id=session_id, store=store, listeners=[output])
    result = await play(pipeline)
    return {
        "type": "replay_end",
        "t_s": pipeline.t_s,
        "state": result.state,
        "message": result.message,
        "n_beats": pipeline.n_beats,
        "n_skipped": pipeline.n_skipped,
        "n_windows": output.n_windows,
        "n_signals": output.n_signals,
        "n_irregular": output.n_irregular,
        "n_micro_breaks": output.n_flags,
        "baseline": microbreaks.baseline_dict(),
        "read_as": read_as,
        **_provenance(),
    }


async def _until_stopped(
    replay: Coroutine[Any, Any, dict[str, Any]], stop: Stop, held: Held
) -> dict[str, Any] | None:
    """Run ``replay`` (:func:`run_replay`); Ctrl-C or SIGTERM stops it as a live session stops.

    Within :func:`api.commands._stop.held_signals`: a signal cancels the replay's task, whose
    pipeline ends ``stopped`` and still returns its ``replay_end``. ``None``: a signal came
    before the replay started (it is not started).
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(replay)

    def cancel(signum: signal.Signals) -> None:  # from a signal handler: the loop's way in
        loop.call_soon_threadsafe(task.cancel)

    held.cancel = cancel  # one that came before: called at once (through the loop)
    try:
        if stop.stopped:  # came before: cancelled now, before its first step (not started)
            task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():  # cancelled before its first step: the replay never started
                return None
            raise
    finally:
        held.cancel = None


def _failed_before_start(
    message: str, baseline: Baseline | None, read_as: str | None = None
) -> dict[str, Any]:
    """The ``replay_end`` of a replay whose recording could not be read (nothing played)."""
    stages = session_stages(
        baseline=None if baseline is None else baseline.to_dict(), real_person=False
    )
    assert stages.microbreaks is not None
    return {
        "type": "replay_end",
        "t_s": 0.0,
        "state": "failed",
        "message": message,
        **dict.fromkeys(
            ("n_beats", "n_skipped", "n_windows", "n_signals", "n_irregular", "n_micro_breaks"), 0
        ),
        "baseline": stages.microbreaks.baseline_dict(),
        "read_as": read_as,
        **_provenance(),
    }


def _provenance() -> dict[str, Any]:
    """What made a replay's numbers, for its ``replay_end``.

    hrvpace's version and build, the libraries' versions and the live analysis settings
    (:func:`hrv.live_settings`, as a stored session keeps them).
    """
    from api._version import provenance

    return {**provenance(), "settings": analyser_settings()}


def replay(
    file: Annotated[Path, typer.Argument(help="The recording (see --format).")],
    fmt: FormatOpt = None,
    units: UnitsOpt = None,
    sampling_rate: SamplingRateOpt = None,
    channel: ChannelOpt = None,
    series: SeriesOpt = None,
    beats_from: BeatsFromOpt = "auto",
    start_at: StartOpt = None,
    end_at: EndOpt = None,
    speed: Annotated[
        str, typer.Option("--speed", help="N times real time, or 'max' (no waiting).")
    ] = "max",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every event as one JSON object per line.")
    ] = False,
    beats: Annotated[
        bool,
        typer.Option(
            "--beats", help="With --json (needed), also print every beat (a 'beat' line)."
        ),
    ] = False,
    store: Annotated[
        bool,
        typer.Option("--store", help="Keep the replay as a session in the service's database."),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="The service's data folder, for --store."),
    ] = None,
    baseline_file: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="JSON file with a stored baseline: read if present, written at the end of a "
            "replay that played its recording (not one stopped, failed or without beats; its "
            "folder must exist and be writable: checked before the replay).",
        ),
    ] = None,
) -> None:
    """Replay a recording through the live pipeline; print its events.

    With --json one JSON line per message a live client of the session gets (its connection
    status aside), in their order: metrics (a 60-s window), signal (quality and rhythm of the
    last 60 s of beats, every 5 s of session time), micro_break, with --beats every beat; then
    replay_end. Without --json: the micro-breaks and a summary.

    An ECG/PPG signal (--format wfdb, edf, ecg_csv, ppg_csv) is replayed as its beats:
    detected R/pulse peaks, or a WFDB record's reference annotations (NAME.atr) when it has
    them (--beats-from chooses); ecg_csv and ppg_csv need --sampling-rate; --channel picks the
    signal. replay_end's read_as says the channel and where the beats came from.
    """
    pace = read_speed(speed)
    check_format(fmt)
    check_beats_from(beats_from, fmt)
    signal_opts = signal_options(fmt, sampling_rate, channel, [file])
    if units is not None and units not in ("ms", "s"):
        raise typer.BadParameter(f"--units must be 'ms' or 's', got {units!r}")
    if beats and not as_json:
        raise typer.BadParameter("--beats prints beat lines of --json: give --json too")
    if not file.is_file():
        what = "a folder: replay takes one recording file" if file.is_dir() else "no such file"
        typer.echo(f"hrvpace replay: {file}: {what}", err=True)
        raise typer.Exit(2)
    if baseline_file is not None:  # written at the end: found unwritable before the replay
        problem = output_problem(baseline_file)
        if problem is not None:
            typer.echo(
                f"hrvpace replay: cannot write --baseline {baseline_file}: {problem}", err=True
            )
            raise typer.Exit(2)
    ended: dict[str, Any] | None = None  # the replay_end, once the replay has run
    # Ctrl-C or SIGTERM from here on stops the replay as a live session stops (state
    # 'stopped', the summary printed, --baseline not written), exit 130 or 143
    with stoppable(final=True) as stop:
        baseline = _load_baseline(baseline_file)
        segments = segments_from_options(start_at, end_at)
        # the format and units as analyze chooses them (the file's header, name and content)
        from api.research.discover import choose_reading, export_table_problem

        # hrvpace export's sidecar or metrics or contact table named on its own: what it is
        # and which file to replay instead, as analyze says it (not "a table without an RR
        # column", "'{' is neither a number ...")
        not_beats = export_table_problem(file, doing="replay") if fmt is None else None
        if not_beats is not None:
            if as_json:  # the stream still ends with its replay_end, as a replay that fails
                typer.echo(json.dumps(_failed_before_start(not_beats, baseline)))
            typer.echo(f"hrvpace replay: {not_beats}", err=True)
            raise typer.Exit(1)
        reading = choose_reading(file, format=fmt, units=units)
        fmt, units = reading.format, reading.units
        read_as = reading.how
        played: Path | Recording = file
        if (
            segments is not None
            or signal_opts.as_kwargs()
            or series is not None
            or beats_from != "auto"
            or fmt in ("apple_health", "polar_sensor_logger_ppi", "ghrv_beats", "hrvpace", "plain")
            or fmt in SIGNAL_FORMATS
        ):
            # read here: a segment only (its t_s count from the segment's start), a signal
            # read with --sampling-rate/--channel, an Apple Health reading (--series), or a
            # file whose reading has more to say (which reading, which beats, pulses left
            # out, signal losses, a last line cut off, a plain table's short rows: read_as, as
            # analyze's read_notes).
            # A signal is read as analyze reads it: a PPG's stretches of low detector
            # quality (motion) left out with a gap, an ECG's said (read_as)
            from api.research.analysis import NO_BEATS_LEFT, NO_BEATS_LEFT_SEGMENT, read_notes
            from api.research.segments import SegmentError, cut
            from sensors import read_recording
            from sensors.formats.signal_peaks import leave_out_low_quality

            try:
                played = read_recording(
                    file,
                    format=fmt,
                    units=units,
                    sampling_rate_hz=signal_opts.sampling_rate_hz,
                    channel=signal_opts.channel,
                    series=series if fmt == "apple_health" else None,
                    beats=beats_from,
                )
                if segments is not None:
                    played = cut(played, segments[0])
                had_beats = played.n_beats > 0
                played, _ = leave_out_low_quality(played)
                read_as = read_notes(read_as, played, drop_zero=False, series=series)
                failed = None
                if had_beats and played.n_beats == 0:  # as analyze says it
                    said = NO_BEATS_LEFT if segments is None else NO_BEATS_LEFT_SEGMENT
                    failed = f"{file}: {said}"
            except (SensorError, SegmentError) as exc:
                failed = str(exc)
            if failed is not None:
                if as_json:  # the stream still ends with its replay_end, as a replay that fails
                    typer.echo(json.dumps(_failed_before_start(failed, baseline, read_as)))
                typer.echo(f"hrvpace replay: {failed}", err=True)
                raise typer.Exit(1) from None

        # the reader drops a last line cut short: said once the replay has run (below)
        cut_off = _cut_off(played, fmt)
        stdout_gone = False

        def emit(event: dict[str, Any]) -> None:
            nonlocal stdout_gone
            text = json.dumps(event, allow_nan=False) if as_json else _human(event)
            if text is None or stdout_gone:
                return
            try:
                typer.echo(text)
            except BrokenPipeError:
                # the reader left (| head): stop the replay (its task is cancelled: 'stopped')
                # instead of failing on every later event; the rest goes nowhere
                stdout_gone = True
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                task = asyncio.current_task() if _loop_running() else None
                if task is not None:
                    task.cancel()

        def run(store: SessionStore | None, session_id: str | None) -> dict[str, Any] | None:
            return asyncio.run(
                _until_stopped(
                    run_replay(
                        played,
                        fmt=fmt,
                        units=units,
                        speed=pace,
                        emit=emit,
                        store=store,
                        session_id=session_id,
                        baseline=baseline,
                        beats=beats,
                        read_as=read_as,
                    ),
                    stop,
                    held,
                )
            )

        # the command says why a replay failed: the pipeline's log line of it would say it first
        quiet = WithoutSourceFailure()
        logging.getLogger("api.pipeline.loop").addFilter(quiet)
        # from here to its end printed a signal is noted, never raised (held_signals)
        with held_signals(stop, final=True) as held:
            try:
                if store:
                    source_desc: dict[str, Any] = {
                        "kind": "replay",
                        "path": str(file),
                        "format": fmt,
                        "units": units,
                        "speed": pace,
                    }
                    source_desc.update(signal_opts.as_kwargs())
                    if isinstance(played, Recording) and segments is not None:
                        source_desc["segment"] = {
                            "start_s": played.meta["segment_start_s"],
                            "end_s": played.meta["segment_end_s"],
                        }
                    try:
                        ended = _stored(run, source_desc, data_dir=data_dir, stop=stop)
                    except _StoreUnusableError as exc:  # before the replay: it ends failed
                        if as_json:  # the stream still ends with its replay_end, as above
                            typer.echo(
                                json.dumps(_failed_before_start(str(exc), baseline, read_as))
                            )
                        typer.echo(f"hrvpace replay: {exc}", err=True)
                        raise typer.Exit(1) from None
                else:  # no database: the events on stdout are the replay's only output
                    ended = run(None, None)
            except (SensorError, BreathingError) as exc:
                typer.echo(f"hrvpace replay: {exc}", err=True)
                raise typer.Exit(1) from None
            finally:
                logging.getLogger("api.pipeline.loop").removeFilter(quiet)
            if ended is None:  # stopped before the replay began
                exit_stopped(
                    "nothing replayed" + (", --baseline not written" if baseline_file else ""),
                    stop,
                )
            read_failed = ended["state"] == "failed" and not ended["n_beats"]
            if cut_off and not read_failed:  # a file refused (e.g. cut before its header): once
                from sensors.formats.hrvpace import CUT_OFF_NOTE

                typer.echo(f"hrvpace replay: {file}: {CUT_OFF_NOTE}", err=True)
            if as_json or not read_failed:
                emit(ended)  # a replay that failed before its first beat: the reason alone
            if stdout_gone:
                raise typer.Exit(1)
            _finish(ended, stop, file=file, baseline_file=baseline_file)
    if ended is None:  # Ctrl-C or SIGTERM before the replay began (stoppable)
        exit_stopped(
            "nothing replayed" + (", --baseline not written" if baseline_file else ""), stop
        )


def _finish(end: dict[str, Any], stop: Stop, *, file: Path, baseline_file: Path | None) -> None:
    """After the replay's end printed: write ``--baseline``, exit as the replay went."""
    if stop.stopped and end["state"] == "stopped":  # a partial replay: not the recording's
        exit_stopped(
            "replay ended early" + (", --baseline not written" if baseline_file else ""), stop
        )
    if stop.stopped:  # it came once the recording had played: the replay stands as it went
        typer.echo(
            f"hrvpace replay: {stop.label} came after the replay ended: its results are kept",
            err=True,
        )
    # a failed or empty replay's baseline is not the recording's: not written
    if end["state"] == "failed":
        typer.echo(f"hrvpace replay: {end['message']}", err=True)
        raise typer.Exit(1)
    if end["n_beats"] == 0:  # as analyze says of it: nothing was replayed
        typer.echo(f"hrvpace replay: {file}: the recording has no beats", err=True)
        raise typer.Exit(1)
    if baseline_file is not None:
        try:
            baseline_file.write_text(json.dumps(end["baseline"]), encoding="utf-8")
        except OSError as exc:  # checked before the replay: a full disk, a folder made since
            said = exc.strerror or str(exc)
            typer.echo(f"hrvpace replay: cannot write --baseline {baseline_file}: {said}", err=True)
            raise typer.Exit(1) from None


class _StoreUnusableError(Exception):
    """``--store``'s data dir or database cannot be made or opened (the message says which)."""


def _stored(
    run: Callable[[SessionStore | None, str | None], dict[str, Any] | None],
    source_desc: dict[str, Any],
    *,
    data_dir: Path | None,
    stop: Stop,
) -> dict[str, Any] | None:
    """``--store``: ``run`` the replay as a session of the service's database.

    A data dir or database that cannot be made or opened is a :class:`_StoreUnusableError`
    (naming it and why) before the replay. ``None``: Ctrl-C or SIGTERM came before the replay
    started (noted, :func:`api.commands._stop.held_signals`): not started, its session (if
    made, e.g. while a busy database kept its insert waiting) ``stopped``.
    """
    from api.datadir import make_data_dir
    from api.errors import DataDirUnusableError
    from api.settings import load_settings
    from api.storage import Storage, StorageError

    session_id = uuid.uuid4().hex
    settings = load_settings(data_dir=data_dir)
    try:
        make_data_dir(settings.data_dir)
        storage = Storage(settings.database_path)
    except (DataDirUnusableError, StorageError) as exc:
        raise _StoreUnusableError(str(exc)) from None
    try:
        if stop.stopped:  # while the database opened: no session made
            return None
        storage.create_session(
            session_id,
            created_at=time.time(),
            mode="monitor",
            source=source_desc,
            options={"command": "hrvpace replay"},
            live_settings=analyser_settings(),
        ).result()
        end = run(storage, session_id)
        if end is None:  # a signal while the session was made: never ran
            storage.set_session_state(
                session_id, "stopped", message="stopped on request", ended_at=time.time()
            ).result()
            return None
        storage.set_session_state(
            session_id, end["state"], message=end["message"], ended_at=time.time()
        ).result()
    finally:
        storage.close()
    end["session_id"] = session_id
    return end
