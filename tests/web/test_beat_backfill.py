"""The tachogram's beats in real Chromium against the real service (uvicorn, SQLite): every
beat of its 5 minutes once, in ``idx`` order, whatever came between the reads and the socket.

The page backfills the tachogram from storage (``GET /sessions/{id}/beats?since_t_s=``), then
opens the live socket, which brings the beats published from then on. The beats stored in
between came neither way, and the chart drew a straight line across them (about 15 s of
session time at 30x). Here the backfill's read is made at once but its answer held while a
replay goes on storing beats (a Playwright route that fetches the response, then fulfils it
later), so the hole is wide; and a socket cut and refused for a while makes the same kind of
hole (the page reconnects without ``since_seq``, live from then on). The page's beats are read
from the tachogram's ``data-beat-idx`` (the ``idx`` of each beat drawn, in order) and compared
with the stored beats of the same range.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests._rhythm import sinus_then_bigeminy
from tests.web.conftest import WebServer, poll, start_replay

pytestmark = pytest.mark.e2e

SPEED = 30.0  # session seconds per wall second: a beat every ~33 ms of wall time
LIVE_URL = re.compile(r"/api/v1/sessions/[^/]+/live")
#: Stored beats the tests let pass while the page cannot hear them (the hole to be filled).
HOLE_BEATS = 60


def _start_replay(api: Any) -> str:
    """A replay of an hour of sinus rhythm (60 beats/min, +-40 ms) at :data:`SPEED`."""
    rr, _ = sinus_then_bigeminy(3600.0, 0.0)
    return start_replay(api, rr, speed=SPEED)


def _n_stored(api: Any, sid: str) -> int:
    total: int = api.get(f"/api/v1/sessions/{sid}/beats", params={"limit": 1}).json()["total"]
    return total


def _page_idx(page: Any) -> list[int]:
    """The ``idx`` of the beats on the tachogram as last drawn, in its order."""
    text: str = page.evaluate("document.getElementById('tachogram').dataset.beatIdx || ''")
    return [int(x) for x in text.split(",")] if text else []


class _Relay:
    """A WebSocket route between the page and the server that records the ``idx`` of every
    beat it forwards; ``refuse`` closes a new page socket at once (the server never reached)."""

    def __init__(self) -> None:
        self.refuse = False
        self.open: list[Any] = []
        self.n_refused = 0
        self.beats: list[list[int]] = []  # per socket let through, the idx of its beats

    def handle(self, ws: Any) -> None:
        if self.refuse:
            self.n_refused += 1
            ws.close(code=4000, reason="cut by the test")
            return
        server = ws.connect_to_server()
        self.open.append(ws)
        got: list[int] = []
        self.beats.append(got)

        def from_server(message: str | bytes) -> None:
            data = json.loads(message)
            if data["type"] == "beat":
                got.append(data["idx"])
            ws.send(message)

        server.on_message(from_server)


def _check_against_storage(api: Any, sid: str, idx: list[int]) -> None:
    """``idx`` (the page's) is the stored beats of its range: consecutive, none twice."""
    stored = api.get(f"/api/v1/sessions/{sid}/beats", params={"since_t_s": 0}).json()["beats"]
    in_range = [b["idx"] for b in stored if idx[0] <= b["idx"] <= idx[-1]]
    dups = sorted({i for i in idx if idx.count(i) > 1})
    missing = sorted(set(in_range) - set(idx))
    assert not dups and not missing, f"twice: {dups}; missing: {missing}"
    assert idx == in_range
    assert idx == list(range(idx[0], idx[-1] + 1))
    assert len(idx) > 2 * HOLE_BEATS, idx  # the range spans the hole and beats on both sides


def _heart_rate(page: Any) -> int:
    return int(page.get_by_test_id("heart-rate").inner_text())


def test_beats_stored_while_the_backfill_is_answered_reach_the_tachogram(
    web_server: WebServer, open_page: Callable[[], tuple[Any, list[str]]]
) -> None:
    page, errors = open_page()
    relay = _Relay()
    page.route_web_socket(LIVE_URL, relay.handle)
    with web_server.client() as api:
        sid = _start_replay(api)
        # some stored beats first, so that the backfill has a last beat to go on from
        poll(page, lambda: _n_stored(api, sid) >= 30, timeout_s=10, what="30 stored beats")
        held: list[tuple[Any, Any]] = []

        def hold_backfill(route: Any) -> None:
            if held:
                route.continue_()  # any later read of beats goes through
                return
            held.append((route, route.fetch()))  # read now, answered when the test says

        page.route(re.compile(rf"/api/v1/sessions/{sid}/beats\?since_t_s="), hold_backfill)
        page.goto(f"{web_server.url}/#token={web_server.token}")
        poll(page, lambda: held, timeout_s=10, what="the page's backfill read")
        backfilled = json.loads(held[0][1].text())["beats"]
        assert backfilled, "the backfill read no beat"
        last_backfilled = backfilled[-1]["idx"]
        poll(
            page,
            lambda: _n_stored(api, sid) > last_backfilled + HOLE_BEATS,
            timeout_s=15,
            what=f"{HOLE_BEATS} more stored beats",
        )
        held[0][0].fulfill(response=held[0][1])  # the page goes on: the socket opens

        poll(page, lambda: relay.beats and relay.beats[0], timeout_s=10, what="a live beat")
        first_live = relay.beats[0][0]
        assert first_live > last_backfilled + HOLE_BEATS, (
            f"no hole between the backfill (to {last_backfilled}) and the first live beat "
            f"({first_live}): the test proves nothing"
        )
        poll(
            page,
            lambda: (idx := _page_idx(page)) and idx[-1] >= first_live + 30,
            timeout_s=15,
            what="30 live beats on the tachogram",
        )
        idx = _page_idx(page)
        assert idx[0] <= last_backfilled  # the backfilled beats are still there
        _check_against_storage(api, sid, idx)

        # the live tiles as before: heart rate of the last 6 beats, the server's signal
        assert 55 <= _heart_rate(page) <= 65
        assert int(page.locator("#st-beats").inner_text()) > first_live
        poll(
            page,
            lambda: page.get_by_test_id("signal-quality").get_attribute("data-source") == "server",
            timeout_s=10,
            what="the server's signal on the quality tile",
        )
        assert page.locator("#conn-status").inner_text() == "Live"
        assert len(relay.open) == 1
    assert errors == []


def test_beats_stored_while_the_socket_is_down_reach_the_tachogram(
    web_server: WebServer, open_page: Callable[[], tuple[Any, list[str]]]
) -> None:
    page, errors = open_page()
    relay = _Relay()
    page.route_web_socket(LIVE_URL, relay.handle)
    with web_server.client() as api:
        sid = _start_replay(api)
        page.goto(f"{web_server.url}/#token={web_server.token}")
        page.wait_for_function(f"document.getElementById('session-select').value === '{sid}'")
        poll(
            page,
            lambda: relay.beats and len(relay.beats[0]) >= 2 * HOLE_BEATS,
            timeout_s=15,
            what="live beats before the cut",
        )

        # -- cut the socket; the page retries and is refused while the replay goes on ---------
        relay.refuse = True
        relay.open[-1].close(code=4000, reason="cut by the test")
        page.locator("#conn-status", has_text="retrying").wait_for(timeout=5000)
        poll(page, lambda: relay.n_refused >= 1, timeout_s=10, what="a refused reconnect")
        last_heard = relay.beats[0][-1]
        poll(
            page,
            lambda: _n_stored(api, sid) > last_heard + HOLE_BEATS,
            timeout_s=15,
            what=f"{HOLE_BEATS} more stored beats",
        )
        relay.refuse = False
        poll(page, lambda: len(relay.beats) == 2 and relay.beats[1], timeout_s=15, what="a beat")
        first_after = relay.beats[1][0]
        assert first_after > last_heard + HOLE_BEATS, (
            f"no hole between the last beat before the cut ({last_heard}) and the first after "
            f"({first_after}): the test proves nothing"
        )
        poll(
            page,
            lambda: (idx := _page_idx(page)) and idx[-1] >= first_after + 30,
            timeout_s=15,
            what="30 live beats after the reconnect on the tachogram",
        )
        idx = _page_idx(page)
        assert idx[0] <= relay.beats[0][0]  # the beats before the cut are still there
        _check_against_storage(api, sid, idx)
        assert 55 <= _heart_rate(page) <= 65
        assert page.locator("#conn-status").inner_text() == "Live"
    assert errors == []
