"""The live Bluetooth source chosen by stream (sensors.ble_sources), and its motion level."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sensors import BleEcgSource, BlePpiSource, BleStrapSource, VirtualClock
from sensors.ble_sources import BLE_STREAMS, make_ble_source, motion_of
from sensors.pmd import encode_frame
from tests.sensors.fake_bluez import FakeBluez
from tests.sensors.test_ble import (  # noqa: F401 - fixtures
    STEP,
    bluez,
    private_bus,
    system_bus,
)
from tests.sensors.test_ble_pmd import ACC_OFFER, SENSE, ppi_frame, pulse, verity_sense


def test_each_stream_gets_its_source_and_only_pmd_sources_give_motion() -> None:
    assert BLE_STREAMS == ("hr", "ppi", "ecg")
    hr = make_ble_source("Polar H10", scan_timeout_s=1.0)
    ppi = make_ble_source("Polar Sense", stream="ppi", motion=True, max_error_ms=30.0)
    ecg = make_ble_source("Polar H10", stream="ecg")
    assert type(hr) is BleStrapSource
    assert isinstance(ppi, BlePpiSource) and isinstance(ecg, BleEcgSource)
    assert motion_of(hr) is None  # the Heart Rate service has no accelerometer
    assert motion_of(ecg) is None  # not requested
    level = motion_of(ppi)
    assert level is not None and level(60.0) is None  # not connected: unknown, not "still"
    with pytest.raises(ValueError, match="stream must be one of hr, ppi, ecg, got 'gps'"):
        make_ble_source("x", stream="gps")
    with pytest.raises(ValueError, match="the Heart Rate service has no accelerometer"):
        make_ble_source("x", motion=True)


@pytest.mark.ble
@pytest.mark.timeout(30)
async def test_ppi_source_with_motion_gives_the_walking_level(
    bluez: FakeBluez,  # noqa: F811
) -> None:
    bluez.add_strap(verity_sense(pmd={"ppi": {}, "acc": ACC_OFFER}))
    clock = VirtualClock()
    source = make_ble_source(
        SENSE, stream="ppi", motion=True, clock=clock, scan_timeout_s=1.0, connect_timeout_s=5.0
    )
    level = motion_of(source)
    assert level is not None
    async with source:
        await bluez.wait_pmd_streaming(SENSE, "acc", timeout_s=STEP)
        it = aiter(source)
        pending = asyncio.ensure_future(anext(it))
        t0_ns = 700_000_000_000_000_000
        for k in range(0, 60 * 50, 36):  # a minute of walking: 2 steps/s, 0.3 g bounce
            t = np.arange(k, k + 36) / 50
            rows = [(0, 0, int(v)) for v in 1000.0 + 300.0 * np.sin(2 * np.pi * 2.0 * t)]
            stamp = t0_ns + round(t[-1] * 1e9)
            bluez.notify_pmd(
                SENSE, encode_frame("acc", rows, compressed=True, frame_type=1, timestamp_ns=stamp)
            )
            await clock.sleep(36 / 50)
        bluez.notify_pmd(SENSE, ppi_frame(pulse(800)))
        beat = await asyncio.wait_for(pending, STEP)
        assert beat.rr_ms == 800.0
        walking = level(59.0)
        # above the micro-break rule's activity threshold (40 mg): this minute is movement
        assert walking is not None and walking == pytest.approx(300 / np.pi, rel=0.05)
