"""Nudges and the breathing guide in real Chromium against the real service (issue 15).

What headless Chromium cannot do, and what stands in for it (said here, nowhere else):
- it has no window manager, so a tab cannot be sent behind another window: the test sets
  ``document.visibilityState`` / ``document.hidden`` / ``hasFocus()`` through an init script and
  fires ``visibilitychange`` as the browser would;
- it draws no system notifications: the init script wraps the real ``Notification`` constructor
  and records each notification the page creates (title, body, tag), then creates it as usual.
Everything else is real: the service, the simulator, the WebSocket, the page's code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LAPTOP, PHONE, WebServer, close_context, record_errors

pytestmark = pytest.mark.e2e

FAST = 60.0  # simulated seconds per wall second
RESET_SPEED = 20.0  # a 2-minute reset in 6 s of wall time

HIDDEN_TAB = """
(() => {
  let visible = true;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return visible ? "visible" : "hidden"; } });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get() { return !visible; } });
  Document.prototype.hasFocus = function () { return visible; };
  window.__setVisible = (v) => {
    visible = v;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.__notifications = [];
  const Real = window.Notification;
  if (Real) {
    const Recorded = function (title, options) {
      const o = options || {};
      window.__notifications.push({ title, body: o.body, tag: o.tag });
      return new Real(title, options);
    };
    Object.defineProperty(Recorded, "permission", { get() { return Real.permission; } });
    Recorded.requestPermission = (...a) => Real.requestPermission(...a);
    window.Notification = Recorded;
  }
})();
"""


# Counts the animation-frame callbacks the page runs (window.__frames).
COUNT_FRAMES = """
(() => {
  const raf = window.requestAnimationFrame.bind(window);
  window.__frames = 0;
  window.requestAnimationFrame = (cb) => raf((t) => {
    window.__frames += 1;
    cb(t);
  });
})();
"""


def wait_until(predicate: Callable[[], Any], *, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def open_page(
    browser: Any, web_server: WebServer
) -> Iterator[Callable[..., tuple[Any, list[str]]]]:
    contexts: list[Any] = []

    def make(viewport: dict[str, int], *, notifications: bool) -> tuple[Any, list[str]]:
        ctx = browser.new_context(viewport=viewport)
        if notifications:
            ctx.grant_permissions(["notifications"], origin=web_server.url)
        contexts.append(ctx)
        ctx.add_init_script(HIDDEN_TAB)
        page = ctx.new_page()
        errors = record_errors(page)
        return page, errors

    yield make
    for ctx in contexts:
        close_context(ctx)


def _start_simulator(api: Any, *, seed: int, speed: float = FAST) -> str:
    r = api.post(
        "/api/v1/sessions", json={"source": {"kind": "simulator", "seed": seed, "speed": speed}}
    )
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid


def _wait_for_beats(api: Any, sid: str, *, more_than: int, timeout_s: float) -> None:
    wait_until(
        lambda: api.get(f"/api/v1/sessions/{sid}").json()["n_beats"] > more_than,
        timeout_s=timeout_s,
        what=f"more than {more_than} beats stored",
    )


def _attach(page: Any, web_server: WebServer, sid: str, *, min_beats: int = 0) -> None:
    page.goto(f"{web_server.url}/#token={web_server.token}")
    page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
    if min_beats:
        page.wait_for_function(
            f"Number(document.getElementById('st-beats').textContent) >= {min_beats}"
        )


def test_a_flag_while_the_tab_is_hidden_notifies_and_badges_the_title(
    web_server: WebServer, open_page: Callable[..., Any], artifacts: Path
) -> None:
    page, errors = open_page(LAPTOP, notifications=True)
    with web_server.client() as api:
        sid = _start_simulator(api, seed=4)
        _attach(page, web_server, sid)
        assert "Break alerts are on" in page.locator("#notify-status").inner_text()
        _wait_for_beats(api, sid, more_than=300, timeout_s=20)
        page.evaluate("window.__setVisible(false)")  # the person works in another window
        assert (
            api.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 1.0}).status_code == 200
        )
        page.wait_for_function("window.__notifications.length > 0", timeout=30_000)
        notes = page.evaluate("window.__notifications")
        assert notes[0]["title"] == "Time for a short break"
        assert "than usual for you" in notes[0]["body"]  # the plain summary, no statistics
        assert notes[0]["tag"] == "hrvpace-break"
        assert page.title().startswith("(1) Break due")
        # the banner says the same words
        assert page.locator("#mb-reason").inner_text() == notes[0]["body"]
        page.evaluate("window.__setVisible(true)")  # back to the page: the badge goes
        page.wait_for_function("!document.title.startsWith('(')", timeout=5000)
        assert page.title() == "hrvpace"
        page.screenshot(path=str(artifacts / "nudge-laptop.png"), full_page=False)
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_without_permission_the_page_says_what_it_misses_and_still_badges(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    page, errors = open_page(LAPTOP, notifications=False)
    page.goto(f"{web_server.url}/#token={web_server.token}")
    status = page.locator("#notify-status")
    status.wait_for()
    assert "only see a due break while this page is in front" in status.inner_text()
    # asking happens on a click, with the reason next to the button
    ask = page.get_by_test_id("notify-enable")
    assert ask.is_visible() and "another window" in (ask.get_attribute("title") or "")
    # a nudge with the page hidden: no notification without permission, but a title badge
    page.evaluate("window.__setVisible(false)")
    page.evaluate("import('/js/nudges.js').then(n => n.nudge({title: 't', body: 'b', tag: 'x'}))")
    page.wait_for_function("document.title.startsWith('(1)')", timeout=5000)
    assert page.evaluate("window.__notifications.length") == 0
    assert errors == []


def test_practice_defaults_longer_out_counts_down_and_stops(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    page, errors = open_page(LAPTOP, notifications=False)
    page.add_init_script(COUNT_FRAMES)
    with web_server.client() as api:
        sid = _start_simulator(api, seed=6, speed=1)
        _attach(page, web_server, sid, min_beats=3)
        page.get_by_label("Duration").select_option("120")
        page.get_by_role("button", name="Practise at this rate").click()
        pacer = page.get_by_test_id("pacer")
        page.wait_for_function(
            "document.querySelector('[data-testid=pacer]').dataset.stage !== 'idle'"
        )
        guidance = api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
        assert guidance["pattern"]["inhale_to_exhale"] < 1.0  # 4:6 by default
        countdown = page.get_by_test_id("break-countdown")
        countdown.wait_for(state="visible")
        left = int(countdown.get_attribute("data-remaining-s") or "-1")
        assert 100 <= left <= 120, left
        assert countdown.inner_text().endswith("left")
        page.get_by_test_id("pacer-stop").click()
        page.wait_for_function(
            "document.querySelector('[data-testid=pacer]').dataset.stage === 'idle'",
            timeout=5000,
        )
        assert pacer.get_attribute("data-stage") == "idle"
        assert countdown.is_hidden() and page.get_by_test_id("pacer-stop").is_hidden()
        assert api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"] is None
        # pacing again, and the session stopped while it paces (Stop, not Stop pacing): the
        # pacer, its countdown and Stop pacing go with the session (code review: they went on
        # on a stopped session, at 60 frames a second)
        page.get_by_role("button", name="Practise at this rate").click()
        page.wait_for_function(
            "document.querySelector('[data-testid=pacer]').dataset.stage !== 'idle'"
        )
        api.post(f"/api/v1/sessions/{sid}/stop")
        # Nothing changes on the page any more: it asks for no animation frames (it is open
        # all day on laptops; it ran 60 a second for ever). A second of them is counted: the
        # session's last messages may still redraw the charts (a frame, one more after the
        # redraw's 500 ms throttle) and the history read on the end draw its chart.
        page.wait_for_function(
            "document.getElementById('conn-status').textContent.startsWith('Session stopped')"
        )
        page.wait_for_function(
            "document.querySelector('[data-testid=pacer]').dataset.stage === 'idle'",
            timeout=5000,
        )
        assert countdown.is_hidden() and page.get_by_test_id("pacer-stop").is_hidden()
        frames = page.evaluate(
            """() => new Promise((done) => {
                const n0 = window.__frames;
                setTimeout(() => done(window.__frames - n0), 1000);
            })"""
        )
        assert frames <= 3, f"{frames} animation frames in 1 s of an idle page"
    assert errors == []


def test_guidance_sent_before_a_stop_does_not_restart_the_pacer(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """Live messages wait for their data to be stored, so the per-beat guidance sent just before
    a stop can reach the page after the stop's answer (a CI run caught the page showing "Stop
    pacing" again for that moment). Playwright holds the socket's messages to make the order
    certain: the stale guidance is delivered after the answer, the "stopped" one is not yet."""
    held: list[str] = []
    holding = {"on": False}
    to_page: list[Any] = []  # the page's side of the routed socket

    def route(ws: Any) -> None:
        to_page.append(ws)
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if holding["on"] and isinstance(message, str):
                held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    page, errors = open_page(LAPTOP, notifications=False)
    page.route_web_socket("**/live", route)
    with web_server.client() as api:
        sid = _start_simulator(api, seed=6)
        try:
            # attached and live (beats shown) before the practice is asked for: a 4-worker CI
            # run once saw the pacer idle for 30 s after this click
            _attach(page, web_server, sid, min_beats=3)
            page.get_by_role("button", name="Practise at this rate").click()
            page.wait_for_function(
                "document.querySelector('[data-testid=pacer]').dataset.stage !== 'idle'"
            )
            holding["on"] = True

            def guidance(message: str) -> dict[str, Any] | None:
                data: dict[str, Any] = json.loads(message)
                return data if data.get("type") == "guidance" else None

            for _ in range(100):  # Playwright's sync API runs the route while it is called
                if any(guidance(m) for m in held):
                    break
                page.wait_for_timeout(100)
            assert any(guidance(m) for m in held), "no guidance message in 10 s"
            page.get_by_test_id("pacer-stop").click()
            page.wait_for_function(
                "document.querySelector('[data-testid=pacer]').dataset.stage === 'idle'"
            )
            stale = [
                m for m in list(held) if (g := guidance(m)) and g["guidance"]["mode"] != "stopped"
            ]
            assert stale, "no pre-stop guidance was held"
            for message in stale:  # what the socket delivered late; "stopped" still held
                to_page[-1].send(message)
            page.wait_for_timeout(300)  # the messages handled, a few animation frames drawn
            assert page.get_by_test_id("pacer-stop").is_hidden()
            assert page.get_by_test_id("pacer").get_attribute("data-stage") == "idle"
        finally:
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_a_stop_from_another_client_right_after_this_pages_command_is_shown(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """Another client (a second tab, the companion app) stops the pacer within the same beat
    interval as this page's command: both carry the same session time, so only the live
    stream's order (``seq``) tells the later one; the page must end up stopped."""
    page, errors = open_page(LAPTOP, notifications=False)
    with web_server.client() as api:
        sid = _start_simulator(api, seed=8, speed=1)
        _attach(page, web_server, sid, min_beats=3)
        with page.expect_response(lambda resp: resp.url.endswith("/breathing/practice")) as ans:
            page.get_by_role("button", name="Practise at this rate").click()
        practice = ans.value.json()
        stop = api.post(f"/api/v1/sessions/{sid}/breathing/stop").json()
        assert stop["seq"] > practice["seq"]
        page.wait_for_function(
            "document.querySelector('[data-testid=pacer]').dataset.stage === 'idle'"
            " && document.getElementById('pacer-stop').hidden",
            timeout=10_000,
        )
        page.wait_for_timeout(1500)  # a beat or two later it has not come back
        assert page.get_by_test_id("pacer-stop").is_hidden()
    assert errors == []


