"""The page through an employee's working day, as an outside reviewer used it (real Chromium at
1366x768 and 390x844, real uvicorn and service, simulated person): what a refused reset says,
the service going away and coming back, stopping the pacer during a reset, the banners while
scrolling, a walk break on a phone, the contact note, status lines that clear, the history
table on a phone, and the check-in and pacer for assistive technology."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import load_settings
from tests._clock import BERLIN, SetClock
from tests._uvicorn import ThreadedUvicorn, free_socket, serving
from tests.web.conftest import WebServer, record_errors

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=LAPTOP)
    yield ctx
    ctx.close()


def _start_sim(api: Any, *, seed: int = 1, speed: float = 1.0, mode: str = "monitor") -> str:
    r = api.post(
        "/api/v1/sessions",
        json={"source": {"kind": "simulator", "seed": seed, "speed": speed}, "mode": mode},
    )
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid


def _script_errors(errors: list[str]) -> list[str]:
    """The errors but the browser's own line for each refused request (a 409 tested here)."""
    return [e for e in errors if "Failed to load resource" not in e]


def _open(
    context: Any, server: WebServer, sid: str, *, clock: bool = False
) -> tuple[Any, list[str]]:
    """The page on ``sid``, live; ``clock``: its timers on a clock the test moves."""
    page = context.new_page()
    if clock:
        page.clock.install()  # its time runs as usual until the test moves it
    errors = record_errors(page)
    page.goto(f"{server.url}/#token={server.token}")
    page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
    page.wait_for_function("document.getElementById('conn-status').textContent === 'Live'")
    return page, errors


def _run_clock_until(page: Any, condition: str, *, page_s: float) -> None:
    """Move the page's clock half a second at a time until ``condition`` (a JS expression)."""
    for _ in range(int(page_s * 2)):
        if page.evaluate(condition):
            return
        page.clock.run_for(500)
    assert page.evaluate(condition), f"not within {page_s} s of page time: {condition}"


def test_a_reset_on_a_session_the_service_stopped_says_so_not_that_a_break_runs(
    web_server: WebServer, context: Any
) -> None:
    """Review item: a restart stopped the session; the 2-minute reset then answered 409
    ``session_not_running`` and the page said "A break is already running; it ends by
    itself." The problem's code decides the sentence."""
    with web_server.client() as api:
        sid = _start_sim(api)
        page, errors = _open(context, web_server, sid)
        assert api.post(f"/api/v1/sessions/{sid}/stop").status_code == 200
        page.wait_for_function(
            "document.getElementById('st-state').textContent.startsWith('stopped')"
        )
        page.get_by_test_id("reset-now").click()
        conn = page.locator("#conn-status")
        page.wait_for_function(
            "document.getElementById('conn-status').textContent.startsWith('Reset not started')"
        )
        text = conn.inner_text()
        assert "not running any more" in text, text
        assert "already running" not in text, text
        # a real running break still says so (the service's conflict, read from its detail)
        sid2 = _start_sim(api, seed=2)
        r = api.post(f"/api/v1/sessions/{sid2}/microbreaks/start", json={"kind": "walk"})
        assert r.status_code == 200, r.text
        # the page's client carries the problem's code (what the page's sentences branch on)
        why = page.evaluate(
            """async (sid) => {
                const api = await import('/js/api.js');
                try {
                    const body = { kind: 'breathing', duration_s: 120 };
                    await api.post(`/sessions/${sid}/microbreaks/start`, body);
                    return null;
                } catch (err) { return { code: err.code, status: err.status }; }
            }""",
            sid2,
        )
        assert why is not None and why["status"] == 409 and isinstance(why["code"], str), why
        assert _script_errors(errors) == []


