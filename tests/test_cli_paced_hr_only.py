"""When ``assess``/``practice --device`` call a device bpm-only (review finding).

A strap that sent RR and then, for a few packets, none (contact lost while it slips, a strap
being put on) is not a bpm-only device: the run goes on with a gap. Only a device that has sent
no RR since it connected ends the command. Real: the session assembly, the pacing engine, the
simulated person; the HR-only status is published into the simulator's own status stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import AsyncIterator

import pytest
import typer

from api.commands import _paced
from breathing import PacingEngine, PacingMode
from sensors import BleStrapSource, SourceState, ble
from sensors.beat import Beat
from sensors.ble_discovery import RrProbe
from sensors.heart_rate_measurement import HeartRateMeasurement


def _states(packets: list[HeartRateMeasurement]) -> tuple[list[str], BleStrapSource]:
    src = BleStrapSource("AA:BB:CC:DD:EE:FF")
    states: list[str] = []
    src.add_status_listener(lambda s: states.append(s.state.value))
    for k, m in enumerate(packets, start=1):
        src._beats_of(m, float(k), 1)
    return states, src


def test_packets_without_contact_are_not_hr_only_mode() -> None:
    rr = HeartRateMeasurement(62, (960.0,), None, True)
    no_contact = HeartRateMeasurement(0, (), None, False)
    states, src = _states([rr, rr, no_contact, no_contact, no_contact, no_contact, rr])
    assert "hr_only" not in states and src.rr_received


def test_rr_then_none_with_contact_is_hr_only_and_reversible() -> None:
    rr = HeartRateMeasurement(62, (960.0,), None, True)
    bpm = HeartRateMeasurement(62, (), None, True)
    states, src = _states([rr, bpm, bpm, bpm, rr])
    assert states.count("hr_only") == 1 and states[-1] == "streaming" and src.rr_received
    never, src2 = _states([bpm, bpm, bpm])
    assert never[-1] == "hr_only" and not src2.rr_received


def _blipping_source(
    engine: PacingEngine,
    *,
    rr_received: bool,
    back: bool = True,
    rr_after: bool = False,
    address: str | None = None,
) -> object:
    """The simulated person, whose status goes HR-only at beat 200 and (``back``) at once back
    to streaming, with RR received from then on when ``rr_after``; its statuses name the device
    ``address``."""
    sim = _paced.simulated_source(engine, seed=1, resonance_bpm=5.5, speed="max")
    beats = sim._beats

    async def with_blip() -> AsyncIterator[Beat]:
        k = 0
        async for b in beats():
            k += 1
            if k == 200:
                st = sim.status
                sim._set_status(dataclasses.replace(st, state=SourceState.HR_ONLY))
                if rr_after:
                    sim.rr_received = True  # type: ignore[attr-defined]
                if back:
                    sim._set_status(dataclasses.replace(st, state=SourceState.STREAMING))
            yield b

    sim._beats = with_blip  # type: ignore[method-assign]
    if address is not None:  # every status names the device, its last (ended) too
        set_status = sim._set_status
        sim._set_status = lambda st: set_status(  # type: ignore[method-assign]
            dataclasses.replace(st, device_address=address)
        )
    sim.rr_received = rr_received  # type: ignore[attr-defined]
    return sim


def test_a_blip_after_rr_does_not_end_the_run() -> None:
    engine = PacingEngine(mode=PacingMode.ADAPTIVE)
    source = _blipping_source(engine, rr_received=True)
    events: list[object] = []
    _paced.run_paced(engine, source, on_event=lambda e: events.append(e) or False, until_s=400.0)  # type: ignore[arg-type]
    assert events  # paced to the end


def test_first_packets_without_rr_then_rr_does_not_end_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Review finding 5 (s09): a strap whose first 3 packets carry no RR (just put on), then RR
    # each second, ended practice as "heart rate only": the run ended at the first hr_only.
    monkeypatch.setattr(_paced, "_BPM_ONLY_AFTER_S", 0.01)
    engine = PacingEngine(mode=PacingMode.ADAPTIVE)
    source = _blipping_source(engine, rr_received=False, rr_after=True)
    events: list[object] = []
    _paced.run_paced(engine, source, on_event=lambda e: events.append(e) or False, until_s=400.0)  # type: ignore[arg-type]
    assert events  # paced to the end


def test_hr_only_before_any_rr_ends_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # hr_only, no RR since connecting, for _BPM_ONLY_AFTER_S (shortened: the simulated person
    # runs at full speed, its 400 s take less than a real second)
    monkeypatch.setattr(_paced, "_BPM_ONLY_AFTER_S", 0.0)
    engine = PacingEngine(mode=PacingMode.ADAPTIVE)
    source = _blipping_source(engine, rr_received=False, back=False)
    with pytest.raises(typer.Exit) as info:
        _paced.run_paced(engine, source, on_event=lambda e: False, until_s=400.0)  # type: ignore[arg-type]
    assert info.value.exit_code == 1


def test_a_signal_during_the_device_probe_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Review (rec2, finding 2): the signal hook was taken off before the probe that says what
    # an HR-only device offers: a Ctrl-C during it did nothing, and the run ended as bpm-only
    # (exit 1) once the probe was done. The probe is now cancelled (its link closes) and the
    # run ends stopped (130). The probe is a stand-in: what matters is its cancel.
    monkeypatch.setattr(_paced, "_BPM_ONLY_AFTER_S", 0.0)
    probing: list[str] = []

    async def probe(address: str, *, listen_s: float) -> RrProbe:
        probing.append(address)
        os.kill(os.getpid(), signal.SIGINT)  # handled here, in the main thread
        try:
            await asyncio.sleep(10.0)
        except asyncio.CancelledError:
            probing.append("cancelled")
            raise
        return RrProbe(False, 60, "sends heart rate only, no RR intervals", ())

    monkeypatch.setattr(ble, "probe_rr_intervals", probe)
    engine = PacingEngine(mode=PacingMode.ADAPTIVE)
    source = _blipping_source(engine, rr_received=False, back=False, address="AA:BB:CC:DD:EE:FF")
    stop = _paced.Stop()
    with _paced.held_signals(stop) as held:
        stopped = _paced.run_paced(
            engine,
            source,  # type: ignore[arg-type]
            on_event=lambda e: False,
            until_s=400.0,
            stop=stop,
            held=held,
        )
    assert stopped is True and stop.signal is signal.SIGINT
    assert probing == ["AA:BB:CC:DD:EE:FF", "cancelled"]
