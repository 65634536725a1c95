"""The live socket's version negotiation as Chromium sees it (real Chromium, real uvicorn).

Review finding: an offer of ``["hrvpace.v2", "bearer.<token>"]`` was accepted with no
subprotocol selected, then closed with 4406. Chromium fails a handshake that offered
subprotocols and got none back, so a page never saw the 4406 (nor its reason), only 1006.
The server now selects the first ``hrvpace.*`` offered, then closes with 4406.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import WebServer

pytestmark = pytest.mark.e2e

#: Opens a socket with the given subprotocols; resolves with what the page could tell: the
#: selected protocol, the first message's type, the close code and reason.
OPEN = """([url, protocols]) => new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    const out = {protocol: null, first: null, code: null, reason: null};
    ws.onopen = () => { out.protocol = ws.protocol; };
    ws.onmessage = (e) => {
        if (out.first === null) { out.first = JSON.parse(e.data).type; ws.close(1000); }
    };
    ws.onclose = (e) => { out.code = e.code; out.reason = e.reason; resolve(out); };
})"""


def _offer(page: Any, server: WebServer, sid: str, protocols: list[str]) -> dict[str, Any]:
    url = server.url.replace("http://", "ws://") + f"/api/v1/sessions/{sid}/live"
    result: dict[str, Any] = page.evaluate(OPEN, [url, protocols])
    return result


def test_a_page_offering_only_another_version_sees_4406_and_its_reason(
    web_server: WebServer, open_page: Any
) -> None:
    page, _ = open_page()
    page.goto(web_server.url + "/")  # the service's own origin
    with web_server.client() as api:
        r = api.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 5}})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        token = f"bearer.{web_server.token}"
        refused = _offer(page, web_server, sid, ["hrvpace.v2", "hrvpace.v3", token])
        assert refused["code"] == 4406, refused
        assert "hrvpace.v1" in refused["reason"] and "hrvpace.v2" in refused["reason"], refused
        assert refused["protocol"] == "hrvpace.v2" and refused["first"] is None, refused
        # what the page itself offers: v1 selected, the messages come
        ok = _offer(page, web_server, sid, ["hrvpace.v1", token])
        assert (ok["protocol"], ok["first"], ok["code"]) == ("hrvpace.v1", "status", 1000), ok
        api.post(f"/api/v1/sessions/{sid}/stop")
