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

from api.commands import _bpm_only, _paced, _stop
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


def test_a_device_whose_rr_values_are_all_left_out_is_hr_only() -> None:
    # Code review (rev5, F3): a packet whose only RR value was left out (no heart has 64 s)
    # counted as carrying RR: such a device stayed "streaming" and recorded forever, 0 beats,
    # as the bpm-only rule never fired
    from sensors import decode_heart_rate_measurement

    bad = decode_heart_rate_measurement(bytes([0x10, 60, 0xFF, 0xFF]))
    assert bad.rr_ms == () and bad.left_out_rr_at
    src = BleStrapSource("AA:BB:CC:DD:EE:FF")
    said: list[tuple[str, str]] = []
    src.add_status_listener(lambda s: said.append((s.state.value, s.message)))
    for k in range(30):
        src._beats_of(bad, float(k + 1), 1)
    assert src.status.state is SourceState.HR_ONLY and not src.rr_received
    went = next(m for st, m in said if st == "hr_only")
    assert "sends heart rate without usable RR intervals" in went
    assert src.status.malformed_packets == 30  # each still said and counted
    # such packets amid RR (a corrupt value) are gaps, not heart-rate-only mode: code review
    # (rev6, G2): a run of _HR_ONLY_AFTER_PACKETS of them (or more) after RR flipped the state
    # to hr_only and back; the run is longer than the threshold so the test pins it
    from sensors import ble_strap

    rr = HeartRateMeasurement(62, (960.0,), None, True)
    run = [bad] * (ble_strap._HR_ONLY_AFTER_PACKETS + 1)
    mixed, src2 = _states([rr, bad, rr, *run, rr])
    assert "hr_only" not in mixed and src2.rr_received
    assert src2.status.malformed_packets == 1 + len(run)  # still said and counted
    # the same run without RR values at all still is HR-only mode
    bpm = HeartRateMeasurement(62, (), None, True)
    plain, _ = _states([rr, *[bpm] * ble_strap._HR_ONLY_AFTER_PACKETS, rr])
    assert plain.count("hr_only") == 1


def test_a_device_whose_rr_values_are_all_left_out_is_said_to_be_faulty() -> None:
    # Code review (rev6, G3): the bpm-only end said such a device sends "heart rate only, no
    # RR intervals" (it sends RR values, each one no heart has): a faulty device or firmware
    from sensors import decode_heart_rate_measurement

    bad = decode_heart_rate_measurement(bytes([0x10, 80, 0xFF, 0xFF]))
    _, src = _states([bad] * 5)
    assert src.status.state is SourceState.HR_ONLY and src.rr_unusable
    said = _bpm_only.BpmOnly(None, probed=False).message(src, "record RR intervals")
    assert said.startswith(
        "the device sends heart rate (80 bpm) and RR values that are all unusable (each "
        "left out as one no heart has: 0, or outside 200..3000 ms): the device or its firmware "
        "is faulty; cannot record RR intervals from bpm"
    )
    assert "heart rate only" not in said and "no RR intervals" not in said
    # a device sending no RR values at all is still heart-rate only
    bpm = HeartRateMeasurement(80, (), None, True)
    _, plain = _states([bpm] * 5)
    assert not plain.rr_unusable
    assert "sends heart rate only (80 bpm), no RR intervals" in _bpm_only.BpmOnly(None).message(
        plain, "assess"
    )
    # nor is one that sent usable RR before its left-out values
    rr = HeartRateMeasurement(62, (960.0,), None, True)
    assert not _states([rr, bad, bad])[1].rr_unusable


def test_the_bpm_only_watch_judges_the_state_the_source_is_in_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Code review (rev6, G4): judging started only at the next status; a BLE source publishes
    # on a change only, so one already hr_only at a constant bpm was never judged
    monkeypatch.setattr(_bpm_only, "_BPM_ONLY_AFTER_S", 0.0)
    bpm = HeartRateMeasurement(80, (), None, True)
    _, src = _states([bpm] * 5)
    assert src.status.state is SourceState.HR_ONLY

    async def judged() -> bool:
        watch = _bpm_only.BpmOnlyWatch(src)
        watch.start()
        for _ in range(3):  # a few loop turns (call_later(0) runs on the next)
            await asyncio.sleep(0)
        watch.cancel()
        return watch.event.is_set()

    assert asyncio.run(judged())


def test_assess_and_practice_print_a_failure_once(capsys: pytest.CaptureFixture[str]) -> None:
    # Code review (rev5, F7): the status printer echoed "[failed] REASON" and run_paced then
    # "hrvpace: REASON"; the JSON lines keep the event
    from sensors import SourceStatus

    show = _paced._status_printer(as_json=False)
    show(SourceStatus(SourceState.STREAMING, "connected to X"))
    show(SourceStatus(SourceState.FAILED, "lost X and could not reconnect"))
    assert capsys.readouterr().err == "[streaming] connected to X\n"
    as_json = _paced._status_printer(as_json=True)
    as_json(SourceStatus(SourceState.FAILED, "lost X"))
    assert '"state": "failed"' in capsys.readouterr().err


def test_assess_and_practice_print_the_strap_notes_as_text_or_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # straplive items 1-2: a low battery and a silent strap, as record prints them; with
    # --json one event a line (the BLE run: tests/sensors/test_ble.py, practice with a device)
    import json

    _paced._StrapNotes(as_json=False).on_strap_note("battery", "X's battery is at 9%")
    assert capsys.readouterr().err == "[battery] X's battery is at 9%\n"
    as_json = _paced._StrapNotes(as_json=True)
    as_json.on_strap_note("no data", "no data from X for 10 s")
    as_json.on_strap_note("data", "data from X again (none for 12 s)")
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert events == [
        {"event": "no_data", "message": "no data from X for 10 s"},
        {"event": "data", "message": "data from X again (none for 12 s)"},
    ]


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
    monkeypatch.setattr(_bpm_only, "_BPM_ONLY_AFTER_S", 0.01)
    engine = PacingEngine(mode=PacingMode.ADAPTIVE)
    source = _blipping_source(engine, rr_received=False, rr_after=True)
    events: list[object] = []
    _paced.run_paced(engine, source, on_event=lambda e: events.append(e) or False, until_s=400.0)  # type: ignore[arg-type]
    assert events  # paced to the end


def test_hr_only_before_any_rr_ends_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # hr_only, no RR since connecting, for _BPM_ONLY_AFTER_S (shortened: the simulated person
    # runs at full speed, its 400 s take less than a real second)
    monkeypatch.setattr(_bpm_only, "_BPM_ONLY_AFTER_S", 0.0)
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
    monkeypatch.setattr(_bpm_only, "_BPM_ONLY_AFTER_S", 0.0)
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
    stop = _stop.Stop()
    with _stop.held_signals(stop) as held:
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
