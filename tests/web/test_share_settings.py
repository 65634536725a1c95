"""The page's "Team sharing" settings in real Chromium: the person's service (seeded data dir)
and a real hub (``hub.create_app`` on SQLite), each on a real uvicorn on 127.0.0.1.

What a day's contribution holds is shown before joining; joining asks for a confirmation
(cancel leaves everything as it was); the state follows; stopping keeps the days on the hub,
deleting erases them there (checked in the hub's database, not only on the page).
Screenshots at 1366x768 and 390x844 go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import hubshare
from api.app import create_app
from api.settings import load_settings
from hub import db as hubdb
from tests._hub import RunningHub, running_hub_in
from tests._uvicorn import serving
from tests.api.test_share import EXPECTED, _seed

pytestmark = pytest.mark.e2e

TOKEN = "share-page-token"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    with running_hub_in(tmp_path) as running:
        yield running


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "me"
    _seed(data)
    with serving(create_app(load_settings(data_dir=data, token=TOKEN)), lifespan="on") as running:
        yield running.url, data


def _open(browser: Any, url: str, viewport: dict[str, int]) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport=viewport)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.goto(f"{url}/#token={TOKEN}")
    page.get_by_test_id("share-preview").locator("tbody tr").first.wait_for()
    return ctx, page, errors


def _shot(page: Any, artifacts: Path, name: str) -> None:
    page.get_by_test_id("sharing").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / name), full_page=False)


def test_sharing_is_previewed_confirmed_and_revocable_from_the_page(
    browser: Any, hub: RunningHub, service: tuple[str, Path], artifacts: Path
) -> None:
    url, data = service
    ctx, page, errors = _open(browser, url, LAPTOP)
    card = page.get_by_test_id("sharing")
    state = page.get_by_test_id("share-state")
    assert state.get_attribute("data-state") == "not_sharing"
    # the preview is the contribution as sent, field for field
    shown = {
        row.get_attribute("data-field"): json.loads(
            row.locator("td").nth(1).get_attribute("data-value")
        )
        for row in page.get_by_test_id("share-preview").locator("tbody tr").all()
    }
    assert shown == EXPECTED
    rmssd = page.locator("#share-preview tr[data-field=resting_rmssd_ms] td").nth(1)
    assert rmssd.inner_text() == "44 ms"
    assert "private" not in card.inner_text()
    assert page.get_by_test_id("share-stop").is_hidden()
    assert page.get_by_test_id("share-delete").is_hidden()
    _shot(page, artifacts, "share-preview-laptop.png")

    # joining asks first; cancelling leaves everything as it was
    gid, code = hub.invite()
    page.locator("#share-hub").fill(hub.server.url)
    page.locator("#share-invite").fill(code)
    page.locator("#share-join-button").click()
    confirm = page.get_by_test_id("share-confirm")
    confirm.wait_for()
    assert hub.server.url.split("//")[1] in confirm.inner_text()
    page.get_by_test_id("share-confirm-no").click()
    assert confirm.is_hidden()
    assert hub.count(hubdb.members) == 0 and not (data / hubshare.STATE_FILE).exists()

    page.locator("#share-join-button").click()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=sharing]")
    membership = hubshare.load_membership(data)
    assert membership is not None and membership.group_id == gid
    assert membership.member_id in state.inner_text()
    assert hub.count(hubdb.members) == 1
    assert confirm.is_hidden() and page.get_by_test_id("share-join").is_hidden()
    _shot(page, artifacts, "share-sharing-laptop.png")

    # stop: asked first, then nothing more is sent, the member stays on the hub
    # (review: with nothing sent yet, the page said the days sent before stay on the hub; and
    # it did not say that sharing again means deleting first)
    page.get_by_test_id("share-stop").click()
    assert "No day has been sent yet" in confirm.inner_text()
    assert "To share again later" in confirm.inner_text() and "first delete" in confirm.inner_text()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=stopped]")
    assert "No day was sent before you stopped" in state.inner_text()
    assert "stay on the hub" not in state.inner_text()
    membership = hubshare.load_membership(data)
    assert membership is not None and membership.stopped_on is not None
    assert hub.count(hubdb.members) == 1
    assert page.get_by_test_id("share-stop").is_hidden()
    delete = page.get_by_test_id("share-delete")
    assert delete.inner_text() == "Delete my days on the hub"

    # delete: asked first ("cannot be undone"), then the hub holds nothing of this person
    delete.click()
    assert "cannot be undone" in confirm.inner_text()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=not_sharing]")
    assert hub.count(hubdb.members) == 0 and not (data / hubshare.STATE_FILE).exists()
    assert page.get_by_test_id("share-join").is_visible()
    assert errors == []
    ctx.close()


def test_a_refused_invite_is_said_on_the_page_and_the_phone_layout_fits(
    browser: Any, hub: RunningHub, service: tuple[str, Path], artifacts: Path
) -> None:
    url, data = service
    ctx, page, errors = _open(browser, url, PHONE)
    _shot(page, artifacts, "share-preview-phone.png")
    card = page.get_by_test_id("sharing")
    box = card.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.locator("#share-hub").fill(hub.server.url)
    page.locator("#share-invite").fill("not-a-code")
    page.locator("#share-join-button").click()
    page.get_by_test_id("share-confirm-yes").click()
    error = page.get_by_test_id("share-error")
    error.get_by_text("invite_invalid", exact=False).wait_for()
    assert "the hub refused to join" in error.inner_text()
    assert page.get_by_test_id("share-state").get_attribute("data-state") == "not_sharing"
    assert not (data / hubshare.STATE_FILE).exists()
    # the confirmation stays open with the error, so the person can cancel or fix the code
    page.get_by_test_id("share-confirm-no").click()

    _, code = hub.invite()
    page.locator("#share-invite").fill(code)
    page.locator("#share-join-button").click()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=sharing]")
    assert page.get_by_test_id("share-delete").is_visible()
    _shot(page, artifacts, "share-sharing-phone.png")
    page.get_by_test_id("share-delete").click()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=not_sharing]")
    assert hub.count(hubdb.members) == 0
    # the refused join's 422 is the one error the browser logs
    assert [e for e in errors if "status of 422" not in e] == []
    ctx.close()


def test_stopping_after_the_hub_had_ended_the_membership_says_it_is_done(
    browser: Any, hub: RunningHub, service: tuple[str, Path]
) -> None:
    """Review: when the hub had ended the membership first, Stop saved the stop here but the
    page said "Not done: ..." and kept showing the Stop button."""
    url, data = service
    ctx, page, errors = _open(browser, url, LAPTOP)
    _, code = hub.invite()
    page.locator("#share-hub").fill(hub.server.url)
    page.locator("#share-invite").fill(code)
    page.locator("#share-join-button").click()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=sharing]")
    membership = hubshare.load_membership(data)
    assert membership is not None
    r = httpx.delete(
        f"{hub.server.url}/hub/v1/me",
        params={"delete": "false"},
        headers={"Authorization": f"Bearer {membership.token}"},
    )
    assert r.status_code == 200, r.text

    page.get_by_test_id("share-stop").click()
    page.get_by_test_id("share-confirm-yes").click()
    page.wait_for_selector("[data-testid=share-state][data-state=stopped]")
    state = page.get_by_test_id("share-state").inner_text()
    assert "The hub had already ended this membership" in state, state
    assert "No day was sent before you stopped" in state and "stay on the hub" not in state
    assert page.get_by_test_id("share-error").inner_text() == ""
    assert page.get_by_test_id("share-confirm").is_hidden()
    assert page.get_by_test_id("share-stop").is_hidden()
    assert page.get_by_test_id("share-delete").inner_text() == "Delete my days on the hub"
    assert errors == []
    ctx.close()


@pytest.mark.parametrize("sent", [True, False], ids=["some_sent", "none_sent"])
def test_the_page_speaks_of_the_days_sent_not_of_days_refused_for_good(
    browser: Any, tmp_path: Path, sent: bool
) -> None:
    """Review: the page took ``last_pushed`` for the last day sent, but it also moves over days
    the hub refused for good (never sent)."""
    data = tmp_path / "me"
    _seed(data)
    day = dt.date(2026, 3, 2)
    hubshare.save_membership(
        data,
        hubshare.Membership(
            "http://hub.test",
            "m1",
            "g1",
            "hm_t",
            counts_from=day,
            last_pushed=day + dt.timedelta(days=3),
            stopped_on=day + dt.timedelta(days=4),
            refused={(day + dt.timedelta(days=i)).isoformat(): "period_closed" for i in (1, 2, 3)},
            last_sent=day if sent else None,
        ),
    )
    app = create_app(load_settings(data_dir=data, token=TOKEN))
    with serving(app, lifespan="on") as running:
        ctx, page, errors = _open(browser, running.url, LAPTOP)
        page.wait_for_selector("[data-testid=share-state][data-state=stopped]")
        state = page.get_by_test_id("share-state").inner_text()
        assert "2026-03-05" not in state, state  # the last day refused, never sent
        if sent:
            assert "The days sent before (up to 2026-03-02) stay on the hub" in state, state
        else:
            assert "No day was sent before you stopped" in state, state
            assert "stay on the hub" not in state, state
        assert errors == []
        ctx.close()
