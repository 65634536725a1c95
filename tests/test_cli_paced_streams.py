"""``hrvpace assess`` / ``hrvpace practice --device D --stream hr|ppi|ecg``, for real.

Real: the commands, the service's session assembly, bleak, dbus-daemon, dbus-fast, the PMD
control-point writes and indications, the data notifications, the live R-peak detector
(NeuroKit2, the ``ecg`` extra). Emulated: the device (tests/sensors/fake_bluez.py).

The ECG is MIT-BIH record 121's first minutes (tests/data/mitdb121x, provenance in its README)
resampled to 130 Hz as an H10 sends it, in frames stamped by the strap's sample clock and sent
faster than real time: the beats are timed by the frames' timestamps, so the assessment from
the ECG is checked against the same engine given the cardiologists' reference beats.

PPI frames carry no sample times: the source back-dates each frame's pulses from its arrival
and never lets a frame start before the previous beat. Frames sent faster than real time (as
here) therefore lose about one interval of session time each, so the PPI runs check that the
optical sensor's pulses drive the whole assessment and practice, not the science of the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from api.cli import app
from breathing import AssessmentProtocol, PacingEngine, PacingMode
from sensors.pmd import encode_frame, encode_start_request
from tests.api.conftest import REPO_ROOT
from tests.sensors.fake_bluez import FakeBluez, FakeStrap
from tests.sensors.test_ble import (  # noqa: F401 - fixtures of the emulated BlueZ
    WATCH,
    bluez,
    keep_sending,
    packet,
    private_bus,
    run_cli,
    system_bus,
)
from tests.sensors.test_ble_pmd import ECG_SETTINGS, SENSE, ppi_frame, pulse, verity_sense
from tests.sensors.test_mitdb_detection import DATA, reference
from tests.test_cli_signals import said

H10 = "A0:9E:1A:00:00:31"
FS = 130
#: The assessment with the shortest step the command allows (30 s per rate, 7.5 s settling).
STEP_S = "30"
SCREENING_30 = AssessmentProtocol(step_s=30.0, settle_s=30.0 / 4)

runner = CliRunner()


@cache
def ecg_121() -> tuple[np.ndarray, np.ndarray]:
    """MIT-BIH 121's first 300 s at 130 Hz in microvolts, and its reference beat times (s)."""
    import warnings

    from scipy.signal import resample_poly

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wfdb's own pandas deprecations
        import wfdb

        mv = np.asarray(wfdb.rdrecord(str(DATA / "mitdb121x")).p_signal[:, 0], dtype=float)
    times, labels = reference("121")
    assert set(labels) == {"N"}  # every reference beat of these 300 s is a normal beat
    return np.round(resample_poly(mv, 13, 36) * 1000).astype(int), times


class EcgTakenIn:
    """The ECG frames the command's source has processed so far.

    The command runs in a worker thread of this process (:func:`run_cli`), so counting the
    frames its :class:`~sensors.ble_pmd.BleEcgSource` takes in lets the feeder stay a bounded
    stretch ahead of it: however slow the command on a loaded machine (it imports NeuroKit2 at
    its first detection, seconds under load, while frames pile up), it ends its assessment
    before the feeder runs out of ECG, as it would with a strap sending in real time.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from sensors.ble_pmd import BleEcgSource

        self.frames = 0
        self._more = asyncio.Event()
        self._wanted: tuple[asyncio.AbstractEventLoop, int] | None = None
        beats_of_packet = BleEcgSource._beats_of_packet

        def counted(source: BleEcgSource, item: Any) -> Any:
            try:
                return beats_of_packet(source, item)
            finally:
                if item.channel == "pmd":
                    self.frames += 1
                    wanted = self._wanted
                    if wanted is not None and self.frames >= wanted[1]:
                        self._wanted = None
                        with contextlib.suppress(RuntimeError):  # the test's loop has closed
                            wanted[0].call_soon_threadsafe(self._more.set)

        monkeypatch.setattr(BleEcgSource, "_beats_of_packet", counted)

    async def at_least(self, frames: int, *, unless: Callable[[], bool]) -> None:
        """Wait until ``frames`` frames were processed, or ``unless()``; 30 s at most."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(30.0):  # the command stopped taking in ECG: fail, not hang
            while self.frames < frames and not unless():
                self._more.clear()
                self._wanted = (loop, frames)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._more.wait(), 0.05)
        self._wanted = None


