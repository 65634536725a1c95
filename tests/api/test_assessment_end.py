"""How an assessment ends in the service: with its verdict the pacer stops (it does not pace on
at a rate nobody asked for), and an assessment stopped half-way is stored as stopped, with the
steps it finished."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from breathing.engine import practice_rate_bpm
from tests.api.conftest import Server, wait_for


def _start(server: Server, body: dict[str, Any]) -> str:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json=body)
        assert r.status_code == 201, r.text
        sid: str = r.json()["id"]
        return sid


def _records(c: Any, sid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = c.get(f"/api/v1/sessions/{sid}/breathing/assessments").json()[
        "results"
    ]
    return out


def test_the_verdict_stops_the_pacer_and_practice_then_starts_at_the_found_rate(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    sid = _start(
        server,
        {
            "source": {
                "kind": "simulator",
                "seed": 2,
                "resonance_bpm": 5.0,
                "speed": 200,
                "duration_s": 3000,
            },
            "mode": "monitor",
        },
    )
    with server.client() as c:
        assert c.post(f"/api/v1/sessions/{sid}/breathing/assessment").status_code == 200

        def verdict() -> dict[str, Any] | None:
            done = [r for r in _records(c, sid) if r["type"] == "assessment_complete"]
            return done[0] if done else None

        found = wait_for(verdict, timeout_s=90, what="the verdict")["result"]["resonance_bpm"]
        assert found is not None and found != 6.0
        # the live session goes on monitoring: no guidance, the last change is the stop
        now = c.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()
        assert c.get(f"/api/v1/sessions/{sid}").json()["live"], "the session ended too soon"
        assert now["guidance"] is None
        # ... and the session says no guidance is running (not the stop's "stopped" guidance)
        assert c.get(f"/api/v1/sessions/{sid}").json()["last_guidance"] is None
        history = c.get(f"/api/v1/sessions/{sid}/breathing/history").json()["changes"]
        last = history[-1]
        assert last["mode"] == "stopped"
        assert [e["type"] for e in last["events"]][-2:] == ["assessment_complete", "mode_change"]
        assert not any(
            e["type"] == "rate_change" and e["reason"] == "assessed resonance rate"
            for h in history
            for e in h["events"]
        )
        # a practice without a rate starts at this session's found rate, as practised (as the
        # page shows it: one decimal, within 4.5-7/min)
        r = c.post(f"/api/v1/sessions/{sid}/breathing/practice", json={})
        assert r.status_code == 200, r.text
        assert r.json()["guidance"]["rate_bpm"] == practice_rate_bpm(found)
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_an_assessment_session_also_stops_pacing_with_its_verdict(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    sid = _start(
        server,
        {
            "source": {"kind": "simulator", "seed": 7, "speed": "max", "duration_s": 720},
            "mode": "assessment",
        },
    )
    with server.client() as c:
        wait_for(
            lambda: not c.get(f"/api/v1/sessions/{sid}").json()["live"],
            timeout_s=90,
            what="the session to end",
        )
        history = c.get(f"/api/v1/sessions/{sid}/breathing/history").json()["changes"]
    i = next(
        k
        for k, h in enumerate(history)
        if any(e["type"] == "assessment_complete" for e in h["events"])
    )
    assert history[i]["mode"] == "stopped"
    assert history[i + 1 :] == []


def test_a_stopped_assessment_is_stored_as_stopped_with_its_finished_steps(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    sid = _start(
        server,
        {
            "source": {"kind": "simulator", "seed": 2, "speed": 40, "duration_s": 3000},
            "mode": "monitor",
        },
    )
    with server.client() as c:
        assert c.post(f"/api/v1/sessions/{sid}/breathing/assessment").status_code == 200
        wait_for(
            lambda: len([r for r in _records(c, sid) if r["type"] == "assessment_step"]) >= 2,
            timeout_s=90,
            what="two finished steps",
        )
        r = c.post(f"/api/v1/sessions/{sid}/breathing/stop")
        assert r.status_code == 200 and r.json()["guidance"]["mode"] == "stopped"
        # stored by the writer queue, as the steps are: read it once it is there
        records = wait_for(
            lambda: (rs := _records(c, sid)) and rs[-1]["type"] == "assessment_stopped" and rs,
            timeout_s=30,
            what="the stop to be stored",
        )
        c.post(f"/api/v1/sessions/{sid}/stop")
    steps = [x for x in records if x["type"] == "assessment_step"]
    stopped = records[-1]
    assert stopped["steps_done"] == len(steps) >= 2
    # the running step; one more when the stop came while the last one's analysis waited
    assert stopped["steps_done"] <= stopped["step_index"] <= stopped["steps_done"] + 1
    assert stopped["rate_bpm"] == [6.5, 6.0, 5.5, 5.0, 4.5][stopped["step_index"]]
    assert stopped["n_steps"] == 5
    assert not [x for x in records if x["type"] == "assessment_complete"]
