"""``hrvpace record --stream``: PPI, ECG and ACC of a Polar device to files, read back.

Real: the command, bleak, dbus-daemon, dbus-fast, the control-point writes and indications, the
data notifications, the stream files and hrvpace's readers (NeuroKit2 R-peak detection for the
ECG). Emulated: the device (tests/sensors/fake_bluez.py). The ECG is MIT-BIH record 100's first
minutes resampled to 130 Hz, as an H10 sends it (tests/data, provenance in its README), so the
beats read back are checked against the cardiologists' reference labels.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from sensors import encode_heart_rate_measurement, read_recording
from sensors.formats.pmd_streams import read_acc_stream
from sensors.formats.signals import compare_beats
from sensors.heart_rate_measurement import HeartRateMeasurement
from sensors.pmd import SettingType, encode_frame
from tests.api.conftest import REPO_ROOT
from tests.sensors.fake_bluez import FakeBluez, FakeStrap
from tests.sensors.test_ble import (  # noqa: F401 - fixtures
    STEP,
    _beats_in,
    bluez,
    packet,
    private_bus,
    run_cli,
    system_bus,
)
from tests.sensors.test_ble_pmd import ACC_OFFER, h10_data, ppi_frame, pulse, verity_sense
from tests.sensors.test_record_cli_files import hrvpace_on_a_full_disk

pytestmark = [pytest.mark.ble, pytest.mark.timeout(90)]

H10 = "A0:9E:1A:00:00:21"
Offer = dict[SettingType, tuple[float, ...]]
ECG_OFFER: Offer = {SettingType.SAMPLE_RATE: (130,), SettingType.RESOLUTION: (14,)}
H10_OFFER: dict[str, Offer] = {"ecg": ECG_OFFER, "acc": dict(ACC_OFFER)}
FS = 130
T0_NS = 599_616_023_000_000_000


def _n_lines(path: Path) -> int:
    """Lines in ``path`` so far (0 before it is made)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def beat_times(rec: object) -> np.ndarray:
    out: np.ndarray = np.r_[rec.start_s, rec.t_s]  # type: ignore[attr-defined]
    return out


async def send_ecg_run(
    bluez: FakeBluez,  # noqa: F811
    ecg_uv: np.ndarray,
    first: int,
    last: int,
    device_shift_s: float,
) -> None:
    """Samples ``first:last`` in 73-sample frames, device time = sample time + shift."""
    for start in range(first, last, 73):
        frame = ecg_uv[start : min(start + 73, last)]
        t_end = (start + frame.size - 1) / FS + device_shift_s
        stamp = T0_NS + round(t_end * 1e9)
        bluez.notify_pmd(H10, encode_frame("ecg", [int(v) for v in frame], timestamp_ns=stamp))
        await asyncio.sleep(0.003)


