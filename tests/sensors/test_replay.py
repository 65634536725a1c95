"""ReplaySource: recordings through the live beat stream, on a virtual clock (nothing sleeps)."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np
import pytest

from sensors import (
    Beat,
    BeatSource,
    Recording,
    RecordingFormatError,
    RecordingWriter,
    ReplaySource,
    SourceState,
    SourceStatus,
    VirtualClock,
    read_recording,
)
from sensors.contact import ContactChanges

FIXTURES = Path(__file__).parent / "fixtures"
T0 = 1_700_000_000.0


async def _collect(source: ReplaySource) -> list[Beat]:
    async with source:
        return [beat async for beat in source]


async def test_real_time_replay_of_a_polar_hrm_file(shared_data: Path) -> None:
    path = shared_data / "hrvpkg_exercise_rri.hrm"
    rec = read_recording(path)
    clock = VirtualClock(T0)
    source = ReplaySource(path, clock=clock)
    assert isinstance(source, BeatSource)
    beats = await _collect(source)
    assert len(beats) == 4117
    assert [b.rr_ms for b in beats] == rec.rr_ms.tolist()  # order and values exact
    assert [b.t_s for b in beats] == rec.t_s.tolist()
    # speed 1: each beat arrives when its time has passed on the clock
    arrived = np.array([b.arrived_at for b in beats]) - T0
    np.testing.assert_allclose(arrived, rec.t_s, atol=1e-6)
    assert clock.now() - T0 == pytest.approx(rec.duration_s, abs=1e-6)  # 42 min, virtually
    assert all(b.contact is None and not b.gap_before and b.heart_rate_bpm is None for b in beats)


async def test_speed_two_takes_half_the_virtual_time(shared_data: Path) -> None:
    path = shared_data / "hrvpkg_rest_rri_ms.txt"
    rec = read_recording(path)
    clock = VirtualClock(T0)
    beats = await _collect(ReplaySource(path, speed=2, clock=clock))
    assert len(beats) == 910
    assert clock.now() - T0 == pytest.approx(rec.duration_s / 2, abs=1e-6)
    gaps_on_clock = np.diff([b.arrived_at for b in beats])
    np.testing.assert_allclose(gaps_on_clock, rec.rr_ms[1:] / 2000, atol=1e-6)
    # the stream's own timeline is unchanged by the speed
    assert [b.t_s for b in beats] == rec.t_s.tolist()


async def test_max_speed_does_not_wait_but_lets_other_tasks_run(shared_data: Path) -> None:
    path = shared_data / "nsr2db_nsr001_rr_secs.txt"
    clock = VirtualClock(T0)
    ticks = 0
    stop = asyncio.Event()

    async def other_task() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    beats = await _collect(ReplaySource(path, speed="max", clock=clock, format="physionet_rr_secs"))
    stop.set()
    await task
    assert len(beats) == 106_459
    assert clock.now() == T0  # no virtual time passed at all
    assert ticks >= 106_459 // 256 - 1  # the stream yielded to the loop all along
    # t_s is stream time: 0 is the first beat of the Holter file (line 1: 225.797 s)
    assert beats[0].t_s == pytest.approx(0.6953125)
    assert beats[0].rr_ms == 695.3125


async def test_status_goes_streaming_then_ended() -> None:
    seen: list[SourceStatus] = []
    source = ReplaySource(FIXTURES / "polar_rr_mode.hrm", speed="max", clock=VirtualClock())
    source.add_status_listener(seen.append)
    assert source.status.state is SourceState.IDLE
    states: list[SourceState] = []
    async with source:
        async for _ in source:
            states.append(source.status.state)
    assert set(states) == {SourceState.STREAMING} and len(states) == 20
    assert [s.state for s in seen] == [SourceState.STREAMING, SourceState.ENDED]
    assert "polar_rr_mode.hrm" in seen[0].message and "20 beats" in seen[0].message
    assert seen[0].device_name == "Polar HRM (Monitor=13)"


async def test_stopping_early_ends_the_stream() -> None:
    source = ReplaySource(FIXTURES / "polar_rr_mode.hrm", clock=VirtualClock())
    async with source:
        async for beat in source:
            if beat.t_s > 3:
                break
    assert source.status.state is SourceState.ENDED
    assert source.status.message == "replay stopped"


async def test_hrvpace_recording_replays_contact_gaps_and_device_hr() -> None:
    beats = await _collect(ReplaySource(FIXTURES / "hrvpace_v1.csv", speed=4, clock=VirtualClock()))
    assert [b.rr_ms for b in beats] == [812.5, 808.59375, 808.59375, 820.3125, 800.78125, 804.6875]
    assert [b.t_s for b in beats] == [0.8125, 1.62109375, 2.4296875, 3.25, 5.75, 6.5546875]
    assert [b.contact for b in beats] == [True, True, True, False, None, True]
    assert [b.gap_before for b in beats] == [False, False, False, False, True, False]
    assert [b.heart_rate_bpm for b in beats] == [74, 74, 75, None, 76.5, 76]


async def test_timestamped_formats_replay_the_time_lost_in_a_gap() -> None:
    clock = VirtualClock(T0)
    beats = await _collect(ReplaySource(FIXTURES / "polar_sensor_logger_RR.txt", clock=clock))
    assert len(beats) == 28
    assert [b.gap_before for b in beats].index(True) == 14
    # the two lost beats (850 + 829 ms) are waited out, not skipped
    wait = beats[14].arrived_at - beats[13].arrived_at
    assert wait == pytest.approx(beats[14].rr_ms / 1000 + 1.679, abs=0.5)


async def test_record_a_replay_and_read_it_back_identically(tmp_path: Path) -> None:
    source_path = FIXTURES / "hrv_logger_RR.csv"
    out = tmp_path / "again.csv"
    async with ReplaySource(source_path, speed=8, clock=VirtualClock()) as source:
        with RecordingWriter(out, meta={"device": "replay"}) as writer:
            async for beat in source:
                writer.write(beat)
    original = read_recording(source_path)
    again = read_recording(out)
    np.testing.assert_array_equal(again.rr_ms, original.rr_ms)
    np.testing.assert_array_equal(again.t_s, original.t_s)
    np.testing.assert_array_equal(again.gaps, original.gaps)


async def test_a_recording_object_replays_without_a_file() -> None:
    rec = read_recording(FIXTURES / "2017-06-05 07-27-59.txt", format="elite_hrv")
    source = ReplaySource(rec, speed="max", clock=VirtualClock())
    assert source.recording is rec
    beats = await _collect(source)
    assert [b.rr_ms for b in beats] == rec.rr_ms.tolist()
    # iterating again replays again
    async with source:
        assert len([b async for b in source]) == len(rec)


async def test_broken_file_fails_on_enter_with_the_line() -> None:
    source = ReplaySource(FIXTURES / "broken_letter_line7.txt", clock=VirtualClock())
    with pytest.raises(RecordingFormatError) as info:
        async with source:
            pass  # pragma: no cover
    assert info.value.line == 7
    assert source.status.state is SourceState.FAILED
    assert source.status.message.endswith(
        "broken_letter_line7.txt:7: RR interval '8l2' is not a number"
    )


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf"), "fast", True])
def test_bad_speed_is_refused(speed: object) -> None:
    with pytest.raises(ValueError, match="speed"):
        ReplaySource(FIXTURES / "polar_rr_mode.hrm", speed=speed)  # type: ignore[arg-type]


def test_format_and_units_only_with_a_path() -> None:
    rec = read_recording(FIXTURES / "polar_rr_mode.hrm")
    with pytest.raises(ValueError, match="apply to a path"):
        ReplaySource(rec, units="ms")


async def test_scaled_real_clock_replays_in_order() -> None:
    # the real event loop and a real (100x) clock: no virtual time, only order is asserted
    from sensors import ScaledClock

    beats = await _collect(
        ReplaySource(FIXTURES / "hrvpace_v1.csv", speed=1, clock=ScaledClock(100))
    )
    assert [b.rr_ms for b in beats] == read_recording(FIXTURES / "hrvpace_v1.csv").rr_ms.tolist()
    arrivals = [b.arrived_at for b in beats]
    assert arrivals == sorted(arrivals)


async def test_artefacts_replay_in_place_and_the_end_counts_them(
    shared_data: Path, tmp_path: Path
) -> None:
    """Review findings: a negative value rewound the replay's clock (a pipeline then dropped the
    75 beats after it), and the end said 772 beats where the pipeline took 771 (its one 0 ms
    value skipped). Beats with an RR of 0 or less stay at the time of the beat before them;
    the end names them apart."""
    path = tmp_path / "neg.txt"
    values = [800] * 200 + [-60000] + [800] * 200 + [0] * 5 + [800] * 100
    path.write_text("".join(f"{v}\n" for v in values))
    seen: list[SourceStatus] = []
    source = ReplaySource(path, speed="max", clock=VirtualClock(T0))
    source.add_status_listener(seen.append)
    beats = await _collect(source)
    assert [b.rr_ms for b in beats] == values
    t = [b.t_s for b in beats]
    assert all(b >= a for a, b in itertools.pairwise(t)) and t[-1] == pytest.approx(400.0)
    assert seen[-1].state is SourceState.ENDED
    assert "(506 beats, 6 of them unusable: an RR of 0 or less)" in seen[-1].message
    real = ReplaySource(shared_data / "hrvpkg_real_rri_ms.txt", speed="max", clock=VirtualClock())
    await _collect(real)
    assert "(772 beats, 1 of them unusable: an RR of 0 or less)" in real.status.message
    clean_file = ReplaySource(FIXTURES / "polar_rr_mode.hrm", speed="max", clock=VirtualClock())
    await _collect(clean_file)
    assert clean_file.status.message.endswith("ended (20 beats)")


def _contact_recording(path: Path) -> Path:
    # as `hrvpace record` writes one: contact lost at 2.4 s and back at 9.1 s; lost at 20.0 s,
    # the strap dropped (no 'contact back'), lost again at 25.5 s; lost at 40.0 s to the end
    with RecordingWriter(path) as writer:
        for t in (1.0, 2.0):
            writer.write(Beat(t_s=t, rr_ms=1000.0, arrived_at=100.0 + t, contact=True))
        writer.write_contact(2.4, False)
        writer.write_contact(9.1, True)
        for t in (10.0, 11.0):
            writer.write(Beat(t_s=t, rr_ms=1000.0, arrived_at=100.0 + t, contact=True))
        writer.write_contact(20.0, False)
        writer.write(Beat(t_s=24.0, rr_ms=1000.0, arrived_at=124.0, contact=False, gap_before=True))
        writer.write_contact(25.5, False)
        writer.write(Beat(t_s=30.0, rr_ms=1000.0, arrived_at=130.0, contact=True, gap_before=True))
        writer.write_contact(40.0, False)
    return path


async def test_a_recordings_stretches_without_contact_replay_as_a_strap_reports_them(
    tmp_path: Path,
) -> None:
    # a session keeps the stretches from the source's statuses (sensors.contact.ContactChanges):
    # a replay reports the file's '# contact' lines so, each at its time
    path = _contact_recording(tmp_path / "contact.csv")
    clock = VirtualClock(T0)
    source = ReplaySource(path, clock=clock)
    kept = ContactChanges()
    seen: list[tuple[float, SourceState, float | None]] = []
    changes: list[tuple[float, bool]] = []

    def on_status(status: SourceStatus) -> None:
        seen.append((clock.now() - T0, status.state, status.contact_t_s))
        change = kept.on_status(status)
        if change is not None:
            changes.append(change)

    source.add_status_listener(on_status)
    await _collect(source)
    assert changes == [(t, bool(c)) for t, c in read_recording(path).meta["contact_changes"]]
    for at, state, contact_t_s in seen:
        if state is SourceState.NO_CONTACT:
            assert at == pytest.approx(contact_t_s)  # reported when the replay reached it
    assert seen[-1][1] is SourceState.ENDED and seen[-1][0] == pytest.approx(40.0)
    # stopped at 10 s: the changes it did not reach are not reported
    source = ReplaySource(path, clock=VirtualClock(T0))
    kept, changes = ContactChanges(), []
    source.add_status_listener(on_status)
    async with source:
        async for beat in source:
            if beat.t_s >= 10.0:
                break
    assert changes == [(2.4, False), (9.1, True)]


async def test_a_segment_replays_the_stretches_within_it(tmp_path: Path) -> None:
    # `hrvpace replay --start/--end` plays a cut whose meta still has the whole file's changes
    from api.research.segments import Segment, cut

    rec = read_recording(_contact_recording(tmp_path / "contact.csv"))
    # from the beat at 11 s (its interval starts at 10 s: the segment's 0) to the one at 30 s:
    # the stretch from 20 s is inside, the loss at 40 s after it
    part = cut(rec, Segment(start_s=9.5, end_s=30.0, label="part"))
    kept, changes = ContactChanges(), []

    def on_status(status: SourceStatus) -> None:
        change = kept.on_status(status)
        if change is not None:
            changes.append(change)

    source = ReplaySource(part, clock=VirtualClock(T0))
    source.add_status_listener(on_status)
    beats = await _collect(source)
    assert beats[0].t_s == 1.0 and beats[-1].t_s == 20.0
    assert changes == [(10.0, False), (15.5, False)]
    # from the beat at 10 s (interval from 9 s): the stretch open since 2.4 s starts at 0
    part = cut(rec, Segment(start_s=5.0, end_s=12.0, label="early"))
    kept, changes = ContactChanges(), []
    source = ReplaySource(part, clock=VirtualClock(T0))
    source.add_status_listener(on_status)
    await _collect(source)
    assert changes == [(0.0, False), (pytest.approx(0.1), True)]


def _dropped_recording(path: Path) -> Path:
    # contact lost at 20 s and the strap dropped in that stretch (no 'contact back' line); it
    # reconnected and beats with contact came from 30 s on
    with RecordingWriter(path) as writer:
        for t in (1.0, 2.0):
            writer.write(Beat(t_s=t, rr_ms=1000.0, arrived_at=100.0 + t, contact=True))
        writer.write_contact(20.0, False)
        for k in range(30):
            t = 30.0 + k
            writer.write(
                Beat(t_s=t, rr_ms=1000.0, arrived_at=100.0 + t, contact=True, gap_before=k == 0)
            )
    return path


async def test_a_stretch_the_strap_dropped_in_ends_at_the_next_beat_with_contact(
    tmp_path: Path,
) -> None:
    # as a live strap: reconnecting, then streaming, at the first beat with contact; the
    # stretch kept (ContactChanges) has no contact back and ends at that beat
    from sensors.contact import no_contact_stretches

    path = _dropped_recording(tmp_path / "dropped.csv")
    source = ReplaySource(path, clock=VirtualClock(T0))
    kept = ContactChanges()
    seen: list[SourceState] = []
    changes: list[tuple[float, bool]] = []

    def on_status(status: SourceStatus) -> None:
        seen.append(status.state)
        change = kept.on_status(status)
        if change is not None:
            changes.append(change)

    source.add_status_listener(on_status)
    states: dict[float, SourceState] = {}
    async with source:
        async for beat in source:
            states[beat.t_s] = source.status.state
    assert states[2.0] is SourceState.STREAMING
    assert {states[t] for t in (30.0, 45.0, 59.0)} == {SourceState.STREAMING}
    after_loss = seen[seen.index(SourceState.NO_CONTACT) :]
    assert after_loss[:3] == [
        SourceState.NO_CONTACT,
        SourceState.RECONNECTING,
        SourceState.STREAMING,
    ]
    assert after_loss[-1] is SourceState.ENDED and SourceState.NO_CONTACT not in after_loss[1:]
    assert changes == [(20.0, False)]
    stretches = no_contact_stretches(changes, list(states))  # every beat has contact
    assert [(x.start_t_s, x.end_t_s, x.ended_by) for x in stretches] == [(20.0, 30.0, "beat")]


async def test_a_segment_after_a_dropped_stretch_starts_with_contact(tmp_path: Path) -> None:
    from api.research.segments import Segment, cut

    rec = read_recording(_dropped_recording(tmp_path / "dropped.csv"))

    async def replayed(part: Recording) -> tuple[list[tuple[float, bool]], SourceState]:
        kept, changes = ContactChanges(), []

        def on_status(status: SourceStatus) -> None:
            change = kept.on_status(status)
            if change is not None:
                changes.append(change)

        source = ReplaySource(part, clock=VirtualClock(T0))
        source.add_status_listener(on_status)
        states = []
        async with source:
            async for _ in source:
                states.append(source.status.state)
        return changes, states[0]

    # from the beat at 41 s: the beat at 30 s ended the stretch, none is open at the start
    changes, first = await replayed(cut(rec, Segment(start_s=40.0, end_s=50.0, label="later")))
    assert changes == [] and first is SourceState.STREAMING
    # from the beat at 30 s (its interval from 29 s): the stretch is still open at the segment's
    # start and ends at its first beat
    changes, first = await replayed(cut(rec, Segment(start_s=28.5, end_s=40.0, label="back")))
    assert changes == [(0.0, False)] and first is SourceState.STREAMING
