"""The tachogram's labels in real Chromium: no label overlaps another, a tick's or the plot.

A review found the y-axis label "RR (ms)" drawn over the "1000" tick label (a fixed 48-px left
margin for both), and the x-axis label "session time (m:ss)" touching the last time tick. The
chart now makes its margins from the labels' measured sizes and publishes where it put each
label (the ink box ``measureText`` gives, ``data-label-boxes``) and its plot
(``data-plot-box``); this checks them at a desktop (1366x768) and a phone (390x844) width, on
a heart rate around 60/min, so that "1000" sits mid-axis beside the rotated y label, the case
the review saw. Real service (uvicorn, SQLite), a real replay of a generated RR file.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._rhythm import sinus_then_bigeminy
from tests.web.conftest import WebServer, record_errors, start_replay

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[dict[str, int]], tuple[Any, list[str]]]]:
    contexts: list[Any] = []

    def make(viewport: dict[str, int]) -> tuple[Any, list[str]]:
        ctx = browser.new_context(viewport=viewport)
        contexts.append(ctx)
        page = ctx.new_page()
        return page, record_errors(page)

    yield make
    for ctx in contexts:
        ctx.close()


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


def _layout(page: Any) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, int]]:
    """The tachogram's label boxes, plot box and size (CSS pixels), as last drawn."""
    got: dict[str, Any] = page.evaluate(
        """() => {
            const c = document.getElementById('tachogram');
            return {boxes: c.dataset.labelBoxes || '[]', plot: c.dataset.plotBox || '{}',
                    w: c.clientWidth, h: c.clientHeight};
        }"""
    )
    return json.loads(got["boxes"]), json.loads(got["plot"]), {"w": got["w"], "h": got["h"]}


def _check(boxes: list[dict[str, Any]], plot: dict[str, Any], size: dict[str, int]) -> None:
    kinds = {b["kind"] for b in boxes}
    assert kinds == {"y-tick", "x-tick", "y-label", "x-label"}, boxes
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), f"{a['text']!r} overlaps {b['text']!r}: {a} {b}"
    for b in boxes:
        assert not _overlap(b, plot), f"{b['text']!r} is over the plot: {b} {plot}"
        assert b["x0"] >= 0 and b["x1"] <= size["w"], f"{b['text']!r} is cut off: {b} {size}"
        assert b["y0"] >= 0 and b["y1"] <= size["h"], f"{b['text']!r} is cut off: {b} {size}"


def test_tachogram_labels_never_overlap_at_desktop_and_phone_width(
    web_server: WebServer,
    open_page: Callable[[dict[str, int]], tuple[Any, list[str]]],
    artifacts: Path,
) -> None:
    rr, _ = sinus_then_bigeminy(3600.0, 0.0)  # 1000 +- 40 ms: ticks 960 ... 1040
    with web_server.client() as api:
        start_replay(api, rr, speed=20)
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page, errors = open_page(viewport)
            page.goto(f"{web_server.url}/#token={web_server.token}")
            page.wait_for_function(  # a minute of beats and at least two time ticks
                "(c => Number(c.dataset.nPoints || 0) > 60 && (c.dataset.xTicks || '')"
                ".includes('|'))(document.getElementById('tachogram'))"
            )
            boxes, plot, size = _layout(page)
            assert size["w"] <= viewport["width"]
            # the case of the review is drawn: "1000" mid-axis, level with the rotated y label
            y_label = next(b for b in boxes if b["kind"] == "y-label")
            ticks = {b["text"]: b for b in boxes if b["kind"] == "y-tick"}
            assert "1000" in ticks, sorted(ticks)
            assert ticks["1000"]["y0"] < y_label["y1"] and y_label["y0"] < ticks["1000"]["y1"]
            x_label = next(b for b in boxes if b["kind"] == "x-label")
            assert x_label["text"] == "session time (m:ss)"
            assert len([b for b in boxes if b["kind"] == "x-tick"]) >= 2
            _check(boxes, plot, size)
            page.locator("#tachogram").scroll_into_view_if_needed()
            page.locator("#tachogram").screenshot(path=str(artifacts / f"tachogram-{name}.png"))
            assert errors == []