def _serve_on(app: Any, port: int) -> ThreadedUvicorn:
    """uvicorn serving ``app`` on 127.0.0.1:``port`` (a restart comes back on the same port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return ThreadedUvicorn(server, thread, port)


def test_the_service_away_and_back_is_said_plainly_and_the_page_recovers_by_itself(
    browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    """Review item: with the service down, "Reset: Failed to fetch" and "Not saved: Failed to
    fetch"; after a restart the top bar still said "Failed to fetch" 20 s later and the session
    the restart stopped was still shown as running. The page now says the service is not
    reachable, and once it answers again reads the state anew by itself."""
    probe = free_socket()
    port = probe.getsockname()[1]
    probe.close()
    settings = load_settings(data_dir=tmp_path / "data", token="restart-token")
    first = _serve_on(create_app(settings), port)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Bearer restart-token"}
    ctx = browser.new_context(viewport=LAPTOP)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
            sid = _start_sim(api)
        page = ctx.new_page()
        errors = record_errors(page)
        page.goto(f"{url}/#token=restart-token")
        page.wait_for_function("document.getElementById('conn-status').textContent === 'Live'")
        first.stop()
        page.wait_for_function(
            "document.getElementById('conn-status').textContent.includes('not reachable')"
        )
        page.get_by_test_id("reset-now").click()
        page.wait_for_function(
            "document.getElementById('conn-status').textContent.startsWith('Reset not started')"
        )
        assert (
            "the hrvpace service on this computer is not reachable"
            in page.locator("#conn-status").inner_text()
        )
        page.locator("#stress-scale button[data-value='3']").click()
        page.locator("#energy-scale button[data-value='3']").click()
        status = page.locator("#checkin-status")
        page.wait_for_function(
            "document.getElementById('checkin-status').textContent.startsWith('Not saved')"
        )
        assert "not reachable" in status.inner_text(), status.inner_text()
        body = page.locator("body").inner_text()
        assert "Failed to fetch" not in body
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / "review-service-down-laptop.png"))

        second = _serve_on(create_app(settings), port)
        try:
            # back by itself: the session the restart stopped is shown ended, not running
            page.wait_for_function(
                f"""() => {{
                    const conn = document.getElementById('conn-status').textContent;
                    const opt = [...document.getElementById('session-select').options]
                        .find((o) => o.value === '{sid}');
                    return !conn.includes('not reachable') && conn.startsWith('Session ')
                        && opt && opt.textContent.endsWith('(stopped)');
                }}""",
                timeout=30_000,
            )
            # the page's own recovery ran (the socket's retry can say "Session stopped" first)
            page.locator("body[data-service='up']").wait_for(timeout=30_000)
            page.wait_for_function(
                "!document.getElementById('checkin-status').textContent.includes('not reachable')"
            )
            assert "not reachable" not in status.inner_text()
            assert page.locator("#session-stop").is_disabled()
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(artifacts / "review-service-back-laptop.png"))
            assert [e for e in errors if "pageerror" in e] == []
        finally:
            second.stop()
    finally:
        ctx.close()


def test_a_service_back_without_the_session_shown_says_so_and_reads_the_rest(
    browser: Any, tmp_path: Path
) -> None:
    """Code review: when the service came back without the session shown (another data
    folder: the re-attach answered 404), the top bar stayed "Connected again: reading the
    current state..." for good. It says the session is not there and what the list holds."""
    probe = free_socket()
    port = probe.getsockname()[1]
    probe.close()
    first = _serve_on(create_app(load_settings(data_dir=tmp_path / "a", token="tok")), port)
    url = f"http://127.0.0.1:{port}"
    ctx = browser.new_context(viewport=LAPTOP)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer tok"}, timeout=30) as c:
            _start_sim(c)
        page = ctx.new_page()
        errors = record_errors(page)
        page.goto(f"{url}/#token=tok")
        page.wait_for_function("document.getElementById('conn-status').textContent === 'Live'")
        first.stop()
        page.locator("body[data-service='down']").wait_for()
        second = _serve_on(create_app(load_settings(data_dir=tmp_path / "b", token="tok")), port)
        try:
            page.locator("body[data-service='up']").wait_for(timeout=30_000)
            page.wait_for_function(
                "document.getElementById('conn-status').textContent.startsWith("
                "'The session shown is not on the service any more (404): no session is running')",
                timeout=30_000,
            )
            assert [e for e in errors if "pageerror" in e] == []
        finally:
            second.stop()
    finally:
        ctx.close()