def test_a_history_load_asked_for_before_a_label_was_saved_keeps_the_label(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """A session that ends reloads the history while the person may already be typing a label
    (a CI run caught the summary titled "Your session of ..." right after the label was
    stored): the load that was asked for before the save must not put the old label back.
    Playwright holds that history request until the label is saved."""
    page, errors = open_page(LAPTOP, notifications=False)
    held: list[Any] = []
    holding = {"on": False}

    def history(route: Any) -> None:
        if holding["on"]:  # the server answers now, the page gets the answer later
            held.append((route, route.fetch()))
        else:
            route.continue_()

    with web_server.client() as api:
        sid = _start_simulator(api, seed=11)
        _wait_for_beats(api, sid, more_than=100, timeout_s=20)
        api.post(f"/api/v1/sessions/{sid}/stop")
        page.goto(f"{web_server.url}/#token={web_server.token}")
        row = page.locator(f"#history-table tr[data-session-id='{sid}']")
        row.locator("td", has_text="stopped").wait_for(timeout=10_000)
        page.route("**/api/v1/sessions?limit=100", history)
        holding["on"] = True
        page.get_by_role("button", name="Refresh").click()
        for _ in range(50):  # the sync API runs the route handler while it is called
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the history request was not held"
        holding["on"] = False
        label = row.get_by_role("textbox")
        label.fill("before lunch")
        label.press("Enter")
        page.wait_for_function(
            "document.querySelector('#history-table input.label-input[data-saved]') !== null"
        )
        assert api.get(f"/api/v1/sessions/{sid}").json()["label"] == "before lunch"
        for route, response in held:  # the answer that predates the save arrives now
            route.fulfill(response=response)
        page.wait_for_timeout(1000)
        assert row.get_by_role("textbox").input_value() == "before lunch"
        # the redrawn row still says the label is saved (CI once waited for that mark in vain)
        assert row.get_by_role("textbox").get_attribute("data-saved") == "true"
        row.get_by_role("button", name="summary", exact=False).click()
        page.locator("#summary-dialog").get_by_role("heading", name="Check-ins").wait_for()
        assert page.locator("#summary-title").inner_text() == "before lunch"
    assert errors == []


def _stopped_session_in_history(
    web_server: WebServer, page: Any, api: Any, *, seed: int
) -> tuple[str, Any]:
    """A simulated session, stopped, and the page open with its history row drawn."""
    sid = _start_simulator(api, seed=seed)
    _wait_for_beats(api, sid, more_than=100, timeout_s=20)
    api.post(f"/api/v1/sessions/{sid}/stop")
    page.goto(f"{web_server.url}/#token={web_server.token}")
    row = page.locator(f"#history-table tr[data-session-id='{sid}']")
    row.locator("td", has_text="stopped").wait_for(timeout=10_000)
    return sid, row


class _HeldHistory:
    """The answers of the page's history loads, held from now on (the server has answered,
    the page gets nothing) until :meth:`release`. Not unrouted: removing a page's last route
    lets the requests it holds go on."""

    def __init__(self, page: Any) -> None:
        self.held: list[tuple[Any, Any]] = []
        self.holding = True
        page.route("**/api/v1/sessions?limit=100", self._route)

    def _route(self, route: Any) -> None:
        if self.holding:
            self.held.append((route, route.fetch()))
        else:
            route.continue_()

    def __call__(self) -> list[tuple[Any, Any]]:
        return self.held

    def release(self) -> None:
        self.holding = False
        for route, response in self.held:
            route.fulfill(response=response)


def _wait_held(page: Any, held: Callable[[], list[Any]], what: str) -> None:
    for _ in range(100):  # the sync API runs the route handlers while it is called
        if held():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{what} was not held in 10 s")


def _first_cell(sid: str) -> str:
    return f"#history-table tr[data-session-id='{sid}'] td"


def _mark_drawn(page: Any, sid: str) -> None:
    """Mark the row's first cell: a redraw of the row replaces it."""
    page.locator(_first_cell(sid)).first.evaluate("td => { td.dataset.old = '1'; }")


def _wait_redrawn(page: Any, sid: str) -> None:
    page.wait_for_function(
        "sel => { const td = document.querySelector(sel);"
        " return td !== null && td.dataset.old === undefined; }",
        arg=_first_cell(sid),
        timeout=10_000,
    )


def test_a_history_redraw_while_a_label_is_typed_keeps_the_words_and_the_focus(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """The history is redrawn every minute and whenever a session ends: a person typing a
    label then lost the words and the focus (the row was drawn anew with the stored label), and
    the Enter that followed saved nothing. Playwright holds a history load's answer until the
    person has typed, so the redraw lands in the middle of the typing."""
    page, errors = open_page(LAPTOP, notifications=False)
    with web_server.client() as api:
        sid, row = _stopped_session_in_history(web_server, page, api, seed=12)
        held = _HeldHistory(page)
        page.get_by_role("button", name="Refresh").click()
        _wait_held(page, held, "the history request")
        label = row.get_by_role("textbox")
        label.click()
        label.press_sequentially("after the stand")
        _mark_drawn(page, sid)
        held.release()  # the redraw comes while the person types
        _wait_redrawn(page, sid)
        assert label.input_value() == "after the stand"
        assert label.evaluate("e => e === document.activeElement")
        label.press_sequentially("-up")
        label.press("Enter")
        row.locator("input[data-saved='true']").wait_for(timeout=10_000)
        assert api.get(f"/api/v1/sessions/{sid}").json()["label"] == "after the stand-up"
        # the row was redrawn all the same: its other cells are the load's
        row.get_by_role("button", name="summary", exact=False).click()
        page.locator("#summary-dialog").get_by_role("heading", name="Check-ins").wait_for()
        assert page.locator("#summary-title").inner_text() == "after the stand-up"
    assert errors == []


def test_a_history_redraw_while_a_label_is_being_saved_shows_it_and_marks_it_saved(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """A history load answered before a label's save reached the service, and drawn while the
    save's answer was on its way (the person had tabbed out of the input): the row showed the
    old label, and the answer marked the input no longer on the page as saved. Playwright
    holds that load's answer until the save is sent, and the save's answer until the load is
    drawn."""
    page, errors = open_page(LAPTOP, notifications=False)
    with web_server.client() as api:
        sid, row = _stopped_session_in_history(web_server, page, api, seed=13)
        held = _HeldHistory(page)
        page.get_by_role("button", name="Refresh").click()
        _wait_held(page, held, "the history request")
        saves: list[tuple[Any, Any]] = []

        def save(route: Any) -> None:
            if route.request.method == "PATCH":
                saves.append((route, route.fetch()))
            else:
                route.continue_()

        page.route(f"**/api/v1/sessions/{sid}", save)
        label = row.get_by_role("textbox")
        label.fill("before the review")
        label.press("Tab")  # the change event: the save is sent, the focus has moved on
        _wait_held(page, lambda: saves, "the label's save")
        assert api.get(f"/api/v1/sessions/{sid}").json()["label"] == "before the review"
        _mark_drawn(page, sid)
        held.release()  # the load from before the save is drawn now
        _wait_redrawn(page, sid)
        assert row.get_by_role("textbox").input_value() == "before the review"
        for route, response in saves:  # and now the save's answer
            route.fulfill(response=response)
        row.locator("input[data-saved='true']").wait_for(timeout=10_000)
        assert row.get_by_role("textbox").input_value() == "before the review"
        row.get_by_role("button", name="summary", exact=False).click()
        page.locator("#summary-dialog").get_by_role("heading", name="Check-ins").wait_for()
        assert page.locator("#summary-title").inner_text() == "before the review"
    assert errors == []


def test_two_failed_label_saves_leave_no_label_the_service_does_not_hold(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """Review finding: a label saved twice, both saves failing in turn, left the first one
    (never saved) drawn for good: the second save's failure put back the first's entry, still
    on its way as far as the page knew, so every history load showed it and hid a label set
    from elsewhere. Playwright holds both saves and fails them, in order."""
    page, errors = open_page(LAPTOP, notifications=False)
    with web_server.client() as api:
        sid, row = _stopped_session_in_history(web_server, page, api, seed=21)
        saves: list[Any] = []

        def save(route: Any) -> None:
            if route.request.method == "PATCH":
                saves.append(route)
            else:
                route.continue_()

        page.route(f"**/api/v1/sessions/{sid}", save)
        label = row.get_by_role("textbox")
        label.fill("first try")
        label.press("Enter")
        label.fill("second try")
        label.press("Enter")
        _wait_held(page, lambda: saves[1:], "both saves")
        for route in saves:
            with page.expect_event("requestfailed", lambda r, route=route: r is route.request):
                route.abort("internetdisconnected")
        label.blur()  # a redraw keeps a row being typed in
        # the label set elsewhere (another tab, the phone) shows with the next load
        assert api.patch(f"/api/v1/sessions/{sid}", json={"label": "from the phone"}).is_success
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_function(
            "sel => document.querySelector(sel)?.value === 'from the phone'",
            arg=f"#history-table tr[data-session-id='{sid}'] input.label-input",
            timeout=10_000,
        )
    # the browser's own lines for the failed requests, nothing else
    assert [e for e in errors if "Failed to load resource" not in e] == []


def test_a_break_history_read_asked_for_before_an_effect_was_stored_keeps_the_effect(
    web_server: WebServer, open_page: Callable[..., Any]
) -> None:
    """The break history (flags and effects, newest first) is read again by every history
    load (each minute, when a session ends); an effect that came on the live socket while a
    read asked for before it was stored was on its way vanished from the list when that read
    was drawn. Playwright holds the read's answer until the effect is on the page."""
    page, errors = open_page(LAPTOP, notifications=False)
    held: list[tuple[Any, Any]] = []
    holding = {"on": False}

    def history(route: Any) -> None:
        if holding["on"]:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page.route("**/api/v1/microbreaks/history?limit=200", history)
    with web_server.client() as api:
        sid = _start_simulator(api, seed=14)
        try:
            _attach(page, web_server, sid)
            _wait_for_beats(api, sid, more_than=300, timeout_s=20)
            # a flag first: the held read has an event of its own to draw
            assert api.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 1.0}).is_success
            items = page.locator("#break-history li[data-event]")
            items.first.wait_for(timeout=30_000)
            api.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 0.0})
            holding["on"] = True
            page.get_by_role("button", name="Refresh").click()
            for _ in range(100):  # the sync API runs the route handler while it is called
                if held:
                    break
                page.wait_for_timeout(100)
            assert held, "the break history read was not held"
            stored = held[0][1].json()["events"]
            assert stored and all(e["event"] != "break_effect" for e in stored), stored
            # a 60-s break (1 s here); its effect comes 2 minutes of session time later
            r = api.post(
                f"/api/v1/sessions/{sid}/microbreaks/start",
                json={"kind": "breathing", "duration_s": 60},
            )
            assert r.status_code == 200, r.text
            effect = page.locator("#break-history li[data-event=break_effect]")
            effect.wait_for(timeout=30_000)
            text = effect.inner_text()
            route, response = held.pop(0)
            with page.expect_event("requestfinished", lambda req: req is route.request):
                route.fulfill(response=response)  # the read from before the effect, drawn now
            page.wait_for_timeout(500)  # the answer read and drawn
            assert effect.count() == 1 and effect.inner_text() == text
            assert items.first.get_attribute("data-event") == "break_effect"  # newest first
            holding["on"] = False
            for route, response in held:
                route.fulfill(response=response)
        finally:
            api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_reset_now_paces_two_minutes_ends_by_itself_and_shows_its_effect(
    web_server: WebServer,
    open_page: Callable[..., Any],
    artifacts: Path,
    viewport: dict[str, int],
) -> None:
    page, errors = open_page(viewport, notifications=False)
    name = "phone" if viewport is PHONE else "laptop"
    with web_server.client() as api:
        # 20x, not 60x: the 2-minute break lasts 6 s of wall time, not 2, and everything up to
        # the second press below happens during it (1.3 s of a 2-s break at a load of 7)
        sid = _start_simulator(api, seed=8, speed=RESET_SPEED)
        _attach(page, web_server, sid)
        _wait_for_beats(api, sid, more_than=200, timeout_s=40)
        page.get_by_test_id("reset-now").click()
        page.get_by_role("button", name="End break").wait_for(state="visible", timeout=5000)
        page.wait_for_function(
            "document.querySelector('[data-testid=pacer]').dataset.stage !== 'idle'",
            timeout=5000,
        )
        in_view = (
            "(() => { const r = document.querySelector('[data-testid=pacer]')"
            ".getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; })()"
        )
        if viewport is PHONE:  # on a phone the pacer is within the first screen of the page
            # the shared server's day plan runs on the real clock: an open prompt (a check-in
            # from 10:00 on a working day) has its card at the top of the page, the pacer
            # below a phone's first screen (CI at 11:0x Berlin failed on that). None is sent
            # during a break: one open is put away as a person would, then the pacer is judged
            card = page.get_by_test_id("prompt-card")
            if card.is_visible():
                card.get_by_role("button", name="Dismiss", exact=True).click()
                card.wait_for(state="hidden")
            page.evaluate("window.scrollTo(0, 0)")
            assert page.evaluate(in_view), page.get_by_test_id("pacer").bounding_box()
        else:  # on a laptop the page scrolls to it
            page.wait_for_function(in_view, timeout=5000)
        page.screenshot(path=str(artifacts / f"reset-{name}.png"), full_page=False)
        # a second press while the break runs says so in plain words (no engine message)
        page.get_by_test_id("reset-now").click()
        page.locator("#conn-status").get_by_text("A break is already running").wait_for()
        # 2 minutes of session time (6 s here): the break ends by itself, then its effect
        effect = page.locator("#mb-effect")
        effect.wait_for(state="visible", timeout=30_000)
        assert "RMSSD before" in effect.inner_text()
        events = api.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        by_kind = {e["event"]: e for e in events["events"]}
        started, ended = by_kind["break_started"], by_kind["break_ended"]
        assert ended["t_s"] - started["t_s"] == pytest.approx(120.0, abs=2.0)
        assert "break_effect" in by_kind
        assert page.get_by_test_id("pacer").get_attribute("data-stage") == "idle"
        page.screenshot(path=str(artifacts / f"reset-effect-{name}.png"), full_page=False)
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_the_small_things_a_person_notices(
    web_server: WebServer, open_page: Callable[..., Any], artifacts: Path
) -> None:
    """Issue 15 item 5: gauge empty state and zones, tachogram backfill and m:ss ticks, the
    running-session warning, settable labels, the check-in note and accessible names, and the
    personal summary with no file paths or Python reprs."""
    page, errors = open_page(LAPTOP, notifications=False)
    page.goto(f"{web_server.url}/#token={web_server.token}")
    page.wait_for_function("document.getElementById('conn-status').textContent !== ''")
    # neutral gauge before any value: no coloured arc, no needle
    gauge = page.locator("#coherence-gauge")
    assert gauge.get_attribute("data-zone") == "none"
    assert page.locator(".gauge-value").evaluate("e => getComputedStyle(e).stroke") == "none"
    with web_server.client() as api:
        sid = _start_simulator(api, seed=9)
        _wait_for_beats(api, sid, more_than=400, timeout_s=30)
        page.reload()  # a reload backfills the tachogram's last 5 minutes from storage
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        page.wait_for_function(
            "Number(document.getElementById('tachogram').dataset.nPoints || 0) > 200",
            timeout=5000,
        )
        # zone, note and staleness read in one frame: at 60x a loaded machine's metrics can lag
        # the beats by the 15 session-seconds that make them stale (the note then says since
        # when, without a zone), so wait for a fresh value and judge that one
        shown = page.wait_for_function(
            """() => {
                const zone = document.querySelector('#coherence-gauge').dataset.zone;
                if (zone === 'none' || document.getElementById('rmssd').dataset.stale !== 'false')
                    return null;
                return {zone, note: document.getElementById('coherence-note').textContent};
            }""",
            timeout=20_000,
        ).json_value()
        zone = shown["zone"]
        assert zone in ("low", "medium", "high")
        assert f"({zone})" in shown["note"]
        # at 60x a value comes 12 times a second: the gauge jumps to each, not eases (0.6 s)
        # without end, the page redrawn 60 times a second (it eases at real time: 5 s apart)
        page.wait_for_function(
            "getComputedStyle(document.querySelector('#coherence-gauge .gauge-value'))"
            ".transitionDuration === '0s'",
            timeout=5000,
        )

        # another session while one runs: the page warns first
        if not page.locator("#start-new").evaluate("d => d.open"):
            page.locator("#start-new summary").click()
        page.get_by_label("Simulated person").check()
        page.locator("#start-form").get_by_role("button", name="Start", exact=True).click()
        warning = page.locator("#start-warning")
        warning.wait_for(state="visible")
        assert "already running" in warning.inner_text()
        assert len([s for s in api.get("/api/v1/sessions").json()["sessions"] if s["live"]]) == 1

        # check-in with a note; the scale buttons say what each point means
        page.locator("#checkin-note").fill("deadline at four")
        checkin = page.get_by_test_id("check-in")
        checkin.get_by_role("button", name="Stress 4 of 5: stressed").click()
        checkin.get_by_role("button", name="Energy 2 of 5: tired").click()
        page.locator("#checkin-status").get_by_text("with your note").wait_for()
        api.post(f"/api/v1/sessions/{sid}/stop")
        page.get_by_role("button", name="Refresh").click()
        row = page.locator(f"#history-table tr[data-session-id='{sid}']")
        # the refreshed history (the row re-drawn as stopped) before typing into it
        row.locator("td", has_text="stopped").wait_for(timeout=10_000)
        label = row.get_by_role("textbox")
        label.fill("after the team meeting")
        label.press("Enter")
        wait_until(
            lambda: api.get(f"/api/v1/sessions/{sid}").json()["label"] == "after the team meeting",
            timeout_s=5,
            what="the label to be stored",
        )
        # and the page has its answer (it keeps the saved label for the summary's title)
        row.locator("input[data-saved='true']").wait_for(timeout=5_000)
        row.get_by_role("button", name="summary", exact=False).click()
        summary = page.locator("#summary-dialog")
        summary.get_by_role("heading", name="Check-ins").wait_for()
        text = summary.inner_text()
        assert page.locator("#summary-title").inner_text() == "after the team meeting"
        assert "deadline at four" in text and "stress 4 (stressed)" in text
        # the personal dashboard for that day and the week (issue 16 item 4)
        summary.get_by_text("Did my breaks help?").wait_for()
        text = summary.inner_text()
        assert "Check-ins that day: stress 4.0, energy 2.0 on average (1)." in text
        dash = api.get("/api/v1/dashboard").json()
        for w in (w for w in dash["week"] if w["n"]):
            assert f"{w['kind']} breaks: {w['n']}," in text
        assert "simulated person" in text
        for leak in ("{", "None", "'", "/tmp", "\\\\"):
            assert leak not in text.replace("Researcher's", ""), (leak, text)
        summary.screenshot(path=str(artifacts / "summary-laptop.png"))
    # the tachogram's time axis reads m:ss, each label once
    labels = (page.locator("#tachogram").get_attribute("data-x-ticks") or "").split("|")
    assert labels and len(labels) == len(set(labels)), labels
    assert all(":" in t for t in labels), labels
    assert errors == []
