"""Typed payloads (issue 14): every core dataclass has a model with the same fields, and the
models send exactly the JSON the hand-written converter sent (same keys, same values).

The core objects are real: windows of ``hrv.StreamingAnalyser`` on a simulated person, a full
resonance assessment and adaptive pacing of ``breathing.PacingEngine`` with the person
following the pacer, and a ``breathing.MicroBreakMonitor`` that flags, is acknowledged,
snoozed, sees a break and measures its effect.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import typing
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import breathing
import hrv
from api import payloads
from api.pipeline import BleSpec, ReplaySpec, SimulatorSpec
from api.sessions import SessionCreate
from sensors import SimulatedPerson


def reference_plain(obj: Any) -> Any:
    """The converter the pipeline used before the typed payloads (``api.pipeline.to_plain``),
    kept here as the oracle of the wire format."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: reference_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): reference_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [reference_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy scalar
        return reference_plain(obj.item())
    if hasattr(obj, "value"):  # enum
        return reference_plain(obj.value)
    if isinstance(obj, datetime.time):
        return obj.isoformat(timespec="minutes")
    return str(obj)


# -- the models cannot drift from the dataclasses ---------------------------------------------


@pytest.mark.parametrize("core", list(payloads.MODELS), ids=lambda c: c.__qualname__)
def test_every_dataclass_field_is_in_its_model_in_order(core: type) -> None:
    model = payloads.MODELS[core]
    assert tuple(model.model_fields) == payloads.core_field_names(core), model.__name__
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"


def _dataclasses_in(tp: Any) -> set[type]:
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return {tp}
    out: set[type] = set()
    for arg in typing.get_args(tp):
        out |= _dataclasses_in(arg)
    return out


def test_every_dataclass_the_api_sends_has_a_model() -> None:
    """The roots an app receives, and every dataclass nested in them, are registered."""
    roots: set[type] = {
        hrv.WindowMetrics,
        hrv.WindowSignal,
        breathing.Guidance,
        breathing.MicroBreakStatus,
        breathing.MicroBreakSettings,
        *typing.get_args(breathing.PacingEvent),
        *typing.get_args(breathing.MicroBreakEvent),
    }
    seen: set[type] = set()
    todo = list(roots)
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for hint in typing.get_type_hints(cls).values():
            todo += _dataclasses_in(hint)
    missing = {c.__qualname__ for c in seen} - {c.__qualname__ for c in payloads.MODELS}
    assert not missing
    assert len(seen) >= 20  # metrics, guidance and its parts, 5 + 6 events, status, assessments


def test_session_sources_and_options_mirror_the_request() -> None:
    for spec, out in (
        (SimulatorSpec, payloads.SimulatorSourceOut),
        (ReplaySpec, payloads.ReplaySourceOut),
        (BleSpec, payloads.BleSourceOut),
    ):
        assert set(spec.model_fields) <= set(out.model_fields), spec.__name__
    options = set(SessionCreate.model_fields) - {"source", "mode"}
    assert options <= set(payloads.SessionOptionsOut.model_fields)


# -- the wire format is what it was -------------------------------------------------------------


def _windows() -> list[hrv.WindowMetrics]:
    person = SimulatedPerson(seed=5)
    analyser = hrv.StreamingAnalyser(window_s=60.0, step_s=5.0)
    out: list[hrv.WindowMetrics] = []
    for beat in person.beats(150.0):
        out += analyser.push(beat.rr_ms, gap_before=beat.gap_before)
    return out


def _pacing() -> tuple[list[Any], list[breathing.Guidance]]:
    """Events and guidance of a full assessment, adaptive pacing, a stop, a stopped assessment."""
    engine = breathing.PacingEngine(mode=breathing.PacingMode.ASSESSMENT)
    person = SimulatedPerson(seed=1, resonance_bpm=5.5, breathing=engine.breathing_phase_cycles)
    events: list[Any] = []
    guidance: list[breathing.Guidance] = [engine.guidance(0.0)]
    t_s = 0.0
    while not any(isinstance(e, breathing.AssessmentDone) for e in events):
        b = person.next_beat()
        t_s = b.t_s
        events += engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=True)
        if len(guidance) < 3 and t_s > 100.0 * len(guidance):
            guidance.append(engine.guidance(t_s))
        assert t_s < 3600.0, "the assessment never finished"
    guidance.append(engine.guidance(t_s))
    events += engine.start_adaptive(t_s=t_s, start_rate_bpm=6.0, duration_s=600.0)
    end = t_s + 120.0
    while t_s < end:
        b = person.next_beat()
        t_s = b.t_s
        events += engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=True)
    guidance.append(engine.guidance(t_s))
    events += engine.stop(t_s=t_s)
    guidance.append(engine.guidance(t_s))
    # an assessment stopped in its second step (AssessmentStopped)
    events += engine.start_assessment(t_s=t_s)
    end = t_s + 150.0
    while t_s < end:
        b = person.next_beat()
        t_s = b.t_s
        events += engine.on_beat(b.t_s, b.rr_ms, gap_before=b.gap_before, contact=True)
    events += engine.stop(t_s=t_s)
    return events, guidance


