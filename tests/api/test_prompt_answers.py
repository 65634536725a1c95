"""A prompt is answered, done or dismissed once (review findings on the working day).

Answers that race (a double-click, two devices) used to all be stored: three concurrent answers
to one check-in made three check-in rows, and the prompt kept the first answer's items with
the last one's note. Now the answer is one transaction of the storage writer, guarded by the
prompt being open: the first wins, every other is a 409 and stores nothing.

Action prompts (a breathing reset, a screen break) could only be answered with a text; now
``POST /api/v1/prompts/{id}/done`` records that the person did it (state ``done``), and
compliance counts it.

Concurrency is real: requests from threads released together by a barrier, against a real
uvicorn with a real SQLite file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from websockets.sync.client import connect

from api.cli import app as cli_app
from api.messages import PromptMessage, parse_live_message
from api.storage import Storage
from tests._clock import SetClock, berlin
from tests.api.conftest import Server, person_on_a_strap
from tests.api.test_dayplan import _wait_prompt

#: Concurrent requests per race (one wins).
N_RACERS = 8
#: A strap session (the tests' person_on_a_strap source: a simulated person on the strap).
STRAP = {"kind": "ble", "address": "AA:BB:CC:00:00:01"}


@pytest.fixture
def planned(serve: Callable[..., Server]) -> tuple[Server, SetClock]:
    """A server on a set clock (Monday 08:00) whose plan has a check-in at 09:00, a breathing
    reset at 09:10 and a screen break at 09:20."""
    clock = SetClock(berlin(2026, 12, 7, 8, 0))
    server = serve(plan_clock=lambda tz: clock)
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        plan.pop("default_texts")
        plan.pop("calendar_feed_url")
        plan["interventions"] = [
            {"id": "checkin", "kind": "checkin", "start": "09:00"},
            {"id": "reset", "kind": "breathing_reset", "start": "09:10"},
            {"id": "detox", "kind": "detox_reminder", "start": "09:20"},
        ]
        r = c.put("/api/v1/dayplan", json=plan)
        assert r.status_code == 200, r.text
    return server, clock


def _race(server: Server, requests: list[tuple[str, dict[str, Any] | None]]) -> list[Any]:
    """POST each (path, body) from its own thread and connection, released together."""
    clients = [server.client() for _ in requests]
    for c in clients:  # connected before the race: the requests leave at the same moment
        assert c.get("/api/v1/prompts", params={"limit": 1}).status_code == 200
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def run(n: int) -> None:
        path, body = requests[n]
        barrier.wait(timeout=10)
        try:
            results[n] = clients[n].post(path, json=body)
        except httpx.HTTPError as exc:  # reported, not lost in the thread
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for c in clients:
        c.close()
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results


def test_concurrent_answers_store_one_answer_and_one_checkin(
    planned: tuple[Server, SetClock],
) -> None:
    server, clock = planned
    clock.set(berlin(2026, 12, 7, 9, 0, 30))
    prompt = _wait_prompt(server, ":checkin")
    path = f"/api/v1/prompts/{prompt['id']}/answer"
    bodies: list[dict[str, Any]] = [
        {
            "items": [{"key": "stress", "value": 1 + n % 5}, {"key": "energy", "value": 5 - n % 5}],
            "note": f"n{n}",
        }
        for n in range(N_RACERS)
    ]
    results = _race(server, [(path, b) for b in bodies])

    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * (N_RACERS - 1), [(r.status_code, r.text) for r in results]
    (won,) = [n for n, r in enumerate(results) if r.status_code == 200]
    for r in results:
        if r.status_code == 409:
            assert r.json()["code"] == "prompt_closed"
            assert "is answered, no longer open" in r.json()["detail"]
    body = bodies[won]
    given = {i["key"]: i["value"] for i in body["items"]}
    with server.client() as c:
        checkins = c.get("/api/v1/checkins").json()["checkins"]
        stored = c.get("/api/v1/prompts", params={"state": "answered"}).json()["prompts"]
    # one check-in row, from the answer that won, and the answer says which
    assert [(x["stress"], x["energy"], x["note"]) for x in checkins] == [
        (given["stress"], given["energy"], body["note"])
    ]
    assert results[won].json()["checkin_id"] == checkins[0]["id"]
    # the prompt's items and note come from that same answer
    (answered,) = stored
    assert answered["id"] == prompt["id"]
    assert {a["key"]: a["value"] for a in answered["answers"]} == given
    assert answered["note"] == body["note"]


def test_an_answer_is_stored_only_while_the_prompt_is_open(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db.sqlite3")
    try:
        item = {"label": "Stress", "scale_min": 1, "scale_max": 5}
        storage.add_prompt(
            key="2026-12-07:checkin",
            kind="checkin",
            trigger="planned",
            text="How are you?",
            state="sent",
            due_at=100.0,
            expires_at=3700.0,
            at=100.0,
            items=[{"key": "stress", **item}],
        ).result(timeout=10)
        (pid,) = storage.query("SELECT id FROM prompts")[0]
        first = storage.answer_prompt(
            pid,
            at=110.0,
            text=None,
            note="first",
            items=[{"key": "stress", **item, "value": 2}],
            checkin=(2, 3),
        )
        second = storage.answer_prompt(
            pid,
            at=111.0,
            text=None,
            note="second",
            items=[{"key": "stress", **item, "value": 5}],
            checkin=(5, 1),
        )
        assert first.result(timeout=10).stored and first.result().checkin_id == 1
        assert not second.result(timeout=10).stored and second.result().checkin_id is None
        row = storage.get_prompt(pid)
        assert row is not None
        assert (row["state"], row["answered_at"], row["note"]) == ("answered", 110.0, "first")
        assert [a["value"] for a in storage.prompt_answers([pid])[pid]] == [2]
        assert [(c["stress"], c["note"]) for c in storage.checkins()] == [(2, "first")]
        # nor after a dismiss: closing reports whether the prompt was still open
        assert storage.close_prompt(pid, state="dismissed", at=120.0).result(timeout=10) is False
        assert storage.mark_prompt_done(pid, at=120.0).result(timeout=10) is False
    finally:
        storage.close()


def test_a_failing_answer_writes_nothing_and_the_writer_goes_on(tmp_path: Path) -> None:
    # all or nothing: an answer whose check-in row the database refuses (stress 9 breaks the
    # checkins table's CHECK) leaves the prompt open, with no items, and later writes work
    storage = Storage(tmp_path / "db.sqlite3")
    try:
        item = {"key": "stress", "label": "Stress", "scale_min": 1, "scale_max": 5}
        storage.add_prompt(
            key="k",
            kind="checkin",
            trigger="planned",
            text="How are you?",
            state="sent",
            due_at=100.0,
            expires_at=3700.0,
            at=100.0,
            items=[item],
        ).result(timeout=10)
        (pid,) = storage.query("SELECT id FROM prompts")[0]
        bad = storage.answer_prompt(
            pid, at=110.0, text=None, note="x", items=[{**item, "value": 2}], checkin=(9, 3)
        )
        with pytest.raises(Exception, match="database write failed"):
            bad.result(timeout=10)
        row = storage.get_prompt(pid)
        assert row is not None and row["state"] == "sent" and row["note"] is None
        assert storage.prompt_answers([pid])[pid] == [] and storage.checkins() == []
        good = storage.answer_prompt(
            pid, at=111.0, text=None, note="y", items=[{**item, "value": 4}], checkin=(4, 3)
        )
        assert good.result(timeout=10).stored
        assert [(c["stress"], c["note"]) for c in storage.checkins()] == [(4, "y")]
    finally:
        storage.close()


def test_action_prompts_are_done_once_and_count_as_complied(
    planned: tuple[Server, SetClock], tmp_path: Path
) -> None:
    server, clock = planned
    with server.client() as c:
        r = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 1, "speed": 1}}
        )
        assert r.status_code == 201, r.text
        session_id = r.json()["id"]
    with connect(
        f"{server.ws_url}/api/v1/sessions/{session_id}/live?token={server.token}",
        open_timeout=10,
    ) as ws:
        assert parse_live_message(ws.recv(timeout=10)).type == "status"
        clock.set(berlin(2026, 12, 7, 9, 12))
        reset = _wait_prompt(server, ":reset")
        assert reset["kind"] == "breathing_reset"
        clock.set(berlin(2026, 12, 7, 9, 14))
        # the person starts the reset (Start on the page): done, at once, on the plan clock
        results = _race(server, [(f"/api/v1/prompts/{reset['id']}/done", None)] * N_RACERS)
        codes = sorted(r.status_code for r in results)
        assert codes == [200] + [409] * (N_RACERS - 1), [r.text for r in results]
        done = next(r.json() for r in results if r.status_code == 200)
        assert done["state"] == "done"
        assert done["answered_at"] == berlin(2026, 12, 7, 9, 14).timestamp()
        assert done["response_latency_s"] == pytest.approx(120.0)
        assert done["answer_text"] is None
        # every live socket hears it once
        while True:
            m = parse_live_message(ws.recv(timeout=10))
            if isinstance(m, PromptMessage) and m.event != "sent":
                break
        assert m.event == "done" and m.prompt.id == reset["id"]

    with server.client() as c:
        # done is for action prompts; a check-in is answered
        clock.set(berlin(2026, 12, 7, 9, 15))
        checkin = _wait_prompt(server, ":checkin")
        r = c.post(f"/api/v1/prompts/{checkin['id']}/done")
        assert r.status_code == 422 and r.json()["code"] == "invalid_answer", r.text
        assert "a checkin prompt is answered" in r.json()["detail"]
        # a done prompt is closed to answers and dismissals
        r = c.post(f"/api/v1/prompts/{reset['id']}/answer", json={"text": "did it"})
        assert (r.status_code, r.json()["code"]) == (409, "prompt_closed"), r.text
        assert "is done, no longer open" in r.json()["detail"]
        r = c.post(f"/api/v1/prompts/{reset['id']}/dismiss")
        assert (r.status_code, r.json()["code"]) == (409, "prompt_closed"), r.text
        assert c.post("/api/v1/prompts/99999/done").status_code == 404
        # the screen break: done and dismiss racing, one of them wins
        clock.set(berlin(2026, 12, 7, 9, 21))
        detox = _wait_prompt(server, ":detox")
        base = f"/api/v1/prompts/{detox['id']}"
        results = _race(server, [(f"{base}/done", None), (f"{base}/dismiss", None)] * 4)
        assert sorted(r.status_code for r in results) == [200] + [409] * 7
        (winner,) = [r.json() for r in results if r.status_code == 200]
        assert winner["state"] in ("done", "dismissed")
        stored = c.get("/api/v1/prompts", params={"state": winner["state"]}).json()["prompts"]
        assert detox["id"] in [p["id"] for p in stored]
        n_done = 2 if winner["state"] == "done" else 1
        assert c.get("/api/v1/prompts", params={"state": "done"}).json()["total"] == n_done
        # answered + done over sent, in the export too
        r = c.post(
            f"/api/v1/prompts/{checkin['id']}/answer",
            json={"items": [{"key": "stress", "value": 2}, {"key": "energy", "value": 3}]},
        )
        assert r.status_code == 200, r.text
        doc = c.get("/api/v1/openapi.json").json()
        assert "/api/v1/prompts/{prompt_id}/done" in doc["paths"]
        state = doc["components"]["schemas"]["PromptOut"]["properties"]["state"]
        assert "done" in json.dumps(state)
        c.post(f"/api/v1/sessions/{session_id}/stop")
    out = tmp_path / "export"
    result = CliRunner().invoke(
        cli_app,
        ["export", "--prompts", "--out", str(out), "--data-dir", str(server.settings.data_dir)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "prompts.json").read_text())
    assert (summary["n_sent"], summary["n_answered"], summary["n_done"]) == (3, 1, n_done)
    assert summary["n_dismissed"] == 2 - n_done
    assert summary["compliance"] == pytest.approx((1 + n_done) / 3)


def test_action_prompts_take_no_answer(planned: tuple[Server, SetClock]) -> None:
    # a breathing reset or a screen break is done or dismissed: a text (or items, a note)
    # posted as its answer is a 422 naming the field and the way to record it, and stores
    # nothing (the prompt stays open, so /done still records it)
    server, clock = planned
    clock.set(berlin(2026, 12, 7, 9, 21))
    reset = _wait_prompt(server, ":reset")
    detox = _wait_prompt(server, ":detox")
    with server.client() as c:
        for prompt, body, where in [
            (reset, {"text": "did it"}, "text"),
            (reset, {"text": ""}, "body"),
            (reset, {"note": "later"}, "note"),
            (detox, {"text": "walked", "note": "nice"}, "text"),
            (detox, {"items": [{"key": "stress", "value": 2}]}, "items"),
            (detox, {}, "body"),
        ]:
            r = c.post(f"/api/v1/prompts/{prompt['id']}/answer", json=body)
            assert r.status_code == 422, (body, r.text)
            problem = r.json()
            assert r.headers["content-type"].startswith("application/problem+json")
            assert problem["code"] == "invalid_answer"
            assert problem["detail"] == (
                f"{where}: a {prompt['kind']} prompt takes no answer; it is done "
                f"(POST /api/v1/prompts/{prompt['id']}/done) or dismissed"
            )
        stored = {p["id"]: p for p in c.get("/api/v1/prompts").json()["prompts"]}
        for prompt in (reset, detox):
            assert stored[prompt["id"]]["state"] == "sent"
            assert stored[prompt["id"]]["answer_text"] is None
            assert stored[prompt["id"]]["note"] is None
        r = c.post(f"/api/v1/prompts/{reset['id']}/done")
        assert r.status_code == 200 and r.json()["state"] == "done", r.text
        # the document tells a generated client which answer each kind takes
        doc = c.get("/api/v1/openapi.json").json()
    answer_in = doc["components"]["schemas"]["AnswerIn"]
    assert "breathing_reset" in answer_in["properties"]["text"]["description"]
    assert "/done" in answer_in["description"]
    responses = doc["paths"]["/api/v1/prompts/{prompt_id}/answer"]["post"]["responses"]
    assert "invalid_answer" in responses["422"]["description"]
    assert "Problem" in json.dumps(responses["422"]["content"])


def test_a_checkin_answered_during_a_session_is_the_sessions_and_history_counts_breaks(
    planned: tuple[Server, SetClock],
) -> None:
    """The review: a check-in answered on its card while a session ran was stored with no
    session (History: "Check-ins 0"), and the History's "Breaks" column counted flags."""
    server, clock = planned
    with server.client() as c:
        sid = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 1}}).json()[
            "id"
        ]
        r = c.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "walk"})
        assert r.status_code == 200, r.text
        assert c.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        clock.set(berlin(2026, 12, 7, 9, 0, 30))
        prompt = _wait_prompt(server, ":checkin")
        items = [{"key": "stress", "value": 2}, {"key": "energy", "value": 4}]
        r = c.post(f"/api/v1/prompts/{prompt['id']}/answer", json={"items": items})
        assert r.status_code == 200, r.text
        checkins = c.get("/api/v1/checkins").json()["checkins"]
        assert [(x["id"], x["session_id"]) for x in checkins] == [(r.json()["checkin_id"], sid)]
        assert c.post(f"/api/v1/sessions/{sid}/stop").status_code == 200
        (row,) = [s for s in c.get("/api/v1/sessions").json()["sessions"] if s["id"] == sid]
    assert row["summary"]["n_checkins"] == 1
    assert row["summary"]["n_breaks"] == 1  # the break taken; no flag was raised
    assert row["summary"]["n_micro_breaks"] == 0


def test_a_checkin_on_the_real_clock_belongs_to_a_strap_session_only(
    serve: Callable[..., Server],
) -> None:
    """The code review: with no strap running, a check-in was attached to the newest session of
    any kind, a replay's or a simulated person's, on the real clock too. Only the demo clock
    (``manager.quiet_for_all``) makes a simulated day the person's."""
    clock = SetClock(berlin(2026, 12, 7, 8, 0))
    server = serve(plan_clock=lambda tz: clock, source_factory=person_on_a_strap({"speed": 1}))
    server.app.state.sessions.quiet_for_all = False  # the rule of the real clock
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        plan["interventions"] = [
            {"id": "first", "kind": "checkin", "start": "09:00"},
            {"id": "second", "kind": "checkin", "start": "09:30"},
        ]
        assert c.put("/api/v1/dayplan", json=plan).status_code == 200
        strap = c.post("/api/v1/sessions", json={"source": STRAP}).json()["id"]
        sim = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 1}})
        sim_id = sim.json()["id"]
        items = [{"key": "stress", "value": 2}, {"key": "energy", "value": 4}]
        clock.set(berlin(2026, 12, 7, 9, 0, 30))
        first = _wait_prompt(server, ":first")
        r = c.post(f"/api/v1/prompts/{first['id']}/answer", json={"items": items})
        assert r.status_code == 200, r.text
        assert c.post(f"/api/v1/sessions/{strap}/stop").status_code == 200
        clock.set(berlin(2026, 12, 7, 9, 30, 30))
        second = _wait_prompt(server, ":second")
        r = c.post(f"/api/v1/prompts/{second['id']}/answer", json={"items": items})
        assert r.status_code == 200, r.text
        checkins = c.get("/api/v1/checkins").json()["checkins"]
        c.post(f"/api/v1/sessions/{sim_id}/stop")
    # the second (only a simulated person ran then) has no session
    assert [x["session_id"] for x in checkins] == [strap, None]
