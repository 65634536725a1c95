"""``hrvpace record``: record a Bluetooth strap's beats, and its PMD streams, to files.

The beats file (``sensors.RecordingWriter``, format ``hrvpace``) keeps each beat's time, RR
interval, arrival time, skin contact, gaps (reconnects) and the strap's heart rate, flushed beat
by beat, so it can be replayed later (``sensors.ReplaySource``) even if the recording was
interrupted. A stretch without skin contact (no beats, or beats marked without contact, so the
beats cannot say where it began and ended) is kept as ``# contact`` lines: false where contact
was lost, true where the strap said it came back; a stretch the strap leaves by dropping the
connection has no true line (it ends at the next beat with contact, after the reconnect's gap,
or at the end of the file).

``--stream ppi,ecg,acc`` also records a Polar device's Polar Measurement Data streams
(``sensors.pmd_recorder.BlePmdStreams``), each to a file next to OUT that hrvpace reads back
(:mod:`sensors.formats.pmd_streams`): ``OUT.ppi.txt`` (Polar Sensor Logger PPI layout: analyze or
replay it as is), ``OUT.ecg.csv`` (130 Hz, µV: ``--format ecg_csv --sampling-rate 130``; a
break in the samples starts ``OUT.ecg-2.csv``), ``OUT.acc.csv`` (``t_s,x_mg,y_mg,z_mg``,
``sensors.formats.pmd_streams.read_acc_stream``).

A file that cannot grow (a full disk, a file-size limit) ends the recording, exit 1: the beats
file keeps its whole lines; a stream file is cut back to its last whole frame. Either way every
file and the strap's link are closed and one line names the file and what each file keeps
(:meth:`_Summary.kept`). A strap lost for good (or a bpm-only device) ends it too, exit 1: the
summary is printed as at the end, then which files keep data and how to record again
(:meth:`_Summary.advice`). A stream's failure stops the beats too, by choice: a full disk
fails the other files next, and a recording going on without a stream it was asked for would
look whole.

Ctrl-C or SIGTERM ends a recording as ``--minutes`` does (the files closed, the strap's link
closed, the summary printed), then says so on stderr with exit code 130 or 143 as ``assess`` and
``practice`` do. Only the first signal counts, from the start to the exit
(:func:`api.commands._stop.held_signals`, as ``replay``): none is raised through Python's
default handler, and one that comes once the recording has ended (a second Ctrl-C or SIGTERM,
or one while the strap's link closes after ``--minutes`` ran out) is noted on stderr and lets
the close finish, since cancelling it would leave the strap connected; the exit code is that of
how the recording ended (0 after ``--minutes``, 130 or 143 after the first signal). The close is
bounded by the strap (``close_timeout_s``, ``HRVPACE_BLE_CLOSE_TIMEOUT_S``), so a BlueZ that
never answers cannot hold the process: its ended status then says the close was cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.commands._bpm_only import BpmOnly, BpmOnlyWatch
from api.commands._options import output_problem
from api.commands._stop import Held, Stop, exit_stopped, held_signals
from api.commands._text import counted

# a connected strap sending nothing: the one rule, which a service session follows too
# (record.SILENT_AFTER_S is read when a recording starts: tests shorten it)
from sensors.silence import SILENT_AFTER_S, SilenceWatch, stream_data

if TYPE_CHECKING:
    from sensors.ble import BleStrapSource
    from sensors.pmd import PmdFrame

__all__ = ["record"]

_STREAMS = ("ppi", "ecg", "acc")


def _parse_streams(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    kinds = tuple(k.strip().lower() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in _STREAMS]
    if unknown or not kinds:
        raise typer.BadParameter(
            f"expected a comma-separated list of {', '.join(_STREAMS)}, got {value!r}",
            param_hint="--stream",
        )
    return tuple(dict.fromkeys(kinds))


def record(
    device: Annotated[
        str,
        typer.Option(
            "--device",
            help="The strap's Bluetooth address or advertised name (or the start of one name).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The recording file to create.")],
    minutes: Annotated[
        float | None,
        typer.Option(
            "--minutes",
            help="Stop after this many minutes, > 0 (default: Ctrl-C or SIGTERM).",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace OUT (and its stream files) if they exist; one that is a link stays a "
            "link: the file it points to is written (made, if the link points to no file). An "
            "earlier recording's ECG files after a break (OUT.ecg-2.csv, ...) are removed "
            "(OUT.ecg.csv as a link to such a name is refused).",
        ),
    ] = False,
    scan_timeout: Annotated[
        float,
        typer.Option("--scan-timeout", min=0.1, help="Seconds to look for the strap."),
    ] = 10.0,
    stream: Annotated[
        str | None,
        typer.Option(
            "--stream",
            metavar="ppi,ecg,acc",
            help="Also record these Polar Measurement Data streams of a Polar device (H10: "
            "ecg,acc; OH1, Verity Sense: ppi,acc), each to a file next to OUT: OUT.ppi.txt "
            "(Polar Sensor Logger PPI: analyze/replay read it as is), OUT.ecg.csv (130 Hz, uV: "
            "--format ecg_csv --sampling-rate 130), OUT.acc.csv (t_s and x,y,z in mg).",
        ),
    ] = None,
) -> None:
    """Record beats from a heart-rate strap to a file hrvpace can replay.

    With --stream, also a Polar device's PPI/ECG/ACC streams.
    """
    from sensors.errors import SensorError
    from sensors.formats.pmd_streams import ecg_break_files, ecg_link_problem, stream_path

    if minutes is not None and not (math.isfinite(minutes) and minutes > 0):
        raise typer.BadParameter(
            f"must be a number of minutes > 0, got {minutes:g}", param_hint="--minutes"
        )
    streams = _parse_streams(stream)
    targets = [out, *(stream_path(out, k) for k in streams)]
    # An earlier recording's ECG files after a break (OUT.ecg-2.csv, ...) are OUT's too: found
    # only at this recording's first break (which then failed), or, with --overwrite, left to
    # read as part of it (removed then, as OUT.ecg.csv is replaced: EcgStreamWriter)
    breaks = ecg_break_files(out) if "ecg" in streams else []
    for stale in breaks:  # removed, never written through (a link as a link, even to nothing)
        problem = _break_file_problem(stale)
        if problem is not None:
            typer.echo(f"hrvpace record: cannot remove {stale}: {problem}", err=True)
            raise typer.Exit(1)
    # OUT.ecg.csv a link to OUT.ecg-2.csv: the first ECG file would be written into a file an
    # earlier recording's break file (--overwrite removes it) or this one's second run replaces
    link_problem = ecg_link_problem(stream_path(out, "ecg"), out) if "ecg" in streams else None
    if link_problem is not None:
        typer.echo(
            f"hrvpace record: cannot write {stream_path(out, 'ecg')}: {link_problem}", err=True
        )
        raise typer.Exit(1)
    for target in targets:  # before looking for the strap: a recording must have somewhere to go
        # a link stays a link: --overwrite writes where it points, even to a file not there yet
        # (a dangling link), so that is what must be writable
        written_at = Path(os.path.realpath(target)) if os.path.islink(target) else target
        problem = output_problem(written_at)
        if problem is not None:
            where = "" if written_at == target else f" (a link to {written_at})"
            typer.echo(f"hrvpace record: cannot write {target}{where}: {problem}", err=True)
            raise typer.Exit(1)
    # lexists: a link to a missing file is there too (exists() said no, and the file was
    # refused only after connecting, "File exists")
    existing = [t for t in [*targets, *breaks] if os.path.lexists(t)]
    if existing and not overwrite:

        def named(paths: list[Path]) -> str:
            return ", ".join(
                f"{t} (a link to {os.path.realpath(t)}, not there)" if not t.exists() else str(t)
                for t in paths
            )

        replaced = [t for t in existing if t in targets]
        if replaced:
            typer.echo(
                f"hrvpace record: {named(replaced)} exists (use --overwrite to replace it)",
                err=True,
            )
        # an earlier recording's ECG after a break: --overwrite removes it, writes nothing there
        removed = [t for t in existing if t not in targets]
        if removed:
            them = "it" if len(removed) == 1 else "them"
            typer.echo(
                f"hrvpace record: {named(removed)} exists, an earlier recording's ECG after a "
                f"break (use --overwrite to remove {them})",
                err=True,
            )
        raise typer.Exit(1)
    written: list[int] = []  # the beats written, once the recording is open
    writers: dict[str, Any] = {}
    stop, cut = Stop(), _Cut()
    # from here to the exit a signal is noted, never raised (held_signals): only the first
    # counts, and only while the recording runs does it end it (_record)
    with held_signals(stop, final=True) as held:
        try:
            asyncio.run(
                _record(
                    device,
                    out,
                    minutes=minutes,
                    overwrite=overwrite,
                    scan_timeout_s=scan_timeout,
                    written=written,
                    streams=streams,
                    writers=writers,
                    stop=stop,
                    held=held,
                    cut=cut,
                )
            )
        except SensorError as exc:
            typer.echo(f"hrvpace record: {exc.reason}", err=True)
            if written:  # the recording was open: what it keeps, and how to record again
                summary = _Summary.of(out, written[0], writers)
                for line in summary.written_lines():
                    typer.echo(line)
                typer.echo(summary.advice(), err=True)
            raise typer.Exit(1) from exc
        except OSError as exc:  # a full disk, a file-size limit: the file and what each keeps
            said = exc.strerror or str(exc)
            # before the beats file was opened (the stream files, opened first, are then only
            # headers): nothing kept to name
            kept = f"; {_Summary.of(out, written[0], writers).kept()}" if written else ""
            typer.echo(
                f"hrvpace record: cannot write {exc.filename or out}: {said}{kept}", err=True
            )
            raise typer.Exit(1) from exc
        finally:
            for writer in writers.values():
                writer.close()
        if cut.short and not written:  # before the strap connected: no file was opened
            typer.echo(f"nothing recorded: the strap had not connected ({out} not written)")
            exit_stopped("before the strap connected", stop)
        for line in _Summary.of(out, written[0] if written else 0, writers).written_lines():
            typer.echo(line)
        if cut.short:
            exit_stopped("recording ended; the files keep every beat received", stop)
        if stop.stopped and not cut.noted:  # it came once the event loop had ended
            typer.echo(f"{stop.label}: the recording had ended; the files are whole", err=True)


async def _write_beats(
    strap: BleStrapSource, writer: Any, written: list[int], *, bpm_only_ends: bool
) -> None:
    """Write the strap's beats until it ends; end it as ``assess`` does a bpm-only device.

    With ``bpm_only_ends`` (no ``--stream``: the beats are all there is to record), a strap
    that :class:`~api.commands._bpm_only.BpmOnlyWatch` finds bpm-only (``hr_only`` with no RR since
    it connected for 10 s: the rule ``assess`` and ``practice`` use) ends the recording with a
    :class:`BleError` saying so (:class:`~api.commands._bpm_only.BpmOnly`'s message, which says
    whether the device offers PPI was not checked: ``record`` does not probe it): it would run
    forever writing nothing. With a stream the streams are recorded whatever the beats do.
    """
    from sensors.errors import BleError

    watch = BpmOnlyWatch(strap)

    async def pump() -> None:
        async for beat in strap:
            writer.write(beat)
            written[0] = writer.n_written

    if bpm_only_ends:
        watch.start()
    pumping = asyncio.ensure_future(pump())
    noticed = asyncio.ensure_future(watch.event.wait())
    try:
        await asyncio.wait({pumping, noticed}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this is cancelled (--minutes, a signal): the pump stops with it
        watch.cancel()
        noticed.cancel()
        if not pumping.done():
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping
    if pumping.done() and not pumping.cancelled():
        pumping.result()  # the strap's end or its error
    if watch.event.is_set():
        raise BleError(BpmOnly(None, probed=False).message(strap, "record RR intervals"))


def _break_file_problem(stale: Path) -> str | None:
    """Why an earlier recording's ECG break file cannot be removed (``None``: it can).

    ``--overwrite`` removes it (:class:`~sensors.formats.pmd_streams.EcgStreamWriter`), a link
    as a link: where a link points (a folder no longer there, a folder) does not matter, only
    that the entry is no real folder and its folder lets it be removed.
    """
    if stale.is_dir() and not stale.is_symlink():
        return "it is a folder"
    if not os.access(stale.parent, os.W_OK):
        return f"no permission to remove files in {stale.parent}"
    return None


async def _watch_silence(strap: BleStrapSource, watches: dict[str, SilenceWatch]) -> None:
    """Print each :class:`SilenceWatch`'s lines while the recording runs (cancelled at its end).

    One watch per file: ``"hr"``, the beats (the strap's heart rate; named ``the heart rate of
    NAME`` beside streams) and one per stream recorded, on its own frames
    (:func:`sensors.silence.stream_data`: an ECG stream stopping while the heart rate goes on
    is said; a stream not started yet is not watched for its start-up grace).
    """
    every = min(1.0, min(w.silent_after_s for w in watches.values()) / 4)
    while True:
        await asyncio.sleep(every)
        # read on every tick: each connection's frames (the strap's dict, never an old one)
        streams: dict[str, float] = getattr(strap, "stream_data_monotonic", {})
        status = strap.status
        name = status.device_name or status.device_address or "the strap"
        now = time.monotonic()
        for kind, watch in watches.items():
            if kind == "hr" and len(watches) == 1:
                last, label = strap.last_data_monotonic, name
            elif kind == "hr":
                last, label = strap.beat_data_monotonic, f"the heart rate of {name}"
            else:
                last = stream_data(streams.get(kind), strap.connected_monotonic, now=now)
                if last is None:  # no frame yet on this connection, within its start-up grace
                    continue
                label = f"the {kind.upper()} stream of {name}"
            line = watch.check(now, last, label)
            if line is not None:
                typer.echo(f"[{'no data' if watch.silent else 'data'}] {line}", err=True)


@dataclasses.dataclass(frozen=True)
class _Summary:
    """What a recording wrote, said the same way at every end (:meth:`of`).

    The normal end (``--minutes``, a signal) prints :meth:`written_lines`; a failure once the
    beats file is open (the strap lost, a bpm-only device) prints them and then
    :meth:`advice`; a file that cannot grow (a full disk) names what each file keeps in whole
    lines (:meth:`kept`).
    """

    out: Path
    n_beats: int
    #: ``(kind, files, samples)`` of each stream (``--stream``), in the order asked for.
    streams: tuple[tuple[str, tuple[Path, ...], int], ...]

    @classmethod
    def of(cls, out: Path, n_beats: int, writers: dict[str, Any]) -> _Summary:
        """The recording's summary: ``n_beats`` in ``out``, and each stream's writer's."""
        streams = tuple(
            (kind, tuple(Path(f) for f in w.files), int(w.n_samples)) for kind, w in writers.items()
        )
        return cls(out, n_beats, streams)

    @staticmethod
    def _samples(kind: str, n: int, *, named: bool = False) -> str:
        unit = "pulse" if kind == "ppi" else "sample"
        return counted(n, f"{kind.upper()} {unit}" if named else unit)

    def written_lines(self) -> list[str]:
        """``N beats written to OUT`` and, per stream, ``KIND: N samples written to FILES``."""
        lines = [f"{counted(self.n_beats, 'beat')} written to {self.out}"]
        for kind, files, n in self.streams:
            how = (
                " (hrvpace analyze FILE --format ecg_csv --sampling-rate 130)"
                if kind == "ecg"
                else ""
            )
            names = ", ".join(str(f) for f in files)
            lines.append(f"{kind.upper()}: {self._samples(kind, n)} written to {names}{how}")
        return lines

    def kept(self) -> str:
        """What each file keeps in whole lines, for a file that could not grow.

        ``OUT keeps the 2 complete beats written before (whole lines), OUT.ecg.csv the 730
        ECG samples``.
        """
        kept = [
            f"{self.out} keeps the {counted(self.n_beats, 'complete beat')} written before "
            "(whole lines)"
        ]
        for kind, files, n in self.streams:
            names = ", ".join(str(f) for f in files)
            kept.append(f"{names} the {self._samples(kind, n, named=True)}")
        return ", ".join(kept)

    def advice(self) -> str:
        """After a failure: which files keep data, and how to record again.

        Only the files with data are named as keeping it. A recording that wrote nothing (a
        bpm-only device, a strap lost before its first beat) leaves its files with no beats or
        samples (a header, and in the beats file perhaps the strap's ``# contact`` lines): they
        are kept (a file the user named is not deleted behind their back, and a
        header names the device and the start), and the line says that ``--overwrite`` loses
        nothing, so the advised re-run with the same ``--out`` works.
        """
        files = [self.out, *(f for _, fs, _ in self.streams for f in fs)]
        every = ", ".join(str(f) for f in files)
        # (files, what they keep), the first said as "FILES keeps the WHAT" (built, not
        # substituted: a path may hold " the ")
        kept: list[tuple[str, str]] = []
        if self.n_beats:
            kept.append((str(self.out), counted(self.n_beats, "beat")))
        for kind, fs, n in self.streams:
            if n:
                kept.append((", ".join(str(f) for f in fs), self._samples(kind, n, named=True)))
        if not kept:
            # "no beats", not "only a header": the beats file may also hold the strap's
            # "# contact" lines (no contact before the first beat), which are no recording
            holds = "holds no beats" if len(files) == 1 else "hold no beats or samples"
            return (
                f"nothing was recorded ({every} {holds}): to record again with "
                "the same --out, add --overwrite (nothing is lost)"
            )
        (names, what), rest = kept[0], kept[1:]
        said = [f"{names} keeps the {what}", *(f"{n} the {w}" for n, w in rest)]
        return (
            f"{', '.join(said)} recorded; to record again give a new --out file "
            f"(--overwrite would replace {every})"
        )


