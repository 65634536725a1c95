"""A 2-minute reset pressed just after paced breathing: its effect does not pass the pacing off
as the rest before the break (real Chromium, real service, simulated person)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import WebServer, poll, record_errors

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=LAPTOP)
    yield ctx
    ctx.close()


def test_a_reset_right_after_pacing_says_there_was_no_rest_to_compare_with(
    web_server: WebServer, context: Any, artifacts: Path
) -> None:
    with web_server.client() as api:
        # paced from the start (a practice), 20x: the reset follows the stop within seconds
        r = api.post(
            "/api/v1/sessions",
            json={
                "source": {"kind": "simulator", "seed": 2, "resonance_bpm": 5.0, "speed": 20},
                "mode": "practice",
                "practice_rate_bpm": 5.0,
            },
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        page = context.new_page()
        errors = record_errors(page)
        page.goto(f"{web_server.url}/#token={web_server.token}")
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        # two minutes of paced breathing, so the whole "before" period could be filled
        poll(
            page,
            lambda: api.get(f"/api/v1/sessions/{sid}").json()["t_s"] > 150,
            timeout_s=60,
            what="150 s of the session",
        )
        page.get_by_test_id("pacer-stop").click()
        page.get_by_test_id("pacer-stop").wait_for(state="hidden", timeout=10_000)
        page.get_by_test_id("reset-now").click()
        banner = page.get_by_test_id("micro-break-banner")
        page.locator("#micro-break-banner[data-phase='effect']").wait_for(timeout=120_000)
        history = api.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        effects = [
            e["data"]
            for e in history["events"]
            if e["event"] == "break_effect" and e["session_id"] == sid
        ]
        assert len(effects) == 1, history
        eff = effects[0]
        # the windows overlapping the pacing are left out of "before", and counted
        assert eff["n_windows_before_paced"] >= 1, eff
        text = page.locator("#mb-effect").inner_text()
        if eff["n_windows_before"] == 0:
            assert eff["rmssd_before_ms"] is None and eff["rmssd_change_pct"] is None, eff
            assert text.startswith("RMSSD after ") and "before" not in text.split(".")[0], text
            assert "No rest before it to compare with" in text, text
            assert "%" not in text, text
        else:
            assert "Paced minutes left out of before" in text, text
        assert banner.is_visible()
        page.screenshot(path=str(artifacts / "break-after-pacing-laptop.png"))
        page.set_viewport_size(PHONE)
        assert (
            page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            == 0
        )
        banner.screenshot(path=str(artifacts / "break-after-pacing-phone.png"))
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_a_breathing_break_from_the_banner_paces_two_minutes_and_stops_with_it(
    web_server: WebServer, context: Any
) -> None:
    """The banner's breathing break is the suggested 2-minute reset: the service paces for the
    break and stops the pacer with it (a practice the page started for it ran on after the
    break, so its "after" was paced, and nothing was learned or flagged from then on)."""
    with web_server.client() as api:
        r = api.post(
            "/api/v1/sessions",
            json={"source": {"kind": "simulator", "seed": 4, "speed": 60}},
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        page = context.new_page()
        errors = record_errors(page)
        page.goto(f"{web_server.url}/#token={web_server.token}")
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")

        def status() -> dict[str, Any]:
            st: dict[str, Any] = api.get(f"/api/v1/sessions/{sid}/microbreaks").json()["status"]
            return st

        poll(page, lambda: status()["baseline_personal"], timeout_s=30, what="the warm-up")
        assert api.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 1.0}).is_success
        page.get_by_role("button", name="Start break").wait_for(state="visible", timeout=30_000)
        api.post(f"/api/v1/sessions/{sid}/simulator", json={"stress": 0.0})
        page.get_by_role("button", name="Start break").click()
        guidance = poll(
            page,
            lambda: api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"],
            timeout_s=10,
            what="the break's pacer",
        )
        assert guidance["mode"] == "fixed" and guidance["ends_at_s"] is not None, guidance
        page.locator("#micro-break-banner[data-phase='effect']").wait_for(timeout=30_000)
        assert api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"] is None
        history = api.get("/api/v1/microbreaks/history", params={"session_id": sid}).json()
        (eff,) = [e["data"] for e in history["events"] if e["event"] == "break_effect"]
        assert eff["kind"] == "breathing" and eff["end_t_s"] - eff["start_t_s"] == pytest.approx(
            120.0, abs=2.0
        )
        assert eff["n_windows_after_paced"] == 0 and eff["rmssd_after_ms"] is not None, eff
        text = page.locator("#mb-effect").inner_text()
        assert text.startswith("RMSSD before ") and " after " in text.split(".")[0], text
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def _words(web_server: WebServer, context: Any, effects: list[dict[str, Any]]) -> list[Any]:
    """effectText and summaryText of js/microbreaks.js for each effect, in real Chromium."""
    page = context.new_page()
    errors = record_errors(page)
    page.goto(web_server.url + "/")
    got = page.evaluate(
        """async (effects) => {
            const m = await import('/js/microbreaks.js');
            return effects.map((e) => [m.effectText(e), m.summaryText(e)]);
        }""",
        effects,
    )
    assert errors == []
    return list(got)


def _effect(**kw: Any) -> dict[str, Any]:
    base = {
        "kind": "walk",
        "rmssd_before_ms": 28.1,
        "rmssd_after_ms": 32.6,
        "rmssd_change_pct": 16.0,
        "n_windows_before": 24,
        "n_windows_after": 25,
        "n_windows_before_paced": 0,
        "n_windows_after_paced": 0,
    }
    return {**base, **kw}


def test_a_practice_right_after_a_break_is_not_passed_off_as_its_effect(
    web_server: WebServer, context: Any
) -> None:
    """Pacing after a break: the page says what was left out of "after", and with nothing
    unpaced after it names no after figure and no change."""
    all_paced = _effect(
        rmssd_after_ms=None, rmssd_change_pct=None, n_windows_after=0, n_windows_after_paced=25
    )
    some_paced = _effect(n_windows_after=12, n_windows_after_paced=13)
    plain = _effect()
    (banner, summary), (banner2, summary2), (banner3, summary3) = _words(
        web_server, context, [all_paced, some_paced, plain]
    )
    assert banner.startswith("RMSSD before 28 ms.") and "after" not in banner.split(".")[0]
    assert "%" not in banner and "%" not in summary, (banner, summary)
    assert "the minutes after it were paced breathing" in banner, banner
    assert summary.startswith("Your heart-rate variability before it: 28 ms."), summary
    assert "the minutes after it were paced breathing" in summary, summary
    assert banner2.startswith("RMSSD before 28 ms, after 33 ms (+16 %).")
    assert "Paced minutes left out of after" in banner2, banner2
    assert "left out" in summary2, summary2
    assert banner3 == "RMSSD before 28 ms, after 33 ms (+16 %)."
    assert summary3 == "Your heart-rate variability went from 28 ms before to 33 ms after (+16 %)."


def test_paced_minutes_left_out_of_before_are_named_whichever_side_they_were(
    web_server: WebServer, context: Any
) -> None:
    """A practice started 100 s before a walk break: the unpaced "before" minutes are those
    before the pacing began, so the note must not say "after paced breathing ended"."""
    some_paced = _effect(n_windows_before=4, n_windows_before_paced=20)
    ((banner, summary),) = _words(web_server, context, [some_paced])
    assert banner.startswith("RMSSD before 28 ms, after 33 ms (+16 %).")
    for text in (banner, summary):
        assert "Paced minutes left out of before" in text, text
        assert "ended" not in text and "only the minutes after" not in text, text
