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
        # storage and the page, and nothing the page showed stays in it: gone at once, not
        # when the reload's answer comes (a slow hub, or Stop, left it all on the screen), and
        # a request under way is abandoned, its answer never shown (review)
        # (read in the same task as the click: before the reload's answer can come)
        left, request = page.evaluate("""async () => {
          const request = loadInterventions().then(() => 'answered', (err) => err.name);
          document.querySelector('#token-forget').click();
          return [document.querySelector('main').textContent.trim(), await request];
        }""")
        assert (left, request) == ("", "AbortError")
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


# An organisation's 150 groups: 15 departments of 10 teams each ("Ward 1" .. "Ward 10").
DEPARTMENTS = [
    "Ward", "Sales", "Finance", "Support", "Logistics", "Research", "Legal", "Kitchen",
    "Facilities", "Marketing", "Pharmacy", "Radiology", "Security", "Training", "Transport",
]  # fmt: skip
MEMBERS = {"Ward 10": 6, "Finance 2": 5, "Ward 9": 3}  # the others have none yet


@pytest.fixture
def many_groups_url(tmp_path: Path) -> Iterator[str]:
    """150 groups, k = 5, made in a shuffled order; three have members who counted."""
    clock = [_at(dt.date(2026, 1, 1))]
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = connect(url)
    app = create_app(
        HubSettings(data_dir=tmp_path, database_url=url, admin_token=ADMIN),
        clock=lambda: clock[0],
        engine=engine,
    )
    store = app.state.store
    names = [f"{d} {i}" for i in range(1, 11) for d in DEPARTMENTS]  # not in name order
    ids = {name: store.create_group(name, 5)["id"] for name in names}
    for name, n in MEMBERS.items():
        code = store.create_invite(ids[name], days=14, uses=n)["code"]
        for _ in range(n):
            store.join(code)
    clock[0] = _at(dt.date(2026, 1, 21))  # their first week (W02) has closed: they count
    with serving(app) as running:
        yield running.url
    engine.dispose()


def _group_names(page: Any) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#groups tbody tr[data-group]", "rows => rows.map(r => r.cells[0].textContent)"
    )
    return names


def _log_in_many(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.locator("#token-input").fill(ADMIN)
    page.locator("#token-form button").click()
    page.wait_for_function(
        "document.querySelectorAll('#groups tbody tr[data-group]').length === 150"
    )
    page.locator("#trends tbody tr").first.wait_for()


def test_an_admin_with_150_groups_finds_and_sorts_them(
    browser: Any, many_groups_url: str, artifacts: Path
) -> None:
    """Review: 150 groups made a ~7,600 px page (the trends below them all) with no way to
    find or order a group."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        _log_in_many(page, many_groups_url)
        assert page.locator("#groups-shown").inner_text() == "150 groups"
        # the list scrolls in its own box: the trends are on the second screen, not 6,700 px down
        trends_top = page.evaluate(
            "document.querySelector('#trends-section').getBoundingClientRect().top"
        )
        assert trends_top < 2 * 768, trends_top
        page.screenshot(path=str(artifacts / "hub-many-groups-laptop.png"))

        # Find: case, accents and spaces ignored; the count says how many are shown
        page.locator("#group-filter").fill("  wárd   1")
        page.wait_for_function(
            "document.querySelector('#groups-shown').textContent.startsWith('2 ')"
        )
        assert sorted(_group_names(page)) == ["Ward 1", "Ward 10"]
        assert page.locator("#groups-shown").inner_text() == "2 of 150 groups shown"
        page.locator("#group-filter").fill("ward")
        page.wait_for_function(
            "document.querySelector('#groups-shown').textContent.startsWith('10 ')"
        )
        # Sort by name: numbers in names as numbers (Ward 9 before Ward 10)
        page.locator("#group-sort").select_option("name")
        assert _group_names(page) == [f"Ward {i}" for i in range(1, 11)]
        page.locator("#group-filter").fill("nobody's team")
        page.wait_for_function(
            "document.querySelector('#groups-shown').textContent.startsWith('0 ')"
        )
        assert "No group's name contains" in page.locator("#groups tbody").inner_text()
        # Sort by members (an aggregate the list already shows, over the group): most first
        page.locator("#group-filter").fill("")
        page.locator("#group-sort").select_option("members-desc")
        assert _group_names(page)[:3] == ["Ward 10", "Finance 2", "Ward 9"]
        first = page.locator("#groups tbody tr").first
        assert "(below k)" not in first.inner_text()  # 6 members, k = 5
        assert "(below k)" in page.locator("#groups tbody tr").nth(2).inner_text()  # 3 < 5
        page.screenshot(path=str(artifacts / "hub-many-groups-laptop-by-members.png"))
        page.locator("#group-sort").select_option("members-asc")
        assert _group_names(page)[-1] == "Ward 10"

        # the group whose trends are shown is marked in the list
        page.locator("#group-filter").fill("finance 2")
        page.locator("#groups tr", has_text="Finance 2").get_by_role(
            "button", name="Trends"
        ).click()
        page.wait_for_function(
            "document.querySelector('#trends-status').textContent.startsWith('Finance 2')"
        )
        marked = page.locator('#groups tr[aria-current="true"]')
        assert marked.count() == 1 and "Finance 2" in marked.inner_text()

        # a phone: the same list in its box, nothing wider than the screen
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#group-filter").fill("")
        page.locator("#group-sort").select_option("name")
        page.evaluate("window.scrollTo(0, 0)")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.documentElement.scrollHeight") < 4 * 844
        page.screenshot(path=str(artifacts / "hub-many-groups-phone.png"))
    finally:
        context.close()
