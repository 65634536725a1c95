"""The page's "Working day" card in real Chromium against the real service: the plan with its
on/off switches, the calendar link, the webhooks' state and the personal dashboard."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import icalendar
import pytest

from tests.web.conftest import LAPTOP, WebServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Any, web_server: WebServer) -> Iterator[tuple[Any, list[str]]]:
    ctx = browser.new_context(viewport=LAPTOP)
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    p.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    yield p, errors
    ctx.close()


def test_working_day_card_switches_an_intervention_and_shows_the_dashboard(
    web_server: WebServer, page: tuple[Any, list[str]]
) -> None:
    p, errors = page
    with web_server.client() as api:
        r = api.post("/api/v1/checkins", json={"stress": 4, "energy": 2, "at": time.time()})
        assert r.status_code == 201
        api.put(
            "/api/v1/webhooks",
            json={"webhooks": [{"url": "http://127.0.0.1:9/hook", "kind": "teams"}]},
        )
        p.goto(f"{web_server.url}/#token={web_server.token}")
        card = p.get_by_test_id("workday")
        card.get_by_text("Breathing reset: Time for a 2-minute breathing reset.").wait_for()
        assert "Mon, Tue, Wed, Thu, Fri, 08:30-17:30 (Europe/Berlin)" in card.inner_text()
        assert "teams (127.0.0.1:9): nothing sent yet" in p.locator("#webhook-status").inner_text()

        # switching the detox reminder off saves the plan
        p.locator("input[data-intervention=detox]").uncheck()
        deadline = time.monotonic() + 10
        while True:
            detox = next(
                i for i in api.get("/api/v1/dayplan").json()["interventions"] if i["id"] == "detox"
            )
            if not detox["enabled"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert detox["enabled"] is False

        # the calendar link is the feed URL with its own token, and it opens the feed
        href = p.get_by_test_id("calendar-link").get_attribute("href")
        assert href is not None and "/api/v1/calendar.ics?token=" in href
        feed = httpx.get(href, timeout=10)
        assert feed.status_code == 200
        summaries = {
            str(e["summary"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
        }
        assert summaries == {"Mental reset: breathing"}  # the screen break is off now

        # the dashboard row of today: the check-in's stress and energy
        row = p.get_by_test_id("dashboard-table").locator("tbody tr").first
        row.wait_for()
        cells = row.locator("td").all_inner_texts()
        assert cells[1:3] == ["4.0", "2.0"]
        assert "no break with a measured effect" in p.get_by_test_id("dashboard-week").inner_text()
        # put the plan back for the module's other tests
        p.locator("input[data-intervention=detox]").check()
    assert errors == []
