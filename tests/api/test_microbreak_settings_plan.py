"""The micro-break settings' quiet hours and the day plan (code review of the merged change).

``PUT /api/v1/microbreaks/settings`` with ``quiet_hours`` sets the day plan's: its pairs are
validated as ``PUT /api/v1/dayplan`` validates its quiet hours (the same model, before any
write), the plan is saved from the plan as it is when saved (a ``PUT /dayplan`` meanwhile is
kept), quiet hours an older version stored as an override move into the plan once, and two
settings PUTs at once keep each other's overrides (one waits for the other's save).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from api.dayplan import PLAN_KEY, plan_to_model
from api.pipeline import MICROBREAK_SETTINGS_KEY
from api.routes.dayplan import with_quiet_hours
from api.settings import load_settings
from api.storage import Storage
from breathing.dayplan import DayPlan
from tests.api.conftest import Server, asgi_service

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


def _older_version_data_dir(data_dir: Path, overrides: dict[str, Any], plan: Any = None) -> None:
    """The data dir's database as an older version left it: quiet hours in the settings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    storage = Storage(data_dir / "hrvpace.sqlite3")
    try:
        for key, value in ((MICROBREAK_SETTINGS_KEY, overrides), (PLAN_KEY, plan)):
            if value is not None:
                written = storage.put_value("settings", key, value, updated_at=1.7e9)
                assert written is not None
                written.result(timeout=30)
    finally:
        storage.close()


@pytest.mark.parametrize(
    ("old", "plan_quiet"),
    [
        ([["08:00", "16:00"]], [{"start": "08:00:00", "end": "16:00:00"}]),
        ([], []),  # no quiet hours at all: kept too
    ],
)
def test_quiet_hours_an_older_version_stored_move_into_the_day_plan_once(
    serve: Callable[..., Server],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    old: list[list[str]],
    plan_quiet: list[dict[str, str]],
) -> None:
    settings = load_settings(data_dir=tmp_path / "data", token="test-token")
    _older_version_data_dir(settings.data_dir, {"cooldown_s": 600, "quiet_hours": old})
    assert settings.database_path == settings.data_dir / "hrvpace.sqlite3"
    with caplog.at_level(logging.INFO, logger="api.dayplan"):
        server = serve(settings=settings)
    with server.client() as c:
        assert c.get("/api/v1/dayplan").json()["quiet_hours"] == plan_quiet
        got = c.get("/api/v1/microbreaks/settings").json()
        assert got["overrides"] == {"cooldown_s": 600}
        assert got["settings"]["quiet_hours"] == [
            [q["start"][:5], q["end"][:5]] for q in plan_quiet
        ]
    [moved] = [r for r in caplog.records if "older version" in r.getMessage()]
    assert moved.levelno == logging.WARNING and "now the day plan's" in moved.getMessage()
    # once: the next start finds a plan and no old quiet hours, and says nothing
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="api.dayplan"):
        again = serve(settings=settings)
    with again.client() as c:
        assert c.get("/api/v1/dayplan").json()["quiet_hours"] == plan_quiet
    assert not [r for r in caplog.records if "older version" in r.getMessage()]


def test_old_quiet_hours_beside_a_stored_plan_are_logged_as_not_used(
    serve: Callable[..., Server], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(data_dir=tmp_path / "data", token="test-token")
    plan = plan_to_model(DayPlan(timezone="Europe/Berlin", seed=7)).model_dump(mode="json")
    _older_version_data_dir(settings.data_dir, {"quiet_hours": [["08:00", "16:00"]]}, plan)
    with caplog.at_level(logging.INFO, logger="api.dayplan"):
        server = serve(settings=settings)
    with server.client() as c:
        assert c.get("/api/v1/dayplan").json()["quiet_hours"] == [
            {"start": "22:00:00", "end": "07:00:00"}
        ]
    [unused] = [r for r in caplog.records if "older version" in r.getMessage()]
    assert unused.levelno == logging.WARNING and "not used" in unused.getMessage()


class _SpyLock(asyncio.Lock):
    """A lock that says when someone waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = asyncio.Event()

    async def acquire(self) -> bool:
        if self.locked():
            self.waited.set()
        return await super().acquire()


async def test_two_settings_puts_at_once_keep_both_overrides(tmp_path: Path) -> None:
    """Review finding: each PUT read the overrides, merged its own and saved them; a PUT that
    read before the other's save wrote its merge over it (that override lost). The first PUT
    is held before its write; the second either waits for it (kept) or reads now (lost)."""
    url = "/api/v1/microbreaks/settings"
    async with asgi_service(tmp_path / "data") as (app, c):
        storage = app.state.storage
        lock = _SpyLock()
        app.state.microbreak_settings_lock = lock
        put_value, get_value = storage.put_value, storage.get_value
        loop = asyncio.get_running_loop()
        held: list[tuple[Any, ...]] = []
        first_writes = asyncio.Event()
        read_meanwhile = asyncio.Event()
        release: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def held_put_value(table: str, key: str, value: Any, **kw: Any) -> Any:
            if key != MICROBREAK_SETTINGS_KEY or held:
                return put_value(table, key, value, **kw)
            held.append((table, key, value, kw))  # written only once released
            first_writes.set()
            return release

        def spied_get_value(table: str, key: str) -> Any:  # in a worker thread
            if key == MICROBREAK_SETTINGS_KEY and held:
                loop.call_soon_threadsafe(read_meanwhile.set)
            return get_value(table, key)

        storage.put_value, storage.get_value = held_put_value, spied_get_value
        first = asyncio.create_task(c.put(url, json={"cooldown_s": 600}))
        await asyncio.wait_for(first_writes.wait(), 10)
        second = asyncio.create_task(c.put(url, json={"away_s": 900}))
        waits = asyncio.create_task(lock.waited.wait())
        reads = asyncio.create_task(read_meanwhile.wait())
        done, pending = await asyncio.wait(
            {waits, reads}, timeout=10, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        assert done, "the second PUT neither waited nor read the overrides"
        if reads in done:  # no lock: it reads the overrides without the first's and saves
            await asyncio.wait_for(asyncio.shield(second), 10)
        table, key, value, kw = held[0]
        release.set_result(await asyncio.wrap_future(put_value(table, key, value, **kw)))
        r1, r2 = await asyncio.wait_for(asyncio.gather(first, second), 10)
        assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
        assert r2.json()["overrides"] == {"cooldown_s": 600, "away_s": 900}
        stored = (await c.get(url)).json()["overrides"]
        assert stored == {"cooldown_s": 600, "away_s": 900}, stored
