"""Ctrl+C on ``hrvpace serve`` while a live socket follows a session that sends nothing.

Review finding: the socket's handler waited for the session's next message and only then
looked whether its client had gone. A session that sends nothing for a while (the simulator at
speed 0.01, a strap scanning or reconnecting with the page open) held it there: on SIGINT
uvicorn closed the socket (1012) and waited for the handler forever, the lifespan shutdown
never ran, the process never exited and the session's row stayed ``running``. A real
``hrvpace serve`` process here, a real WebSocket client, the real database read afterwards.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.api.conftest import asgi_service
from tests.api.test_commands import _read_line
from tests.api.test_datadir_lock import _serve

#: Seconds the process may take to exit after SIGINT (it took forever before the fix).
EXIT_WITHIN_S = 10.0


@pytest.mark.slow  # a real `hrvpace serve`: ~3 s on a loaded machine
def test_ctrl_c_with_a_socket_on_a_quiet_session_exits_and_stores_stopped(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    proc = _serve(data)
    try:
        url = _read_line(proc, "hrvpace is serving at ").split()[-1].rstrip("/")
        token = _read_line(proc, "token: ").split()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        # at speed 0.01 a beat comes about every 80 s: nothing is sent after the welcome
        body = {"source": {"kind": "simulator", "speed": 0.01}}
        r = httpx.post(f"{url}/api/v1/sessions", json=body, headers=auth, timeout=10)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        ws_url = url.replace("http://", "ws://") + f"/api/v1/sessions/{sid}/live"
        protocols = [Subprotocol("hrvpace.v1"), Subprotocol(f"bearer.{token}")]
        with connect(ws_url, subprotocols=protocols) as ws:
            welcome = json.loads(ws.recv(timeout=10))
            assert welcome["type"] == "status" and welcome["state"] == "running", welcome
            proc.send_signal(signal.SIGINT)
            t0 = time.monotonic()
            with pytest.raises(ConnectionClosed):  # the server's 1012, whatever came before
                while True:
                    ws.recv(timeout=EXIT_WITHIN_S)
            try:
                proc.wait(timeout=EXIT_WITHIN_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"hrvpace serve still running {EXIT_WITHIN_S} s after SIGINT")
        assert time.monotonic() - t0 < EXIT_WITHIN_S
        with sqlite3.connect(data / "hrvpace.sqlite3") as db:
            state, ended_at = db.execute(
                "SELECT state, ended_at FROM sessions WHERE id = ?", (sid,)
            ).fetchone()
        assert (state, ended_at is not None) == ("stopped", True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            stream.close()


async def test_the_shutdown_closes_the_storage_off_the_event_loop(tmp_path: Path) -> None:
    """Code review: the lifespan's shutdown called ``storage.close()`` on the event loop; it
    waits for the writer thread, up to SQLite's 30-s busy wait and one more try while the
    database takes no writes, and the loop stood still meanwhile. It runs in a thread."""
    loop_thread = threading.current_thread()
    closed_in: list[threading.Thread] = []
    async with asgi_service(tmp_path / "data") as (app, _):
        storage = app.state.storage
        close = storage.close

        def recorded_close() -> None:
            closed_in.append(threading.current_thread())
            close()

        storage.close = recorded_close
    assert len(closed_in) == 1 and closed_in[0] is not loop_thread
    assert storage.closed
