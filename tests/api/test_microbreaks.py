"""Micro-break flags through the service: a simulated person gets stressed, the flag arrives
on the WebSocket, the user acts on it, and the history keeps reason and effect."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from api.messages import parse_live_message
from breathing.microbreak import MicroBreakSettings
from breathing.microbreak.settings import SETTING_LIMITS, SETTING_RANGES
from tests.api.conftest import Server


def test_stress_raises_a_flag_that_the_user_can_act_on(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        s = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 4, "speed": 100}}
        ).json()
        sid = s["id"]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
        flag: Any = None
        stressed_at = None
        deadline = time.monotonic() + 60
        with connect(url, open_timeout=10) as ws:
            for text in ws:
                m = parse_live_message(text)
                assert time.monotonic() < deadline, "no flag within 60 s"
                if m.type == "metrics" and stressed_at is None and m.t_s >= 360:
                    r = c.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 1.0})
                    assert r.status_code == 200
                    stressed_at = m.t_s
                if m.type == "micro_break" and m.event == "micro_break":
                    flag = m
                    break
        assert stressed_at is not None, "flagged before any stress: a false alarm"
        data = flag.micro_break.model_dump(mode="json")
        assert flag.micro_break.type == "micro_break"  # typed: a MicroBreakDue
        assert flag.micro_break.reason.summary  # the plain sentence, an attribute
        assert data["reason"]["code"] in ("stress", "stress_load")
        assert data["suggestion"]["kind"] in ("breathing", "walk")
        assert data["ln_rmssd_z"] < 0 and data["hr_z"] > 0
        assert flag.t_s > stressed_at

        ack = c.post(f"/api/v1/sessions/{sid}/microbreaks/acknowledge").json()
        assert ack["events"][0]["flag_t_s"] == data["t_s"]
        started = c.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "breathing"})
        assert started.status_code == 200
        assert started.json()["events"][0]["reason"] == data["reason"]["code"]
        state = c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["status"]
        assert state["in_break"] and state["break_kind"] == "breathing"
        again = c.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "walk"})
        assert (again.status_code, again.json()["code"]) == (409, "break_already_running")
        assert "already running" in again.json()["detail"]
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        c.post(f"/api/v1/sessions/{sid}/stop")
        history = c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        kinds = [e["event"] for e in history["events"]]
        assert {"micro_break", "micro_break_acknowledged", "break_started", "break_ended"} <= set(
            kinds
        )
        assert "break_effect" in kinds  # measured (with what is known) when the session ended
        stored_flag = next(e for e in history["events"] if e["event"] == "micro_break")
        assert stored_flag["data"]["reason"] == data["reason"]


def test_acknowledge_with_nothing_flagged_is_a_409_as_end_with_no_break_is(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        sid = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 1}}).json()[
            "id"
        ]
        state = c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["status"]
        assert state["last_flag"] is None
        # each refusal its own code (review: all three were "conflict")
        for action, code, words in (
            ("acknowledge", "no_flag_to_acknowledge", "no flag"),
            ("end", "no_break_running", "no break"),
        ):
            r = c.post(f"/api/v1/sessions/{sid}/microbreaks/{action}")
            assert r.status_code == 409, (action, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == code and words in r.json()["detail"]
            assert r.json()["title"] != "Conflict"
        start = f"/api/v1/sessions/{sid}/microbreaks/start"
        assert c.post(start, json={"kind": "walk"}).status_code == 200
        again = c.post(start, json={"kind": "screen"})
        assert again.status_code == 409
        assert again.json()["code"] == "break_already_running"
        assert "walk break is already running" in again.json()["detail"]
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        c.post(f"/api/v1/sessions/{sid}/stop")
        # nothing stored for it (it was a micro_break_acknowledged event with flag_t_s null)
        history = c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        assert [e for e in history["events"] if e["event"] == "micro_break_acknowledged"] == []


def test_micro_break_settings_are_validated_and_stored(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        default = c.get("/api/v1/microbreaks/settings").json()
        assert default["overrides"] == {}
        assert default["settings"]["time_on_task_s"] == 5400.0
        assert default["settings"]["quiet_hours"] == [["22:00", "07:00"]]
        r = c.put(
            "/api/v1/microbreaks/settings",
            json={"time_on_task_s": 3600, "quiet_hours": [["23:00", "06:30"]]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["settings"]["time_on_task_s"] == 3600.0
        assert r.json()["settings"]["quiet_hours"] == [["23:00", "06:30"]]
        bad = c.put("/api/v1/microbreaks/settings", json={"min_quality": 2})
        assert bad.status_code == 422 and "min_quality" in bad.json()["errors"][0]["msg"]
        unknown = c.put("/api/v1/microbreaks/settings", json={"bogus": 1})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"][-1] == "bogus"
        kept = c.get("/api/v1/microbreaks/settings").json()
        assert (
            kept["settings"]["time_on_task_s"] == 3600.0 and kept["settings"]["min_quality"] == 0.9
        )


def test_a_two_minute_reset_ends_by_itself_and_reports_its_effect(
    serve: Callable[..., Server],
) -> None:
    """The page's reset-now: a breathing break with a duration paces, ends by itself, and
    its before/after RMSSD follows, all on session time (simulator at speed)."""
    server = serve()
    with server.client() as c:
        s = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 5, "speed": 60}}
        ).json()
        sid = s["id"]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
        seen: list[tuple[str, float, dict[str, Any]]] = []
        started_at = None
        deadline = time.monotonic() + 60
        with connect(url, open_timeout=10) as ws:
            for text in ws:
                m = parse_live_message(text)
                assert time.monotonic() < deadline, f"no break effect within 60 s: {seen}"
                if m.type == "metrics" and started_at is None and m.t_s >= 180:
                    r = c.post(
                        f"/api/v1/sessions/{sid}/microbreaks/start",
                        json={"kind": "breathing", "duration_s": 120},
                    )
                    assert r.status_code == 200, r.text
                    started_at = r.json()["events"][0]["t_s"]
                if m.type == "guidance":
                    seen.append(("guidance", m.t_s, m.guidance.model_dump(mode="json")))
                if m.type == "micro_break":
                    seen.append((m.event, m.t_s, m.micro_break.model_dump(mode="json")))
                    if m.event == "break_effect":
                        break
        assert started_at is not None
        guidance = [g for kind, _, g in seen if kind == "guidance"]
        assert guidance[0]["mode"] == "fixed" and guidance[0]["ends_at_s"] is not None
        assert guidance[0]["pattern"]["inhale_to_exhale"] < 1.0
        assert any(g["mode"] == "stopped" for g in guidance)  # the pacer stopped with the break
        ended = next(d for kind, _, d in seen if kind == "break_ended")
        assert ended["t_s"] == pytest.approx(started_at + 120.0, abs=2.0)
        effect = next(d for kind, _, d in seen if kind == "break_effect")
        assert effect["rmssd_before_ms"] is not None and effect["rmssd_after_ms"] is not None
        # the break's own pacing (stopped at its end) is its "during", not paced "after"
        assert effect["n_windows_after_paced"] == 0 and effect["n_windows_after"] > 0, effect
        state = c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["status"]
        assert not state["in_break"]
        # ended early by the person, a timed breathing break stops its pacer with it
        r = c.post(
            f"/api/v1/sessions/{sid}/microbreaks/start",
            json={"kind": "breathing", "duration_s": 600},
        )
        assert r.status_code == 200, r.text
        guidance = c.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
        assert guidance is not None and guidance["mode"] == "fixed"
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        assert c.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"] is None
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_a_practice_started_right_after_a_break_is_not_its_after(
    serve: Callable[..., Server],
) -> None:
    """The review's case: a practice started seconds after a walk break made the break's
    "after" the practice's. Its windows are left out of "after" and counted."""
    server = serve()
    with server.client() as c:
        s = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "simulator", "seed": 5, "resonance_bpm": 5.0, "speed": 60}},
        ).json()
        sid = s["id"]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
        started = practising = False
        effect: dict[str, Any] | None = None
        deadline = time.monotonic() + 60
        with connect(url, open_timeout=10) as ws:
            for text in ws:
                m = parse_live_message(text)
                assert time.monotonic() < deadline, "no break effect within 60 s"
                if m.type == "metrics" and not started and m.t_s >= 180:
                    r = c.post(
                        f"/api/v1/sessions/{sid}/microbreaks/start",
                        json={"kind": "walk", "duration_s": 60},
                    )
                    assert r.status_code == 200, r.text
                    started = True
                if m.type == "micro_break" and m.event == "break_ended" and not practising:
                    r = c.post(f"/api/v1/sessions/{sid}/breathing/practice", json={"rate_bpm": 5})
                    assert r.status_code == 200, r.text
                    practising = True
                if m.type == "micro_break" and m.event == "break_effect":
                    effect = m.micro_break.model_dump(mode="json")
                    break
        c.post(f"/api/v1/sessions/{sid}/stop")
    assert effect is not None and practising
    # every "after" window (from 60 s after the end) holds practice beats
    assert effect["n_windows_after_paced"] >= 20 and effect["n_windows_after"] == 0, effect
    assert effect["rmssd_after_ms"] is None and effect["rmssd_change_pct"] is None, effect
    assert effect["rmssd_before_ms"] is not None and effect["n_windows_before_paced"] == 0


