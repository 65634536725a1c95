"""A prompt card the person is writing in is never taken away under them (review finding).

The service refuses an answer after a prompt expires (409 ``prompt_closed``: it counts as
missed, EMA compliance), so the honest page keeps the card and the words, says the prompt
expired, and offers to move them to a check-in note; a newer prompt waits behind the card
instead of replacing it. Real Chromium against the real service on a plan clock the test sets;
no session runs, so the page learns of prompts by polling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from tests._clock import BERLIN, SetClock, berlin
from tests._uvicorn import serving
from tests.web.conftest import ARTIFACTS, LAPTOP, close_context, poll, record_errors

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def day(tmp_path: Path) -> Iterator[tuple[str, str, SetClock, httpx.Client]]:
    """A Monday at 08:00 whose plan has a reflection at 09:00 and a morning prompt at 09:02,
    each expiring 5 minutes after its time."""
    clock = SetClock(datetime(2026, 12, 7, 8, 0, tzinfo=BERLIN))
    settings = load_settings(data_dir=tmp_path / "data", token="late-token")
    app = create_app(settings, plan_clock=lambda tz: clock)
    with (
        serving(app, ws="auto", lifespan="on") as running,
        httpx.Client(
            base_url=running.url, headers={"Authorization": f"Bearer {app.state.token}"}
        ) as api,
    ):
        plan = api.get("/api/v1/dayplan").json()
        plan["interventions"] = [
            {"id": "reflection", "kind": "evening_reflection", "start": "09:00"},
            {"id": "morning", "kind": "morning_prompt", "start": "09:02"},
        ]
        plan["expire_after_s"] = 300
        assert api.put("/api/v1/dayplan", json=plan).status_code == 200
        yield running.url, app.state.token, clock, api


def _state(api: httpx.Client, key_end: str) -> str | None:
    prompts = api.get("/api/v1/prompts").json()["prompts"]
    return next((p["state"] for p in prompts if p["key"].endswith(key_end)), None)


def test_a_card_being_written_in_stays_queues_the_next_and_keeps_its_words(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    base, token, clock, api = day
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    page = ctx.new_page()
    errors = record_errors(page)
    try:
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        kind = lambda: card.get_attribute("data-kind")  # noqa: E731

        # the reflection arrives; the person starts writing
        clock.set(berlin(2026, 12, 7, 9, 1))
        poll(
            page,
            lambda: card.is_visible() and kind() == "evening_reflection",
            timeout_s=15,
            what="the reflection's card",
        )
        page.locator("#prompt-answer").fill("Finished the quarterly report")

        # a newer prompt is sent: it waits behind the card, which keeps the words
        clock.set(berlin(2026, 12, 7, 9, 3))
        poll(page, lambda: _state(api, ":morning") == "sent", timeout_s=10, what="morning sent")
        waiting = page.get_by_test_id("prompt-waiting")
        poll(page, waiting.is_visible, timeout_s=10, what="the waiting note")
        assert waiting.inner_text() == "1 more prompt waiting."
        assert kind() == "evening_reflection"
        assert page.locator("#prompt-answer").input_value() == "Finished the quarterly report"

        # saved in time; then the waiting prompt takes the card
        card.get_by_role("button", name="Save", exact=True).click()
        poll(page, lambda: kind() == "morning_prompt", timeout_s=10, what="the queued prompt")
        assert _state(api, ":reflection") == "answered"
        assert page.locator("#prompt-answer").input_value() == ""
        assert not waiting.is_visible()

        # the person writes; the prompt expires (09:07) before they save
        page.locator("#prompt-answer").fill("A walk at lunch")
        clock.set(berlin(2026, 12, 7, 9, 10))
        poll(page, lambda: _state(api, ":morning") == "expired", timeout_s=10, what="expiry")
        poll(
            page,
            lambda: card.get_attribute("data-stale") == "1",
            timeout_s=10,
            what="the card kept after expiry",
        )
        assert card.is_visible()
        status = page.locator("#prompt-status").inner_text()
        # 09:07 on the plan's clock, in the browser's own style (9:07 AM, 09:07)
        assert re.search(r"expired at 0?9:07( AM)? before it was saved", status), status
        assert page.locator("#prompt-answer").input_value() == "A walk at lunch"
        assert not card.get_by_role("button", name="Save", exact=True).is_visible()

        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "prompt-expired-390.png"))
        page.set_viewport_size({"width": 1366, "height": 768})
        page.screenshot(path=str(ARTIFACTS / "prompt-expired-1366.png"))
        # moved to the check-in card's note, with the question it answered
        card.get_by_role("button", name="Move to a check-in note").click()
        card.wait_for(state="hidden")
        note = page.locator("#checkin-note").input_value()
        assert note == "What are you looking forward to most today? A walk at lunch"
        assert "pick stress and energy" in page.locator("#prompt-done").inner_text()
        # nothing was posted to the expired prompt
        assert _state(api, ":morning") == "expired"
    finally:
        close_context(ctx)
    assert errors == []


def test_words_too_long_for_a_check_in_note_stay_on_the_card_whole(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    """Review finding 2: "Move to a check-in note" kept the first 1,000 characters and closed
    the card, after saying "What you wrote is still here". The answer box takes 4,000 and the
    note 1,000: what does not fit is not moved, and nothing is cut; Copy takes all of it, and
    a shortened answer moves."""
    base, token, clock, _ = day
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = ctx.new_page()
    errors = record_errors(page)
    try:
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        clock.set(berlin(2026, 12, 7, 9, 1))
        poll(page, card.is_visible, timeout_s=15, what="the reflection's card")
        question = page.locator("#prompt-text").inner_text()
        page.locator("#checkin-note").fill("earlier note about my morning")
        answer = "".join(f"[{i:04d}] " for i in range(571))[:3995] + "END!!"
        assert len(answer) == 4000
        page.locator("#prompt-answer").fill(answer)
        clock.set(berlin(2026, 12, 7, 9, 10))  # it expires at 09:05 before it is saved
        poll(
            page,
            lambda: card.get_attribute("data-stale") == "1",
            timeout_s=15,
            what="the card kept after expiry",
        )

        card.get_by_role("button", name="Move to a check-in note").click()
        status = page.locator("#prompt-status")
        poll(page, lambda: "Not moved" in status.inner_text(), timeout_s=5, what="not moved")
        whole = len("earlier note about my morning\n" + question + " " + answer)
        assert f"{whole - 1000} characters too long" in status.inner_text()
        assert "Nothing was cut" in status.inner_text()
        # the card and every word stay; the check-in note is as it was
        assert card.is_visible() and card.get_attribute("data-too-long") == "1"
        assert page.locator("#prompt-answer").input_value() == answer
        assert page.locator("#checkin-note").input_value() == "earlier note about my morning"

        # Copy takes all of it, the question with it
        card.get_by_role("button", name="Copy text").click()
        poll(page, lambda: status.inner_text() == "Copied.", timeout_s=5, what="copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == f"{question} {answer}"

        # shortened, it fits and moves
        page.locator("#prompt-answer").fill("Shorter: the report is done.")
        card.get_by_role("button", name="Move to a check-in note").click()
        poll(page, lambda: not card.is_visible(), timeout_s=5, what="the card moved")
        note = page.locator("#checkin-note").input_value()
        assert note == f"earlier note about my morning\n{question} Shorter: the report is done."
    finally:
        close_context(ctx)
    assert errors == []


def test_a_poll_answered_before_the_save_does_not_bring_the_card_back(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    """The page polls the open prompts every 3 s. A poll the service answered just before the
    person's Save (the prompt still open), arriving after the Save's answer, showed the
    answered card again, for up to the next poll (a second Save then got "already answered").
    Playwright holds that poll's answer until the Save is done."""
    base, token, clock, api = day
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    page = ctx.new_page()
    errors = record_errors(page)
    held: list[tuple[Any, Any]] = []
    holding = {"on": False}

    def open_prompts(route: Any) -> None:
        if holding["on"]:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    try:
        page.route("**/api/v1/prompts?state=sent*", open_prompts)
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        clock.set(berlin(2026, 12, 7, 9, 1))
        poll(page, card.is_visible, timeout_s=15, what="the reflection's card")
        holding["on"] = True
        poll(page, lambda: held, timeout_s=10, what="a poll held")
        assert held[0][1].json()["prompts"][0]["state"] == "sent"  # answered before the Save
        page.locator("#prompt-answer").fill("Finished the quarterly report")
        card.get_by_role("button", name="Save", exact=True).click()
        card.wait_for(state="hidden")
        assert page.locator("#prompt-done").inner_text() == "Saved. Thank you."
        assert _state(api, ":reflection") == "answered"
        # whether the card shows again, even for a moment, from here on
        page.evaluate(
            """() => {
                const card = document.querySelector('[data-testid=prompt-card]');
                window.__cardShown = false;
                new MutationObserver(() => { if (!card.hidden) window.__cardShown = true; })
                    .observe(card, { attributes: true });
            }"""
        )
        route, response = held.pop(0)
        with page.expect_event("requestfinished", lambda r: r is route.request):
            route.fulfill(response=response)  # later polls stay held
        page.wait_for_timeout(500)  # the answer read and handled
        assert page.evaluate("window.__cardShown") is False
        assert card.is_hidden()
        assert page.locator("#prompt-done").inner_text() == "Saved. Thank you."
        holding["on"] = False
        for route, response in held:
            route.fulfill(response=response)
    finally:
        close_context(ctx)
    assert errors == []


