"""Live sessions from Polar Measurement Data (PMD) streams through the service, for real: a
real uvicorn, the real bleak client in the server, an emulated BlueZ on a private D-Bus
(tests/sensors/fake_bluez.py: a real dbus-daemon, the sensor emulated with its PMD service).

A ``ble`` session's ``stream`` picks where its beats come from (``ppi``: an optical sensor's
pulse-to-pulse intervals; ``ecg``: R peaks detected live in a chest strap's ECG) and ``motion``
starts the accelerometer, whose movement level reaches the micro-break monitor per window.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect

from api.pipeline import BleSpec, SourceControl, assemble, make_source, session_stages
from sensors import BlePpiSource, BleStrapSource
from sensors.pmd import SettingType, encode_frame, encode_start_request
from tests.api.conftest import Server
from tests.api.test_devices_ble import bluez  # noqa: F401 - fixture
from tests.sensors.fake_bluez import FakeBluez, FakeStrap
from tests.sensors.test_ble_pmd import (
    ACC_OFFER,
    ECG_SETTINGS,
    H10,
    SENSE,
    h10_data,
    ppi_frame,
    pulse,
    verity_sense,
)

#: 20 pulse-to-pulse intervals (ms): about 66 beats/min, near the population baseline (64.8),
#: with some beat-to-beat variability.
PULSES = (880, 910, 900, 930, 890, 920, 900, 870, 910, 890) * 2


async def _session(c: httpx.AsyncClient, source: dict[str, Any]) -> str:
    r = await c.post("/api/v1/sessions", json={"source": source})
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid


async def _poll(
    get: Callable[[], Any], done: Callable[[Any], bool], *, timeout_s: float, what: str
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await get()
        if done(value):
            return value
        if loop.time() > deadline:
            pytest.fail(f"{what}: still {value!r} after {timeout_s} s")
        await asyncio.sleep(0.1)


def test_assembly_gives_the_microbreak_stage_motion_only_from_a_source_with_motion() -> None:
    """No Bluetooth needed: the sources are built, not opened."""
    with_motion = make_source(
        BleSpec(kind="ble", address=SENSE, stream="ppi", motion=True), SourceControl()
    )
    assert isinstance(with_motion, BlePpiSource)
    stages = session_stages()
    assemble(with_motion, stages)
    assert stages.microbreaks is not None and stages.microbreaks.motion is not None
    # not connected: the level is unknown (None), not "still"
    assert stages.microbreaks.motion(60.0) is None
    for spec in (
        BleSpec(kind="ble", address=SENSE, stream="ecg"),
        BleSpec(kind="ble", address=SENSE),
    ):
        plain = session_stages()
        assemble(make_source(spec, SourceControl()), plain)
        assert plain.microbreaks is not None and plain.microbreaks.motion is None
    assert type(make_source(BleSpec(kind="ble", address=SENSE), SourceControl())) is BleStrapSource
    with pytest.raises(ValidationError, match="has no accelerometer"):
        BleSpec(kind="ble", address=SENSE, motion=True)


def test_motion_with_the_heart_rate_stream_is_refused_with_the_reason(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "ble", "address": SENSE, "stream": "hr", "motion": True}},
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["detail"].endswith(
            "'motion' needs a Polar Measurement Data stream ('stream': 'ppi' or 'ecg'): the "
            "Heart Rate service (stream 'hr') has no accelerometer"
        )
        assert problem["errors"][0]["loc"][:2] == ["body", "source"]
        # the default stream is hr: motion alone is refused the same way
        r = c.post(
            "/api/v1/sessions", json={"source": {"kind": "ble", "address": SENSE, "motion": True}}
        )
        assert r.status_code == 422 and "has no accelerometer" in json.dumps(r.json())
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "ble", "address": SENSE, "stream": "ppg"}},
        )
        assert r.status_code == 422
        assert c.get("/api/v1/sessions").json()["sessions"] == []


@pytest.mark.ble
@pytest.mark.e2e
@pytest.mark.timeout(60)
async def test_ppi_session_streams_the_sensors_pulse_intervals_as_beats(
    serve: Callable[..., Server],
    bluez: FakeBluez,  # noqa: F811
) -> None:
    strap = bluez.add_strap(verity_sense())
    server = await asyncio.to_thread(serve)
    sent = [1000, 950, 980, 1010, 990, 960]
    async with httpx.AsyncClient(base_url=server.url, headers=server.auth, timeout=30) as c:
        sid = await _session(c, {"kind": "ble", "address": SENSE, "stream": "ppi"})
        await bluez.wait_pmd_streaming(SENSE, "ppi", timeout_s=20)
        assert strap.pmd_requests == [encode_start_request("ppi")]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
        got: list[dict[str, Any]] = []
        async with connect(url, open_timeout=10) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "status" and first["state"] == "running"
            bluez.notify_pmd(SENSE, ppi_frame(*(pulse(v, hr=61) for v in sent[:3])))
            bluez.notify_pmd(SENSE, ppi_frame(*(pulse(v, hr=62) for v in sent[3:])))
            while len(got) < len(sent):
                m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if m["type"] == "beat":
                    got.append(m)
        assert [m["rr_ms"] for m in got] == [float(v) for v in sent]
        assert [m["hr_bpm"] for m in got] == [61.0] * 3 + [62.0] * 3
        assert all(m["contact"] is True for m in got)
        # the session says what it streams from, live and in the list
        session = (await c.get(f"/api/v1/sessions/{sid}")).json()
        assert session["source"] == {
            "kind": "ble",
            "address": SENSE,
            "stream": "ppi",
            "motion": False,
        }
        assert session["source_state"] == "streaming"
        listed = (await c.get("/api/v1/sessions")).json()["sessions"]
        assert [(s["id"], s["source"]["stream"]) for s in listed] == [(sid, "ppi")]
        stopped = (await c.post(f"/api/v1/sessions/{sid}/stop")).json()
        assert stopped["state"] == "stopped" and stopped["n_beats"] == len(sent)
        assert stopped["source"]["stream"] == "ppi"
    assert not strap.connected and strap.pmd_streaming == set()


@pytest.mark.ble
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_ecg_session_gives_beats_from_the_r_peaks(
    serve: Callable[..., Server],
    bluez: FakeBluez,  # noqa: F811
) -> None:
    ecg_uv, reference_s = h10_data()  # MIT-BIH 100 at 130 Hz, and its reference beats
    strap = bluez.add_strap(FakeStrap(H10, name="Polar H10 A1B2C3D4", pmd=ECG_SETTINGS))
    server = await asyncio.to_thread(serve)
    async with httpx.AsyncClient(base_url=server.url, headers=server.auth, timeout=30) as c:
        sid = await _session(c, {"kind": "ble", "address": H10, "stream": "ecg"})
        await bluez.wait_pmd_streaming(H10, "ecg", timeout_s=20)
        assert strap.pmd_requests == [
            encode_start_request("ecg", {SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14})
        ]
        # 40 s of ECG in 73-sample frames stamped by the strap's sample clock, sent faster
        # than real time: the beats are timed by the frames' timestamps, not their arrival
        device_t0_ns = 599_616_023_000_000_000
        for start in range(0, 40 * 130, 73):
            frame = ecg_uv[start : start + 73]
            t_end = (start + frame.size - 1) / 130
            bluez.notify_pmd(
                H10,
                encode_frame(
                    "ecg", [int(v) for v in frame], timestamp_ns=device_t0_ns + round(t_end * 1e9)
                ),
            )
            await asyncio.sleep(0.005)

        async def n_beats() -> int:
            n: int = (await c.get(f"/api/v1/sessions/{sid}")).json()["n_beats"]
            return n

        await _poll(n_beats, lambda n: n >= 40, timeout_s=60, what="ECG beats")
        stopped = (await c.post(f"/api/v1/sessions/{sid}/stop")).json()
        beats = (await c.get(f"/api/v1/sessions/{sid}/beats")).json()["beats"]
    assert stopped["source"] == {"kind": "ble", "address": H10, "stream": "ecg", "motion": False}
    assert len(beats) == stopped["n_beats"] >= 40
    # each beat's RR is a reference RR of MIT-BIH 100 within a 130-Hz sample and a little, and
    # the beats lie on the strap's sample clock: successive times differ by the RR
    ref_rr = np.diff(reference_s) * 1000
    rr = np.array([b["rr_ms"] for b in beats])
    assert all(np.min(np.abs(ref_rr - r)) < 12.0 for r in rr)
    t = np.array([b["t_s"] for b in beats])
    assert np.allclose(np.diff(t) * 1000, rr[1:], atol=0.5)
    # timed by the strap's sample clock: the beats span most of the 40 s of ECG, though the
    # frames arrived within a few seconds
    assert 30.0 <= t[-1] - t[0] <= 40.0
    assert beats[-1]["arrived_at"] - beats[0]["arrived_at"] < 20.0
    assert not any(b["gap_before"] for b in beats)


def _acc_frames(t0: float, t1: float, *, walking: bool, device_t0_ns: int) -> list[bytes]:
    """Accelerometer frames (50 Hz, 36 samples, delta-compressed as a Polar sensor sends them)
    of the session times ``(t0, t1]``: still (1 g) or walking (2 steps/s, 0.3 g bounce: a
    movement level of 300/pi = 95 mg, above the micro-break rule's 40 mg)."""
    t = np.arange(np.floor(t0 * 50) + 1, np.floor(t1 * 50) + 1) / 50
    z = 1000.0 + (300.0 * np.sin(2 * np.pi * 2.0 * t) if walking else 0.0 * t)
    frames = []
    for k in range(0, t.size, 36):
        rows = [(0, 0, int(v)) for v in z[k : k + 36]]
        stamp = device_t0_ns + round(t[k : k + 36][-1] * 1e9)
        frames.append(encode_frame("acc", rows, compressed=True, frame_type=1, timestamp_ns=stamp))
    return frames


@pytest.mark.ble
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_motion_session_gives_the_monitor_the_movement_of_each_window(
    serve: Callable[..., Server],
    bluez: FakeBluez,  # noqa: F811
) -> None:
    """A PPI session with ``motion``: 100 s sitting still, then 100 s walking, the same pulse
    intervals throughout. The monitor takes the still windows as rest and the walking ones as
    activity: only the accelerometer tells them apart, so its level reached the monitor at
    the windows' times."""
    strap = bluez.add_strap(verity_sense(pmd={"ppi": {}, "acc": ACC_OFFER}))
    server = await asyncio.to_thread(serve)
    device_t0_ns = 700_000_000_000_000_000
    async with httpx.AsyncClient(base_url=server.url, headers=server.auth, timeout=30) as c:
        sid = await _session(c, {"kind": "ble", "address": SENSE, "stream": "ppi", "motion": True})
        await bluez.wait_pmd_streaming(SENSE, "acc", timeout_s=20)
        assert strap.pmd_requests[1] == encode_start_request(
            "acc", {SettingType.SAMPLE_RATE: 50, SettingType.RESOLUTION: 16, SettingType.RANGE: 8}
        )
        # one pulse starts the session's timeline (its beat at 0.9 s); the accelerometer's
        # clock is mapped onto it at its first frame, right after
        bluez.notify_pmd(SENSE, ppi_frame(pulse(900, hr=66)))
        t_s = 0.9

        async def send(until_s: float, *, walking: bool) -> float:
            """Pulses and motion up to ``until_s`` on the beats' timeline, the motion of each
            stretch before its beats (as a sensor sends them, interleaved)."""
            t = t_s
            while t < until_s:
                # sent faster than real time, each frame's first beat lands 1 ms after the
                # previous frame's last (sensors.beats_from_packet): the beats' timeline moves
                # by the frame's other intervals
                step = 0.001 + sum(PULSES[1:]) / 1000
                for frame in _acc_frames(t, t + step, walking=walking, device_t0_ns=device_t0_ns):
                    bluez.notify_pmd(SENSE, frame)
                    await asyncio.sleep(0.002)
                bluez.notify_pmd(SENSE, ppi_frame(*(pulse(v, hr=66) for v in PULSES)))
                await asyncio.sleep(0.01)
                t += step
            return t

        async def state() -> dict[str, Any]:
            status: dict[str, Any] = (await c.get(f"/api/v1/sessions/{sid}/microbreaks")).json()[
                "status"
            ]
            return status

        t_s = await send(100.0, walking=False)
        still = await _poll(
            state, lambda s: s["t_s"] >= t_s - 6.0, timeout_s=60, what="windows while still"
        )
        t_still = t_s
        t_s = await send(200.0, walking=True)
        walking = await _poll(
            state, lambda s: s["t_s"] >= t_s - 6.0, timeout_s=60, what="windows while walking"
        )
        await c.post(f"/api/v1/sessions/{sid}/stop")
    assert still["valid"] and walking["valid"], (still["invalid_reason"], walking["invalid_reason"])
    assert still["t_s"] <= t_still < walking["t_s"] - 60.0  # the second window is all walking
    assert still["activity"] is False
    assert walking["activity"] is True
    # the same heart rate in both: not what made the difference
    assert abs(walking["hr_z"] - still["hr_z"]) < 0.5
