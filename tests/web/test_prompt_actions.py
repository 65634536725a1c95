"""The prompt card in real Chromium (review findings on the working day): a double-clicked Save
sends one answer, a breathing reset's card starts the 2-minute breathing break and records the
prompt done, and a screen break's card records it done.

The service runs on a plan clock the test sets (a Monday), with a simulated person at 60x so
that a break can start; prompts reach the page as live ``prompt`` messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from tests._clock import BERLIN, SetClock, berlin
from tests._uvicorn import serving
from tests.web.conftest import LAPTOP, record_errors
from tests.web.test_nudges import FAST, wait_until

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def day(tmp_path: Path) -> Iterator[tuple[str, str, SetClock]]:
    """The service on a set clock at 08:00 whose plan has a check-in at 09:00, a breathing
    reset at 09:10 and a screen break at 09:20."""
    clock = SetClock(datetime(2026, 12, 7, 8, 0, tzinfo=BERLIN))
    settings = load_settings(data_dir=tmp_path / "data", token="prompt-actions-token")
    app = create_app(settings, plan_clock=lambda tz: clock)
    with serving(app, ws="auto", lifespan="on") as running:
        with httpx.Client(
            base_url=running.url, headers={"Authorization": f"Bearer {app.state.token}"}
        ) as api:
            plan = api.get("/api/v1/dayplan").json()
            plan.pop("default_texts")
            plan.pop("calendar_feed_url")
            plan["interventions"] = [
                {"id": "checkin", "kind": "checkin", "start": "09:00"},
                {"id": "reset", "kind": "breathing_reset", "start": "09:10"},
                {"id": "detox", "kind": "detox_reminder", "start": "09:20"},
            ]
            assert api.put("/api/v1/dayplan", json=plan).status_code == 200
        yield running.url, app.state.token, clock


def _prompt(api: httpx.Client, key_end: str, state: str) -> dict[str, Any] | None:
    prompts = api.get("/api/v1/prompts").json()["prompts"]
    return next((p for p in prompts if p["key"].endswith(key_end) and p["state"] == state), None)


def _card_of(page: Any, kind: str) -> None:
    page.wait_for_function(
        "(() => { const c = document.querySelector('[data-testid=prompt-card]');"
        f" return !c.hidden && c.dataset.kind === '{kind}'; }})()",
        timeout=15_000,
    )


def test_prompt_card_saves_once_and_action_prompts_are_done(
    day: tuple[str, str, SetClock], browser: Any
) -> None:
    base, token, clock = day
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    r = api.post(
        "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 3, "speed": FAST}}
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    ctx = browser.new_context(viewport=LAPTOP)
    page = ctx.new_page()
    errors = record_errors(page)
    posts: list[str] = []
    page.on(
        "request",
        lambda req: posts.append(req.url.split("/api/v1")[-1]) if req.method == "POST" else None,
    )
    try:
        page.goto(f"{base}/#token={token}")
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        card = page.get_by_test_id("prompt-card")

        # a check-in, its Save double-clicked: one answer sent, one check-in row, no error
        clock.set(berlin(2026, 12, 7, 9, 1))
        _card_of(page, "checkin")
        page.locator("#prompt-items button[data-item=stress]", has_text="2").click()
        page.locator("#prompt-items button[data-item=energy]", has_text="4").click()
        card.get_by_role("button", name="Save", exact=True).dblclick()
        card.wait_for(state="hidden")
        assert page.locator("#prompt-done").inner_text() == "Saved. Thank you."
        answers = [p for p in posts if p.endswith("/answer")]
        assert len(answers) == 1, posts
        rows = api.get("/api/v1/checkins").json()["checkins"]
        assert [(x["stress"], x["energy"]) for x in rows] == [(2, 4)]

        # the breathing reset: Start and Done, no answer box; Start starts the 2-minute
        # breathing break on the running session and records the prompt done
        wait_until(
            lambda: api.get(f"/api/v1/sessions/{sid}").json()["n_beats"] > 200,
            timeout_s=20,
            what="beats before the break",
        )
        clock.set(berlin(2026, 12, 7, 9, 11))
        _card_of(page, "breathing_reset")
        assert page.locator("#prompt-text").inner_text() == "Time for a 2-minute breathing reset."
        assert card.get_by_role("button", name="Start", exact=True).is_visible()
        assert card.get_by_role("button", name="Done", exact=True).is_visible()
        assert not card.get_by_role("button", name="Save", exact=True).is_visible()
        assert not card.get_by_label("Your answer").is_visible()
        card.get_by_role("button", name="Start", exact=True).click()
        card.wait_for(state="hidden")
        started_text = "Breathing reset started: follow the pacer."
        assert page.locator("#prompt-done").inner_text() == started_text
        reset = wait_until(
            lambda: _prompt(api, ":reset", "done"), timeout_s=10, what="the reset done"
        )
        assert reset["answered_at"] == datetime(2026, 12, 7, 9, 11, tzinfo=BERLIN).timestamp()
        assert f"/sessions/{sid}/microbreaks/start" in posts
        assert posts.index(f"/sessions/{sid}/microbreaks/start") < posts.index(
            f"/prompts/{reset['id']}/done"
        )
        events = api.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        started = [e for e in events["events"] if e["event"] == "break_started"]
        assert len(started) == 1 and started[0]["data"]["kind"] == "breathing", started

        # the screen break: Done only; it records the prompt done
        clock.set(berlin(2026, 12, 7, 9, 21))
        _card_of(page, "detox_reminder")
        assert not card.get_by_role("button", name="Start", exact=True).is_visible()
        assert not card.get_by_label("Your answer").is_visible()
        card.get_by_role("button", name="Done", exact=True).click()
        card.wait_for(state="hidden")
        assert page.locator("#prompt-done").inner_text() == "Done. Thank you."
        detox = wait_until(
            lambda: _prompt(api, ":detox", "done"), timeout_s=10, what="the screen break done"
        )
        assert detox["response_latency_s"] is not None
        api.post(f"/api/v1/sessions/{sid}/stop")
    finally:
        ctx.close()
        api.close()
    assert errors == []
