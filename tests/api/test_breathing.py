"""Breathing through the service: the pacing engine in a live session, with a simulated person
that follows the pacer (sensors.SimulatorSource + breathing.PacingEngine, real uvicorn)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

from api.messages import parse_live_message
from breathing.engine import practice_rate_bpm
from tests.api.conftest import Server, person_on_a_strap, wait_for


def _start(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json=body)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


def test_practice_session_sends_guidance_and_follows_a_rate_change(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    s = _start(
        server,
        {
            "source": {"kind": "simulator", "seed": 2, "speed": 20},
            "mode": "practice",
            "practice_rate_bpm": 6.0,
        },
    )
    url = f"{server.ws_url}/api/v1/sessions/{s['id']}/live?token={server.token}"
    with connect(url, open_timeout=10) as ws:
        first = None
        for text in ws:
            m = parse_live_message(text)
            if m.type == "guidance":
                first = m
                break
        assert first is not None
        g = first.guidance  # typed: the pacer's phase reference is an attribute
        assert g.mode == "fixed" and g.rate_bpm == 6.0
        assert g.reference.rate_bpm == 6.0 and g.reference.pattern.rate_bpm == 6.0
        assert first.t0_unix_s is not None
        with server.client() as c:
            r = c.post(f"/api/v1/sessions/{s['id']}/breathing/practice", json={"rate_bpm": 5.5})
            assert r.status_code == 200, r.text
            assert r.json()["guidance"]["rate_bpm"] == 5.5
        changed = None
        for text in ws:
            m = parse_live_message(text)
            if m.type == "guidance" and m.events:
                changed = m
                break
        assert changed is not None
        assert changed.guidance.rate_bpm == 5.5
        assert [e.type for e in changed.events] == ["rate_change"]
        assert changed.events[0].previous_rate_bpm == 6.0
    with server.client() as c:
        now = c.get(f"/api/v1/sessions/{s['id']}/breathing/guidance").json()
        assert now["guidance"]["rate_bpm"] == 5.5
        c.post(f"/api/v1/sessions/{s['id']}/stop")
        history = c.get(f"/api/v1/sessions/{s['id']}/breathing/history").json()["changes"]
        assert history[-1]["rate_bpm"] == 5.5
        r = c.post(f"/api/v1/sessions/{s['id']}/breathing/practice", json={"rate_bpm": 5.0})
        assert (r.status_code, r.json()["code"]) == (409, "session_not_running"), r.text


def test_monitor_session_has_no_pacer_until_asked(serve: Callable[..., Server]) -> None:
    server = serve()
    s = _start(server, {"source": {"kind": "simulator", "speed": 10}})
    with server.client() as c:
        g = c.get(f"/api/v1/sessions/{s['id']}/breathing/guidance").json()
        assert g["guidance"] is None
        r = c.post(f"/api/v1/sessions/{s['id']}/breathing/assessment")
        assert r.status_code == 200
        g = r.json()["guidance"]
        assert g["mode"] == "assessment"
        assert g["assessment"]["step_index"] == 0 and g["rate_bpm"] == 6.5
        bad = c.post(f"/api/v1/sessions/{s['id']}/breathing/practice", json={"rate_bpm": 30})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "rate_bpm"]
        c.post(f"/api/v1/sessions/{s['id']}/stop")


def test_an_adaptive_start_outside_its_range_is_refused_naming_the_field_and_range(
    serve: Callable[..., Server],
) -> None:
    """Adaptive pacing keeps its rate within 4.5-7/min: a start outside it is a 422 (it would
    start at the range's edge, not at the rate asked for); a fixed rate takes 3-12."""
    server = serve()
    s = _start(server, {"source": {"kind": "simulator", "speed": 10}})
    url = f"/api/v1/sessions/{s['id']}/breathing/practice"
    with server.client() as c:
        for rate in (4.0, 7.5, 3.0, 12.0):
            bad = c.post(url, json={"rate_bpm": rate, "adaptive": True})
            assert bad.status_code == 422, (rate, bad.text)
            problem = bad.json()
            assert problem["code"] == "validation_error"
            assert problem["errors"][0]["loc"] == ["body", "rate_bpm"]
            assert "rate_bpm" in problem["detail"] and "4.5-7 breaths/min" in problem["detail"]
        assert c.get(url.replace("practice", "guidance")).json()["guidance"] is None  # unchanged
        for rate in (4.5, 7.0):
            ok = c.post(url, json={"rate_bpm": rate, "adaptive": True})
            assert ok.status_code == 200, ok.text
            assert ok.json()["guidance"]["rate_bpm"] == rate  # started where asked
        fixed = c.post(url, json={"rate_bpm": 4.0})
        assert fixed.status_code == 200 and fixed.json()["guidance"]["rate_bpm"] == 4.0
        described = c.get("/api/v1/openapi.json").json()["components"]["schemas"]["PracticeIn"]
        assert "4.5-7" in described["properties"]["rate_bpm"]["description"]
        c.post(f"/api/v1/sessions/{s['id']}/stop")


def test_a_practice_session_with_an_adaptive_start_outside_its_range_is_refused(
    serve: Callable[..., Server],
) -> None:
    """POST /sessions takes the same rule as .../breathing/practice: an adaptive practice
    session starting outside 4.5-7/min is a 422 naming practice_rate_bpm (it began at the
    range's edge, silently), its loc the field's as the other route's; fixed practice keeps
    3-12, and a session whose mode paces no adaptive practice from it is not refused."""
    server = serve()
    with server.client() as c:
        body = {"source": {"kind": "simulator", "speed": 10}, "mode": "practice"}
        bad = c.post("/api/v1/sessions", json={**body, "adaptive": True, "practice_rate_bpm": 8.0})
        assert bad.status_code == 422, bad.text
        problem = bad.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["loc"] == ["body", "practice_rate_bpm"]
        assert "practice_rate_bpm" in problem["detail"] and "4.5-7 breaths/min" in problem["detail"]
        assert "got 8" in problem["detail"]
        assert c.get("/api/v1/sessions").json()["sessions"] == []  # nothing started
        fixed = c.post("/api/v1/sessions", json={**body, "practice_rate_bpm": 8.0})
        assert fixed.status_code in (200, 201), fixed.text
        c.post(f"/api/v1/sessions/{fixed.json()['id']}/stop")
        for mode in ("monitor", "assessment"):  # no adaptive practice from it: not refused
            other = {**body, "mode": mode, "adaptive": True, "practice_rate_bpm": 8.0}
            started = c.post("/api/v1/sessions", json=other)
            assert started.status_code in (200, 201), (mode, started.text)
            c.post(f"/api/v1/sessions/{started.json()['id']}/stop")


def test_assessment_finds_the_simulated_persons_resonance(serve: Callable[..., Server]) -> None:
    server = serve()
    s = _start(
        server,
        {
            "source": {
                "kind": "simulator",
                "seed": 7,
                "resonance_bpm": 5.0,
                "speed": "max",
                "duration_s": 720,
            },
            "mode": "assessment",
        },
    )
    with server.client() as c:

        def finished() -> dict[str, Any] | None:
            out = c.get(f"/api/v1/sessions/{s['id']}").json()
            return None if out["live"] else out

        final = wait_for(finished, timeout_s=60, what="the assessment session to end")
        assert final["state"] == "ended"
        results = c.get(f"/api/v1/sessions/{s['id']}/breathing/assessments").json()["results"]
    steps = [r for r in results if r["type"] == "assessment_step"]
    done = [r for r in results if r["type"] == "assessment_complete"]
    assert [st["result"]["rate_bpm"] for st in steps] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert len(done) == 1
    assert abs(done[0]["result"]["resonance_bpm"] - 5.0) <= 0.5
    # 5.0/min is inside the tested range: flag and note present, empty
    assert done[0]["result"]["range_edge"] is None and done[0]["result"]["range_note"] == ""
    assert all(any(c["used"] for c in st["result"]["criteria"]) for st in steps)


def test_practice_defaults_to_the_latest_stored_assessment(serve: Callable[..., Server]) -> None:
    """A later session practises at the person's assessed rate, not 6/min; an explicit rate
    still wins. The assessment is a real one, stored by an earlier strap session (a simulated
    person's would not be the person's: tests/api/test_own_numbers.py)."""
    server = serve(
        source_factory=person_on_a_strap({"seed": 7, "resonance_bpm": 5.0, "speed": "max"})
    )
    first = _start(
        server,
        {
            "source": {"kind": "ble", "address": "AA:BB:CC:00:00:01"},
            "mode": "assessment",
            "label": "assessment",
        },
    )
    with server.client() as c:

        def assessed() -> float | None:
            results = c.get(f"/api/v1/sessions/{first['id']}/breathing/assessments").json()
            done = [r for r in results["results"] if r["type"] == "assessment_complete"]
            return done[0]["result"]["resonance_bpm"] if done else None

        resonance = wait_for(assessed, timeout_s=60, what="the assessment to finish")
        c.post(f"/api/v1/sessions/{first['id']}/stop")
    # practised within 4.5-7/min, to one decimal (as the page shows it)
    practised = practice_rate_bpm(resonance)
    assert practised != 6.0  # else this test could not tell the default from the assessment

    def rate_of(body: dict[str, Any], *, command: dict[str, Any] | None = None) -> float:
        s = _start(server, {"source": {"kind": "simulator", "speed": 10}, **body})
        with server.client() as c:
            if command is not None:
                r = c.post(f"/api/v1/sessions/{s['id']}/breathing/practice", json=command)
                assert r.status_code == 200, r.text
            g = c.get(f"/api/v1/sessions/{s['id']}/breathing/guidance").json()["guidance"]
            c.post(f"/api/v1/sessions/{s['id']}/stop")
        return float(g["rate_bpm"])

    assert rate_of({"mode": "practice"}) == practised
    assert rate_of({"mode": "practice", "adaptive": True}) == practised
    assert rate_of({"mode": "practice", "practice_rate_bpm": 6.5}) == 6.5
    assert rate_of({"mode": "monitor"}, command={}) == practised
    assert rate_of({"mode": "monitor"}, command={"rate_bpm": 5.5}) == 5.5


def test_assessment_started_on_a_monitor_session_follows_the_pacer(
    serve: Callable[..., Server],
) -> None:
    """A simulated person in a session started in monitor mode breathes on its own until an
    assessment starts through the API, then follows the pacer: the assessment finds its
    resonance (unpaced, the HR response at the stepped rates says nothing about it)."""
    server = serve()
    s = _start(
        server,
        {
            "source": {
                "kind": "simulator",
                "seed": 3,
                "resonance_bpm": 4.5,
                "speed": 200,
                "duration_s": 1000,
            },
            "mode": "monitor",
        },
    )
    with server.client() as c:
        r = c.post(f"/api/v1/sessions/{s['id']}/breathing/assessment")
        assert r.status_code == 200, r.text
        assert r.json()["t_s"] < 200  # the assessment (5 x 2 min) fits in the session

        def done() -> list[dict[str, Any]]:
            results = c.get(f"/api/v1/sessions/{s['id']}/breathing/assessments").json()
            return [x for x in results["results"] if x["type"] == "assessment_complete"]

        complete = wait_for(done, timeout_s=60, what="the assessment to finish")
        c.post(f"/api/v1/sessions/{s['id']}/stop")
    found = complete[0]["result"]["resonance_bpm"]
    assert found is not None, "inconclusive: the simulated person did not follow the pacer"
    assert abs(found - 4.5) <= 0.25


def test_practice_defaults_to_4_6_ends_by_itself_and_can_be_stopped(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    s = _start(server, {"source": {"kind": "simulator", "seed": 4, "speed": 30}})
    base = f"/api/v1/sessions/{s['id']}/breathing"
    url = f"{server.ws_url}/api/v1/sessions/{s['id']}/live?token={server.token}"
    with connect(url, open_timeout=10) as ws:
        with server.client() as c:
            r = c.post(f"{base}/practice", json={"rate_bpm": 6.0, "duration_s": 30})
            assert r.status_code == 200, r.text
            g = r.json()["guidance"]
        # longer out than in by default, carried in the pattern and the phase reference
        assert g["pattern"]["inhale_to_exhale"] < 1.0
        assert g["reference"]["pattern"]["inhale_to_exhale"] == g["pattern"]["inhale_to_exhale"]
        assert g["ends_at_s"] == r.json()["t_s"] + 30
        stopped = None
        for text in ws:  # 30 s of session time pass in about a second at speed 30
            m = parse_live_message(text)
            if m.type == "guidance" and m.guidance.mode == "stopped":
                stopped = m
                break
        assert stopped is not None
        # sent with the first beat past the end, the stop itself dated at the planned end
        assert [e.type for e in stopped.events] == ["mode_change"]
        assert stopped.events[0].t_s == g["ends_at_s"] <= stopped.t_s
    with server.client() as c:
        assert c.get(f"{base}/guidance").json()["guidance"] is None  # pacing is off
        # a practice without a duration runs until stopped
        r = c.post(f"{base}/practice", json={"inhale_to_exhale": 1.0})
        assert r.status_code == 200 and r.json()["guidance"]["ends_at_s"] is None
        assert r.json()["guidance"]["pattern"]["inhale_to_exhale"] == 1.0
        r = c.post(f"{base}/stop")
        assert r.status_code == 200, r.text
        assert r.json()["guidance"]["mode"] == "stopped"
        assert c.get(f"{base}/guidance").json()["guidance"] is None
        assert c.post(f"{base}/stop").json()["guidance"] is None  # stopping twice is harmless
        r = c.post(f"{base}/practice", json={"duration_s": 0})
        assert r.status_code == 422
