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
from pathlib import Path

import numpy as np
import pytest

from sensors import encode_heart_rate_measurement, read_recording
from sensors.formats.pmd_streams import read_acc_stream
from sensors.formats.signals import compare_beats
from sensors.heart_rate_measurement import HeartRateMeasurement
from sensors.pmd import SettingType, encode_frame
from tests.sensors.fake_bluez import FakeBluez, FakeStrap
from tests.sensors.test_ble import (  # noqa: F401 - fixtures
    STEP,
    bluez,
    private_bus,
    run_cli,
    system_bus,
)
from tests.sensors.test_ble_pmd import ACC_OFFER, h10_data, ppi_frame, pulse, verity_sense

pytestmark = [pytest.mark.ble, pytest.mark.timeout(90)]

H10 = "A0:9E:1A:00:00:21"
Offer = dict[SettingType, tuple[float, ...]]
ECG_OFFER: Offer = {SettingType.SAMPLE_RATE: (130,), SettingType.RESOLUTION: (14,)}
H10_OFFER: dict[str, Offer] = {"ecg": ECG_OFFER, "acc": dict(ACC_OFFER)}
FS = 130
T0_NS = 599_616_023_000_000_000


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
    strap = bluez.add_strap(FakeStrap(H10, name="Polar H10 REC", pmd=H10_OFFER))
    out = tmp_path / "h10.csv"
    args = ("record", "--device", H10, "--out", str(out), "--minutes", "0.12")
    running = asyncio.ensure_future(run_cli(*args, "--stream", "ecg,acc"))
    await bluez.wait_pmd_streaming(H10, "acc", timeout_s=15.0)
    assert "ecg" in strap.pmd_streaming
    ecg_uv, reference = h10_data()
    # 24 s of ECG; frames lost for 10 s (the device clock jumps); 16 s more: two files
    await send_ecg_run(bluez, ecg_uv, 0, 24 * FS, 0.0)
    await send_ecg_run(bluez, ecg_uv, 24 * FS, 40 * FS, 10.0)
    # 20 s of accelerometer at 50 Hz (still, then a 0.3-g bounce), delta frames of 36 samples
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
    result = await asyncio.wait_for(running, 30.0)
    assert result.exit_code == 0, result.stderr
    assert "1 beat written" in result.stdout
    ecg_file, ecg_file_2 = tmp_path / "h10.ecg.csv", tmp_path / "h10.ecg-2.csv"
    assert f"ECG: {40 * FS} samples written to {ecg_file}, {ecg_file_2}" in result.stdout
    assert f"ACC: {20 * 50} samples written to {tmp_path / 'h10.acc.csv'}" in result.stdout
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
    acc = read_acc_stream(tmp_path / "h10.acc.csv")
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
