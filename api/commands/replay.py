"""``hrvpace replay``: a recording through the live pipeline, events out as JSON lines.

The recording is played by :class:`sensors.ReplaySource` through the service's own
:class:`api.pipeline.Pipeline` (the code path of a live strap: storage, the streaming HRV
analyser of :func:`api.pipeline.make_analyser` with 60-s windows every 5 s, and the micro-break
monitor of :func:`api.pipeline.make_microbreaks`). The replay starts from the population
baseline (or ``--baseline FILE``) and never changes the person's stored baseline. Without
``--store`` the pipeline writes to a throw-away database deleted at the end; with ``--store``
the replay becomes a session of the service's database (with its micro-breaks), visible to
``hrvpace serve`` and ``hrvpace report``.

Events (one JSON object per line with ``--json``), each with ``type`` and ``t_s`` (seconds
since the recording began; with ``--start``/``--end`` only that stretch is replayed and
``t_s`` counts from its start):

* ``metrics``: one 60-s window (the pipeline's metrics; ``t_s`` is the window's end);
* ``micro_break``: a break is due: ``reason`` (``code``, a plain ``summary`` and
  ``details`` with the numbers), ``suggestion`` (``kind``,
  ``duration_s``, ``text``, ``reference``) and the numbers behind it;
* ``replay_end``: beats, windows, flags, how the source ended, and the learned baseline.

Quiet hours are not applied to replays (a recording's local time of day is rarely known).
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands._options import (
    ChannelOpt,
    EndOpt,
    FormatOpt,
    SamplingRateOpt,
    StartOpt,
    UnitsOpt,
    check_format,
    segments_from_options,
    signal_options,
)
from api.live import LiveHub
from api.payloads import to_payload
from api.pipeline import MicroBreaks, Pipeline, make_analyser, make_microbreaks
from api.storage import Storage
from breathing import Baseline, BreathingError, MicroBreakDue
from sensors import Recording, ReplaySource, SensorError, VirtualClock

__all__ = ["replay"]


def _parse_speed(value: str) -> float | str:
    if value.strip().lower() == "max":
        return "max"
    try:
        speed = float(value)
    except ValueError:
        raise typer.BadParameter(f"--speed must be a number or 'max', got {value!r}") from None
    if not (math.isfinite(speed) and speed > 0):
        raise typer.BadParameter(f"--speed must be > 0, got {value!r}")
    return speed


def _load_baseline(path: Path | None) -> Baseline | None:
    if path is None or not path.exists():
        return None
    try:
        return Baseline.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"--baseline {path}: {exc}") from None


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
        return (
            f"{minutes}  replay {event['state']}: {event['n_beats']} beats, "
            f"{event['n_windows']} windows, {event['n_micro_breaks']} micro-break(s)"
        )
    return None


class _Echo(MicroBreaks):
    """The pipeline's micro-break facade, also handing each event to the replay's output."""

    def __init__(self, inner: MicroBreaks, emit: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(inner.monitor, local_time=None)
        self.persist = False  # a replay never overwrites the person's stored baseline
        self._emit = emit
        self.n_flags = 0

    def on_window(self, window: Any) -> list[Any]:
        events = super().on_window(window)
        for event in events:
            if isinstance(event, MicroBreakDue):
                self.n_flags += 1
            self._emit(to_payload(event))
        return events


async def run_replay(
    path: Path | Recording,
    *,
    fmt: str | None,
    units: str | None,
    speed: float | str,
    emit: Callable[[dict[str, Any]], None],
    storage: Storage,
    session_id: str,
    baseline: Baseline | None = None,
) -> tuple[dict[str, Any], MicroBreaks]:
    """Replay ``path`` (a file, or a recording already read, e.g. a segment) through
    :class:`api.pipeline.Pipeline`; ``emit`` each event as it comes.

    Returns the ``replay_end`` event and the session's micro-break facade (its monitor holds
    the baseline learned from the recording).
    """
    clock = VirtualClock(start=time.time()) if speed == "max" else None
    source = ReplaySource(
        path,
        speed="max" if speed == "max" else float(speed),
        clock=clock,
        **({} if isinstance(path, Recording) else {"format": fmt, "units": units}),
    )
    made = make_microbreaks(
        baseline=None if baseline is None else baseline.to_dict(),
        settings=None,
        wall_clock_local_time=False,
    )
    if made is None:  # pragma: no cover - breathing.microbreak is part of this build
        raise RuntimeError("micro-break flags are not available in this build")
    microbreaks = _Echo(made, emit)
    n_windows = 0

    def on_metrics(data: dict[str, Any]) -> None:
        # data["t_s"] is the window's end on the recording's clock (hrv.LiveAnalyser)
        nonlocal n_windows
        n_windows += 1
        emit({"type": "metrics", **data})

    pipeline = Pipeline(
        session_id=session_id,
        source=source,
        storage=storage,
        hub=LiveHub(session_id),
        analyser=make_analyser(),
        pacer=None,
        microbreaks=microbreaks,
        on_metrics=on_metrics,
    )
    result = await pipeline.run()
    pipeline.finish()
    end = {
        "type": "replay_end",
        "t_s": pipeline.t_s,
        "state": result.state,
        "message": result.message,
        "n_beats": pipeline.n_beats,
        "n_skipped": pipeline.n_skipped,
        "n_windows": n_windows,
        "n_micro_breaks": microbreaks.n_flags,
        "baseline": microbreaks.baseline_dict(),
    }
    return end, microbreaks


def replay(
    file: Annotated[Path, typer.Argument(help="The recording (see --format).")],
    fmt: FormatOpt = None,
    units: UnitsOpt = None,
    sampling_rate: SamplingRateOpt = None,
    channel: ChannelOpt = None,
    start_at: StartOpt = None,
    end_at: EndOpt = None,
    speed: Annotated[
        str, typer.Option("--speed", help="N times real time, or 'max' (no waiting).")
    ] = "max",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print every event as one JSON object per line.")
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
            help="JSON file with a stored baseline: read if present, written at the end.",
        ),
    ] = None,
) -> None:
    """Replay a recording through the live pipeline; print metrics and micro-break events.

    An ECG/PPG signal (--format wfdb, edf, ecg_csv, ppg_csv) is replayed as its detected
    beats: ecg_csv and ppg_csv need --sampling-rate; --channel picks the signal.
    """
    pace = _parse_speed(speed)
    check_format(fmt)
    signal = signal_options(fmt, sampling_rate, channel, [file])
    if units is not None and units not in ("ms", "s"):
        raise typer.BadParameter(f"--units must be 'ms' or 's', got {units!r}")
    if not file.is_file():
        typer.echo(f"hrvpace replay: {file}: no such file", err=True)
        raise typer.Exit(2)
    baseline = _load_baseline(baseline_file)
    segments = segments_from_options(start_at, end_at)
    # the format and units as analyze chooses them (the file's header, name and content)
    from api.research.discover import choose_reading

    reading = choose_reading(file, format=fmt, units=units)
    fmt, units = reading.format, reading.units
    played: Path | Recording = file
    if segments is not None or signal.as_kwargs():
        # read here: a segment only (its t_s count from the segment's start), or a signal
        # read with --sampling-rate/--channel
        from api.research.segments import SegmentError, cut
        from sensors import read_recording

        try:
            played = read_recording(
                file,
                format=fmt,
                units=units,
                sampling_rate_hz=signal.sampling_rate_hz,
                channel=signal.channel,
            )
            if segments is not None:
                played = cut(played, segments[0])
        except (SensorError, SegmentError) as exc:
            typer.echo(f"hrvpace replay: {exc}", err=True)
            raise typer.Exit(1) from None

    def emit(event: dict[str, Any]) -> None:
        if as_json:
            typer.echo(json.dumps(event, allow_nan=False))
        else:
            text = _human(event)
            if text is not None:
                typer.echo(text)

    session_id = uuid.uuid4().hex
    source_desc: dict[str, Any] = {
        "kind": "replay",
        "path": str(file),
        "format": fmt,
        "units": units,
    }
    source_desc.update(signal.as_kwargs())
    if isinstance(played, Recording) and segments is not None:
        source_desc["segment"] = {
            "start_s": played.meta["segment_start_s"],
            "end_s": played.meta["segment_end_s"],
        }
    with tempfile.TemporaryDirectory(prefix="hrvpace-replay-") as tmp:
        if store:
            from api.settings import load_settings

            db_path = load_settings(data_dir=data_dir).database_path
        else:
            db_path = Path(tmp) / "replay.sqlite3"
        storage = Storage(db_path)
        try:
            storage.create_session(
                session_id,
                created_at=time.time(),
                mode="monitor",
                source={**source_desc, "speed": pace},
                options={"command": "hrvpace replay"},
            ).result()
            end, _ = asyncio.run(
                run_replay(
                    played,
                    fmt=fmt,
                    units=units,
                    speed=pace,
                    emit=emit,
                    storage=storage,
                    session_id=session_id,
                    baseline=baseline,
                )
            )
            storage.set_session_state(
                session_id, end["state"], message=end["message"], ended_at=time.time()
            ).result()
        except (SensorError, BreathingError) as exc:
            typer.echo(f"hrvpace replay: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            storage.close()
    if store:
        end["session_id"] = session_id
    emit(end)
    if baseline_file is not None:
        baseline_file.write_text(json.dumps(end["baseline"]), encoding="utf-8")
    if end["state"] == "failed":
        typer.echo(f"hrvpace replay: {end['message']}", err=True)
        raise typer.Exit(1)