# The times (performance.now, ms) at which the page asked whether the service is back.
PROBE_TIMES = """(() => {
    window.__probes = [];
    const fetch0 = window.fetch;
    window.fetch = (input, init) => {
        if (String(input).includes('/sessions?limit=1')) window.__probes.push(performance.now());
        return fetch0(input, init);
    };
})()"""


def test_while_the_service_is_away_the_page_asks_less_and_less_often_and_not_when_hidden(
    browser: Any, tmp_path: Path
) -> None:
    """Code review: the page asked every 3 s for as long as the service was away, also in a
    hidden tab. The asking backs off (3 s, doubling, up to 30 s), stops while the tab is
    hidden and asks at once when it is shown again."""
    probe = free_socket()
    port = probe.getsockname()[1]
    probe.close()
    first = _serve_on(create_app(load_settings(data_dir=tmp_path / "a", token="tok")), port)
    ctx = browser.new_context(viewport=LAPTOP)
    try:
        page = ctx.new_page()
        page.add_init_script(PROBE_TIMES)
        # the page's timers on a clock the test moves (its time runs as usual until then): the
        # three asks of a backing-off page take 3 + 6 + 12 s of page time, not of the test's
        page.clock.install()
        page.goto(f"http://127.0.0.1:{port}/#token=tok")
        page.wait_for_function("document.getElementById('session-select').options.length > 0")
        first.stop()
        # the page finds the service gone at its next read
        _run_clock_until(page, "document.body.dataset.service === 'down'", page_s=30)
        page.evaluate("window.__probes = []")  # the page's own first read is not a probe
        _run_clock_until(page, "window.__probes.length >= 3", page_s=60)
        t = page.evaluate("window.__probes")
        gaps = [b - a for a, b in itertools.pairwise(t)]
        assert gaps[0] >= 2500 and gaps[1] >= 1.6 * gaps[0], gaps
        # hidden: no timer left to ask; shown: it asks at once
        page.evaluate(
            """() => {
                Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
                document.dispatchEvent(new Event('visibilitychange'));
                window.__hiddenAt = window.__probes.length;
                Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
                document.dispatchEvent(new Event('visibilitychange'));
            }"""
        )
        assert page.evaluate("window.__probes.length") == page.evaluate("window.__hiddenAt") + 1
    finally:
        ctx.close()


def test_stop_pacing_during_a_reset_ends_the_break(
    web_server: WebServer, context: Any, artifacts: Path
) -> None:
    """Review item: Stop pacing during a 2-minute reset stopped the pacer and the countdown,
    and the banner kept "Break in progress" until the 2 minutes were up (also after a reload).
    Stopping the pacer of a breathing break ends the break, through the end-break API."""
    with web_server.client() as api:
        sid = _start_sim(api)
        page, errors = _open(context, web_server, sid)
        page.get_by_test_id("reset-now").click()
        page.locator("#micro-break-banner[data-phase='break']").wait_for()
        page.get_by_test_id("break-countdown").wait_for(state="visible")
        page.get_by_test_id("pacer-stop").click()
        page.locator("#micro-break-banner[data-phase='measuring']").wait_for()
        page.get_by_test_id("pacer-stop").wait_for(state="hidden")
        state = api.get(f"/api/v1/sessions/{sid}/microbreaks").json()
        assert state["banner"] == "measuring", state
        guidance = api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()
        assert guidance["guidance"] is None, guidance
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / "review-stop-pacing-in-reset-laptop.png"))
        page.reload()
        page.wait_for_function("document.getElementById('conn-status').textContent === 'Live'")
        page.locator("#micro-break-banner[data-phase='measuring']").wait_for()
        assert page.locator("#mb-title").inner_text() == "Break over"
        assert _script_errors(errors) == []