@pytest.mark.parametrize(
    ("path", "body", "mode"),
    [
        ("assessment", None, "assessment"),
        ("practice", {"rate_bpm": 5.0}, "fixed"),
        ("practice", {"adaptive": True}, "adaptive"),
    ],
)
def test_ending_a_break_leaves_pacing_started_after_it_running(
    serve: Callable[..., Server], path: str, body: dict[str, Any] | None, mode: str
) -> None:
    """A breathing break paces; an assessment or a practice started during it replaces that
    pacing, so ending the break stops neither (nor stores a stop the user never made)."""
    server = serve()
    with server.client() as c:
        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 3, "speed": 5}}
        ).json()["id"]
        r = c.post(
            f"/api/v1/sessions/{sid}/microbreaks/start",
            json={"kind": "breathing", "duration_s": 120},
        )
        assert r.status_code == 200, r.text
        r = c.post(f"/api/v1/sessions/{sid}/breathing/{path}", json=body)
        assert r.status_code == 200 and r.json()["guidance"]["mode"] == mode, r.text
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        guidance = c.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
        assert guidance is not None and guidance["mode"] == mode, guidance
        results = c.get(f"/api/v1/sessions/{sid}/breathing/assessments").json()["results"]
        assert not any((x.get("data") or x).get("type") == "assessment_stopped" for x in results)
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_history_leaves_out_a_stored_event_that_does_not_fit_and_says_so(
    serve: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    """A row written by an older version or by hand (no ``type``) used to make the whole
    history a 500 once the events were typed; now the others still come, with a count."""
    server = serve()
    storage = server.app.state.storage
    good = {"type": "micro_break_acknowledged", "t_s": 5.0, "flag_t_s": 4.0}
    storage.add_micro_break(
        session_id=None, t_s=5.0, recorded_at=time.time(), kind=good["type"], data=good
    )
    storage.add_micro_break(
        session_id=None,
        t_s=6.0,
        recorded_at=time.time(),
        kind="break_effect",
        data={"rmssd_before_ms": 35.0, "rmssd_after_ms": 47.5},
    )
    storage.flush().result()
    with server.client() as c:
        r = c.get("/api/v1/microbreaks/history")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and body["unreadable"] == 1
    assert [e["event"] for e in body["events"]] == ["micro_break_acknowledged"]
    assert "do not fit the schema" in caplog.text


def test_a_practice_is_not_learned_into_the_baseline_and_the_status_says_paced(
    serve: Callable[..., Server],
) -> None:
    """Rest, then a practice at the simulated person's resonance rate (RMSSD well above rest),
    then rest: the practice's windows leave the personal baseline as rest made it, the status
    says ``paced``, and rest after it is learned again."""
    server = serve()
    with server.client() as c:
        sid = c.post(
            "/api/v1/sessions",
            json={"source": {"kind": "simulator", "seed": 5, "resonance_bpm": 5.0, "speed": 60}},
        ).json()["id"]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"

        def status() -> dict[str, Any]:
            r = c.get(f"/api/v1/sessions/{sid}/microbreaks")
            assert r.status_code == 200, r.text
            state: dict[str, Any] = r.json()["status"]
            return state

        rest: list[float] = []
        practice: list[float] = []
        at_start: dict[str, Any] | None = None
        paced_state: dict[str, Any] | None = None
        started_t = stopped_t = None
        after: dict[str, Any] | None = None
        deadline = time.monotonic() + 90
        with connect(url, open_timeout=10) as ws:
            for text in ws:
                m = parse_live_message(text)
                assert time.monotonic() < deadline, "the practice did not run its course in 90 s"
                if m.type != "metrics" or m.metrics.rmssd_ms is None:
                    continue
                if started_t is None:
                    rest.append(m.metrics.rmssd_ms)
                    if m.t_s >= 300:
                        r = c.post(
                            f"/api/v1/sessions/{sid}/breathing/practice", json={"rate_bpm": 5}
                        )
                        assert r.status_code == 200, r.text
                        started_t = m.t_s
                        # every window the loop hands over from now on overlaps the pacer
                        at_start = status()
                elif stopped_t is None:
                    if m.t_s >= started_t + 60:  # the window holds practice beats only
                        practice.append(m.metrics.rmssd_ms)
                    if m.t_s >= started_t + 360:
                        paced_state = status()
                        r = c.post(f"/api/v1/sessions/{sid}/breathing/stop")
                        assert r.status_code == 200, r.text
                        stopped_t = m.t_s
                elif m.t_s >= stopped_t + 240:
                    after = status()
                    break
        c.post(f"/api/v1/sessions/{sid}/stop")
    assert at_start is not None and paced_state is not None and after is not None
    assert at_start["baseline_personal"]  # rest was learned
    assert sum(practice) / len(practice) > 1.2 * sum(rest) / len(rest)  # pacing raised RMSSD
    assert paced_state["baseline"] == at_start["baseline"], (at_start, paced_state)
    assert paced_state["paced"] and paced_state["valid"], paced_state
    assert not after["paced"]
    assert after["baseline"]["personal_s"] > at_start["baseline"]["personal_s"]


@pytest.mark.parametrize(
    ("path", "body", "mode"),
    [
        ("practice", {"rate_bpm": 5.0, "duration_s": 600}, "fixed"),
        ("assessment", None, "assessment"),
    ],
)
def test_a_reset_during_a_practice_leaves_the_practice_as_it_is(
    serve: Callable[..., Server], path: str, body: dict[str, Any] | None, mode: str
) -> None:
    """The review's case: the header's 2-minute reset during a 10-minute practice replaced the
    practice's pacing with its own (the countdown fell from 4:42 to 1:37) and "End break" then
    stopped the practice. Any client's reset now leaves a running practice or assessment as
    it is, and ending that break leaves it running."""
    server = serve()
    with server.client() as c:
        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 3, "speed": 5}}
        ).json()["id"]
        r = c.post(f"/api/v1/sessions/{sid}/breathing/{path}", json=body)
        assert r.status_code == 200, r.text
        before = r.json()["guidance"]
        assert before["mode"] == mode, before
        r = c.post(
            f"/api/v1/sessions/{sid}/microbreaks/start",
            json={"kind": "breathing", "duration_s": 120},
        )
        assert r.status_code == 200, r.text
        during = c.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
        assert during is not None and during["mode"] == mode, during
        assert during["ends_at_s"] == before["ends_at_s"], (before, during)
        assert during["rate_bpm"] == pytest.approx(before["rate_bpm"]), (before, during)
        state = c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["status"]
        assert state["in_break"], state
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        after = c.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
        assert after is not None and after["mode"] == mode, after
        assert after["ends_at_s"] == before["ends_at_s"], (before, after)
        results = c.get(f"/api/v1/sessions/{sid}/breathing/assessments").json()["results"]
        assert not any((x.get("data") or x).get("type") == "assessment_stopped" for x in results)
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_the_state_read_has_a_break_whose_event_is_not_yet_written(
    serve: Callable[..., Server],
) -> None:
    """A page that subscribed to the live socket reads the state for what came before: a break
    started a moment earlier, its event not yet committed, was missing from the written history
    it read. The state comes from memory: another connection holds SQLite's write lock (the
    event cannot be written meanwhile) and the state read has the break, with the live seq it is
    as of; ending it and snoozing move the banner on."""
    server = serve()
    with server.client() as c:
        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 2, "speed": 1}}
        ).json()["id"]
        r = c.get(f"/api/v1/sessions/{sid}/microbreaks")
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["banner"] == "none" and first["seq"] >= 1, first
        lock = sqlite3.connect(server.settings.database_path, timeout=30.0, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # no write commits until released
            r = c.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "walk"})
            assert r.status_code == 200, r.text
            history = c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
            assert history["events"] == [], "the break's event was written: no race to show"
            state = c.get(f"/api/v1/sessions/{sid}/microbreaks").json()
            assert state["banner"] == "break", state
            assert state["status"]["in_break"] and state["status"]["break_kind"] == "walk"
            assert state["seq"] > first["seq"], (first, state)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        assert c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["banner"] == "measuring"
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/snooze", json={"minutes": 5}).is_success
        assert c.get(f"/api/v1/sessions/{sid}/microbreaks").json()["banner"] == "none"
        c.post(f"/api/v1/sessions/{sid}/stop")
        history = c.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        kinds = {e["event"] for e in history["events"]}
        # written once the lock went: nothing lost
        assert {"break_started", "break_ended", "micro_break_snoozed"} <= kinds, kinds