_WATCH_HIDDEN = """() => {
    const card = document.querySelector('[data-testid=prompt-card]');
    window.__cardHidden = false;
    new MutationObserver(() => { if (card.hidden) window.__cardHidden = true; })
        .observe(card, { attributes: true });
}"""


def _polls_read(page: Any, n: int) -> None:
    """Wait until ``n`` more polls of the open prompts have finished (a poll every 3 s): the
    page reads answers in the order they arrive, so one released before them is read by then."""
    for _ in range(n):
        with page.expect_event("requestfinished", lambda r: "state=sent" in r.url, timeout=15_000):
            pass


def test_a_poll_sent_before_a_prompt_existed_does_not_close_its_card(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    """Review finding (regression of the late-poll fix): a poll answered before the reflection
    was sent, arriving after a later poll showed its card, took the card away for good (the
    page counted the prompt closed and ignored it from then on, open on the service)."""
    base, token, clock, api = day
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    page = ctx.new_page()
    errors = record_errors(page)
    held: list[tuple[Any, Any]] = []
    holding = {"on": False}

    def open_prompts(route: Any) -> None:
        if holding["on"] and not held:
            held.append((route, route.fetch()))  # answered now, with no prompt open yet
        else:
            route.continue_()

    try:
        page.route("**/api/v1/prompts?state=sent*", open_prompts)
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        holding["on"] = True
        poll(page, lambda: held, timeout_s=10, what="a poll held")
        assert held[0][1].json()["prompts"] == []
        clock.set(berlin(2026, 12, 7, 9, 1))  # the reflection is sent; later polls show it
        poll(page, card.is_visible, timeout_s=15, what="the reflection's card")
        page.evaluate(_WATCH_HIDDEN)
        route, response = held[0]
        with page.expect_event("requestfinished", lambda r: r is route.request):
            route.fulfill(response=response)  # the older poll's answer, late
        _polls_read(page, 2)
        assert page.evaluate("window.__cardHidden") is False
        assert card.is_visible()
        assert _state(api, ":reflection") == "sent"
    finally:
        close_context(ctx)
    assert errors == []


def test_a_poll_sent_before_a_socket_prompt_does_not_close_its_card(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    """As above with the live socket: the prompt arrives as a ``prompt`` message while polls
    sent before it are on their way; their answers (without it) must not close its card."""
    base, token, clock, api = day
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    page = ctx.new_page()
    errors = record_errors(page)
    held: list[tuple[Any, Any]] = []
    holding = {"on": False}

    def open_prompts(route: Any) -> None:
        if holding["on"]:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    try:
        page.route("**/api/v1/prompts?state=sent*", open_prompts)
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        holding["on"] = True
        poll(page, lambda: held, timeout_s=10, what="a poll held")
        assert held[0][1].json()["prompts"] == []
        clock.set(berlin(2026, 12, 7, 9, 1))
        poll(page, lambda: _state(api, ":reflection") == "sent", timeout_s=15, what="sent")
        prompt = next(
            p for p in api.get("/api/v1/prompts").json()["prompts"] if p["state"] == "sent"
        )
        # the live socket's message, handed to the page's own prompts module
        page.evaluate(
            "async (p) => (await import('/js/prompts.js')).onMessage({event: 'sent', prompt: p})",
            prompt,
        )
        poll(page, card.is_visible, timeout_s=5, what="the reflection's card")
        page.evaluate(_WATCH_HIDDEN)
        holding["on"] = False
        for route, response in list(held):
            with page.expect_event("requestfinished", lambda r, route=route: r is route.request):
                route.fulfill(response=response)  # each without the prompt
        _polls_read(page, 2)
        assert page.evaluate("window.__cardHidden") is False
        assert card.is_visible()
    finally:
        close_context(ctx)
    assert errors == []


def _status_says(status: Any, says: str) -> bool:
    return says in status.inner_text()


def test_a_dismiss_that_failed_keeps_the_card_to_dismiss_again(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    """Review finding: a Dismiss whose request failed (the network, a 500) hid the card for
    good, the prompt still open on the service. Only a dismiss the service took (or a 409, the
    prompt closed elsewhere) closes the card; otherwise it says so and stays."""
    base, token, clock, api = day
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    page = ctx.new_page()
    errors = record_errors(page)
    failures = ["abort", "500"]

    def dismiss(route: Any) -> None:
        how = failures.pop(0) if failures else None
        if how == "abort":
            route.abort("internetdisconnected")
        elif how == "500":
            route.fulfill(status=500, json={"detail": "the service stumbled"})
        else:
            route.continue_()

    try:
        page.route("**/api/v1/prompts/*/dismiss", dismiss)
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        status = page.locator("#prompt-status")
        clock.set(berlin(2026, 12, 7, 9, 1))
        poll(page, card.is_visible, timeout_s=15, what="the reflection's card")
        button = card.get_by_role("button", name="Dismiss", exact=True)
        for says in ("Not dismissed: ", "Not dismissed: the service stumbled"):
            button.click()
            poll(page, partial(_status_says, status, says), timeout_s=10, what=says)
            assert card.is_visible() and button.is_enabled()
            assert _state(api, ":reflection") == "sent"
            status.evaluate("el => { el.textContent = ''; }")  # the next failure says it again
        assert failures == []
        # still open, so still shown after the next polls
        _polls_read(page, 2)
        assert card.is_visible()
        button.click()
        card.wait_for(state="hidden")
        poll(page, lambda: _state(api, ":reflection") == "dismissed", timeout_s=5, what="saved")
        _polls_read(page, 1)
        assert card.is_hidden()
    finally:
        close_context(ctx)
    # the browser's own lines for the failed requests, nothing else
    assert [e for e in errors if "Failed to load resource" not in e] == []


def test_a_cards_confirmation_goes_when_the_next_card_shows_or_hides(
    day: tuple[str, str, SetClock, httpx.Client], browser: Any
) -> None:
    """The review's case: "Saved. Thank you." stayed under later cards, and a card that
    expired and vanished left "Done. Thank you." from an earlier one. A card's confirmation
    shows until the next card shows (a queued card taking over at once keeps it below) or that
    next card hides."""
    base, token, clock, api = day
    plan = api.get("/api/v1/dayplan").json()
    plan["interventions"] = [
        {"id": "first", "kind": "morning_prompt", "start": "09:00"},
        {"id": "second", "kind": "morning_prompt", "start": "09:02"},
        {"id": "third", "kind": "morning_prompt", "start": "09:04"},
    ]
    assert api.put("/api/v1/dayplan", json=plan).status_code == 200
    ctx = browser.new_context(viewport=LAPTOP, timezone_id="Europe/Berlin")
    page = ctx.new_page()
    errors = record_errors(page)
    try:
        page.goto(f"{base}/#token={token}")
        card = page.get_by_test_id("prompt-card")
        done = page.locator("#prompt-done")
        shown = lambda: card.get_attribute("data-prompt-id") if card.is_visible() else None  # noqa: E731

        clock.set(berlin(2026, 12, 7, 9, 1))
        poll(page, shown, timeout_s=15, what="the first card")
        first = shown()
        page.locator("#prompt-answer").fill("The report")
        card.get_by_role("button", name="Save", exact=True).click()
        card.wait_for(state="hidden")
        assert done.inner_text() == "Saved. Thank you."

        # a new card: the earlier card's confirmation is not this one's
        clock.set(berlin(2026, 12, 7, 9, 3))
        poll(page, lambda: shown() not in (None, first), timeout_s=15, what="the second card")
        assert done.inner_text() == ""

        # written in, the third waits behind it; saved, the third takes the card at once and
        # the second's confirmation shows with it
        page.locator("#prompt-answer").fill("A walk")
        clock.set(berlin(2026, 12, 7, 9, 5))
        poll(page, lambda: _state(api, ":third") == "sent", timeout_s=10, what="third sent")
        poll(page, page.get_by_test_id("prompt-waiting").is_visible, timeout_s=10, what="queued")
        card.get_by_role("button", name="Save", exact=True).click()
        poll(
            page,
            lambda: _state(api, ":third") == "sent" and done.inner_text() != "",
            timeout_s=10,
            what="the confirmation",
        )
        assert done.inner_text() == "Saved. Thank you."
        assert card.is_visible() and card.get_attribute("data-kind") == "morning_prompt"

        # the third expires untouched (09:09): its card goes, and no earlier confirmation stays
        clock.set(berlin(2026, 12, 7, 9, 12))
        poll(page, lambda: _state(api, ":third") == "expired", timeout_s=10, what="expiry")
        card.wait_for(state="hidden", timeout=15_000)
        assert done.inner_text() == ""
    finally:
        close_context(ctx)
    assert errors == []
