"""Sessions through a real uvicorn: streaming over the WebSocket, storage, export, failures.

The source here is :class:`tests.api.conftest.ScriptedSource` (a real BeatSource playing a fixed
RR list) so that counts, failures and unusable values are exact.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.sync.client import connect

from api.messages import parse_live_message
from api.pipeline import analyser_settings
from api.research.export import export_session
from api.settings import load_settings
from tests.api.conftest import Server, scripted_factory, wait_for

RR = [800.0 + 50.0 * ((i * 7) % 5) for i in range(400)]


def _session(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out


def _wait_done(server: Server, session_id: str, timeout_s: float = 20) -> dict[str, Any]:
    with server.client() as c:

        def done() -> dict[str, Any] | None:
            s = c.get(f"/api/v1/sessions/{session_id}").json()
            return s if not s["live"] else None

        final: dict[str, Any] = wait_for(done, timeout_s=timeout_s, what="session end")
        return final


def _after_welcome(messages: list[Any]) -> list[Any]:
    """The live messages after the welcome: the status, then the last signal once one was
    made (both repeat the latest seq, a summary, not new messages)."""
    first = messages[0]
    assert first.type == "status"
    n = (
        2
        if len(messages) > 1 and messages[1].type == "signal" and messages[1].seq == first.seq
        else 1
    )
    return messages[n:]


def test_session_streams_beats_over_the_websocket(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR[:40]))
    s = _session(server, {"source": {"kind": "simulator", "speed": 20}})
    assert s["state"] == "running" and s["live"]
    url = f"{server.ws_url}/api/v1/sessions/{s['id']}/live?token={server.token}"
    messages = []
    t0 = time.monotonic()
    with connect(url, open_timeout=10) as ws:
        for text in ws:
            messages.append(parse_live_message(text))
    assert time.monotonic() - t0 < 15
    assert messages[0].type == "status"
    beats = [m for m in messages if m.type == "beat"]
    assert beats, "no beat arrived"
    assert [b.rr_ms for b in beats] == RR[len(RR[:40]) - len(beats) : 40]
    seqs = [m.seq for m in _after_welcome(messages)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq must have no gap"
    assert messages[-1].type == "status" and messages[-1].state == "ended"
    assert all(m.session_id == s["id"] for m in messages)
    final = _wait_done(server, s["id"])
    assert final["state"] == "ended" and final["n_beats"] == 40


def test_stored_beats_and_csv_export_equal_the_source(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR))
    s = _session(server, {"source": {"kind": "simulator", "speed": "max"}})
    final = _wait_done(server, s["id"])
    assert final["state"] == "ended", final
    assert final["n_beats"] == len(RR)
    with server.client() as c:
        data = c.get(f"/api/v1/sessions/{s['id']}/beats").json()["beats"]
        r = c.get(f"/api/v1/sessions/{s['id']}/beats", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert [b["rr_ms"] for b in data] == RR
    assert [b["idx"] for b in data] == list(range(len(RR)))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    # the JSON's names with their units, as every CSV hrvpace writes (api.research.units)
    assert list(rows[0]) == [
        "idx [index]",
        "t_s [s]",
        "rr_ms [ms]",
        "arrived_at [unix_s]",
        "contact [1 contact/0 none/-1 unknown]",
        "gap_before [bool]",
        "hr_bpm [1/min]",
    ]
    assert len(rows) == len(data)
    contact = {None: "-1", True: "1", False: "0"}
    for row, beat in zip(rows, data, strict=True):
        assert int(row["idx [index]"]) == beat["idx"]
        assert float(row["t_s [s]"]) == beat["t_s"]
        assert float(row["rr_ms [ms]"]) == beat["rr_ms"]
        assert float(row["arrived_at [unix_s]"]) == beat["arrived_at"]
        assert row["contact [1 contact/0 none/-1 unknown]"] == contact[beat["contact"]]
        assert row["gap_before [bool]"] == str(int(beat["gap_before"]))
        assert (float(row["hr_bpm [1/min]"]) if row["hr_bpm [1/min]"] else None) == beat["hr_bpm"]
    # the same table, byte for byte, as `hrvpace export` writes of the session
    out = export_session(server.settings.database_path, s["id"], server.settings.data_dir / "x")
    exported = next(p for p in out if p.name.endswith("-beats.csv"))
    assert exported.read_text(encoding="utf-8") == r.text
    # the sidecar states the live settings stored when the session started
    side = json.loads(next(p for p in out if p.name == f"{s['id']}.json").read_text())
    assert side["settings"]["live_analysis"] == {**analyser_settings(), "settings_recorded": True}
    with server.client() as c:
        m = c.get(f"/api/v1/sessions/{s['id']}/metrics", params={"format": "csv"}).text
    header = m.splitlines()[0].split(",")
    assert header[:2] == ["t_s [s]", "recorded_at [unix_s]"] and "rmssd_ms [ms]" in header


def test_a_failing_source_fails_its_session_not_the_service(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR[:5], fail_with="strap unplugged"))
    s = _session(server, {"source": {"kind": "simulator", "speed": "max"}})
    final = _wait_done(server, s["id"])
    assert final["state"] == "failed"
    assert final["message"] == "strap unplugged"
    assert final["n_beats"] == 5
    with server.client() as c:
        assert c.get("/api/v1/health").status_code == 200
    again = _session(server, {"source": {"kind": "simulator", "speed": "max"}})
    # the service still starts sessions (this one fails too, maybe before the answer is sent)
    assert again["id"] != s["id"] and again["state"] in ("running", "failed")
    assert _wait_done(server, again["id"])["message"] == "strap unplugged"


def test_an_unusable_beat_is_skipped_not_fatal(serve: Callable[..., Server]) -> None:
    script: list[float | None] = [900.0, 910.0, None, 920.0, 930.0]
    server = serve(source_factory=scripted_factory(script))
    s = _session(server, {"source": {"kind": "simulator", "speed": "max"}})
    final = _wait_done(server, s["id"])
    assert final["state"] == "ended"
    with server.client() as c:
        beats = c.get(f"/api/v1/sessions/{s['id']}/beats").json()["beats"]
    assert [b["rr_ms"] for b in beats] == [900.0, 910.0, 920.0, 930.0]


def test_stop_ends_a_running_session_and_keeps_its_data(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR[:10], repeat=True))
    s = _session(server, {"source": {"kind": "simulator", "speed": 50}})
    with server.client() as c:
        wait_for(
            lambda: c.get(f"/api/v1/sessions/{s['id']}").json()["n_beats"] >= 5,
            what="a few beats",
        )
        r = c.post(f"/api/v1/sessions/{s['id']}/stop")
        assert r.status_code == 200
        stopped = r.json()
        assert stopped["state"] == "stopped" and not stopped["live"]
        assert stopped["ended_at"] is not None
        n = stopped["n_beats"]
        assert n >= 5
        assert len(c.get(f"/api/v1/sessions/{s['id']}/beats").json()["beats"]) == n
        # the stop answers the ended session as GET does: summary and last t_s included
        # (review finding: both were null in the answer and set in the GET straight after)
        got = c.get(f"/api/v1/sessions/{s['id']}").json()
        assert stopped == got
        assert stopped["summary"] is not None and stopped["summary"]["duration_s"] > 0
        assert stopped["t_s"] is not None and stopped["t_s"] > 0
        again = c.post(f"/api/v1/sessions/{s['id']}/stop").json()
        assert again == got
        assert c.post("/api/v1/sessions/nope/stop").status_code == 404
        assert c.get("/api/v1/sessions/nope/beats").status_code == 404


def test_several_sessions_run_at_once(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR[:50]))
    ids = [_session(server, {"source": {"kind": "simulator", "speed": 25}})["id"] for _ in range(5)]
    with server.client() as c:
        listed = {s["id"]: s for s in c.get("/api/v1/sessions").json()["sessions"]}
        assert set(ids) <= set(listed)
        assert sum(listed[i]["live"] for i in ids) >= 4  # all started, running side by side
    for i in ids:
        assert _wait_done(server, i)["n_beats"] == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": {"kind": "simulator", "speed": -1}}, "speed"),
        ({"source": {"kind": "teleport"}}, "source"),
        ({"source": {"kind": "replay"}}, "recording"),
        ({"source": {"kind": "replay", "recording": "../../etc/passwd"}}, "recording"),
        ({"source": {"kind": "simulator"}, "mode": "sleep"}, "mode"),
        ({}, "source"),
    ],
)
def test_malformed_request_is_422_naming_the_field(
    serve: Callable[..., Server], body: dict[str, Any], field: str
) -> None:
    server = serve(source_factory=scripted_factory(RR[:3]))
    with server.client() as c:
        r = c.post("/api/v1/sessions", json=body)
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert any(field in loc for loc in locs), locs


def test_checkin_with_a_bad_scale_is_422_naming_the_field(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        r = c.post("/api/v1/checkins", json={"stress": 0, "energy": 3})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "stress"]
        r = c.post(
            "/api/v1/checkins", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422
        # a body of a type no route reads: 415 before it is read (was a 422 of its bytes)
        r = c.post("/api/v1/checkins", content=b"{not json", headers={"Content-Type": "x"})
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"


def _raw_ws_that_never_reads(server: Server, path: str) -> socket.socket:
    """A WebSocket handshake on a raw socket with a tiny receive buffer, then no reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    host, port = server.url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_never_reads_does_not_stall_the_others(
    serve: Callable[..., Server], tmp_path: Any
) -> None:
    n = 3000
    settings = load_settings(data_dir=tmp_path / "d", token="t", ws_queue_size=64)
    # Small kernel send buffers, so that the stuck client's socket fills after a few messages.
    server = serve(settings=settings, sndbuf=4096, source_factory=scripted_factory([1000.0] * n))
    # A slow producer would hide the problem: beats come as fast as the loop allows.
    s = _session(server, {"source": {"kind": "simulator", "speed": "max"}})
    hub = server.app.state.sessions.get_live(s["id"]).hub
    path = f"/api/v1/sessions/{s['id']}/live?token={server.token}"
    stuck = _raw_ws_that_never_reads(server, path)
    received: list[Any] = []
    lateness: list[float] = []

    def reader() -> None:
        with connect(f"{server.ws_url}{path}", open_timeout=10) as ws:
            for text in ws:
                lateness.append(time.time() - json.loads(text)["timestamp"])
                received.append(parse_live_message(text))

    t = threading.Thread(target=reader)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive()
    final = _wait_done(server, s["id"])
    stuck.close()
    assert final["n_beats"] == n, "the sensor side stalled"
    beats = [m for m in received if m.type == "beat"]
    seqs = [m.seq for m in _after_welcome(received)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the reading client lost messages"
    assert beats[-1].idx == n - 1
    assert received[-1].type == "status" and received[-1].state == "ended"
    assert hub.dropped_total > 0, "the client that never reads should have lost messages"
    lateness.sort()
    assert lateness[int(0.99 * (len(lateness) - 1))] < 2.0
