"""A simulated person (sensors.SimulatorSource) through the real pipeline and HRV analyser."""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from websockets.sync.client import connect

from api.messages import parse_live_message
from tests.api.conftest import Server, wait_for


def test_simulated_session_streams_beats_and_metrics_within_seconds(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        r = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "simulator", "seed": 3, "speed": 40, "duration_s": 90}},
        )
        assert r.status_code == 201, r.text
        s = r.json()
    url = f"{server.ws_url}/api/v1/sessions/{s['id']}/live?token={server.token}"
    got: dict[str, list[Any]] = {"beat": [], "metrics": [], "status": []}
    completed_by: list[float] = []  # the t_s of the beat sent just before each metrics message
    t0 = time.monotonic()
    with connect(url, open_timeout=10) as ws:
        for text in ws:
            m = parse_live_message(text)
            got.setdefault(m.type, []).append(m)
            if m.type == "metrics":
                completed_by.append(got["beat"][-1].t_s)
            if len(got["metrics"]) >= 3:
                break
    assert time.monotonic() - t0 < 10
    beats = got["beat"]
    assert len(beats) > 20
    hr = [60000.0 / b.rr_ms for b in beats]
    assert 40 < sum(hr) / len(hr) < 120  # a resting person
    first = got["metrics"][0]
    # Windows end every 5 s of NN intervals (60, 65, 70 s of the analyser's running sum) but are
    # dated on the beats' clock, the beat messages' t_s: the simulated person's artefacts, left
    # out of the analysis, take time there, so the dates run ahead of 60, 65, 70 s and each
    # falls within one beat before the beat that completed its window.
    t_windows = [m.t_s for m in got["metrics"]]
    assert t_windows[0] >= 60.0 and all(b - a >= 5.0 - 1e-9 for a, b in pairwise(t_windows))
    assert all(0.0 < beat - t < 2.5 for t, beat in zip(t_windows, completed_by, strict=True))
    m = first.metrics  # typed: hrv.WindowMetrics' fields as attributes
    assert m.n_beats > 40
    assert m.rmssd_ms is not None and m.rmssd_ms > 0
    assert m.mean_hr_bpm is not None and 40 < m.mean_hr_bpm < 120
    with server.client() as c:
        stop = c.post(f"/api/v1/sessions/{s['id']}/stop").json()
        assert stop["state"] in ("stopped", "ended")
        stored = c.get(f"/api/v1/sessions/{s['id']}/metrics").json()["metrics"]
        assert [x["t_s"] for x in stored][:3] == t_windows  # stored on the same clock
        assert stored[0]["rmssd_ms"] == m.rmssd_ms


def test_simulator_stress_can_be_changed_while_running(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        s = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 5}}).json()
        r = c.post(f"/api/v1/sessions/{s['id']}/simulator", json={"stress": 0.9})
        assert r.status_code == 200 and r.json()["stress"] == 0.9
        assert (
            c.post(f"/api/v1/sessions/{s['id']}/simulator", json={"stress": 2}).status_code == 422
        )
        c.post(f"/api/v1/sessions/{s['id']}/stop")
        r = c.post(f"/api/v1/sessions/{s['id']}/simulator", json={"stress": 0.1})
        # stopped: no longer a running simulation (README: not_a_simulation)
        assert (r.status_code, r.json()["code"]) == (409, "not_a_simulation"), r.text


def test_a_simulated_session_keeps_its_stretches_without_contact(
    serve: Callable[..., Server],
) -> None:
    """A simulated person with contact losses: the session stores each run of beats marked
    without contact as a stretch (GET /contact), from its first beat to the next with contact,
    as a strap's session does; the source echoes the rate; a rate of 0.5 or more is a 422."""
    from tests.api.conftest import wait_for

    server = serve()
    with server.client() as c:
        source = {
            "kind": "simulator",
            "seed": 12,
            "speed": "max",
            "duration_s": 600,
            "contact_loss_rate": 0.01,
        }
        r = c.post("/api/v1/sessions", json={"source": source})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert r.json()["source"]["contact_loss_rate"] == 0.01

        def done() -> dict[str, Any] | None:
            s: dict[str, Any] = c.get(f"/api/v1/sessions/{sid}").json()
            return None if s["live"] else s

        final = wait_for(done, timeout_s=60, what="the simulation's end")
        assert final["state"] == "ended", final
        beats = c.get(f"/api/v1/sessions/{sid}/beats").json()["beats"]
        stretches = c.get(f"/api/v1/sessions/{sid}/contact").json()["no_contact"]
        bad = c.post("/api/v1/sessions", json={"source": {**source, "contact_loss_rate": 0.5}})
        assert bad.status_code == 422 and "contact_loss_rate" in str(bad.json()["errors"])
    assert len(beats) == final["n_beats"] > 500
    runs: list[dict[str, Any]] = []
    for prev, b in pairwise([None, *beats]):
        if b["contact"] is False and (prev is None or prev["contact"] is not False):
            runs.append({"start_t_s": b["t_s"], "end_t_s": None, "ended_by": "end"})
        elif b["contact"] is not False and prev is not None and prev["contact"] is False:
            runs[-1].update(end_t_s=b["t_s"], ended_by="contact")
    assert len(runs) >= 3
    assert stretches == runs


def test_arrived_at_is_the_wall_clock_also_for_a_simulator_at_speed(
    serve: Callable[..., Server],
) -> None:
    """A simulator at 20x stamped its beats with its own clock, running 20 s ahead per real
    second: arrived_at lay in the future (review finding). It is when the beat reached the
    service (docs/ARCHITECTURE.md), for the live messages and the stored beats alike."""
    server = serve()
    started = time.time()
    with server.client() as c:
        r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 20}})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        sent: list[float] = []
        with connect(
            f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}", open_timeout=10
        ) as ws:
            while len(sent) < 5:
                msg = parse_live_message(ws.recv(timeout=10))
                if msg.type == "beat":
                    sent.append(msg.arrived_at)
                    assert msg.arrived_at <= time.time(), (msg.arrived_at, time.time())

        def _beats() -> list[dict[str, Any]]:
            beats: list[dict[str, Any]] = c.get(f"/api/v1/sessions/{sid}/beats").json()["beats"]
            return beats if beats and beats[-1]["t_s"] - beats[0]["t_s"] >= 30.0 else []

        beats = wait_for(_beats, what="30 s of simulated beats")
        now = time.time()
        c.post(f"/api/v1/sessions/{sid}/stop")
    arrived = [b["arrived_at"] for b in beats]
    assert all(started - 1.0 <= a <= now for a in arrived), (started, now, arrived[-5:])
    # 30 s of session time arrived within a few real seconds: the arrivals do not follow t_s
    assert arrived[-1] - arrived[0] < 0.5 * (beats[-1]["t_s"] - beats[0]["t_s"])
    assert sent == sorted(sent)
