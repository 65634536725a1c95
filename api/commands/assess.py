"""``hrvpace assess``: the stepped resonance-frequency assessment (a device or a simulated person).

The command only gives :class:`breathing.PacingEngine` a source of beats through the session
assembly the service uses (:func:`api.commands._paced.run_paced`) and prints what the engine
says. The beats come from a Bluetooth device (``--device``; ``--stream hr|ppi|ecg`` as a live
session's ``stream``) or a simulated person (``--simulate``); ``--speed`` (the simulated
person's) is ``max`` or a number of times real time in (0, 10000]
(:func:`api.pipeline.speed.parse_speed`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from api.commands._options import check_within, read_speed
from api.commands._paced import (
    CueOpt,
    DeviceOpt,
    JsonOpt,
    LagOpt,
    ResonanceOpt,
    SeedOpt,
    SimulateOpt,
    SpeedOpt,
    StreamOpt,
    choose_source,
    run_paced,
    simulator_options_given,
    want_cue,
)
from api.commands._stop import Stop, exit_stopped, held_signals
from breathing import (
    AssessmentDone,
    AssessmentProtocol,
    AssessmentResult,
    AssessmentStepDone,
    PacingEngine,
    PacingEvent,
    PacingMode,
    RateResult,
)
from sensors.simulator import SIMULATED_RESONANCE_BPM

__all__ = ["assess"]


#: ``--step-s``: at least 30 s (the protocol's shortest step: 7.5 s settling, 22.5 s analysed);
#: at most 10 minutes a rate (50 minutes for the five), longer than any published protocol
#: (Lehrer et al. 2000: about 2 minutes; Shaffer & Meehan 2020: 2-3 minutes).
STEP_RANGE_S = (30.0, 600.0)

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


def _table(rates: Sequence[RateResult]) -> str:
    """One row per rate; a missing value is a ``-`` padded to its column, so columns line up."""

    def cell(value: float | None, label: str, fmt: str) -> str:
        text = "-" if value is None else format(value, fmt)
        return text.rjust(len(label))

    lines = [_COLUMN_GAP.join(label for label, _ in _COLUMNS)]
    for r in rates:
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
    ctx: typer.Context,
    simulate: SimulateOpt = False,
    device: DeviceOpt = None,
    stream: StreamOpt = None,
    resonance_bpm: ResonanceOpt = SIMULATED_RESONANCE_BPM,
    seed: SeedOpt = 1,
    speed: SpeedOpt = "1",
    breathing_lag_s: LagOpt = 0.0,
    screening: Annotated[
        bool, typer.Option("--screening", help="Short variant: 1 minute per rate.")
    ] = False,
    step_s: Annotated[
        float | None,
        typer.Option(
            "--step-s",
            help="Seconds per rate, 30-600 (default 120); its first quarter, at most 30 s, "
            "is left out as settling. Not with --screening (60 s, 20 s settling).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    cue: CueOpt = None,
) -> None:
    """Find the resonance breathing rate: 6.5, 6.0, 5.5, 5.0, 4.5 breaths/min, ~2 min each.

    Ctrl-C stops it: the steps finished so far are printed (--json: "complete": false,
    "stopped": true, "steps_done", "rates"), with no resonance rate (the choice compares every
    rate), and the exit code is 130. SIGTERM stops it the same way, exit code 143.
    """
    if simulate:
        read_speed(speed)  # a bad --speed is a usage error before anything starts
    protocol = AssessmentProtocol.screening() if screening else AssessmentProtocol()
    if step_s is not None:
        if screening:
            raise typer.BadParameter(
                "--screening is the 60-s step with 20 s of settling: give --step-s without it",
                param_hint="'--step-s'",
            )
        check_within(step_s, *STEP_RANGE_S, option="--step-s", unit=" s", why="per rate")
        protocol = dataclasses.replace(
            protocol, step_s=step_s, settle_s=min(protocol.settle_s, step_s / 4)
        )
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=protocol)
    done: list[RateResult] = []  # the steps analysed so far, in order

    def on_event(event: PacingEvent) -> bool:
        if isinstance(event, AssessmentStepDone):
            done.append(event.result)
            if not as_json:
                r = event.result
                phase = "-" if r.phase_deg is None else f"{r.phase_deg:+.0f} deg"
                ptt = "-" if r.peak_to_trough_bpm is None else f"{r.peak_to_trough_bpm:.1f} bpm"
                typer.echo(
                    f"step {event.step_index + 1}/{event.n_steps}: {r.rate_bpm:g}/min  "
                    f"peak-to-trough {ptt}  phase {phase}"
                )
        return isinstance(event, AssessmentDone)

    # Ctrl-C or SIGTERM from here on: the steps done so far; only the first counts, to the exit
    stop = Stop()
    with held_signals(stop, final=True) as held:
        source = choose_source(
            engine,
            simulate=simulate,
            device=device,
            seed=seed,
            resonance_bpm=resonance_bpm,
            speed=speed,
            breathing_lag_s=breathing_lag_s,
            stream=stream,
            simulator_given=simulator_options_given(ctx),
        )
        # whether the signal stopped the run: one after it ended is only noted, at the end
        stopped = run_paced(
            engine,
            source,
            on_event=on_event,
            doing="assess the resonance",
            show_status=device is not None,
            cue=want_cue(cue, as_json=as_json),
            as_json=as_json,
            stop=stop,
            held=held,
        )
        where: dict[str, Any] = (
            {
                "simulated": {
                    "seed": seed,
                    "resonance_bpm": resonance_bpm,
                    "breathing_lag_s": breathing_lag_s,
                }
            }
            if simulate
            else {"device": device, "stream": stream or "hr"}
        )
        result = engine.assessment_result
        if result is None:  # stopped (Ctrl-C), or the source ended before the last step
            _incomplete(done, protocol, where, stop=stop, stopped=stopped, as_json=as_json)
        n = len(protocol.rates_bpm)
        if as_json:
            out: dict[str, Any] = {
                "complete": True,
                "stopped": False,
                "steps_done": n,
                "n_steps": n,
            }
            out.update(dataclasses.asdict(result))
            out["protocol"] = dataclasses.asdict(protocol)
            out.update(where)
            typer.echo(json.dumps(out))
        else:
            _print_result(result)
        if stop.stopped:  # it came once the run had ended: the assessment was whole
            typer.echo(f"{stop.label}: the assessment had ended; its result is whole", err=True)


def _print_result(result: AssessmentResult) -> None:
    """The rates' table, the resonance rate chosen (or why none) and the rates left out."""
    typer.echo(_table(result.rates))
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


