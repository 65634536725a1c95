"""Layout findings of a review, in real Chromium: what a person could not read.

* At 1366x768 "2-minute reset" scrolled the Breathing card under the sticky "Break in progress"
  banner, hiding its title and the top of the pacer.
* At 390 px the History chart's "no strap sessions yet ..." was cut off at both ends.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from tests._clock import BERLIN, SetClock
from tests._uvicorn import serving
from tests.web.conftest import WebServer, record_errors
from tests.web.test_nudges import _attach, _start_simulator, _wait_for_beats

pytestmark = pytest.mark.e2e

WIDE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def test_reset_scrolls_the_breathing_card_below_the_sticky_banners(
    tmp_path: Path, browser: Any, artifacts: Path
) -> None:
    """A prompt's card is on screen (a sticky banner at the top, as the break's is) when the
    person presses "2-minute reset": the Breathing card must come to rest below it."""
    clock = SetClock(datetime(2026, 12, 7, 9, 1, tzinfo=BERLIN))  # a Monday
    settings = load_settings(data_dir=tmp_path / "data", token="layout-token")
    app = create_app(settings, plan_clock=lambda tz: clock)
    ctx = browser.new_context(viewport=WIDE)
    page = ctx.new_page()
    errors = record_errors(page)
    with (
        serving(app, ws="auto", lifespan="on") as running,
        httpx.Client(
            base_url=running.url,
            headers={"Authorization": f"Bearer {app.state.token}"},
            timeout=30,
        ) as api,
    ):
        try:
            plan = api.get("/api/v1/dayplan").json()
            plan["interventions"] = [
                {"id": "reflection", "kind": "evening_reflection", "start": "09:00"}
            ]
            assert api.put("/api/v1/dayplan", json=plan).status_code == 200
            # 20x: the 2-minute break lasts 6 s, time to look at the page during it
            sid = _start_simulator(api, seed=8, speed=20.0)
            server = WebServer(running.url, app.state.token, app)
            _attach(page, server, sid)
            page.get_by_test_id("prompt-card").wait_for(state="visible", timeout=15_000)
            _wait_for_beats(api, sid, more_than=200, timeout_s=30)
            page.get_by_test_id("reset-now").click()
            page.get_by_role("button", name="End break").wait_for(state="visible", timeout=5000)
            # the smooth scroll has come to rest
            page.wait_for_function(
                """(() => { const y = window.scrollY; const was = window.__lastY;
                  window.__lastY = y; return y > 0 && was === y; })()""",
                polling=300,
                timeout=5000,
            )
            boxes = page.evaluate(
                """(() => {
                  const banners = [...document.querySelectorAll('.banner')]
                    .filter((b) => !b.hidden && getComputedStyle(b).position === 'sticky')
                    .map((b) => b.getBoundingClientRect().bottom);
                  const t = document.getElementById('breathing-title').getBoundingClientRect();
                  const p = document.querySelector('[data-testid=pacer]').getBoundingClientRect();
                  return { banners, title: t.top, pacer: p.top };
                })()"""
            )
            page.screenshot(path=str(artifacts / "reset-1366.png"), full_page=False)
            assert len(boxes["banners"]) == 2, boxes  # the prompt's and the break's
            assert boxes["title"] >= max(boxes["banners"]), boxes
            assert boxes["pacer"] >= max(boxes["banners"]), boxes
            api.post(f"/api/v1/sessions/{sid}/stop")
        finally:
            ctx.close()
    assert errors == []


def test_the_history_charts_empty_message_fits_a_phone(
    web_server: WebServer, browser: Any, artifacts: Path
) -> None:
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    errors = record_errors(page)
    try:
        page.goto(f"{web_server.url}/#token={web_server.token}")
        chart = page.locator("#trend-chart")
        page.wait_for_function(
            "document.getElementById('trend-chart').dataset.emptyBox", timeout=10_000
        )
        box = json.loads(chart.get_attribute("data-empty-box") or "{}")
        width = chart.evaluate("c => c.clientWidth")
        height = chart.evaluate("c => c.clientHeight")
        assert box["x0"] >= 0 and box["x1"] <= width, (box, width)
        assert box["y0"] >= 0 and box["y1"] <= height, (box, height)
        chart.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "history-empty-390.png"), full_page=False)
    finally:
        ctx.close()
    assert errors == []