def test_micro_break_settings_have_bounds_null_clears_and_errors_name_the_setting(
    serve: Callable[..., Server],
) -> None:
    """Review: 1e300 was stored, null left an override in place, and range errors said
    ``loc: ["body"]``."""
    server = serve()
    url = "/api/v1/microbreaks/settings"
    with server.client() as c:
        huge = {"window_s": 1e300, "memory_s": 1e300, "warmup_s": 1e300, "sustain_s": 1e300}
        r = c.put(url, json=huge)
        assert r.status_code == 422, r.text
        assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("body", k) for k in huge}
        assert c.get(url).json()["overrides"] == {}
        r = c.put(url, json={"window_s": 601})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "window_s"]
        for body, name in [
            ({"step_s": 0}, "step_s"),
            ({"quiet_hours": [["25:00", "07:00"]]}, "quiet_hours"),
            ({"memory_s": 5, "step_s": 10}, "memory_s"),
        ]:
            r = c.put(url, json=body)
            assert r.status_code == 422, body
            # a quiet-hours pair's time: where in the pair too (PUT /dayplan's validation)
            assert r.json()["errors"][0]["loc"][:2] == ["body", name], r.json()
        ok = c.put(url, json={"window_s": 30, "time_on_task_s": 3600, "quiet_hours": []})
        assert ok.status_code == 200, ok.text
        # quiet hours are the day plan's, never an override; null leaves them as they are
        assert ok.json()["overrides"] == {"window_s": 30, "time_on_task_s": 3600}
        assert ok.json()["settings"]["quiet_hours"] == []
        cleared = c.put(url, json={"window_s": None, "quiet_hours": None}).json()
        assert cleared["overrides"] == {"time_on_task_s": 3600}
        assert cleared["settings"]["window_s"] == 60.0
        assert cleared["settings"]["quiet_hours"] == []
        assert c.get("/api/v1/dayplan").json()["quiet_hours"] == []
        assert c.get(url).json()["overrides"] == {"time_on_task_s": 3600}
    # an override stored before the bounds (by an older version) is ignored, not fatal
    storage = server.app.state.storage
    storage.put_value(
        "settings", "microbreak", {"memory_s": 1e300, "cooldown_s": 60}, updated_at=1.0
    ).result(timeout=10)
    with server.client() as c:
        got = c.get(url).json()
        assert got["overrides"] == {"cooldown_s": 60}
        assert got["settings"]["memory_s"] == 28_800.0
        s = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 60}})
        assert s.status_code == 201, s.text
        c.post(f"/api/v1/sessions/{s.json()['id']}/stop")
        assert c.put(url, json={"hr_z": 1.0}).json()["overrides"] == {"cooldown_s": 60, "hr_z": 1.0}


