"""A fast-clock demo keeps one clock: a check-in without a time is stored on the plan's clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.dayplan import FastClock
from tests.api.conftest import Server


def test_a_checkin_without_a_time_is_on_the_plan_clock(serve: Callable[..., Server]) -> None:
    """The review's demo: the plan ran on Monday 7 December at 60x while a check-in of the check-in
    card was stored on the real date, so "Your days" showed another day than the prompts."""
    # a Monday two to three weeks from the real date, so "not the real date" holds on any day
    # CI runs (a fixed 7 December 2026 failed when the machine's date was 6 December)
    monday = date.today() + timedelta(days=14 + (7 - date.today().weekday()) % 7)
    start = datetime.combine(monday, datetime.min.time()).replace(hour=10, minute=13)
    clock = FastClock.starting_at(start, "Europe/Berlin", speed=60.0)
    server = serve(plan_clock=lambda tz: clock)
    with server.client() as c:
        before = clock.now()
        r = c.post("/api/v1/checkins", json={"stress": 3, "energy": 3})
        after = clock.now()
        assert r.status_code == 201, r.text
        at = r.json()["at"]
        assert before <= at <= after
        assert abs(at - time.time()) > 86400  # not the real date
        day = datetime.fromtimestamp(at, tz=ZoneInfo("Europe/Berlin")).date().isoformat()
        assert day == monday.isoformat()
        # and "Your days" count it on the demo's Monday
        days = {d["day"]: d for d in c.get("/api/v1/dashboard").json()["days"]}
        assert days[monday.isoformat()]["n_checkins"] == 1