@pytest.fixture
def ecg_taken_in(monkeypatch: pytest.MonkeyPatch) -> EcgTakenIn:
    return EcgTakenIn(monkeypatch)


#: How many ECG frames (0.56 s each, 18 s in all) the feeder may be ahead of the command.
ECG_FRAMES_AHEAD = 32


async def send_ecg_until_done(
    bluez: FakeBluez,  # noqa: F811
    running: asyncio.Future[Any],
    taken_in: EcgTakenIn,
) -> float:
    """ECG in 73-sample frames (an H10's), stamped by the strap's clock, until the command ends.

    Faster than real time, but at most :data:`ECG_FRAMES_AHEAD` + 1 frames ahead of what the
    command has processed (``taken_in``; then it waits until the command is half that behind).
    Returns the seconds of ECG sent. Call :func:`ecg_121` before the command starts: loading
    the record (wfdb, resampling; seconds on a loaded machine) blocks this event loop, which is
    the emulated strap, so the strap would not answer the start request within the command's
    5 s.
    """
    assert ecg_121.cache_info().currsize, "load ecg_121() before the command starts"
    ecg_uv, _ = ecg_121()
    strap = bluez.strap(H10)
    device_t0_ns = 599_616_023_000_000_000

    def command_done() -> bool:
        return running.done() or "ecg" not in strap.pmd_streaming

    sent = frames = 0
    for start in range(0, ecg_uv.size, 73):
        if command_done():
            break
        frame = ecg_uv[start : start + 73]
        t_end = (start + frame.size - 1) / FS
        stamp = device_t0_ns + round(t_end * 1e9)
        bluez.notify_pmd(H10, encode_frame("ecg", [int(v) for v in frame], timestamp_ns=stamp))
        sent, frames = start + frame.size, frames + 1
        await asyncio.sleep(0.004)
        if frames - taken_in.frames > ECG_FRAMES_AHEAD:  # let the command catch up by half
            await taken_in.at_least(frames - ECG_FRAMES_AHEAD // 2, unless=command_done)
    return sent / FS


def ppi_ms(n: int) -> list[int]:
    """``n`` pulse-to-pulse intervals (ms): about 66 beats/min with a 10-s oscillation."""
    t = np.cumsum(np.full(n, 0.9))
    return [round(v) for v in 900 + 60 * np.sin(2 * np.pi * t / 10.0)]


async def send_ppi_until_done(bluez: FakeBluez, running: asyncio.Future[Any]) -> int:  # noqa: F811
    """PPI frames of 20 pulses (about 18 s each) until the command ends; the pulses sent."""
    strap = bluez.strap(SENSE)
    pulses = ppi_ms(20 * 40)
    sent = 0
    for k in range(0, len(pulses), 20):
        if running.done() or "ppi" not in strap.pmd_streaming:
            break
        bluez.notify_pmd(SENSE, ppi_frame(*(pulse(v, hr=66) for v in pulses[k : k + 20])))
        sent += 20
        await asyncio.sleep(0.05)
    return sent


def reference_assessment() -> list[Any]:
    """The engine alone, given record 121's reference beats: the oracle of the ECG run.

    The beats are put on the 130-Hz sample grid the strap's ECG has (an R peak can only be
    found at a sample).
    """
    _, times = ecg_121()
    times = np.round(times * FS) / FS
    engine = PacingEngine(mode=PacingMode.ASSESSMENT, protocol=SCREENING_30)
    for t, rr in zip(times[1:], np.diff(times) * 1000.0, strict=True):
        engine.on_beat(float(t), float(rr))
        if engine.assessment_result is not None:
            return list(engine.assessment_result.rates)
    raise AssertionError("300 s of reference beats did not finish the assessment")


# -- usage -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmd", "options", "named"),
    [
        ("assess", ["--resonance-bpm", "5"], "'--resonance-bpm': is for --simulate only"),
        ("assess", ["--seed", "3", "--screening"], "'--seed': is for --simulate only"),
        ("practice", ["--speed", "max"], "'--speed': is for --simulate only"),
        (
            "practice",
            ["--breathing-lag-s", "1", "--seed", "2"],
            "'--seed', '--breathing-lag-s': are for --simulate only",
        ),
    ],
)
async def test_the_simulated_persons_options_are_refused_with_a_device(
    bluez: FakeBluez,  # noqa: F811
    cmd: str,
    options: list[str],
    named: str,
) -> None:
    """--resonance-bpm, --seed, --speed and --breathing-lag-s set the simulated person: with
    --device they were ignored in silence (a device at --speed max ran in real time); now a
    usage error naming them, before the device is looked for, as --stream with --simulate is.
    The real command in a subprocess, a real strap on the emulated BlueZ."""
    bluez.add_strap(FakeStrap(WATCH, name="Watch"))
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "api", cmd, "--device", WATCH, *options),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), 30.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 2, stderr.decode()
    assert named in said(stderr.decode())
    assert bluez.strap(WATCH).connect_calls == 0