def test_every_setting_range_is_in_the_schema_and_is_what_the_server_accepts(
    serve: Callable[..., Server],
) -> None:
    """Review: the schema had ``ge``/``le`` (not JSON Schema) inside an inner ``anyOf``, no
    lower bounds, and ``ln_rmssd_z`` published ``le: 0`` though 0 is refused."""
    server = serve()
    url = "/api/v1/microbreaks/settings"
    tiny = math.ulp(0.0)
    # the combinations: memory_s must exceed step_s (its lower end is tried with step_s at its
    # own lowest), min_beats fit in window_s at 300 beats/min (2,400 with a 480-s window or
    # longer; the shortest window_s is then 0.2 s, one beat)
    companions: dict[str, dict[str, float]] = {
        "memory_s": {"step_s": tiny},
        "min_beats": {"window_s": 600},
        "window_s": {"min_beats": 1},
    }
    lowest_in = {"memory_s": 2 * tiny, "window_s": 0.2}
    with server.client() as c:
        doc = c.get("/api/v1/openapi.json").json()
        props = doc["components"]["schemas"]["MicroBreakSettingsIn"]["properties"]
        numeric = [
            f.name for f in dataclasses.fields(MicroBreakSettings) if f.name != "quiet_hours"
        ]
        assert sorted(SETTING_RANGES) == sorted(numeric)
        for name in numeric:
            allowed, prop = SETTING_RANGES[name], props[name]
            assert allowed.high == SETTING_LIMITS[name][1], name
            low_key = "exclusiveMinimum" if allowed.low_open else "minimum"
            high_key = "exclusiveMaximum" if allowed.high_open else "maximum"
            bounds = {k: v for k, v in prop.items() if "imum" in k}
            assert bounds == {low_key: allowed.low, high_key: allowed.high}, (name, prop)
            # the bounds on the property, not pydantic's ge/le inside its union
            assert all(set(m) == {"type"} for m in prop["anyOf"]), (name, prop)
            is_int = {"type": "integer"} in prop["anyOf"] and {"type": "number"} not in prop[
                "anyOf"
            ]

            def step(x: float, toward: float, is_int: bool = is_int) -> float:
                return x + (1 if toward > x else -1) if is_int else math.nextafter(x, toward)

            lo_in = allowed.low if not allowed.low_open else step(allowed.low, math.inf)
            lo_out = allowed.low if allowed.low_open else step(allowed.low, -math.inf)
            hi_in = allowed.high if not allowed.high_open else step(allowed.high, -math.inf)
            hi_out = allowed.high if allowed.high_open else step(allowed.high, math.inf)
            lo_in = lowest_in.get(name, lo_in)
            for value, ok in [(lo_in, True), (hi_in, True), (lo_out, False), (hi_out, False)]:
                if is_int:
                    value = int(value)
                body: dict[str, Any] = {**companions.get(name, {}), name: value}
                r = c.put(url, json=body)
                if ok:
                    assert r.status_code == 200, (name, value, r.text)
                    assert r.json()["overrides"][name] == value
                    c.put(url, json=dict.fromkeys(body))
                else:
                    assert r.status_code == 422, (name, value, r.text)
                    assert [e["loc"] for e in r.json()["errors"]] == [["body", name]], r.text
        assert c.get(url).json()["overrides"] == {}


