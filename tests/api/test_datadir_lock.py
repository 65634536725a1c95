"""One server per data dir: the lock, and a second ``hrvpace serve`` in a real subprocess."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from api.commands.serve import WS_MAX_MESSAGE_BYTES as SERVE_WS_MAX
from api.datadir import DataDirLock
from api.errors import DataDirInUseError, DataDirUnusableError
from tests.api.conftest import REPO_ROOT
from tests.api.test_commands import _read_line


def test_the_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path / "d").acquire()
    assert (tmp_path / "d" / "hrvpace.lock").read_text().strip() == str(os.getpid())
    with pytest.raises(DataDirInUseError, match=rf"pid {os.getpid()}.*{tmp_path / 'd'}"):
        DataDirLock(tmp_path / "d").acquire()
    first.release()
    with DataDirLock(tmp_path / "d"):  # free again
        pass
    assert stat_mode(tmp_path / "d" / "hrvpace.lock") == 0o600


def test_a_file_system_without_locks_is_an_unusable_data_dir_not_one_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any error of ``flock`` said "another hrvpace server is already using the data dir";
    where locks do not work at all (ENOLCK, a file system without them) it is unusable, and
    says why (review of the owner locks, 2026-12)."""
    from api import datadir

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(datadir.fcntl, "flock", no_locks)
    with pytest.raises(DataDirUnusableError) as raised:
        DataDirLock(tmp_path / "d").acquire()
    assert str(raised.value) == f"cannot use the data dir {tmp_path / 'd'}: No locks available"


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _serve(data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRVPACE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


@pytest.mark.slow  # a real `hrvpace serve` and a session: ~5 s on a loaded machine
def test_serve_refuses_an_oversized_websocket_message(tmp_path: Path) -> None:
    """``hrvpace serve`` caps what a WebSocket client may send (64 KiB): close 1009."""
    proc = _serve(tmp_path / "data")
    try:
        url = _read_line(proc, "hrvpace is serving at ").split()[-1].rstrip("/")
        token = _read_line(proc, "token: ").split()[-1]
        _oversized_ws_message_is_refused(url, token)
        assert httpx.get(f"{url}/api/v1/health", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            stream.close()


def _oversized_ws_message_is_refused(url: str, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    body = {"source": {"kind": "simulator", "duration_s": 600}}
    sid = httpx.post(f"{url}/api/v1/sessions", json=body, headers=auth, timeout=10).json()["id"]
    ws_url = url.replace("http://", "ws://") + f"/api/v1/sessions/{sid}/live"
    with connect(
        ws_url, subprotocols=[Subprotocol("hrvpace.v1"), Subprotocol(f"bearer.{token}")]
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "status"
        ws.send("x" * (SERVE_WS_MAX + 1))
        with pytest.raises(ConnectionClosed) as info:
            while True:
                ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009


@pytest.mark.slow  # three real `hrvpace serve` processes: 4-6 s on a loaded machine
def test_a_second_serve_on_the_same_data_dir_refuses_until_the_first_is_killed(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = _serve(data)
    try:
        url = _read_line(first, "hrvpace is serving at ").split()[-1].rstrip("/")
        second = _serve(data)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1, (out, err)
        assert "another hrvpace server" in err and f"pid {first.pid}" in err, err
        assert str(data) in err and "--data-dir" in err
        assert "serving" not in out
        # the first one is unaffected
        assert httpx.get(f"{url}/api/v1/health", timeout=10).status_code == 200
    finally:
        first.send_signal(signal.SIGKILL)  # no clean exit: the kernel releases the lock
        first.wait(timeout=20)
        for stream in (first.stdout, first.stderr):
            assert stream is not None
            stream.close()
    third = _serve(data)
    try:
        _read_line(third, "hrvpace is serving at ")
    finally:
        third.send_signal(signal.SIGINT)
        third.wait(timeout=20)
        for stream in (third.stdout, third.stderr):
            assert stream is not None
            stream.close()