def test_stop_pacing_a_practice_beside_a_reset_leaves_the_break_running(
    web_server: WebServer, context: Any
) -> None:
    """Code review: with a practice pacing and a 2-minute reset timed beside it, Stop pacing
    ended the break, whose pacer it was not. It stops the practice; the break runs on (the
    service's break_paces is false) and End break still ends it."""
    with web_server.client() as api:
        sid = _start_sim(api)
        r = api.post(
            f"/api/v1/sessions/{sid}/breathing/practice", json={"rate_bpm": 5.5, "duration_s": 600}
        )
        assert r.status_code == 200, r.text
        page, errors = _open(context, web_server, sid)
        page.get_by_test_id("pacer-stop").wait_for(state="visible")
        page.get_by_test_id("reset-now").click()
        page.locator("#micro-break-banner[data-phase='break']").wait_for()
        state = api.get(f"/api/v1/sessions/{sid}/microbreaks").json()
        assert state["banner"] == "break" and state["break_paces"] is False, state
        with page.expect_response(lambda resp: resp.url.endswith("/breathing/stop")):
            page.get_by_test_id("pacer-stop").click()
        page.get_by_test_id("pacer-stop").wait_for(state="hidden")
        guidance = api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()
        assert guidance["guidance"] is None, guidance
        state = api.get(f"/api/v1/sessions/{sid}/microbreaks").json()
        assert state["banner"] == "break", state
        assert page.locator("#micro-break-banner").get_attribute("data-phase") == "break"
        # a reset with nothing pacing owns its pacer: the service says so
        assert api.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
        r = api.post(
            f"/api/v1/sessions/{sid}/microbreaks/start",
            json={"kind": "breathing", "duration_s": 120},
        )
        assert r.status_code == 200, r.text
        assert api.get(f"/api/v1/sessions/{sid}/microbreaks").json()["break_paces"] is True
        assert _script_errors(errors) == []


def test_a_walk_break_on_a_phone_keeps_its_banner_first_not_an_idle_pacer(
    web_server: WebServer, browser: Any, artifacts: Path
) -> None:
    """Review item: on a phone a walk break showed an idle "No pacing" pacer first and hid the
    walk suggestion: the phone's break layout (pacer first, banner cut to its buttons) was for
    every break kind. Only a breathing break gets it."""
    ctx = browser.new_context(viewport=PHONE)
    try:
        with web_server.client() as api:
            sid = _start_sim(api)
            page, errors = _open(ctx, web_server, sid)
            r = api.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "walk"})
            assert r.status_code == 200, r.text
            page.locator("#micro-break-banner[data-phase='break']").wait_for()
            page.wait_for_function("document.body.dataset.breakKind === 'walk'")
            order = page.evaluate("getComputedStyle(document.getElementById('breathing')).order")
            assert order == "0", order
            assert (
                page.evaluate("getComputedStyle(document.getElementById('mb-reason')).display")
                != "none"
            )
            banner_top = page.locator("#micro-break-banner").bounding_box()
            breathing_top = page.locator("#breathing").bounding_box()
            assert banner_top is not None and breathing_top is not None
            assert breathing_top["y"] > banner_top["y"]
            # code review: the walk banner (300+ px) stayed pinned for the whole break; on a
            # phone it scrolls with the page, its suggestion shown where it is
            assert (
                page.evaluate("getComputedStyle(document.getElementById('mb-suggestion')).display")
                != "none"
            )
            position = page.evaluate(
                "getComputedStyle(document.getElementById('micro-break-banner')).position"
            )
            assert position == "static", position
            page.screenshot(path=str(artifacts / "review-walk-break-phone.png"))
            # a breathing break still puts the pacer first
            assert api.post(f"/api/v1/sessions/{sid}/microbreaks/end").status_code == 200
            page.locator("#micro-break-banner[data-phase='measuring']").wait_for()
            r = api.post(
                f"/api/v1/sessions/{sid}/microbreaks/start",
                json={"kind": "breathing", "duration_s": 120},
            )
            assert r.status_code == 200, r.text
            page.wait_for_function("document.body.dataset.breakKind === 'breathing'")
            page.wait_for_function(
                "getComputedStyle(document.getElementById('breathing')).order === '-1'"
            )
            page.screenshot(path=str(artifacts / "review-breathing-break-phone.png"))
            assert _script_errors(errors) == []
    finally:
        ctx.close()


