"""The micro-break settings' quiet hours and the day plan (code review of the merged change).

``PUT /api/v1/microbreaks/settings`` with ``quiet_hours`` sets the day plan's: its pairs are
validated as ``PUT /api/v1/dayplan`` validates its quiet hours (the same model, before any
write), the plan is saved from the plan as it is when saved (a ``PUT /dayplan`` meanwhile is
kept), and quiet hours an older version stored as an override move into the plan once.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from api.pipeline import MICROBREAK_SETTINGS_KEY
from api.routes.dayplan import with_quiet_hours
from breathing.dayplan import DayPlan
from tests.api.conftest import Server

ELEVEN = [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(11)]


def test_too_many_quiet_hours_are_a_422_naming_them_and_nothing_is_stored(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        before = c.get("/api/v1/dayplan").json()
        r = c.put("/api/v1/microbreaks/settings", json={"cooldown_s": 600, "quiet_hours": ELEVEN})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "quiet_hours"]
        # the other fields of the refused request are not saved either
        assert c.get("/api/v1/microbreaks/settings").json()["overrides"] == {}
        assert c.get("/api/v1/dayplan").json() == before
        # PUT /dayplan has the same cap
        r = c.put(
            "/api/v1/dayplan", json={"quiet_hours": [{"start": a, "end": b} for a, b in ELEVEN]}
        )
        assert r.status_code == 422


@pytest.mark.parametrize("start", ["1200", "12", "T12:00"])
def test_settings_quiet_hours_take_the_forms_the_day_plan_takes(
    serve: Callable[..., Server], start: str
) -> None:
    server = serve()
    with server.client() as c:
        plan = c.put("/api/v1/dayplan", json={"quiet_hours": [{"start": start, "end": "13:00"}]})
        assert plan.status_code == 422
        r = c.put(
            "/api/v1/microbreaks/settings",
            json={"cooldown_s": 600, "quiet_hours": [[start, "13:00"]]},
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "quiet_hours", 0, 0]
        assert c.get("/api/v1/microbreaks/settings").json()["overrides"] == {}
        ok = c.put("/api/v1/microbreaks/settings", json={"quiet_hours": [["12:00:30", "13:00"]]})
        assert ok.status_code == 200, ok.text
        assert c.get("/api/v1/dayplan").json()["quiet_hours"] == [
            {"start": "12:00:30", "end": "13:00:00"}
        ]


def test_with_quiet_hours_is_the_day_plans_validation() -> None:
    with pytest.raises(RequestValidationError) as caught:
        with_quiet_hours(DayPlan(), [(a, b) for a, b in ELEVEN])
    assert caught.value.errors()[0]["loc"] == ("body", "quiet_hours")
    assert with_quiet_hours(DayPlan(), []).quiet_hours == ()


def test_a_day_plan_saved_while_the_settings_are_written_is_kept(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PUT /dayplan between the settings' read of the plan and their save is not lost."""
    server = serve()
    storage = server.app.state.storage
    put_value = storage.put_value
    entered, gate = threading.Event(), threading.Event()

    def held_put_value(table: str, key: str, value: Any, **kw: Any) -> Any:
        written = put_value(table, key, value, **kw)
        if key != MICROBREAK_SETTINGS_KEY:
            return written
        held: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def release() -> None:  # the overrides' write completes once the gate opens
            gate.wait(30)
            held.set_result(written.result())

        entered.set()
        threading.Thread(target=release, daemon=True).start()
        return held

    monkeypatch.setattr(storage, "put_value", held_put_value)
    result: dict[str, Any] = {}

    def settings_put() -> None:
        with server.client() as c:
            result["r"] = c.put(
                "/api/v1/microbreaks/settings",
                json={"cooldown_s": 600, "quiet_hours": [["12:00", "13:00"]]},
            )

    worker = threading.Thread(target=settings_put)
    worker.start()
    try:
        assert entered.wait(30), "the settings PUT did not write its overrides"
        with server.client() as c:
            r = c.put("/api/v1/dayplan", json={"work_start": "07:00"})
            assert r.status_code == 200, r.text
    finally:
        gate.set()
        worker.join(30)
    assert result["r"].status_code == 200, result["r"].text
    with server.client() as c:
        assert c.get("/api/v1/dayplan").json()["work_start"] == "07:00:00"
        assert server.app.state.prompts.plan.work_start.hour == 7