async def _record(
    device: str,
    out: Path,
    *,
    minutes: float | None,
    overwrite: bool,
    scan_timeout_s: float,
    written: list[int],
    streams: tuple[str, ...] = (),
    writers: dict[str, Any] | None = None,
    stop: Stop | None = None,
    held: Held | None = None,
    cut: _Cut | None = None,
) -> None:
    """Record until ``minutes`` run out or a signal stops it.

    Within :func:`~api.commands._stop.held_signals` (``held``): the first Ctrl-C or SIGTERM
    while it records ends it (``cut.short``): the recording task is cancelled, so the files and
    the strap's link close as they would at the end. One that came before this started ends it
    before it looks for the strap. The task is cancelled once, and not once the recording has
    ended (``--minutes`` ran out, or the strap's link is closing): a signal then, or a later
    one, is only noted on stderr (``cut.noted``), as a cancel then would stop the link's close
    half-way.
    """
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    ending = _Ending()
    cut = cut if cut is not None else _Cut()

    def note(signum: signal.Signals) -> None:
        cut.noted = True
        typer.echo(
            f"{Stop(signum).label}: the recording has ended; closing the strap's link", err=True
        )

    def cancel(signum: signal.Signals) -> None:  # called once: held only calls the first
        if cut.short:  # it came before this started, which has ended without looking
            return
        if ending.ended():
            note(signum)
            return
        cut.short = True
        if ending.deadline is not None:  # --minutes must not cancel the close either
            with contextlib.suppress(RuntimeError):  # its block was left (nothing to cancel)
                ending.deadline.reschedule(None)
        if task is not None:
            task.cancel()

    def on_first(signum: signal.Signals) -> None:  # from the signal handler: the loop's way in
        loop.call_soon_threadsafe(cancel, signum)

    def on_later(signum: signal.Signals) -> None:
        loop.call_soon_threadsafe(note, signum)

    if held is not None:  # one that came before (the loop not running yet): on_first at once
        held.cancel, held.again = on_first, on_later
    try:
        if stop is not None and stop.stopped:  # before the loop ran: not looked for
            cut.short = True
            return
        await _record_until_stopped(
            device,
            out,
            minutes=minutes,
            overwrite=overwrite,
            scan_timeout_s=scan_timeout_s,
            written=written,
            streams=streams,
            writers=writers,
            ending=ending,
        )
    except asyncio.CancelledError:
        if not cut.short:
            raise
    finally:
        if held is not None:
            held.cancel = held.again = None


