"""``hrvpace record``: what it says of its output file, before and while it records.

Real: the command in a subprocess, bleak, dbus-daemon and the file system; emulated: the strap
(tests/sensors/fake_bluez.py). A full disk is a file-size limit (``RLIMIT_FSIZE``) in the child.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from sensors import read_recording
from tests.api.conftest import REPO_ROOT
from tests.sensors.fake_bluez import FakeBluez
from tests.sensors.test_ble import (  # noqa: F401 - fixtures
    bluez,
    packet,
    polar_h10,
    private_bus,
    system_bus,
)

pytestmark = [pytest.mark.ble, pytest.mark.timeout(90)]

H10 = "A0:9E:1A:00:00:01"  # polar_h10()'s address


#: ``python -m api`` with a file size limit (EFBIG on a write past it, as a full disk), given
#: back at exit before coverage saves the child's data (CI measures child processes: a limit
#: set by ``preexec_fn`` cut coverage's file at 1,000 or 4,000 bytes, "malformed" in CI's log).
#: ``atexit`` runs the last registered first, and coverage registered at start-up.
_LIMITED = """
import atexit, resource, runpy, signal, sys
n_bytes = int(sys.argv.pop(1))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, no signal
limit = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, limit[1]))
atexit.register(resource.setrlimit, resource.RLIMIT_FSIZE, limit)
runpy.run_module("api", run_name="__main__", alter_sys=True)
"""


def hrvpace_on_a_full_disk(n_bytes: int) -> tuple[str, ...]:
    """The command ``python -m api`` whose files stop growing at ``n_bytes``."""
    return (sys.executable, "-c", _LIMITED, str(n_bytes))


async def test_a_full_disk_names_the_file_and_the_beats_it_keeps(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Review: a full disk said only "cannot write: [Errno 28] No space left on device",
    # neither which file nor what it kept.
    bluez.add_strap(polar_h10())
    out = tmp_path / "full.csv"
    args = ("record", "--device", H10, "--out", str(out))
    proc = await asyncio.create_subprocess_exec(
        *hrvpace_on_a_full_disk(1000),  # the header and a few beats
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        await bluez.wait_notifying(H10, timeout_s=20.0)
        for _ in range(100):  # ~50 bytes a beat: the limit is reached long before
            if proc.returncode is not None or not bluez.strap(H10).notifying:
                break
            bluez.notify(H10, packet(1024, hr=60))
            await asyncio.sleep(0.05)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 20.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err  # nor coverage's at exit (CI): the limit is given back first
    rec = read_recording(out)  # every whole line is there; a line cut by the limit is dropped
    n = len(rec.rr_ms)
    assert 0 < n < 100
    said = f"hrvpace record: cannot write {out}: File too large; {out} keeps the {n} complete "
    assert said in err, err
    assert stdout.decode() == ""


async def _record(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "api", "record", "--device", H10, *args),
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
    assert proc.returncode is not None
    return proc.returncode, stderr.decode()


async def test_an_out_that_cannot_be_written_is_refused_before_connecting(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Review: --out was checked only once the strap was found and connected (a folder there
    # said "exists (use --overwrite)", and with --overwrite failed after connecting).
    bluez.add_strap(polar_h10())
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        ((str(folder),), f"cannot write {folder}: it is a folder"),
        ((str(folder), "--overwrite"), f"cannot write {folder}: it is a folder"),
        ((str(a_file / "r.csv"),), f"cannot write {a_file / 'r.csv'}: {a_file} is a file, not a"),
        (
            (str(tmp_path / "missing" / "r.csv"),),
            f"the folder {tmp_path / 'missing'} does not exist",
        ),
        # a name too long: a traceback (is_dir raised ENAMETOOLONG)
        ((str(tmp_path / ("r" * 300 + ".csv")),), "File name too long"),
        ((str(tmp_path / ("f" * 300) / "r.csv"),), "File name too long"),
    ]
    if os.geteuid() != 0:  # root writes there anyway
        read_only = tmp_path / "read-only"
        read_only.mkdir(mode=0o500)
        cases.append(((str(read_only / "r.csv"),), "no permission to write there"))
    for (out, *more), said in cases:
        code, err = await _record("--out", out, *more)
        assert code == 1, err
        assert "hrvpace record: cannot write " in err and said in err, err
        assert "[connecting]" not in err  # refused before looking for the strap
    assert bluez.strap(H10).connect_calls == 0


async def test_a_link_to_no_file_is_an_existing_out(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Review: --out a link to a missing file passed the check (exists() follows the link) and
    # failed after connecting ("File exists"); with --overwrite it was written where the link
    # points unchecked. Now the link is an OUT there (refused without --overwrite) and, with
    # it, where it points is checked before connecting, then written (the link stays a link).
    bluez.add_strap(polar_h10())
    link = tmp_path / "r.csv"
    link.symlink_to(tmp_path / "missing.csv")
    code, err = await _record("--out", str(link))
    assert code == 1, err
    said = f"hrvpace record: {link} (a link to {tmp_path / 'missing.csv'}, not there) exists"
    assert said in err, err
    nowhere = tmp_path / "nowhere.csv"
    nowhere.symlink_to(tmp_path / "no-folder" / "r.csv")
    code, err = await _record("--out", str(nowhere), "--overwrite")
    assert code == 1, err
    said = (
        f"hrvpace record: cannot write {nowhere} (a link to {tmp_path / 'no-folder' / 'r.csv'}):"
        f" the folder {tmp_path / 'no-folder'} does not exist"
    )
    assert said in err, err
    assert bluez.strap(H10).connect_calls == 0  # both refused before looking for the strap
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "api", "record", "--device", H10, "--out", str(link)),
        "--overwrite",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        await bluez.wait_notifying(H10, timeout_s=20.0)
        for _ in range(5):
            bluez.notify(H10, packet(1024, hr=60))
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130, stderr.decode()
    assert link.is_symlink()
    assert len(read_recording(tmp_path / "missing.csv").rr_ms) > 0


async def test_one_beat_is_said_as_one(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Review: "1 beats written".
    bluez.add_strap(polar_h10())
    out = tmp_path / "one.csv"
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "api", "record", "--device", H10, "--out", str(out)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        await bluez.wait_notifying(H10, timeout_s=20.0)
        bluez.notify(H10, packet(1024, hr=60))
        for _ in range(400):  # until the beat is in the file (each line is flushed)
            if out.exists() and out.read_text().endswith("\n") and read_recording(out).rr_ms.size:
                break
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 20.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130, stderr.decode()
    assert len(read_recording(out).rr_ms) == 1
    assert stdout.decode() == f"1 beat written to {out}\n"


@pytest.mark.parametrize("minutes", ["0", "-1", "nan"])
async def test_minutes_must_be_above_zero(
    bluez: FakeBluez,  # noqa: F811
    tmp_path: Path,
    minutes: str,
) -> None:
    # Review: --minutes 0 connected and wrote a recording without beats, exit 0.
    bluez.add_strap(polar_h10())
    out = tmp_path / "r.csv"
    code, err = await _record("--out", str(out), "--minutes", minutes)
    assert code == 2, err
    assert "must be a number of minutes > 0" in err
    assert not out.exists() and bluez.strap(H10).connect_calls == 0


def test_an_earlier_recordings_ecg_break_file_is_refused_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Strap review (item 4): a stale OUT.ecg-2.csv was found only at the recording's first ECG
    # break, after connecting (the recording then failed). Refused before looking for a strap:
    # no Bluetooth at all here, in-process
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    out = tmp_path / "h10.csv"
    stale = tmp_path / "h10.ecg-2.csv"
    stale.write_text("ecg_uV\n1\n")
    args = ["record", "--device", H10, "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--stream", "ecg"])
    assert result.exit_code == 1, result.output
    # rev10 nit: --overwrite removes such a file, and the line says so
    assert (
        f"hrvpace record: {stale} exists, an earlier recording's ECG after a break (use "
        "--overwrite to remove it)"
    ) in result.stderr
    assert "[connecting]" not in result.stderr and not out.exists()
    # rev10 finding 5: a link is removed as a link, never written through: where it points (a
    # folder no longer there, a folder) does not keep --overwrite from going on (it connects)
    stale.unlink()
    for points_to in (tmp_path / "usb-gone" / "old" / "h10.ecg-2.csv", tmp_path):
        stale.symlink_to(points_to)
        result = CliRunner().invoke(
            app, [*args, "--stream", "ecg", "--overwrite", "--scan-timeout", "0.1"]
        )
        assert "cannot" not in result.stderr.split("[connecting]")[0], result.stderr
        assert "[connecting]" in result.stderr
        stale.unlink()
    # a folder there is refused before connecting as OUT is, --overwrite or not
    stale.mkdir()
    result = CliRunner().invoke(app, [*args, "--stream", "ecg", "--overwrite"])
    assert result.exit_code == 1, result.output
    assert f"hrvpace record: cannot remove {stale}: it is a folder" in result.stderr
    assert "[connecting]" not in result.stderr
    # rev11 finding 3: OUT.ecg.csv a link to OUT.ecg-2.csv is refused before connecting, with
    # --overwrite or not (the ECG would go into a file that is removed or replaced)
    stale.rmdir()
    stale.write_text("ecg_uV\n1\n")
    (tmp_path / "h10.ecg.csv").symlink_to(stale)
    for extra in ([], ["--overwrite"]):
        result = CliRunner().invoke(app, [*args, "--stream", "ecg", *extra])
        assert result.exit_code == 1, result.output
        assert (
            f"hrvpace record: cannot write {tmp_path / 'h10.ecg.csv'}: it is a link to "
            f"{os.path.realpath(stale)}"
        ) in result.stderr
        assert "[connecting]" not in result.stderr
    assert stale.read_text() == "ecg_uV\n1\n"
    (tmp_path / "h10.ecg.csv").unlink()
    stale.unlink()
    # without an ECG stream the file is no part of the recording
    result = CliRunner().invoke(app, [*args, "--minutes", "0.01", "--scan-timeout", "0.1"])
    assert "exists" not in result.stderr and "[connecting]" in result.stderr


async def test_the_silence_note_is_timed_on_a_monotonic_clock(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # rev10 finding 7: silence was measured on the wall clock: a step forward (NTP just after
    # boot) printed "no data for 3601 s" though data never stopped. Unit level: the strap
    # connected and sent data, then the wall clock steps an hour forward; checked every 0.5 s,
    # 0.7 s without a line.
    import time

    from api.commands import record
    from sensors import SourceState, SourceStatus

    class Strap:
        status = SourceStatus(SourceState.STREAMING, device_name="Polar H10 1A")
        last_data_at = time.time()
        last_data_monotonic = time.monotonic()

    watch = record.SilenceWatch(silent_after_s=2.0)
    watch.on_status("streaming", time.monotonic())
    wall = time.time
    monkeypatch.setattr(time, "time", lambda: wall() + 3600.0)
    task = asyncio.ensure_future(record._watch_silence(Strap(), {"hr": watch}))  # type: ignore[arg-type]
    await asyncio.sleep(0.7)
    assert not task.done()
    task.cancel()
    assert "no data" not in capsys.readouterr().err
