"""The working-day card's time-zone note when the device's zone and the plan's are the same
clock under two names (real Chromium against the real service)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import LAPTOP, WebServer, poll, record_errors

pytestmark = pytest.mark.e2e


def test_aliases_and_same_offset_zones_are_one_zone(web_server: WebServer, browser: Any) -> None:
    """The review's case: a device in "UTC" and a plan in "Etc/UTC" got "This device is in
    UTC; the plan's times ... are in Etc/UTC" and a button to switch to the same clock."""
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="UTC")
    page = ctx.new_page()
    errors = record_errors(page)
    try:
        with web_server.client() as api:
            plan = api.get("/api/v1/dayplan").json()
            r = api.put("/api/v1/dayplan", json={**plan, "timezone": "Etc/UTC"})
            assert r.status_code == 200, r.text
            page.goto(f"{web_server.url}/#token={web_server.token}")
            zone = page.get_by_test_id("workday-tz")
            poll(page, lambda: zone.input_value() == "Etc/UTC", timeout_s=10, what="the zone")
            device = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
            assert device != "Etc/UTC", device  # the case needs two names
            note = page.get_by_test_id("workday-tz-note").inner_text()
            assert note.startswith("Plan times are in this device's time zone"), note
            assert "This device is in" not in note, note
            assert page.get_by_test_id("workday-tz-device").is_hidden()
            same = page.evaluate(
                """async () => {
                    const w = await import('/js/workday.js');
                    const pairs = [
                        ['UTC', 'Etc/UTC'], ['Asia/Calcutta', 'Asia/Kolkata'],
                        ['Europe/Berlin', 'Europe/Paris'], ['Europe/Berlin', 'Europe/London'],
                        ['Europe/Berlin', 'Africa/Lagos'], ['America/New_York', 'America/Toronto'],
                        ['UTC', 'Not/AZone'], ['Not/AZone', 'Not/AZone'],
                    ];
                    return pairs.map(([a, b]) => w.sameZone(a, b));
                }"""
            )
            # Lagos is UTC+1 all year, Berlin only in winter
            assert same == [True, True, True, False, False, True, False, True]
            # plan times are not named with a zone when the clocks are the same
            text = page.evaluate(
                "async () => (await import('/js/workday.js')).formatPlanTime(1796642400)"
            )
            assert "(" not in text, text
            api.put("/api/v1/dayplan", json=plan)
    finally:
        ctx.close()
    assert errors == []
