"""What ``hrvpace assess`` and ``hrvpace practice`` share: options, the source, the run.

Both commands drive a :class:`breathing.PacingEngine` of their own through the service's one
session assembly (:func:`api.pipeline.assemble`: the same HRV analyser, NN verdict and pacing
stage as a live session), with no database: the command's output is its only sink.

A device's source is built as a live session's is (:func:`api.pipeline.make_source` from a
:class:`api.pipeline.BleSpec`): ``--stream`` picks where the beats come from, the RR of the
Heart Rate Measurement (``hr``), the Polar Measurement Data pulse-to-pulse intervals of an
optical sensor (``ppi``) or R peaks detected live in a chest strap's ECG (``ecg``). A device
that sends heart rate without RR intervals gives no beats: the run ends as soon as the source
says so (``SourceState.HR_ONLY``), with the reason, never an HRV made up from bpm values, and
the device probe (:func:`sensors.probe_rr_intervals`) tells whether ``--stream ppi`` would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from api.commands._bpm_only import BpmOnly, BpmOnlyWatch
from api.commands._options import check_within, read_speed
from api.commands._stop import Held, Stop, held_signals
from api.pipeline import (
    BleSpec,
    Listener,
    Pacing,
    Pipeline,
    PipelineResult,
    SimulatorSpec,
    SourceControl,
    SourceMisconfiguredError,
    SourceUnavailableError,
    Speed,
    assemble,
    make_source,
    play,
    session_stages,
)
from breathing import BreathStage, PacingEngine, PacingEvent, PacingMode
from sensors import (
    Beat,
    BeatSource,
    SimulatedPerson,
    SimulatorSource,
    SourceState,
    SourceStatus,
)
from sensors.ble_sources import BLE_STREAMS

__all__ = [
    "LIVE_HINT",
    "CueOpt",
    "DeviceOpt",
    "JsonOpt",
    "LagOpt",
    "ResonanceOpt",
    "SeedOpt",
    "SimulateOpt",
    "SpeedOpt",
    "StreamOpt",
    "choose_source",
    "live_source",
    "run_paced",
    "simulated_source",
    "simulator_options_given",
    "want_cue",
]

LIVE_HINT = (
    "Say where the beats come from: --device ADDRESS_OR_NAME for a Bluetooth strap "
    "(`hrvpace scan` lists them), or --simulate for a simulated person. With the web page, a "
    "live strap session runs through the service: `hrvpace serve`, then start an assessment "
    "or a practice session there (API docs at /api/v1/docs)."
)

SimulateOpt = Annotated[
    bool, typer.Option("--simulate", help="Run against a simulated person (no strap needed).")
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="A Bluetooth heart-rate strap's, watch's or optical sensor's address or advertised "
        "name, or the start of one name (`hrvpace scan` lists them); see --stream.",
    ),
]
StreamOpt = Annotated[
    str | None,
    typer.Option(
        "--stream",
        metavar="[hr|ppi|ecg]",
        help="With --device, where the beats come from (default hr): 'hr' the RR intervals of "
        "the standard Heart Rate Measurement (any strap or watch that sends RR), 'ppi' the "
        "Polar Measurement Data pulse-to-pulse intervals of an optical sensor (OH1, Verity "
        "Sense, Polar watches), 'ecg' R peaks detected live in a Polar H10's ECG (needs the "
        "ecg extra, NeuroKit2). `hrvpace scan --probe 5` shows what a device sends.",
    ),
]
ResonanceOpt = Annotated[
    float,
    typer.Option(
        "--resonance-bpm",
        help="The simulated person's resonance, breaths/min, 3-10 (as a simulator session's).",
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed of the simulated person, 0-4294967295 (same seed, same beats)."
    ),
]
SpeedOpt = Annotated[
    str,
    typer.Option(
        "--speed",
        help="Simulation speed: N times real time (at most 10000), or 'max' (no waiting).",
    ),
]
LagOpt = Annotated[
    float,
    typer.Option(
        "--breathing-lag-s",
        help="How far the simulated person breathes behind the pacer, 0-5 s.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _spec_range(field: str) -> tuple[float, float]:
    """The bounds of a session source's simulator field (:class:`api.pipeline.SimulatorSpec`)."""
    meta = SimulatorSpec.model_fields[field].metadata
    lo = next(m.ge for m in meta if hasattr(m, "ge"))
    hi = next(m.le for m in meta if hasattr(m, "le"))
    return float(lo), float(hi)


