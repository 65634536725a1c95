"""Refusals at the service's edge name the setting or the place that fixes them (first-day
review F4, F6): a disallowed ``Host`` names ``HRVPACE_ALLOWED_HOSTS`` (the hub's its own
variable), a WebSocket refused for its ``Origin`` logs ``HRVPACE_ALLOWED_ORIGINS``, a CORS
preflight with no origin allowed is a 403 ``origin_not_allowed`` (not a 401 about a token a
preflight never carries), and a 401 says where the token is. ASGI only: no server."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.settings import load_settings
from hub.app import create_app as create_hub
from hub.settings import HubSettings

DEV = "http://localhost:5173"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """The service's app without its lifespan: the edge middleware answers before any route."""
    return create_app(load_settings(data_dir=tmp_path, token="test-token"), outbound=False)


class _Client:
    """``get``/``options`` through ASGI, synchronously (the test functions stay plain)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.request(method, path, headers=headers)

        return asyncio.run(go())

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers or {})

    def options(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return self.request("OPTIONS", path, headers)


@pytest.fixture
def client(app: FastAPI) -> _Client:
    return _Client(app)


def test_a_disallowed_host_names_the_host_and_the_setting(client: _Client) -> None:
    r = client.get("/api/v1/health", headers={"Host": "192.168.1.20:8765"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_host"
    assert r.json()["detail"] == (
        "Host '192.168.1.20' not allowed: add it to HRVPACE_ALLOWED_HOSTS "
        "(README, 'Reaching the service from another device')"
    )


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Host header missing: send 'Host: <name>[:port]'"),
        (b"", "Host header empty: send 'Host: <name>[:port]'"),
        (
            b"127.0.0.1:1@evil",
            "Host header '127.0.0.1:1@evil' malformed: send 'Host: <name>[:port]'",
        ),
        (b"a b", "Host header 'a b' malformed: send 'Host: <name>[:port]'"),
        (b"*.example", "Host header '*.example' malformed: send 'Host: <name>[:port]'"),
        # spellings allowed_hosts refuses or rewrites: listing them would not let them in
        (b"127.1:8765", "Host header '127.1:8765' malformed: send 'Host: <name>[:port]'"),
        (
            "bücher.example".encode(),
            "Host header 'bÃ¼cher.example' malformed: send 'Host: <name>[:port]'",
        ),
        (b"evil.example:80", "Host 'evil.example' not allowed: add it to X_HOSTS"),
        # a name RFC 9110 allows, which allowed_hosts takes, though no browser sends it
        (b"web.1:8765", "Host 'web.1' not allowed: add it to X_HOSTS"),
        (b".example", "Host header '.example' malformed: send 'Host: <name>[:port]'"),
    ],
)
def test_the_host_refusal_says_missing_malformed_or_not_allowed(
    header: bytes | None, detail: str
) -> None:
    """rev7 finding 6: an empty or malformed Host got "Host header missing: add it to
    HRVPACE_ALLOWED_HOSTS"; the setting is named only for a well-formed name not listed."""
    from webconventions.middleware import HostCheckMiddleware

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the request passed the Host check")

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/health",
        "headers": [] if header is None else [(b"host", header)],
    }
    check = HostCheckMiddleware(inner, allowed_hosts=["127.0.0.1"], fix="add it to X_HOSTS")
    asyncio.run(check(scope, receive, send))
    assert sent[0]["status"] == 400
    problem = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert problem["code"] == "invalid_host" and problem["detail"] == detail


def test_the_hubs_host_refusal_names_its_own_setting(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path, admin_token=SecretStr("ha_" + "t" * 20))
    app = create_hub(settings)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get("/hub/v1/health", headers={"Host": "hub.example"})

    try:
        r = asyncio.run(get())
    finally:
        app.state.store.engine.dispose()
    assert r.status_code == 400 and r.json()["code"] == "invalid_host"
    assert "HRVPACE_HUB_ALLOWED_HOSTS" in r.json()["detail"]
    assert "'hub.example'" in r.json()["detail"]


