"""``hrvpace practice``: a resonance-breathing session with adaptive pacing.

A :class:`breathing.PacingEngine` in adaptive (or fixed) mode, given its beats through the session
assembly the service uses (:func:`api.commands._paced.run_paced`): from a Bluetooth device
(``--device``, ``--stream hr|ppi|ecg``) or a simulated person (``--simulate``). ``--speed`` as
``hrvpace assess``'s: ``max`` or a number of times real time in (0, 10000].
"""

from __future__ import annotations

import json
import math
import statistics
from typing import Annotated, Any

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
from api.pipeline import Listener
from breathing import (
    AdaptiveConfig,
    AdaptiveUpdate,
    BreathingError,
    PacingEngine,
    PacingEvent,
    PacingMode,
)
from breathing.engine import PRACTICE_INHALE_TO_EXHALE
from sensors import Beat
from sensors.simulator import SIMULATED_RESONANCE_BPM

__all__ = ["practice"]

#: The settled rate is the median of the rates over this last part of the session ...
SETTLED_WINDOW_S = 180.0
#: ... when the rate stayed within this range there (max - min, breaths/min): the engine moves
#: at most 0.1/min a breath, so a rate still walking toward the resonance moves more than this
#: in 3 minutes (~18 breaths at 6/min), one settled near it dithers by a step or two.
SETTLED_RANGE_BPM = 0.25


class _SessionClock(Listener):
    """The session time of the last beat: how far a practice stopped by Ctrl-C got.

    ``opening``: a line printed with the first beat (how it paces), so that a source that never
    sends a beat (a device without RR intervals) leaves stdout empty.
    """

    def __init__(self, opening: str | None = None) -> None:
        self.t_s = 0.0
        self._opening = opening

    def on_beat(self, beat: Beat) -> None:
        if self._opening is not None:
            typer.echo(self._opening)
            self._opening = None
        self.t_s = beat.t_s


#: ``--fixed --start-rate-bpm``: the range of a fixed practice's rate through the API
#: (``POST .../breathing/practice`` ``rate_bpm``), breaths/min.
FIXED_RATE_RANGE_BPM = (3.0, 12.0)
#: ``--inhale-to-exhale``: as a practice's ``inhale_to_exhale`` through the API.
RATIO_RANGE = (0.25, 4.0)
#: ``--minutes``: from a few breaths' check to the API's longest practice (``duration_s`` 3600).
MINUTES_RANGE = (0.01, 60.0)

#: The adult resonance range (Lehrer et al. 2000: 4.5-7 breaths/min): adaptive pacing keeps the
#: rate within it; a --fixed rate outside it is paced, with a note.
_RESONANCE_RANGE = (AdaptiveConfig().min_rate_bpm, AdaptiveConfig().max_rate_bpm)


def check_start_rate(rate_bpm: float, *, fixed: bool) -> str | None:
    """``--start-rate-bpm`` checked for the mode; the note for a fixed rate outside the range.

    Adaptive pacing keeps its rate within :data:`_RESONANCE_RANGE`, so a start outside it is
    refused (it would start at the range's edge instead of the rate asked for); a fixed rate
    may be anything the API's practice takes (:data:`FIXED_RATE_RANGE_BPM`, 3-12/min), with a
    note when outside the resonance range.

    Raises
    ------
    typer.BadParameter
        The rate is outside the mode's range (exit code 2); the message names both ranges.
    """
    lo, hi = _RESONANCE_RANGE
    flo, fhi = FIXED_RATE_RANGE_BPM
    if not fixed and not (lo <= rate_bpm <= hi):
        raise typer.BadParameter(
            f"adaptive pacing keeps the rate within {lo:g}-{hi:g} breaths/min (the adult "
            f"resonance range), got {rate_bpm:g}: give a start within it, or add --fixed to "
            f"pace at any rate in {flo:g}-{fhi:g}",
            param_hint="'--start-rate-bpm'",
        )
    check_within(
        rate_bpm,
        flo,
        fhi,
        option="--start-rate-bpm",
        unit=" breaths/min",
        why=f"with --fixed, as the API's practice rate_bpm; {lo:g}-{hi:g} for adaptive pacing",
    )
    if lo <= rate_bpm <= hi:
        return None
    return (
        f"{rate_bpm:g}/min is outside the usual adult resonance range {lo:g}-{hi:g}/min "
        "(Lehrer et al. 2000); paced as asked (--fixed)"
    )


