"""Token, trusted hosts and CORS on a real uvicorn: no token, no data."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.auth import TokenFileError, load_or_create_token
from api.settings import load_settings
from tests.api.conftest import Server
from webconventions.docs import STATIC_CACHE_CONTROL


def _all_routes(routes: list[Any]) -> list[Any]:
    """app.routes, with routers included by FastAPI (``_IncludedRouter``) opened up."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_all_routes(inner.routes) if inner is not None else [route])
    return out


def _protected_http_routes(server: Server) -> list[tuple[str, str]]:
    out = []
    for route in _all_routes(server.app.routes):
        # health, and the pages the errors' type URIs name (public, no data, not the API)
        if isinstance(route, APIRoute) and route.path not in ("/api/v1/health", "/problems/{code}"):
            path = route.path.replace("{session_id}", "0123abcd")
            for method in sorted(route.methods or ()):
                out.append((method, path))
    return out


def test_every_route_but_health_needs_the_token(serve: Callable[..., Server]) -> None:
    server = serve()
    routes = _protected_http_routes(server)
    openapi = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=10).json()
    documented = {
        (m.upper(), p) for p, ops in openapi["paths"].items() for m in ops if p != "/api/v1/health"
    }
    assert {(m, p.replace("0123abcd", "{session_id}")) for m, p in routes} == documented
    assert len(routes) >= 8  # sessions, beats, metrics, stop, checkins, schema, ...
    with httpx.Client(base_url=server.url, timeout=10) as anon:
        assert anon.get("/api/v1/health").status_code == 200
        for method, path in routes:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
                r = anon.request(method, path, headers=headers, json={})
                assert r.status_code == 401, (method, path, headers, r.status_code)
                assert r.headers.get("www-authenticate") == "Bearer"
    with server.client() as client:
        assert client.get("/api/v1/sessions").status_code == 200


