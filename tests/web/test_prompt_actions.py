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
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from api.app import create_app
from api.settings import load_settings
from tests._clock import BERLIN, SetClock, berlin
from tests._uvicorn import serving
from tests.web.conftest import LAPTOP, poll, record_errors
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
    try:
        page.wait_for_function(
            "(() => { const c = document.querySelector('[data-testid=prompt-card]');"
            f" return !c.hidden && c.dataset.kind === '{kind}'; }})()",
            timeout=15_000,
        )
    except Exception as exc:  # say what the card shows instead
        shown = page.evaluate(
            "(() => { const c = document.querySelector('[data-testid=prompt-card]');"
            " return {hidden: c.hidden, kind: c.dataset.kind, id: c.dataset.promptId,"
            " waiting: document.getElementById('prompt-waiting').textContent,"
            " status: document.getElementById('prompt-status').textContent,"
            " conn: document.getElementById('conn-status').textContent}; })()"
        )
        raise AssertionError(f"no {kind} card; the card: {shown}") from exc


def _press_done(page: Any) -> None:
    """Press Done on the card shown and see its ``POST /prompts/{id}/done`` go out.

    Once in CI the reset's card did not come back within 15 s of Done pressed on the screen
    break's card, and once in a local run of tests/web (3 workers) the reset's Done pressed on
    its card that had come back sent nothing in 10 s; alone, neither shows: the cause is not
    known.
    The likely one: the 2-minute breathing break the reset started runs 2 s at FAST, and its
    banner goes up and down on its own time, moving the card under a click. So the press is
    checked by its request (a person would press again, and so does this, once), and
    ``_card_of`` now says what the card showed instead if it fails again.
    """
    prompt_id = page.locator("#prompt-card").get_attribute("data-prompt-id")
    button = page.get_by_test_id("prompt-card").get_by_role("button", name="Done", exact=True)
    for attempt in range(2):
        try:
            with page.expect_request(
                lambda q: q.method == "POST" and q.url.endswith(f"/prompts/{prompt_id}/done"),
                timeout=5_000,
            ):
                button.click()
            return
        except PlaywrightTimeoutError:
            if attempt:
                raise


def _the_replaced_checkin_comes_last(page: Any, api: httpx.Client) -> None:
    """At 09:11 the 09:00 check-in and the 09:10 reset were sent together; the reset, newer,
    took the card. With every newer prompt done, the check-in (still open, never answered) has
    the card: the page's poll offers the newest open prompt. (The CI once caught the card
    hidden for only a moment between the two; the card is not expected to stay hidden.)"""
    checkin = _prompt(api, ":checkin", "sent")
    assert checkin is not None
    _card_of(page, "checkin")
    assert page.locator("#prompt-card").get_attribute("data-prompt-id") == str(checkin["id"])
    assert page.get_by_test_id("prompt-waiting").is_hidden()


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
        _press_done(page)  # checked by its request: the reset's break banner moves the card
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


def test_a_reset_whose_done_failed_after_another_prompt_took_the_card_comes_back(
    day: tuple[str, str, SetClock], browser: Any
) -> None:
    """Review finding: a breathing reset's Start whose card another prompt took while the break
    started marked the reset gone before its POST .../done was answered: a failed done (the
    network, a 500) left the prompt open on the service and off the page for good. As a failed
    dismiss keeps its card, it now comes back (behind the card shown) to be marked done.
    Playwright holds the break's start until the next prompt has the card, and fails the done.
    """
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
    held: list[Any] = []
    done_failures = ["500"]
    done_posts: list[str] = []

    def break_start(route: Any) -> None:
        held.append(route)  # answered once the screen break has the card

    def done(route: Any) -> None:
        done_posts.append(route.request.url)
        if done_failures:
            done_failures.pop(0)
            route.fulfill(status=500, json={"detail": "the service stumbled"})
        else:
            route.continue_()

    try:
        page.route("**/api/v1/sessions/*/microbreaks/start", break_start)
        page.route("**/api/v1/prompts/*/done", done)
        page.goto(f"{base}/#token={token}")
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        card = page.get_by_test_id("prompt-card")
        waiting = page.get_by_test_id("prompt-waiting")
        wait_until(
            lambda: api.get(f"/api/v1/sessions/{sid}").json()["n_beats"] > 200,
            timeout_s=20,
            what="beats before the break",
        )
        clock.set(berlin(2026, 12, 7, 9, 11))
        _card_of(page, "breathing_reset")
        reset = _prompt(api, ":reset", "sent")
        assert reset is not None
        card.get_by_role("button", name="Start", exact=True).click()
        poll(page, lambda: held, timeout_s=10, what="the break's start held")
        clock.set(berlin(2026, 12, 7, 9, 21))
        _card_of(page, "detox_reminder")  # the screen break took the card
        with page.expect_event(
            "requestfinished", lambda q: q.url.endswith(f"/prompts/{reset['id']}/done")
        ):
            held.pop().continue_()  # the break starts; the reset's done then fails
        assert done_failures == []
        assert _prompt(api, ":reset", "sent") is not None  # still open on the service
        # back in line behind the screen break's card, not lost
        waiting.wait_for(state="visible", timeout=10_000)
        assert waiting.inner_text() == "1 more prompt waiting."
        _press_done(page)  # the screen break's
        _card_of(page, "breathing_reset")  # the screen break done: the reset's card again
        assert page.locator("#prompt-card").get_attribute("data-prompt-id") == str(reset["id"])
        assert waiting.is_hidden()
        _press_done(page)  # the reset's, checked by its request (the break's banner moves it)
        wait_until(lambda: _prompt(api, ":reset", "done"), timeout_s=10, what="the reset done")
        _the_replaced_checkin_comes_last(page, api)
        assert len(done_posts) == 3  # the failed one, the screen break's, the reset's again
        api.post(f"/api/v1/sessions/{sid}/stop")
    finally:
        ctx.close()
        api.close()
    # the browser's own line for the failed request, nothing else
    assert [e for e in errors if "Failed to load resource" not in e] == []