def test_stream_is_for_a_device_and_one_of_hr_ppi_ecg() -> None:
    for cmd in ("assess", "practice"):
        simulated = runner.invoke(app, [cmd, "--simulate", "--stream", "ppi"])
        assert simulated.exit_code == 2
        assert "'--stream': is for --device only" in said(simulated.output)
        bad = runner.invoke(app, [cmd, "--device", SENSE, "--stream", "ppg"])
        assert bad.exit_code == 2 and "'ppg' is not one of hr, ppi, ecg" in said(bad.output)
        shown = said(runner.invoke(app, [cmd, "--help"]).output)
        assert "--stream [hr|ppi|ecg] With --device, where the beats come from (default hr)" in (
            shown
        )
        assert "'ppi' the Polar Measurement Data pulse-to-pulse intervals" in shown


# -- ECG and PPI through Polar Measurement Data ----------------------------------------------------


@pytest.mark.ble
@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_assess_from_an_h10_ecg_matches_the_engine_on_the_reference_beats(
    bluez: FakeBluez,  # noqa: F811
    ecg_taken_in: EcgTakenIn,
) -> None:
    strap = bluez.add_strap(FakeStrap(H10, name="Polar H10 5E2A7C01", pmd=ECG_SETTINGS))
    ecg_121()  # before the command starts (see send_ecg_until_done)
    running = asyncio.ensure_future(
        run_cli(
            *("assess", "--device", H10, "--stream", "ecg", "--step-s", STEP_S),
            "--json",
        )
    )
    await bluez.wait_pmd_streaming(H10, "ecg", timeout_s=15.0)
    assert strap.pmd_requests[0] == encode_start_request(
        "ecg", {k: v[0] for k, v in ECG_SETTINGS["ecg"].items()}
    )
    seconds = await send_ecg_until_done(bluez, running, ecg_taken_in)
    result = await asyncio.wait_for(running, 60.0)
    assert result.exit_code == 0, result.stderr
    assert seconds < 300.0  # the assessment ended before the ECG did
    data = json.loads(result.stdout)
    assert data["device"] == H10 and data["stream"] == "ecg"
    assert data["protocol"]["step_s"] == 30.0
    got, oracle = data["rates"], reference_assessment()
    assert [r["rate_bpm"] for r in got] == [r.rate_bpm for r in oracle] == [6.5, 6, 5.5, 5, 4.5]
    same_breaths = 0
    for mine, truth in zip(got, oracle, strict=True):
        # the R peaks detected live are the reference beats: each step has their beats
        assert abs(mine["n_beats"] - truth.n_beats) <= 1, (mine, truth)
        assert mine["quality"] == truth.quality == 1.0
        if mine["n_cycles"] != truth.n_cycles:
            continue
        # and, over the same whole breaths, the heart rate's swing and its phase
        same_breaths += 1
        assert mine["peak_to_trough_bpm"] == pytest.approx(truth.peak_to_trough_bpm, abs=0.15)
        assert abs((mine["phase_deg"] - truth.phase_deg + 180) % 360 - 180) <= 15.0
    # A 30-s step at 5 or 4.5 breaths/min holds two whole breaths or one depending on a beat
    # within one sample (7.7 ms) of the step's edge: measured, moving the reference beats by
    # one 130-Hz sample flips step 4 or 5 from two whole breaths to one (and its phase by
    # ~200 deg). The rates 6.5-5.5 hold three or two breaths either way.
    assert same_breaths >= 3, (got, oracle)
    assert strap.pmd_streaming == set() and not strap.connected  # stopped and let go


