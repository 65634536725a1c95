"""``hrvpace assess``: the stepped resonance-frequency assessment (against a simulated person).

The command only wires a source of beats to :class:`breathing.PacingEngine` (the same facade the
service's live pipeline drives) and prints what the engine says.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from breathing import (
    AssessmentDone,
    AssessmentProtocol,
    AssessmentResult,
    AssessmentStepDone,
    PacingEngine,
    PacingEvent,
    PacingMode,
)
from sensors import BeatSource, SimulatedPerson, SimulatorSource

__all__ = [
    "LIVE_HINT",
    "assess",
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


#: The table's columns: header label, and the format of a value (its width is the label's).
_COLUMNS = (
    ("rate/min", ".1f"),
    ("peak-trough bpm", ".1f"),
    ("phase deg", ".0f"),
    ("LF power ms2", ".0f"),
    ("LF peak Hz", ".3f"),
    ("breaths", "d"),
    ("quality", ".0%"),
)
_COLUMN_GAP = "  "


def _table(result: AssessmentResult) -> str:
    """One row per rate; a missing value is a ``-`` padded to its column, so columns line up."""

    def cell(value: float | None, label: str, fmt: str) -> str:
        text = "-" if value is None else format(value, fmt)
        return text.rjust(len(label))

    lines = [_COLUMN_GAP.join(label for label, _ in _COLUMNS)]
    for r in result.rates:
        values = (
            r.rate_bpm,
            r.peak_to_trough_bpm,
            r.phase_deg,
            r.lf_power_ms2,
            r.lf_peak_hz,
            r.n_cycles,
            r.quality,
        )
        row = _COLUMN_GAP.join(
            cell(v, label, fmt) for v, (label, fmt) in zip(values, _COLUMNS, strict=True)
        )
        lines.append(row + ("" if r.usable else f"  (not used: {r.note})"))
    return "\n".join(lines)


def assess(
    simulate: SimulateOpt = False,
    device: DeviceOpt = None,
    resonance_bpm: Annotated[
        float,
        typer.Option("--resonance-bpm", help="The simulated person's resonance, breaths/min."),
    ] = 5.5,
    seed: SeedOpt = 1,
    speed: SpeedOpt = "1",
    breathing_lag_s: LagOpt = 0.0,
    screening: Annotated[
        bool, typer.Option("--screening", help="Short variant: 1 minute per rate.")
    ] = False,
    step_s: Annotated[
        float | None, typer.Option("--step-s", help="Seconds per rate (default 120).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the resonance breathing rate: 6.5, 6.0, 5.5, 5.0, 4.5 breaths/min, ~2 min each."""
    if simulate:
        parse_speed(speed)  # a bad --speed is a usage error before anything starts
    protocol = AssessmentProtocol.screening() if screening else AssessmentProtocol()
    if step_s is not None:
        try:
            protocol = dataclasses.replace(
                protocol, step_s=step_s, settle_s=min(protocol.settle_s, step_s / 4)
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=protocol)
    source = choose_source(
        engine,
        simulate=simulate,
        device=device,
        seed=seed,
        resonance_bpm=resonance_bpm,
        speed=speed,
        breathing_lag_s=breathing_lag_s,
    )

    def on_event(event: PacingEvent) -> bool:
        if isinstance(event, AssessmentStepDone) and not as_json:
            r = event.result
            phase = "-" if r.phase_deg is None else f"{r.phase_deg:+.0f} deg"
            ptt = "-" if r.peak_to_trough_bpm is None else f"{r.peak_to_trough_bpm:.1f} bpm"
            typer.echo(
                f"step {event.step_index + 1}/{event.n_steps}: {r.rate_bpm:g}/min  "
                f"peak-to-trough {ptt}  phase {phase}"
            )
        return isinstance(event, AssessmentDone)

    run_engine(engine, source, on_event=on_event)
    result = engine.assessment_result
    if result is None:  # the source ended early (cannot happen with the simulator)
        typer.echo("the assessment did not finish", err=True)
        raise typer.Exit(1)
    if as_json:
        out: dict[str, Any] = dataclasses.asdict(result)
        out["protocol"] = dataclasses.asdict(protocol)
        if simulate:
            out["simulated"] = {
                "seed": seed,
                "resonance_bpm": resonance_bpm,
                "breathing_lag_s": breathing_lag_s,
            }
        else:
            out["device"] = device
        typer.echo(json.dumps(out))
        return
    typer.echo(_table(result))
    if result.resonance_bpm is None:
        typer.echo(f"no resonance rate: {result.reason}")
    else:
        typer.echo(f"resonance rate: {result.resonance_bpm:.2f} breaths/min ({result.method})")
        typer.echo(f"why: {result.reason}")
        if result.range_note:
            typer.echo(f"note: {result.range_note}")
    for c in result.criteria:
        if c.detail.startswith("left out"):
            typer.echo(f"{c.name} {c.detail}")
