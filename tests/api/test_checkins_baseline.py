"""Check-ins and the personal baseline through a real server."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from tests.api.conftest import Server, scripted_factory, wait_for

RR = [800.0 + 20.0 * ((i * 5) % 7) for i in range(300)]  # clean beats (< 25 % apart)


def test_checkins_post_and_list(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR[:5]))
    with server.client() as c:
        s = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": "max"}})
        sid = s.json()["id"]
        a = c.post("/api/v1/checkins", json={"stress": 4, "energy": 2, "note": "deadline"})
        b = c.post(
            "/api/v1/checkins", json={"stress": 2, "energy": 4, "session_id": sid, "at": 1e9}
        )
        assert a.status_code == b.status_code == 201
        listed = c.get("/api/v1/checkins").json()["checkins"]
        assert [x["stress"] for x in listed] == [2, 4]  # oldest first (b is dated 2001)
        assert listed[1]["note"] == "deadline"
        mine = c.get("/api/v1/checkins", params={"session_id": sid}).json()["checkins"]
        assert [x["id"] for x in mine] == [b.json()["id"]]
        bad = c.post("/api/v1/checkins", json={"stress": 3, "energy": 3, "session_id": "nope"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "session_id"


def test_baseline_summarises_stored_windows_and_resets(serve: Callable[..., Server]) -> None:
    server = serve(source_factory=scripted_factory(RR, as_strap=True))
    with server.client() as c:
        empty = c.get("/api/v1/baseline").json()
        assert empty["personal"] is None
        empty = empty["windows"]
        assert empty["n_windows"] == 0 and empty["metrics"]["rmssd_ms"] is None
        # a simulated person does not become the user's baseline, learned or summarised
        sim = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "speed": "max"}}
        ).json()["id"]
        wait_for(lambda: not c.get(f"/api/v1/sessions/{sim}").json()["live"], what="end")
        assert len(c.get(f"/api/v1/sessions/{sim}/metrics").json()["metrics"]) > 10
        after_sim = c.get("/api/v1/baseline").json()
        assert after_sim["personal"] is None and after_sim["windows"]["n_windows"] == 0
        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "ble", "address": "AA:BB:CC:00:00:01"}}
        ).json()["id"]
        wait_for(lambda: not c.get(f"/api/v1/sessions/{sid}").json()["live"], what="end")
        windows = c.get(f"/api/v1/sessions/{sid}/metrics").json()["metrics"]
        assert len(windows) > 10
        full = c.get("/api/v1/baseline").json()
        base = full["windows"]
        rmssd = [w["rmssd_ms"] for w in windows]
        assert base["n_windows"] == len(windows) and base["n_sessions"] == 1
        assert base["metrics"]["rmssd_ms"]["median"] == statistics.median(rmssd)
        q = statistics.quantiles(rmssd, n=4, method="inclusive")
        assert base["metrics"]["rmssd_ms"]["p25"] == q[0]
        # the history view: each session's summary, and the daily trend of strap sessions only
        summary = c.get(f"/api/v1/sessions/{sid}").json()["summary"]
        assert summary["n_windows"] == len(windows)
        assert abs(summary["mean_rmssd_ms"] - statistics.mean(rmssd)) < 1e-9
        assert (
            summary["duration_s"] == sum(RR) / 1000.0
            or abs(summary["duration_s"] - sum(RR) / 1000.0) < 1e-9
        )
        trend = c.get("/api/v1/trends/daily").json()["series"]
        assert len(trend) == 1 and trend[0]["n_sessions"] == 1
        assert trend[0]["n_windows"] == len(windows)
        assert trend[0]["median_rmssd_ms"] == statistics.median(rmssd)
        # the micro-break monitor learned a personal baseline from the calm windows and saved it
        personal = full["personal"]
        assert personal is not None and personal["personal_s"] > 0
        assert abs(personal["hr_mean_bpm"] - statistics.mean(60000.0 / x for x in RR)) < 5
        reset = c.post("/api/v1/baseline/reset").json()
        assert reset["personal"] is None
        assert reset["windows"]["n_windows"] == 0
        assert reset["windows"]["reset_at_unix_s"] is not None
        assert c.get("/api/v1/baseline").json()["windows"]["n_windows"] == 0
        assert c.get("/api/v1/baseline", params={"days": 0}).status_code == 422
