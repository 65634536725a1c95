"""The micro-break banner when breaks overlap in time: an earlier break's effect arriving while
a later break runs (real Chromium, the page's own module; real service behind it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.conftest import WebServer, record_errors

pytestmark = pytest.mark.e2e


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    yield ctx
    ctx.close()


EFFECT = {
    "kind": "breathing",
    "rmssd_before_ms": 28.1,
    "rmssd_after_ms": 32.6,
    "rmssd_change_pct": 16.0,
    "n_windows_before": 24,
    "n_windows_after": 25,
    "n_windows_before_paced": 0,
    "n_windows_after_paced": 0,
}


def test_an_earlier_breaks_effect_does_not_replace_the_running_breaks_banner(
    web_server: WebServer, context: Any
) -> None:
    """The review's case: a reset ended after 1 s, a new reset 8 s later; the first break's
    effect then arrived and replaced "Break in progress" with the effect and only Close (End
    break gone while the service still had a break running). The messages are given to the
    page's own module in that order: the running break's banner stays, with the earlier effect
    as a line in it, and End break still ends it."""
    page = context.new_page()
    errors = record_errors(page)
    page.goto(web_server.url + "/")  # no token: no session is attached (or detached) meanwhile
    page.wait_for_function("() => document.getElementById('micro-break-banner') !== null")
    page.evaluate(
        """async (effect) => {
            const m = await import('/js/microbreaks.js');
            m.onMessage({ micro_break: { type: 'break_started' } });
            m.onMessage({ micro_break: { type: 'break_ended' } });
            m.onMessage({ micro_break: { type: 'break_started' } });
            m.onMessage({ micro_break: { type: 'break_effect', ...effect } });
        }""",
        EFFECT,
    )
    banner = page.locator("#micro-break-banner")
    assert banner.get_attribute("data-phase") == "break"
    assert page.locator("#mb-title").inner_text() == "Break in progress"
    assert page.locator("#mb-end").is_visible()
    assert not page.locator("#mb-dismiss").is_visible()
    effect = page.locator("#mb-effect")
    assert effect.is_visible()
    assert effect.inner_text().startswith("Your earlier break's effect: RMSSD before 28 ms")
    # once the running break is over, its own effect shows as before, with Close
    page.evaluate(
        """async (effect) => {
            const m = await import('/js/microbreaks.js');
            m.onMessage({ micro_break: { type: 'break_ended' } });
            m.onMessage({ micro_break: { type: 'break_effect', ...effect } });
        }""",
        EFFECT,
    )
    assert banner.get_attribute("data-phase") == "effect"
    assert page.locator("#mb-title").inner_text() == "Your break's effect"
    assert page.locator("#mb-effect").inner_text().startswith("RMSSD before 28 ms")
    assert page.locator("#mb-dismiss").inner_text() == "Close"
    assert errors == []


def test_the_pages_words_fit_the_case(web_server: WebServer, context: Any) -> None:
    """The review's wording: History promised a baseline "after a few minutes of recording"
    after 44 minutes of a simulated person (simulations never count); two running sessions
    got "A session is already running (a, b) ... stop it first"; a break's fall in RMSSD was
    shown in bold green, the colour of a good result."""
    with web_server.client() as api:
        sids = [
            api.post(
                "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": seed}}
            ).json()["id"]
            for seed in (1, 2)
        ]
        page = context.new_page()
        errors = record_errors(page)
        try:
            page.goto(f"{web_server.url}/#token={web_server.token}")
            baseline = page.locator("#baseline-summary")
            page.wait_for_function(
                "() => document.getElementById('baseline-summary').textContent !== ''"
            )
            assert "simulations and replays are not counted" in baseline.inner_text()

            if not page.locator("#start-new").evaluate("d => d.open"):
                page.locator("#start-new summary").click()
            page.get_by_label("Simulated person").check()
            page.locator("#start-form").get_by_role("button", name="Start", exact=True).click()
            warning = page.locator("#start-warning")
            warning.wait_for(state="visible")
            text = warning.inner_text()
            assert text.startswith("2 sessions are already running (simulated person"), text
            assert "stop them first" in text and "runs them all" in text, text
            live = [s for s in api.get("/api/v1/sessions").json()["sessions"] if s["live"]]
            assert len(live) == 2

            page.evaluate(
                """async (effect) => {
                    const m = await import('/js/microbreaks.js');
                    m.onMessage({ micro_break: { type: 'break_effect', ...effect } });
                }""",
                {**EFFECT, "rmssd_after_ms": 22.0, "rmssd_change_pct": -22.0},
            )
            effect = page.locator("#mb-effect")
            assert "(-22 %)" in effect.inner_text()
            colours = page.evaluate(
                """() => [document.getElementById('mb-effect'),
                          document.getElementById('mb-title')]
                    .map((el) => getComputedStyle(el).color)"""
            )
            assert colours[0] == colours[1], colours
        finally:
            for sid in sids:
                api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_the_headers_reset_during_a_practice_leaves_the_practice_running(
    web_server: WebServer, context: Any
) -> None:
    """The review's case through the page: the header's "2-minute reset" pressed during a
    10-minute practice cut it to 2 minutes, and the banner's End break then stopped it."""
    with web_server.client() as api:
        sid = api.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 4, "speed": 2}}
        ).json()["id"]
        page = context.new_page()
        errors = record_errors(page)
        try:
            r = api.post(
                f"/api/v1/sessions/{sid}/breathing/practice",
                json={"rate_bpm": 5.5, "duration_s": 600},
            )
            assert r.status_code == 200, r.text
            ends_at = r.json()["guidance"]["ends_at_s"]
            page.goto(f"{web_server.url}/#token={web_server.token}")
            page.wait_for_function(
                f"() => document.getElementById('session-select').value === '{sid}'"
                " && !document.getElementById('session-stop').disabled"
            )
            # the live socket delivers (the break history is read again then: see below)
            page.locator("#conn-status", has_text="Live").wait_for()
            n = int(page.locator("#tachogram").get_attribute("data-n-points") or 0)
            page.wait_for_function(
                f"() => Number(document.getElementById('tachogram').dataset.nPoints || 0) > {n + 2}"
            )
            page.locator("#reset-now").click()
            page.wait_for_function("() => document.body.classList.contains('in-break')")
            guidance = api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
            assert guidance["mode"] == "fixed" and guidance["ends_at_s"] == ends_at, guidance
            page.locator("#mb-end").click()
            page.wait_for_function("() => !document.body.classList.contains('in-break')")
            guidance = api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
            assert guidance is not None and guidance["ends_at_s"] == ends_at, guidance
        finally:
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_a_break_started_before_the_live_socket_subscribed_shows_its_banner(
    web_server: WebServer, context: Any
) -> None:
    """A break started after the page read the break state on attaching, before its live socket
    subscribed, showed no banner: the socket brings only what comes after it, so the page reads
    the state again once the socket delivers. It read the *written* events then, and a break
    whose event was not yet committed at that read was still missed. The window is made
    deterministic: the page's first read is held, the break started through the API, then that
    read answered with the state as it was before; the written history keeps answering as it
    was before the break (its event not yet written) for the whole test. The page's catch-up
    reads the service's memory, which has the break, and shows it."""
    with web_server.client() as api:
        sid = api.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 5, "speed": 2}}
        ).json()["id"]
        page = context.new_page()
        errors = record_errors(page)
        held: list[Any] = []
        state_url = f"/api/v1/sessions/{sid}/microbreaks"
        history_glob = "**/api/v1/microbreaks/history*"

        def hold_first_read(route: Any) -> None:
            # the first read of the state, whichever way the page reads it: answered below
            if not held and route.request.method == "GET":
                held.append(route)
            else:
                route.continue_()

        try:
            before = api.get(state_url)
            assert before.status_code == 200 and before.json()["banner"] == "none", before.text
            hist = api.get("/api/v1/microbreaks/history", params={"session_id": sid, "limit": 20})
            assert hist.status_code == 200 and hist.json()["events"] == [], hist.text
            written = {"history": hist.text, "state": before.text}

            def history_as_written(route: Any) -> None:
                if not held:
                    held.append(route)
                else:
                    route.fulfill(status=200, content_type="application/json", body=hist.text)

            page.route(f"**{state_url}", hold_first_read)
            page.route(history_glob, history_as_written)
            page.goto(f"{web_server.url}/#token={web_server.token}")
            deadline = time.monotonic() + 30
            while not held:  # until the page's attach asks (handlers run while Playwright waits)
                assert time.monotonic() < deadline, "the page never read the break state"
                page.wait_for_timeout(50)
            r = api.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "breathing"})
            assert r.status_code == 200, r.text
            which = "history" if "/microbreaks/history" in held[0].request.url else "state"
            held[0].fulfill(status=200, content_type="application/json", body=written[which])
            page.locator("#conn-status", has_text="Live").wait_for()
            page.wait_for_function(
                "() => document.getElementById('micro-break-banner').dataset.phase === 'break'",
                timeout=15_000,
            )
            assert page.locator("#mb-title").inner_text() == "Break in progress"
            assert page.locator("#mb-end").is_visible()
        finally:
            page.unroute(f"**{state_url}")
            page.unroute(history_glob)
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_a_click_during_the_catch_up_read_does_not_leave_the_banner_stale(
    web_server: WebServer, context: Any
) -> None:
    """Code review: the page dropped its catch-up read of the break state when the person
    clicked anything meanwhile, even a click that changed nothing on the service. Here the
    page shows a break (its attach read), the break ends through the API before the live
    socket subscribed (no live message brings that), and the catch-up read is held while the
    person clicks the stale End break (409). Once the read is answered the page must show what
    the service has, the break over and being measured; before, it kept "Break in progress"
    and its End break answering 409 until the next micro-break message (about 3 min)."""
    with web_server.client() as api:
        sid = api.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 4, "speed": 1}}
        ).json()["id"]
        state_url = f"/api/v1/sessions/{sid}/microbreaks"
        beats_glob = f"**/api/v1/sessions/{sid}/beats*"
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        held_beats: list[Any] = []
        held_read: list[Any] = []
        reads = [0]

        def hold_first_beats(route: Any) -> None:  # the socket opens after this read
            if not held_beats:
                held_beats.append(route)
            else:
                route.continue_()

        def hold_catch_up_read(route: Any) -> None:
            if route.request.method == "GET":
                reads[0] += 1
                if reads[0] == 2:  # attach's read, then the catch-up after the first message
                    held_read.append(route)
                    return
            route.continue_()

        def until(what: str, cond: Any) -> None:
            deadline = time.monotonic() + 30
            while not cond():  # handlers run while Playwright waits
                assert time.monotonic() < deadline, what
                page.wait_for_timeout(50)

        try:
            r = api.post(f"{state_url}/start", json={"kind": "walk"})
            assert r.status_code == 200, r.text
            page.route(beats_glob, hold_first_beats)
            page.route(f"**{state_url}", hold_catch_up_read)
            page.goto(f"{web_server.url}/#token={web_server.token}")
            page.wait_for_function(
                "() => document.getElementById('micro-break-banner').dataset.phase === 'break'"
            )
            until("the page never read its beats", lambda: bool(held_beats))
            r = api.post(f"{state_url}/end")  # in another tab, say: no live message for this page
            assert r.status_code == 200, r.text
            held_beats[0].continue_()
            until("the page never read the state again", lambda: bool(held_read))
            assert api.get(state_url).json()["banner"] == "measuring"
            with page.expect_response(lambda resp: resp.url.endswith(f"{state_url}/end")) as end:
                page.click("#mb-end")  # stale: the service has no break running
            assert end.value.status == 409
            held_read[0].continue_()
            page.wait_for_function(
                "() => document.getElementById('micro-break-banner').dataset.phase === 'measuring'",
                timeout=15_000,
            )
            assert page.locator("#mb-title").inner_text() == "Break over"
            assert not page.locator("#mb-end").is_visible()
        finally:
            page.unroute(f"**{state_url}")
            page.unroute(beats_glob)
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_a_closed_measuring_banner_stays_closed_on_the_next_state_read(
    web_server: WebServer, context: Any
) -> None:
    """Dismiss on "Break over, measuring" is the page's own (nothing to tell the service): a
    state read after it, still measuring that break (the catch-up after the socket's first
    message, a reconnect's), must not bring the closed banner back. The page used to drop
    such a read instead, which also dropped whatever else it had (review)."""
    with web_server.client() as api:
        sid = api.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": 4, "speed": 1}}
        ).json()["id"]
        state_url = f"/api/v1/sessions/{sid}/microbreaks"
        page = context.new_page()
        errors = record_errors(page)
        try:
            assert api.post(f"{state_url}/start", json={"kind": "walk"}).status_code == 200
            assert api.post(f"{state_url}/end").status_code == 200
            page.goto(f"{web_server.url}/#token={web_server.token}")
            page.locator("#conn-status", has_text="Live").wait_for()
            page.wait_for_function(
                "() => document.getElementById('micro-break-banner').dataset.phase === 'measuring'"
            )
            page.click("#mb-dismiss")
            assert page.locator("#micro-break-banner").is_hidden()
            assert api.get(state_url).json()["banner"] == "measuring"
            page.evaluate("async () => (await import('/js/microbreaks.js')).catchUp()")
            assert page.locator("#micro-break-banner").is_hidden()
        finally:
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []
