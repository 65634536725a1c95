"""Micro-break flags keep the day plan's quiet hours, in the plan's zone, on the plan clock.

The review's day: a plan in New York with quiet hours 22:00-07:00 and 12:00-13:00, the service on
a demo clock (``hrvpace demo --start``). A stressed simulated person at 12:30 New York (18:30 on
the tests' Berlin machine, and whatever the real time is) gets no flag; at 13:05 the flag comes.
The micro-break settings' ``quiet_hours`` are the plan's: one set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from websockets.sync.client import connect

from api.messages import parse_live_message
from tests._clock import SetClock
from tests.api.conftest import Server

NEW_YORK = ZoneInfo("America/New_York")
QUIET = [{"start": "22:00", "end": "07:00"}, {"start": "12:00", "end": "13:00"}]


def test_flags_keep_the_plans_quiet_hours_in_its_zone_on_the_plan_clock(
    serve: Callable[..., Server],
) -> None:
    clock = SetClock(datetime(2026, 12, 7, 12, 30, tzinfo=NEW_YORK))  # a Monday, lunch
    server = serve(plan_clock=lambda tz: clock)
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        body = {k: v for k, v in plan.items() if k != "calendar_feed_url"}
        r = c.put(
            "/api/v1/dayplan", json={**body, "timezone": "America/New_York", "quiet_hours": QUIET}
        )
        assert r.status_code == 200, r.text
        # one set of quiet hours: the micro-break settings show the plan's
        settings = c.get("/api/v1/microbreaks/settings").json()
        assert settings["settings"]["quiet_hours"] == [["22:00", "07:00"], ["12:00", "13:00"]]
        assert "quiet_hours" not in settings["overrides"]

        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 4, "speed": 300}}
        ).json()["id"]
        url = f"{server.ws_url}/api/v1/sessions/{sid}/live?token={server.token}"
        stressed_at = lunch_over_at = None
        deadline = time.monotonic() + 90
        with connect(url, open_timeout=10) as ws:
            for text in ws:
                m = parse_live_message(text)
                assert time.monotonic() < deadline, "no flag within 90 s"
                if m.type == "metrics" and stressed_at is None and m.t_s >= 360:
                    r = c.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 1.0})
                    assert r.status_code == 200
                    stressed_at = m.t_s
                if m.type == "micro_break" and m.event == "micro_break":
                    assert lunch_over_at is not None, (
                        f"flagged at session time {m.t_s:.0f} s, in the plan's quiet hours "
                        "(12:30 New York on the plan clock)"
                    )
                    break
                # stressed for 30 simulated minutes in quiet hours (a flag comes within
                # minutes when not quiet), then the plan clock leaves them
                if m.type == "metrics" and lunch_over_at is None and m.t_s >= 360 + 1800:
                    clock.set(datetime(2026, 12, 7, 13, 5, tzinfo=NEW_YORK))
                    lunch_over_at = m.t_s
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_micro_break_settings_quiet_hours_are_the_day_plans(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        r = c.put("/api/v1/microbreaks/settings", json={"quiet_hours": [["23:00", "06:30"]]})
        assert r.status_code == 200, r.text
        assert r.json()["settings"]["quiet_hours"] == [["23:00", "06:30"]]
        plan = c.get("/api/v1/dayplan").json()
        assert plan["quiet_hours"] == [{"start": "23:00:00", "end": "06:30:00"}]
        bad = c.put("/api/v1/microbreaks/settings", json={"quiet_hours": [["25:00", "06:00"]]})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "quiet_hours", 0, 0]
        assert c.get("/api/v1/dayplan").json()["quiet_hours"] == plan["quiet_hours"]