@pytest.fixture
def checkin_day(tmp_path: Path) -> Iterator[WebServer]:
    """The service on a set clock at 09:01 whose plan's check-in (09:00) is open."""
    clock = SetClock(datetime(2026, 12, 7, 9, 1, tzinfo=BERLIN))  # a Monday
    settings = load_settings(data_dir=tmp_path / "data", token="stack-token")
    app = create_app(settings, plan_clock=lambda tz: clock)
    with serving(app, ws="auto", lifespan="on") as running:
        server = WebServer(running.url, app.state.token, app)
        with server.client() as api:
            plan = api.get("/api/v1/dayplan").json()
            plan.pop("default_texts")
            plan.pop("calendar_feed_url")
            plan["interventions"] = [{"id": "checkin", "kind": "checkin", "start": "09:00"}]
            assert api.put("/api/v1/dayplan", json=plan).status_code == 200
        yield server


# What is on top at the centre of each button: the button itself (or a part of it), or not.
ON_TOP = """(ids) => ids.map((id) => {
    const el = document.getElementById(id);
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const inView = y > 0 && y < window.innerHeight;
    const hit = document.elementFromPoint(x, y);
    return [id, inView && !!hit && el.contains(hit)];
})"""


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "390"])
def test_a_prompt_card_never_covers_the_break_banner_when_the_page_scrolls(
    checkin_day: WebServer, browser: Any, artifacts: Path, viewport: dict[str, int]
) -> None:
    """Review item: the break's banner and a prompt's card were both sticky at the same top;
    with a check-in card open, scrolling put the card over the banner, hiding Start, End break
    and Dismiss. They stack: the card sticks below the banner, both usable at both sizes. On a
    phone a walk break's banner scrolls with the page (code review: 300+ px pinned for the whole
    break): the card's buttons stay usable while scrolled, and back at the top End break is
    not under the card."""
    phone = viewport == PHONE
    ctx = browser.new_context(viewport=viewport)
    try:
        with checkin_day.client() as api:
            sid = _start_sim(api)
            page, errors = _open(ctx, checkin_day, sid)
            page.get_by_test_id("prompt-card").wait_for(state="visible", timeout=15_000)
            r = api.post(f"/api/v1/sessions/{sid}/microbreaks/start", json={"kind": "walk"})
            assert r.status_code == 200, r.text
            page.locator("#micro-break-banner[data-phase='break']").wait_for()
            for y in (600, 1200):
                page.evaluate(f"window.scrollTo(0, {y})")
                # the card has come to rest below the banner
                page.wait_for_function(
                    """() => {
                        const b = document.getElementById('micro-break-banner')
                            .getBoundingClientRect();
                        const c = document.getElementById('prompt-card').getBoundingClientRect();
                        return window.scrollY > 0 && c.top >= b.bottom;
                    }"""
                )
                # the card's own end (a long card scrolls inside, never past the view)
                page.evaluate(
                    "(() => { const c = document.getElementById('prompt-card');"
                    " c.scrollTop = c.scrollHeight; })()"
                )
                ids = ["prompt-submit", "prompt-dismiss"] if phone else ["mb-end"]
                ids = ids if phone else [*ids, "prompt-submit", "prompt-dismiss"]
                hits = dict(page.evaluate(ON_TOP, ids))
                name = f"review-stacked-{viewport['width']}-{y}.png"
                page.screenshot(path=str(artifacts / name))
                assert all(hits.values()), (y, hits)
            if phone:
                page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_function("window.scrollY === 0")
                page.locator("#mb-end").scroll_into_view_if_needed()
                hits = dict(page.evaluate(ON_TOP, ["mb-end"]))
                assert all(hits.values()), hits
            assert _script_errors(errors) == []
    finally:
        ctx.close()