def _incomplete(
    done: Sequence[RateResult],
    protocol: AssessmentProtocol,
    where: dict[str, Any],
    *,
    stop: Stop,
    stopped: bool,
    as_json: bool,
) -> NoReturn:
    """Print the steps finished before the assessment stopped, marked incomplete; exit.

    No resonance rate is claimed: the choice compares every rate of the protocol (the peak of
    the HR oscillation, the phase crossing zero between two rates), and a rate never paced may
    be the resonance. Exit code 130 after Ctrl-C, 143 after SIGTERM, 1 when the source ended
    early (``stopped``: the signal stopped the run; one after the source ended is noted).
    """
    n = len(protocol.rates_bpm)
    k = len(done)
    untried = ", ".join(f"{r:g}" for r in protocol.rates_bpm[k:])
    why = (
        f"stopped after {k} of {n} steps: no resonance rate, the choice compares all {n} rates "
        f"and {untried}/min {'was' if n - k == 1 else 'were'} not measured"
    )
    if not stopped:
        why = why.replace("stopped", "the source ended", 1)
    if as_json:
        out: dict[str, Any] = {
            "complete": False,
            "stopped": stopped,
            "steps_done": k,
            "n_steps": n,
            "resonance_bpm": None,
            "reason": why,
            "rates": [dataclasses.asdict(r) for r in done],
            "protocol": dataclasses.asdict(protocol),
        }
        out.update(where)
        typer.echo(json.dumps(out))
    else:
        if done:
            typer.echo(_table(done))
        typer.echo(f"incomplete assessment: {why}")
    if stopped:
        exit_stopped(f"assessment incomplete ({k} of {n} steps done)", stop)
    typer.echo("hrvpace: the assessment did not finish", err=True)
    if stop.stopped:  # it came once the source had ended
        typer.echo(f"{stop.label}: the assessment had ended", err=True)
    raise typer.Exit(1)
