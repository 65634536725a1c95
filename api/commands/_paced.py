"""What ``hrvpace assess`` and ``hrvpace practice`` share: options, the source, the run.

Both commands drive a :class:`breathing.PacingEngine` of their own through the service's one
session assembly (:func:`api.pipeline.assemble`: the same HRV analyser, NN verdict and pacing
stage as a live session), with no database: the command's output is its only sink.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import typer

from api.commands._options import read_speed
from api.pipeline import (
    Listener,
    Pacing,
    PipelineResult,
    Speed,
    assemble,
    play,
    session_stages,
)
from breathing import PacingEngine, PacingEvent, PacingMode
from sensors import BeatSource, SimulatedPerson, SimulatorSource

__all__ = [
    "LIVE_HINT",
    "DeviceOpt",
    "JsonOpt",
    "LagOpt",
    "SeedOpt",
    "SimulateOpt",
    "SpeedOpt",
    "choose_source",
    "live_source",
    "run_paced",
    "simulated_source",
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
    typer.Option("--device", help="A heart-rate strap's Bluetooth address or advertised name."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the simulated person.")]
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
        "--breathing-lag-s", help="How far the simulated person breathes behind the pacer (s)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def simulated_source(
    engine: PacingEngine,
    *,
    seed: int,
    resonance_bpm: float,
    speed: Speed,
    breathing_lag_s: float = 0.0,
) -> BeatSource:
    """A simulated person who breathes with the engine's pacer (``breathing_lag_s`` behind it)."""
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


def live_source(device: str) -> BeatSource:
    """A Bluetooth heart-rate strap (real time; reconnects when it drops)."""
    from sensors import BleStrapSource  # bleak is imported only when a strap is used

    return BleStrapSource(device)


def choose_source(
    engine: PacingEngine,
    *,
    simulate: bool,
    device: str | None,
    seed: int,
    resonance_bpm: float,
    speed: str,
    breathing_lag_s: float = 0.0,
) -> BeatSource:
    """The simulated person or the strap; neither (or both) is a usage error (exit code 2).

    ``speed`` (the simulated person's) is read by the one speed parser; a refused value is a
    usage error too.
    """
    if simulate == (device is not None):
        typer.echo(LIVE_HINT if not simulate else "use --simulate or --device, not both", err=True)
        raise typer.Exit(2)
    if device is not None:
        return live_source(device)
    return simulated_source(
        engine,
        seed=seed,
        resonance_bpm=resonance_bpm,
        speed=read_speed(speed),
        breathing_lag_s=breathing_lag_s,
    )


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
) -> None:
    """Run ``source`` through the session assembly with ``engine`` as its pacer, no database.

    Every pacing event goes to ``on_event`` (in order) until it returns ``True``, or until
    session time ``until_s``; ``listeners`` get the session's other results (its windows).
    A failing source exits with its reason (exit code 1); Ctrl-C exits with 130.
    """
    pacer = Pacing(engine, PacingMode, active=True, default_rate_bpm=engine.rate_bpm)
    stages = session_stages(pacer=pacer, microbreaks=False)
    pipeline = assemble(
        source, stages, listeners=(_PacingOutput(on_event), *listeners), until_s=until_s
    )
    try:
        result = asyncio.run(play(pipeline))
    except KeyboardInterrupt:
        result = PipelineResult("stopped", "stopped on request")
    if result.state == "stopped":
        typer.echo("stopped", err=True)
        raise typer.Exit(130)
    if result.state == "failed":
        typer.echo(f"hrvpace: {result.message}", err=True)
        raise typer.Exit(1)