def test_a_reset_whose_done_hangs_after_another_prompt_took_the_card_comes_back(
    day: tuple[str, str, SetClock], browser: Any
) -> None:
    """Review finding (d7957bf): a breathing reset's POST .../done sent after another prompt took
    its card had no time limit: while it hung the reset stayed off the page (left out of the
    polls as on its way), with nothing on screen. It now gives up after a while (15 s; lowered
    here through the page's own prompts module) as on a network failure: the reset comes back
    behind the card shown. Playwright holds the break's start until the next prompt has the
    card, then holds the done for good.
    """
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
    held: list[Any] = []
    hung: list[Any] = []
    done_posts: list[str] = []

    def break_start(route: Any) -> None:
        held.append(route)  # answered once the screen break has the card

    def done(route: Any) -> None:
        done_posts.append(route.request.url)
        if not hung:
            hung.append(route)  # never answered
        else:
            route.continue_()

    try:
        page.route("**/api/v1/sessions/*/microbreaks/start", break_start)
        page.route("**/api/v1/prompts/*/done", done)
        page.goto(f"{base}/#token={token}")
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        # the same module instance as the page's (one per URL); no setter: the timeout stays
        page.evaluate("import('/js/prompts.js').then((m) => m.setDoneTimeoutMs?.(500))")
        card = page.get_by_test_id("prompt-card")
        waiting = page.get_by_test_id("prompt-waiting")
        wait_until(
            lambda: api.get(f"/api/v1/sessions/{sid}").json()["n_beats"] > 200,
            timeout_s=20,
            what="beats before the break",
        )
        clock.set(berlin(2026, 12, 7, 9, 11))
        _card_of(page, "breathing_reset")
        reset = _prompt(api, ":reset", "sent")
        assert reset is not None
        card.get_by_role("button", name="Start", exact=True).click()
        poll(page, lambda: held, timeout_s=10, what="the break's start held")
        clock.set(berlin(2026, 12, 7, 9, 21))
        _card_of(page, "detox_reminder")  # the screen break took the card
        with page.expect_request(lambda q: q.url.endswith(f"/prompts/{reset['id']}/done")):
            held.pop().continue_()  # the break starts; the reset's done hangs
        # given up on: back in line behind the screen break's card, and said why
        waiting.wait_for(state="visible", timeout=10_000)
        assert waiting.inner_text() == "1 more prompt waiting."
        assert len(hung) == 1
        conn = page.locator("#conn-status").inner_text()
        assert (
            conn == "Breathing reset started, not marked done: no answer from the service in 0.5 s"
        )
        assert _prompt(api, ":reset", "sent") is not None  # still open on the service
        _press_done(page)  # the screen break's
        _card_of(page, "breathing_reset")  # the screen break done: the reset's card again
        assert page.locator("#prompt-card").get_attribute("data-prompt-id") == str(reset["id"])
        _press_done(page)  # the reset's, checked by its request (the break's banner moves it)
        wait_until(lambda: _prompt(api, ":reset", "done"), timeout_s=10, what="the reset done")
        _the_replaced_checkin_comes_last(page, api)
        assert len(done_posts) == 3  # the hung one, the screen break's, the reset's again
        api.post(f"/api/v1/sessions/{sid}/stop")
    finally:
        ctx.close()
        api.close()
    # the browser's own line for the aborted request, nothing else
    assert [e for e in errors if "Failed to load resource" not in e] == []
