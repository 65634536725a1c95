"""Stopping a session while clients follow it live (real uvicorn, real SQLite, real WebSocket).

Review finding: several ``POST /sessions/{id}/stop`` at once (a double click, the page and an
app both pressing Stop) cancelled the session's task again while it stored its final state; the
cancellation skipped the release of the messages waiting for their commit and the hub closed
without them, so the live socket closed normally after a ``beat`` and never got the final
``status`` (they were in storage: a reconnect with ``since_seq`` got them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from api.messages import parse_live_message
from tests.api.conftest import Server, scripted_factory

RR = [800.0 + 50.0 * ((i * 7) % 5) for i in range(60)]

#: Trials of the concurrent stops; the old code lost the end of the stream in about one in
#: six (the reviewer's count) with simultaneous stops, more often with these staggered ones.
TRIALS = 12
#: When each stop is sent after the first, s: spread over the ~0.1 s the final state's
#: commit takes, so that some arrive while the session stores it.
STOP_DELAYS_S = (0.0, 0.0, 0.01, 0.03, 0.06, 0.1)


def _stop_at_once(server: Server, sid: str) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    go = threading.Event()

    def stop(delay_s: float) -> None:
        with server.client() as c:
            go.wait()
            time.sleep(delay_s)
            answers.append(c.post(f"/api/v1/sessions/{sid}/stop"))

    threads = [threading.Thread(target=stop, args=(d,)) for d in STOP_DELAYS_S]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=30)
    return answers


def _one_trial(server: Server) -> tuple[list[Any], int | None, list[httpx.Response], str]:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 20}})
        assert r.status_code == 201, r.text
        sid = str(r.json()["id"])
    got: list[Any] = []
    code: int | None = None
    url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
    with connect(url, open_timeout=10) as ws:
        while sum(m.type == "beat" for m in got) < 3:
            got.append(parse_live_message(ws.recv(timeout=10)))
        answers: list[httpx.Response] = []
        stopper = threading.Thread(target=lambda: answers.extend(_stop_at_once(server, sid)))
        stopper.start()
        try:
            while True:
                got.append(parse_live_message(ws.recv(timeout=30)))
        except ConnectionClosedOK as closed:
            code = closed.rcvd.code if closed.rcvd else None
        stopper.join(timeout=30)
    return got, code, answers, sid


def test_concurrent_stops_never_cut_the_live_stream_short(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR, repeat=True))
    for trial in range(TRIALS):
        got, code, answers, sid = _one_trial(server)
        assert code == 1000, (trial, code)
        assert len(answers) == len(STOP_DELAYS_S)
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
        assert {a.json()["state"] for a in answers} == {"stopped"}, [a.text for a in answers]
        assert all(a.json()["ended_at"] is not None for a in answers)
        last = got[-1]
        assert last.type == "status" and last.state == "stopped", (trial, got[-3:])
        # the welcome messages repeat one seq; from there on every number came, once, in order
        seqs = [m.seq for m in got]
        assert seqs == sorted(seqs), trial
        assert sorted(set(seqs)) == list(range(seqs[0], seqs[-1] + 1)), (trial, seqs[-10:])
        with server.client() as c:
            row = c.get(f"/api/v1/sessions/{sid}").json()
        assert row["state"] == "stopped" and not row["live"]
        stored_beats = row["n_beats"]
        assert max(m.idx for m in got if m.type == "beat") + 1 == stored_beats, trial


def _consistent(body: dict[str, Any]) -> None:
    """README: ``ended_at`` null while running; ``live`` true while the session runs."""
    if body["state"] == "running":
        assert body["live"] and body["ended_at"] is None, body
    else:
        assert not body["live"] and body["ended_at"] is not None, body


def test_a_session_that_fails_at_once_is_answered_as_stored(
    serve: Callable[..., Server],
) -> None:
    """Review finding: a strap session without BlueZ was answered 201 ``failed`` with ``live``
    true and ``ended_at`` null (the pipeline had failed, its final state was being stored);
    the next GET said ``live`` false with ``ended_at``. Every answer is one or the other."""
    server = serve(source_factory=scripted_factory([], fail_with="no BlueZ here"))
    failed = 0
    with server.client() as c:
        for _ in range(15):
            r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator"}})
            assert r.status_code == 201, r.text
            body = r.json()
            _consistent(body)
            failed += body["state"] == "failed"
            listed = c.get("/api/v1/sessions").json()["sessions"]
            for s in listed:
                _consistent(s)
    assert failed, "no answer came after the failure: the test did not test it"


def test_a_strap_session_without_bluez_is_answered_as_stored(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The reviewer's case, with the real BLE source and no system bus to find BlueZ on."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    server = serve()
    with server.client() as c:
        for _ in range(5):
            r = c.post(
                "/api/v1/sessions",
                json={"source": {"kind": "ble", "address": "AA:BB:CC:DD:EE:FF"}},
            )
            assert r.status_code == 201, r.text
            _consistent(r.json())
