"""The hub's dashboard in real Chromium: token asked once, groups, weekly trends with
suppressed cells shown as such, an intervention's effect (hub on SQLite, real uvicorn)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.app import create_app
from hub.db import connect
from hub.settings import HubSettings
from tests._uvicorn import serving

pytestmark = pytest.mark.e2e

ADMIN = "ha_dashboard-test"
W02 = dt.date(2026, 1, 5)
W03 = dt.date(2026, 1, 12)


def _at(day: dt.date, hour: int = 12) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def hub_url(tmp_path: Path) -> Iterator[str]:
    clock = [_at(dt.date(2026, 1, 1))]
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = connect(url)
    app = create_app(
        HubSettings(data_dir=tmp_path, database_url=url, admin_token=ADMIN),
        clock=lambda: clock[0],
        engine=engine,
    )
    with (
        serving(app) as running,
        httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        gid = admin.post("/hub/v1/groups", json={"name": "Ward 4", "k": 5}).json()["id"]
        code = admin.post(f"/hub/v1/groups/{gid}/invites").json()["code"]
        clock[0] = _at(dt.date(2026, 1, 2))
        tokens = [admin.post("/hub/v1/join", json={"code": code}).json()["token"] for _ in range(5)]
        for monday, base in ((W02, 40.0), (W03, 45.0)):
            clock[0] = _at(monday + dt.timedelta(days=6))
            for i, tok in enumerate(tokens):
                body: dict[str, Any] = {"date": monday.isoformat(), "resting_rmssd_ms": base + i}
                r = admin.post(
                    "/hub/v1/contributions", json=body, headers={"Authorization": f"Bearer {tok}"}
                )
                assert r.status_code == 201, r.text
        admin.post(
            f"/hub/v1/groups/{gid}/interventions",
            json={
                "name": "Breathing breaks",
                "start": W03.isoformat(),
                "end": (W03 + dt.timedelta(days=6)).isoformat(),
            },
        )
        clock[0] = _at(dt.date(2026, 1, 21))
        yield running.url
    engine.dispose()


def test_dashboard_shows_groups_trends_suppression_and_effects(
    browser: Any, hub_url: str, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(hub_url + "/")
        page.locator("#token-input").fill("wrong")
        page.locator("#token-form button").click()
        # the refusal comes back from the hub: wait for it (reading at once was flaky)
        page.wait_for_function(
            "document.querySelector('#token-error')?.innerText.includes('not accepted')"
        )
        page.locator("#token-input").fill(ADMIN)
        page.locator("#token-form button").click()
        page.locator("#groups tbody tr").first.wait_for()
        assert "Ward 4" in page.locator("#groups").inner_text()
        w02 = page.locator('#trends tr[data-period="2026-W02"]')
        w02.wait_for()
        assert "5 / 5" in w02.inner_text() and "42.0" in w02.inner_text()  # 40..44
        w01 = page.locator('#trends tr[data-period="2026-W01"]').inner_text()
        # the group was made on Thursday of W01: no member counts in it, and the page says why
        # (it said "fewer than 5 members" while the Groups table said 5; review)
        assert "group's first week" in w01 and "Monday after they join" in w01
        w04 = page.locator('#trends tr[data-period="2026-W04"]').inner_text()
        assert "open" in w04
        page.get_by_role("button", name="Effect").click()
        rmssd = page.locator('#effect-table tr[data-measure="resting_rmssd_ms"]')
        rmssd.wait_for()
        assert "5.00" in rmssd.inner_text()  # every member +5 ms
        stress = page.locator('#effect-table tr[data-measure="stress"]').inner_text()
        assert "suppressed" in stress
        page.screenshot(path=str(artifacts / "hub-dashboard.png"), full_page=True)
        # the token is asked once: a reload goes straight to the data
        page.reload()
        page.locator('#trends tr[data-period="2026-W02"]').wait_for()
        assert not page.locator("#token-dialog").is_visible()
        # ... in this tab only: the admin token is not left in the browser's lasting storage
        # (code review: it was in localStorage, readable by any later user of the browser)
        assert page.evaluate("localStorage.getItem('hrvpace-hub-token')") is None
        other = context.new_page()  # another tab of the same browser profile
        try:
            other.goto(hub_url + "/")
            other.locator("#token-dialog").wait_for()
            assert other.locator("#token-dialog").is_visible()
            # a token an earlier version left in localStorage is erased, not used (the next
            # user of a shared browser may not be the admin; review)
            other.evaluate("t => localStorage.setItem('hrvpace-hub-token', t)", ADMIN)
            other.reload()
            other.locator("#token-dialog").wait_for()
            assert other.evaluate("localStorage.getItem('hrvpace-hub-token')") is None
            assert other.evaluate("sessionStorage.getItem('hrvpace-hub-token')") is None
        finally:
            other.close()
        # a refused token is not kept for the next reload (a rotated admin token, say)
        page.evaluate("sessionStorage.setItem('hrvpace-hub-token', 'rotated-away')")
        page.reload()
        page.locator("#token-dialog").wait_for()
        page.wait_for_function("sessionStorage.getItem('hrvpace-hub-token') === null")
        # a wrong token typed in does not replace the one in use
        page.locator("#token-input").fill(ADMIN)
        page.locator("#token-form button").click()
        page.locator("#token-dialog").wait_for(state="hidden")
        page.locator("#token-change").click()
        page.locator("#token-input").fill("wrong-again")
        page.locator("#token-form button").click()
        page.wait_for_function(
            "document.querySelector('#token-error')?.innerText.includes('not accepted')"
        )
        page.keyboard.press("Escape")
        page.locator("#token-dialog").wait_for(state="hidden")
        assert page.evaluate("sessionStorage.getItem('hrvpace-hub-token')") == ADMIN
        page.get_by_role("button", name="Effect").click()  # still answered with the good one
        page.locator('#effect-table tr[data-measure="resting_rmssd_ms"]').wait_for()
        assert not page.locator("#token-dialog").is_visible()
        # Forget token (review: there was no way to sign out): the token leaves the tab's
        # storage and the page, and nothing the page showed stays in it
        page.locator("#token-forget").click()
        page.locator("#token-dialog").wait_for()
        assert page.evaluate("sessionStorage.getItem('hrvpace-hub-token')") is None
        assert page.evaluate("token") == ""
        assert page.locator("#groups tbody tr, #trends tbody tr, #effect-table").count() == 0
        page.keyboard.press("Escape")  # the page without a token: nothing comes back
        page.locator("#token-dialog").wait_for(state="hidden")
        assert page.locator("#groups tbody tr").count() == 0
        page.reload()  # nor at a reload: the token is asked for again
        page.locator("#token-dialog").wait_for()
        assert page.locator("#groups tbody tr").count() == 0
    finally:
        context.close()
