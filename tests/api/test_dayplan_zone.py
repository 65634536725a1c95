"""The day plan's time zone: a new plan takes the machine's zone, a saved plan keeps its own.

The pure planner reads no machine state (its own default is UTC); the service resolves the
machine's zone (``api.dayplan.machine_timezone``) and passes it in. The tests' session pins the
machine zone to Berlin through ``HRVPACE_TIMEZONE`` (tests/conftest.py); these tests move it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from api.dayplan import machine_timezone
from api.settings import load_settings
from tests.api.conftest import Server

NEW_YORK = ZoneInfo("America/New_York")


class SetClock:
    """A plan clock a test sets by hand."""

    def __init__(self, t: datetime) -> None:
        self.t = t.timestamp()

    def now(self) -> float:
        return self.t

    def from_real(self, real_s: float) -> float:
        return real_s


def test_machine_timezone_reads_the_environment_then_etc(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    # nothing to go by: UTC
    assert machine_timezone({}, etc) == "UTC"
    # Debian's /etc/localtime link into the zoneinfo folder
    os.symlink("/usr/share/zoneinfo/America/New_York", etc / "localtime")
    assert machine_timezone({}, etc) == "America/New_York"
    # /etc/timezone is read before the link
    (etc / "timezone").write_text("Asia/Tokyo\n", encoding="utf-8")
    assert machine_timezone({}, etc) == "Asia/Tokyo"
    # TZ before the files (POSIX's ':' prefix accepted); a TZ rule without a name is passed over
    assert machine_timezone({"TZ": ":Europe/Lisbon"}, etc) == "Europe/Lisbon"
    assert machine_timezone({"TZ": "CET-1CEST"}, etc) == "Asia/Tokyo"
    # HRVPACE_TIMEZONE over everything; an unknown name is passed over
    env = {"HRVPACE_TIMEZONE": "Australia/Sydney", "TZ": "Europe/Lisbon"}
    assert machine_timezone(env, etc) == "Australia/Sydney"
    assert machine_timezone({"HRVPACE_TIMEZONE": "Mars/Olympus"}, etc) == "Asia/Tokyo"


def test_a_new_plan_takes_the_machine_zone_and_days_follow_it(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review's case: on a machine in New York a check-in at 23:30 on 5 December is a
    check-in of 5 December in "Your days", and the morning prompt is due at 09:00 New York."""
    monkeypatch.setenv("HRVPACE_TIMEZONE", "America/New_York")
    clock = SetClock(datetime(2026, 12, 7, 8, 0, tzinfo=NEW_YORK))  # a Monday
    server = serve(plan_clock=lambda tz: clock)
    with server.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        assert plan["timezone"] == "America/New_York"
        late = datetime(2026, 12, 5, 23, 30, tzinfo=NEW_YORK).timestamp()
        r = c.post("/api/v1/checkins", json={"stress": 2, "energy": 4, "at": late})
        assert r.status_code == 201, r.text
        days = {d["day"]: d for d in c.get("/api/v1/dashboard", params={"days": 7}).json()["days"]}
    assert days["2026-12-05"]["n_checkins"] == 1
    assert "2026-12-06" not in days or days["2026-12-06"]["n_checkins"] == 0


def test_a_saved_plan_keeps_its_zone_and_a_put_without_one_keeps_the_current(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HRVPACE_TIMEZONE", "America/New_York")
    first = serve()
    with first.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        # a PUT without the zone keeps the plan's (not the model's UTC default)
        body = {k: v for k, v in plan.items() if k != "timezone"}
        r = c.put("/api/v1/dayplan", json={**body, "work_start": "08:00"})
        assert r.status_code == 200, r.text
        assert r.json()["timezone"] == "America/New_York"
        # an unknown zone is refused, naming why
        r = c.put("/api/v1/dayplan", json={**plan, "timezone": "Mars/Olympus"})
        assert r.status_code == 422 and "unknown time zone" in r.text
    # the machine moves to Tokyo: the saved plan stays in New York
    monkeypatch.setenv("HRVPACE_TIMEZONE", "Asia/Tokyo")
    settings = load_settings(data_dir=first.settings.data_dir, token="test-token")
    second = serve(settings=settings)
    with second.client() as c:
        kept = c.get("/api/v1/dayplan").json()
        assert (kept["timezone"], kept["work_start"]) == ("America/New_York", "08:00:00")
        # the person changes it: the page's "use this device's time zone"
        r = c.put("/api/v1/dayplan", json={**kept, "timezone": "Asia/Tokyo"})
        assert r.status_code == 200 and r.json()["timezone"] == "Asia/Tokyo"


def test_without_a_saved_plan_the_default_follows_the_machine(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HRVPACE_TIMEZONE", "America/New_York")
    first = serve()
    with first.client() as c:
        assert c.get("/api/v1/dayplan").json()["timezone"] == "America/New_York"
    monkeypatch.setenv("HRVPACE_TIMEZONE", "Asia/Tokyo")
    second = serve(settings=load_settings(data_dir=first.settings.data_dir, token="test-token"))
    with second.client() as c:
        assert c.get("/api/v1/dayplan").json()["timezone"] == "Asia/Tokyo"