def test_readme_tells_what_null_does_in_the_settings_put() -> None:
    """Review: README said ``quiet_hours: null`` restores 22:00-07:00 and every key ``null`` is
    a reset, while the service leaves the day plan's quiet hours (the test above)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("**Changing the settings**")
    paragraph = " ".join(readme[start : readme.index("\n\n", start)].split())
    assert "`null` the default 22:00-07:00" not in paragraph
    assert "every key `null` is a reset" not in paragraph
    assert "`quiet_hours: null` leaves the plan's" in paragraph
    assert "numeric setting given as `null` clears its override" in paragraph


def test_min_beats_that_no_window_can_hold_is_refused_naming_both_settings(
    serve: Callable[..., Server],
) -> None:
    """Code review: ``{"window_s": 30, "min_beats": 2400}`` was accepted though a 30-s window
    holds at most 150 beats at 300 beats/min: no window would ever count."""
    server = serve()
    url = "/api/v1/microbreaks/settings"
    with server.client() as c:
        r = c.put(url, json={"window_s": 30, "min_beats": 2400})
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert [e["loc"] for e in errors] == [["body", "min_beats"], ["body", "window_s"]]
        assert "window_s" in errors[0]["msg"] and "150 beats" in errors[0]["msg"]
        assert c.get(url).json()["overrides"] == {}
        # one key at a time against the stored other: refused too
        assert c.put(url, json={"window_s": 30}).status_code == 200
        r = c.put(url, json={"min_beats": 151})
        assert r.status_code == 422 and r.json()["errors"][1]["loc"] == ["body", "window_s"]
        assert c.put(url, json={"min_beats": 150}).status_code == 200
        r = c.put(url, json={"window_s": 29})
        assert r.status_code == 422, r.text
        assert c.get(url).json()["overrides"] == {"window_s": 30, "min_beats": 150}
