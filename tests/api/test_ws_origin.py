"""The live WebSocket's Origin check and the token as a subprotocol, on a real uvicorn."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from api.settings import load_settings
from tests.api.conftest import Server, scripted_factory

RR = [1000.0] * 20


def _live_session(server: Server) -> str:
    with server.client() as c:
        r = c.post("/api/v1/sessions", json={"source": {"kind": "simulator"}})
        assert r.status_code == 201, r.text
        sid: str = r.json()["id"]
        return sid


def _connect(server: Server, sid: str, **kwargs: Any) -> ClientConnection:
    query = kwargs.pop("query", f"?token={server.token}")
    return connect(f"{server.ws_url}/api/v1/sessions/{sid}/live{query}", open_timeout=10, **kwargs)


def _first_message(ws: ClientConnection) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return msg


@pytest.fixture
def server(serve: Callable[..., Server], tmp_path: Path) -> Server:
    settings = load_settings(
        data_dir=tmp_path / "d", token="tok", allowed_origins=["http://localhost:5173"]
    )
    return serve(settings=settings, source_factory=scripted_factory(RR, repeat=True))


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1:1", "null", "http://localhost:5174", "file://"],
)
def test_a_foreign_origin_is_refused_at_the_handshake_even_with_the_token(
    server: Server, origin: str
) -> None:
    sid = _live_session(server)
    with pytest.raises(InvalidStatus) as info:
        _connect(server, sid, origin=origin)
    assert info.value.response.status_code == 403
    # the problem a refused preflight gets (uvicorn sends the denial response's body)
    problem = json.loads(info.value.response.body or b"{}")
    assert problem.get("code") == "origin_not_allowed", info.value.response.body


def test_the_services_own_origins_and_the_allowed_ones_stream(server: Server) -> None:
    sid = _live_session(server)
    port = server.url.rsplit(":", 1)[1]
    for origin in (
        f"http://127.0.0.1:{port}",
        f"http://localhost:{port}",
        f"http://[::1]:{port}",
        "http://localhost:5173",  # HRVPACE_ALLOWED_ORIGINS
        None,  # no Origin: not a browser (CLI, native app); the token is still required
    ):
        with _connect(server, sid, origin=origin) as ws:
            assert _first_message(ws)["type"] == "status", origin


def test_no_origin_still_needs_the_token(server: Server) -> None:
    sid = _live_session(server)
    with _connect(server, sid, query="?token=wrong") as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008


def test_the_token_as_a_subprotocol_keeps_it_out_of_the_url(server: Server) -> None:
    sid = _live_session(server)
    port = server.url.rsplit(":", 1)[1]
    with _connect(
        server,
        sid,
        query="",
        subprotocols=["hrvpace.v1", f"bearer.{server.token}"],
        origin=f"http://127.0.0.1:{port}",
    ) as ws:
        assert ws.subprotocol == "hrvpace.v1"  # echoed; the bearer one never is
        assert _first_message(ws)["type"] == "status"
    with (
        _connect(server, sid, query="", subprotocols=["hrvpace.v1", "bearer.wrong"]) as ws,
        pytest.raises(ConnectionClosed) as info,
    ):
        ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008


def test_cors_for_the_allowed_origins_only(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as anon:
        ok = anon.options(
            "/api/v1/sessions",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert ok.headers.get("access-control-allow-origin") == "http://localhost:5173"
        bad = anon.get("/api/v1/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_a_browser_app_of_an_allowed_origin_may_read_the_csv_headers(server: Server) -> None:
    """A cross-origin script reads only the headers ``Access-Control-Expose-Headers`` names:
    without it the companion app could not page a CSV (``X-Total-Count``, review finding)."""
    sid = _live_session(server)
    with server.client() as c:
        for what in ("beats", "metrics", "contact"):
            r = c.get(
                f"/api/v1/sessions/{sid}/{what}",
                params={"format": "csv"},
                headers={"Origin": "http://localhost:5173"},
            )
            assert r.status_code == 200, r.text
            assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
            exposed = {
                h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")
            }
            assert {"x-total-count", "content-disposition"} <= exposed, exposed
            assert "content-disposition" in r.headers
            if what != "contact":
                assert "x-total-count" in r.headers
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_the_token_in_an_authorization_header_is_accepted(server: Server) -> None:
    """Review finding: native clients (OkHttp, URLSession, Python websockets) send
    ``Authorization: Bearer <token>`` naturally; the socket closed 1008 on it."""
    sid = _live_session(server)
    header = {"Authorization": f"Bearer {server.token}"}
    with _connect(server, sid, query="", additional_headers=header) as ws:
        assert _first_message(ws)["type"] == "status"
    for bad in ({"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {server.token}"}):
        with (
            _connect(server, sid, query="", additional_headers=bad) as ws,
            pytest.raises(ConnectionClosed) as info,
        ):
            ws.recv(timeout=10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008, bad
    # the Origin rules are the same for it: a foreign page is refused at the handshake
    with pytest.raises(InvalidStatus) as refused:
        _connect(server, sid, query="", additional_headers=header, origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_an_unsupported_version_is_refused_with_a_reason(server: Server) -> None:
    """Review finding: offering ``hrvpace.v2`` (and no v1) got v1 messages, no subprotocol
    selected; the client could not tell. It is closed with 4406 naming both versions."""
    sid = _live_session(server)
    for offered in (["hrvpace.v2", f"bearer.{server.token}"], ["hrvpace.v2", "hrvpace.v3"]):
        with (
            _connect(server, sid, subprotocols=offered) as ws,
            pytest.raises(ConnectionClosed) as info,
        ):
            ws.recv(timeout=10)
        assert info.value.rcvd is not None, offered
        assert info.value.rcvd.code == 4406, (offered, info.value.rcvd)
        assert "hrvpace.v1" in info.value.rcvd.reason and "hrvpace.v2" in info.value.rcvd.reason
    # v1 among others: v1 is chosen; no version at all (only the token): v1, none selected
    with _connect(
        server, sid, query="", subprotocols=["hrvpace.v2", "hrvpace.v1", f"bearer.{server.token}"]
    ) as ws:
        assert ws.subprotocol == "hrvpace.v1"
        assert _first_message(ws)["type"] == "status"
    with _connect(server, sid, query="", subprotocols=[f"bearer.{server.token}"]) as ws:
        assert ws.subprotocol is None
        assert _first_message(ws)["type"] == "status"


def test_an_unknown_session_closes_with_4404(server: Server) -> None:
    with _connect(server, "no-such-session") as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4404


def test_versions_are_told_apart_case_sensitively(server: Server) -> None:
    """Review finding: ``hrvpace.*`` was found without regard to case but ``hrvpace.v1``
    compared with it, so ``HRVPACE.V1`` was closed 4406 "not HRVPACE.V1". Subprotocol names
    are case-sensitive (RFC 6455, and browsers compare the answer exactly): ``HRVPACE.V1`` is
    no version of these messages, so the client gets v1 with none selected, as one offering
    only the token does."""
    sid = _live_session(server)
    for offered in (["HRVPACE.V1"], ["HRVPACE.V2", f"bearer.{server.token}"]):
        with _connect(server, sid, subprotocols=offered) as ws:
            assert ws.subprotocol is None, offered
            assert _first_message(ws)["type"] == "status", offered


def test_a_binary_frame_from_the_client_does_not_end_the_stream(server: Server) -> None:
    """Code review: the reader of client frames used ``receive_text()``, which raises on a
    binary frame; that ended the reader, which the socket took for the client gone, and it
    closed 1000 ("the session ended and every message was sent") while the session ran."""
    sid = _live_session(server)
    with _connect(server, sid) as ws:
        assert _first_message(ws)["type"] == "status"
        ws.send(b"\x01\x02")
        got = [json.loads(ws.recv(timeout=10)) for _ in range(5)]
        assert len(got) == 5
    with server.client() as c:
        assert c.get(f"/api/v1/sessions/{sid}").json()["state"] == "running"
