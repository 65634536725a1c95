"""A Bluetooth session started from the page, in real Chromium, by the stream its beats come
from: the real service and the real bleak client against the emulated BlueZ with Polar's PMD
service (tests/sensors/fake_bluez.py, run in a thread of its own as the page test is
synchronous)."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from tests.sensors.fake_bluez import FakeBluez, PrivateBus
from tests.sensors.test_ble import H10, packet, polar_h10
from tests.sensors.test_ble_pmd import ACC_OFFER, SENSE, ppi_frame, pulse, verity_sense
from tests.web.conftest import LAPTOP, WebServer
from tests.web.test_page import new_page, page_errors, wait_until  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.ble]

T = TypeVar("T")


class ThreadedBluez:
    """:class:`FakeBluez` on an event loop in a thread; every call runs on that loop."""

    def __init__(self, bus: PrivateBus) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.fake = FakeBluez(bus.address)
        self.run(self.fake.start())

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def call(self, fn: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return fn()

        return self.run(on_loop())

    def close(self) -> None:
        self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture
def bluez(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedBluez]:
    try:
        bus = PrivateBus()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
    threaded = ThreadedBluez(bus)
    yield threaded
    threaded.close()
    bus.close()


@pytest.mark.timeout(120)
def test_page_starts_a_ppi_session_with_motion_and_refuses_motion_with_hr(
    web_server: WebServer,
    new_page: Callable[..., Any],  # noqa: F811
    page_errors: list[str],  # noqa: F811
    bluez: ThreadedBluez,
) -> None:
    bluez.call(lambda: bluez.fake.add_strap(verity_sense(pmd={"ppi": {}, "acc": ACC_OFFER})))
    page = new_page(LAPTOP)
    page.goto(f"{web_server.url}/#token={web_server.token}")
    page.get_by_label("Heart-rate strap").check()
    page.get_by_role("button", name="Scan for straps (5 s)").click()
    page.get_by_text("1 strap(s) found").wait_for(timeout=20_000)
    assert page.locator("#strap-select").input_value() == SENSE
    # motion with the heart-rate service: the service's reason, nothing started
    page.get_by_label("Motion from the accelerometer").check()
    page.locator("#start-form").get_by_role("button", name="Start", exact=True).click()
    error = page.locator("#start-error")
    wait_until(lambda: "no accelerometer" in error.inner_text(), timeout_s=10, what="the 422")
    assert "'motion' needs a Polar Measurement Data stream" in error.inner_text()
    with web_server.client() as api:
        assert not [s for s in api.get("/api/v1/sessions").json()["sessions"] if s["live"]]
        # PPI with motion: started with what was chosen
        page.locator("select[name=ble_stream]").select_option("ppi")
        page.locator("#start-form").get_by_role("button", name="Start", exact=True).click()
        live = wait_until(
            lambda: [s for s in api.get("/api/v1/sessions").json()["sessions"] if s["live"]],
            timeout_s=10,
            what="the session the page started",
        )
        assert [s["source"] for s in live] == [
            {"kind": "ble", "address": SENSE, "stream": "ppi", "motion": True}
        ]
        assert error.inner_text() == ""
        bluez.run(bluez.fake.wait_pmd_streaming(SENSE, "acc", timeout_s=20))
        wait_until(
            lambda: page.locator("#conn-status").inner_text() == "Live",
            timeout_s=10,
            what="the page's live connection",
        )
        # the sensor's pulse intervals reach the page as live beats
        bluez.call(
            lambda: bluez.fake.notify_pmd(SENSE, ppi_frame(*(pulse(1000, hr=60) for _ in range(8))))
        )
        # all 8 on the page (each beat is its own live message: the tile says 60/min from the
        # first one on, so waiting for the rate alone read the count while beats still came)
        wait_until(
            lambda: page.locator("#st-beats").inner_text() == "8",
            timeout_s=10,
            what="the 8 PPI beats on the page",
        )
        # the heart rate is the mean of the tachogram's last beats: it shows once a read of
        # stored beats under way has delivered them (a loaded CI run read "-" here)
        wait_until(
            lambda: page.get_by_test_id("heart-rate").inner_text().strip() == "60",
            timeout_s=10,
            what="the heart rate of the PPI beats",
        )
        selected = page.locator("#session-select option:checked").inner_text()
        assert selected.startswith(f"strap {SENSE} (PPI, motion)")
        api.post(f"/api/v1/sessions/{live[0]['id']}/stop")
    # the browser logs the refused start (a 422 response) and nothing else
    assert [e for e in page_errors if "status of 422" not in e] == []


@pytest.mark.timeout(120)
def test_lost_skin_contact_shows_the_note_and_the_tile_from_the_status(
    web_server: WebServer,
    new_page: Callable[..., Any],  # noqa: F811
    page_errors: list[str],  # noqa: F811
    bluez: ThreadedBluez,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Review finding 3 (s12): a strap without skin contact sends "no contact" and no RR: no
    # beat, no signal message; only the source's status can bring the README's note.
    import sensors.silence

    # the strap silent after 1 s here (10 s in use; read when the session starts): the end
    monkeypatch.setattr(sensors.silence, "SILENT_AFTER_S", 1.0)
    bluez.call(lambda: bluez.fake.add_strap(polar_h10()))
    page = new_page(LAPTOP)
    page.goto(f"{web_server.url}/#token={web_server.token}")
    page.get_by_label("Heart-rate strap").check()
    page.get_by_role("button", name="Scan for straps (5 s)").click()
    page.get_by_text("1 strap(s) found").wait_for(timeout=20_000)
    page.locator("#start-form").get_by_role("button", name="Start", exact=True).click()
    bluez.run(bluez.fake.wait_notifying(H10, timeout_s=20))
    wait_until(
        lambda: page.locator("#conn-status").inner_text() == "Live",
        timeout_s=10,
        what="the page's live connection",
    )
    note = page.locator("#signal-quality-note")
    for _ in range(3):
        bluez.call(lambda: bluez.fake.notify(H10, packet(1024, hr=60)))
        time.sleep(0.5)
    wait_until(
        lambda: page.locator("#st-contact").inner_text() == "yes", timeout_s=10, what="beats"
    )
    assert note.get_attribute("data-reason") != "no-contact"
    with web_server.client() as api:
        sid = next(s["id"] for s in api.get("/api/v1/sessions").json()["sessions"] if s["live"])
        for _ in range(5):  # 3.2 s of packets without contact and RR
            time.sleep(0.8)
            bluez.call(lambda: bluez.fake.notify(H10, bytes([0x04, 60])))
        wait_until(
            lambda: note.get_attribute("data-reason") == "no-contact",
            timeout_s=10,
            what="the no-contact note",
        )
        assert note.inner_text() == "no skin contact: check the strap"
        assert page.locator("#st-contact").inner_text() == "NO CONTACT"
        session = api.get(f"/api/v1/sessions/{sid}").json()
        assert session["source_state"] == "no_contact"
        bluez.call(lambda: bluez.fake.notify(H10, packet(1024, hr=60)))  # contact is back
        wait_until(
            lambda: note.get_attribute("data-reason") != "no-contact",
            timeout_s=10,
            what="the note to clear",
        )
        assert api.get(f"/api/v1/sessions/{sid}").json()["source_state"] == "streaming"
        # strap review (item 4): a connected strap sending nothing is said in the State tile
        # (the service's silence_warning), until data comes again
        state = page.locator("#st-state")
        wait_until(
            lambda: state.inner_text() == "running (streaming, no data)",
            timeout_s=10,
            what="the strap's silence on the page",
        )
        title = state.get_attribute("title") or ""
        # rev12 review finding 5: since when (the message's "for 10 s" was shown for minutes),
        # and said in the top bar (a polite live region, visible on a touch screen)
        said = r"no data from Polar H10 \S+ since .+ \(still connected\); the session goes on"
        assert re.fullmatch(said + " and keeps what comes", title), title
        conn = page.locator("#conn-status")
        assert conn.inner_text() == "Live, but " + title.split(";")[0], conn.inner_text()
        bluez.call(lambda: bluez.fake.notify(H10, packet(1024, hr=60)))
        wait_until(
            lambda: state.inner_text() == "running (streaming)",
            timeout_s=10,
            what="the silence to clear",
        )
        assert not (state.get_attribute("title") or "").startswith("no data from")
        assert conn.inner_text() == "Live"
        api.post(f"/api/v1/sessions/{sid}/stop")
    assert page_errors == []


@pytest.mark.timeout(120)
def test_beats_published_before_the_socket_subscribed_show_without_a_next_beat(
    web_server: WebServer,
    new_page: Callable[..., Any],  # noqa: F811
    page_errors: list[str],  # noqa: F811
    bluez: ThreadedBluez,
) -> None:
    # CI (stop 29): the browser's socket is open (the page says "Live") before the server has
    # subscribed it; beats published in between reach only storage. A live beat after them
    # shows the hole, but a strap that sends nothing more sends none: the count said 8 from
    # the welcome status while the heart rate and the tachogram stayed empty. The page now
    # reads them once the welcome counts more beats than it shows. The socket is held here
    # (Playwright's WebSocket routing) until the beats are stored, then connected.
    bluez.call(lambda: bluez.fake.add_strap(polar_h10()))
    held: list[Any] = []
    with web_server.client() as api:
        sid = api.post("/api/v1/sessions", json={"source": {"kind": "ble", "address": H10}})
        assert sid.status_code == 201, sid.text
        session_id = sid.json()["id"]
        bluez.run(bluez.fake.wait_notifying(H10, timeout_s=20))
        page = new_page(LAPTOP)
        page.route_web_socket(re.compile(r"/live(\?|$)"), lambda ws: held.append(ws))
        page.goto(f"{web_server.url}/#token={web_server.token}")
        wait_until(
            lambda: page.locator("#conn-status").inner_text() == "Live",
            timeout_s=20,
            what="the socket's open",
        )
        assert len(held) == 1
        for _ in range(3):
            bluez.call(lambda: bluez.fake.notify(H10, packet(1024, hr=60)))
        wait_until(
            lambda: api.get(f"/api/v1/sessions/{session_id}/beats").json()["total"] == 3,
            timeout_s=10,
            what="the 3 beats stored",
        )
        assert page.get_by_test_id("heart-rate").inner_text().strip() == "-"
        held[0].connect_to_server()
        wait_until(
            lambda: page.get_by_test_id("heart-rate").inner_text().strip() == "60",
            timeout_s=10,
            what="the stored beats' heart rate",
        )
        assert page.locator("#st-beats").inner_text() == "3"
        api.post(f"/api/v1/sessions/{session_id}/stop")
    assert page_errors == []