def paced_breaths(engine: PacingEngine, t_s: float) -> int:
    """Whole breaths the pacer has paced from the session's start to ``t_s``."""
    return math.floor(engine.breathing_phase_cycles(t_s) + 1e-9)


def settled_rate(trace: list[dict[str, float]], duration_s: float) -> tuple[float | None, str]:
    """The rate the pacing settled at over the last :data:`SETTLED_WINDOW_S`, and why not.

    ``trace``: the rate at the start (``t_s`` 0) and after every adaptive update. Returns the
    median of the rates in force over the window when they stayed within
    :data:`SETTLED_RANGE_BPM`, else ``None`` with the reason (a run shorter than the window
    cannot show a settled rate; a rate that still moved did not settle).
    """
    if duration_s < SETTLED_WINDOW_S:
        return None, f"the session was shorter than {SETTLED_WINDOW_S / 60:g} min"
    start = duration_s - SETTLED_WINDOW_S
    # the rate in force when the window opened counts too, then every change within it
    before = [p["rate_bpm"] for p in trace if p["t_s"] <= start][-1:]
    rates = before + [p["rate_bpm"] for p in trace if p["t_s"] > start]
    spread = max(rates) - min(rates)
    if spread > SETTLED_RANGE_BPM:
        return None, (
            f"the rate still moved {spread:.2f}/min over the last {SETTLED_WINDOW_S / 60:g} min"
        )
    return statistics.median(rates), ""


