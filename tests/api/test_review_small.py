"""Small things a client developer met (review item 6): HEAD on health, the problem ``type``
pages, operation ids, a JSON body sent as text/plain, ``since`` with ``since_t_s``."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import Server


def test_head_health_is_200_for_monitors(serve: Callable[..., Server]) -> None:
    server = serve()
    r = httpx.head(f"{server.url}/api/v1/health", timeout=10)  # no token, as GET
    assert r.status_code == 200, r.text
    assert r.content == b""


def test_problem_type_uris_resolve_to_a_page(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        problem = c.get("/api/v1/sessions/nope").json()
        assert problem["type"] == "/problems/session_not_found"
        page = httpx.get(f"{server.url}{problem['type']}", timeout=10)  # public, no token
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "session_not_found" in page.text and "HTTP 404 Not Found" in page.text
        assert page.headers["cache-control"] == "public, max-age=86400"
        # code review: HEAD was 404 while GET was 200 (a link checker asks with HEAD)
        head = httpx.head(f"{server.url}{problem['type']}", timeout=10)
        assert head.status_code == 200, head.text
        assert head.content == b""
        assert head.headers["content-type"] == page.headers["content-type"]
        assert head.headers["cache-control"] == "public, max-age=86400"
        missing = httpx.head(f"{server.url}/problems/no_such_code", timeout=10)
        assert missing.status_code == 404
        missing = httpx.get(f"{server.url}/problems/no_such_code", timeout=10)
        assert missing.status_code == 404


def test_calendar_operation_ids_follow_tag_and_route_name(serve: Callable[..., Server]) -> None:
    server = serve()
    doc = httpx.get(f"{server.url}/api/v1/openapi.json", timeout=10).json()
    ids = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {"calendar-calendar_feed", "calendar-rotate_calendar_feed"} <= ids
    assert not {"calendar-calendar-feed", "calendar-calendar-rotate"} & ids
    with server.client() as c:  # the feed URL still resolves
        url = c.get("/api/v1/dayplan").json()["calendar_feed_url"]
        assert httpx.get(url, timeout=10).status_code == 200


def test_a_json_body_sent_as_text_plain_is_415(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        body = '{"stress": 2, "energy": 3}'
        r = c.post("/api/v1/checkins", content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 415, r.text
        assert r.json()["code"] == "unsupported_media_type"
        assert "text/plain" in r.json()["detail"] and "application/json" in r.json()["detail"]
        ok = c.post(
            "/api/v1/checkins",
            content=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        assert ok.status_code == 201, ok.text
        # no body, no type: an action as before
        s = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 60}})
        assert c.post(f"/api/v1/sessions/{s.json()['id']}/stop").status_code == 200


def test_beats_refuse_since_with_since_t_s(serve: Callable[..., Server]) -> None:
    server = serve()
    with server.client() as c:
        sid = c.post(
            "/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 60}}
        ).json()["id"]
        r = c.get(f"/api/v1/sessions/{sid}/beats", params={"since": 1.0, "since_t_s": 0.0})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["query", "since_t_s"]
        assert c.get(f"/api/v1/sessions/{sid}/beats", params={"since_t_s": 0.0}).is_success
        c.post(f"/api/v1/sessions/{sid}/stop")


def test_a_json_body_without_content_type_is_415_not_a_confusing_422(
    serve: Callable[..., Server],
) -> None:
    """Code review: a body with no ``Content-Type`` was passed on and FastAPI answered 422
    "Input should be a valid dictionary" (it reads such a body as bytes)."""
    server = serve()
    with server.client() as c:
        body = b'{"stress": 2, "energy": 3}'
        for headers in ({}, {"Content-Type": ""}):
            req = c.build_request("POST", "/api/v1/checkins", content=body, headers=headers)
            assert "content-type" not in req.headers or not req.headers["content-type"]
            r = c.send(req)
            assert r.status_code == 415, r.text
            assert r.json()["code"] == "unsupported_media_type"
            assert "no Content-Type" in r.json()["detail"]
            assert "application/json" in r.json()["detail"]
        # an empty body with no type is an action, as before
        s = c.post("/api/v1/sessions", json={"source": {"kind": "simulator", "speed": 60}})
        stop = c.build_request("POST", f"/api/v1/sessions/{s.json()['id']}/stop")
        assert "content-type" not in stop.headers
        assert c.send(stop).status_code == 200


def test_media_types_are_the_ones_the_route_reads(serve: Callable[..., Server]) -> None:
    """Code review: any ``+json`` type passed (``text/x+json`` is read as bytes: 422), and
    multipart passed to every route (a JSON route answered 422)."""
    server = serve()
    with server.client() as c:
        body = b'{"stress": 2, "energy": 3}'
        for media in ["text/x+json", "multipart/form-data; boundary=x", "application/x-json"]:
            r = c.post("/api/v1/checkins", content=body, headers={"Content-Type": media})
            assert r.status_code == 415, (media, r.text)
            assert media.split(";")[0] in r.json()["detail"], r.text
        for media in ["application/json", "Application/JSON; charset=utf-8", "application/a+json"]:
            r = c.post("/api/v1/checkins", content=body, headers={"Content-Type": media})
            assert r.status_code == 201, (media, r.text)
        # the upload reads multipart and only that
        up = c.post(
            "/api/v1/recordings", files={"file": ("r.txt", b"800\n810\n820\n", "text/plain")}
        )
        assert up.status_code != 415, up.text
        r = c.post("/api/v1/recordings", json={"file": "800"})
        assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"], r.text
