"""The day plan's time zone: a new plan takes the machine's zone, a saved plan keeps its own.

The pure planner reads no machine state (its own default is UTC); the service resolves the
machine's zone (``api.dayplan.machine_timezone``) and passes it in. The tests' session pins the
machine zone to Berlin through ``HRVPACE_TIMEZONE`` (tests/conftest.py); these tests move it.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.dayplan import PLAN_KEY, load_plan, machine_timezone, plan_to_model
from api.settings import ConfigError, load_settings
from api.timezones import zone_names
from breathing.dayplan import DayPlan, QuietHours
from tests._clock import SetClock
from tests.api.conftest import Server

NEW_YORK = ZoneInfo("America/New_York")


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
    # HRVPACE_TIMEZONE over everything
    env = {"HRVPACE_TIMEZONE": "Australia/Sydney", "TZ": "Europe/Lisbon"}
    assert machine_timezone(env, etc) == "Australia/Sydney"


def test_a_link_into_posix_or_right_is_the_zone_it_copies(tmp_path: Path) -> None:
    """A machine whose /etc/localtime (or TZ) names a copy of a zone gets the zone's canonical
    name, one a browser takes (Chromium refuses ``right/...``, ``posixrules``, ``localtime``)."""
    etc = tmp_path / "etc"
    etc.mkdir()
    os.symlink("/usr/share/zoneinfo/posix/Europe/Berlin", etc / "localtime")
    assert machine_timezone({}, etc) == "Europe/Berlin"
    assert machine_timezone({"TZ": ":right/Asia/Tokyo"}, etc) == "Asia/Tokyo"
    # a name that is no zone of its own is passed over: a folder, localtime, posixrules
    for tz in ("Etc", "Europe", "localtime", "posixrules", "Factory"):
        assert machine_timezone({"TZ": tz}, etc) == "Europe/Berlin", tz


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
        ("Europe", "a group of zones, not a zone"),  # a folder of the zoneinfo tree
        ("right/UTC", "use the IANA name 'UTC'"),
        ("Mars/Olympus", "an IANA name"),
    ],
)
def test_a_mistyped_hrvpace_timezone_is_refused_not_passed_over(
    tmp_path: Path, value: str, hint: str
) -> None:
    """Review finding 7: ``HRVPACE_TIMEZONE=Europe/Berln`` gave a plan in UTC, nothing said."""
    with pytest.raises(ConfigError) as err:
        machine_timezone({"HRVPACE_TIMEZONE": value}, tmp_path)
    assert f"HRVPACE_TIMEZONE: unknown time zone {value!r}" in str(err.value)
    assert hint in str(err.value)


@pytest.mark.parametrize("command", [["serve"], ["demo", "--no-open", "--port", "0"], ["share"]])
@pytest.mark.parametrize("value", ["Europe", "Europe/Berln"])
def test_serve_and_share_refuse_a_bad_hrvpace_timezone_with_exit_code_2(
    tmp_path: Path, command: list[str], value: str
) -> None:
    """Review findings 5 and 7: ``HRVPACE_TIMEZONE=Europe hrvpace serve`` ended with exit code
    3 and a traceback through machine_timezone; ``Europe/Berln`` served a plan in UTC."""
    env = {**os.environ, "HRVPACE_TIMEZONE": value}
    run = subprocess.run(
        [sys.executable, "-m", "api", *command, "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr
    said = " ".join(re.sub("[\u2500-\u257f]", " ", run.stderr).split())  # no box drawing
    assert f"HRVPACE_TIMEZONE: unknown time zone {value!r}" in said
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "data" / "hrvpace.sqlite3").exists()


def _hrvpace(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_commands_without_the_day_plan_work_with_a_bad_hrvpace_timezone(tmp_path: Path) -> None:
    """Review (rev_code3) finding 3: ``HRVPACE_TIMEZONE=Europe/Berln hrvpace sessions`` (and
    export, replay, report) ended with exit code 2 though they never use the day plan."""
    from api.storage import Storage

    data = tmp_path / "data"
    data.mkdir()
    Storage(data / "hrvpace.sqlite3").close()  # a data dir the service has run in
    bad = {"HRVPACE_TIMEZONE": "Europe/Berln"}
    listed = _hrvpace(["sessions", "--json", "--data-dir", str(data)], tmp_path, **bad)
    assert (listed.returncode, listed.stdout) == (0, ""), listed.stderr
    out = tmp_path / "out"
    exported = _hrvpace(
        ["export", "--prompts", "--out", str(out), "--data-dir", str(data)], tmp_path, **bad
    )
    assert exported.returncode == 0, exported.stderr
    assert (out / "prompts.json").is_file()
    # stopping to share reads no plan: never blocked by the zone variable
    stopped = _hrvpace(["share", "--stop", "--data-dir", str(data)], tmp_path, **bad)
    assert "HRVPACE_TIMEZONE" not in stopped.stderr and "not sharing" in stopped.stderr
    for run in (listed, exported, stopped):
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "zone",
    [
        "Etc",
        "Europe",
        "America",
        "right/UTC",
        "posix/Europe/Berlin",
        "posixrules",
        "localtime",
        "Factory",
        "/usr/share/zoneinfo/UTC",
        "Europe/../UTC",
    ],
)
def test_a_put_of_a_zone_that_is_no_canonical_name_is_a_422_naming_it(
    module_server: Server, zone: str
) -> None:
    """Review findings 5 and 6: a folder (``Etc``) was a 500; ``right/UTC`` and the like were
    taken, and broke the page (the browser refuses them)."""
    with module_server.client() as c:
        before = c.get("/api/v1/dayplan").json()
        r = c.put("/api/v1/dayplan", json={"timezone": zone})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_dayplan"
        assert f"unknown time zone {zone!r}" in r.json()["detail"]
        assert c.get("/api/v1/dayplan").json()["timezone"] == before["timezone"]


def test_every_zone_the_service_takes_opens() -> None:
    """The names a plan takes are the system's IANA zones, each one opening (no folder)."""
    names = zone_names()
    assert {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"} <= names
    assert not {"localtime", "posixrules", "Factory", "Etc", "Europe"} & names
    assert not [n for n in names if n.startswith(("right/", "posix/"))]
    for name in names:
        DayPlan(timezone=name)


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


class _Stored:
    """A ``settings`` table holding one value (what :func:`load_plan` reads)."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.values: dict[tuple[str, str], Any] = {("settings", PLAN_KEY): plan}

    def get_value(self, table: str, key: str) -> tuple[Any, float] | None:
        value = self.values.get((table, key))
        return None if value is None else (value, 0.0)


def _saved_plan(timezone: str) -> dict[str, Any]:
    """A plan as an older version's ``PUT`` stored it, in ``timezone``."""
    plan = DayPlan(
        timezone="UTC",
        working_days=frozenset({1, 3, 5}),
        work_start=dtime(7, 15),
        work_end=dtime(15, 45),
        quiet_hours=(QuietHours(dtime(21, 0), dtime(6, 30)),),
        seed=1234,
    )
    return {**plan_to_model(plan).model_dump(mode="json"), "timezone": timezone}


@pytest.mark.parametrize(
    ("stored_zone", "read_as"),
    [
        # names older versions took (ZoneInfo opens them) that no plan takes now
        ("localtime", None),
        ("posixrules", None),
        ("Factory", None),
        # a zone this system's tz database does not know (or no longer knows)
        ("Mars/Olympus", None),
        # a copy of a zone: the zone it copies
        ("right/Asia/Tokyo", "Asia/Tokyo"),
        ("posix/Europe/Lisbon", "Europe/Lisbon"),
    ],
)
def test_a_stored_plan_in_a_zone_no_longer_taken_keeps_everything_else(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    stored_zone: str,
    read_as: str | None,
) -> None:
    """Review (rev_code3) finding 1: a plan saved in ``localtime``, ``posixrules`` or
    ``Factory`` (which the old PUT took) was replaced by the default plan on upgrade: its
    working hours, breaks and check-ins lost, and the page's next save made it for good."""
    monkeypatch.setenv("HRVPACE_TIMEZONE", "America/New_York")  # the machine's zone
    stored = _saved_plan(stored_zone)
    with caplog.at_level(logging.WARNING, logger="api.dayplan"):
        plan = load_plan(_Stored(stored))
    expected_zone = read_as or "America/New_York"
    assert plan.timezone == expected_zone
    assert plan_to_model(plan).model_dump(mode="json") == {**stored, "timezone": expected_zone}
    assert (plan.work_start, plan.work_end, plan.seed) == (dtime(7, 15), dtime(15, 45), 1234)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert repr(stored_zone) in warning and repr(expected_zone) in warning


def test_a_stored_plan_in_a_canonical_zone_is_read_as_saved(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HRVPACE_TIMEZONE", "America/New_York")
    with caplog.at_level(logging.WARNING, logger="api.dayplan"):
        plan = load_plan(_Stored(_saved_plan("Asia/Kolkata")))
    assert (plan.timezone, plan.work_start) == ("Asia/Kolkata", dtime(7, 15))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_service_shows_a_localtime_plan_in_the_machine_zone_with_its_hours(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page shows the saved hours (not the default's), so a save keeps them."""
    monkeypatch.setenv("HRVPACE_TIMEZONE", "America/New_York")
    first = serve()
    first.app.state.storage.put_value(
        "settings", PLAN_KEY, _saved_plan("localtime"), updated_at=0.0
    ).result(timeout=10)
    second = serve(settings=load_settings(data_dir=first.settings.data_dir, token="test-token"))
    with second.client() as c:
        plan = c.get("/api/v1/dayplan").json()
        assert (plan["timezone"], plan["work_start"]) == ("America/New_York", "07:15:00")
        assert plan["working_days"] == [1, 3, 5]
        r = c.put("/api/v1/dayplan", json=plan)
        assert r.status_code == 200 and r.json()["work_start"] == "07:15:00"
