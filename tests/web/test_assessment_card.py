"""The Breathing card around a resonance assessment, in real Chromium against the real service.

- A simulated person's result is that session's, not the person's (README "Whose numbers"): the
  card says so, and says which rate practice and breaks use; on a strap it becomes the
  person's rate.
- The verdict ends the pacing; the card offers to practise at the rate found.
- An assessment stopped half-way says where it stopped, keeps its finished steps and claims no
  rate, also after a reload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from breathing.engine import practice_rate_bpm
from tests._uvicorn import serving
from tests.api.conftest import person_on_a_strap
from tests.web.conftest import WebServer, poll

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
#: Session seconds per wall second: a 2-minute step passes in 1 s; the whole assessment in ~5 s.
SPEED = 120.0
#: Generous: CI runs on a loaded 2-core machine (the session's clock does not depend on it).
ASSESSMENT_TIMEOUT_S = 120.0


@pytest.fixture
def pages(browser: Any) -> Iterator[Callable[..., tuple[Any, list[str]]]]:
    """Pages of a viewport that record uncaught script errors and console errors."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int]) -> tuple[Any, list[str]]:
        ctx = browser.new_context(viewport=viewport)
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        return page, errors

    yield make
    for ctx in contexts:
        ctx.close()


def _open(page: Any, url: str, token: str, sid: str) -> None:
    page.goto(f"{url}/#token={token}")
    page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")


def _start(api: httpx.Client, source: dict[str, Any]) -> str:
    r = api.post("/api/v1/sessions", json={"source": source, "mode": "monitor"})
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid


def _records(api: httpx.Client, sid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = api.get(f"/api/v1/sessions/{sid}/breathing/assessments").json()[
        "results"
    ]
    return out


def _state(page: Any, want: str) -> None:
    page.locator(f"#assessment[data-state='{want}']").wait_for(timeout=ASSESSMENT_TIMEOUT_S * 1000)


def _overflow(page: Any) -> int:
    """How far the page is wider than its viewport (0: nothing overflows sideways)."""
    width: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def _one_decimal(value: float) -> str:
    """``value`` with one decimal as the page shows it: Intl rounds the shortest decimal that
    reads back as the number half away from zero (4.85 -> "4.9"; Python's format, "4.8")."""
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def test_a_simulated_persons_result_is_not_kept_as_yours_and_ends_the_pacing(
    web_server: WebServer, pages: Callable[..., tuple[Any, list[str]]], artifacts: Path
) -> None:
    with web_server.client() as api:
        sid = _start(api, {"kind": "simulator", "seed": 2, "resonance_bpm": 5.0, "speed": SPEED})
        page, errors = pages(LAPTOP)
        _open(page, web_server.url, web_server.token, sid)
        page.locator("#resonance-note[data-source='none']").wait_for(timeout=15_000)
        page.get_by_role("button", name="Start resonance assessment").click()
        _state(page, "running")
        _state(page, "complete")
        verdict = next(
            r["result"] for r in _records(api, sid) if r["type"] == "assessment_complete"
        )
        found = verdict["resonance_bpm"]
        assert found is not None and abs(found - 5.0) <= 0.5, verdict
        shown = _one_decimal(found)
        # the result says whose it is; the note says which rate practice uses, and why
        result = page.locator("#assessment-result").inner_text()
        assert result.startswith(f"Resonance rate of this simulated person: {shown} breaths/min")
        assert "not kept as your rate" in result
        page.locator("#resonance-note[data-source='session']").wait_for(timeout=10_000)
        note = page.locator("#resonance-note").inner_text()
        assert f"found {shown} breaths/min for this simulated person" in note, note
        assert "not kept as your resonance rate" in note and "new sessions use 6" in note, note
        assert "No resonance rate yet" not in note
        assert page.locator("#practice-rate").input_value() == shown
        # ... which is what the service does: nothing kept as the person's
        assert api.get("/api/v1/baseline").json()["resonance_bpm"] is None
        # the verdict ended the pacing (the session goes on monitoring)
        assert api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"] is None
        poll(page, lambda: page.locator("#pacer-stop").is_hidden(), timeout_s=10, what="no pacer")
        assert page.locator("#pacer-rate").inner_text() == "-"
        # the assessment's own coherence is labelled apart from the live gauge's
        heads = page.locator("#assessment-table thead th").all_inner_texts()
        assert "Breathing-locked share" in heads and "Coherence" not in heads, heads
        assert "highlighted" in page.locator("#assessment-caption").inner_text()
        # every rate of the verdict in the table (tables and charts are redrawn at most every
        # 500 ms: a screenshot taken at once showed the steps before the last one)
        rates = sorted((r["rate_bpm"] for r in verdict["rates"]), reverse=True)
        table = page.locator("#assessment-table tbody tr")
        poll(page, lambda: table.count() == len(rates), timeout_s=10, what="the verdict's rows")
        assert [float(r) for r in table.evaluate_all("rs => rs.map(r => r.dataset.rate)")] == rates
        for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            assert _overflow(page) == 0, name
            page.locator("#breathing").screenshot(
                path=str(artifacts / f"assessment-simulated-done-{name}.png")
            )
        page.set_viewport_size(LAPTOP)
        # one click practises at the rate found, as shown (the service's own practice rate)
        offer = page.locator("#assessment-practice")
        assert offer.inner_text() == f"Practise at {shown} breaths/min"
        offer.click()
        page.locator("#pacer-stop").wait_for(state="visible", timeout=10_000)
        g = api.get(f"/api/v1/sessions/{sid}/breathing/guidance").json()["guidance"]
        assert (g["mode"], g["rate_bpm"]) == ("fixed", float(shown))
        assert g["rate_bpm"] == practice_rate_bpm(found)
        assert offer.is_hidden()
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


def test_an_assessment_stopped_in_its_third_step_says_so_and_survives_a_reload(
    web_server: WebServer, pages: Callable[..., tuple[Any, list[str]]], artifacts: Path
) -> None:
    with web_server.client() as api:
        # slower: the stop must land while the assessment still runs
        sid = _start(api, {"kind": "simulator", "seed": 2, "resonance_bpm": 5.0, "speed": 30})
        page, errors = pages(LAPTOP)
        _open(page, web_server.url, web_server.token, sid)
        # what the card shows while it runs: its step and its bar, sampled together
        page.evaluate(
            """() => {
              window.barSamples = [];
              setInterval(() => {
                const m = /step (\\d+) of (\\d+)/.exec(
                  document.getElementById("assessment-progress").textContent);
                if (m) window.barSamples.push(
                  [Number(m[1]), Number(m[2]), document.getElementById("assessment-bar").value]);
              }, 25);
            }"""
        )
        page.get_by_role("button", name="Start resonance assessment").click()
        progress = page.locator("#assessment-progress")
        progress.get_by_text(re.compile(r"step [3-5] of 5")).wait_for(timeout=60_000)
        page.get_by_test_id("pacer-stop").click()
        # the bar is the share of the whole assessment done: within step k of n it goes from
        # (k-1)/n towards k/n (a finished step fills its fifth of the bar, not a fifth of that)
        samples: list[list[float]] = page.evaluate("window.barSamples")
        for k in (1, 2):
            values = [v for step, n, v in samples if step == k and n == 5]
            assert values, (k, samples)
            assert all((k - 1) / 5 - 1e-9 <= v <= k / 5 + 1e-9 for v in values), (k, values)
            assert max(values) >= (k - 0.5) / 5, (k, values)
        _state(page, "stopped")
        stopped = poll(
            page,
            lambda: next(
                (r for r in _records(api, sid) if r["type"] == "assessment_stopped"), None
            ),
            timeout_s=30,
            what="the stored stop",
        )
        n_done = stopped["steps_done"]
        assert n_done >= 2
        step = stopped["step_index"] + 1
        rate = f"{stopped['rate_bpm']:.1f}"

        def check(where: str) -> None:
            text = progress.inner_text()
            assert text.startswith(f"Assessment stopped at step {step} of 5 ({rate}/min)"), (
                where,
                text,
            )
            assert "no resonance rate" in text and f"{n_done} finished steps" in text, text
            rows = page.locator("#assessment-table tbody tr")
            poll(page, lambda: rows.count() == n_done, timeout_s=10, what=f"{n_done} rows")
            assert page.locator("#assessment-result").inner_text() == "", where
            assert "highlighted" not in page.locator("#assessment-caption").inner_text()
            assert page.locator("#assessment-bar").evaluate("b => b.value") == pytest.approx(
                n_done / 5
            )
            assert page.locator("#assessment-practice").is_hidden()

        check("live")
        page.locator("#breathing").screenshot(path=str(artifacts / "assessment-stopped-laptop.png"))
        page.reload()
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        _state(page, "stopped")
        check("after a reload")
        page.set_viewport_size(PHONE)
        assert _overflow(page) == 0
        # the table's five columns fit the phone too (no sideways scroll inside its box)
        wrap = page.locator("#assessment .table-wrap")
        assert wrap.evaluate("w => w.scrollWidth - w.clientWidth") == 0
        page.locator("#breathing").screenshot(path=str(artifacts / "assessment-stopped-phone.png"))
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


#: In the page, once it drew the stored beats (it reads them after the stored assessments, and
#: draws the table with the tachogram): the card runs step 1 of 5 and shows no rows (none of
#: an earlier assessment).
FIRST_STEP_NO_ROWS = """() => {
  const box = document.getElementById("assessment");
  return Boolean(document.getElementById("tachogram").dataset.beatIdx)
    && box.dataset.state === "running"
    && /step 1 of 5/.test(document.getElementById("assessment-progress").textContent)
    && document.querySelectorAll("#assessment-table tbody tr").length === 0;
}"""


def test_an_assessment_restarted_elsewhere_shows_only_its_own_steps_also_after_a_reload(
    web_server: WebServer, pages: Callable[..., tuple[Any, list[str]]]
) -> None:
    with web_server.client() as api:
        # slow enough (a step is 20 s) that a reload fits in the restarted first step
        sid = _start(api, {"kind": "simulator", "seed": 2, "resonance_bpm": 5.0, "speed": 6})
        page, errors = pages(LAPTOP)
        _open(page, web_server.url, web_server.token, sid)
        base = f"/api/v1/sessions/{sid}/breathing"
        assert api.post(f"{base}/assessment").status_code == 200
        rows = page.locator("#assessment-table tbody tr")
        poll(page, lambda: rows.count() == 1, timeout_s=ASSESSMENT_TIMEOUT_S, what="step 1's row")
        # another client (a tab, the CLI) starts it again while it runs: no mode change, the
        # running one is stopped with its finished step; this page did not click
        assert api.post(f"{base}/assessment").status_code == 200
        page.wait_for_function(FIRST_STEP_NO_ROWS, timeout=30_000)
        kinds = ["assessment_step", "assessment_stopped"]
        poll(
            page,
            lambda: [r["type"] for r in _records(api, sid)] == kinds,
            timeout_s=30,
            what="the first run stored as stopped",
        )
        page.reload()
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        page.wait_for_function(FIRST_STEP_NO_ROWS, timeout=30_000)
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []


@pytest.fixture
def strap_server(tmp_path: Path) -> Iterator[WebServer]:
    """The service whose straps are a simulated person (resonance 5.0/min) wearing one: to the
    service these are strap sessions, the person's own numbers."""
    settings = load_settings(data_dir=tmp_path / "data", token="web-strap-token")
    person = {"seed": 2, "resonance_bpm": 5.0, "speed": SPEED}
    app = create_app(settings, source_factory=person_on_a_strap(person))
    with serving(app, ws="auto", lifespan="on") as running:
        yield WebServer(running.url, app.state.token, app)


def test_a_strap_sessions_result_becomes_the_rate_the_page_uses(
    strap_server: WebServer, pages: Callable[..., tuple[Any, list[str]]], artifacts: Path
) -> None:
    with strap_server.client() as api:
        sid = _start(api, {"kind": "ble", "address": "AA:BB:CC:00:00:01"})
        page, errors = pages(LAPTOP)
        _open(page, strap_server.url, strap_server.token, sid)
        page.locator("#resonance-note[data-source='none']").wait_for(timeout=15_000)
        page.get_by_role("button", name="Start resonance assessment").click()
        _state(page, "complete")
        found = api.get("/api/v1/baseline").json()["resonance_bpm"]
        assert found is not None and abs(found - 5.0) <= 0.5
        shown = _one_decimal(found)
        result = page.locator("#assessment-result").inner_text()
        assert result.startswith(f"Your resonance rate: {shown} breaths/min"), result
        page.locator("#resonance-note[data-source='person']").wait_for(timeout=10_000)
        note = page.locator("#resonance-note").inner_text()
        assert note.startswith(f"Your resonance rate: {shown} breaths/min"), note
        assert page.locator("#practice-rate").input_value() == shown
        page.locator("#breathing").screenshot(path=str(artifacts / "assessment-strap-done.png"))
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert errors == []