def _feed(mon: breathing.MicroBreakMonitor, t0: float, t1: float, rmssd_ms: float, hr_bpm: float):
    rng = np.random.default_rng(int(t0))
    out: list[Any] = []
    for t in np.arange(t0, t1, 10.0):
        r = rmssd_ms * math.exp(0.05 * rng.standard_normal())
        window = hrv.WindowMetrics(
            t_s=float(t),
            n_beats=70,
            rmssd_ms=r,
            ln_rmssd=math.log(r),
            mean_hr_bpm=hr_bpm + 0.5 * rng.standard_normal(),
        )
        out += mon.on_window(window, contact=True, quality=1.0)
    return out


def _micro_breaks() -> tuple[list[Any], list[breathing.MicroBreakStatus]]:
    mon = breathing.MicroBreakMonitor()
    statuses = [mon.status]  # before any window: no cooldown yet (-inf)
    events = _feed(mon, 60.0, 660.0, 45.0, 62.0)
    events += _feed(mon, 660.0, 900.0, 15.0, 78.0)  # sustained stress: a flag
    statuses.append(mon.status)
    events += mon.acknowledge(900.0)
    events += mon.snooze(905.0, minutes=1.0)
    events += mon.start_break(910.0, breathing.BreakKind.BREATHING)
    events += _feed(mon, 920.0, 1040.0, 80.0, 64.0)
    events += mon.end_break(1030.0)
    events += _feed(mon, 1040.0, 1420.0, 35.0, 66.0)  # the effect is measured
    statuses.append(mon.status)
    return events, statuses


@pytest.fixture(scope="module")
def core_results() -> dict[str, list[Any]]:
    pacing_events, guidance = _pacing()
    mb_events, statuses = _micro_breaks()
    return {
        "metrics": _windows(),
        "pacing": pacing_events,
        "guidance": guidance,
        "micro_break": mb_events,
        "status": statuses,
        "settings": [
            breathing.MicroBreakSettings(),
            breathing.MicroBreakSettings(quiet_hours=((datetime.time(23, 30), datetime.time(6)),)),
        ],
    }


def test_the_real_results_cover_every_kind(core_results: dict[str, list[Any]]) -> None:
    kinds = {type(o) for objs in core_results.values() for o in objs}
    for cls in (
        *typing.get_args(breathing.PacingEvent),
        *typing.get_args(breathing.MicroBreakEvent),
    ):
        assert cls in kinds, f"no {cls.__qualname__} among the real results"
    modes = {g.mode for g in core_results["guidance"]}
    assert modes == set(breathing.PacingMode)


@pytest.mark.parametrize(
    "kind", ["metrics", "pacing", "guidance", "micro_break", "status", "settings"]
)
def test_payload_is_what_the_old_converter_sent(
    core_results: dict[str, list[Any]], kind: str
) -> None:
    objs = core_results[kind]
    assert objs
    for obj in objs:
        sent = payloads.to_payload(obj)
        assert sent == reference_plain(obj), type(obj).__qualname__
        # same keys in the same order, and strict JSON (no NaN)
        assert list(sent) == list(reference_plain(obj))
        text = json.dumps(sent, allow_nan=False)
        # a stored row reads back into the same model and goes out unchanged
        model = payloads.MODELS[type(obj)]
        assert model.model_validate(json.loads(text)).model_dump(mode="json") == sent


def test_non_finite_numbers_go_out_as_null_or_are_refused() -> None:
    status = payloads.to_payload(breathing.MicroBreakMonitor().status)
    assert status["next_flag_allowed_s"] is None  # -inf: no cooldown yet
    window = payloads.to_payload(hrv.WindowMetrics(t_s=60.0, n_beats=3, rmssd_ms=float("nan")))
    assert window["rmssd_ms"] is None and window["t_s"] == 60.0
    with pytest.raises(ValidationError, match="t_s"):
        payloads.to_payload(hrv.WindowMetrics(t_s=float("nan"), n_beats=3))


def test_an_object_without_a_model_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="SignalCheck"):
        payloads.to_payload(breathing.SignalCheck(quality=1.0))
    with pytest.raises(TypeError, match="not a pacing event"):
        payloads.pacing_event(breathing.Baseline.population())
    with pytest.raises(TypeError, match="not a micro-break event"):
        payloads.micro_break_event(breathing.Baseline.population())


def test_a_replay_stored_by_the_cli_keeps_its_path_and_a_service_source_gains_no_keys() -> None:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(payloads.SessionSource)
    service = {"kind": "replay", "recording": "r1", "format": "plain", "units": "ms", "speed": 1.0}
    assert adapter.dump_python(adapter.validate_python(service), mode="json") == service
    cli = {
        "kind": "replay",
        "path": "/tmp/x.txt",
        "format": "plain",
        "units": "ms",
        "segment": {"start_s": 0.0, "end_s": 60.0},
        "speed": "max",
    }
    out = adapter.dump_python(adapter.validate_python(cli), mode="json")
    assert out == {**cli, "recording": None}
    options = payloads.SessionOptionsOut.model_validate({"label": "x", "adaptive": False})
    assert "command" not in options.model_dump(mode="json")


def test_a_flag_stored_before_plain_summaries_still_reads() -> None:
    """Flags stored before issue 15 had ``reason.text`` (one sentence), no summary/details."""
    flag = next(e for e in _micro_breaks()[0] if isinstance(e, breathing.MicroBreakDue))
    stored = payloads.to_payload(flag)
    stored["reason"] = {"code": "stress", "text": "Your heart rate has been high."}
    model = payloads.MicroBreakDue.model_validate(stored)
    assert model.reason.summary == "Your heart rate has been high." and model.reason.details == ""
    assert "text" not in model.model_dump(mode="json")["reason"]