def practice(
    ctx: typer.Context,
    simulate: SimulateOpt = False,
    device: DeviceOpt = None,
    stream: StreamOpt = None,
    resonance_bpm: ResonanceOpt = SIMULATED_RESONANCE_BPM,
    minutes: Annotated[
        float, typer.Option("--minutes", help="Session length, 0.01-60 minutes.")
    ] = 10.0,
    start_rate_bpm: Annotated[
        float,
        typer.Option(
            "--start-rate-bpm",
            help="Starting rate, breaths/min: your assessed resonance rate (`hrvpace assess`); "
            "default 6.0. Adaptive pacing takes 4.5-7 (its range); --fixed any in 3-12, with a "
            "note outside 4.5-7.",
        ),
    ] = 6.0,
    fixed: Annotated[
        bool, typer.Option("--fixed", help="Keep the starting rate (no adaptive pacing).")
    ] = False,
    inhale_to_exhale: Annotated[
        float,
        typer.Option(
            "--inhale-to-exhale",
            help="Inhale duration / exhale duration, 0.25-4 (default 0.667 = 4:6, longer out "
            "than in, as the API's and the page's practice; 1 for 1:1).",
        ),
    ] = PRACTICE_INHALE_TO_EXHALE,
    seed: SeedOpt = 1,
    speed: SpeedOpt = "1",
    breathing_lag_s: LagOpt = 0.0,
    as_json: JsonOpt = False,
    cue: CueOpt = None,
) -> None:
    """Paced breathing that follows you toward your resonance rate (4.5-7 breaths/min).

    Ctrl-C stops it: the summary so far is printed (--json: "stopped": true, "minutes_done"),
    and the exit code is 130. SIGTERM stops it the same way, exit code 143.
    """
    if simulate:
        read_speed(speed)  # a bad --speed is a usage error before anything starts
    check_within(minutes, *MINUTES_RANGE, option="--minutes", unit=" minutes")
    rate_note = check_start_rate(start_rate_bpm, fixed=fixed)
    check_within(inhale_to_exhale, *RATIO_RANGE, option="--inhale-to-exhale", why="as the API's")
    try:
        engine = PacingEngine(
            mode=PacingMode.FIXED if fixed else PacingMode.ADAPTIVE,
            rate_bpm=start_rate_bpm,
            inhale_to_exhale=inhale_to_exhale,
        )
    except BreathingError as exc:
        raise typer.BadParameter(str(exc)) from None
    trace: list[dict[str, Any]] = [{"t_s": 0.0, "rate_bpm": engine.rate_bpm}]
    holds = 0

    def on_event(event: PacingEvent) -> bool:
        nonlocal holds
        if isinstance(event, AdaptiveUpdate):
            d = event.decision
            holds += d.holding
            trace.append({"t_s": round(d.t_s, 3), "rate_bpm": round(d.rate_bpm, 4)})
            if not as_json:
                typer.echo(f"{d.t_s / 60:5.1f} min  {d.rate_bpm:.2f}/min  {d.reason}")
        return False

    duration_s = minutes * 60.0
    if rate_note:
        typer.echo(f"note: {rate_note}", err=True)
    how = "fixed pacing at" if fixed else "adaptive pacing from"
    opening = f"{how} {engine.rate_bpm:.2f}/min for {_mmss(duration_s)}"
    clock = _SessionClock(None if as_json else opening)
    # Ctrl-C or SIGTERM from here on: the summary so far; only the first counts, to the exit
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
            until_s=duration_s,
            listeners=(clock,),
            doing="pace the practice",
            show_status=device is not None,
            cue=want_cue(cue, as_json=as_json),
            as_json=as_json,
            stop=stop,
            held=held,
        )
        done_s = min(clock.t_s, duration_s) if stopped else duration_s
        if fixed:
            trace.append({"t_s": round(done_s, 3), "rate_bpm": engine.rate_bpm})
        settled, not_settled = settled_rate(trace, done_s)
        out: dict[str, Any] = {
            "stopped": stopped,
            "final_rate_bpm": round(engine.rate_bpm, 4),
            "settled_rate_bpm": None if settled is None else round(settled, 4),
            "not_settled": not_settled or None,
            "mode": engine.mode.value,
            "minutes": minutes,
            "minutes_done": round(done_s / 60.0, 3),
            "start_rate_bpm": start_rate_bpm,
            "inhale_to_exhale": round(inhale_to_exhale, 4),
            "rate_note": rate_note,
            "breaths": paced_breaths(engine, done_s),
            "holds": None if fixed else holds,
            "trace": trace,
        }
        if simulate:
            out["simulated"] = {
                "seed": seed,
                "resonance_bpm": resonance_bpm,
                "breathing_lag_s": breathing_lag_s,
            }
        else:
            out["device"] = device
            out["stream"] = stream or "hr"
        if as_json:
            typer.echo(json.dumps(out))
        else:
            settled_text = (
                f"settled {settled:.2f}/min over the last {SETTLED_WINDOW_S / 60:g} min"
                if settled is not None
                else f"not settled: {not_settled}"
            )
            head = (
                f"stopped after {_mmss(done_s)} of {_mmss(duration_s)}: last rate"
                if stopped
                else "final rate"
            )
            typer.echo(
                f"{head} {out['final_rate_bpm']:.2f}/min, {settled_text} "
                f"({_breaths_kept(out['breaths'], holds, fixed=fixed)})"
            )
        if stopped:
            exit_stopped(
                f"practice ended early, after {_mmss(done_s)} of {_mmss(duration_s)}", stop
            )
        if stop.stopped:  # it came once the run had ended: the session was whole
            typer.echo(f"{stop.label}: the practice had ended; its summary is whole", err=True)


def _breaths_kept(breaths: int, holds: int, *, fixed: bool) -> str:
    """``20 breaths, rate kept at 14 of them``, ``1 breath, rate kept at none``, ``0 breaths``.

    Adaptive pacing only says at how many breaths it kept the rate (``--fixed`` keeps it at
    every one).
    """
    text = f"{breaths} breath{'' if breaths == 1 else 's'}"
    if fixed or breaths == 0:
        return text
    if breaths == 1:
        return f"{text}, rate {'kept' if holds else 'not kept'} at it"
    return f"{text}, rate kept at {'none' if holds == 0 else holds} of them"


def _mmss(t_s: float) -> str:
    """Session time as ``m:ss``."""
    minutes, seconds = divmod(int(t_s), 60)
    return f"{minutes}:{seconds:02d}"