def test_websocket_closes_with_policy_violation_on_a_bad_token(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    ws_routes = [r for r in _all_routes(server.app.routes) if isinstance(r, APIWebSocketRoute)]
    assert ws_routes
    for query in ("", "?token=wrong"):
        url = f"{server.ws_url}/api/v1/sessions/0123abcd/live{query}"
        with connect(url, open_timeout=10) as ws, pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008


def test_unknown_host_header_is_rejected(serve: Callable[..., Server]) -> None:
    server = serve()
    with httpx.Client(base_url=server.url, timeout=10) as anon:
        assert anon.get("/api/v1/health", headers={"Host": "evil.example"}).status_code == 400
        assert anon.get("/api/v1/health", headers={"Host": "localhost"}).status_code == 200


def test_cors_only_for_configured_origins(serve: Callable[..., Server], tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "d", token="t", cors_origins=["http://localhost:5173"]
    )
    server = serve(settings=settings)
    with httpx.Client(base_url=server.url, timeout=10) as anon:
        ok = anon.get("/api/v1/health", headers={"Origin": "http://localhost:5173"})
        assert ok.headers.get("access-control-allow-origin") == "http://localhost:5173"
        bad = anon.get("/api/v1/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_no_cors_by_default(serve: Callable[..., Server]) -> None:
    server = serve()
    with httpx.Client(base_url=server.url, timeout=10) as anon:
        r = anon.get("/api/v1/health", headers={"Origin": "http://localhost:5173"})
        assert "access-control-allow-origin" not in r.headers


def test_token_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    first = load_or_create_token(settings)
    assert len(first) >= 32
    mode = stat.S_IMODE(settings.token_path.stat().st_mode)
    assert mode == 0o600
    assert load_or_create_token(settings) == first


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    load_or_create_token(settings)
    os.chmod(settings.token_path, 0o644)
    with pytest.raises(TokenFileError, match="chmod 600"):
        load_or_create_token(settings)


def test_environment_token_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HRVPACE_TOKEN", "from-env")
    settings = load_settings(data_dir=tmp_path / "d")
    assert load_or_create_token(settings) == "from-env"
    assert not settings.token_path.exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_and_database_are_private(
    serve: Callable[..., Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RR data is health data: the data dir the service creates is 0700, and the database
    with its -wal and -shm files 0600, whatever the process umask allows."""
    monkeypatch.delenv("HRVPACE_TOKEN", raising=False)
    old_umask = os.umask(0o022)  # the usual default: files 0644, folders 0755
    try:
        settings = load_settings(data_dir=tmp_path / "fresh" / "hrvpace")
        server = serve(settings=settings)
        with server.client() as c:
            r = c.post(
                "/api/v1/sessions",
                json={"source": {"kind": "simulator", "speed": "max", "duration_s": 30}},
            )
            assert r.status_code == 201, r.text
            r = c.post("/api/v1/checkins", json={"stress": 2, "energy": 4})
            assert r.status_code in (200, 201), r.text
    finally:
        os.umask(old_umask)
    db = settings.database_path
    assert _mode(settings.data_dir) == 0o700
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        assert path.exists(), path
        assert _mode(path) == 0o600, f"{path.name}: {_mode(path):o}"


def test_a_world_readable_database_is_tightened_on_open(tmp_path: Path) -> None:
    from api.storage import Storage

    db = tmp_path / "old.sqlite3"
    Storage(db).close()
    os.chmod(db, 0o644)
    storage = Storage(db)
    try:
        assert _mode(db) == 0o600
        assert _mode(db.with_name(db.name + "-wal")) == 0o600
    finally:
        storage.close()


def test_the_page_the_docs_and_the_api_forbid_framing_and_sniffing(
    serve: Callable[..., Server],
) -> None:
    """No other site may show the page or the docs in a frame (clickjacking: the page holds the
    token), and no answer is read as another type than declared (review finding: none of the
    three headers was sent)."""
    server = serve()
    with httpx.Client(base_url=server.url, timeout=10) as anon, server.client() as c:
        answers = {
            "page": anon.get("/"),
            "page script": anon.get("/app.js"),
            "docs": anon.get("/api/v1/docs"),
            "openapi": anon.get("/api/v1/openapi.json"),
            "health": anon.get("/api/v1/health"),
            "401": anon.get("/api/v1/sessions"),
            "400 host": anon.get("/api/v1/health", headers={"Host": "evil.example"}),
            "sessions": c.get("/api/v1/sessions"),
            "docs file": anon.get("/api/v1/docs/static/swagger-ui.css"),
        }
    for what, r in answers.items():
        assert r.status_code in (200, 400, 401), (what, r.status_code)
        assert r.headers.get("x-content-type-options") == "nosniff", (what, r.headers)
        assert r.headers.get("x-frame-options") == "DENY", (what, r.headers)
        assert r.headers.get("content-security-policy") == "frame-ancestors 'none'", (
            what,
            r.headers,
        )
    assert "text/html" in answers["page"].headers["content-type"]
    assert "text/html" in answers["docs"].headers["content-type"]
    # what the API answers (health data) is kept in no browser cache; the page itself may be
    for what in ("docs", "openapi", "health", "401", "sessions"):
        assert answers[what].headers.get("cache-control") == "no-store", (what, answers[what])
    assert "no-store" not in answers["page"].headers.get("cache-control", "")
    # Swagger UI's files hold no data: kept a day, not fetched anew at each docs visit (review)
    assert answers["docs file"].headers.get("cache-control") == STATIC_CACHE_CONTROL


def test_the_calendar_feed_keeps_its_own_cache_rule(serve: Callable[..., Server]) -> None:
    """A route that sets its own Cache-Control keeps it: the calendar feed, fetched by calendar
    apps every few minutes, may be kept 5 minutes in a private cache."""
    server = serve()
    with server.client() as c:
        feed = c.get("/api/v1/calendar.ics")
    assert feed.status_code == 200, feed.text
    assert feed.headers.get("cache-control") == "private, max-age=300", feed.headers