#: ``--resonance-bpm`` and ``--seed``: the simulated person's, bounded as a session source's
#: ``resonance_bpm`` and ``seed`` are (the API's rule, as ``--speed`` follows its).
RESONANCE_RANGE_BPM = _spec_range("resonance_bpm")
SEED_RANGE = _spec_range("seed")
#: ``--breathing-lag-s``: how far behind the pacer the simulated person may breathe (s).
LAG_RANGE_S = (0.0, 5.0)


def check_simulated_person(*, seed: int, resonance_bpm: float, breathing_lag_s: float) -> None:
    """``--seed``, ``--resonance-bpm`` and ``--breathing-lag-s`` within their ranges.

    Raises
    ------
    typer.BadParameter
        One is outside: the message names the option and its range (exit code 2).
    """
    check_within(
        resonance_bpm,
        *RESONANCE_RANGE_BPM,
        option="--resonance-bpm",
        unit=" breaths/min",
        why="the simulated person's resonance, as a simulator session's resonance_bpm",
    )
    check_within(seed, *SEED_RANGE, option="--seed", why="as a simulator session's seed")
    check_within(breathing_lag_s, *LAG_RANGE_S, option="--breathing-lag-s", unit=" s")


def simulated_source(
    engine: PacingEngine,
    *,
    seed: int,
    resonance_bpm: float,
    speed: Speed,
    breathing_lag_s: float = 0.0,
) -> BeatSource:
    """A simulated person who breathes with the engine's pacer (``breathing_lag_s`` behind it).

    Raises
    ------
    typer.BadParameter
        An option of the simulated person outside its range (:func:`check_simulated_person`).
    """
    check_simulated_person(seed=seed, resonance_bpm=resonance_bpm, breathing_lag_s=breathing_lag_s)
    inhale, *_ = engine.pacer.pattern.fractions()
    try:
        person = SimulatedPerson(
            seed=seed,
            resonance_bpm=resonance_bpm,
            breathing=engine.breathing_phase_cycles,
            breathing_lag_s=breathing_lag_s,
            inhale_fraction=inhale,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return SimulatorSource(person, speed=speed)


def live_source(device: str, stream: str = "hr") -> BeatSource:
    """A Bluetooth device's beats from ``stream``, built as a live session's source is.

    Real time; reconnects when the device drops. bleak is imported only when it opens.

    Raises
    ------
    typer.BadParameter
        ``stream`` is not one of ``hr``, ``ppi``, ``ecg``, or the address or name is refused by
        the session schema (:class:`api.pipeline.BleSpec`).
    typer.Exit
        Exit code 1, the reason printed: the Bluetooth settings of the environment are unusable
        (``HRVPACE_BLE_CLOSE_TIMEOUT_S``). Exit code 2: ``--stream ecg`` without NeuroKit2
        (said before connecting).
    """
    if stream not in BLE_STREAMS:
        raise typer.BadParameter(
            f"{stream!r} is not one of {', '.join(BLE_STREAMS)}", param_hint="'--stream'"
        )
    try:
        spec = BleSpec.model_validate({"kind": "ble", "address": device, "stream": stream})
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]) for e in exc.errors())
        raise typer.BadParameter(reason, param_hint="'--device'") from None
    try:
        return make_source(spec, SourceControl())
    except SourceMisconfiguredError as exc:  # e.g. a bad HRVPACE_BLE_CLOSE_TIMEOUT_S
        typer.echo(f"hrvpace: {exc}", err=True)
        raise typer.Exit(1) from None
    except SourceUnavailableError as exc:  # an extra missing (NeuroKit2 for --stream ecg)
        typer.echo(f"hrvpace: {exc}", err=True)
        raise typer.Exit(2) from None


#: The options of the simulated person (parameter name, option), refused with ``--device``.
_SIMULATOR_ONLY = (
    ("resonance_bpm", "--resonance-bpm"),
    ("seed", "--seed"),
    ("speed", "--speed"),
    ("breathing_lag_s", "--breathing-lag-s"),
)


def simulator_options_given(ctx: typer.Context) -> list[str]:
    """The simulated person's options the command line gave (not left at their defaults)."""
    given = []
    for name, option in _SIMULATOR_ONLY:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            given.append(option)
    return given


