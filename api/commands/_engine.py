"""The live source and engine loop shared by ``hrvpace assess`` and ``hrvpace practice``: their
flags, the simulated or Bluetooth source, the speed parser and the loop that feeds beats to
:class:`breathing.PacingEngine` (a neutral module: commands do not import each other)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

import typer

from breathing import (
    PacingEngine,
    PacingEvent,
)
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
    "drive",
    "live_source",
    "parse_speed",
    "run_engine",
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
    typer.Option("--speed", help="Simulation speed: N times real time, or 'max' (no waiting)."),
]
LagOpt = Annotated[
    float,
    typer.Option(
        "--breathing-lag-s", help="How far the simulated person breathes behind the pacer (s)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def parse_speed(value: str) -> float | str:
    """``"max"`` or a positive number."""
    if value.strip().lower() == "max":
        return "max"
    try:
        speed = float(value)
    except ValueError:
        raise typer.BadParameter(f"--speed must be a number or 'max', got {value!r}") from None
    if not speed > 0:
        raise typer.BadParameter(f"--speed must be > 0, got {value!r}")
    return speed


def simulated_source(
    engine: PacingEngine,
    *,
    seed: int,
    resonance_bpm: float,
    speed: float | str,
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
    return SimulatorSource(person, speed="max" if speed == "max" else float(speed))


def live_source(device: str) -> BeatSource:
    """A Bluetooth heart-rate strap (real time; reconnects when it drops)."""
    from sensors import BleStrapSource  # bleak is imported only when a strap is used

    return BleStrapSource(device)


def run_engine(
    engine: PacingEngine,
    source: BeatSource,
    *,
    on_event: Callable[[PacingEvent], bool],
    until_s: float | None = None,
) -> None:
    """:func:`drive` to the end; a failing source exits with its reason (exit code 1)."""
    from sensors import SensorError

    try:
        asyncio.run(drive(engine, source, on_event=on_event, until_s=until_s))
    except SensorError as exc:
        typer.echo(f"hrvpace: {exc.reason}", err=True)
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
        raise typer.Exit(130) from None


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
    """The simulated person or the strap; neither (or both) is a usage error (exit code 2)."""
    if simulate == (device is not None):
        typer.echo(LIVE_HINT if not simulate else "use --simulate or --device, not both", err=True)
        raise typer.Exit(2)
    if device is not None:
        return live_source(device)
    return simulated_source(
        engine,
        seed=seed,
        resonance_bpm=resonance_bpm,
        speed=parse_speed(speed),
        breathing_lag_s=breathing_lag_s,
    )


async def drive(
    engine: PacingEngine,
    source: BeatSource,
    *,
    on_event: Callable[[PacingEvent], bool],
    until_s: float | None = None,
) -> float:
    """Feed every beat of ``source`` to ``engine`` until ``on_event`` returns True or ``until_s``.

    Returns the time of the last beat fed.
    """
    last = 0.0
    async with source:
        async for beat in source:
            if until_s is not None and beat.t_s > until_s:
                engine.advance(until_s)
                return until_s
            last = beat.t_s
            events = engine.on_beat(
                beat.t_s, beat.rr_ms, gap_before=beat.gap_before, contact=beat.contact
            )
            for event in events:
                if on_event(event):
                    return last
    return last
