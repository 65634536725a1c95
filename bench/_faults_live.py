"""bench.faults parts ``drops`` and ``kill``: strap drops in the emulated BlueZ, kill -9.

Check ids:

- ``gap_unmarked``: the first beat after a reconnect lacks ``gap_before`` (HRV would then be
  computed across a real gap); ``no_reconnect``: the source did not reconnect (or failed);
  ``drops_setup``: the emulated BlueZ could not run (no ``dbus-daemon``).
- ``serve_lost``: beats or metrics windows published on the WebSocket before ``kill -9`` of
  ``hrvpace serve`` but missing from the database after a restart; ``serve_restart``: the
  restarted server does not answer for the session.
- ``record_lost``: beats the strap sent at least :data:`SETTLE_S` seconds before ``kill -9``
  of ``hrvpace record`` missing from the file; ``record_unreadable``: the file no longer reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._faults_serve import ServeProcess
from bench.faults import PartResult, child_env, hrvpace_command

__all__ = ["run_drops", "run_kills"]

STRAP = "A0:9E:1A:00:0F:01"
#: Seconds between a beat's notification and the kill after which it must be on disk.
SETTLE_S = 0.5
#: Seconds to wait for a reconnect before calling it failed.
RECONNECT_LIMIT_S = 20.0


def _packet(raw: int, *, hr: int = 70) -> bytes:
    from sensors import HeartRateMeasurement, encode_heart_rate_measurement
    from sensors.heart_rate_measurement import rr_ms_from_raw

    m = HeartRateMeasurement(hr, rr_ms=(rr_ms_from_raw(raw),), sensor_contact=True)
    return encode_heart_rate_measurement(m)


class _Bluez:
    """A private ``dbus-daemon`` as the system bus and the emulated BlueZ with one strap."""

    def __init__(self) -> None:
        from tests.sensors.fake_bluez import PrivateBus

        self.bus = PrivateBus()
        self._old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus.address

    async def start(self) -> Any:
        from tests.sensors.fake_bluez import FakeBluez, FakeStrap

        self.fake = FakeBluez(self.bus.address)
        await self.fake.start()
        self.fake.add_strap(FakeStrap(address=STRAP, name="Polar H10 FAULTS", battery_pct=80))
        return self.fake

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.fake.stop()
        with contextlib.suppress(Exception):  # bleak's per-loop BlueZ manager connection
            from bleak.backends.bluezdbus import manager as bluez_manager

            instance = bluez_manager._global_instances.pop(asyncio.get_running_loop(), None)
            if instance is not None and instance._bus is not None:
                instance._bus.disconnect()
        self.bus.close()
        if self._old is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self._old


# ------------------------------------------------------------------------------------ drops

#: How a strap drops: once; again right after the reconnect completed; again while the
#: reconnect is under way; forgotten by BlueZ and out of range for a moment.
DROP_MODES = ("single", "again_after_reconnect", "again_during_reconnect", "forgotten")


async def _drops(n: int, seed: int, result: PartResult) -> None:
    from sensors import BleStrapSource, VirtualClock
    from sensors.heart_rate_measurement import rr_ms_from_raw

    rng = random.Random(seed)
    try:
        bluez = _Bluez()
    except RuntimeError as exc:
        result.fail("drops_setup", str(exc))
        return
    try:
        fake = await bluez.start()
        clock = VirtualClock(start=1000.0)  # back-off waits cost no real time
        source = BleStrapSource(STRAP, clock=clock, scan_timeout_s=0.3, connect_timeout_s=5.0)
        received: dict[float, bool] = {}  # rr_ms -> gap_before
        order: list[float] = []
        sent: list[float] = []
        must_mark: dict[float, str] = {}  # rr of the first beat after a drop -> drop mode
        modes: dict[str, int] = dict.fromkeys(DROP_MODES, 0)
        raw = 600
        async with source as strap:

            async def consume() -> None:
                async for beat in strap:
                    received[beat.rr_ms] = beat.gap_before
                    order.append(beat.rr_ms)

            consumer = asyncio.create_task(consume())
            mode: str | None = None
            try:
                for i in range(n + 1):
                    try:
                        await fake.wait_notifying(STRAP, timeout_s=RECONNECT_LIMIT_S)
                    except TimeoutError:
                        result.fail(
                            "no_reconnect",
                            f"drop {i} ({mode}): not reconnected in {RECONNECT_LIMIT_S:g} s "
                            f"(source state {strap.status.state})",
                        )
                        break
                    for k in range(rng.randrange(1, 4)):
                        raw += 1
                        rr = rr_ms_from_raw(raw)
                        if k == 0 and mode is not None:
                            must_mark[rr] = mode
                        sent.append(rr)
                        fake.notify(STRAP, _packet(raw))
                    deadline = time.monotonic() + 5.0
                    while sent[-1] not in received and time.monotonic() < deadline:
                        if consumer.done():
                            break
                        await asyncio.sleep(0.005)
                    if consumer.done():
                        error = consumer.exception()
                        result.fail("no_reconnect", f"drop {i} ({mode}): source ended: {error!r}")
                        break
                    if i == n:
                        break
                    mode = DROP_MODES[rng.randrange(len(DROP_MODES))]
                    modes[mode] += 1
                    result.tried += 1
                    if mode == "forgotten":
                        fake.drop(STRAP, forget=True, away_s=0.2)
                    else:
                        fake.drop(STRAP)
                    if mode == "again_after_reconnect":
                        with contextlib.suppress(TimeoutError):
                            await fake.wait_notifying(STRAP, timeout_s=RECONNECT_LIMIT_S)
                        fake.drop(STRAP)
                    elif mode == "again_during_reconnect":
                        for _ in range(rng.randrange(0, 300)):  # up to ~0.3 s
                            if fake.strap(STRAP).connected:
                                break
                            await asyncio.sleep(0.001)
                        fake.drop(STRAP)
            finally:
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await consumer
        for rr, how in must_mark.items():
            if rr not in received:
                continue  # counted as lost below
            if not received[rr]:
                result.fail("gap_unmarked", f"first beat after a drop ({how}) has no gap mark")
        lost = [rr for rr in sent if rr not in received]
        result.lost += len(lost)
        if lost:
            result.fail("drops_lost", f"{len(lost)} of {len(sent)} beats sent while connected")
        result.notes.append("drops by kind: " + ", ".join(f"{k} {v}" for k, v in modes.items()))
    finally:
        await bluez.close()


def run_drops(n: int, *, seed: int = 13) -> PartResult:
    """``n`` drops of a strap streaming through ``sensors.BleStrapSource`` (real bleak)."""
    result = PartResult("drops")
    t0 = time.monotonic()
    try:
        asyncio.run(_drops(n, seed, result))
    except Exception as exc:
        result.fail("drops_setup", f"{type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - t0
    return result


# ------------------------------------------------------------------------------------ kill serve


async def _collect_live(url: str, published: dict[str, set[Any]], stop: asyncio.Event) -> None:
    import websockets

    async with websockets.connect(url, max_queue=None, open_timeout=30) as ws:
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            msg = json.loads(text)
            if msg.get("type") == "beat":
                published["beats"].add(int(msg["idx"]))
            elif msg.get("type") == "metrics":
                published["metrics"].add(round(float(msg["t_s"]), 6))


def _kill_serve_once(data_dir: Path, rng: random.Random, result: PartResult, k: int) -> None:
    server = ServeProcess(data_dir)
    published: dict[str, set[Any]] = {"beats": set(), "metrics": set()}
    try:
        r = httpx.post(
            f"{server.url}/api/v1/sessions",
            headers=server.auth,
            json={"source": {"kind": "simulator", "seed": k, "speed": 100}},
            timeout=30,
        )
        r.raise_for_status()
        sid = r.json()["id"]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"

        async def run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(_collect_live(url, published, stop))
            await asyncio.sleep(rng.uniform(2.0, 4.0))
            server.kill9()  # mid-stream: the client is still reading
            stop.set()
            with contextlib.suppress(Exception):
                await task

        asyncio.run(run())
    finally:
        server.kill9()
    result.tried += 1
    again = ServeProcess(data_dir)
    try:
        with httpx.Client(base_url=again.url, headers=again.auth, timeout=60) as client:
            beats = client.get(f"/api/v1/sessions/{sid}/beats")
            metrics = client.get(f"/api/v1/sessions/{sid}/metrics")
            if beats.status_code != 200 or metrics.status_code != 200:
                result.fail(
                    "serve_restart",
                    f"kill {k}: after the restart beats {beats.status_code}, "
                    f"metrics {metrics.status_code}",
                )
                return
            stored_beats = {int(b["idx"]) for b in beats.json()["beats"]}
            stored_metrics = {round(float(m["t_s"]), 6) for m in metrics.json()["metrics"]}
    finally:
        again.stop()
    lost_beats = published["beats"] - stored_beats
    lost_metrics = published["metrics"] - stored_metrics
    result.lost += len(lost_beats) + len(lost_metrics)
    result.notes.append(
        f"serve kill {k}: {len(published['beats'])} beats and {len(published['metrics'])} "
        f"windows published, lost {len(lost_beats)} and {len(lost_metrics)}"
    )
    if lost_beats or lost_metrics:
        result.fail(
            "serve_lost",
            f"kill {k}: {len(lost_beats)} of {len(published['beats'])} published beats "
            f"(idx {sorted(lost_beats)[:8]}) and {len(lost_metrics)} of "
            f"{len(published['metrics'])} windows missing after the restart",
        )


# ------------------------------------------------------------------------------------ kill record


async def _kill_record_once(work: Path, rng: random.Random, result: PartResult, k: int) -> None:
    from sensors import RecordingFormatError, read_recording
    from sensors.heart_rate_measurement import rr_ms_from_raw

    bluez = _Bluez()
    out = work / f"record-{k}.csv"
    proc: asyncio.subprocess.Process | None = None
    try:
        fake = await bluez.start()
        proc = await asyncio.create_subprocess_exec(
            *hrvpace_command(),
            "record",
            "--device",
            STRAP,
            "--out",
            str(out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=child_env(DBUS_SYSTEM_BUS_ADDRESS=bluez.bus.address),
            start_new_session=True,
        )
        try:
            await fake.wait_notifying(STRAP, timeout_s=60.0)
        except TimeoutError:
            result.fail("record_lost", f"record kill {k}: hrvpace record never subscribed")
            return
        sent: list[tuple[float, float]] = []  # (monotonic time, rr_ms)
        raw = 700 + 50 * k
        t_kill = time.monotonic() + rng.uniform(1.5, 3.0)
        while time.monotonic() < t_kill:
            raw += 1
            fake.notify(STRAP, _packet(raw))
            sent.append((time.monotonic(), rr_ms_from_raw(raw)))
            await asyncio.sleep(0.02)
        os.killpg(proc.pid, 9)  # mid-stream: notifications were still coming
        await proc.wait()
        t_kill = time.monotonic()
        result.tried += 1
        due = [rr for t, rr in sent if t <= t_kill - SETTLE_S]
        try:
            rec = read_recording(out)
            kept = set(rec.rr_ms.tolist())
        except (RecordingFormatError, OSError) as exc:
            if due:
                result.lost += len(due)
                result.fail("record_unreadable", f"record kill {k}: {exc}")
            return
        lost = [rr for rr in due if rr not in kept]
        result.lost += len(lost)
        result.notes.append(
            f"record kill {k}: {len(sent)} beats sent, {len(due)} due on disk, "
            f"{len(kept)} in the file, lost {len(lost)}"
        )
        if lost:
            result.fail(
                "record_lost",
                f"record kill {k}: {len(lost)} of {len(due)} beats sent >= {SETTLE_S} s before "
                "the kill are not in the file",
            )
    finally:
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            await proc.wait()
        await bluez.close()


def run_kills(n_serve: int, n_record: int, *, seed: int = 13) -> PartResult:
    """``kill -9`` of ``hrvpace serve`` and of ``hrvpace record``, mid-stream.

    ``n_serve`` and ``n_record`` times; lost = published/sent items missing afterwards.
    """
    result = PartResult("kill")
    rng = random.Random(seed)
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hrvpace-faults-kill-"))
    try:
        for k in range(n_serve):
            try:
                _kill_serve_once(work / "data", rng, result, k)
            except Exception as exc:
                result.fail("serve_restart", f"serve kill {k}: {type(exc).__name__}: {exc}")
        for k in range(n_record):
            try:
                asyncio.run(_kill_record_once(work, rng, result, k))
            except Exception as exc:
                result.fail("record_lost", f"record kill {k}: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.monotonic() - t0
    return result