def choose_source(
    engine: PacingEngine,
    *,
    simulate: bool,
    device: str | None,
    seed: int,
    resonance_bpm: float,
    speed: str,
    breathing_lag_s: float = 0.0,
    stream: str | None = None,
    simulator_given: Sequence[str] = (),
) -> BeatSource:
    """The simulated person or the device; neither (or both) is a usage error (exit code 2).

    ``stream`` (``--stream``; ``None``: not given, ``hr``) is the device's; given with the
    simulated person it is a usage error, as the simulated person's options are with a device
    (``simulator_given``: those the command line gave, :func:`simulator_options_given`).
    ``speed`` (the simulated person's) is read by the one speed parser; a refused value is a
    usage error too.
    """
    if simulate == (device is not None):
        typer.echo(LIVE_HINT if not simulate else "use --simulate or --device, not both", err=True)
        raise typer.Exit(2)
    if device is not None:
        if simulator_given:
            verb, it = ("is", "it sets") if len(simulator_given) == 1 else ("are", "they set")
            raise typer.BadParameter(
                f"{verb} for --simulate only: {it} the simulated person (a device's beats are "
                "its own, in real time)",
                param_hint=", ".join(f"'{option}'" for option in simulator_given),
            )
        return live_source(device, stream or "hr")
    if stream is not None:
        raise typer.BadParameter(
            "is for --device only: the simulated person's beats are its own, not a "
            "Bluetooth stream's",
            param_hint="'--stream'",
        )
    return simulated_source(
        engine,
        seed=seed,
        resonance_bpm=resonance_bpm,
        speed=read_speed(speed),
        breathing_lag_s=breathing_lag_s,
    )


#: The terminal's words for each stage of the breath (the page animates the pacer itself).
_CUE_WORDS = {
    BreathStage.INHALE: "breathe in",
    BreathStage.HOLD_AFTER_INHALE: "hold",
    BreathStage.EXHALE: "breathe out",
    BreathStage.HOLD_AFTER_EXHALE: "hold",
}

#: ``--cue/--no-cue`` of ``assess`` and ``practice``.
CueOpt = Annotated[
    bool | None,
    typer.Option(
        "--cue/--no-cue",
        help="Print a breathing cue line (breathe in / breathe out) at each change of the "
        "breath; default: when the output is a terminal. The web page (hrvpace serve) shows "
        "the animated pacer.",
    ),
]


def want_cue(cue: bool | None, *, as_json: bool) -> bool:
    """``--cue``/``--no-cue`` as given, else: when stdout is a terminal and not ``--json``."""
    if cue is not None:
        return cue
    return not as_json and sys.stdout.isatty()


class _BreathingCue(Listener):
    """A line at each change of the breath's stage, on the beats' session time.

    Text: ``0:42  breathe in  (6.0/min)`` on stdout; with ``as_json`` a JSON object per line
    on stderr (stdout keeps the command's one result). Beat-driven, so a cue comes with the
    first beat in the new stage (about a second late at most; the page's pacer is exact).
    """

    def __init__(self, engine: PacingEngine, *, as_json: bool) -> None:
        self._engine = engine
        self._as_json = as_json
        self._stage: BreathStage | None = None

    def on_beat(self, beat: Beat) -> None:
        phase = self._engine.guidance(beat.t_s).phase
        if phase.stage is self._stage:
            return
        self._stage = phase.stage
        if self._as_json:
            event: dict[str, Any] = {"event": "cue", "t_s": round(beat.t_s, 3)}
            event.update(stage=str(phase.stage), rate_bpm=round(phase.rate_bpm, 4))
            typer.echo(json.dumps(event), err=True)
            return
        minutes, seconds = divmod(int(beat.t_s), 60)
        typer.echo(
            f"{minutes}:{seconds:02d}  {_CUE_WORDS[phase.stage]}  ({phase.rate_bpm:.1f}/min)"
        )


def _status_printer(as_json: bool) -> Callable[[SourceStatus], None]:
    """Print the source's state changes (connected, reconnecting, no contact, ...) on stderr.

    A failure is printed once, by the command (``hrvpace: REASON``, :func:`run_paced`), as
    ``record`` does: not also here as ``[failed] REASON``. The JSON lines keep its event.
    """
    last: list[SourceState] = []

    def show(status: SourceStatus) -> None:
        if last and status.state is last[-1]:
            return  # not every heart-rate update
        last.append(status.state)
        if as_json:
            event = {"event": "status", "state": str(status.state), "message": status.message}
            typer.echo(json.dumps(event), err=True)
        elif status.state is not SourceState.FAILED:
            typer.echo(f"[{status.state}] {status.message}", err=True)

    return show