def test_contact_back_is_said_in_the_past_tense_beside_contact_yes(
    web_server: WebServer, context: Any, artifacts: Path
) -> None:
    """Review item: after skin contact returned, "Contact: yes" sat beside "no skin contact:
    check the strap" for up to a minute (the server's 60-s window still said contact false). A
    real replay of a strap's recording that loses contact for 15 s: while it is lost, "check
    the strap"; once back (10 s of beats with contact), the note says it in the past tense."""
    import math

    from tests.web.test_signal_tile import _hrvpace_csv

    rr: list[float] = []
    contact: list[bool] = []
    t_s = 0.0
    while t_s < 400.0:
        x = 900.0 + 60.0 * math.sin(2 * math.pi * 0.1 * t_s)
        t_s += x / 1000.0
        rr.append(x)
        contact.append(not (60.0 <= t_s < 75.0))
    with web_server.client() as api:
        r = api.post("/api/v1/recordings", files={"file": ("loss.csv", _hrvpace_csv(rr, contact))})
        assert r.status_code == 201, r.text
        r = api.post(
            "/api/v1/sessions",
            json={"source": {"kind": "replay", "recording": r.json()["name"], "speed": 4}},
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        page, errors = _open(context, web_server, sid)
        reason = "document.getElementById('signal-quality-note').dataset.reason"
        page.wait_for_function(f"{reason} === 'no-contact'", timeout=60_000)
        page.wait_for_function(f"{reason} === 'contact-back'", timeout=60_000)
        last = api.get(f"/api/v1/sessions/{sid}").json()["last_signal"]
        assert last["contact"] is False, last  # the server's minute still holds the loss
        assert page.locator("#st-contact").inner_text() == "yes"
        note = page.locator("#signal-quality-note").inner_text()
        assert note == "skin contact was lost in the last minute; it is back now", note
        page.locator("#connect").screenshot(path=str(artifacts / "review-contact-back-connect.png"))
        page.locator("#live").screenshot(path=str(artifacts / "review-contact-back-laptop.png"))
        assert _script_errors(errors) == []


def test_confirmations_clear_by_themselves_and_a_breaks_effect_does_not_follow_the_page(
    checkin_day: WebServer, context: Any, artifacts: Path
) -> None:
    """Review item: "Saved. Thank you." stayed for hours, and "Your break's effect ... (+4 %)"
    stayed a sticky banner for 20 minutes. Confirmations clear by themselves; the effect stays
    where it is until closed, not over the page as it scrolls."""
    with checkin_day.client() as api:
        sid = _start_sim(api)
        # the confirmations' 8 s pass on the page's clock, moved by the test
        page, errors = _open(context, checkin_day, sid, clock=True)
        card = page.get_by_test_id("prompt-card")
        card.wait_for(state="visible", timeout=15_000)
        for button in card.locator(".scale-buttons").all():
            button.locator("button").nth(2).click()
        page.locator("#prompt-submit").click()
        done = page.locator("#prompt-done")
        page.wait_for_function(
            "document.getElementById('prompt-done').textContent === 'Saved. Thank you.'"
        )
        _run_clock_until(
            page, "document.getElementById('prompt-done').textContent === ''", page_s=30
        )
        assert done.inner_text() == ""
        page.locator("#stress-scale button[data-value='2']").click()
        page.locator("#energy-scale button[data-value='4']").click()
        page.wait_for_function(
            "document.getElementById('checkin-status').textContent.startsWith('Saved at')"
        )
        _run_clock_until(
            page, "document.getElementById('checkin-status').textContent === ''", page_s=30
        )
        page.evaluate(
            """async () => {
                const m = await import('/js/microbreaks.js');
                m.onMessage({ micro_break: { type: 'break_effect', kind: 'walk',
                    rmssd_before_ms: 30, rmssd_after_ms: 31.2, rmssd_change_pct: 4,
                    n_windows_before: 20, n_windows_after: 20,
                    n_windows_before_paced: 0, n_windows_after_paced: 0 } });
            }"""
        )
        banner = page.get_by_test_id("micro-break-banner")
        page.locator("#micro-break-banner[data-phase='effect']").wait_for()
        assert banner.evaluate("b => getComputedStyle(b).position") == "static"
        page.evaluate("window.scrollTo(0, 900)")
        page.wait_for_function(
            "document.getElementById('micro-break-banner').getBoundingClientRect().bottom < 0"
        )
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / "review-effect-laptop.png"))
        page.get_by_role("button", name="Close").click()
        banner.wait_for(state="hidden")
        assert _script_errors(errors) == []