async def test_record_ecg_and_acc_streams_round_trip(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Stopped by a Ctrl-C once every file has all that was sent (not by --minutes, which ran
    # out while a loaded machine was still sending): conditions, no timing
    strap = bluez.add_strap(FakeStrap(H10, name="Polar H10 REC", pmd=H10_OFFER))
    out = tmp_path / "h10.csv"
    ecg_file, ecg_file_2 = tmp_path / "h10.ecg.csv", tmp_path / "h10.ecg-2.csv"
    acc_file = tmp_path / "h10.acc.csv"
    ecg_uv, reference = h10_data()
    args = ("record", "--device", H10, "--out", str(out), "--stream", "ecg,acc")
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "api", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        await bluez.wait_pmd_streaming(H10, "acc", timeout_s=20.0)
        assert "ecg" in strap.pmd_streaming
        # 24 s of ECG; frames lost for 10 s (the device clock jumps); 16 s more: two files
        await send_ecg_run(bluez, ecg_uv, 0, 24 * FS, 0.0)
        await send_ecg_run(bluez, ecg_uv, 24 * FS, 40 * FS, 10.0)
        # 20 s of accelerometer at 50 Hz (still, then a 0.3-g bounce), delta frames of 36
        sent_acc = []
        for k in range(0, 20 * 50, 36):
            t = np.arange(k, min(k + 36, 20 * 50)) / 50
            z = 1000.0 + np.where(t >= 10, 300.0 * np.sin(2 * np.pi * 2.0 * t), 0.0)
            rows = [(k % 7, -3, int(v)) for v in z]
            sent_acc += rows
            stamp = T0_NS + round(t[-1] * 1e9)
            bluez.notify_pmd(
                H10, encode_frame("acc", rows, compressed=True, frame_type=1, timestamp_ns=stamp)
            )
            await asyncio.sleep(0.003)
        # the strap's own beats (Heart Rate Measurement) go to OUT as before
        bluez.notify(H10, encode_heart_rate_measurement(HeartRateMeasurement(74, rr_ms=(810.0,))))
        # until every file has it all (each written frame by frame, unbuffered)
        want = {ecg_file_2: 16 * FS + 1, acc_file: 20 * 50 + 1}
        async with asyncio.timeout(60.0):
            while not (all(_n_lines(f) == n for f, n in want.items()) and _beats_in(out) == 1):
                assert proc.returncode is None, "the recording ended before it had it all"
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout_b, stderr_b = await asyncio.wait_for(proc.communicate(), 30.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stdout, stderr = stdout_b.decode(), stderr_b.decode()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "1 beat written" in stdout
    assert f"ECG: {40 * FS} samples written to {ecg_file}, {ecg_file_2}" in stdout
    assert f"ACC: {20 * 50} samples written to {acc_file}" in stdout
    assert strap.pmd_streaming == set()  # both streams stopped when the recording ended
    # the beats file says which streams went where
    meta = read_recording(out).meta
    assert meta["streams"]["ecg"] == {"file": "h10.ecg.csv", "sampling_rate_hz": 130}
    # ECG back: each file contiguous, its R peaks the reference beats of its stretch
    first = read_recording(ecg_file, format="ecg_csv", sampling_rate_hz=FS)
    second = read_recording(ecg_file_2, format="ecg_csv", sampling_rate_hz=FS)
    for rec, (a, b) in ((first, (0.0, 24.0)), (second, (24.0, 40.0))):
        ref = reference[(reference >= a + 0.5) & (reference < b - 0.5)] - a
        got = beat_times(rec)
        got = got[(got >= 0.5) & (got < b - a - 0.5)]
        match = compare_beats(ref, got, tolerance_s=0.075)
        assert match.sensitivity == 1.0 and match.positive_predictivity == 1.0, (a, match)
    # and through the command line, as the record command says
    analyzed = await run_cli(
        "analyze", str(ecg_file), "--format", "ecg_csv", "--sampling-rate", "130", "--json"
    )
    assert analyzed.exit_code == 0, analyzed.stderr
    summary = json.loads(analyzed.stdout.splitlines()[0])
    assert summary["n_beats"] == first.n_beats
    assert summary["mean_rr_ms"] == pytest.approx(807.0, abs=15.0)  # record 100: ~74 bpm
    # ACC back: every sample, its time on the device clock
    acc = read_acc_stream(acc_file)
    np.testing.assert_allclose(acc.t_s, np.arange(20 * 50) / 50, atol=1e-3)
    np.testing.assert_array_equal(acc.acc_mg, np.array(sent_acc, dtype=float))


async def test_record_ppi_stream_reads_back_as_polar_sensor_logger_ppi(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    sense = "A0:9E:1A:00:00:22"
    bluez.add_strap(verity_sense(address=sense))
    out = tmp_path / "sense.csv"
    args = ("record", "--device", sense, "--out", str(out), "--minutes", "0.05")
    running = asyncio.ensure_future(run_cli(*args, "--stream", "ppi"))
    await bluez.wait_pmd_streaming(sense, "ppi", timeout_s=15.0)
    frames = [
        (pulse(1000, error=12), pulse(950, error=8, hr=63)),
        (pulse(930), pulse(700, blocker=True), pulse(940, error=20)),
        (pulse(960, contact=False), pulse(980), pulse(990, hr=61)),
    ]
    for frame in frames:
        bluez.notify_pmd(sense, ppi_frame(*frame))
        await asyncio.sleep(0.05)
    result = await asyncio.wait_for(running, 30.0)
    assert result.exit_code == 0, result.stderr
    ppi_file = tmp_path / "sense.ppi.txt"
    assert f"PPI: 8 pulses written to {ppi_file}" in result.stdout
    rec = read_recording(ppi_file)  # detected from the header
    assert rec.source_format == "polar_sensor_logger_ppi"
    # the blocked and the contactless pulses are left out there, a gap after each
    assert list(rec.rr_ms) == [1000.0, 950.0, 930.0, 940.0, 980.0, 990.0]
    assert list(np.flatnonzero(rec.gaps)) == [3, 4]
    assert rec.meta["rejected_pulses"] == 2


async def test_a_lost_sensor_under_a_stream_says_what_each_file_keeps(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Code review (rev5, F1): an optical sensor lost for good under --stream ppi printed only
    # "0 beats written to OUT": not the PPI line, nor that OUT.ppi.txt keeps its pulses (a
    # re-run is refused as the files exist, and --overwrite would replace them all)
    import sensors.pmd_recorder

    class QuickToGiveUp(sensors.pmd_recorder.BlePmdStreams):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs, give_up_after_s=0.0)  # type: ignore[arg-type]

    monkeypatch.setattr(sensors.pmd_recorder, "BlePmdStreams", QuickToGiveUp)
    sense = "A0:9E:1A:00:00:24"
    bluez.add_strap(verity_sense(address=sense))
    out, ppi_file = tmp_path / "sense.csv", tmp_path / "sense.ppi.txt"
    args = ("record", "--device", sense, "--out", str(out), "--scan-timeout", "0.3")
    running = asyncio.ensure_future(run_cli(*args, "--stream", "ppi"))
    await bluez.wait_pmd_streaming(sense, "ppi", timeout_s=15.0)
    bluez.notify_pmd(sense, ppi_frame(pulse(1000), pulse(980), pulse(990), pulse(1010)))
    for _ in range(200):  # until the pulses are in their file (flushed per frame)
        if _n_lines(ppi_file) == 5:
            break
        await asyncio.sleep(0.05)
    bluez.drop(sense, forget=True, away_s=60.0)
    result = await asyncio.wait_for(running, 15.0)
    assert result.exit_code == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"0 beats written to {out}",
        f"PPI: 4 pulses written to {ppi_file}",
    ]
    assert (
        f"{ppi_file} keeps the 4 PPI pulses recorded; to record again give a new --out file "
        f"(--overwrite would replace {out}, {ppi_file})"
    ) in result.stderr
    assert len(read_recording(ppi_file).rr_ms) == 4


async def test_record_a_stream_the_device_does_not_offer_fails_naming_what_it_offers(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    sense = "A0:9E:1A:00:00:23"
    strap = bluez.add_strap(verity_sense(address=sense))
    out = tmp_path / "sense.csv"
    result = await run_cli(
        "record", "--device", sense, "--out", str(out), "--minutes", "0.05", "--stream", "ecg"
    )
    assert result.exit_code == 1
    assert "does not offer ecg (it offers: ppg, ppi)" in result.stderr
    assert strap.pmd_requests == []  # nothing started
    assert await asyncio.to_thread(os.listdir, tmp_path) == []  # no file left behind
    bad = await run_cli("record", "--device", sense, "--out", str(out), "--stream", "ecg,gps")
    assert bad.exit_code == 2 and "--stream" in bad.stderr


async def test_a_full_disk_under_a_stream_names_its_file_and_what_each_file_keeps(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Code review: a stream file that could not grow (a full disk, here a file-size limit)
    # was not handled as the beats file is: its error named no file (so OUT, the beats file,
    # was said to be the one), and closing its writer wrote the rest again and failed again,
    # a traceback. Now the recording ends as it does when the beats file cannot grow (every
    # file closed, the link closed, exit 1), one line naming the stream file and what each
    # file keeps; the stream file ends at its last whole frame (a part line would read as a
    # wrong sample).
    strap = bluez.add_strap(FakeStrap(H10, name="Polar H10 REC", pmd=H10_OFFER))
    out = tmp_path / "h10.csv"
    ecg_file, acc_file = tmp_path / "h10.ecg.csv", tmp_path / "h10.acc.csv"
    args = ("record", "--device", H10, "--out", str(out), "--stream", "ecg,acc")
    proc = await asyncio.create_subprocess_exec(
        *hrvpace_on_a_full_disk(4000),  # the ECG's ~11th frame; the rest far below
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    ecg_uv, _ = h10_data()
    try:
        await bluez.wait_pmd_streaming(H10, "acc", timeout_s=20.0)
        rows = [(1, -3, 1000 + k) for k in range(36)]
        bluez.notify_pmd(
            H10, encode_frame("acc", rows, compressed=True, frame_type=1, timestamp_ns=T0_NS)
        )
        for rr in (1024, 800):
            bluez.notify(H10, packet(rr, hr=70))
        for start in range(0, 60 * 73, 73):  # ~5 bytes a sample: the limit long before
            streaming = strap.connected and strap.pmd_notifying and "ecg" in strap.pmd_streaming
            if proc.returncode is not None or not streaming:  # the recording has ended
                break
            frame = [int(v) for v in ecg_uv[start : start + 73]]
            stamp = T0_NS + round((start + 72) / FS * 1e9)
            bluez.notify_pmd(H10, encode_frame("ecg", frame, timestamp_ns=stamp))
            await asyncio.sleep(0.05)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 20.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err  # nor coverage's at exit (CI): the limit is given back first
    assert stdout.decode() == ""
    n_beats = len(read_recording(out).rr_ms)
    assert n_beats == 2, err
    ecg_text = ecg_file.read_text()
    assert ecg_text.endswith("\n")  # whole lines: the frame that did not fit is not there
    n_ecg = len(ecg_text.splitlines()) - 1  # after its header
    assert 0 < n_ecg < 60 * 73 and n_ecg % 73 == 0, n_ecg
    assert [int(v) for v in ecg_text.splitlines()[1:]] == [int(v) for v in ecg_uv[:n_ecg]]
    assert len(read_acc_stream(acc_file).t_s) == 36
    said = [line for line in err.splitlines() if line.startswith("hrvpace record:")]
    assert said == [
        f"hrvpace record: cannot write {ecg_file}: File too large; {out} keeps the 2 complete "
        f"beats written before (whole lines), {ecg_file} the {n_ecg} ECG samples, {acc_file} "
        "the 36 ACC samples"
    ], err
    assert not strap.connected and strap.pmd_streaming == set()  # the link closed as it ends


async def test_record_says_a_stream_that_stops_while_the_heart_rate_goes_on(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Strap review (straplive item 1): record --stream watched any data for silence, so a PPI
    # (or ECG) stream that stopped while the heart rate went on was never said. Silence here is
    # 1 s (10 s in use; 0.6 s before, too close to a stall of a loaded machine's event loop):
    # heart rate every 0.1 s throughout, PPI stopped for 2.5 s of it.
    from api.commands import record

    monkeypatch.setattr(record, "SILENT_AFTER_S", 1.0)
    sense = "A0:9E:1A:00:00:25"
    bluez.add_strap(verity_sense(address=sense))
    out = tmp_path / "sense.csv"
    args = ("record", "--device", sense, "--out", str(out), "--minutes", "0.09")
    running = asyncio.ensure_future(run_cli(*args, "--stream", "ppi"))
    await bluez.wait_pmd_streaming(sense, "ppi", timeout_s=15.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not running.done():
        strap = bluez.strap(sense)
        if strap.connected and strap.notifying:  # record's end disconnects before it is done
            bluez.notify(sense, packet(1024, hr=60))
            if not 0.5 <= loop.time() - started < 3.0:
                bluez.notify_pmd(sense, ppi_frame(pulse(1000)))
        await asyncio.sleep(0.1)
    result = await running
    assert result.exit_code == 0, result.stderr
    notes = [x for x in result.stderr.splitlines() if x.startswith(("[no data]", "[data]"))]
    assert len(notes) == 2, result.stderr  # the heart rate went on: not said
    name = "the PPI stream of Polar Sense B5F1A12C"
    assert notes[0].startswith(f"[no data] no data from {name} for ")
    assert notes[0].endswith(" s (still connected); the recording goes on and keeps what comes")
    assert notes[1].startswith(f"[data] data from {name} again (none for ")


async def test_record_says_a_stream_that_never_starts_once_its_start_up_grace_passed(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Code review (review_straplive, 5): a stream with no frame yet on a link is not watched
    # for its start-up grace (a PPI stream's warm-up), then from the link's start. Here the
    # grace is 2 s and silence 1 s (30 s and 10 s in use): heart rate every 0.1 s, no PPI ever.
    import sensors.silence
    from api.commands import record

    monkeypatch.setattr(record, "SILENT_AFTER_S", 1.0)
    monkeypatch.setattr(sensors.silence, "STREAM_START_GRACE_S", 2.0)
    sense = "A0:9E:1A:00:00:27"
    strap = bluez.add_strap(verity_sense(address=sense))
    out = tmp_path / "sense.csv"
    args = ("record", "--device", sense, "--out", str(out), "--minutes", "0.06")
    running = asyncio.ensure_future(run_cli(*args, "--stream", "ppi"))
    await bluez.wait_pmd_streaming(sense, "ppi", timeout_s=15.0)
    while not running.done():
        if strap.connected and strap.notifying:  # record's end disconnects before it is done
            bluez.notify(sense, packet(1024, hr=60))
        await asyncio.sleep(0.1)
    result = await running
    assert result.exit_code == 0, result.stderr
    notes = [x for x in result.stderr.splitlines() if x.startswith(("[no data]", "[data]"))]
    assert len(notes) == 1, result.stderr  # the heart rate went on: not said
    said = "[no data] no data from the PPI stream of Polar Sense B5F1A12C for "
    assert notes[0].startswith(said), result.stderr
    # said from the link's start once the grace passed: not after the silence's 1 s
    assert int(notes[0][len(said) :].split(" s ")[0]) >= 2, result.stderr


async def test_record_watches_each_stream_on_its_new_link_after_a_reconnect(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Code review (review_straplive, 1): the watch read the stream's times from a dict the
    # strap replaced on every connection, so after a reconnect each stream was said to have
    # stopped (its times frozen at the drop) while its frames came, and never to be back.
    # Silence here is 1 s (10 s in use): heart rate and PPI every 0.1 s on both links.
    from api.commands import record

    monkeypatch.setattr(record, "SILENT_AFTER_S", 1.0)
    sense = "A0:9E:1A:00:00:26"
    strap = bluez.add_strap(verity_sense(address=sense))
    out = tmp_path / "sense.csv"
    args = ("record", "--device", sense, "--out", str(out), "--minutes", "0.1")
    running = asyncio.ensure_future(run_cli(*args, "--stream", "ppi"))
    await bluez.wait_pmd_streaming(sense, "ppi", timeout_s=15.0)
    loop = asyncio.get_running_loop()
    started, dropped, back = loop.time(), False, None
    while not running.done():
        if strap.connected and strap.notifying and "ppi" in strap.pmd_streaming:
            if dropped and back is None:
                back = loop.time()
            bluez.notify(sense, packet(1024, hr=60))
            bluez.notify_pmd(sense, ppi_frame(pulse(1000)))
        if not dropped and loop.time() - started >= 0.5:
            bluez.drop(sense)
            dropped = True
        await asyncio.sleep(0.1)
    end = loop.time()
    result = await running
    assert result.exit_code == 0, result.stderr
    states = [x for x in result.stderr.splitlines() if x.startswith("[")]
    assert "[reconnecting]" in " ".join(states), result.stderr
    # frames flowed on the new link for longer than a silence (and the watch's tick)
    assert back is not None and end - back >= 2.0, result.stderr
    assert not [x for x in states if x.startswith(("[no data]", "[data]"))], result.stderr