class _StrapNotes(Listener):
    """Print what the session says about the strap, as ``record`` prints it, on stderr.

    A battery falling to 20, 10 or 5 % (``[battery] ...``), a connected strap sending nothing
    for 10 s (``[no data] ...``) and its data coming again (``[data] ...``): the session's own
    watches (:meth:`api.pipeline.sinks.Listener.on_strap_note`), one rule with ``record`` and
    the service. JSON lines with ``as_json``: ``{"event": "battery"|"no_data"|"data",
    "message": ...}``.
    """

    def __init__(self, *, as_json: bool) -> None:
        self._as_json = as_json

    def on_strap_note(self, kind: str, line: str) -> None:
        if self._as_json:
            event = {"event": kind.replace(" ", "_"), "message": line}
            typer.echo(json.dumps(event), err=True)
        else:
            typer.echo(f"[{kind}] {line}", err=True)


class _PacingOutput(Listener):
    """Hands each pacing event to the command; its ``True`` ends the run."""

    def __init__(self, on_event: Callable[[PacingEvent], bool]) -> None:
        self._on_event = on_event

    def on_pacing(self, events: list[Any]) -> bool:
        return any(self._on_event(event) for event in events)


def run_paced(
    engine: PacingEngine,
    source: BeatSource,
    *,
    on_event: Callable[[PacingEvent], bool],
    until_s: float | None = None,
    listeners: tuple[Listener, ...] = (),
    doing: str = "pace",
    show_status: bool = False,
    cue: bool = False,
    as_json: bool = False,
    stop: Stop | None = None,
    held: Held | None = None,
) -> bool:
    """Run ``source`` through the session assembly with ``engine`` as its pacer, no database.

    Every pacing event goes to ``on_event`` (in order) until it returns ``True``, or until
    session time ``until_s``; ``listeners`` get the session's other results (its windows).
    Returns ``True`` when Ctrl-C or SIGTERM stopped the run (the engine keeps what it had done:
    the caller prints it, marked stopped, then :func:`api.commands._stop.exit_stopped`),
    ``False`` when it ended otherwise; ``stop`` (the command's) is told which signal it was. A
    SIGTERM is handled as Ctrl-C is: the session is stopped and the device's link closed.
    Only the first counts (:func:`held_signals`; ``held``: the command's, held until its
    summary is printed, else one held while the run runs, whose handlers are put back after
    it: not ``final``, the caller may go on): a later one while the session closes is noted
    on stderr and lets it close. One before the run (``stop`` told already):
    the run stops as it starts.
    A failing source exits with its reason (exit code 1). A device that
    sends heart rate without RR intervals (the source's state ``hr_only``) and has sent none
    since it connected ends the run with exit code 1 once it has stayed so for
    :data:`api.commands._bpm_only._BPM_ONLY_AFTER_S`: the message says it cannot ``doing``
    from bpm, and whether the device offers PPI (``--stream ppi``), by
    :func:`sensors.probe_rr_intervals`.

    ``show_status``: print the source's state changes on stderr (a device: connecting,
    connected, reconnecting, no skin contact; JSON lines with ``as_json``), and what the session
    says about the strap (:class:`_StrapNotes`: a low battery, no data for 10 s). ``cue``: a
    breathing cue line at each change of the breath (:class:`_BreathingCue`).
    """
    if show_status:
        source.add_status_listener(_status_printer(as_json))
        listeners = (*listeners, _StrapNotes(as_json=as_json))
    if cue:
        listeners = (*listeners, _BreathingCue(engine, as_json=as_json))
    pacer = Pacing(engine, PacingMode, active=True, default_rate_bpm=engine.rate_bpm)
    stages = session_stages(pacer=pacer, microbreaks=False)
    pipeline = assemble(
        source, stages, listeners=(_PacingOutput(on_event), *listeners), until_s=until_s
    )
    stop = stop if stop is not None else Stop()
    try:
        with contextlib.ExitStack() as stack:
            if held is None:
                held = stack.enter_context(held_signals(stop))
            result, bpm_only = asyncio.run(_play_unless_bpm_only(pipeline, stop, held))
    except KeyboardInterrupt:  # not the main thread (no handler of its own): Ctrl-C as ever
        if stop.signal is None:
            stop.signal = signal.SIGINT
        result, bpm_only = PipelineResult("stopped", "stopped on request"), None
    if bpm_only is not None:
        typer.echo(f"hrvpace: {bpm_only.message(source, doing)}", err=True)
        raise typer.Exit(1)
    if result.state == "failed":
        typer.echo(f"hrvpace: {result.message}", err=True)
        raise typer.Exit(1)
    return result.state == "stopped"