def test_the_history_table_on_a_phone_is_a_named_keyboard_scrollable_region_with_a_hint(
    web_server: WebServer, browser: Any, artifacts: Path
) -> None:
    """Review item: on a phone the History table (about 1000 px) sat in a 322 px scroll box with
    no hint, and the box took no focus, so a keyboard could not scroll it."""
    ctx = browser.new_context(viewport=PHONE)
    try:
        with web_server.client() as api:
            sid = _start_sim(api)
            page, errors = _open(ctx, web_server, sid)
            page.wait_for_function(
                "document.querySelectorAll('#history-table tbody tr').length > 0"
            )
            wrap = page.locator(".table-wrap:has(#history-table)")
            page.wait_for_function(
                "document.querySelector('.table-wrap:has(#history-table)').dataset.overflow"
                " === 'true'"
            )
            assert wrap.get_attribute("tabindex") == "0"
            assert wrap.get_attribute("role") == "region"
            assert wrap.get_attribute("aria-label") == "Past sessions (scrolls sideways)"
            assert page.evaluate(
                "(() => { const h = document.querySelector('.table-wrap:has(#history-table)')"
                ".previousElementSibling; return h.classList.contains('scroll-hint')"
                " && !h.hidden && h.getBoundingClientRect().height > 0; })()"
            )
            # the keyboard scrolls it
            wrap.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "document.querySelector('.table-wrap:has(#history-table)').scrollLeft > 0"
            )
            wrap.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -60)")
            page.screenshot(path=str(artifacts / "review-history-phone.png"))
            assert _script_errors(errors) == []
    finally:
        ctx.close()


def test_the_prompt_cards_scale_buttons_are_named_as_the_check_in_cards(
    checkin_day: WebServer, context: Any
) -> None:
    """Review item: the check-in prompt's buttons were named only "1" to "5"; the check-in
    card's say "Stress 4 of 5: stressed". The prompt's say the same."""
    with checkin_day.client() as api:
        sid = _start_sim(api)
        # the confirmations' 8 s pass on the page's clock, moved by the test
        page, errors = _open(context, checkin_day, sid, clock=True)
        card = page.get_by_test_id("prompt-card")
        card.wait_for(state="visible", timeout=15_000)
        for name in ("Stress 4 of 5: stressed", "Energy 1 of 5: exhausted"):
            assert card.get_by_role("button", name=name, exact=True).count() == 1, name
            standalone = page.locator("#check-in").get_by_role("button", name=name, exact=True)
            assert standalone.count() == 1, name
        assert card.get_by_role("button", name="3", exact=True).count() == 0
        assert _script_errors(errors) == []