@dataclasses.dataclass
class _Cut:
    """Whether a signal cut the recording short, or was only noted (it came once it had ended)."""

    short: bool = False
    noted: bool = False


@dataclasses.dataclass
class _Ending:
    """What says whether a recording has ended: a SIGTERM must not cancel it then."""

    #: The ``--minutes`` limit, once the recording is open (None: no limit, or not yet open).
    deadline: asyncio.Timeout | None = None
    #: The strap, once made.
    strap: BleStrapSource | None = None

    def ended(self) -> bool:
        """Whether ``--minutes`` ran out or the strap's link is closing."""
        if self.deadline is not None and self.deadline.expired():
            return True
        return self.strap is not None and self.strap.closing


async def _record_until_stopped(
    device: str,
    out: Path,
    *,
    minutes: float | None,
    overwrite: bool,
    scan_timeout_s: float,
    written: list[int],
    streams: tuple[str, ...] = (),
    writers: dict[str, Any] | None = None,
    ending: _Ending | None = None,
) -> None:
    from api._version import __version__
    from sensors.battery import LowBatteryWatch
    from sensors.beat import SourceStatus
    from sensors.ble import BleStrapSource
    from sensors.clock import SystemClock
    from sensors.contact import ContactChanges
    from sensors.formats.pmd_streams import (
        AccStreamWriter,
        EcgStreamWriter,
        PpiStreamWriter,
        stream_path,
    )
    from sensors.pmd import SettingType
    from sensors.pmd_recorder import STREAM_SETTINGS, BlePmdStreams
    from sensors.recording import RecordingWriter

    clock = SystemClock()
    sinks: dict[str, Any] = {} if writers is None else writers

    def on_frame(frame: PmdFrame, arrived_at: float, connection: int) -> None:
        writer = sinks.get(frame.kind)
        if writer is None:
            return
        if frame.kind == "ecg":
            writer.write(frame, connection)
        else:
            writer.write(frame, arrived_at)

    strap: BleStrapSource = (
        BlePmdStreams(
            device, streams=streams, on_frame=on_frame, clock=clock, scan_timeout_s=scan_timeout_s
        )
        if streams
        else BleStrapSource(device, clock=clock, scan_timeout_s=scan_timeout_s)
    )
    last_state: list[str] = []
    open_writer: list[RecordingWriter] = []  # the recording, once it is open
    # A stretch without skin contact has no beats to carry it: the file keeps it as
    # '# contact' lines (sensors.contact.ContactChanges: where contact was lost, where the
    # source says it came back; none for the end of a stretch the strap dropped in)
    contact_changes = ContactChanges()

    battery = LowBatteryWatch(ending="the recording")  # each threshold said once
    # a connected strap sending nothing: said once, and its end
    # (the beats' heart rate, and each stream recorded: one per file)
    silences = {k: SilenceWatch(SILENT_AFTER_S, ending="the recording") for k in ("hr", *streams)}

    def show(status: SourceStatus) -> None:
        for silence in silences.values():
            silence.on_status(status.state, time.monotonic())
        if open_writer:
            change = contact_changes.on_status(status)
            if change is not None:
                open_writer[0].write_contact(*change)
        # state changes only (reconnecting, HR-only, no contact, ...), not every heart-rate
        # update; a failure is printed once, by the command (hrvpace record: REASON)
        if not last_state or status.state != last_state[-1]:
            last_state.append(status.state)
            if status.state != "failed":
                typer.echo(f"[{status.state}] {status.message}", err=True)
        # once connected, after the state line: a strap connecting at 8 % is first said to be
        # connected (its battery is read, and may notify, while it connects)
        warning = battery.on_status(status)
        if warning is not None:
            typer.echo(f"[battery] {warning}", err=True)

    strap.add_status_listener(show)
    if ending is not None:
        ending.strap = strap
    rates = {k: STREAM_SETTINGS[k].get(SettingType.SAMPLE_RATE) for k in streams}
    async with strap:
        for kind in streams:  # once connected (a failed connection leaves no files); frames
            # wait in the source's queue until the loop below takes them
            path = stream_path(out, kind)
            if kind == "ppi":
                sinks[kind] = PpiStreamWriter(path, overwrite=overwrite)
            elif kind == "ecg":
                sinks[kind] = EcgStreamWriter(
                    path, sampling_rate_hz=float(rates[kind] or 130), out=out, overwrite=overwrite
                )
            else:
                sinks[kind] = AccStreamWriter(
                    path, sampling_rate_hz=float(rates[kind] or 50), overwrite=overwrite
                )
        status = strap.status
        info = strap.device_info
        meta: dict[str, Any] = {
            "source": "ble",
            "device_name": status.device_name,
            "device_address": status.device_address,
            "device_info": None if info is None else info.summary(),
            "started_at_unix_s": clock.now(),
            "hrvpace_version": __version__,
        }
        if streams:
            meta["streams"] = {
                k: {"file": stream_path(out, k).name, "sampling_rate_hz": rates[k]} for k in streams
            }
        silent = asyncio.ensure_future(_watch_silence(strap, silences))
        try:
            with RecordingWriter(out, meta=meta, overwrite=overwrite) as writer:
                open_writer.append(writer)
                written[:] = [0]
                limit = None if minutes is None else minutes * 60.0
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(limit) as deadline:
                        if ending is not None and limit is not None:
                            ending.deadline = deadline
                        await _write_beats(strap, writer, written, bpm_only_ends=not streams)
        finally:
            silent.cancel()
            # the file is closed here, but the strap's last statuses (ended, failed) come when
            # the strap closes, after this: show() must not write to the closed file
            open_writer.clear()