#: How long the device probe after an HR-only run may listen (it reads the device's PMD
#: features on connecting, before it listens).
_PROBE_S = 2.0


async def _play_unless_bpm_only(
    pipeline: Pipeline, stop: Stop | None = None, held: Held | None = None
) -> tuple[PipelineResult, BpmOnly | None]:
    """Play the session; end it when its source has said it sends heart rate only for a while.

    Within :func:`held_signals` (``held``), the first Ctrl-C or SIGTERM (in ``stop``, also one
    that came before this started) stops the session (it closes the device's link); a later one
    while it closes is noted on stderr.

    The rule is :class:`BpmOnlyWatch`'s (``record`` uses it too).

    Returns the session's result and, for a device in HR-only mode, what the device probe
    (:func:`sensors.probe_rr_intervals`, once the session's link is closed) says it offers.
    """
    watch = BpmOnlyWatch(pipeline.source)
    hr_only = watch.event
    loop = asyncio.get_running_loop()

    terminated = asyncio.Event()

    signalled: list[signal.Signals] = []  # at once (the Event is set through the loop)

    def on_signal(signum: signal.Signals) -> None:  # from the handler: the loop's way in
        signalled.append(signum)
        loop.call_soon_threadsafe(terminated.set)

    def closing(signum: signal.Signals) -> None:
        def note() -> None:
            label = Stop(signum).label
            typer.echo(f"{label}: already stopping; the session is closing", err=True)

        loop.call_soon_threadsafe(note)

    if held is not None:  # one that came before this (the loop not running yet): at once
        held.cancel, held.again = on_signal, closing
    try:
        if stop is not None and stop.stopped:  # came before the session started: not started
            return PipelineResult("stopped", f"stopped by {stop.label}"), None
        watch.start()
        session = asyncio.ensure_future(play(pipeline))
        noticed = asyncio.ensure_future(hr_only.wait())
        ended = asyncio.ensure_future(terminated.wait())
        try:
            await asyncio.wait({session, noticed, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # HR-only noticed, SIGTERM, or this run cancelled (Ctrl-C): the session
            # closes its link
            watch.cancel()
            noticed.cancel()
            ended.cancel()
            if not session.done():
                session.cancel()
            try:
                result = await session
            except asyncio.CancelledError:  # cancelled before the session got going
                result = PipelineResult("stopped", "stopped on request")
        if held is not None:  # from here a signal is the probe's (set below, at once if one came)
            held.cancel = None
        if signalled or terminated.is_set():
            label = stop.label if stop is not None else "a signal"
            return PipelineResult("stopped", f"stopped by {label}"), None
        if not hr_only.is_set():
            return result, None
        from sensors.ble import probe_rr_intervals  # bleak: only for a device

        address = pipeline.source.status.device_address
        if address is None:
            return result, BpmOnly(None)
        # the probe is stopped as the session is: a signal (one while the session's link
        # closed too) cancels it, its link closes, and the run ends stopped
        probing = asyncio.ensure_future(probe_rr_intervals(address, listen_s=_PROBE_S))
        probe_cut: list[signal.Signals] = []

        def cut_probe(signum: signal.Signals) -> None:  # from the handler, or the setter
            probe_cut.append(signum)
            loop.call_soon_threadsafe(probing.cancel)

        if held is not None:
            held.cancel = cut_probe
        try:
            probe = await probing
        except asyncio.CancelledError:
            if not probe_cut:
                raise
            return PipelineResult("stopped", f"stopped by {Stop(probe_cut[0]).label}"), None
    finally:  # once the links are closed: the loop that notes a signal ends
        if held is not None:
            held.cancel = held.again = None
    return result, BpmOnly(probe.pmd_streams)
