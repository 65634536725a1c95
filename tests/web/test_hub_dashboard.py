"""The hub's dashboard in real Chromium: token asked once, groups, weekly trends with
suppressed cells shown as such, an intervention's effect (hub on SQLite, real uvicorn)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.app import create_app
from hub.db import connect
from hub.settings import HubSettings
from tests._uvicorn import serving
from tests.web.conftest import record_errors

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
    errors = record_errors(page)
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
        # a failed effect or CSV is said on the page (review: only an unhandled rejection)
        busy = {"detail": "The hub's store is busy", "code": "store_busy", "status": 503}
        page.route(
            "**/hub/v1/interventions/*/effect*",
            lambda route: route.fulfill(
                status=503, content_type="application/problem+json", body=json.dumps(busy)
            ),
        )
        page.get_by_role("button", name="Download CSV").click()
        _wait_text(
            page,
            "#effect-out",
            "Could not download the effect of Breathing breaks: The hub's store is busy",
        )
        page.get_by_role("button", name="Effect").click()
        _wait_text(
            page,
            "#effect-out",
            "Could not show the effect of Breathing breaks: The hub's store is busy",
        )
        page.unroute("**/hub/v1/interventions/*/effect*")
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
        assert page.locator("#effect-out").inner_text() == ""  # the earlier error is over
        # Forget token (review: there was no way to sign out): the token leaves the tab's
        # storage and the page, and nothing the page showed stays in it: gone at once, not
        # when the reload's answer comes (a slow hub, or Stop, left it all on the screen), and
        # a request under way is abandoned, its answer never shown (review)
        # (read in the same task as the click: before the reload's answer can come). Here
        # the reload's answer is held, and then stopped: the page says what happened and has
        # no token button left, whose requests would fail unsaid (review). Forget comes while
        # a rename reloads the list and the count of groups found is about to be said: neither
        # throws on the emptied page (review)
        held: list[Any] = []
        page.route(hub_url + "/", lambda route: held.append(route))
        page.wait_for_function("document.querySelector('#group-out').textContent === ''")
        left, request = page.evaluate("""async () => {
          const send = window.fetch;
          let left, request;
          window.fetch = (url, options) => {
            if (url === '/hub/v1/groups' && !left) {  // the rename's reload of the list
              const find = document.querySelector('#group-filter');
              find.value = 'ward';
              find.dispatchEvent(new Event('input', { bubbles: true }));  // said after 350 ms
              request = loadInterventions().then(() => 'answered', (err) => err.name);
              document.querySelector('#token-forget').click();
              left = [document.querySelector('main').textContent.trim(),
                document.querySelectorAll('header button').length];
            }
            return send(url, options);
          };
          window.prompt = () => 'Ward 5';
          await reporting('group-out', 'Could not rename', () => renameGroup(groupList[0]));
          // past the count's timer (timers of one delay fire in the order they were set)
          await new Promise((resolve) => setTimeout(resolve, 350));
          return [left, await request];
        }""")
        assert (left, request) == (
            ["Token forgotten. Reload the page to sign in again.", 0],
            "AbortError",
        )
        assert len(held) == 1  # the reload is under way ...
        held[0].abort("aborted")  # ... and stopped (as Esc does: the page stays)
        assert page.locator("main").inner_text() == (
            "Token forgotten. Reload the page to sign in again."
        )
        assert page.locator("header button").count() == 0
        assert page.evaluate("token") == ""
        assert [e for e in errors if e.startswith("pageerror")] == []
        page.unroute(hub_url + "/")
        page.reload()
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
# made in a shuffled order (review: made department by department, "Ward 1" .. "Ward 10"
# came in name order already, so sorting by name could not be told from not sorting)
CREATED = [f"{d} {i}" for i in range(1, 11) for d in DEPARTMENTS]
random.Random(7).shuffle(CREATED)
BY_NAME = sorted(CREATED, key=lambda n: (n.split()[0], int(n.split()[1])))  # Ward 9, Ward 10
WARD_CREATED = [n for n in CREATED if n.startswith("Ward ")]
WARD_BY_NAME = [f"Ward {i}" for i in range(1, 11)]
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def many_groups_url(tmp_path: Path) -> Iterator[str]:
    """150 groups, k = 5, made one a second in the order CREATED; three have members who counted."""
    clock = [_at(dt.date(2026, 1, 1))]
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    engine = connect(url)
    app = create_app(
        HubSettings(data_dir=tmp_path, database_url=url, admin_token=ADMIN),
        clock=lambda: clock[0],
        engine=engine,
    )
    store = app.state.store
    ids = {}
    for name in CREATED:
        clock[0] += 1  # the hub lists groups by their second, then id: in this order
        ids[name] = store.create_group(name, 5)["id"]
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


def _marked(page: Any) -> list[str]:
    """The names of the rows marked as the group whose trends and invites are shown."""
    names: list[str] = page.eval_on_selector_all(
        '#groups tr[aria-current="true"]', "rows => rows.map(r => r.cells[0].textContent)"
    )
    return names


def _wait_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent === t", arg=[selector, text]
    )


# Counts the writes to the "N groups shown" status region (each is read out by a screen reader).
COUNT_WRITES = """() => {
  window.shownWrites = 0;
  window.shownObserver?.disconnect();
  window.shownObserver = new MutationObserver((records) => {
    window.shownWrites += records.length;
  });
  window.shownObserver.observe(document.querySelector('#groups-shown'), { childList: true });
}"""


def test_an_admin_with_150_groups_finds_and_sorts_them(
    browser: Any, many_groups_url: str, artifacts: Path
) -> None:
    """Review: 150 groups made a ~7,600 px page (the trends below them all) with no way to
    find or order a group."""
    assert CREATED[0] != BY_NAME[0] and WARD_CREATED != WARD_BY_NAME
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors = record_errors(page)
    prompts: list[str] = []  # the answers to give to Rename's prompt
    alerts: list[str] = []

    def on_dialog(dialog: Any) -> None:
        if dialog.type == "prompt":
            dialog.accept(prompts.pop(0))
        else:
            alerts.append(dialog.message)
            dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(many_groups_url + "/")
        # a sort the browser restored at a reload (Firefox does): the first load shows the
        # first row in that order and marks it, not the hub's first group (review)
        page.evaluate("document.querySelector('#group-sort').value = 'name'")
        page.locator("#token-input").fill(ADMIN)
        page.locator("#token-form button").click()
        page.wait_for_function(
            "document.querySelectorAll('#groups tbody tr[data-group]').length === 150"
        )
        page.wait_for_function(
            "document.querySelector('#trends-status').textContent.includes('was created')"
        )
        assert _group_names(page) == BY_NAME
        assert _marked(page) == [BY_NAME[0]]
        assert page.locator("#trends-status").inner_text().startswith(f"{BY_NAME[0]} was")
        assert page.locator("#groups-shown").inner_text() == "150 groups"
        # the list's box is a region of its own name, not a second "Groups" (review)
        assert page.get_by_role("region", name="Group list").count() == 1
        assert page.get_by_role("region", name="Groups", exact=True).count() == 1
        # the hub's order, which is not the names' order (review)
        page.locator("#group-sort").select_option("created")
        assert _group_names(page) == CREATED
        # the list scrolls in its own box: the trends are on the second screen, not 6,700 px down
        trends_top = page.evaluate(
            "document.querySelector('#trends-section').getBoundingClientRect().top"
        )
        assert trends_top < 2 * 768, trends_top
        page.screenshot(path=str(artifacts / "hub-many-groups-laptop.png"))

        # Find: case, accents and runs of spaces ignored; the rows follow each keystroke
        page.locator("#group-filter").fill("  wárd   1")
        assert sorted(_group_names(page)) == ["Ward 1", "Ward 10"]
        # letters Unicode does not take apart are folded too (review: "lodz" missed "Łódź")
        assert page.evaluate("folded('Łódź STRAẞE Ørsted Æble Đakovo')") == (
            "lodz strasse orsted aeble dakovo"
        )
        # the count is said once typing pauses, not at each letter (each write is read out),
        # and it says that the group whose trends are shown is not among the rows (review)
        page.locator("#group-filter").fill("")
        _wait_text(page, "#groups-shown", "150 groups")
        page.evaluate(COUNT_WRITES)
        # the keystrokes as input events in one task: none of the pause can fall between two
        # (separate presses could each be >350 ms apart on a busy machine; review)
        typed = page.evaluate("""() => {
          const box = document.querySelector('#group-filter');
          const rows = [];
          for (const text of ['w', 'wa', 'war', 'ward', 'wardx', 'ward']) {  // 10, 0, 10 shown
            box.value = text;
            box.dispatchEvent(new Event('input', { bubbles: true }));
            rows.push(document.querySelectorAll('#groups tbody tr[data-group]').length);
          }
          return [rows, document.querySelector('#groups-shown').textContent];
        }""")
        assert typed == [[10, 10, 10, 10, 0, 10], "150 groups"]  # rows follow; count not yet said
        _wait_text(
            page,
            "#groups-shown",
            f"10 of 150 groups shown ({BY_NAME[0]}, shown below, is hidden by Find)",
        )
        assert page.evaluate("window.shownWrites") == 1
        # Sort by name: numbers in names as numbers (Ward 9 before Ward 10), and back
        assert _group_names(page) == WARD_CREATED
        page.locator("#group-sort").select_option("name")
        assert _group_names(page) == WARD_BY_NAME
        page.locator("#group-sort").select_option("created")
        assert _group_names(page) == WARD_CREATED
        page.locator("#group-filter").fill("nobody's team")
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

        # the group whose trends are shown is marked in the list, the only one marked, also
        # once the list is drawn anew in another order (review)
        page.locator("#group-filter").fill("finance 2")
        page.locator("#groups tr", has_text="Finance 2").get_by_role(
            "button", name="Trends"
        ).click()
        page.wait_for_function(
            "document.querySelector('#trends-status').textContent.startsWith('Finance 2')"
        )
        assert _marked(page) == ["Finance 2"]
        page.locator("#group-filter").fill("")
        page.locator("#group-sort").select_option("members-desc")
        assert _group_names(page)[:2] == ["Ward 10", "Finance 2"]
        assert _marked(page) == ["Finance 2"]
        # another group chosen: Finance 2's figures and invites are not left under its name
        # while its own load (review)
        assert page.locator("#invites tbody tr[data-invite]").count() == 1
        during = page.evaluate("""async () => {
          const loading = selectGroup(groupsById.get(
            document.querySelector('#groups tbody tr[data-group]').dataset.group));
          const during = [document.querySelectorAll('#trends tbody tr').length,
            document.querySelector('#trends-status').textContent,
            document.querySelector('#access-group').textContent,
            document.querySelector('#invites tbody').textContent];
          await loading;
          return during;
        }""")
        assert during == [
            0,
            "Loading the figures of Ward 10…",
            "– Ward 10",
            "Loading the invites of Ward 10…",
        ]
        assert page.locator("#invites tbody tr[data-invite]").count() == 1  # Ward 10's own
        assert page.locator("#trends-status").inner_text().startswith("Ward 10 was created")
        assert page.locator("#trends tbody tr").count() > 0

        # Find and sort stay through a create and a rename (review), a new group is said
        # (it was not: its row far down the box, or hidden by Find), an earlier error goes
        page.locator("#group-filter").fill("ward")
        page.locator("#group-sort").select_option("name")
        page.locator("#groups tr", has_text="Ward 9").get_by_role("button", name="Trends").click()
        page.wait_for_function(
            "document.querySelector('#trends-status').textContent.startsWith('Ward 9 ')"
        )
        _wait_text(page, "#groups-shown", "10 of 150 groups shown")
        page.locator("#group-name").fill("ward 9")
        page.locator("#group-form button").click()
        page.wait_for_function(
            "document.querySelector('#group-out').textContent.includes('exists already')"
        )
        page.locator("#group-name").fill("Sales 11")
        page.locator("#group-form button").click()
        _wait_text(page, "#group-out", "Created group Sales 11 (hidden by Find).")
        _wait_text(page, "#groups-shown", "10 of 151 groups shown")
        assert page.locator("#group-filter").input_value() == "ward"
        assert page.locator("#group-sort").input_value() == "name"
        assert _group_names(page) == WARD_BY_NAME
        assert _marked(page) == ["Ward 9"]
        page.evaluate(COUNT_WRITES)
        prompts.append("Ward 99")
        page.locator("#groups tr", has_text="Ward 9").get_by_role("button", name="Rename").click()
        page.wait_for_function(
            "[...document.querySelectorAll('#groups tbody tr')]"
            ".some(r => r.cells[0].textContent === 'Ward 99')"
        )
        assert page.locator("#group-filter").input_value() == "ward"
        assert page.locator("#group-sort").input_value() == "name"
        assert _group_names(page) == [*WARD_BY_NAME[:8], "Ward 10", "Ward 99"]
        assert _marked(page) == ["Ward 99"]
        # a refresh that changes no count says nothing again (review: each was read out)
        assert page.evaluate("window.shownWrites") == 0
        # renamed out of Find: said once, by its new name (review: first by the old one)
        prompts.append("Sales 99")
        page.locator("#groups tr", has_text="Ward 99").get_by_role("button", name="Rename").click()
        _wait_text(page, "#group-out", "Renamed Ward 99 to Sales 99.")
        _wait_text(
            page,
            "#groups-shown",
            "9 of 151 groups shown (Sales 99, shown below, is hidden by Find)",
        )
        assert page.evaluate("window.shownWrites") == 1
        # a name that looks like markup is shown as it is written, as text; the new row, at
        # the foot of the hub's order (made in the second Sales 11 was), is scrolled into
        # view in the list's box
        page.locator("#group-filter").fill("")
        page.locator("#group-sort").select_option("created")
        page.locator("#group-name").fill(XSS)
        page.locator("#group-form button").click()
        _wait_text(page, "#group-out", f"Created group {XSS}.")
        page.wait_for_function("document.querySelectorAll('#groups tbody tr').length === 152")
        assert XSS in _group_names(page)[-2:]
        assert page.locator("img").count() == 0 and alerts == []
        in_view = page.evaluate(
            """(name) => {
          const box = document.querySelector('.groups-box').getBoundingClientRect();
          const row = [...document.querySelectorAll('#groups tbody tr')]
            .find((r) => r.cells[0].textContent === name).getBoundingClientRect();
          return [row.top >= box.top && row.bottom <= box.bottom, row.bottom, box.bottom];
        }""",
            XSS,
        )
        assert in_view[0], in_view
        # two refreshes under way: the older, answered last, does not overwrite the newer
        # (review); its first page is held until the newer has drawn the list, the hub's
        # first group renamed between the two
        newer = page.evaluate(
            """async (token) => {
          const send = window.fetch;
          let release;
          const gate = new Promise((r) => { release = r; });
          let hold = true;
          window.fetch = (url, options) => {
            const held = hold && url === '/hub/v1/groups';
            if (held) hold = false;
            return send(url, options).then(async (res) => { if (held) await gate; return res; });
          };
          const older = loadGroups();
          await send(`/hub/v1/groups/${groupList[0].id}`, { method: 'PATCH',
            body: '{"name": "Ward 12"}',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
          await loadGroups();
          release();
          await older;
          window.fetch = send;
          return groupList.map((g) => g.name);
        }""",
            ADMIN,
        )
        assert newer[0] == "Ward 12" and CREATED[0] not in newer and len(newer) == 152

        # a phone: the same list in its box, nothing wider than the screen
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#group-sort").select_option("name")
        page.evaluate("window.scrollTo(0, 0)")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate("document.documentElement.scrollHeight") < 4 * 844
        page.screenshot(path=str(artifacts / "hub-many-groups-phone.png"))
        assert [e for e in errors if e.startswith("pageerror")] == []  # the 409 is said
    finally:
        context.close()