def test_a_preflight_with_no_origin_allowed_is_403_naming_the_setting(
    client: _Client, caplog: pytest.LogCaptureFixture
) -> None:
    preflight = {
        "Origin": DEV,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    with caplog.at_level(logging.INFO, logger="webconventions.middleware"):
        r = client.options("/api/v1/sessions", headers=preflight)
    assert r.status_code == 403, r.text
    problem = r.json()
    assert problem["code"] == "origin_not_allowed"
    assert problem["detail"].startswith(
        f"origin '{DEV}' is not allowed to call this API from a browser: "
        "list it in HRVPACE_ALLOWED_ORIGINS"
    )
    assert "token" not in problem["detail"]
    assert any("HRVPACE_ALLOWED_ORIGINS" in m for m in caplog.messages)
    # a plain request without the token is still the 401
    assert client.get("/api/v1/sessions", headers={"Origin": DEV}).status_code == 401
    # with no origin listed only /api/v1/ is the gate's (README, origin_not_allowed)
    assert client.options("/", headers=preflight).status_code != 403


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/health", "/"])
def test_a_preflight_from_an_unlisted_origin_is_the_same_403_while_others_are_listed(
    tmp_path: Path, path: str
) -> None:
    """First-day review: with ``HRVPACE_ALLOWED_ORIGINS`` set, Starlette's CORS answered a
    wrong origin's preflight with a plain-text 400 "Disallowed CORS origin", not the 403
    ``origin_not_allowed`` the API documents (and gives with no origin listed)."""
    app = create_app(
        load_settings(data_dir=tmp_path, token="test-token", allowed_origins=[DEV]),
        outbound=False,
    )
    client = _Client(app)
    asked = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    r = client.options(path, headers={"Origin": "http://evil.example", **asked})
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "origin_not_allowed"
    assert r.json()["detail"].startswith(
        "origin 'http://evil.example' is not allowed to call this API from a browser: "
        "list it in HRVPACE_ALLOWED_ORIGINS"
    )
    assert "access-control-allow-origin" not in r.headers
    # a header the API does not take, from a listed origin: a problem naming it, not text
    bad = client.options(
        path, headers={"Origin": DEV, **asked, "Access-Control-Request-Headers": "x-foo"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "bad_request", bad.text
    assert "'http://localhost:5173' refused: header(s) 'x-foo' (takes " in bad.json()["detail"]
    # the listed origin is let in as before
    ok = client.options(path, headers={"Origin": DEV, **asked})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == DEV
    assert app.state.settings.browser_origins == [DEV]  # one form for the WebSocket too


def _origins_app(origins: list[str]) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from webconventions.middleware import OriginsMiddleware

    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    return OriginsMiddleware(
        Starlette(routes=[Route("/api/v1/x", hello)]),
        allow_origins=origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        origins_fix="list it in X",
    )


def test_the_origins_middleware_reads_no_starlette_internals() -> None:
    """Review of 0cadff8: the subclass read ``preflight_headers["Vary"]``, which Starlette
    0.36-0.47 (allowed by pyproject) leaves out for ``["*"]``: a refused preflight was a 500.
    Built as those versions build it (no ``Vary`` there), the refusal is still the 400."""
    from starlette.middleware.cors import CORSMiddleware

    app = _origins_app(["*"])
    cors = app if isinstance(app, CORSMiddleware) else app.cors
    cors.preflight_headers.pop("Vary")  # as Starlette < 0.48 builds it for "*"
    r = _Client(app).options(
        "/api/v1/x",
        headers={
            "Origin": DEV,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-foo",
        },
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
    assert "header(s) 'x-foo'" in r.json()["detail"]


_TAKES = "(takes accept, accept-language, authorization, content-language, content-type)"
_PNA = "a private-network request (the service allows none)"


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        # a trailing comma: Starlette refuses the empty item (it was called private-network)
        ({"Access-Control-Request-Headers": "authorization,"}, f"header(s) '' {_TAKES}"),
        ({"Access-Control-Request-Private-Network": "true"}, _PNA),
        (
            {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Private-Network": "1"},
            f"method 'PUT' (takes GET, POST); {_PNA}",
        ),
    ],
)
def test_a_refused_preflight_names_the_true_reason(asked: dict[str, str], named: str) -> None:
    """Review of 0cadff8: what the 400 names was re-derived and fell back to "a
    private-network request" whatever the cause; a private-network request beside another
    failure was not named."""
    headers = {"Origin": DEV, "Access-Control-Request-Method": "GET", **asked}
    r = _Client(_origins_app([DEV])).options("/api/v1/x", headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
    assert r.json()["detail"] == f"CORS preflight from {DEV!r} refused: {named}"


def test_a_listed_origin_written_another_way_is_the_same_origin(tmp_path: Path) -> None:
    """Review of 0cadff8: 'http://LOCALHOST:5173/' listed let the page's WebSocket in (its
    check normalised) but CORS refused every preflight from 'http://localhost:5173' with a
    403 telling the user to list the origin they had listed."""
    app = create_app(
        load_settings(
            data_dir=tmp_path, token="test-token", allowed_origins=["HTTP://LOCALHOST:5173/"]
        ),
        outbound=False,
    )
    asked = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = _Client(app).options("/api/v1/sessions", headers={"Origin": DEV, **asked})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == DEV


@pytest.mark.parametrize(
    ("service", "path"),
    [("api", "/api/v1/health"), ("hub", "/hub/v1/groups"), ("hub", "/hub/v1/join")],
)
def test_a_preflight_to_a_public_path_or_the_hub_is_the_same_403(
    tmp_path: Path, service: str, path: str
) -> None:
    """No origin listed: a preflight to a public path was a 405 from the route; the hub (the
    same token gate, no origins to list) refuses every preflight with the same 403."""
    if service == "api":
        app = create_app(load_settings(data_dir=tmp_path, token="test-token"), outbound=False)
    else:
        app = create_hub(HubSettings(data_dir=tmp_path, admin_token=SecretStr("ha_" + "t" * 20)))
    try:
        r = _Client(app).options(
            path, headers={"Origin": DEV, "Access-Control-Request-Method": "POST"}
        )
    finally:
        if service == "hub":
            app.state.store.engine.dispose()
    assert r.status_code == 403 and r.json()["code"] == "origin_not_allowed", r.text
    assert r.json()["detail"].startswith(f"origin '{DEV}' is not allowed to call this API")


def test_a_websocket_refused_for_its_origin_logs_the_setting(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/api/v1/sessions/x/live",
        "raw_path": b"/api/v1/sessions/x/live",
        "query_string": b"token=test-token",
        "headers": [(b"host", b"127.0.0.1:8765"), (b"origin", DEV.encode())],
        "server": ("127.0.0.1", 8765),
        "client": ("127.0.0.1", 50000),
        "subprotocols": [],
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO, logger="api.routes.live"):
        asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["websocket.close"]  # before accept: HTTP 403
    [line] = [r for r in caplog.records if r.name == "api.routes.live"]
    assert line.levelno == logging.INFO
    assert DEV in line.getMessage() and "HRVPACE_ALLOWED_ORIGINS" in line.getMessage()


@pytest.mark.parametrize("extension", [True, False])
def test_a_websocket_refused_for_its_origin_gets_the_same_json_403(
    app: FastAPI, extension: bool
) -> None:
    """With the ASGI denial-response extension (uvicorn has it), the handshake's 403 is the
    ``origin_not_allowed`` problem a refused preflight gets, not a bare 403 (first-day
    review: one answer for every refused origin). Without it (a server that does not offer
    it: ``extensions`` empty) one close with 1008, which the server sends as a bare 403."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/api/v1/sessions/x/live",
        "raw_path": b"/api/v1/sessions/x/live",
        "query_string": b"token=test-token",
        "headers": [(b"host", b"127.0.0.1:8765"), (b"origin", b"http://evil.example")],
        "server": ("127.0.0.1", 8765),
        "client": ("127.0.0.1", 50000),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}} if extension else {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    if not extension:
        assert [(m["type"], m.get("code")) for m in sent] == [("websocket.close", 1008)]
        return
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 403
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    problem = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert problem["code"] == "origin_not_allowed"
    assert problem["detail"].startswith(
        "origin 'http://evil.example' is not allowed to call this API from a browser: "
        "list it in HRVPACE_ALLOWED_ORIGINS"
    )


def test_a_401_says_where_the_token_is(client: _Client) -> None:
    for path in ("/api/v1/sessions", "/api/v1/baseline"):
        r = client.get(path)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        detail = r.json()["detail"]
        assert detail.startswith("missing or wrong token: send 'Authorization: Bearer <token>'; ")
        assert "printed by `hrvpace serve` and `hrvpace demo`" in detail
        assert "file `token`" in detail


def test_require_token_says_where_the_token_is() -> None:
    from fastapi import HTTPException

    from api.auth import TOKEN_HINT, require_token

    class _Request:
        class app:  # noqa: N801  (the attribute path FastAPI's Request has)
            class state:  # noqa: N801
                token = "right"

    with pytest.raises(HTTPException) as info:
        asyncio.run(require_token(_Request(), None))  # type: ignore[arg-type]
    assert info.value.status_code == 401 and info.value.detail.endswith(TOKEN_HINT)