def test_under_reduced_motion_the_pacer_stands_still_and_a_bar_shows_the_breath(
    web_server: WebServer, browser: Any, artifacts: Path
) -> None:
    """Review item: under prefers-reduced-motion the pacer's circle kept growing and shrinking.
    It stands still; a bar and the seconds left show the breath; the stage label ("Breathe
    in", "Breathe out") changes once per stage, and is a polite live region only with the
    breathing cues on (code review: ~60 announcements in 5 minutes for everyone). Nothing is
    written that is already there (code review: the circle's style and the bar's width were
    compared with what the browser reads back, "scale(0.8)" for "scale(0.8000)" and "50%" for
    "50.0%", so both were written every frame): a spy on the circle's and the bar's style
    counts the writes that left it as it was, over half a breath."""
    ctx = browser.new_context(viewport=PHONE, reduced_motion="reduce")
    try:
        with web_server.client() as api:
            sid = _start_sim(api, mode="practice")
            page, errors = _open(ctx, web_server, sid)
            pacer = page.get_by_test_id("pacer")
            page.wait_for_function(
                "['inhale', 'exhale'].includes("
                "document.querySelector('[data-testid=pacer]').dataset.stage)",
                timeout=30_000,
            )
            assert page.locator("#pacer-label").get_attribute("aria-live") == "off"
            first = page.evaluate(
                """() => ({
                    stage: document.querySelector('[data-testid=pacer]').dataset.stage,
                    transform: document.getElementById('pacer-circle').style.transform,
                    bar: document.getElementById('pacer-bar-fill').style.width,
                })"""
            )
            page.evaluate(
                """() => {
                    // every write to the circle's and the bar's inline style, with the value
                    // it left (as the browser reads it back) and the value it found: Chromium
                    // queues no mutation record for a write of the value already there, so a
                    // MutationObserver cannot see these; a Proxy in front of el.style can
                    window.__styleWrites = {circle: [], bar: []};
                    const spy = (id, key) => {
                        const el = document.getElementById(id);
                        const real = el.style;
                        const proxy = new Proxy(real, {
                            get: (t, p) => (typeof t[p] === 'function' ? t[p].bind(t) : t[p]),
                            set: (t, p, v) => {
                                const before = t[p];
                                t[p] = v;
                                window.__styleWrites[key].push({p, before, after: t[p]});
                                return true;
                            },
                        });
                        Object.defineProperty(el, 'style', {get: () => proxy});
                    };
                    spy('pacer-circle', 'circle');
                    spy('pacer-bar-fill', 'bar');
                }"""
            )
            # the other stage: the breath went on, the circle did not move
            page.wait_for_function(
                f"""() => {{
                    const s = document.querySelector('[data-testid=pacer]').dataset.stage;
                    return ['inhale', 'exhale'].includes(s) && s !== '{first["stage"]}';
                }}""",
                timeout=30_000,
            )
            later = page.evaluate(
                """() => ({
                    transform: document.getElementById('pacer-circle').style.transform,
                    bar: document.getElementById('pacer-bar-fill').style.width,
                    seconds: document.getElementById('pacer-seconds').textContent,
                })"""
            )
            assert later["transform"] == first["transform"], (first, later)
            idle_writes = page.evaluate(
                """() => Object.fromEntries(Object.entries(window.__styleWrites).map(
                    ([key, writes]) => [key, {
                        writes: writes.length,
                        unchanged: writes.filter((w) => w.before === w.after).length,
                    }]))"""
            )
            assert idle_writes["circle"]["writes"] == 0, idle_writes  # it stands still
            assert idle_writes["bar"]["writes"] > 0, idle_writes  # the breath went on
            assert idle_writes["bar"]["unchanged"] == 0, idle_writes
            assert later["bar"] != first["bar"], (first, later)
            assert later["seconds"].endswith(" s"), later
            assert page.locator("#pacer-still").is_visible()
            assert pacer.get_attribute("data-motion") == "still"
            pacer.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "review-pacer-reduced-motion-phone.png"))
            # the person asks for cues: the stage is then said, also after a reload
            page.locator("#setting-cues").check()
            assert page.locator("#pacer-label").get_attribute("aria-live") == "polite"
            page.reload()
            page.wait_for_function(
                "document.getElementById('pacer-label').getAttribute('aria-live') === 'polite'"
            )
            assert _script_errors(errors) == []
    finally:
        ctx.close()
