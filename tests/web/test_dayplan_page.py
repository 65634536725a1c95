"""A working day in a minute: ``hrvpace demo --start ... --clock-speed 120`` (a real subprocess)
delivers the day plan's prompts to the page in real Chromium, which answers them.

Headless Chromium has no window manager and draws no notifications; as in test_nudges.py, an
init script stands in for a hidden tab and records each notification the page creates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api.test_commands import _read_line
from tests.web.conftest import LAPTOP, REPO_ROOT, record_errors
from tests.web.test_nudges import HIDDEN_TAB, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # ~20 s: a subprocess and a page


@pytest.fixture
def demo(tmp_path: Any) -> Iterator[tuple[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRVPACE_")}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    # 08:45 rather than the README's 08:55: 7.5 s of margin for the page to open first
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api",
            "demo",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
            "--no-open",
            "--start",
            "2026-12-07T08:45",
            "--clock-speed",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        page = _read_line(proc, "open ").split()[-1]
        token = _read_line(proc, "token: ").split()[-1]
        assert "from 2026-12-07 08:45 at 120x" in _read_line(proc, "day plan clock: ")
        yield page.split("/#")[0], token
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert proc.stdout is not None
        proc.stdout.close()


def test_fast_clock_delivers_prompt_cards_and_notifications_that_are_answered(
    demo: tuple[str, str], browser: Any
) -> None:
    base, token = demo
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    plan = api.get("/api/v1/dayplan").json()
    plan.pop("default_texts")
    plan.pop("calendar_feed_url")
    plan["interventions"] = [
        {"id": "morning", "kind": "morning_prompt", "start": "09:00"},
        {"id": "checkin", "kind": "checkin", "start": "09:08"},
    ]
    assert api.put("/api/v1/dayplan", json=plan).status_code == 200

    ctx = browser.new_context(viewport=LAPTOP)
    ctx.grant_permissions(["notifications"], origin=base)
    ctx.add_init_script(HIDDEN_TAB)
    page = ctx.new_page()
    errors = record_errors(page)
    try:
        page.goto(f"{base}/#token={token}")
        page.evaluate("window.__setVisible(false)")  # the person works elsewhere
        assert api.get("/api/v1/prompts").json()["prompts"] == []  # still before 09:00

        # 09:00 on the demo clock (7.5 s in): a system notification, the card behind it
        page.wait_for_function("window.__notifications.length > 0", timeout=30_000)
        note = page.evaluate("window.__notifications")[0]
        assert note["title"] == "Good morning"
        assert note["body"] == "What are you looking forward to most today?"
        page.evaluate("window.__setVisible(true)")
        card = page.get_by_test_id("prompt-card")
        card.wait_for(state="visible")
        assert card.get_attribute("data-kind") == "morning_prompt"
        assert page.locator("#prompt-text").inner_text() == note["body"]
        page.get_by_label("Your answer").fill("A walk at lunch")
        page.get_by_role("button", name="Save").click()
        card.wait_for(state="hidden")
        assert page.locator("#prompt-done").inner_text() == "Saved. Thank you."
        morning = api.get("/api/v1/prompts").json()["prompts"][0]
        assert morning["state"] == "answered" and morning["answer_text"] == "A walk at lunch"
        tz = ZoneInfo(plan["timezone"])  # the demo's machine zone (its own environment)
        assert datetime.fromtimestamp(morning["due_at"], tz=tz).strftime("%H:%M") == "09:00"
        # answered within seconds of real time: minutes on a 120x clock
        assert 0 < morning["response_latency_s"] < 30 * 120

        # 09:08: the check-in card, its items on their scales with anchor words
        page.wait_for_function(
            "document.querySelector('[data-testid=prompt-card]').dataset.kind === 'checkin' "
            "&& !document.querySelector('[data-testid=prompt-card]').hidden",
            timeout=30_000,
        )
        legends = page.locator("#prompt-items legend").all_inner_texts()
        assert legends == [
            "Stress (1 very relaxed, 5 very stressed)",
            "Energy (1 exhausted, 5 full of energy)",
        ]
        page.get_by_role("button", name="Save").click()  # nothing picked yet: says what is missing
        assert "Stress, Energy" in page.locator("#prompt-status").inner_text()
        page.locator("#prompt-items button[data-item=stress]", has_text="2").click()
        page.locator("#prompt-items button[data-item=energy]", has_text="4").click()
        page.get_by_label("Note (optional)").fill("busy morning")
        page.get_by_role("button", name="Save").click()
        card.wait_for(state="hidden")
        checkin = wait_until(
            lambda: next(
                (
                    p
                    for p in api.get("/api/v1/prompts").json()["prompts"]
                    if p["kind"] == "checkin" and p["state"] == "answered"
                ),
                None,
            ),
            timeout_s=10,
            what="the answered check-in",
        )
        assert {a["key"]: a["value"] for a in checkin["answers"]} == {"stress": 2, "energy": 4}
        assert checkin["note"] == "busy morning"
        rows = api.get("/api/v1/checkins").json()["checkins"]
        assert [(r["stress"], r["energy"]) for r in rows] == [(2, 4)]
    finally:
        ctx.close()
        api.close()
    assert errors == []