@pytest.mark.ble
@pytest.mark.timeout(90)
async def test_assess_from_an_optical_sensors_ppi_runs_every_step(
    bluez: FakeBluez,  # noqa: F811
) -> None:
    strap = bluez.add_strap(verity_sense())
    running = asyncio.ensure_future(
        run_cli(
            *("assess", "--device", SENSE, "--stream", "ppi", "--step-s", STEP_S),
            "--json",
        )
    )
    await bluez.wait_pmd_streaming(SENSE, "ppi", timeout_s=15.0)
    assert strap.pmd_requests[0] == encode_start_request("ppi")
    sent = await send_ppi_until_done(bluez, running)
    result = await asyncio.wait_for(running, 30.0)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["device"] == SENSE and data["stream"] == "ppi"
    assert [r["rate_bpm"] for r in data["rates"]] == [6.5, 6, 5.5, 5, 4.5]
    # every step analysed the sensor's pulses: at 66/min at least 20 s of them per window
    assert all(r["n_beats"] >= 20 and r["quality"] == 1.0 for r in data["rates"]), data["rates"]
    assert sum(r["n_beats"] for r in data["rates"]) < sent
    assert strap.pmd_streaming == set() and not strap.connected


@pytest.mark.ble
@pytest.mark.timeout(60)
async def test_practice_from_ppi_and_from_ecg(
    bluez: FakeBluez,  # noqa: F811
    ecg_taken_in: EcgTakenIn,
) -> None:
    sense = bluez.add_strap(verity_sense())
    h10 = bluez.add_strap(FakeStrap(H10, name="Polar H10 5E2A7C01", pmd=ECG_SETTINGS))
    ecg_121()  # before the command starts (see send_ecg_until_done)
    for address, stream, send in (
        (SENSE, "ppi", send_ppi_until_done),
        (H10, "ecg", partial(send_ecg_until_done, taken_in=ecg_taken_in)),
    ):
        running = asyncio.ensure_future(
            run_cli(
                *("practice", "--device", address, "--stream", stream, "--minutes", "0.5"),
                "--json",
            )
        )
        await bluez.wait_pmd_streaming(address, stream, timeout_s=15.0)
        await send(bluez, running)
        result = await asyncio.wait_for(running, 30.0)
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["device"] == address and data["stream"] == stream
        # adaptive pacing decided breath after breath from the device's beats (6/min: a
        # breath every 10 s, decided 1.5 s after it)
        assert data["mode"] == "adaptive" and data["breaths"] >= 2, data
        assert all(0 < p["t_s"] <= 30.0 for p in data["trace"][1:])
    assert not sense.connected and not h10.connected


def test_practice_from_ecg_without_neurokit2_says_so_before_connecting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review finding: without NeuroKit2, practice --stream ecg connected to the strap and
    streamed ECG for seconds before failing; the missing extra is said when the source is
    built, before anything connects (exit 2, what to install), as the other commands say
    theirs. The service's sessions get the same refusal (501 source_unavailable)."""
    from api.commands._paced import live_source
    from api.pipeline import BleSpec, SourceControl, SourceUnavailableError, make_source

    monkeypatch.setitem(sys.modules, "neurokit2", None)  # import neurokit2 -> ImportError
    with pytest.raises(typer.Exit) as exited:
        live_source(H10, "ecg")
    assert exited.value.exit_code == 2
    said = capsys.readouterr().err
    assert "needs NeuroKit2" in said and "pip install -e '.[ecg]'" in said
    spec = BleSpec.model_validate({"kind": "ble", "address": H10, "stream": "ecg"})
    with pytest.raises(SourceUnavailableError, match="needs NeuroKit2"):
        make_source(spec, SourceControl())
    # the other streams do not need it
    assert live_source(H10, "ppi") is not None


