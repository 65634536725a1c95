"""Through the service: a practice longer than the 2-minute reset is a break for the micro-break
monitor, so the person is not told "You have been working for N minutes without a break" right
after it (real uvicorn, real SQLite, the simulated person at 400x)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.api.conftest import Server


def test_time_on_task_restarts_when_a_practice_ends(serve: Callable[..., Server]) -> None:
    """Time on task of 10 minutes (a stored setting, so the session stays short): rest 0-5 min,
    a practice 5-11 min, rest. The practice counted as work flagged time on task at the first
    unpaced window (~12 min); as a break, time on task restarts where the pacing stopped."""
    server = serve()
    with server.client() as c:
        r = c.put("/api/v1/microbreaks/settings", json={"time_on_task_s": 600})
        assert r.status_code == 200, r.text
        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 1, "speed": 400}}
        ).json()["id"]

        def status() -> dict[str, Any]:
            st: dict[str, Any] = c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["status"]
            return st

        started_t = stopped_t = None
        after: dict[str, Any] | None = None
        deadline = time.monotonic() + 30
        while after is None:
            assert time.monotonic() < deadline, "the session did not reach 15 minutes in 30 s"
            st = status()
            if started_t is None and st["t_s"] >= 300:
                r = c.post(f"/api/v1/sessions/{sid}/breathing/practice", json={"rate_bpm": 6})
                assert r.status_code == 200, r.text
                started_t = st["t_s"]
            elif started_t is not None and stopped_t is None and st["t_s"] >= 660:
                assert st["paced"], st
                assert c.post(f"/api/v1/sessions/{sid}/breathing/stop").status_code == 200
                stopped_t = st["t_s"]
            elif stopped_t is not None and st["t_s"] >= stopped_t + 240 and not st["paced"]:
                after = st
            time.sleep(0.02)
        c.post(f"/api/v1/sessions/{sid}/stop")
        history = c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        (row,) = [s for s in c.get("/api/v1/sessions").json()["sessions"] if s["id"] == sid]
        doc = c.get("/api/v1/openapi.json").json()
    # the History's Breaks column counts breaks started, which a practice is not, and says so
    assert row["summary"]["n_breaks"] == 0
    described = doc["components"]["schemas"]["SessionSummary"]["properties"]["n_breaks"]
    assert "break_started" in described["description"]
    assert "Not counted" in described["description"] and "practice" in described["description"]
    flags = [e["data"] for e in history["events"] if e["event"] == "micro_break"]
    assert [f["reason"]["code"] for f in flags if f["reason"]["code"] == "time_on_task"] == []
    assert stopped_t is not None
    # restarted where the pacing stopped (the stop request lands a little after stopped_t)
    assert after["time_on_task_s"] < after["t_s"] - stopped_t + 30.0, after
    assert after["next_flag_allowed_s"] > stopped_t + 1200.0 - 30.0, after
