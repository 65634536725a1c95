"""A simulated person (sensors.SimulatorSource) through the real pipeline and HRV analyser."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

from api.messages import parse_live_message
from tests.api.conftest import Server


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
    t0 = time.monotonic()
    with connect(url, open_timeout=10) as ws:
        for text in ws:
            m = parse_live_message(text)
            got.setdefault(m.type, []).append(m)
            if len(got["metrics"]) >= 3:
                break
    assert time.monotonic() - t0 < 10
    beats = got["beat"]
    assert len(beats) > 20
    hr = [60000.0 / b.rr_ms for b in beats]
    assert 40 < sum(hr) / len(hr) < 120  # a resting person
    first = got["metrics"][0]
    assert first.t_s == 60.0  # the first full 60 s window
    assert [m.t_s for m in got["metrics"]] == [60.0, 65.0, 70.0]
    m = first.metrics  # typed: hrv.WindowMetrics' fields as attributes
    assert m.n_beats > 40 and m.t_s == first.t_s
    assert m.rmssd_ms is not None and m.rmssd_ms > 0
    assert m.mean_hr_bpm is not None and 40 < m.mean_hr_bpm < 120
    with server.client() as c:
        stop = c.post(f"/api/v1/sessions/{s['id']}/stop").json()
        assert stop["state"] in ("stopped", "ended")
        stored = c.get(f"/api/v1/sessions/{s['id']}/metrics").json()["metrics"]
        assert [x["t_s"] for x in stored][:3] == [60.0, 65.0, 70.0]
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
        assert r.status_code == 409