def test_a_live_ecg_source_is_built_without_importing_neurokit2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NeuroKit2 is found when an ECG source is built, not imported: the import (~1.6 s of
    CPU) held the service's event loop when a session asked for a strap's ECG, also for a
    strap that never streamed (most of the schemathesis run's POST /sessions CPU). The live
    detector imports it at its first ECG block (``test_practice_from_ppi_and_from_ecg``)."""
    from api.pipeline import BleSpec, SourceControl, make_source

    monkeypatch.delitem(sys.modules, "neurokit2", raising=False)  # put back afterwards
    spec = BleSpec.model_validate({"kind": "ble", "address": H10, "stream": "ecg"})
    assert make_source(spec, SourceControl()) is not None
    assert "neurokit2" not in sys.modules


# -- a device that sends bpm only ------------------------------------------------------------------


@pytest.mark.ble
@pytest.mark.timeout(60)
async def test_a_device_sending_bpm_only_is_refused_with_the_reason_and_what_would_do(
    bluez: FakeBluez,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.commands import _bpm_only

    monkeypatch.setattr(_bpm_only, "_BPM_ONLY_AFTER_S", 1.0)  # 10 s in use: the same judgement
    # a Verity Sense in its plain heart-rate mode: bpm without RR on 0x2A37, PPI through PMD
    sense = bluez.add_strap(verity_sense())
    # a watch broadcasting heart rate: bpm without RR, no PMD service
    watch = bluez.add_strap(FakeStrap(WATCH, name="Forerunner 255"))
    feeders = [
        asyncio.ensure_future(keep_sending(bluez, SENSE, packet(hr=71, contact=True))),
        asyncio.ensure_future(keep_sending(bluez, WATCH, packet(hr=64, contact=None))),
    ]
    try:
        optical = await run_cli("assess", "--device", SENSE, "--screening", "--json")
        broadcast = await run_cli("practice", "--device", WATCH, "--minutes", "1")
        ppi_from_watch = await run_cli("practice", "--device", WATCH, "--stream", "ppi")
    finally:
        for feeder in feeders:
            feeder.cancel()
    assert optical.exit_code == 1 and optical.stdout == ""
    assert (
        "Polar Sense B5F1A12C sends heart rate only (71 bpm), no RR intervals: cannot assess "
        "the resonance from bpm" in optical.stderr
    )
    assert "never derived from bpm values" in optical.stderr
    assert optical.stderr.rstrip().endswith(
        "It offers pulse-to-pulse intervals (PPI) through Polar Measurement Data: use --stream ppi."
    )
    assert sense.pmd_requests == []  # the probe only read what the sensor offers
    assert broadcast.exit_code == 1 and broadcast.stdout == ""
    assert "Forerunner 255 sends heart rate only (64 bpm)" in broadcast.stderr
    assert "cannot pace the practice from bpm" in broadcast.stderr
    assert "no PPI or ECG through Polar Measurement Data either" in broadcast.stderr
    assert "--stream ppi" not in broadcast.stderr
    # asked for PPI anyway, the watch has none: the source's reason
    assert ppi_from_watch.exit_code == 1
    assert "has no Polar Measurement Data service" in ppi_from_watch.stderr
    assert not sense.connected and not watch.connected


@pytest.mark.ble
@pytest.mark.timeout(60)
async def test_a_device_failing_says_why_once_without_the_pipelines_log_line(
    bluez: FakeBluez,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Review: `assess --device` printed "WARNING api.pipeline.loop: session ...: source failed
    # (AdapterOffError)" before its message (a CLI user has no session), and a stream the device
    # does not offer was "refused to start ECG: not supported" where `record --stream` says
    # "does not offer ecg (it offers: ppg, ppi)".
    bluez.add_strap(verity_sense())
    caplog.set_level(logging.WARNING)
    no_ecg = await run_cli("assess", "--device", SENSE, "--stream", "ecg", "--screening")
    assert no_ecg.exit_code == 1 and no_ecg.stdout == ""
    assert "hrvpace: Polar Sense B5F1A12C does not offer ecg (it offers: ppg, ppi)" in (
        no_ecg.stderr
    )
    bluez.set_powered(False)
    off = await run_cli("practice", "--device", SENSE, "--minutes", "1")
    assert off.exit_code == 1 and "Bluetooth is turned off" in off.stderr
    assert [r for r in caplog.records if r.name == "api.pipeline.loop"] == []
    # the filter is the commands' own: a server in this process still logs a failed source
    assert logging.getLogger("api.pipeline.loop").filters == []
